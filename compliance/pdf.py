"""The case file a compliance officer exports for an audit (reportlab via core.pdf)."""

from django.utils import timezone
from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from compliance.models import KycCase
from compliance.services import risk_factors
from core.pdf import build_pdf, grid_table, kv_table, para


def _fmt(t) -> str:
    return timezone.localtime(t).strftime("%Y-%m-%d %H:%M:%S %Z") if t else "—"


def case_file_pdf(case: KycCase) -> bytes:
    p = case.profile
    story = [
        para(f"Generated {_fmt(timezone.now())}. Status: <b>{case.get_status_display()}</b>."),
        Spacer(1, 4 * mm), para("Investor", "Heading2"),
        kv_table([
            ("Legal name", p.legal_name or "[erased]"),
            ("Account", p.user.email),
            ("Date of birth", p.date_of_birth or "—"),
            ("Residence", f"{p.residence_country} ({p.residence_country_numeric or '—'})"),
            ("Tax residence", p.tax_residence or "—"),
            ("Investor type", p.get_investor_type_display()),
            ("Accreditation", p.get_accreditation_basis_display() or "—"),
            ("Politically exposed", "Yes" if p.is_pep else "No"),
            ("Intended amount", f"{p.intended_amount} {p.intended_currency}" if p.intended_amount is not None else "—"),
            ("On-chain identity", p.identity_address),
            ("Wallets", ", ".join(f"{w.address} ({w.get_kind_display()})" for w in p.wallets.all()) or "—"),
        ]),
        Spacer(1, 4 * mm), para("Case", "Heading2"),
        kv_table([
            ("Case", f"#{case.pk}"),
            ("Submitted", _fmt(case.submitted_at)),
            ("Risk", f"{case.get_risk_level_display()} ({case.risk_score}): "
                     + ("; ".join(f"{n} +{s}" for n, s in risk_factors(case)) or "no factors")),
            ("Approved", _fmt(case.approved_at)),
            ("Expires", _fmt(case.expires_at)),
        ]),
        Spacer(1, 4 * mm), para("Sanctions screening", "Heading2"),
        para(f"Last screened {_fmt(case.screened_at)} against the OFAC SDN list."),
    ]
    hits = list(case.hits.all())
    if hits:
        story.append(grid_table(
            ["SDN entry", "Matched name", "Score", "Status", "Cleared by / reason"],
            [[f"{h.entry_uid} {h.entry_name}", h.matched_name, h.score, h.get_status_display(),
              f"{h.cleared_by.email if h.cleared_by else ''} {_fmt(h.cleared_at) if h.cleared_at else ''} "
              f"{h.clear_reason}"] for h in hits],
        ))
    else:
        story.append(para("No possible matches."))
    story += [Spacer(1, 4 * mm), para("Documents", "Heading2")]
    docs = list(case.documents.all())
    story.append(grid_table(
        ["Type", "Uploaded", "Size", "SHA-256"],
        [[d.get_kind_display(), _fmt(d.created_at), d.size, d.sha256] for d in docs],
        col_widths=[35 * mm, 38 * mm, 17 * mm, 80 * mm],
    ) if docs else para("No documents."))
    story += [Spacer(1, 4 * mm), para("Decisions", "Heading2"), grid_table(
        ["When", "Who", "Action", "Status", "Reason"],
        [[_fmt(d.created_at), d.actor_label or "system", d.action,
          f"{d.from_status} → {d.to_status}" if d.to_status else "", d.reason] for d in case.decisions.all()],
        col_widths=[32 * mm, 40 * mm, 25 * mm, 30 * mm, 43 * mm],
    )]
    return build_pdf(title=f"KYC case file #{case.pk}", story=story, subject="KYC case file")
