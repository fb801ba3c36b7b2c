"""Order services: who may buy, how many, reservation expiry, and the payment webhook
turning a paid order into a mint through the outbox."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from chain.models import ChainTransaction
from compliance.models import KycCase
from core.errors import ApplicationError
from core.models import AuditEvent
from core.money import to_minor_units
from payments.models import Payment, Refund
from tests.fixtures.payments import ready_investor as make_investor
from tokens import ledger
from tokens.models import Order, OrderStatus
from tokens.primary import services as orders
from tokens.tests.factories import make_live_offering

pytestmark = pytest.mark.django_db


@pytest.fixture
def offering(db):
    return make_live_offering()  # 1000 units, 40 % offered → 400 on sale, 300 max per investor


def _buy(investor, offering, units):
    return orders.order_create(actor=investor, offering=offering, units=units)


def _code(fn, *args):
    with pytest.raises(ApplicationError) as exc:
        fn(*args)
    return exc.value


def test_reserves_units_and_opens_a_checkout(approved_investor, offering):
    order = _buy(approved_investor, offering, 5)
    assert order.status == OrderStatus.RESERVED and order.total == Decimal("1250.00") and order.currency == "USD"
    assert order.wallet == approved_investor.investor_profile.wallets.get(kind="custodial").address
    assert timezone.now() + dt.timedelta(minutes=30) < order.reserved_until <= timezone.now() + dt.timedelta(minutes=31)
    payment = Payment.objects.get(session_id=order.checkout_session_id)
    assert payment.amount == order.total and payment.client_reference_id == str(order.public_id)
    assert order.checkout_url == payment.checkout_url
    assert ledger.units_available(offering) == 395
    assert AuditEvent.objects.filter(action="tokens.order_reserve", object_id=str(order.pk)).exists()


def test_not_eligible_without_approved_kyc(offering, identity_registry_row):
    for status, words in [("none", "Complete your investor profile"), ("submitted", "still under review")]:
        err = _code(_buy, make_investor(status=status), offering, 1)
        assert err.code == "not_eligible" and err.status == 403 and words in err.message
    assert not Order.objects.exists()


def test_expired_kyc_blocks_the_purchase_and_says_renew(approved_investor, offering):
    case = approved_investor.investor_profile.cases.get()
    KycCase.objects.filter(pk=case.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    err = _code(_buy, approved_investor, offering, 1)
    assert err.code == "not_eligible" and "renew your KYC" in err.message
    KycCase.objects.filter(pk=case.pk).update(status=KycCase.Status.EXPIRED)
    assert "renew your KYC" in _code(_buy, approved_investor, offering, 1).message


def test_country_not_allowed(identity_registry_row, offering):
    investor = make_investor(residence_country="JP", tax_residence="JP")
    err = _code(_buy, investor, offering, 1)
    assert err.code == "country_not_allowed" and err.status == 403


def test_units_must_be_positive_and_within_what_is_offered(approved_investor, offering):
    assert _code(_buy, approved_investor, offering, 0).details == {"units": ["Buy at least one unit."]}
    err = _code(_buy, approved_investor, offering, 401)
    assert err.code == "insufficient_units" and "Only 400 units left." in err.message


def test_max_per_investor_counts_reserved_and_paid_orders(approved_investor, offering):
    _buy(approved_investor, offering, 200)
    err = _code(_buy, approved_investor, offering, 101)
    assert err.code == "max_per_investor" and "you can buy 100 more" in err.message
    _buy(approved_investor, offering, 100)
    assert _code(_buy, approved_investor, offering, 1).code == "max_per_investor"


def test_holder_cap(identity_registry_row):
    offering = make_live_offering(holder_cap=1)
    first, second = make_investor(), make_investor()
    _buy(first, offering, 1)
    _buy(first, offering, 1)  # an existing holder may buy more
    assert _code(_buy, second, offering, 1).code == "holder_cap_reached"


def test_offering_must_be_live(approved_investor, offering):
    offering.status = "anchoring"
    offering.save()
    assert _code(_buy, approved_investor, offering, 1).code == "offering_not_live"


def test_reservation_expiry_releases_units(approved_investor, identity_registry_row):
    offering = make_live_offering(max_per_investor=400)
    order = _buy(approved_investor, offering, 400)
    other = make_investor()
    assert _code(_buy, other, offering, 1).code == "insufficient_units"
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - dt.timedelta(seconds=1))
    assert orders.orders_expire_due() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert AuditEvent.objects.filter(action="tokens.order_expire", object_id=str(order.pk)).exists()
    assert _buy(other, offering, 400).status == OrderStatus.RESERVED
    assert orders.orders_expire_due() == 0


def test_investor_cancels_a_reservation(approved_investor, offering):
    order = _buy(approved_investor, offering, 10)
    with pytest.raises(ApplicationError):
        orders.order_cancel(actor=make_investor(status="none"), order=order)
    orders.order_cancel(actor=approved_investor, order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and ledger.units_available(offering) == 400


def test_idempotency_key_returns_the_same_order(approved_investor, offering):
    a = orders.order_create(actor=approved_investor, offering=offering, units=3, idempotency_key="abc")
    b = orders.order_create(actor=approved_investor, offering=offering, units=3, idempotency_key="abc")
    assert a.pk == b.pk and Order.objects.count() == 1


# ------------------------------------------------------------------ payment webhook → mint


def _pay(order, stripe_event, post_webhook, *, amount_minor=None, currency=None):
    body = stripe_event(session_id=order.checkout_session_id, client_reference_id=str(order.public_id),
                        amount_minor=amount_minor if amount_minor is not None
                        else to_minor_units(order.total, order.currency), currency=currency or order.currency)
    resp = post_webhook(body)
    assert resp.status_code == 200
    order.refresh_from_db()
    return body


def test_paid_webhook_enqueues_the_mint_once(approved_investor, offering, stripe_event, post_webhook):
    order = _buy(approved_investor, offering, 5)
    body = _pay(order, stripe_event, post_webhook)
    assert order.status == OrderStatus.MINTING and order.amount_received == Decimal("1250.00")
    tx = order.mint_tx
    assert tx.idempotency_key == f"order:{order.pk}:mint" and tx.function == "mint"
    assert tx.args == [order.wallet, 5] and tx.to_address == offering.token_address
    actions = list(AuditEvent.objects.filter(object_type="tokens.order", object_id=str(order.pk))
                   .values_list("action", flat=True))
    assert {"tokens.order_reserve", "tokens.order_paid", "tokens.order_mint"} <= set(actions)
    post_webhook(body)  # redelivery
    _pay(order, stripe_event, post_webhook)  # a second, different event for the same checkout
    assert ChainTransaction.objects.filter(kind=orders.MINT_KIND).count() == 1


def test_amount_mismatch_refunds_the_payment_and_mints_nothing(approved_investor, offering, stripe_event, post_webhook,
                                                              django_capture_on_commit_callbacks):
    order = _buy(approved_investor, offering, 5)
    with django_capture_on_commit_callbacks(execute=True):
        _pay(order, stripe_event, post_webhook, amount_minor=100)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.mint_tx is None
    assert "does not match the order total 1,250.00 USD" in order.error and "refunded in full" in order.error
    assert not ChainTransaction.objects.filter(kind=orders.MINT_KIND).exists()
    assert AuditEvent.objects.filter(action="tokens.order_payment_mismatch", object_id=str(order.pk)).exists()
    refund = Refund.objects.get(payment__session_id=order.checkout_session_id)
    assert refund.amount == Decimal("1.00") and refund.status == Refund.Status.SUCCEEDED  # what was received
    other = _buy(approved_investor, offering, 5)
    _pay(other, stripe_event, post_webhook, currency="EUR")
    assert other.status == OrderStatus.REFUNDING


def test_late_payment_is_honoured_while_units_remain(approved_investor, offering, stripe_event, post_webhook):
    order = _buy(approved_investor, offering, 5)
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - dt.timedelta(minutes=1))
    orders.orders_expire_due()
    _pay(order, stripe_event, post_webhook)
    assert order.status == OrderStatus.MINTING


def test_late_payment_for_sold_units_is_refunded(identity_registry_row, stripe_event, post_webhook):
    offering = make_live_offering(max_per_investor=400)
    late, other = make_investor(), make_investor()
    order = _buy(late, offering, 300)
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - dt.timedelta(minutes=1))
    _buy(other, offering, 200)
    _pay(order, stripe_event, post_webhook)
    assert order.status == OrderStatus.REFUNDING and "after the reservation lapsed" in order.error
    assert "units were taken meanwhile" in order.error and order.mint_tx is None
    assert Refund.objects.filter(payment__session_id=order.checkout_session_id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_buyers_cannot_oversell(identity_registry_row):
    """Two investors race for the last units: the offering row lock serializes them."""
    offering = make_live_offering(max_per_investor=400)
    a, b = make_investor(), make_investor()
    results: dict = {}
    barrier = threading.Barrier(2)

    def buy(name, investor):
        try:
            barrier.wait(timeout=10)
            results[name] = _buy(investor, offering, 300).status
        except ApplicationError as exc:
            results[name] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(n, u)) for n, u in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results.values()) == ["insufficient_units", "reserved"], results
    assert sum(Order.objects.filter(status=OrderStatus.RESERVED).values_list("units", flat=True)) == 300
