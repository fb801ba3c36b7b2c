import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from chain.models import ChainTransaction
from compliance import selectors, services
from compliance.models import KycCase, KycDecision
from compliance.tests.factories import PLAINTEXT_MARKER, make_case, make_profile, pdf_bytes, upload
from core.crypto import decrypt_bytes
from core.errors import ApplicationError
from core.pdf import sha256_hex

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("identity_registry_row")]
S = KycCase.Status


def test_documents_are_ciphertext_on_disk_with_plaintext_hash(investor):
    case = make_case(investor, status=S.DRAFT)
    doc = case.documents.get(kind="identity")
    with default_storage.open(doc.file.name, "rb") as fh:
        raw = fh.read()
    assert PLAINTEXT_MARKER not in raw and not raw.startswith(b"%PDF")
    assert doc.file.name.endswith(".enc") and "passport" not in doc.file.name
    assert decrypt_bytes(raw) == pdf_bytes()
    assert doc.sha256 == sha256_hex(pdf_bytes()) and doc.size == len(pdf_bytes())


def test_only_pdf_png_jpeg_are_accepted(investor):
    case = make_case(investor, status=S.DRAFT)
    with pytest.raises(ApplicationError) as exc:
        services.kyc_document_upload(actor=investor, case=case, kind="identity",
                                     uploaded_file=upload("x.pdf", b"MZ\x90\x00 an executable"))
    assert exc.value.code == "unsupported_document"


def test_submit_needs_complete_profile_and_documents(investor):
    make_profile(investor, accreditation_basis="income")
    case = services.kyc_case_open(actor=investor)
    services.kyc_document_upload(actor=investor, case=case, kind="identity", uploaded_file=upload())
    with pytest.raises(ApplicationError) as exc:
        services.kyc_case_submit(actor=investor, case=case)
    assert exc.value.code == "documents_missing"
    assert "Proof of address" in exc.value.message and "Accreditation evidence" in exc.value.message


def test_non_us_investor_needs_no_accreditation_evidence(investor):
    make_profile(investor, accreditation_basis="non_us")
    case = services.kyc_case_open(actor=investor)
    for kind in ("identity", "proof_of_address"):
        services.kyc_document_upload(actor=investor, case=case, kind=kind, uploaded_file=upload())
    assert services.kyc_case_submit(actor=investor, case=case).status == S.SUBMITTED


def test_full_review_lifecycle_with_resubmission(investor, compliance_officer):
    case = make_case(investor, status=S.IN_REVIEW, officer=compliance_officer)
    with pytest.raises(ApplicationError) as exc:
        services.kyc_case_request_info(actor=compliance_officer, case=case, reason="")
    assert exc.value.code == "reason_required"
    case = services.kyc_case_request_info(actor=compliance_officer, case=case,
                                          reason="The proof of address is older than three months.")
    assert case.status == S.NEEDS_MORE_INFO and "older than three months" in case.investor_message
    services.kyc_document_upload(actor=investor, case=case, kind="proof_of_address", uploaded_file=upload())
    case = services.kyc_case_submit(actor=investor, case=case)
    assert case.status == S.SUBMITTED and case.investor_message == ""
    case = services.kyc_case_start_review(actor=compliance_officer, case=case)
    case = services.kyc_case_approve(actor=compliance_officer, case=case, reason="Fine now")
    assert case.status == S.APPROVED
    assert case.expires_at - case.approved_at == dt.timedelta(days=365)
    actions = list(case.decisions.values_list("action", flat=True))
    assert actions == ["opened", "submitted", "screened", "review_started", "more_info_requested",
                       "resubmitted", "screened", "review_started", "approved"]
    approved = case.decisions.get(action="approved")
    assert approved.actor_label == compliance_officer.email
    assert sorted(approved.evidence_hashes) == sorted(case.documents.values_list("sha256", flat=True))
    assert selectors.investor_is_eligible(user=investor)


def test_rejection_is_final_and_needs_a_reason(investor, compliance_officer):
    case = make_case(investor, status=S.IN_REVIEW, officer=compliance_officer)
    with pytest.raises(ApplicationError):
        services.kyc_case_reject(actor=compliance_officer, case=case, reason=" ")
    case = services.kyc_case_reject(actor=compliance_officer, case=case, reason="Forged identity document")
    with pytest.raises(ApplicationError) as exc:
        services.kyc_case_start_review(actor=compliance_officer, case=case)
    assert exc.value.code == "illegal_transition" and exc.value.status == 409
    assert not selectors.investor_is_eligible(user=investor)
    # The investor may start over with a new case.
    assert services.kyc_case_open(actor=investor).pk != case.pk


def test_approval_requires_review_first(investor, compliance_officer):
    case = make_case(investor, status=S.SUBMITTED)
    with pytest.raises(ApplicationError) as exc:
        services.kyc_case_approve(actor=compliance_officer, case=case)
    assert exc.value.code == "illegal_transition"


def test_decision_log_is_append_only(investor):
    case = make_case(investor, status=S.SUBMITTED)
    d = case.decisions.first()
    d.reason = "rewritten"
    with pytest.raises(PermissionError):
        d.save()
    with pytest.raises(PermissionError):
        KycDecision.objects.filter(case=case).update(reason="x")
    with pytest.raises(PermissionError):
        KycDecision.objects.filter(case=case).delete()


def test_officer_can_never_review_their_own_case(user_with_role):
    from accounts.models import Membership
    from core.roles import Role

    officer = user_with_role(Role.COMPLIANCE_OFFICER)
    Membership.objects.create(user=officer, role=Role.INVESTOR)
    case = make_case(officer, status=S.SUBMITTED)
    with pytest.raises(ApplicationError) as exc:
        services.kyc_case_start_review(actor=officer, case=case)
    assert exc.value.code == "own_case" and exc.value.status == 403


def test_investor_cannot_decide(investor, user_with_role):
    from core.roles import Role

    case = make_case(user_with_role(Role.INVESTOR), status=S.SUBMITTED)
    with pytest.raises(ApplicationError) as exc:
        services.kyc_case_start_review(actor=investor, case=case)
    assert exc.value.status == 403


def test_high_risk_approval_needs_two_different_officers(investor, compliance_officer, compliance_officer2):
    case = make_case(investor, status=S.IN_REVIEW, officer=compliance_officer, is_pep=True,
                     intended_amount=Decimal("2000000"))
    assert case.risk_level == KycCase.Risk.HIGH and case.risk_score >= 50
    case = services.kyc_case_approve(actor=compliance_officer, case=case, reason="EDD done")
    assert case.status == S.IN_REVIEW and case.first_approver == compliance_officer
    assert not ChainTransaction.objects.exists()
    with pytest.raises(ApplicationError) as exc:
        services.kyc_case_approve(actor=compliance_officer, case=case)
    assert exc.value.code == "four_eyes"
    case = services.kyc_case_approve(actor=compliance_officer2, case=case, reason="Second look agrees")
    assert case.status == S.APPROVED and case.decided_by == compliance_officer2
    assert list(case.decisions.filter(action__in=["first_approval", "approved"])
                .values_list("actor_label", flat=True)) == [compliance_officer.email, compliance_officer2.email]


def test_low_risk_case_is_approved_by_one_officer(investor, compliance_officer):
    case = make_case(investor, status=S.IN_REVIEW, officer=compliance_officer)
    assert case.risk_level == KycCase.Risk.LOW
    assert services.kyc_case_approve(actor=compliance_officer, case=case).status == S.APPROVED


def test_high_risk_country_raises_the_score(investor):
    case = make_case(investor, residence_country="IR", tax_residence="IR", is_pep=True)
    assert case.risk_level == KycCase.Risk.HIGH
    assert ("High-risk country", 40) in selectors.risk_factors(case)


def _rows(**filters):
    return ChainTransaction.objects.filter(**filters).order_by("id")


def test_approval_registers_every_wallet_through_the_outbox(investor, compliance_officer):
    case = make_case(investor, status=S.APPROVED, officer=compliance_officer)
    profile = case.profile
    wallets = list(profile.wallets.all())
    regs = _rows(function="registerIdentityWithExpiry")
    assert {r.idempotency_key for r in regs} == {f"kyc:{case.pk}:register:{w.address}" for w in wallets}
    assert regs[0].args == [wallets[0].address, profile.identity_address, 826, int(case.expires_at.timestamp())]
    assert not _rows(function="batchSetKycExpiry").exists()  # nothing was registered before
    # Queued is not registered: the flag follows the confirmed transaction (chain hook).
    assert not any(w.registered_on_chain for w in profile.wallets.all())
    assert [w.address for w in selectors.investor_wallets(user=investor)] == [w.address for w in wallets]


def test_wallet_linked_after_approval_is_registered_too(investor, compliance_officer):
    from eth_account import Account
    from eth_account.messages import encode_defunct

    case = make_case(investor, status=S.APPROVED, officer=compliance_officer)
    acct = Account.create()
    ch = services.wallet_challenge_create(actor=investor, address=acct.address, domain="d.test", uri="https://d.test/")
    sig = Account.sign_message(encode_defunct(text=ch.message), private_key=acct.key).signature.hex()
    services.wallet_link(actor=investor, message=ch.message, signature=sig, domain="d.test")
    row = ChainTransaction.objects.get(idempotency_key=f"kyc:{case.pk}:register:{acct.address}")
    assert row.args[0] == acct.address


def test_expiry_task_expires_case_on_chain_and_blocks_purchases(investor, compliance_officer):
    case = make_case(investor, status=S.APPROVED, officer=compliance_officer)
    assert services.kyc_cases_expire_due() == 0
    KycCase.objects.filter(pk=case.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert not selectors.investor_is_eligible(user=investor)  # already, before the task runs
    from compliance.tasks import kyc_expire_due

    assert kyc_expire_due() == 1
    case.refresh_from_db()
    assert case.status == S.EXPIRED and "expired" in case.investor_message
    row = ChainTransaction.objects.get(idempotency_key=f"kyc:{case.pk}:expire")
    assert row.function == "batchSetKycExpiry" and row.args[1] == int(case.expires_at.timestamp())
    assert sorted(row.args[0]) == sorted(case.profile.wallets.values_list("address", flat=True))
    # A new approval later only needs a new expiry: the wallets are still registered.
    officer = compliance_officer
    new = services.kyc_case_open(actor=investor)
    for kind in ("identity", "proof_of_address", "accreditation"):
        services.kyc_document_upload(actor=investor, case=new, kind=kind, uploaded_file=upload())
    new = services.kyc_case_submit(actor=investor, case=new)
    new = services.kyc_case_start_review(actor=officer, case=new)
    services.kyc_case_approve(actor=officer, case=new)
    assert not ChainTransaction.objects.filter(idempotency_key__startswith=f"kyc:{new.pk}:register").exists()
    assert ChainTransaction.objects.filter(idempotency_key=f"kyc:{new.pk}:expiry").exists()
    assert selectors.investor_is_eligible(user=investor)


def test_revocation_removes_wallets_from_the_registry(investor, compliance_officer):
    case = make_case(investor, status=S.APPROVED, officer=compliance_officer)
    case = services.kyc_case_revoke(actor=compliance_officer, case=case, reason="Adverse media found")
    dels = _rows(function="deleteIdentity")
    assert {r.args[0] for r in dels} == set(case.profile.wallets.values_list("address", flat=True))
    assert not case.profile.wallets.filter(registered_on_chain=True).exists()
    assert not selectors.investor_is_eligible(user=investor)


def test_approval_fails_closed_without_a_registry(investor, compliance_officer):
    from chain.models import Deployment

    case = make_case(investor, status=S.IN_REVIEW, officer=compliance_officer)
    Deployment.objects.all().delete()
    with pytest.raises(ApplicationError) as exc:
        services.kyc_case_approve(actor=compliance_officer, case=case)
    assert exc.value.status == 503
    case.refresh_from_db()
    assert case.status == S.IN_REVIEW
