"""KYC lifecycle (issue 9, item 7) and ordered registry writes (item 6), outbox side."""

import datetime as dt

import pytest
from django.utils import timezone

from chain.models import ChainTransaction
from compliance import onchain, selectors, services
from compliance.models import KycCase
from compliance.tests.factories import PROFILE, make_case, upload
from core.errors import ApplicationError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("identity_registry_row")]
S = KycCase.Status


def _save(user, **changes):
    return services.investor_profile_save(actor=user, user=user, **{**PROFILE, **changes})


def _complete(case, investor, officer):
    for kind in ("identity", "proof_of_address", "accreditation"):
        services.kyc_document_upload(actor=investor, case=case, kind=kind, uploaded_file=upload())
    case = services.kyc_case_submit(actor=investor, case=case)
    case = services.kyc_case_start_review(actor=officer, case=case)
    return services.kyc_case_approve(actor=officer, case=case, reason="Checked")


def test_profile_is_read_only_while_the_case_is_with_the_officers(investor):
    make_case(investor, status=S.SUBMITTED)
    with pytest.raises(ApplicationError) as exc:
        _save(investor, address="99 Elsewhere Road, Leeds")
    assert exc.value.code == "profile_locked"
    assert _save(investor).address == PROFILE["address"]  # saving unchanged data is harmless


def test_profile_change_after_approval_suspends_until_a_new_case_is_approved(investor, compliance_officer):
    old = make_case(investor, status=S.APPROVED, officer=compliance_officer)
    assert selectors.investor_is_eligible(user=investor)
    _save(investor, residence_country="CH", tax_residence="CH")
    change = selectors.current_case(user=investor)
    assert change.pk != old.pk and change.purpose == KycCase.Purpose.CHANGE and change.status == S.DRAFT
    assert not selectors.investor_is_eligible(user=investor)
    hold = ChainTransaction.objects.get(idempotency_key=f"kyc:{old.pk}:change-hold:{change.pk}")
    assert hold.args[1] == onchain.SUSPENDED_EXPIRY
    new = _complete(change, investor, compliance_officer)
    old.refresh_from_db()
    assert new.status == S.APPROVED and old.status == S.SUPERSEDED
    assert selectors.investor_is_eligible(user=investor)
    # The registry's country follows the approved profile, after the suspension.
    wallet = new.profile.wallets.get()
    country = ChainTransaction.objects.get(function="updateCountry", args__0=wallet.address)
    assert country.args[1] == 756 and country.after_id is not None and country.after_id >= hold.pk


def test_renewal_opens_thirty_days_before_expiry_and_the_investor_stays_verified(investor, compliance_officer):
    old = make_case(investor, status=S.APPROVED, officer=compliance_officer)
    with pytest.raises(ApplicationError) as exc:
        services.kyc_case_open(actor=investor)
    assert exc.value.code == "already_approved"
    KycCase.objects.filter(pk=old.pk).update(expires_at=timezone.now() + dt.timedelta(days=20))
    renewal = services.kyc_case_open(actor=investor)
    assert renewal.purpose == KycCase.Purpose.RENEWAL
    assert selectors.investor_is_eligible(user=investor)  # still verified while the renewal is reviewed
    new = _complete(renewal, investor, compliance_officer)
    old.refresh_from_db()
    assert old.status == S.SUPERSEDED and new.expires_at > timezone.now() + dt.timedelta(days=300)
    assert selectors.investor_is_eligible(user=investor)
    assert services.kyc_cases_expire_due() == 0  # the superseded approval never expires the wallets
    expiry = ChainTransaction.objects.get(idempotency_key=f"kyc:{new.pk}:expiry")
    assert expiry.args[1] == int(new.expires_at.timestamp())


def test_registry_writes_for_one_investor_are_chained_in_decision_order(investor, compliance_officer):
    case = make_case(investor, status=S.APPROVED, officer=compliance_officer)
    register = ChainTransaction.objects.get(function="registerIdentityWithExpiry")
    assert register.after_id is None
    services.kyc_case_revoke(actor=compliance_officer, case=case, reason="Adverse media found")
    delete = ChainTransaction.objects.get(function="deleteIdentity")
    # The removal is queued although the registration is not mined yet, and only after it.
    assert delete.after_id == register.pk and delete.args == register.args[:1]
