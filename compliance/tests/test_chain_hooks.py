"""The registry's confirmation hooks: a wallet counts as registered only from the confirmed
transaction, and a failed write is surfaced to officers and compensated."""

import pytest

from chain import hooks
from chain.models import ChainTransaction
from compliance import selectors
from compliance.models import KycCase
from compliance.tests.factories import make_case, make_profile

pytestmark = pytest.mark.django_db


def _row(wallet, status, *, case_id=1, function="registerIdentityWithExpiry", kind="identity.register"):
    args = ([wallet.address, "0x" + "11" * 20, 840, 1_900_000_000] if function.startswith("register")
            else [wallet.address])
    return ChainTransaction.objects.create(
        idempotency_key=f"kyc:{case_id}:{function}:{wallet.address}", kind=kind,
        contract_name="IdentityRegistry", function=function, args=args, status=status,
        error="reverted" if status == "failed" else "",
    )


@pytest.mark.parametrize(("status", "registered"), [("failed", False), ("confirmed", True)])
def test_wallet_counts_as_registered_only_from_the_confirmed_transaction(status, registered):
    wallet = make_profile().wallets.first()
    assert hooks.run(_row(wallet, status))
    wallet.refresh_from_db()
    assert wallet.registered_on_chain is registered


def test_confirmed_removal_unmarks_the_wallet():
    wallet = make_profile().wallets.first()
    wallet.registered_on_chain = True
    wallet.save()
    assert hooks.run(_row(wallet, "confirmed", function="deleteIdentity", kind="identity.delete"))
    wallet.refresh_from_db()
    assert wallet.registered_on_chain is False


def test_failed_registry_write_is_shown_to_officers_in_the_queue_and_case_log(
        investor, compliance_officer, identity_registry_row, client):
    case = make_case(investor, status=KycCase.Status.APPROVED, officer=compliance_officer)
    wallet = case.profile.wallets.first()
    row = ChainTransaction.objects.get(function="registerIdentityWithExpiry", args__0=wallet.address)
    ChainTransaction.objects.filter(pk=row.pk).update(status="failed", error="execution reverted: out of gas")
    row.refresh_from_db()
    assert hooks.run(row)
    assert case.decisions.filter(action="registry_write_failed").exists()
    assert [r.pk for r in selectors.registry_failures(profile=case.profile)] == [row.pk]
    assert case.pk in [c.pk for c in selectors.review_queue()]
    client.force_login(compliance_officer)
    page = client.get(f"/compliance/cases/{case.pk}/").content.decode()
    assert "On-chain registry write failed" in page and "out of gas" in page
    # The officer's resync queues the registration again (a new key); the failure is then
    # no longer the investor's newest word.
    r = client.post(f"/compliance/cases/{case.pk}/resync/")
    assert r.status_code == 302
    again = ChainTransaction.objects.filter(function="registerIdentityWithExpiry", args__0=wallet.address,
                                            status="pending")
    assert again.count() == 1 and again.get().idempotency_key != row.idempotency_key
    ChainTransaction.objects.filter(pk=again.get().pk).update(status="confirmed")
    assert selectors.registry_failures(profile=case.profile) == []


def test_profiles_with_registry_failures_matches_the_per_profile_rule(investor, compliance_officer,
                                                                      identity_registry_row):
    """The bulk computation gives the same set as `registry_failures` profile by profile."""
    from compliance.tests.factories import make_user
    from core.roles import Role

    def approved():
        return make_case(make_user(Role.INVESTOR), status=KycCase.Status.APPROVED, officer=compliance_officer)

    ChainTransaction.objects.filter(contract_name="IdentityRegistry").update(status="confirmed")
    failed_only, recovered, failed_after_confirmed, other_case = approved(), approved(), approved(), approved()
    odd_key, clean = approved(), approved()
    _row(failed_only.profile.wallets.first(), "failed", case_id=failed_only.pk)
    wallet = recovered.profile.wallets.first()
    _row(wallet, "failed", case_id=recovered.pk, function="updateCountry")
    _row(wallet, "pending", case_id=recovered.pk, function="batchSetKycExpiry")
    _row(wallet, "confirmed", case_id=recovered.pk, function="deleteIdentity")
    wallet = failed_after_confirmed.profile.wallets.first()
    _row(wallet, "confirmed", case_id=failed_after_confirmed.pk, function="updateCountry")
    _row(wallet, "failed", case_id=failed_after_confirmed.pk, function="deleteIdentity")
    _row(wallet, "submitted", case_id=failed_after_confirmed.pk, function="batchSetKycExpiry")
    # A later write confirmed under another case of the same investor clears the failure.
    later = KycCase.objects.create(profile=other_case.profile, status=KycCase.Status.SUPERSEDED)
    wallet = other_case.profile.wallets.first()
    _row(wallet, "failed", case_id=other_case.pk, function="updateCountry")
    _row(wallet, "confirmed", case_id=later.pk, function="deleteIdentity")
    # Keys `_profile_rows` does not match for the case (leading zero, no separator).
    wallet = odd_key.profile.wallets.first()
    ChainTransaction.objects.create(idempotency_key=f"kyc:0{odd_key.pk}:x", kind="identity.register",
                                    contract_name="IdentityRegistry", function="updateCountry",
                                    args=[wallet.address], status="failed")
    ChainTransaction.objects.create(idempotency_key=f"kyc:{odd_key.pk}", kind="identity.register",
                                    contract_name="IdentityRegistry", function="updateCountry",
                                    args=[wallet.address], status="failed")
    expected = {c.profile_id for c in KycCase.objects.select_related("profile")
                if selectors.registry_failures(profile=c.profile)}
    assert expected == {failed_only.profile_id, failed_after_confirmed.profile_id}
    assert selectors.profiles_with_registry_failures() == expected
    assert clean.profile_id not in expected


def test_queue_page_queries_do_not_grow_with_failing_investors(compliance_officer, identity_registry_row, client,
                                                               django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from compliance.tests.factories import make_user
    from core.roles import Role

    def add_failing(n):
        for _ in range(n):
            case = make_case(make_user(Role.INVESTOR), status=KycCase.Status.APPROVED, officer=compliance_officer)
            ChainTransaction.objects.filter(idempotency_key__startswith=f"kyc:{case.pk}:").update(status="failed")

    client.force_login(compliance_officer)
    add_failing(2)
    with CaptureQueriesContext(connection) as few:
        page = client.get(reverse("compliance:queue")).content.decode()
    assert page.count("(on-chain write failed)") == 2
    add_failing(6)
    with django_assert_max_num_queries(len(few)):
        page = client.get(reverse("compliance:queue")).content.decode()
    assert page.count("(on-chain write failed)") == 8
