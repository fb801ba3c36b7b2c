"""Demo data: the demo investor gets a complete profile and an approved KYC case."""

import datetime as dt
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from core.errors import ApplicationError

INVESTOR = "investor@demo.medrwa.local"
OFFICER = "compliance@demo.medrwa.local"


def _pdf(title: str) -> bytes:
    from core.pdf import build_pdf, para

    return build_pdf(title=title, story=[para("Demo document — not a real identity document.")])


def seed(stdout) -> None:
    from accounts.models import User
    from compliance import services
    from compliance.models import KycCase

    investor = User.objects.filter(email=INVESTOR).first()
    officer = User.objects.filter(email=OFFICER).first()
    if investor is None or officer is None:
        return
    profile = getattr(investor, "investor_profile", None)
    if profile is not None and profile.cases.filter(status=KycCase.Status.APPROVED).exists():
        return
    services.investor_profile_save(
        actor=investor, user=investor, legal_name="Ivy Investor", date_of_birth=dt.date(1985, 4, 12),
        residence_country="GB", address="1 Demo Street, London", investor_type="individual",
        accreditation_basis="non_us", tax_residence="GB", is_pep=False,
        intended_amount=Decimal("25000.00"), intended_currency="USD",
    )
    case = services.kyc_case_open(actor=investor)
    if case.status == KycCase.Status.DRAFT and not case.documents.exists():
        for kind in ("identity", "proof_of_address"):
            services.kyc_document_upload(actor=investor, case=case, kind=kind,
                                         uploaded_file=SimpleUploadedFile(f"{kind}.pdf", _pdf(kind)))
    if case.status in (KycCase.Status.DRAFT, KycCase.Status.NEEDS_MORE_INFO):
        case = services.kyc_case_submit(actor=investor, case=case)
    if case.status == KycCase.Status.SUBMITTED:
        case = services.kyc_case_start_review(actor=officer, case=case)
    try:
        services.kyc_case_approve(actor=officer, case=case, reason="Demo data")
        stdout.write("compliance: demo investor KYC approved")
    except ApplicationError as exc:
        # `make run` seeds again once the chain process has deployed the registry.
        stdout.write(f"compliance: demo investor KYC waits in review until the chain is up ({exc.code}).\n")
