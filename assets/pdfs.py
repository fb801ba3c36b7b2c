"""The appraisal report and the certificate, built with core.pdf."""

from django.conf import settings
from django.urls import reverse
from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from assets.models import Appraisal, Certification
from core.money import format_money
from core.pdf import QRFlowable, build_pdf, grid_table, kv_table, para


def verify_url(cert: Certification) -> str:
    # The device's opaque reference, never its sequential id (the page must not be walkable).
    return settings.SITE_URL.rstrip("/") + reverse("assets:verify", args=[cert.device.public_ref])


def source_text(src: dict | None) -> str:
    """'measured (telemetry, 30 days)', 'declared by the clinic', … — what the number really is."""
    if not src:
        return "not available"
    return src["label"] + (f". {src['explanation']}" if src.get("explanation") else "")


def _device_rows(device) -> list[tuple[str, str]]:
    rows = [
        ("Device", f"{device.get_modality_display()} — {device.manufacturer} {device.model_name}"),
        ("Serial number", device.serial_number),
    ]
    if device.udi_di:
        rows.append(("UDI-DI", f"{device.udi_di} ({device.udi_issuer.upper()})"))
    if device.manufacture_date:
        rows.append(("Manufacture date", device.manufacture_date.isoformat()))
    reg = []
    if device.fda_510k:
        reg.append(f"FDA 510(k) {device.fda_510k}")
    if device.eu_mdr_class:
        reg.append(f"EU MDR class {device.eu_mdr_class} {device.eu_certificate_number}".strip())
    rows.append(("Regulatory clearance", "; ".join(reg) or "none recorded"))
    return rows


def appraisal_report_pdf(appraisal: Appraisal) -> bytes:
    d, cur = appraisal.device, appraisal.currency
    inputs = appraisal.inputs
    m = lambda v: format_money(v, cur) if v is not None else "not used"  # noqa: E731
    story = [
        para("Appraisal report (USPAP Standards 7–8 style)", "Heading2"),
        kv_table([
            ("Client", appraisal.client),
            ("Intended users", appraisal.intended_users),
            ("Intended use", appraisal.intended_use),
            ("Value definition", appraisal.value_definition),
            ("Effective date", appraisal.effective_date.isoformat()),
            ("Report reference", f"Appraisal #{appraisal.pk}, device #{d.pk}"),
        ]),
        Spacer(1, 4 * mm), para("Subject equipment", "Heading3"), kv_table(_device_rows(d)),
        Spacer(1, 4 * mm), para("Approaches to value", "Heading3"),
    ]
    c = inputs["cost"]
    story += [para("<b>Cost approach</b> — replacement cost new less depreciation (double declining "
                   "balance over the useful life, condition and obsolescence), floored at salvage."),
              kv_table([("Replacement cost new", m(c["replacement_cost_new"])),
                        ("Age (years)", c["age_years"]),
                        ("Useful life (years)", f"{c['useful_life_years']} ({c['useful_life_source']})"),
                        ("Condition factor", c["condition_factor"]),
                        ("Obsolescence", c["obsolescence_fraction"]),
                        ("Salvage floor", c["salvage_fraction"]),
                        ("Indicated value", m(appraisal.cost_value))])]
    comps = inputs["market"]["comparables"]
    story.append(para("<b>Market approach</b> — comparable sales with adjustments."))
    if comps:
        story.append(grid_table(["Comparable", "Price", "Adjustment", "Adjusted"],
                                [[x["description"] or "—", m(x["price"]), x["adjustment_fraction"],
                                  m(x["adjusted_price"])] for x in comps]))
    story.append(kv_table([("Indicated value", m(appraisal.market_value))]))
    inc = inputs.get("income")
    story.append(para("<b>Income approach</b> — present value of net technical-fee income over the "
                      "remaining useful life."))
    if inc:
        src = inc.get("sources") or {}
        story.append(kv_table([
            ("Exams per day", f"{inc['exams_per_day']} — "
             f"{source_text(src.get('exams_per_day')) if src else inc['utilization_source']}"),
            ("Operating days per year", inc["operating_days_per_year"]),
            ("Technical fee per exam", f"{m(inc['technical_fee_per_exam'])} — "
             f"{source_text(src.get('technical_fee_per_exam')) if src else 'entered by the appraiser'}"),
            ("Operating cost per year", m(inc["operating_cost_per_year"])),
            ("Discount rate", inc["discount_rate"]),
            ("Remaining life (years)", inc["remaining_life_years"]),
            ("Indicated value", m(appraisal.income_value)),
        ]))
    else:
        skipped = inputs.get("income_not_used") or {}
        text = "Not used: " + skipped.get("reason", "no utilization or technical fee was available") + "."
        if skipped.get("exams_per_day") is not None:
            text += (f" Exams per day available: {skipped['exams_per_day']} — "
                     f"{source_text(skipped.get('exams_per_day_source'))}.")
        story.append(para(text))
    story += [Spacer(1, 4 * mm), para("Reconciliation", "Heading3"),
              grid_table(["Approach", "Indicated value", "Weight"],
                         [[k.title(), m(getattr(appraisal, f"{k}_value")), w]
                          for k, w in appraisal.weights.items()]),
              kv_table([("Reconciled value", m(appraisal.reconciled_value))]),
              para("The reconciled value weighs the approaches by their reliability for this "
                   "equipment; it is not a sum of the parts."),
              Spacer(1, 6 * mm), para("Signature", "Heading3"),
              kv_table([("Appraiser", appraisal.appraiser.full_name or appraisal.appraiser.email),
                        ("Signed", appraisal.signed_at.isoformat(timespec="seconds") if appraisal.signed_at
                         else "unsigned draft")])]
    return build_pdf(title=f"Appraisal report — device {d.pk}", story=story,
                     subject=f"Appraisal {appraisal.pk}")


def certificate_pdf(cert: Certification) -> bytes:
    d = cert.device
    rows = [[i["label"], "PASS" if i["passed"] else "FAIL", i["notes"] or "—"] for i in cert.checklist]
    url = verify_url(cert)
    story = [
        para("Certificate of inspection", "Heading2"),
        kv_table([("Certificate ID", str(cert.public_id)), ("Result", "PASSED — certified"),
                  # The certificate is public: never fall back to the inspector's email.
                  ("Inspector", cert.inspector.full_name or f"MedRWA inspector #{cert.inspector.pk}"),
                  ("Inspected", cert.created_at.date().isoformat() if cert.created_at else ""),
                  ("QA / calibration date", cert.qa_calibration_date.isoformat()
                   if cert.qa_calibration_date else "—")]),
        Spacer(1, 4 * mm), para("Device", "Heading3"), kv_table(_device_rows(d)),
        Spacer(1, 4 * mm), para("Checklist", "Heading3"), grid_table(["Item", "Result", "Notes"], rows),
        Spacer(1, 4 * mm),
    ]
    if cert.appraisal and cert.appraisal.report_sha256:
        story.append(kv_table([("Appraisal report SHA-256", cert.appraisal.report_sha256)]))
    story += [Spacer(1, 4 * mm), para(f"Verify this certificate: {url}"), QRFlowable(url)]
    return build_pdf(title=f"Device certificate {cert.public_id}", story=story, subject="Certificate")
