"""Market pages and API without a chain node: who may see and do what, error shape, the
seller anonymised on the board, custodial-sender validation in the outbox."""

import datetime as dt

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from chain import gateway
from chain.models import ChainTransaction
from chain.services import outbox_enqueue
from core.errors import ApplicationError
from tokens.models import MarketOffer, Offering, OfferingStatus
from tokens.offerings import services
from tokens.tests.factories import make_certified_device, make_investor, offering_terms

pytestmark = pytest.mark.django_db


def _live(platform_admin) -> Offering:
    device = make_certified_device()
    offering = services.offering_create(actor=platform_admin, device=device, data=offering_terms())
    Offering.objects.filter(pk=offering.pk).update(status=OfferingStatus.LIVE, token_address="0x" + "cd" * 20)
    offering.refresh_from_db()
    return offering


def _open_offer(offering, seller) -> MarketOffer:
    return MarketOffer.objects.create(
        offering=offering, seller=seller, seller_wallet="0x" + "ab" * 20, status="open", units=10,
        units_remaining=10, price_per_unit_base_units=2_500_000, expires_at=timezone.now() + dt.timedelta(days=1),
        board_address="0x" + "be" * 20, board_offer_id=7)


def test_market_pages_are_for_investors(client, clinic_admin, investor):
    url = reverse("tokens:market")
    assert client.get(url).status_code == 302  # to the login
    client.force_login(clinic_admin)
    assert client.get(url).status_code == 403
    assert client.get("/api/v1/tokens/market/").status_code == 403
    client.force_login(investor)
    resp = client.get(url)
    assert resp.status_code == 200 and "Portfolio" in resp.content.decode()
    data = client.get("/api/v1/tokens/market/").json()
    assert set(data) == {"tokens", "offers", "my_offers", "my_transfers", "portfolio"}


def test_board_shows_offers_with_the_seller_anonymised(client, platform_admin, investor):
    offering = _live(platform_admin)
    seller = make_investor(status="none")
    offer = _open_offer(offering, seller)
    client.force_login(investor)
    body = client.get(reverse("tokens:market")).content.decode()
    assert f"Seller #{offer.pk}" in body and "2.5" in body
    assert seller.email not in body and offer.seller_wallet not in body
    api = client.get(f"/api/v1/tokens/market/tokens/{offering.pk}/").json()
    (row,) = api["offers"]
    assert row["seller"] == f"Seller #{offer.pk}" and row["price_per_unit"] == "2.500000"
    assert "seller_wallet" not in row


def test_another_investors_offer_cannot_be_seen_or_cancelled(client, platform_admin, investor):
    offer = _open_offer(_live(platform_admin), make_investor(status="none"))
    client.force_login(investor)
    assert client.get(f"/api/v1/tokens/market/offers/{offer.pk}/").status_code == 404
    resp = client.post(f"/api/v1/tokens/market/offers/{offer.pk}/cancel/", {}, content_type="application/json")
    assert resp.status_code == 404
    assert client.post(reverse("tokens:market-offer-cancel", args=[offer.pk])).status_code == 404
    offer.refresh_from_db()
    assert offer.status == "open" and offer.cancel_tx is None


def test_officer_cancels_with_a_reason_through_the_agent(client, platform_admin, compliance_officer):
    offer = _open_offer(_live(platform_admin), make_investor(status="none"))
    client.force_login(compliance_officer)
    resp = client.post(f"/api/v1/tokens/market/offers/{offer.pk}/cancel/", {}, content_type="application/json")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "reason_required"
    resp = client.post(f"/api/v1/tokens/market/offers/{offer.pk}/cancel/", {"reason": "wallet frozen by order"},
                       content_type="application/json")
    assert resp.status_code == 202 and resp.json()["status"] == "cancelling"
    row = ChainTransaction.objects.get(kind="tokens.market_cancel")
    assert (row.sender, row.function, row.args, row.reason) == ("agent", "cancel", [7], "wallet frozen by order")


def test_api_validates_input_before_touching_the_chain(client, investor):
    client.force_login(investor)
    resp = client.post("/api/v1/tokens/market/transfers/check/", {"offering_id": 1, "wallet": "x", "to": "y"},
                       content_type="application/json")
    assert resp.status_code == 400 and "units" in resp.json()["error"]["details"]
    resp = client.post("/api/v1/tokens/market/transfers/check/",
                       {"offering_id": 999, "wallet": "x", "to": "y", "units": 1}, content_type="application/json")
    assert resp.status_code == 404
    resp = client.post("/api/v1/tokens/market/offers/999/take/check/", {"wallet": "x", "units": 1},
                       content_type="application/json")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "offer_gone"


def test_outbox_accepts_custodial_wallet_senders_only_in_the_wallet_form():
    with transaction.atomic():
        row = outbox_enqueue(actor=None, idempotency_key="t:wallet-sender", kind="t", contract_name="SecurityToken",
                             function="transfer", args=["0x" + "11" * 20, 1], to_address="0x" + "22" * 20,
                             sender="wallet:0x" + "ab" * 20)
    assert row.sender == gateway.wallet_sender("0x" + "ab" * 20)  # stored in checksum form
    for bad in ("wallet:nope", "custodian", "wallet:"):
        with pytest.raises(ApplicationError) as exc, transaction.atomic():
            outbox_enqueue(actor=None, idempotency_key=f"t:{bad}", kind="t", contract_name="SecurityToken",
                           function="transfer", args=[], to_address="0x" + "22" * 20, sender=bad)
        assert exc.value.code == "chain_bad_sender"


def test_compliance_params_page_and_api_are_for_compliance_officers_and_fail_closed_without_a_chain(
        client, platform_admin, investor, settings):
    from accounts.tests.factories import make_user
    from core.permissions import Role
    from tokens.models import ComplianceChange

    settings.CHAIN_RPC_URL = "http://127.0.0.1:9"  # nothing listens: the live values cannot be read
    offering = _live(platform_admin)
    url = reverse("tokens:compliance-params", args=[offering.pk])
    api = f"/api/v1/tokens/offerings/{offering.pk}/compliance/"
    client.force_login(investor)
    assert client.get(url).status_code == 403 and client.get(api).status_code == 403
    officer = make_user(Role.COMPLIANCE_OFFICER)
    client.force_login(officer)
    page = client.get(url)
    assert page.status_code == 200
    assert b"The chain cannot be reached" in page.content and b"counts wallets" in page.content
    assert client.get(api).json()["chain"] is None
    data = {"supply_cap": offering.units, "max_per_investor": 10, "holder_cap": 50, "allowed_countries": "276, 826"}
    page = client.post(url, {**data, "reason": ""})
    assert page.status_code == 200 and b"This field is required" in page.content
    page = client.post(url, {**data, "reason": "Regulator letter"})
    assert b"The chain cannot be reached" in page.content
    resp = client.post(api, {**data, "allowed_countries": [276], "reason": "Regulator letter"},
                       content_type="application/json")
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "chain_unavailable"
    assert not ComplianceChange.objects.exists()
    offering.refresh_from_db()
    assert offering.max_per_investor != 10


def test_an_offer_posted_for_another_token_is_never_listed_under_this_one():
    """A self-custody seller could post a worthless token on the board and track it against a
    real offering: the OfferPosted event must name this offering's token."""
    from types import SimpleNamespace

    from tokens.market.services import _posted

    board, seller, real, fake = ("0x" + c * 40 for c in "abcd")
    offer = SimpleNamespace(board_address=board, seller_wallet=seller,
                            offering=SimpleNamespace(token_address=real))
    log = {"event": "OfferPosted", "address": board, "args": {"seller": seller, "token": fake, "offerId": 1}}
    assert _posted(offer, [log]) is None
    assert _posted(offer, [{**log, "args": {**log["args"], "token": real}}]) is not None
