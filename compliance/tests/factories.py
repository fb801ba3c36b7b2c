"""Builders for compliance tests: a complete investor profile, documents, and cases in a
given state, all made through the real services."""

import datetime as dt
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import make_user
from compliance import services
from compliance.models import KycCase
from core.roles import Role

PLAINTEXT_MARKER = b"PASSPORT-NO-X1234567-PLAINTEXT"


def pdf_bytes(marker: bytes = PLAINTEXT_MARKER) -> bytes:
    # An uncompressed PDF, so the marker appears verbatim in the plaintext.
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
            b"% " + marker + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def upload(name: str = "passport.pdf", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else pdf_bytes(), content_type="application/pdf")


PROFILE = {
    "legal_name": "Erin Example", "date_of_birth": dt.date(1988, 5, 17), "residence_country": "GB",
    "address": "10 Downing Row, London", "investor_type": "individual", "accreditation_basis": "net_worth",
    "accreditation_detail": "", "tax_residence": "GB", "is_pep": False,
    "intended_amount": Decimal("25000.00"), "intended_currency": "USD",
}


def make_profile(user=None, **overrides):
    user = user or make_user(Role.INVESTOR)
    return services.investor_profile_save(actor=user, user=user, **{**PROFILE, **overrides})


def make_case(user=None, *, status: str = KycCase.Status.SUBMITTED, officer=None, **profile_overrides) -> KycCase:
    """A case with all documents, moved to `status` (submitted / in_review / approved)."""
    profile = make_profile(user, **profile_overrides)
    user = profile.user
    case = services.kyc_case_open(actor=user)
    for kind in ("identity", "proof_of_address", "accreditation"):
        services.kyc_document_upload(actor=user, case=case, kind=kind, uploaded_file=upload(f"{kind}.pdf"))
    if status == KycCase.Status.DRAFT:
        return case
    case = services.kyc_case_submit(actor=user, case=case)
    if status == KycCase.Status.SUBMITTED:
        return case
    officer = officer or make_user(Role.COMPLIANCE_OFFICER)
    case = services.kyc_case_start_review(actor=officer, case=case)
    if status == KycCase.Status.IN_REVIEW:
        return case
    return services.kyc_case_approve(actor=officer, case=case, reason="All documents in order")
