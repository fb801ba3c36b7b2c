"""The whole payment lifecycle of an order, with signed Stripe events delivered the way
Stripe delivers them (redelivered, out of order, late): every order ends with its units or
its money back, the investor is told why, and reconciliation agrees (issue 9, item 3)."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from chain.models import ChainTransaction
from compliance.models import KycCase
from core.models import AuditEvent
from core.money import to_minor_units
from payments import stripe_api
from payments.models import Payment, Refund
from tests.fixtures.payments import ready_investor as make_investor
from tokens import ledger
from tokens.models import Order, OrderStatus
from tokens.primary import reconciliation
from tokens.primary import services as orders
from tokens.tests.factories import make_live_offering

pytestmark = pytest.mark.django_db


@pytest.fixture
def offering(db):
    return make_live_offering()


@pytest.fixture
def deliver(post_webhook, django_capture_on_commit_callbacks):
    """Post a signed event and run what its transaction scheduled on commit (the simulator's
    refund submission and its own signed charge.refunded event)."""

    def _deliver(body: bytes, status: int = 200):
        with django_capture_on_commit_callbacks(execute=True):
            resp = post_webhook(body)
        assert resp.status_code == status, resp.content
        return resp

    return _deliver


def _session_event(order, event_type="checkout.session.completed", *, session_id=None, amount_minor=None,
                   payment_status="paid", payment_intent=None):
    return stripe_api.checkout_session_event(
        event_type, session_id=session_id or order.checkout_session_id, client_reference_id=str(order.public_id),
        amount_minor=to_minor_units(order.total, order.currency) if amount_minor is None else amount_minor,
        currency=order.currency, payment_status=payment_status,
        payment_intent=payment_intent or f"pi_{order.public_id.hex[:20]}")


def _mismatches():
    return [m.kind for m in reconciliation.reconcile()["mismatches"]]


def test_session_mismatch_is_reported_as_a_session_mismatch_and_refunded(approved_investor, offering, deliver):
    order = orders.order_create(actor=approved_investor, offering=offering, units=2)
    other = orders.order_create(actor=approved_investor, offering=offering, units=2)
    # Stripe pays `other`'s checkout but names `order` (equal amounts): not this order's money.
    deliver(_session_event(order, session_id=other.checkout_session_id))
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert f"checkout session {other.checkout_session_id}, not this order's checkout" in order.error
    assert "does not match" not in order.error
    assert Payment.objects.get(session_id=other.checkout_session_id).status == Payment.Status.REFUNDED
    assert AuditEvent.objects.filter(action="tokens.order_session_mismatch", object_id=str(order.pk)).exists()


def test_a_purchase_that_can_no_longer_be_minted_is_refunded_and_says_why(approved_investor, offering, deliver):
    order = orders.order_create(actor=approved_investor, offering=offering, units=3)
    KycCase.objects.filter(profile__user=approved_investor).update(expires_at=timezone.now() - dt.timedelta(days=1))
    deliver(_session_event(order))
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.mint_tx is None
    assert "cannot be issued to you" in order.error and "renew your KYC" in order.error
    assert not ChainTransaction.objects.filter(kind=orders.MINT_KIND).exists()
    assert _mismatches() == []


def test_refund_is_idempotent_per_order_and_session(approved_investor, offering, deliver):
    order = orders.order_create(actor=approved_investor, offering=offering, units=1)
    deliver(_session_event(order, amount_minor=5))
    deliver(_session_event(order, amount_minor=5))  # a second event for the same session
    assert Refund.objects.count() == 1
    refund = Refund.objects.get()
    assert refund.idempotency_key == f"order:{order.public_id}:refund:{order.checkout_session_id}"
    assert refund.status == Refund.Status.SUCCEEDED and refund.amount == Decimal("0.05")
    assert {"payments.refund_request", "payments.refund_submit", "payments.refund_succeeded"} <= set(
        AuditEvent.objects.filter(object_type="payments.refund").values_list("action", flat=True))


def test_delayed_payment_is_fulfilled_on_async_payment_succeeded(approved_investor, offering, deliver):
    order = orders.order_create(actor=approved_investor, offering=offering, units=4)
    deliver(_session_event(order, payment_status="unpaid"))  # bank debit started, not paid yet
    order.refresh_from_db()
    assert order.status == OrderStatus.RESERVED
    deliver(_session_event(order, "checkout.session.async_payment_succeeded"))
    order.refresh_from_db()
    assert order.status == OrderStatus.MINTING and order.mint_tx is not None
    assert Payment.objects.get(session_id=order.checkout_session_id).status == Payment.Status.PAID


def test_failed_delayed_payment_and_expired_checkout_release_units_at_once(approved_investor, offering, deliver):
    failed = orders.order_create(actor=approved_investor, offering=offering, units=100)
    expired = orders.order_create(actor=approved_investor, offering=offering, units=100)
    assert ledger.units_available(offering) == 200
    deliver(_session_event(failed, "checkout.session.async_payment_failed", payment_status="unpaid"))
    deliver(_session_event(expired, "checkout.session.expired", payment_status="unpaid"))
    failed.refresh_from_db()
    expired.refresh_from_db()
    assert failed.status == expired.status == OrderStatus.EXPIRED
    assert "did not go through" in failed.error
    assert ledger.units_available(offering) == 400  # before the reservation timer
    assert Payment.objects.get(session_id=expired.checkout_session_id).status == Payment.Status.EXPIRED


def test_checkout_session_lapses_with_the_reservation(approved_investor, offering, settings, monkeypatch):
    import urllib.parse

    import stripe

    sent = []

    class FakeHTTPClient(stripe.HTTPClient):
        name = "fake"

        def request(self, method, url, headers, post_data=None):
            sent.append(dict(urllib.parse.parse_qsl(post_data)))
            return json.dumps({"id": "cs_live_1", "object": "checkout.session", "url": "https://pay.test/1"}), 200, {}

    settings.STRIPE_SECRET_KEY, settings.PAYMENTS_SIMULATOR = "sk_test_fake", False
    monkeypatch.setattr(stripe, "default_http_client", FakeHTTPClient())
    order = orders.order_create(actor=approved_investor, offering=offering, units=1)
    (form,) = sent
    # One moment ends both: Stripe's `checkout.session.expired` and our reservation sweep.
    assert int(form["expires_at"]) == int(order.reserved_until.timestamp())
    assert order.reserved_until - timezone.now() > dt.timedelta(minutes=30)  # Stripe's minimum lifetime
    assert form["payment_intent_data[metadata][client_reference_id]"] == str(order.public_id)


def test_mint_failure_on_chain_refunds_the_payment(approved_investor, offering, deliver,
                                                   django_capture_on_commit_callbacks):
    order = orders.order_create(actor=approved_investor, offering=offering, units=2)
    deliver(_session_event(order))
    order.refresh_from_db()
    row = order.mint_tx
    ChainTransaction.objects.filter(pk=row.pk).update(status=ChainTransaction.Status.FAILED,
                                                      error="would revert: identity not verified")
    row.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mint_final(order=order, row=row)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and "could not be issued on chain" in order.error
    assert "refunded in full" in order.error and order.refunded_at is not None


def test_dispute_freezes_the_units_pending_an_officer(approved_investor, offering, deliver, post_webhook):
    order = orders.order_create(actor=approved_investor, offering=offering, units=6)
    intent = "pi_dispute_1"
    dispute = stripe_api.dispute_created_event(payment_intent=intent, client_reference_id=str(order.public_id),
                                               amount_minor=to_minor_units(order.total, "USD"), currency="USD")
    # Out of order: the dispute arrives before the checkout event; Stripe is asked to retry.
    assert post_webhook(dispute).status_code == 503
    deliver(_session_event(order, payment_intent=intent))
    deliver(dispute)  # the retry
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPUTED and "units are frozen" in order.error
    freeze = ChainTransaction.objects.get(kind=orders.DISPUTE_KIND)
    assert freeze.function == "freezePartialTokens" and freeze.args == [order.wallet, 6]
    assert freeze.pk > order.mint_tx.pk  # mined after the mint (same agent sender, later nonce)
    assert AuditEvent.objects.filter(action="tokens.order_disputed", object_id=str(order.pk)).exists()
    assert Payment.objects.get(session_id=order.checkout_session_id).dispute_id.startswith("dp_")
    assert ledger.units_available(offering) == 400 - 6  # disputed units stay allocated


def test_event_storm_every_order_ends_right_and_reconciles(identity_registry_row, deliver, post_webhook):
    offering = make_live_offering(max_per_investor=400)
    a, b, c = make_investor(), make_investor(), make_investor()
    ok = orders.order_create(actor=a, offering=offering, units=100)
    wrong = orders.order_create(actor=c, offering=offering, units=1)
    late = orders.order_create(actor=b, offering=offering, units=299)
    # `late` lapses and its units go to someone else before its payment lands.
    Order.objects.filter(pk=late.pk).update(reserved_until=timezone.now() - dt.timedelta(minutes=1))
    orders.orders_expire_due()
    taker = orders.order_create(actor=make_investor(), offering=offering, units=299)
    bodies = [_session_event(ok), _session_event(late), _session_event(wrong, amount_minor=1),
              _session_event(ok, "checkout.session.expired", payment_status="unpaid")]
    for body in bodies + bodies[::-1]:  # every event twice, the second time in reverse order
        deliver(body)
    tampered = json.loads(bodies[0])
    tampered["data"]["object"]["amount_total"] = 1
    assert post_webhook(json.dumps(tampered).encode(), signature=stripe_api.signature_header(bodies[0])
                        ).status_code == 400
    for o in (ok, late, wrong, taker):
        o.refresh_from_db()
    assert ok.status == OrderStatus.MINTING and ChainTransaction.objects.filter(kind=orders.MINT_KIND).count() == 1
    assert late.status == wrong.status == OrderStatus.REFUNDED
    assert taker.status == OrderStatus.RESERVED
    assert Refund.objects.filter(status=Refund.Status.SUCCEEDED).count() == 2
    assert _mismatches() == []  # the mint is queued, not confirmed: nothing sold or minted yet


def test_reconciliation_lists_a_kept_charge_without_units(approved_investor, offering, post_webhook, platform_admin,
                                                         api_as, client):
    order = orders.order_create(actor=approved_investor, offering=offering, units=1)
    post_webhook(_session_event(order, amount_minor=7))  # refund requested, its submission never ran
    Refund.objects.update(status=Refund.Status.FAILED, error="card closed")
    kinds = _mismatches()
    assert "charge_without_units" in kinds and "refund_failed" in kinds
    api = api_as(platform_admin)
    body = api.get("/api/v1/tokens/admin/reconciliation/").json()
    assert body["counts"]["mismatches"] == len(kinds)
    assert {m["kind"] for m in body["mismatches"]} == set(kinds)
    client.force_login(platform_admin)
    page = client.get("/orders/reconciliation/").content.decode()
    assert "charge_without_units" in page and "mismatches" in page
    assert api_as(approved_investor).get("/api/v1/tokens/admin/reconciliation/").status_code == 403


def test_refund_through_stripe_uses_the_payment_intent_and_the_order_key(approved_investor, offering, settings,
                                                                         monkeypatch, post_webhook):
    import stripe

    calls = []

    class FakeHTTPClient(stripe.HTTPClient):
        name = "fake"

        def request(self, method, url, headers, post_data=None):
            calls.append((url, headers, post_data))
            return json.dumps({"id": "re_live_1", "object": "refund", "status": "pending"}), 200, {}

    order = orders.order_create(actor=approved_investor, offering=offering, units=1)
    post_webhook(_session_event(order, amount_minor=10, payment_intent="pi_real_1"))
    refund = Refund.objects.get()
    settings.STRIPE_SECRET_KEY, settings.PAYMENTS_SIMULATOR = "sk_test_fake", False
    Payment.objects.update(simulated=False)
    monkeypatch.setattr(stripe, "default_http_client", FakeHTTPClient())
    from payments import services

    services.refund_submit(refund_id=refund.pk)
    ((url, headers, post_data),) = calls
    assert url.endswith("/v1/refunds") and headers["Idempotency-Key"] == refund.idempotency_key
    assert "payment_intent=pi_real_1" in post_data and "amount=10" in post_data
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUBMITTED and refund.provider_refund_id == "re_live_1"
    # Newer API versions send charge.refunded without the refund list: the amount settles it.
    body = stripe_api.charge_refunded_event(payment_intent="pi_real_1", client_reference_id=str(order.public_id),
                                            amount_minor=10, amount_refunded_minor=10, currency="USD", refund_ids=[])
    assert post_webhook(body).status_code == 200
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and order.status == OrderStatus.REFUNDED


def test_admin_refunds_a_failed_order_from_the_api(approved_investor, offering, post_webhook, platform_admin, api_as):
    order = orders.order_create(actor=approved_investor, offering=offering, units=1)
    post_webhook(_session_event(order))
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.FAILED, error="Mint failed (legacy).")
    api = api_as(platform_admin)
    listed = api.get("/api/v1/tokens/admin/orders/?status=failed").json()["results"]
    assert [o["id"] for o in listed] == [str(order.public_id)]
    assert api.get("/api/v1/tokens/admin/orders/?status=nope").json()["error"]["code"] == "invalid_status"
    missing = api.post(f"/api/v1/tokens/admin/orders/{order.public_id}/refund/", {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()["error"]["details"]
    resp = api.post(f"/api/v1/tokens/admin/orders/{order.public_id}/refund/", {"reason": "Mint failed"},
                    format="json")
    assert resp.status_code == 200 and resp.json()["status"] == "refunding"
    again = api.post(f"/api/v1/tokens/admin/orders/{order.public_id}/refund/", {"reason": "again"}, format="json")
    assert again.status_code == 409
    assert api_as(approved_investor).post(f"/api/v1/tokens/admin/orders/{order.public_id}/refund/",
                                          {"reason": "x"}, format="json").status_code == 403


def test_investor_cancels_a_reservation_through_the_api(approved_investor, offering, api_as):
    order = orders.order_create(actor=approved_investor, offering=offering, units=2)
    outsider = api_as(make_investor())
    assert outsider.post(f"/api/v1/tokens/orders/{order.public_id}/cancel/").status_code == 404
    resp = api_as(approved_investor).post(f"/api/v1/tokens/orders/{order.public_id}/cancel/")
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
    again = api_as(approved_investor).post(f"/api/v1/tokens/orders/{order.public_id}/cancel/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "order_not_cancellable"


def test_order_page_tells_the_investor_why_it_was_refunded(approved_investor, offering, deliver, client):
    order = orders.order_create(actor=approved_investor, offering=offering, units=1)
    deliver(_session_event(order, amount_minor=99))
    client.force_login(approved_investor)
    page = client.get(f"/investments/orders/{order.public_id}/").content.decode()
    assert "Refunded" in page and "does not match the order total" in page and "refunded in full" in page


def _disputed(investor, offering, deliver, intent):
    order = orders.order_create(actor=investor, offering=offering, units=5)
    deliver(_session_event(order, payment_intent=intent))
    deliver(stripe_api.dispute_created_event(payment_intent=intent, client_reference_id=str(order.public_id),
                                             amount_minor=to_minor_units(order.total, "USD"), currency="USD",
                                             dispute_id=f"dp_{intent}"))
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPUTED
    return order


def test_officer_decides_a_won_dispute_and_the_units_are_unfrozen(approved_investor, offering, deliver, api_as,
                                                                  compliance_officer, platform_admin):
    order = _disputed(approved_investor, offering, deliver, "pi_won")
    url = f"/api/v1/tokens/orders/{order.public_id}/dispute/resolve/"
    assert api_as(platform_admin).post(url, {"outcome": "won", "reason": "x"}, format="json").status_code == 403
    bad = api_as(compliance_officer).post(url, {"outcome": "maybe", "reason": "x"}, format="json")
    assert bad.status_code == 400 and "outcome" in bad.json()["error"]["details"]
    deliver(stripe_api.dispute_created_event(payment_intent="pi_won", client_reference_id=str(order.public_id),
                                             amount_minor=125000, currency="USD", event_type="charge.dispute.closed",
                                             status="won", dispute_id="dp_pi_won"))
    early = api_as(compliance_officer).post(url, {"outcome": "won", "reason": "x"}, format="json")
    assert early.status_code == 409 and early.json()["error"]["code"] == "mint_pending"
    ChainTransaction.objects.filter(pk=order.mint_tx_id).update(status=ChainTransaction.Status.CONFIRMED,
                                                                 tx_hash="0x" + "cd" * 32, block_number=9)
    orders.order_mint_final(order=order, row=ChainTransaction.objects.get(pk=order.mint_tx_id))
    order.refresh_from_db()
    assert order.status == OrderStatus.DISPUTED and order.receipt_sha256  # minted, still frozen
    resp = api_as(compliance_officer).post(url, {"outcome": "won", "reason": "Bank ruled for us"}, format="json")
    assert resp.status_code == 200 and resp.json()["status"] == "completed"
    unfreeze = ChainTransaction.objects.get(idempotency_key=f"order:{order.pk}:dispute-won")
    assert unfreeze.function == "unfreezePartialTokens" and unfreeze.args == [order.wallet, 5]
    assert AuditEvent.objects.filter(action="tokens.order_dispute_won", actor=compliance_officer).exists()
    assert "units_without_payment" not in _mismatches() and "dispute_not_frozen" not in _mismatches()
    again = api_as(compliance_officer).post(url, {"outcome": "lost", "reason": "x"}, format="json")
    assert again.status_code == 409


def test_lost_dispute_counts_as_refunded_and_the_units_are_burned(approved_investor, offering, deliver,
                                                                compliance_officer, client):
    order = _disputed(approved_investor, offering, deliver, "pi_lost")
    deliver(stripe_api.dispute_created_event(payment_intent="pi_lost", client_reference_id=str(order.public_id),
                                             amount_minor=125000, currency="USD", event_type="charge.dispute.closed",
                                             status="lost", dispute_id="dp_pi_lost"))
    assert Payment.objects.get(session_id=order.checkout_session_id).status == Payment.Status.REFUNDED
    assert "units_without_payment" in _mismatches()  # money gone, units still held: the officer must act
    client.force_login(compliance_officer)
    page = client.get(f"/investments/orders/{order.public_id}/").content.decode()
    assert "Decide the payment dispute" in page
    order.refresh_from_db()
    ChainTransaction.objects.filter(pk=order.mint_tx_id).update(status="confirmed")  # the units were minted
    resp = client.post(f"/orders/{order.public_id}/dispute/", {"outcome": "lost", "reason": "Chargeback final"})
    assert resp.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and "withdrawn" in order.error
    burn = ChainTransaction.objects.get(idempotency_key=f"order:{order.pk}:dispute-lost")
    assert burn.function == "burn" and burn.args == [order.wallet, 5]
    assert "units_without_payment" not in _mismatches()  # (the chain side is not running in this test)


def test_a_lost_dispute_burns_nothing_when_the_units_were_never_minted(approved_investor, offering, deliver,
                                                                       compliance_officer):
    """Burning the order's units before (or without) its mint would take units the investor paid
    for in other orders."""
    order = _disputed(approved_investor, offering, deliver, "pi_unminted")
    order = orders.order_dispute_resolve(actor=compliance_officer, order=order, outcome="lost",
                                         reason="Chargeback final")
    assert order.status == OrderStatus.REFUNDED
    assert not ChainTransaction.objects.filter(idempotency_key=f"order:{order.pk}:dispute-lost").exists()
    freeze = ChainTransaction.objects.get(idempotency_key=f"order:{order.pk}:dispute-freeze")
    assert freeze.after_id == order.mint_tx_id  # ordered after the mint, never before it


def test_a_refund_is_explained_in_the_investors_language(approved_investor, offering, deliver, client):
    # The order's reason and every notice about it are written in the language the investor
    # chose, though the webhook that refunds it arrives with no language at all.
    from notifications.models import Notification

    approved_investor.language = "zh-hans"
    approved_investor.save(update_fields=["language"])
    order = orders.order_create(actor=approved_investor, offering=offering, units=1)
    deliver(_session_event(order, amount_minor=99))
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert "与订单总额" in order.error and "已全额退还" in order.error and "refund" not in order.error
    titles = set(Notification.objects.filter(recipient=approved_investor).values_list("title", flat=True))
    assert {"您的订单失败：正在退款", "您的订单已退款"} <= titles
    client.force_login(approved_investor)
    assert "已全额退还" in client.get(f"/investments/orders/{order.public_id}/").content.decode()
