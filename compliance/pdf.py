"""The case file a compliance officer exports for an audit (reportlab via core.pdf)."""

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from compliance.models import KycCase
from compliance.selectors import risk_factors
from core.pdf import build_pdf, grid_table, kv_table, para


def _fmt(t) -> str:
    return timezone.localtime(t).strftime("%Y-%m-%d %H:%M:%S %Z") if t else "—"


def case_file_pdf(case: KycCase) -> bytes:
    p = case.profile
    story = [
        para(_("Generated %(when)s. Status: <b>%(status)s</b>.") % {"when": _fmt(timezone.now()),
                                                                   "status": case.get_status_display()}),
        Spacer(1, 4 * mm), para(_("Investor"), "Heading2"),
        kv_table([
            (_("Legal name"), p.legal_name or _("[erased]")),
            (_("Account"), p.user.email),
            (_("Date of birth"), p.date_of_birth or "—"),
            (_("Residence"), f"{p.residence_country} ({p.residence_country_numeric or '—'})"),
            (_("Tax residence"), p.tax_residence or "—"),
            (_("Investor type"), p.get_investor_type_display()),
            (_("Accreditation"), p.get_accreditation_basis_display() or "—"),
            (_("Politically exposed"), _("Yes") if p.is_pep else _("No")),
            (_("Intended amount"), f"{p.intended_amount} {p.intended_currency}"
             if p.intended_amount is not None else "—"),
            (_("On-chain identity"), p.identity_address),
            (_("Wallets"), ", ".join(f"{w.address} ({w.get_kind_display()})" for w in p.wallets.all()) or "—"),
        ]),
        Spacer(1, 4 * mm), para(_("Case"), "Heading2"),
        kv_table([
            (_("Case"), f"#{case.pk}"),
            (_("Submitted"), _fmt(case.submitted_at)),
            (_("Risk"), f"{case.get_risk_level_display()} ({case.risk_score}): "
                        + ("; ".join(f"{n} +{s}" for n, s in risk_factors(case)) or _("no factors"))),
            (_("Approved"), _fmt(case.approved_at)),
            (_("Expires"), _fmt(case.expires_at)),
        ]),
        Spacer(1, 4 * mm), para(_("Sanctions screening"), "Heading2"),
        para(_("Last screened %(when)s against the OFAC SDN list.") % {"when": _fmt(case.screened_at)}),
    ]
    hits = list(case.hits.all())
    if hits:
        story.append(grid_table(
            [_("SDN entry"), _("Matched name"), _("Score"), _("Status"), _("Cleared by / reason")],
            [[f"{h.entry_uid} {h.entry_name}", h.matched_name, h.score, h.get_status_display(),
              f"{h.cleared_by.email if h.cleared_by else ''} {_fmt(h.cleared_at) if h.cleared_at else ''} "
              f"{h.clear_reason}"] for h in hits],
        ))
    else:
        story.append(para(_("No possible matches.")))
    story += [Spacer(1, 4 * mm), para(_("Documents"), "Heading2")]
    docs = list(case.documents.all())
    story.append(grid_table(
        [_("Type"), _("Uploaded"), _("Size"), "SHA-256"],
        [[d.get_kind_display(), _fmt(d.created_at), d.size, d.sha256] for d in docs],
        col_widths=[35 * mm, 38 * mm, 17 * mm, 80 * mm],
    ) if docs else para(_("No documents.")))
    story += [Spacer(1, 4 * mm), para(_("Decisions"), "Heading2"), grid_table(
        [_("When"), _("Who"), _("Action"), _("Status"), _("Reason")],
        [[_fmt(d.created_at), d.actor_label or _("system"), d.action,
          f"{d.from_status} → {d.to_status}" if d.to_status else "", d.reason] for d in case.decisions.all()],
        col_widths=[32 * mm, 40 * mm, 25 * mm, 30 * mm, 43 * mm],
    )]
    return build_pdf(title=_("KYC case file #%(case)s") % {"case": case.pk}, story=story, subject="KYC case file")
