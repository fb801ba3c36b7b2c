"""Payment writes: open a checkout, receive verified webhook events, and the local
simulator's Pay button. Callers pass Decimal amounts; minor units stay in stripe_api."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError
from core.money import CURRENCY_EXPONENTS, from_minor_units, quantize, to_minor_units
from core.services import audit
from payments import handlers, stripe_api
from payments.models import Payment, WebhookEvent

logger = logging.getLogger(__name__)


class WebhookRejected(ApplicationError):
    """The request is not a verifiable event (answered 400; anything else is a 500 so the
    provider retries)."""


@transaction.atomic
def checkout_create(*, actor, client_reference_id: str, idempotency_key: str, description: str,
                    amount: Decimal, currency: str, success_url: str, cancel_url: str,
                    metadata: dict | None = None, expires_at: int | None = None) -> Payment:
    """Open a checkout session for `amount` (idempotent on `idempotency_key`)."""
    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    if currency not in CURRENCY_EXPONENTS:
        raise ApplicationError("unsupported_currency", f"{currency} is not accepted.")
    amount = quantize(amount, currency)
    session = stripe_api.create_checkout_session(
        client_reference_id=client_reference_id, idempotency_key=idempotency_key, line_item_name=description,
        amount_minor=to_minor_units(amount, currency), currency=currency, success_url=success_url,
        cancel_url=cancel_url, metadata=metadata, expires_at=expires_at)
    payment = Payment(session_id=session["id"], idempotency_key=idempotency_key,
                      client_reference_id=client_reference_id,
                      customer=actor if getattr(actor, "is_authenticated", False) else None,
                      description=description[:250], amount=amount, currency=currency,
                      checkout_url=session["url"], success_url=success_url, cancel_url=cancel_url,
                      metadata=metadata or {}, simulated=stripe_api.simulator_enabled())
    payment.full_clean(exclude=["checkout_url"])  # a simulator URL is a path, not absolute
    payment.save()
    audit(actor=actor, action="payments.checkout_create", obj=payment,
          after={"session_id": payment.session_id, "amount": amount, "currency": currency,
                 "client_reference_id": client_reference_id})
    return payment


def _payment_event(data: dict) -> handlers.PaymentEvent:
    obj = data.get("data", {}).get("object", {}) or {}
    currency = (obj.get("currency") or "").upper()
    minor = obj.get("amount_total")
    amount = (from_minor_units(int(minor), currency)
              if isinstance(minor, int) and currency in CURRENCY_EXPONENTS else None)
    return handlers.PaymentEvent(
        event_id=data["id"], type=data.get("type", ""), session_id=obj.get("id", ""),
        client_reference_id=obj.get("client_reference_id") or "", payment_status=obj.get("payment_status", ""),
        amount=amount, currency=currency, metadata=dict(obj.get("metadata") or {}))


def webhook_receive(*, payload: bytes, signature: str) -> tuple[WebhookEvent, bool]:
    """Verify, record once, update our payment row and hand the event to the registered
    handlers, all in one transaction. Returns (event row, newly processed?)."""
    try:
        data = stripe_api.construct_event(payload, signature)
    except stripe_api.SignatureError as exc:
        raise WebhookRejected("bad_signature", "The webhook signature did not verify.", status=400) from exc
    if not isinstance(data, dict) or not data.get("id"):
        raise WebhookRejected("bad_event", "The webhook body is not an event.", status=400)
    try:
        with transaction.atomic():
            row = WebhookEvent.objects.create(event_id=data["id"], type=data.get("type", ""), payload=data)
            event = _payment_event(data)
            if event.type == "checkout.session.completed":
                _mark_paid(event)
            handlers.dispatch(event)
    except IntegrityError:
        row = WebhookEvent.objects.filter(event_id=data["id"]).first()
        if row is None:
            raise
        return row, False
    return row, True


def _mark_paid(event: handlers.PaymentEvent) -> None:
    payment = Payment.objects.select_for_update().filter(session_id=event.session_id).first()
    if payment is None or event.payment_status != "paid" or payment.status == Payment.Status.PAID:
        return
    before = {"status": payment.status}
    payment.status, payment.paid_at = Payment.Status.PAID, timezone.now()
    payment.amount_received = event.amount
    payment.save(update_fields=["status", "paid_at", "amount_received", "updated_at"])
    audit(actor=None, action="payments.paid", obj=payment, before=before,
          after={"status": payment.status, "amount_received": event.amount, "currency": event.currency,
                 "event": event.event_id})


# --------------------------------------------------------------------------- simulator


def _require_simulated(payment: Payment) -> None:
    if not payment.simulated or not stripe_api.simulator_enabled():
        raise ApplicationError("not_simulated", "This checkout is not handled by the local simulator.", status=404)


def simulator_pay(*, actor, payment: Payment) -> WebhookEvent:
    """The simulator's Pay button: a signed `checkout.session.completed` event for the
    session's amount, POSTed through the real webhook view (signature check included)."""
    _require_simulated(payment)
    if payment.status != Payment.Status.OPEN:
        raise ApplicationError("checkout_closed", "This checkout is no longer open.", status=409)
    body = stripe_api.checkout_completed_event(
        session_id=payment.session_id, client_reference_id=payment.client_reference_id,
        amount_minor=to_minor_units(payment.amount, payment.currency), currency=payment.currency,
        metadata=payment.metadata)
    deliver_signed(body)
    audit(actor=actor, action="payments.simulator_pay", obj=payment, after={"session_id": payment.session_id})
    return WebhookEvent.objects.get(event_id=json.loads(body)["id"])


def deliver_signed(body: bytes, *, signature: str | None = None):
    """Send a raw event body, signed with the webhook secret, through the webhook view."""
    from payments.views import stripe_webhook

    request = RequestFactory().post(reverse("payments:stripe-webhook"), data=body, content_type="application/json",
                                    HTTP_STRIPE_SIGNATURE=signature or stripe_api.signature_header(body))
    response = stripe_webhook(request)
    if response.status_code != 200:
        raise ApplicationError("webhook_rejected", f"The webhook answered {response.status_code}.", status=502)
    return response


@transaction.atomic
def simulator_cancel(*, actor, payment: Payment) -> Payment:
    _require_simulated(payment)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status == Payment.Status.OPEN:
        payment.status = Payment.Status.CANCELLED
        payment.save(update_fields=["status", "updated_at"])
        audit(actor=actor, action="payments.simulator_cancel", obj=payment, before={"status": "open"},
              after={"status": payment.status})
    return payment
