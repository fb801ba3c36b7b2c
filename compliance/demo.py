"""Demo data: the demo investor gets a complete profile and an approved KYC case."""

import datetime as dt
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from compliance import services
from compliance.models import KycCase
from core.errors import ApplicationError
from core.pdf import build_pdf, para

INVESTOR = "investor@demo.medrwa.local"
INVESTOR2 = "investor2@demo.medrwa.local"  # a second approved investor, in another allowed country
OFFICER = "compliance@demo.medrwa.local"
# email -> (legal name, residence and tax country, address)
INVESTORS = {
    INVESTOR: ("Ivy Investor", "GB", "1 Demo Street, London"),
    INVESTOR2: ("Dana Investor", "DE", "2 Demostraße, Berlin"),
}


def _pdf(title: str) -> bytes:
    return build_pdf(title=title, story=[para("Demo document — not a real identity document.")])


def seed(stdout) -> None:
    for email in INVESTORS:
        _seed_investor(stdout, email)


def _seed_investor(stdout, email: str) -> None:
    investor = User.objects.filter(email=email).first()
    officer = User.objects.filter(email=OFFICER).first()
    if investor is None or officer is None:
        return
    profile = getattr(investor, "investor_profile", None)
    if profile is not None and profile.cases.filter(status=KycCase.Status.APPROVED).exists():
        return
    legal_name, country, address = INVESTORS[email]
    services.investor_profile_save(
        actor=investor, user=investor, legal_name=legal_name, date_of_birth=dt.date(1985, 4, 12),
        residence_country=country, address=address, investor_type="individual",
        accreditation_basis="non_us", tax_residence=country, is_pep=False,
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
        stdout.write(f"compliance: demo investor {email} KYC approved\n")
    except ApplicationError as exc:
        # `make run` seeds again once the chain process has deployed the registry.
        stdout.write(f"compliance: demo investor {email} KYC waits in review until the chain is up ({exc.code}).\n")
