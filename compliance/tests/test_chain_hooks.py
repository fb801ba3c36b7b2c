import pytest

from chain import hooks
from chain.models import ChainTransaction
from compliance.tests.factories import make_profile

pytestmark = pytest.mark.django_db


def _registration_row(wallet, status):
    return ChainTransaction.objects.create(
        idempotency_key=f"kyc:1:register:{wallet.address}", kind="identity.register",
        contract_name="IdentityRegistry", function="registerIdentityWithExpiry",
        args=[wallet.address, "0x" + "11" * 20, 840, 1_900_000_000], status=status, error="reverted",
    )


@pytest.mark.parametrize(("status", "still_registered"), [("failed", False), ("confirmed", True)])
def test_failed_registration_unmarks_the_wallet(status, still_registered):
    wallet = make_profile().wallets.first()
    wallet.registered_on_chain = True
    wallet.save()
    assert hooks.run(_registration_row(wallet, status))
    wallet.refresh_from_db()
    assert wallet.registered_on_chain is still_registered
