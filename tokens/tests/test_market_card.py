"""Paying for a secondary purchase by card, on a real anvil through the simulator's signed
webhook: units held for the checkout → paid → the treasury pays the seller for the buyer with
`takeFor` (units to the buyer's custodial wallet in the same transaction; the buyer's wallet
never holds the card money); an offer gone or a buyer no longer eligible when
the payment lands is refunded through the provider with the reason; a webhook told twice
settles once. Plus the market notifications (offer filled / expired, statement ready), each
sent once per event and recipient."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from chain import gateway
from chain.models import ChainTransaction
from chain.selectors import deployment_address
from compliance.selectors import active_approval, custodial_wallet
from core.errors import ApplicationError
from core.models import AuditEvent
from notifications.models import Notification
from payments import stripe_api
from payments.models import Payment, Refund
from payments.services import deliver_signed, simulator_pay
from tokens.market import payments as market_payments
from tokens.market import services as market
from tokens.models import MarketCardPurchase, MarketTransfer
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


def post_offer(w, drain, units=40, price="2.50"):
    offer = market.offer_create(actor=w.custodial, offering=w.offering, wallet=w.wallets["custodial"], units=units,
                                price_per_unit=Decimal(price), expires_at=timezone.now() + dt.timedelta(days=7))
    world_mod._drain(drain)
    offer.refresh_from_db()
    assert offer.status == "open", offer.error
    return offer


def pay(p, capture):
    """The simulator's Pay button: a signed checkout.session.completed through the real webhook
    (refunds are submitted after commit, and the simulator answers with charge.refunded)."""
    with capture(execute=True):
        simulator_pay(actor=p.buyer, payment=Payment.objects.get(session_id=p.checkout_session_id))
    p.refresh_from_db()
    return p


def test_card_purchase_holds_the_units_the_treasury_pays_and_it_settles_once(
        world, drain_outbox, django_capture_on_commit_callbacks, client):
    w = world
    offer = post_offer(w, drain_outbox)
    buyer = w.self_custody  # pays by card into their custodial wallet
    wallet = custodial_wallet(user=buyer).address
    check = market_payments.card_check(actor=buyer, offer=offer, units=10)
    fee_bps = int(gateway.call("Settlement", deployment_address("Settlement"), "feeBps"))
    assert check["token"]["allowed"] and check["amount"] == Decimal("25.00") and check["fee_paid_by"] == "seller"
    assert check["fee_base_units"] == 25_000_000 * fee_bps // 10_000

    p = market_payments.card_purchase_create(actor=buyer, offer_id=offer.pk, units=10)
    assert p.status == "reserved" and p.amount == Decimal("25.00") and p.checkout_url
    # Held for this buyer while the checkout is open: another buyer cannot take all 40.
    other = make_investor()
    world_mod._drain(drain_outbox)
    with pytest.raises(ApplicationError) as exc:
        market_payments.card_purchase_create(actor=other, offer_id=offer.pk, units=40)
    assert exc.value.code == "units_unavailable" and "Only 30 units" in exc.value.message
    with pytest.raises(ApplicationError) as exc:
        market.take_check(actor=other, offer=offer, wallet=custodial_wallet(user=other).address, units=31)
    assert exc.value.code == "units_unavailable"

    usd_seller, usd_buyer = usd_of(w.wallets["custodial"]), usd_of(wallet)
    p = pay(p, django_capture_on_commit_callbacks)
    assert p.status == "settling", p.error
    rows = ChainTransaction.objects.filter(idempotency_key__startswith=p.key)
    assert {r.function for r in rows} >= {"mint", "approve", "takeFor"}
    assert all(r.sender == "agent" for r in rows if r.function != "chain.gas_topup")  # the treasury signs
    world_mod._drain(drain_outbox)
    p.refresh_from_db()
    assert p.status == "settled", p.error
    assert units_of(w, wallet) == 10 and units_of(w, w.wallets["custodial"]) == 90
    paid, fee = 25_000_000, 25_000_000 * fee_bps // 10_000
    assert usd_of(w.wallets["custodial"]) == usd_seller + paid - fee
    assert usd_of(wallet) == usd_buyer  # the card money never passed through the buyer's wallet
    assert usd_of(deployment_address("Settlement")) == 0
    offer.refresh_from_db()
    assert offer.units_remaining == 30 and p.fill.status == "confirmed"

    # The same payment told again (redelivered body, then a second event for the session): one settlement.
    payment = Payment.objects.get(session_id=p.checkout_session_id)
    body = stripe_api.checkout_session_event("checkout.session.async_payment_succeeded",
                                             session_id=payment.session_id, client_reference_id=p.key,
                                             amount_minor=2500, currency="USD")
    deliver_signed(body)
    deliver_signed(body)
    drain_outbox()
    assert MarketTransfer.objects.filter(offer=offer, actor=buyer).count() == 1
    assert ChainTransaction.objects.filter(idempotency_key__startswith=p.key, function="takeFor").count() == 1
    assert units_of(w, wallet) == 10 and not Refund.objects.exists()

    notes = Notification.objects.filter(recipient=buyer, event_key=f"{p.key}:settled")
    assert notes.count() == 1 and "10 units" in notes.get().body
    sold = Notification.objects.get(recipient=w.custodial, event_key=f"market:fill:{p.fill.pk}:filled")
    assert "10 units sold at 2.50 USD each; 24.88 USD" in sold.body
    client.force_login(buyer)
    page = client.get(reverse("tokens:market-card-detail", args=[p.public_id])).content.decode()
    assert "Settled" in page and "25.00 USD" in page
    api = client.get(reverse("api-token-market-card-detail", args=[p.public_id])).json()
    assert api["status"] == "settled" and api["fill_id"] == p.fill.pk


def test_offer_cancelled_before_the_payment_lands_is_refunded_and_nothing_moves(
        world, drain_outbox, django_capture_on_commit_callbacks):
    w = world
    offer = post_offer(w, drain_outbox)
    buyer = w.self_custody
    wallet = custodial_wallet(user=buyer).address
    p = market_payments.card_purchase_create(actor=buyer, offer_id=offer.pk, units=10)
    market.offer_cancel(actor=w.custodial, offer=offer)
    world_mod._drain(drain_outbox)
    offer.refresh_from_db()
    assert offer.status == "cancelled"
    usd_buyer = usd_of(wallet)

    p = pay(p, django_capture_on_commit_callbacks)
    assert p.status == "refunded", p.error
    assert "no longer on the board" in p.error
    refund = Refund.objects.get(payment__session_id=p.checkout_session_id)
    assert refund.amount == Decimal("25.00") and refund.status == "succeeded"
    assert Payment.objects.get(session_id=p.checkout_session_id).status == "refunded"
    assert not ChainTransaction.objects.filter(idempotency_key__startswith=p.key).exists()
    assert usd_of(wallet) == usd_buyer and units_of(w, wallet) == 0
    told = Notification.objects.filter(recipient=buyer, event_key__startswith=p.key)
    assert {n.event_key.rsplit(":", 1)[1] for n in told} == {"refunding", "refunded"}
    assert all("no longer on the board" in n.body for n in told)
    assert AuditEvent.objects.filter(action="tokens.market_card_refused", object_id=str(p.pk)).exists()


def test_buyer_cancels_before_paying_and_the_units_are_free_at_once(
        world, drain_outbox, django_capture_on_commit_callbacks, client):
    w = world
    offer = post_offer(w, drain_outbox, units=10)
    buyer = w.self_custody
    p = market_payments.card_purchase_create(actor=buyer, offer_id=offer.pk, units=10)
    with pytest.raises(ApplicationError) as held:
        market_payments.card_purchase_create(actor=buyer, offer_id=offer.pk, units=10)
    assert held.value.code == "units_unavailable"
    client.force_login(w.custodial)  # another investor (the seller) cannot see or cancel it
    assert client.post(reverse("api-token-market-card-cancel", args=[p.public_id])).status_code == 404
    client.force_login(buyer)
    # Back from the provider's checkout without paying: the page says what is held and how to free it.
    page = client.get(reverse("tokens:market-card-detail", args=[p.public_id]) + "?cancelled=1").content.decode()
    assert "You left the checkout without paying" in page and "Cancel and free the units" in page
    resp = client.post(reverse("tokens:market-card-cancel", args=[p.public_id]), follow=True)
    assert "Purchase cancelled; the units are free again." in resp.content.decode()
    p.refresh_from_db()
    assert p.status == "cancelled" and market.card_reserved_units(offer) == 0
    again = client.post(reverse("api-token-market-card-cancel", args=[p.public_id]))
    assert again.status_code == 409 and again.json()["error"]["code"] == "purchase_not_cancellable"
    assert AuditEvent.objects.filter(action="tokens.market_card_cancel", object_id=str(p.pk),
                                     actor=buyer).exists()
    # The units can be taken again at once; the cancelled checkout's payment, if it still lands
    # from a tab left open, finds them gone and is refunded.
    market_payments.card_purchase_create(actor=buyer, offer_id=offer.pk, units=10)
    buyer.language = "zh-hans"  # the reason is written in the buyer's language, not the webhook's
    buyer.save(update_fields=["language"])
    p = pay(p, django_capture_on_commit_callbacks)
    assert p.status == "refunded" and "该报价仅剩 0 份" in p.error


def test_buyer_whose_kyc_was_revoked_before_the_payment_is_refunded(
        world, drain_outbox, django_capture_on_commit_callbacks, client):
    from compliance.services import kyc_case_revoke

    w = world
    offer = post_offer(w, drain_outbox)
    buyer = w.self_custody
    p = market_payments.card_purchase_create(actor=buyer, offer_id=offer.pk, units=5)
    kyc_case_revoke(actor=None, case=active_approval(user=buyer), reason="document forged", officer_check=False)

    p = pay(p, django_capture_on_commit_callbacks)
    assert p.status == "refunded" and "KYC approval is no longer active" in p.error
    assert not ChainTransaction.objects.filter(idempotency_key__startswith=p.key).exists()
    offer.refresh_from_db()
    assert offer.status == "open" and offer.units_remaining == 40
    assert market._available(offer) == 40  # the reservation no longer holds units
    client.force_login(buyer)
    page = client.get(reverse("tokens:market-card-detail", args=[p.public_id])).content.decode()
    assert "Refunded" in page and "KYC approval is no longer active" in page


def test_market_notifications_are_sent_once_per_event_and_recipient(world, drain_outbox):
    w = world
    offer = post_offer(w, drain_outbox, units=5)
    fill = market._fill_row(w.self_custody, offer, {"wallet": w.wallets["self_custody"], "units": 2},
                            paid_base_units="5000000", fee_base_units="0")
    market._notify_settled(fill)
    market._notify_settled(fill)
    assert Notification.objects.filter(recipient=w.custodial, event_key=f"market:fill:{fill.pk}:filled").count() == 1
    # The buyer paid in stablecoin: told once that the purchase settled.
    assert Notification.objects.filter(recipient=w.self_custody, event_key=f"market:fill:{fill.pk}:bought").count() == 1

    # The expiry passes: the sweep marks the offer expired and tells the seller, once.
    later = offer.expires_at + dt.timedelta(seconds=1)
    assert market.offers_expire_due(now=later) == 1
    assert market.offers_expire_due(now=later) == 0
    offer.refresh_from_db()
    assert offer.status == "expired"
    notes = Notification.objects.filter(recipient=w.custodial, event_key=f"market:offer:{offer.pk}:expired")
    assert notes.count() == 1 and "5 of 5 units were not sold" in notes.get().body
    assert AuditEvent.objects.filter(action="tokens.market_offer_expire", object_id=str(offer.pk)).count() == 1


def test_a_take_that_reverts_on_chain_refunds_the_card_and_nothing_left_the_treasury(
        world, drain_outbox, django_capture_on_commit_callbacks):
    """The chain changed between the webhook's checks and the take: the buyer's wallet is frozen
    after the payment was accepted. The takeFor reverts with the token's code; the treasury
    still holds what it would have paid, and the card is refunded with the token's reason."""
    from django.db import transaction

    from chain.services import outbox_enqueue

    w = world
    offer = post_offer(w, drain_outbox)
    buyer = w.self_custody
    wallet = custodial_wallet(user=buyer).address
    treasury = gateway.address_of("agent")
    p = market_payments.card_purchase_create(actor=buyer, offer_id=offer.pk, units=4)
    p = pay(p, django_capture_on_commit_callbacks)
    assert p.status == "settling"
    with transaction.atomic():
        freeze = outbox_enqueue(actor=None, idempotency_key=f"t-freeze-buyer:{wallet}", kind="tokens.agent_action",
                                contract_name="SecurityToken", function="setAddressFrozen", args=[wallet, True],
                                to_address=w.offering.token_address)
    drain_outbox(ids=[freeze.pk])
    usd_treasury = usd_of(treasury)
    with django_capture_on_commit_callbacks(execute=True):
        drain_outbox()
    p.refresh_from_db()
    assert p.status == "refunded", (p.status, p.error)
    assert "code" in p.error and "frozen" in p.error.lower()
    # Locally the treasury minted the price, then the takeFor reverted: it keeps all of it.
    assert usd_of(wallet) == 0 and usd_of(treasury) == usd_treasury + int(p.paid_base_units)
    assert units_of(w, wallet) == 0 and units_of(w, w.wallets["custodial"]) == 100
    assert Payment.objects.get(session_id=p.checkout_session_id).status == "refunded"
    assert p.fill.status == "failed"


def _real_stablecoin_treasury(settings, amount: int) -> str:
    """CHAIN_STABLECOIN_ADDRESS set (the treasury pays from its balance, no mint), holding
    exactly `amount` base units (the session's anvil is shared)."""
    stable = deployment_address("MockStablecoin")
    settings.CHAIN_STABLECOIN_ADDRESS = stable
    treasury = gateway.address_of("agent")
    web3 = gateway.w3()
    c = gateway.contract("MockStablecoin", stable)
    held = usd_of(treasury)
    if held:
        web3.provider.make_request("anvil_impersonateAccount", [treasury])
        web3.eth.wait_for_transaction_receipt(c.functions.transfer(web3.eth.accounts[5], held).transact(
            {"from": treasury}))
    if amount:
        web3.eth.wait_for_transaction_receipt(c.functions.mint(treasury, amount).transact(
            {"from": web3.eth.accounts[0]}))
    return treasury


def test_card_money_never_rests_in_the_buyers_wallet_so_a_failed_take_costs_the_treasury_nothing(
        world, drain_outbox, django_capture_on_commit_callbacks, settings):
    """Regression (issue 15, item 1): the treasury used to credit the buyer's custodial wallet,
    then approve + take in later rows. In between the buyer could withdraw the credit, and a
    colluding seller could make the take fail by withdrawing the board's allowance: the card was
    refunded and the credit was gone. Now, at every step of the settlement the buyer's wallet
    holds no card money, nothing can be withdrawn, and a take that fails leaves the treasury whole."""
    from django.db import transaction

    from chain import processor
    from chain.services import outbox_enqueue
    from tokens.distributions import income

    w = world
    treasury = _real_stablecoin_treasury(settings, 25_000_000)
    offer = post_offer(w, drain_outbox, units=10)
    buyer = w.self_custody
    wallet = custodial_wallet(user=buyer).address
    usd_buyer = usd_of(wallet)
    p = pay(market_payments.card_purchase_create(actor=buyer, offer_id=offer.pk, units=10),
            django_capture_on_commit_callbacks)
    assert p.status == "settling", p.error
    # The seller withdraws the board's allowance before the take is mined.
    with transaction.atomic():
        revoke = outbox_enqueue(actor=None, idempotency_key="t-seller-revokes", kind="tokens.market_step",
                                contract_name="SecurityToken", function="approve",
                                args=[offer.board_address, 0], to_address=w.offering.token_address,
                                sender=gateway.wallet_sender(w.wallets["custodial"]))
    drain_outbox(ids=[revoke.pk])
    rows = list(ChainTransaction.objects.filter(idempotency_key__startswith=p.key).order_by("pk"))
    for row in rows:
        with django_capture_on_commit_callbacks(execute=True):
            processor.drain(ids=[row.pk], timeout=30)
        assert usd_of(wallet) == usd_buyer, f"the buyer's wallet received card money at {row.function}"
        with pytest.raises(ApplicationError) as exc:  # nothing of the card money to withdraw
            income.income_withdraw(actor=buyer, to_wallet=w.wallets["self_custody"], amount=usd_buyer + 1)
        assert exc.value.code == "invalid_amount"
    p.refresh_from_db()
    assert p.status == "refunded", (p.status, p.error)
    assert usd_of(treasury) == 25_000_000  # the failed takeFor moved nothing out of the treasury
    assert usd_of(wallet) == usd_buyer and units_of(w, wallet) == 0
    assert Payment.objects.get(session_id=p.checkout_session_id).status == "refunded"


def test_a_seller_who_withdrew_the_allowance_is_refused_before_paying_and_refunded_after(
        world, drain_outbox, django_capture_on_commit_callbacks):
    """The pre-trade checks read the seller's side too: balance and the board's allowance."""
    from django.db import transaction

    from chain.services import outbox_enqueue

    w = world
    offer = post_offer(w, drain_outbox, units=10)
    buyer = w.self_custody
    p = market_payments.card_purchase_create(actor=buyer, offer_id=offer.pk, units=5)
    with transaction.atomic():
        revoke = outbox_enqueue(actor=None, idempotency_key="t-seller-revokes-2", kind="tokens.market_step",
                                contract_name="SecurityToken", function="approve",
                                args=[offer.board_address, 0], to_address=w.offering.token_address,
                                sender=gateway.wallet_sender(w.wallets["custodial"]))
    drain_outbox(ids=[revoke.pk])
    check = market_payments.card_check(actor=buyer, offer=offer, units=5)
    assert not check["allowed"] and check["seller"] == {"balance": 100, "allowance": 0, "enough": False}
    with pytest.raises(ApplicationError) as exc:
        market_payments.card_purchase_create(actor=buyer, offer_id=offer.pk, units=5)
    assert exc.value.code == "seller_cannot_deliver"
    with pytest.raises(ApplicationError) as exc:
        market.take_create(actor=buyer, offer_id=offer.pk, wallet=custodial_wallet(user=buyer).address, units=1)
    assert exc.value.code == "seller_cannot_deliver"
    p = pay(p, django_capture_on_commit_callbacks)  # the reservation made before the revoke
    assert p.status == "refunded" and "can no longer deliver" in p.error
    assert not ChainTransaction.objects.filter(idempotency_key__startswith=p.key).exists()


def test_card_pages_and_api_show_the_amount_and_who_pays_the_fee_then_open_the_checkout(world, drain_outbox,
                                                                                        client):
    w = world
    offer = post_offer(w, drain_outbox, price="1.333333")
    client.force_login(w.self_custody)
    url = reverse("tokens:market-card", args=[offer.pk])
    page = client.post(url, {"units": "3"}).content.decode()
    # 3 x 1.333333 = 3.999999 USD: the card is charged 4.00, the fee comes out of the seller's price.
    assert 'data-testid="card-amount">4.00 USD' in page and "paid by the seller" in page
    api = client.post(reverse("api-token-market-card-check", args=[offer.pk]), {"units": 3},
                      content_type="application/json").json()
    assert api["amount"] == "4.00" and api["paid_base_units"] == 3_999_999 and api["credit_base_units"] == 4_000_000
    resp = client.post(url, {"units": "3", "confirm": "1"})
    p = MarketCardPurchase.objects.get(buyer=w.self_custody)
    assert resp.status_code == 302 and resp["Location"] == p.checkout_url
    assert Payment.objects.get(session_id=p.checkout_session_id).amount == Decimal("4.00")
    created = client.post(reverse("api-token-market-card-create", args=[offer.pk]), {"units": 50},
                          content_type="application/json")
    assert created.status_code == 409 and created.json()["error"]["code"] == "units_unavailable"
    listed = client.get(reverse("api-token-market-card-list")).json()
    assert [x["public_id"] for x in listed] == [str(p.public_id)]
    assert "Your card purchases" in client.get(reverse("tokens:market")).content.decode()


def test_statement_ready_is_told_once_to_each_holder_and_links_the_pdf(chain_ready, platform_admin, drain_outbox,
                                                                       client):
    """The income notice of a deposit is also the statement-ready notice: it links the PDF."""
    from tokens.distributions.services import _notify_holders

    w, d = world_mod.distributed_world(platform_admin=platform_admin, drain=drain_outbox)
    notes = Notification.objects.filter(event_key=f"distribution:{d.public_id}:claimable")
    assert {n.recipient for n in notes} == {w.custodial, w.self_custody, w.frozen}
    _notify_holders(d)
    assert notes.count() == 3
    note = notes.get(recipient=w.self_custody)
    assert note.url == reverse("tokens:income-statement", args=[d.public_id])
    assert "statement is ready" in note.title and "can be downloaded as a PDF" in note.body
    client.force_login(w.self_custody)
    resp = client.get(note.url)
    assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf"


def test_on_a_real_chain_the_purchase_waits_for_treasury_funds_then_settles(
        world, drain_outbox, django_capture_on_commit_callbacks, settings, platform_admin):
    """CHAIN_STABLECOIN_ADDRESS set: the treasury pays from its balance (no mint). Short of
    funds, the paid purchase waits (units still held) and platform admins are told; once the
    treasury is funded the periodic tick settles it."""
    w = world
    treasury = _real_stablecoin_treasury(settings, 0)
    offer = post_offer(w, drain_outbox)
    buyer = w.self_custody
    p = market_payments.card_purchase_create(actor=buyer, offer_id=offer.pk, units=2)
    p = pay(p, django_capture_on_commit_callbacks)
    assert p.status == "waiting_funds" and "treasury" in p.error
    assert market._available(offer) == 38  # still held for the buyer
    told = Notification.objects.get(recipient=platform_admin, event_key=f"{p.key}:waiting_funds")
    assert "holds 0 stablecoin base units" in told.body
    assert market_payments.card_purchases_tick() == 1 and p.status == "waiting_funds"
    p.refresh_from_db()
    assert p.status == "waiting_funds"

    web3 = gateway.w3()
    c = gateway.contract("MockStablecoin", deployment_address("MockStablecoin"))
    web3.eth.wait_for_transaction_receipt(c.functions.mint(treasury, 5_000_000).transact(
        {"from": web3.eth.accounts[0]}))
    market_payments.card_purchases_tick()
    p.refresh_from_db()
    assert p.status == "settling" and p.credit_tx.function == "approve"
    world_mod._drain(drain_outbox)
    p.refresh_from_db()
    assert p.status == "settled", p.error
    assert units_of(w, custodial_wallet(user=buyer).address) == 2 and usd_of(treasury) == 0


def _settled_card_purchase(w, drain_outbox, capture, units=6):
    offer = post_offer(w, drain_outbox, units=10)
    p = pay(market_payments.card_purchase_create(actor=w.self_custody, offer_id=offer.pk, units=units), capture)
    world_mod._drain(drain_outbox)
    p.refresh_from_db()
    assert p.status == "settled", p.error
    return p


def _dispute(p, reason="fraudulent"):
    payment = Payment.objects.get(session_id=p.checkout_session_id)
    deliver_signed(stripe_api.dispute_created_event(
        payment_intent=payment.payment_intent, client_reference_id=p.key,
        amount_minor=int(p.amount * 100), currency="USD", reason=reason))
    p.refresh_from_db()
    return p


def frozen_of(w, address):
    return int(gateway.call("SecurityToken", w.offering.token_address, "getFrozenTokens", address))


def test_card_bought_units_cannot_be_sold_or_moved_during_the_settlement_hold(
        world, drain_outbox, django_capture_on_commit_callbacks, settings):
    w = world
    p = _settled_card_purchase(w, drain_outbox, django_capture_on_commit_callbacks)
    wallet = custodial_wallet(user=w.self_custody).address
    with pytest.raises(ApplicationError) as exc:
        market.offer_check(actor=w.self_custody, offering=w.offering, wallet=wallet, units=1, price_per_unit="3",
                           expires_at=timezone.now() + dt.timedelta(days=1))
    assert exc.value.code == "card_settlement_hold" and "6 of these units were bought by card" in exc.value.message
    with pytest.raises(ApplicationError) as exc:
        market.transfer_check(actor=w.self_custody, offering=w.offering, wallet=wallet, to=w.wallets["custodial"],
                              units=1)
    assert exc.value.code == "card_settlement_hold"
    settings.MARKET_CARD_HOLD_DAYS = 0  # the hold elapsed
    assert market.transfer_check(actor=w.self_custody, offering=w.offering, wallet=wallet,
                                 to=w.wallets["custodial"], units=1)["allowed"]
    assert p.status == "settled"


def test_a_chargeback_after_a_card_secondary_buy_freezes_the_units_and_a_lost_dispute_burns_them(
        world, drain_outbox, django_capture_on_commit_callbacks, compliance_officer, platform_admin, client):
    """Regression (issue 15, item 3): `charge.dispute.created` for a card purchase on the market
    was ignored — no state, no freeze, no alert — while the treasury had paid the seller."""
    w = world
    p = _settled_card_purchase(w, drain_outbox, django_capture_on_commit_callbacks)
    wallet = custodial_wallet(user=w.self_custody).address
    p = _dispute(p)
    assert p.status == "disputed" and p.frozen_units == 6 and "6 units of this purchase are frozen" in p.error
    assert p.dispute_freeze_tx.function == "freezePartialTokens" and p.dispute_freeze_tx.args == [p.wallet, 6]
    assert AuditEvent.objects.filter(action="tokens.market_card_disputed", object_id=str(p.pk)).exists()
    for who in (compliance_officer, platform_admin):
        assert Notification.objects.filter(recipient=who, event_key=f"{p.key}:disputed").exists()
    assert Notification.objects.filter(recipient=w.self_custody, event_key=f"{p.key}:disputed").exists()
    world_mod._drain(drain_outbox)
    assert frozen_of(w, wallet) == 6

    client.force_login(compliance_officer)  # the officer reads the purchase and decides over the API
    page = client.get(reverse("tokens:market-card-detail", args=[p.public_id])).content.decode()
    assert "Decide the payment dispute" in page and 'data-testid="card-frozen">6<' in page
    url = reverse("api-token-market-card-dispute-resolve", args=[p.public_id])
    bad = client.post(url, {"outcome": "lost"}, content_type="application/json")
    assert bad.status_code == 400 and "reason" in bad.json()["error"]["details"]
    resp = client.post(url, {"outcome": "lost", "reason": "The bank ruled for the cardholder"},
                       content_type="application/json")
    assert resp.status_code == 200 and resp.json()["status"] == "refunded", resp.json()
    world_mod._drain(drain_outbox)
    assert units_of(w, wallet) == 0 and frozen_of(w, wallet) == 0  # the disputed units were withdrawn
    assert Notification.objects.filter(recipient=platform_admin, event_key=f"{p.key}:dispute_lost").exists()
    assert AuditEvent.objects.filter(action="tokens.market_card_dispute_lost", actor=compliance_officer).exists()
    again = client.post(url, {"outcome": "won", "reason": "late"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "purchase_not_disputed"


def test_a_won_card_dispute_unfreezes_the_units_from_the_web_page(
        world, drain_outbox, django_capture_on_commit_callbacks, compliance_officer, client):
    w = world
    p = _dispute(_settled_card_purchase(w, drain_outbox, django_capture_on_commit_callbacks, units=4))
    world_mod._drain(drain_outbox)
    wallet = p.wallet
    assert frozen_of(w, wallet) == 4
    client.force_login(w.self_custody)  # the buyer cannot decide their own dispute
    assert client.post(reverse("tokens:market-card-dispute-resolve", args=[p.public_id]),
                       {"outcome": "won", "reason": "x"}).status_code in (302, 403)
    p.refresh_from_db()
    assert p.status == "disputed"
    client.force_login(compliance_officer)
    resp = client.post(reverse("tokens:market-card-dispute-resolve", args=[p.public_id]),
                       {"outcome": "won", "reason": "The bank sided with us"}, follow=True)
    assert "Dispute decided" in resp.content.decode()
    world_mod._drain(drain_outbox)
    p.refresh_from_db()
    assert p.status == "settled" and frozen_of(w, wallet) == 0 and units_of(w, wallet) == 4
