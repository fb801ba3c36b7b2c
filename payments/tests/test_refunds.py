"""Refunds through the payments port (generic: sessions and charges, not orders), and the
charge events that settle them (issue 9, item 3)."""

import time
from decimal import Decimal

import pytest

from core.errors import ApplicationError
from core.models import AuditEvent
from payments import handlers, services, stripe_api
from payments.models import Payment, Refund, WebhookEvent

pytestmark = pytest.mark.django_db
SEEN: list = []


def record(event):
    SEEN.append(event)


@pytest.fixture
def recorder():
    SEEN.clear()
    for t in ("charge.refunded", "charge.dispute.created"):
        handlers.register(t, "payments.tests.test_refunds.record")
    yield SEEN
    for t in ("charge.refunded", "charge.dispute.created"):
        handlers._HANDLERS[t].remove("payments.tests.test_refunds.record")


def _paid(post_webhook, amount=Decimal("40.00"), ref="period:7") -> Payment:
    payment = services.checkout_create(actor=None, client_reference_id=ref, idempotency_key=f"k-{time.time_ns()}",
                                       description="x", amount=amount, currency="USD", success_url="/",
                                       cancel_url="/")
    body = stripe_api.checkout_completed_event(session_id=payment.session_id, client_reference_id=ref,
                                               amount_minor=int(amount * 100), currency="USD",
                                               payment_intent=f"pi_{payment.pk}")
    assert post_webhook(body).status_code == 200
    payment.refresh_from_db()
    return payment


def test_refund_rules(post_webhook):
    open_payment = services.checkout_create(actor=None, client_reference_id="r", idempotency_key="open",
                                            description="x", amount=Decimal("5"), currency="USD", success_url="/",
                                            cancel_url="/")
    with pytest.raises(ApplicationError) as exc:
        services.refund_create(actor=None, payment=open_payment, reason="x", idempotency_key="a")
    assert exc.value.code == "not_paid"
    payment = _paid(post_webhook)
    with pytest.raises(ApplicationError) as exc:
        services.refund_create(actor=None, payment=payment, reason=" ", idempotency_key="b")
    assert exc.value.code == "reason_required"
    with pytest.raises(ApplicationError) as exc:
        services.refund_create(actor=None, payment=payment, reason="x", idempotency_key="c", amount=Decimal("40.01"))
    assert exc.value.code == "invalid_refund_amount"
    first = services.refund_create(actor=None, payment=payment, reason="part", idempotency_key="d",
                                   amount=Decimal("15"))
    assert services.refund_create(actor=None, payment=payment, reason="again", idempotency_key="d").pk == first.pk
    rest = services.refund_create(actor=None, payment=payment, reason="rest", idempotency_key="e")
    assert rest.amount == Decimal("25.00")
    with pytest.raises(ApplicationError) as exc:
        services.refund_create(actor=None, payment=payment, reason="x", idempotency_key="f")
    assert exc.value.code == "already_refunded"
    assert AuditEvent.objects.filter(action="payments.refund_request").count() == 2


def test_simulated_refund_is_settled_by_a_signed_charge_refunded_event(post_webhook, recorder,
                                                                       django_capture_on_commit_callbacks):
    payment = _paid(post_webhook)
    with django_capture_on_commit_callbacks(execute=True):
        refund = services.refund_create(actor=None, payment=payment, reason="wrong period", idempotency_key="p:1")
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and refund.provider_refund_id.startswith("re_sim_")
    assert payment.status == Payment.Status.REFUNDED and payment.amount_refunded == Decimal("40.00")
    (event,) = recorder
    assert event.type == "charge.refunded" and event.client_reference_id == "period:7"
    assert event.session_id == payment.session_id and event.refund_references == ("period:7",)
    assert WebhookEvent.objects.filter(type="charge.refunded").count() == 1


def test_provider_failure_leaves_the_refund_for_the_sweep(post_webhook, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    payment = _paid(post_webhook)

    def down(**kwargs):
        raise ConnectionError("provider unreachable")

    monkeypatch.setattr(stripe_api, "refund", down)
    with django_capture_on_commit_callbacks(execute=True):
        refund = services.refund_create(actor=None, payment=payment, reason="x", idempotency_key="p:2")
    refund.refresh_from_db()
    assert refund.status == Refund.Status.REQUESTED and "unreachable" in refund.error and refund.attempts == 1
    monkeypatch.undo()
    assert services.refunds_submit_due(older_than_s=0) == 1
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and refund.attempts == 2


def test_refund_made_in_the_dashboard_is_recorded(post_webhook, recorder):
    payment = _paid(post_webhook)
    body = stripe_api.charge_refunded_event(payment_intent=payment.payment_intent, client_reference_id="period:7",
                                            amount_minor=4000, amount_refunded_minor=1000, currency="USD",
                                            refund_ids=["re_dash_1"])
    assert post_webhook(body).status_code == 200
    assert post_webhook(body).json()["duplicate"] is True
    (refund,) = Refund.objects.all()
    assert refund.amount == Decimal("10.00") and refund.provider_refund_id == "re_dash_1"
    assert "outside the platform" in refund.reason
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID and payment.amount_refunded == Decimal("10.00")


def test_charge_event_before_its_checkout_is_deferred_not_lost(post_webhook, recorder):
    body = stripe_api.dispute_created_event(payment_intent="pi_unknown", client_reference_id="period:9",
                                            amount_minor=100, currency="USD")
    assert post_webhook(body).status_code == 503
    assert not WebhookEvent.objects.exists() and recorder == []


def test_expired_and_failed_checkouts_close_the_payment(post_webhook):
    payment = services.checkout_create(actor=None, client_reference_id="r", idempotency_key="exp", description="x",
                                       amount=Decimal("5"), currency="USD", success_url="/", cancel_url="/")
    body = stripe_api.checkout_session_event("checkout.session.expired", session_id=payment.session_id,
                                             client_reference_id="r", amount_minor=500, currency="USD",
                                             payment_status="unpaid", status="expired")
    assert post_webhook(body).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.EXPIRED
    assert AuditEvent.objects.filter(action="payments.expired", object_id=str(payment.pk)).exists()
