"""The token page lists its events as people read them (issue 18): ERC-3643's
UpdatedTokenInformation indexes the name and symbol, so the log holds only their keccak256
hashes; the page shows the token's name and symbol instead."""

import secrets

import pytest
from django.conf import settings

from accounts.tests.factories import PASSWORD
from chain import gateway
from chain.models import ChainEvent, IndexedContract
from tokens.offerings import selectors
from tokens.tests.factories import make_live_offering

pytestmark = pytest.mark.django_db


def _info_event(offering, name: str, symbol: str) -> ChainEvent:
    contract, _ = IndexedContract.objects.get_or_create(chain_id=settings.CHAIN_ID, address=offering.token_address,
                                                        contract_name="SecurityToken")
    return ChainEvent.objects.create(
        contract=contract, block_number=5, tx_hash="0x" + secrets.token_hex(32), log_index=0,
        event="UpdatedTokenInformation",
        args={"_newName": gateway.keccak_text(name), "_newSymbol": gateway.keccak_text(symbol), "_newDecimals": 0,
              "_newVersion": "1.0", "_newOnchainID": "0x" + "0" * 40})


def test_the_token_page_shows_name_and_symbol_where_the_log_has_their_hashes(client, platform_admin):
    offering = make_live_offering()
    stored = _info_event(offering, "Vida MRI Token", "VIDA")
    client.login(email=platform_admin.email, password=PASSWORD)
    page = client.get(f"/offerings/{offering.pk}/").content.decode()
    assert "UpdatedTokenInformation" in page
    assert "<dd class=\"mono\">Vida MRI Token</dd>" in page and "<dd class=\"mono\">VIDA</dd>" in page
    assert stored.args["_newName"] not in page and stored.args["_newSymbol"] not in page
    stored.refresh_from_db()
    assert stored.args["_newName"] == gateway.keccak_text("Vida MRI Token")  # the record keeps the log's values


def test_a_name_set_on_chain_later_is_read_from_the_token_and_unknown_ones_stay_hashes(monkeypatch):
    offering = make_live_offering()
    _info_event(offering, "Renamed Token", "OTHER")
    monkeypatch.setattr(gateway, "call", lambda contract, address, fn, *a: {"name": "Renamed Token",
                                                                            "symbol": "RNMD"}[fn])
    (ev,) = selectors.token_events(offering=offering)
    assert ev.args["_newName"] == "Renamed Token"
    assert ev.args["_newSymbol"] == gateway.keccak_text("OTHER")  # neither the offering's nor the token's now
