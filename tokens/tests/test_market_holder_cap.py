"""The holder cap counts wallets, as the token contract does: the primary sale counts every
wallet the index shows holding units (market buyers and self-custody wallets included),
frees the slot of a wallet that sold everything, and counts orders not yet minted."""

import secrets

import pytest
from django.conf import settings

from chain.models import ChainEvent, IndexedContract
from core.errors import ApplicationError
from tests.fixtures.payments import ready_investor as make_investor
from tokens.ledger import holder_wallets
from tokens.primary import services as orders
from tokens.tests.factories import make_live_offering

pytestmark = pytest.mark.django_db
ZERO = "0x" + "0" * 40


def _wallet() -> str:
    return "0x" + secrets.token_hex(20)


def _transfer(offering, frm, to, value, n=[0]):  # noqa: B006 - a log counter shared by the test module
    contract, _ = IndexedContract.objects.get_or_create(chain_id=settings.CHAIN_ID, address=offering.token_address,
                                                        defaults={"contract_name": "SecurityToken"})
    n[0] += 1
    ChainEvent.objects.create(contract=contract, block_number=n[0], tx_hash="0x" + secrets.token_hex(32),
                              log_index=0, event="Transfer", args={"from": frm, "to": to, "value": str(value)})


def test_wallets_holding_on_chain_count_toward_the_cap(identity_registry_row):
    offering = make_live_offering(holder_cap=2)
    seller, market_buyer = _wallet(), _wallet()
    _transfer(offering, ZERO, seller, 10)
    _transfer(offering, seller, market_buyer, 4)  # a secondary trade: two wallets now hold
    assert holder_wallets(offering) == {seller.lower(), market_buyer.lower()}
    newcomer = make_investor()
    with pytest.raises(ApplicationError) as exc:
        orders.order_create(actor=newcomer, offering=offering, units=1)
    assert exc.value.code == "holder_cap_reached"

    _transfer(offering, market_buyer, seller, 4)  # the buyer sold everything back: its slot is free
    assert holder_wallets(offering) == {seller.lower()}
    order = orders.order_create(actor=newcomer, offering=offering, units=1)
    # Its reservation counts until minted: the cap is reached again for anyone else.
    assert holder_wallets(offering) == {seller.lower(), order.wallet.lower()}
    with pytest.raises(ApplicationError) as exc:
        orders.order_create(actor=make_investor(), offering=offering, units=1)
    assert exc.value.code == "holder_cap_reached"
    orders.order_create(actor=newcomer, offering=offering, units=1)  # its own wallet already counts
