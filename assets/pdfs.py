"""The appraisal report and the certificate, built with core.pdf."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from assets import valuation
from assets.models import Appraisal, AppraisalStatus, Certification, Modality
from core.money import format_money
from core.pdf import QRFlowable, build_pdf, grid_table, kv_table, para


def verify_url(cert: Certification) -> str:
    # The device's opaque reference, never its sequential id (the page must not be walkable).
    return settings.SITE_URL.rstrip("/") + reverse("assets:verify", args=[cert.device.public_ref])


def source_text(src: dict | None) -> str:
    """'measured (telemetry, 30 days)', 'declared by the clinic', … — what the number really is."""
    if not src:
        return _("not available")
    return src["label"] + (f". {src['explanation']}" if src.get("explanation") else "")


def useful_life_text(cost: dict, modality: str) -> str:
    """'8.2 years — modality default (Computed tomography): <published source>' or '8.2 years —
    entered by the appraiser': the number and where it comes from, never a code identifier."""
    years = _("%(years)s years") % {"years": cost["useful_life_years"]}
    if cost.get("useful_life_source") == valuation.SOURCE_APPRAISER:
        return _("%(years)s — entered by the appraiser") % {"years": years}
    # The modality default (older reports stored a code path here: the citation is the same).
    citation = cost.get("useful_life_citation") or valuation.useful_life_citation(modality)
    return _("%(years)s — modality default (%(modality)s): %(citation)s") % {
        "years": years, "modality": dict(Modality.choices).get(modality, modality), "citation": _(citation)}


def _device_rows(device) -> list[tuple[str, str]]:
    rows = [
        (_("Device"), f"{device.get_modality_display()} — {device.manufacturer} {device.model_name}"),
        (_("Serial number"), device.serial_number),
    ]
    if device.udi_di:
        rows.append(("UDI-DI", f"{device.udi_di} ({device.udi_issuer.upper()})"))
    if device.manufacture_date:
        rows.append((_("Manufacture date"), device.manufacture_date.isoformat()))
    reg = []
    if device.fda_510k:
        reg.append(f"FDA 510(k) {device.fda_510k}")
    if device.eu_mdr_class:
        reg.append((_("EU MDR class %(mdr_class)s %(certificate)s") % {
            "mdr_class": device.eu_mdr_class, "certificate": device.eu_certificate_number}).strip())
    rows.append((_("Regulatory clearance"), "; ".join(reg) or _("none recorded")))
    return rows


def _appraisal_number(appraisal: Appraisal) -> int:
    """1 for the device's first signed appraisal, 2 for its re-appraisal, … (this one included)."""
    earlier = appraisal.device.appraisals.exclude(status=AppraisalStatus.DRAFT).exclude(pk=appraisal.pk)
    if appraisal.signed_at is not None:
        earlier = earlier.filter(signed_at__lt=appraisal.signed_at)
    return earlier.count() + 1


def appraisal_report_pdf(appraisal: Appraisal) -> bytes:
    d, cur = appraisal.device, appraisal.currency
    inputs = appraisal.inputs
    m = lambda v: format_money(v, cur) if v is not None else _("not used")  # noqa: E731
    indicated = _("Indicated value")
    story = [
        para(_("Appraisal report (USPAP Standards 7–8 style)"), "Heading2"),
        kv_table([
            (_("Client"), appraisal.client),
            (_("Intended users"), appraisal.intended_users),
            (_("Intended use"), appraisal.intended_use),
            (_("Value definition"), appraisal.value_definition),
            (_("Effective date"), appraisal.effective_date.isoformat()),
            (_("Report reference"), _("Device %(ref)s, appraisal %(n)s of this device") % {
                "ref": d.public_ref, "n": _appraisal_number(appraisal)}),
        ]),
        Spacer(1, 4 * mm), para(_("Subject equipment"), "Heading3"), kv_table(_device_rows(d)),
        Spacer(1, 4 * mm), para(_("Approaches to value"), "Heading3"),
    ]
    c = inputs["cost"]
    story += [para(_("<b>Cost approach</b> — replacement cost new less depreciation (double declining "
                     "balance over the useful life, condition and obsolescence), floored at salvage.")),
              kv_table([(_("Replacement cost new"), m(c["replacement_cost_new"])),
                        (_("Age (years)"), c["age_years"]),
                        (_("Useful life"), useful_life_text(c, d.modality)),
                        (_("Condition factor"), c["condition_factor"]),
                        (_("Obsolescence"), c["obsolescence_fraction"]),
                        (_("Salvage floor"), c["salvage_fraction"]),
                        (indicated, m(appraisal.cost_value))])]
    comps = inputs["market"]["comparables"]
    story.append(para(_("<b>Market approach</b> — comparable sales with adjustments.")))
    if comps:
        story.append(grid_table([_("Comparable"), _("Price"), _("Adjustment"), _("Adjusted")],
                                [[x["description"] or "—", m(x["price"]), x["adjustment_fraction"],
                                  m(x["adjusted_price"])] for x in comps]))
    story.append(kv_table([(indicated, m(appraisal.market_value))]))
    inc = inputs.get("income")
    story.append(para(_("<b>Income approach</b> — present value of net technical-fee income over the "
                        "remaining useful life.")))
    if inc:
        src = inc.get("sources") or {}
        story.append(kv_table([
            (_("Exams per day"), f"{inc['exams_per_day']} — "
             f"{source_text(src.get('exams_per_day')) if src else inc['utilization_source']}"),
            (_("Operating days per year"), inc["operating_days_per_year"]),
            (_("Technical fee per exam"), f"{m(inc['technical_fee_per_exam'])} — "
             f"{source_text(src.get('technical_fee_per_exam')) if src else _('entered by the appraiser')}"),
            (_("Operating cost per year"), m(inc["operating_cost_per_year"])),
            (_("Discount rate"), inc["discount_rate"]),
            (_("Remaining life (years)"), inc["remaining_life_years"]),
            (indicated, m(appraisal.income_value)),
        ]))
    else:
        skipped = inputs.get("income_not_used") or {}
        text = _("Not used: %(reason)s.") % {
            "reason": skipped.get("reason", _("no utilization or technical fee was available"))}
        if skipped.get("exams_per_day") is not None:
            text += " " + _("Exams per day available: %(exams)s — %(source)s.") % {
                "exams": skipped["exams_per_day"], "source": source_text(skipped.get("exams_per_day_source"))}
        story.append(para(text))
    approaches = {"cost": pgettext("valuation approach", "Cost"), "market": pgettext("valuation approach", "Market"),
                  "income": pgettext("valuation approach", "Income")}
    story += [Spacer(1, 4 * mm), para(_("Reconciliation"), "Heading3"),
              grid_table([_("Approach"), indicated, _("Weight")],
                         [[approaches.get(k, k.title()), m(getattr(appraisal, f"{k}_value")), w]
                          for k, w in appraisal.weights.items()]),
              kv_table([(_("Reconciled value"), m(appraisal.reconciled_value))]),
              para(_("The reconciled value weighs the approaches by their reliability for this "
                     "equipment; it is not a sum of the parts.")),
              Spacer(1, 6 * mm), para(_("Signature"), "Heading3"),
              kv_table([(_("Appraiser"), appraisal.appraiser.full_name or appraisal.appraiser.email),
                        (_("Signed"), appraisal.signed_at.isoformat(timespec="seconds") if appraisal.signed_at
                         else _("unsigned draft"))])]
    return build_pdf(title=_("Appraisal report — %(device)s") % {"device": d}, story=story,
                     subject=_("Appraisal report"))


def certificate_pdf(cert: Certification) -> bytes:
    d = cert.device
    # Labels are stored in English (assets.services.CHECKLIST, marked for translation); shown translated.
    rows = [[_(i["label"]), _("PASS") if i["passed"] else _("FAIL"), i["notes"] or "—"] for i in cert.checklist]
    url = verify_url(cert)
    story = [
        para(_("Certificate of inspection"), "Heading2"),
        kv_table([(_("Certificate ID"), str(cert.public_id)), (_("Result"), _("PASSED — certified")),
                  # The certificate is public: never fall back to the inspector's email.
                  (_("Inspector"), cert.inspector.full_name
                   or _("MedRWA inspector #%(id)s") % {"id": cert.inspector.pk}),
                  (_("Inspected"), cert.created_at.date().isoformat() if cert.created_at else ""),
                  (_("QA / calibration date"), cert.qa_calibration_date.isoformat()
                   if cert.qa_calibration_date else "—")]),
        Spacer(1, 4 * mm), para(_("Device"), "Heading3"), kv_table(_device_rows(d)),
        Spacer(1, 4 * mm), para(_("Checklist"), "Heading3"), grid_table([_("Item"), _("Result"), _("Notes")], rows),
        Spacer(1, 4 * mm),
    ]
    if cert.appraisal and cert.appraisal.report_sha256:
        story.append(kv_table([(_("Appraisal report SHA-256"), cert.appraisal.report_sha256)]))
    story += [Spacer(1, 4 * mm), para(_("Verify this certificate: %(url)s") % {"url": url}), QRFlowable(url)]
    return build_pdf(title=_("Device certificate %(id)s") % {"id": cert.public_id}, story=story,
                     subject="Certificate")
