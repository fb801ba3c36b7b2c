"""The Stripe webhook: signature verification, recording events once, and the simulator."""

import time
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import make_user
from core.models import AuditEvent
from core.roles import Role
from payments import handlers, services
from payments.models import Payment, WebhookEvent

pytestmark = pytest.mark.django_db

CALLS: list = []


def record_event(event):
    CALLS.append(event)


@pytest.fixture
def recorder():
    CALLS.clear()
    handlers.register("checkout.session.completed", "payments.tests.test_webhook.record_event")
    yield CALLS
    handlers._HANDLERS["checkout.session.completed"].remove("payments.tests.test_webhook.record_event")


def _checkout(user=None, amount=Decimal("1250.00"), currency="USD") -> Payment:
    return services.checkout_create(actor=user, client_reference_id="ref-1", idempotency_key=f"k-{time.time_ns()}",
                                    description="5 × VIDA", amount=amount, currency=currency,
                                    success_url="/done/", cancel_url="/cancelled/")


def test_checkout_in_simulator_mode_opens_a_local_session():
    payment = _checkout()
    assert payment.session_id.startswith("cs_sim_") and payment.simulated
    assert payment.checkout_url == f"/payments/simulator/{payment.session_id}/"
    assert payment.amount == Decimal("1250.00") and payment.status == Payment.Status.OPEN
    again = services.checkout_create(actor=None, client_reference_id="ref-1", idempotency_key=payment.idempotency_key,
                                     description="x", amount=Decimal("1"), currency="USD", success_url="/",
                                     cancel_url="/")
    assert again.pk == payment.pk  # idempotent on the key


def test_bad_signature_is_rejected_and_nothing_recorded(stripe_event, post_webhook, recorder):
    body = stripe_event(session_id="cs_1", client_reference_id="r", amount_minor=100)
    assert post_webhook(body, secret="whsec_wrong").status_code == 400
    assert post_webhook(body, signature="t=1,v1=deadbeef").status_code == 400
    assert post_webhook(body, signature="").status_code == 400
    tampered = body.replace(b'"amount_total":100', b'"amount_total":1')
    header = services.stripe_api.signature_header(body)
    assert post_webhook(tampered, signature=header).status_code == 400
    stale = int(time.time()) - 3600  # replay of an old, correctly signed delivery
    assert post_webhook(body, timestamp=stale).status_code == 400
    assert not WebhookEvent.objects.exists() and recorder == []


def test_paid_event_marks_the_payment_paid_and_redelivery_is_harmless(stripe_event, post_webhook, recorder):
    payment = _checkout()
    body = stripe_event(session_id=payment.session_id, client_reference_id="ref-1", amount_minor=125000)
    first = post_webhook(body)
    assert first.status_code == 200 and first.json()["duplicate"] is False
    second = post_webhook(body)  # Stripe redelivers the same event id
    assert second.status_code == 200 and second.json()["duplicate"] is True
    assert WebhookEvent.objects.count() == 1
    assert len(recorder) == 1
    event = recorder[0]
    assert event.amount == Decimal("1250.00") and event.currency == "USD" and event.client_reference_id == "ref-1"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID and payment.amount_received == Decimal("1250.00")
    assert AuditEvent.objects.filter(action="payments.paid", object_id=str(payment.pk)).count() == 1


def test_zero_decimal_currency_amounts_convert_at_the_boundary(stripe_event, post_webhook, recorder):
    payment = _checkout(amount=Decimal("5000"), currency="JPY")
    post_webhook(stripe_event(session_id=payment.session_id, client_reference_id="ref-1", amount_minor=5000,
                              currency="JPY"))
    assert recorder[0].amount == Decimal("5000")


def test_a_failing_handler_rolls_back_so_the_redelivery_is_processed(stripe_event, post_webhook, recorder,
                                                                    monkeypatch):
    payment = _checkout()
    body = stripe_event(session_id=payment.session_id, client_reference_id="ref-1", amount_minor=125000)

    def boom(event):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("payments.tests.test_webhook.record_event", boom)
    with pytest.raises(RuntimeError):
        post_webhook(body)
    assert not WebhookEvent.objects.exists()
    monkeypatch.undo()
    assert post_webhook(body).json()["duplicate"] is False
    assert len(recorder) == 1


def test_simulator_page_pays_through_the_signed_webhook(client, recorder):
    buyer = make_user(Role.INVESTOR)
    payment = _checkout(user=buyer)
    other = make_user(Role.INVESTOR)
    client.force_login(other)
    assert client.get(payment.checkout_url).status_code == 404  # only the customer sees the checkout
    client.force_login(buyer)
    page = client.get(payment.checkout_url)
    assert page.status_code == 200 and b"1,250.00 USD" in page.content and b"Cancel" in page.content
    resp = client.post(reverse("payments:simulator-action", args=[payment.session_id]), {"action": "pay"})
    assert resp.status_code == 302 and resp["Location"] == "/done/"
    (row,) = WebhookEvent.objects.all()
    assert row.payload["type"] == "checkout.session.completed"
    assert row.payload["data"]["object"]["amount_total"] == 125000
    assert recorder[0].payment_status == "paid"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    # A closed checkout cannot be paid twice.
    resp = client.post(reverse("payments:simulator-action", args=[payment.session_id]), {"action": "pay"})
    assert resp.status_code == 302 and WebhookEvent.objects.count() == 1


def test_simulator_cancel_returns_to_the_cancel_url(client):
    buyer = make_user(Role.INVESTOR)
    payment = _checkout(user=buyer)
    client.force_login(buyer)
    resp = client.post(reverse("payments:simulator-action", args=[payment.session_id]), {"action": "cancel"})
    assert resp["Location"] == "/cancelled/"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CANCELLED and not WebhookEvent.objects.exists()


def test_simulator_is_off_with_a_real_stripe_key(client, settings):
    buyer = make_user(Role.INVESTOR)
    payment = _checkout(user=buyer)
    settings.PAYMENTS_SIMULATOR = False
    client.force_login(buyer)
    assert client.get(payment.checkout_url).status_code == 404
