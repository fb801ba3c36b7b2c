"""The secondary market on a real anvil: a custodial seller lists (signed with the custodial key
through the outbox, gas topped up by the operator), a self-custody buyer takes part of it from
the "browser" (prepared calls sent by the wallet, tracked by hash), both legs settle in one
transaction; compliance refusals show the token's own code and message and move nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from chain import gateway
from chain.models import ChainTransaction
from chain.selectors import deployment_address
from compliance.selectors import custodial_wallet
from core.errors import ApplicationError
from core.money import format_base_units
from tokens.market import services as market
from tokens.models import MarketOffer, MarketTransfer
from tokens.tests import distribution_world as world_mod
from tokens.tests.factories import make_investor

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


@pytest.fixture
def world(chain_ready, platform_admin, drain_outbox):
    return world_mod.build_holders(platform_admin=platform_admin, drain=drain_outbox)


def usd_of(address):
    return int(gateway.call("MockStablecoin", deployment_address("MockStablecoin"), "balanceOf", address))


def units_of(w, address):
    return int(gateway.call("SecurityToken", w.offering.token_address, "balanceOf", address))


def send_from_browser(prepared):
    """What static/js/market.js does with an EIP-1193 wallet: send each prepared call in order
    (anvil impersonates the self-custody address; anvil mines each at once)."""
    web3 = gateway.w3()
    hashes = []
    for step in prepared["steps"]:
        h = web3.eth.send_transaction({"from": prepared["from"], "to": step["to"], "data": step["data"]})
        web3.eth.wait_for_transaction_receipt(h)
        hashes.append("0x" + bytes(h).hex())
    return hashes[-1]


def fund_usd(address, amount):
    stable = deployment_address("MockStablecoin")
    web3 = gateway.w3()
    c = gateway.contract("MockStablecoin", stable)
    web3.eth.wait_for_transaction_receipt(
        c.functions.mint(gateway.to_checksum(address), amount).transact({"from": web3.eth.accounts[0]}))


def post_custodial(w, drain, units=40, price="2.50"):
    offer = market.offer_create(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"], units=units,
                                price_per_unit=Decimal(price), expires_at=timezone.now() + dt.timedelta(days=7))
    world_mod._drain(drain)
    offer.refresh_from_db()
    return offer


def test_custodial_seller_to_self_custody_buyer_settles_both_legs_at_once(world, drain_outbox):
    w = world
    seller = w.wallets["custodial"]
    assert gateway.w3().eth.get_balance(seller) == 0  # custodial wallets never hold ETH by themselves
    offer = post_custodial(w, drain_outbox)
    assert offer.status == "open" and offer.board_offer_id, offer.error
    # The operator topped the wallet up, then the wallet itself signed approve and post.
    rows = ChainTransaction.objects.filter(idempotency_key__startswith=f"market:offer:{offer.pk}")
    assert {r.sender for r in rows} == {"operator", gateway.wallet_sender(seller)}
    assert all(r.status == "confirmed" for r in rows)

    buyer = w.wallets["self_custody"]
    fund_usd(buyer, 500 * 10**6)
    board = deployment_address("Settlement")
    fee_wallet = gateway.call("Settlement", board, "feeWallet")
    usd_seller, usd_fee = usd_of(seller), usd_of(fee_wallet)
    check = market.take_check(actor=w.self_custody, offer=offer, wallet=buyer, units=15)
    assert check["token"] == {"code": 0, "message": "No restriction", "allowed": True}
    assert check["paid_base_units"] == 15 * 2_500_000 and check["stablecoin"]["enough"]

    prepared = market.take_prepare(actor=w.self_custody, offer_id=offer.pk, wallet=buyer, units=15)
    assert [s["label"] for s in prepared["steps"]] == ["approve", "take"]
    fill = market.take_track(actor=w.self_custody, offer_id=offer.pk, wallet=buyer, units=15,
                             tx_hash=send_from_browser(prepared))
    assert fill.status == "confirmed", fill.error
    paid, fee = int(fill.paid_base_units), int(fill.fee_base_units)
    assert paid == 37_500_000 and fee == paid * int(gateway.call("Settlement", board, "feeBps")) // 10_000
    assert units_of(w, buyer) == 50 + 15 and units_of(w, seller) == 100 - 15
    assert usd_of(seller) == usd_seller + paid - fee and usd_of(fee_wallet) == usd_fee + fee
    assert usd_of(board) == 0 and units_of(w, board) == 0  # the board never holds anything
    offer.refresh_from_db()
    assert offer.status == "open" and offer.units_remaining == 25

    stats = market.market_stats(offering=w.offering)
    assert stats["last_price"] == Decimal("2.5") and stats["volume_30d_base_units"] == paid
    assert stats["holders"] == 3
    folio = market.portfolio(user=w.self_custody)
    row = next(r for r in folio["rows"] if r["offering"] == w.offering)
    assert row["units"] == 65 and row["value_at_last_trade"] == Decimal("162.5")

    # The seller cancels the rest (custodial: signed with their key, gas topped up).
    market.offer_cancel(actor=w.custodial, offer=offer)
    world_mod._drain(drain_outbox)
    offer.refresh_from_db()
    assert offer.status == "cancelled"
    with pytest.raises(ApplicationError) as exc:
        market.take_prepare(actor=w.self_custody, offer_id=offer.pk, wallet=buyer, units=1)
    assert exc.value.code == "offer_gone"


def test_buyer_in_a_country_the_token_refuses_sees_the_reason_and_nothing_moves(world, drain_outbox):
    w = world
    offer = post_custodial(w, drain_outbox, units=10)
    fr = make_investor(residence_country="FR")  # 250: the offering allows GB and DE only
    world_mod._drain(drain_outbox)
    fr_wallet = custodial_wallet(user=fr).address
    fund_usd(fr_wallet, 100 * 10**6)
    check = market.take_check(actor=fr, offer=offer, wallet=fr_wallet, units=10)
    assert check["token"]["code"] == 6 and check["token"]["message"] == "Receiver country is not allowed"
    with pytest.raises(ApplicationError) as exc:
        market.take_create(actor=fr, offer_id=offer.pk, wallet=fr_wallet, units=10)
    assert exc.value.code == "transfer_restricted"
    assert "code 6 — Receiver country is not allowed" in exc.value.message
    assert not MarketTransfer.objects.filter(actor=fr).exists()

    # Straight to the contract, around the app: the token leg reverts and takes the payment with it.
    web3 = gateway.w3()
    web3.provider.make_request("anvil_impersonateAccount", [fr_wallet])
    web3.provider.make_request("anvil_setBalance", [fr_wallet, hex(10**18)])
    board = deployment_address("Settlement")
    stable = gateway.contract("MockStablecoin", deployment_address("MockStablecoin"))
    web3.eth.wait_for_transaction_receipt(stable.functions.approve(board, 10**12).transact({"from": fr_wallet}))
    take = gateway.contract("Settlement", board).functions.take(offer.board_offer_id, 10,
                                                                offer.price_per_unit_base_units)
    receipt = web3.eth.wait_for_transaction_receipt(take.transact({"from": fr_wallet, "gas": 400_000}))
    assert receipt["status"] == 0
    assert usd_of(fr_wallet) == 100 * 10**6 and units_of(w, fr_wallet) == 0
    assert units_of(w, w.wallets["custodial"]) == 100


def test_transfer_shows_the_contract_answer_and_a_custodial_transfer_is_signed_by_its_key(world, drain_outbox):
    w = world
    fr = make_investor(residence_country="FR")
    world_mod._drain(drain_outbox)
    fr_wallet = custodial_wallet(user=fr).address
    check = market.transfer_check(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"],
                                  to=fr_wallet, units=5)
    assert (check["code"], check["message"], check["allowed"]) == (6, "Receiver country is not allowed", False)
    with pytest.raises(ApplicationError) as exc:
        market.transfer_create(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"],
                               to=fr_wallet, units=5)
    assert exc.value.details == {"restriction_code": 6, "restriction_message": "Receiver country is not allowed"}
    # By email, the one refusal of every email that cannot receive (issue 18).
    with pytest.raises(ApplicationError) as exc:
        market.transfer_create(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"],
                               to=fr.email, units=5)
    assert exc.value.code == "recipient_cannot_receive"
    # More than the holder has: the token's own code 4.
    check = market.transfer_check(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"],
                                  to=w.self_custody.email, units=1_000)
    assert check["code"] == 4 and check["message"] == "Insufficient unfrozen balance"

    t = market.transfer_create(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"],
                               to=w.self_custody.email, units=7)
    world_mod._drain(drain_outbox)
    t.refresh_from_db()
    assert t.status == "confirmed", t.error
    assert t.chain_tx.sender == gateway.wallet_sender(w.wallets["custodial"])
    assert t.chain_tx.sender_address == gateway.to_checksum(w.wallets["custodial"])
    recipient = custodial_wallet(user=w.self_custody).address
    assert t.to_wallet == gateway.to_checksum(recipient) and units_of(w, recipient) == 7
    assert units_of(w, w.wallets["custodial"]) == 93


def test_the_transfer_form_does_not_tell_whether_an_email_belongs_to_a_verified_investor(world, drain_outbox,
                                                                                          client):
    """Issue 18: an unknown email was refused as "no verified investor", a verified investor's
    with the token's answer about them (their country, the holder cap…): anyone holding a unit
    could tell who invests, and where. Every email that cannot receive now gets one answer."""
    from rest_framework.test import APIClient

    from accounts.tests.factories import make_user
    from core.permissions import Role

    w = world
    fr = make_investor(residence_country="FR")  # verified; the token does not allow France
    pending = make_investor(status="submitted")  # KYC not approved
    clinic = make_user(Role.CLINIC_ADMIN)
    world_mod._drain(drain_outbox)
    emails = ["nobody-at-all@example.org", clinic.email, pending.email, fr.email, w.frozen.email,
              fr.email.upper()]
    args = {"actor": w.custodial, "offering": w.offering, "wallet": w.wallets["custodial"]}

    answers = set()
    for email in emails:
        with pytest.raises(ApplicationError) as exc:
            market.transfer_check(**args, to=email, units=5)
        answers.add((exc.value.code, exc.value.message, str(exc.value.details), exc.value.status))
    assert len(answers) == 1 and next(iter(answers))[0] == "recipient_cannot_receive"

    api = APIClient()
    api.force_authenticate(w.custodial)
    bodies = set()
    for email in emails:
        r = api.post("/api/v1/tokens/market/transfers/check/", {
            "offering_id": w.offering.pk, "wallet": w.wallets["custodial"], "to": email, "units": 5}, format="json")
        bodies.add((r.status_code, r.content))
    assert len(bodies) == 1 and next(iter(bodies))[0] == 409

    client.force_login(w.custodial)
    pages = set()
    for email in emails:
        page = client.post(reverse("tokens:market-transfer"), {
            "offering": w.offering.pk, "wallet": w.wallets["custodial"], "to": email, "units": 5}).content.decode()
        assert "These units cannot be sent to this email." in page and "transfer-check" not in page
        pages.add("Receiver" in page or "No verified investor" in page)
    assert pages == {False}

    # What is the holder's own is still said, the same for every email: more than they hold.
    for email in [*emails, w.self_custody.email]:
        check = market.transfer_check(**args, to=email, units=1_000)
        assert (check["code"], check["message"], check["allowed"]) == (4, "Insufficient unfrozen balance", False)
        assert check["to"] == email and not check["recipient_known"]

    # A wallet address still gets the token's own ERC-1404 answer.
    for address, code in ((custodial_wallet(user=fr).address, 6), (w.wallets["frozen"], 3)):
        check = market.transfer_check(**args, to=address, units=5)
        assert (check["code"], check["allowed"]) == (code, False)
    # An email that can receive is allowed (that much a transfer to it tells, necessarily).
    check = market.transfer_check(**args, to=w.self_custody.email, units=5)
    assert check["allowed"] and check["recipient_known"]


def test_lockup_blocks_offers_with_the_lockup_message(world, drain_outbox):
    w = world
    from django.db import transaction

    from chain.services import outbox_enqueue

    token = w.offering.token_address
    params = gateway.call("SecurityToken", token, "complianceParams")
    future = int((timezone.now() + dt.timedelta(days=30)).timestamp())
    with transaction.atomic():
        outbox_enqueue(actor=None, idempotency_key=f"t-lockup:{token}", kind="tokens.agent_action",
                       contract_name="SecurityToken", function="setComplianceParams",
                       args=[params[0], params[1], params[2], future, params[4]], to_address=token,
                       sender="operator")
    world_mod._drain(drain_outbox)
    with pytest.raises(ApplicationError) as exc:
        market.offer_create(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"], units=5,
                            price_per_unit=Decimal("3"), expires_at=timezone.now() + dt.timedelta(days=1))
    assert exc.value.details["restriction_code"] == 9
    assert "Tokens are locked up" in exc.value.message
    assert not MarketOffer.objects.exists()


def test_officer_changes_compliance_params_through_the_outbox_and_the_terms_follow_on_confirmation(
        world, drain_outbox):
    """Item 6: a compliance officer (API twin) narrows the holder cap to the wallets holding
    now and drops Germany; the offering's terms follow only once confirmed; the market then
    refuses with the contract's own codes; a lock-up set the same way blocks offers."""
    from rest_framework.test import APIClient

    from accounts.tests.factories import make_user
    from core.models import AuditEvent
    from core.permissions import Role
    from tokens.models import ComplianceChange
    from tokens.offerings import compliance_params as cp

    w = world
    token = w.offering.token_address
    officer = make_user(Role.COMPLIANCE_OFFICER)
    de, gb = make_investor(residence_country="DE"), make_investor(residence_country="GB")
    world_mod._drain(drain_outbox)
    api = APIClient()
    api.force_authenticate(officer)
    url = f"/api/v1/tokens/offerings/{w.offering.pk}/compliance/"
    state = api.get(url).json()
    assert state["chain"]["holders"] == 3 and state["chain"]["holder_cap"] == w.offering.holder_cap
    body = {"supply_cap": w.offering.units, "max_per_investor": 200, "holder_cap": 2, "allowed_countries": [826],
            "reason": "Regulator letter 2026-14"}
    # Below the wallets holding now: refused before anything is sent, field by field.
    resp = api.post(url, {**body}, format="json")
    assert resp.status_code == 400 and "holder_cap" in resp.json()["error"]["details"]
    assert api.post(url, {**body, "holder_cap": 3, "reason": ""}, format="json").status_code == 400
    assert not ComplianceChange.objects.exists()

    resp = api.post(url, {**body, "holder_cap": 3}, format="json")
    assert resp.status_code == 202, resp.json()
    change = ComplianceChange.objects.get()
    before = (w.offering.holder_cap, w.offering.max_per_investor, w.offering.allowed_countries)
    w.offering.refresh_from_db()
    assert change.status == "pending"
    assert (w.offering.holder_cap, w.offering.max_per_investor, w.offering.allowed_countries) == before
    with pytest.raises(ApplicationError) as exc:  # one change at a time
        cp.compliance_change_request(actor=officer, offering=w.offering, **{**body, "holder_cap": 5})
    assert exc.value.code == "change_pending"

    world_mod._drain(drain_outbox)
    change.refresh_from_db()
    w.offering.refresh_from_db()
    assert change.status == "applied", change.error
    assert (w.offering.holder_cap, w.offering.max_per_investor, w.offering.allowed_countries) == (3, 200, [826])
    params = gateway.call("SecurityToken", token, "complianceParams")
    assert tuple(params) == (w.offering.units, 200, 3, 0, True)
    assert not gateway.call("SecurityToken", token, "isCountryAllowed", 276)
    assert AuditEvent.objects.filter(action="tokens.compliance_change_request", reason="Regulator letter 2026-14",
                                     actor=officer).exists()
    assert AuditEvent.objects.filter(action="tokens.compliance_change_applied").exists()

    # The market now answers with the contract's own codes (for wallet addresses; an email
    # that cannot receive gets the one answer that does not say why).
    check = market.transfer_check(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"],
                                  to=custodial_wallet(user=de).address, units=1)
    assert (check["code"], check["message"]) == (6, "Receiver country is not allowed")
    check = market.transfer_check(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"],
                                  to=custodial_wallet(user=gb).address, units=1)
    assert (check["code"], check["message"]) == (8, "Maximum number of holders reached")
    for email in (de.email, gb.email):
        with pytest.raises(ApplicationError) as exc:
            market.transfer_check(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"], to=email,
                                  units=1)
        assert exc.value.code == "recipient_cannot_receive"

    # A lock-up in the future, set the same way (service), blocks offers with the lock-up message.
    import datetime as _dt

    day = timezone.localdate() + _dt.timedelta(days=30)
    cp.compliance_change_request(actor=officer, offering=w.offering, supply_cap=w.offering.units,
                                 max_per_investor=200, holder_cap=3, lockup_until=day, allowed_countries=[826],
                                 reason="Dispute on the device's title")
    world_mod._drain(drain_outbox)
    w.offering.refresh_from_db()
    assert w.offering.lockup_until == day
    with pytest.raises(ApplicationError) as exc:
        market.offer_create(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"], units=5,
                            price_per_unit=Decimal("3"), expires_at=timezone.now() + dt.timedelta(days=1))
    assert exc.value.details["restriction_code"] == 9 and "Tokens are locked up" in exc.value.message


def test_income_follows_the_rules_the_seller_keeps_unclaimed_income_the_buyer_earns_from_the_next(
        chain_ready, platform_admin, drain_outbox, client):
    """Item 3: a month is distributed; the custodial holder sells 40 units to a new investor;
    the seller's unclaimed income is unchanged by the sale and the buyer gets none of it; the
    next month's distribution pays both by their units at its deposit block; both pages say so."""
    import dataclasses

    from tokens.ledger import holding_periods

    w = world_mod.build_holders(platform_admin=platform_admin, drain=drain_outbox)
    month2_start, month2_end = w.period_start, w.period_end
    month1_end = month2_start
    month1_start = (month1_end - dt.timedelta(days=1)).replace(day=1)
    first = dataclasses.replace(w, period_start=month1_start, period_end=month1_end)
    # One agent spool for both months (a second spool would repeat its event ids).
    world_mod.simulate_month(dataclasses.replace(w, period_start=month1_start, period_end=month2_end))
    d1 = world_mod.close_and_pay(first, drain=drain_outbox)
    assert d1.status == "distributed", d1.error
    seller = w.wallets["custodial"]
    owed_before = world_mod.withdrawable(w, "custodial")
    assert owed_before > 0

    buyer = make_investor(residence_country="GB")
    world_mod._drain(drain_outbox)
    buyer_wallet = custodial_wallet(user=buyer).address
    fund_usd(buyer_wallet, 200 * 10**6)
    offer = post_custodial(w, drain_outbox, units=40, price="2.50")
    fill = market.take_create(actor=buyer, offer_id=offer.pk, wallet=buyer_wallet, units=40)
    world_mod._drain(drain_outbox)
    fill.refresh_from_db()
    assert fill.status == "confirmed", fill.error
    token = w.offering.token_address

    def owed(address):
        return int(gateway.call("SecurityToken", token, "withdrawableIncomeOf", address))

    assert owed(seller) == owed_before  # unclaimed income stays with the seller
    assert owed(buyer_wallet) == 0  # the buyer bought units, not last month's income

    second = dataclasses.replace(w, period_start=month2_start, period_end=month2_end)
    d2 = world_mod.close_and_pay(second, drain=drain_outbox)
    assert d2.status == "distributed", d2.error
    buyer_periods = holding_periods(w.offering, buyer_wallet)
    assert [(p["distribution"].pk, p["units"]) for p in buyer_periods] == [(d2.pk, 40)]
    seller_periods = {p["distribution"].pk: p for p in holding_periods(w.offering, seller)}
    assert seller_periods[d1.pk]["units"] == 100 and seller_periods[d2.pk]["units"] == 60
    assert owed(buyer_wallet) == buyer_periods[0]["base_units"] > 0
    # (the contract floors the seller's total once, the page floors each period: at most 1 apart)
    assert 0 <= owed(seller) - (owed_before + seller_periods[d2.pk]["base_units"]) <= 1

    # Both see it on their Income pages: per-period units at each deposit block.
    client.force_login(buyer)
    page = client.get(reverse("tokens:income")).content.decode()
    assert month2_start.strftime("%Y-%m") in page and month1_start.strftime("%Y-%m") not in page
    assert format_base_units(owed(buyer_wallet), 6) in page
    client.force_login(w.custodial)
    page = client.get(reverse("tokens:income")).content.decode()
    assert month1_start.strftime("%Y-%m") in page and month2_start.strftime("%Y-%m") in page
    assert format_base_units(owed(seller), 6) in page


def test_a_compliance_change_failing_part_way_leaves_the_offering_stating_what_the_chain_enforces(
        world, drain_outbox):
    from accounts.tests.factories import make_user
    from chain import processor
    from chain.models import ChainTransaction
    from core.permissions import Role
    from tokens.offerings import compliance_params as cp

    w = world
    officer = make_user(Role.COMPLIANCE_OFFICER)
    change = cp.compliance_change_request(actor=officer, offering=w.offering, supply_cap=w.offering.units,
                                          max_per_investor=150, holder_cap=40, allowed_countries=[826],
                                          reason="Regulator letter 2026-15")
    params = ChainTransaction.objects.get(function="setComplianceParams", status="pending")
    drain_outbox(ids=[params.pk])  # the parameters are set on chain…
    for row in ChainTransaction.objects.filter(function="setCountriesAllowed", status="pending").order_by("pk"):
        # …and the country calls fail (as a reverted transaction would)
        ChainTransaction.objects.filter(pk=row.pk).update(status="failed", error="reverted: simulated")
        processor.process_one(row.pk)
    change.refresh_from_db()
    w.offering.refresh_from_db()
    assert change.status == "failed"
    # The stored terms are the chain's, not the old ones and not the requested ones.
    assert (w.offering.max_per_investor, w.offering.holder_cap) == (150, 40)
    assert sorted(w.offering.allowed_countries) == sorted(
        c for c in {826, 276} if gateway.call("SecurityToken", w.offering.token_address, "isCountryAllowed", c))


def test_a_fill_reported_from_the_browser_counts_only_the_boards_own_offer_taken(world, drain_outbox):
    """Regression (issue 15, item 5): the fill's receipt used to be read for the first
    OfferTaken of any contract. A look-alike board (same code, deployed by anyone) emits one
    with a price of its own; a colluding seller lets it move the offer's units. Tracked as a
    fill of the platform board's offer, it must not confirm nor set a trade price."""
    from django.db import transaction

    from chain.services import outbox_enqueue

    w = world
    offer = post_custodial(w, drain_outbox, units=10)
    seller, buyer = w.wallets["custodial"], w.wallets["self_custody"]
    stable = deployment_address("MockStablecoin")
    with transaction.atomic():
        row = outbox_enqueue(actor=None, idempotency_key="t-rogue-board", kind="test.rogue", contract_name="Settlement",
                             function="constructor", sender="operator",
                             args=[gateway.address_of("operator"), stable, gateway.address_of("operator"), 0,
                                   deployment_address("TokenFactory")])
    (row,) = drain_outbox(ids=[row.pk])
    rogue = row.contract_address
    expiry = int(timezone.now().timestamp()) + 3600
    with transaction.atomic():  # the colluding seller lists on the look-alike board at 0.000001 USD
        market._custodial_calls(actor=None, key="t-rogue-post", wallet=seller, kind="test.rogue", reason="rogue",
                                calls=[("approve", "SecurityToken", w.offering.token_address, "approve", [rogue, 5]),
                                       ("post", "Settlement", rogue, "post", [w.offering.token_address, 5, 1, expiry])])
    world_mod._drain(drain_outbox)
    fund_usd(buyer, 10)
    h = send_from_browser({"from": buyer, "steps": [
        gateway.encode_call("MockStablecoin", stable, "approve", rogue, 5),
        gateway.encode_call("Settlement", rogue, "take", 1, 5, 1)]})
    assert units_of(w, buyer) == 50 + 5  # the units did move, seller → buyer

    fill = market.take_track(actor=w.self_custody, offer_id=offer.pk, wallet=buyer, units=5, tx_hash=h)
    assert fill.status == "failed" and fill.price_per_unit_base_units == offer.price_per_unit_base_units
    assert fill.paid_base_units in ("", None)
    assert market.market_stats(offering=w.offering)["last_price"] is None
