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
