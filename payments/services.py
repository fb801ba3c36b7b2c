"""Payment writes: open a checkout, receive verified webhook events, and the local
simulator's Pay button. Callers pass Decimal amounts; minor units stay in stripe_api."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.test import RequestFactory
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import ApplicationError
from core.money import CURRENCY_EXPONENTS, from_minor_units, quantize, to_minor_units
from core.services import audit
from payments import handlers, stripe_api
from payments.models import Payment, Refund, WebhookEvent

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
        raise ApplicationError("unsupported_currency", gettext('%(currency)s is not accepted.') %
            {"currency": currency})
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


class PaymentNotKnownYet(Exception):
    """A charge event for a payment we have no row for yet (events arrive out of order):
    nothing is recorded and the view answers 503, so the provider redelivers it later."""


CHECKOUT_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded",
                   "checkout.session.async_payment_failed", "checkout.session.expired")
CHARGE_EVENTS = ("charge.refunded", "charge.dispute.created", "charge.dispute.closed")


def _amount(minor, currency: str) -> Decimal | None:
    return (from_minor_units(int(minor), currency)
            if isinstance(minor, int) and currency in CURRENCY_EXPONENTS else None)


def _payment_event(data: dict, payment: Payment | None) -> handlers.PaymentEvent:
    obj = data.get("data", {}).get("object", {}) or {}
    event_type = data.get("type", "")
    currency = (obj.get("currency") or "").upper()
    if event_type in CHARGE_EVENTS:
        # A charge or dispute names the PaymentIntent; the session and reference are ours.
        return handlers.PaymentEvent(
            event_id=data["id"], type=event_type, session_id=payment.session_id if payment else "",
            client_reference_id=payment.client_reference_id if payment else "",
            payment_status=obj.get("status", "") or "", amount=_amount(obj.get("amount"), currency),
            currency=currency, metadata=dict(obj.get("metadata") or {}),
            payment_intent=obj.get("payment_intent") or "", object_id=obj.get("id", ""),
            amount_refunded=_amount(obj.get("amount_refunded"), currency), reason=obj.get("reason") or "",
            refund_ids=tuple(r.get("id", "") for r in (obj.get("refunds") or {}).get("data", []) if r.get("id")))
    return handlers.PaymentEvent(
        event_id=data["id"], type=event_type, session_id=obj.get("id", ""),
        client_reference_id=obj.get("client_reference_id") or "", payment_status=obj.get("payment_status", ""),
        amount=_amount(obj.get("amount_total"), currency), currency=currency,
        metadata=dict(obj.get("metadata") or {}), payment_intent=obj.get("payment_intent") or "",
        object_id=obj.get("id", ""))


def _payment_for(data: dict) -> Payment | None:
    """Our row for the event's payment, locked: by session for checkout events; by
    PaymentIntent (then the reference in its metadata) for charge events."""
    obj = data.get("data", {}).get("object", {}) or {}
    rows = Payment.objects.select_for_update()
    if data.get("type") in CHARGE_EVENTS:
        intent = obj.get("payment_intent") or ""
        payment = rows.filter(payment_intent=intent).first() if intent else None
        ref = (obj.get("metadata") or {}).get("client_reference_id", "")
        if payment is None and ref:
            payment = rows.filter(client_reference_id=ref, status=Payment.Status.PAID, payment_intent="").first()
        return payment
    return rows.filter(session_id=obj.get("id", "")).first() if obj.get("id") else None


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
            payment = _payment_for(data)
            event = _apply(_payment_event(data, payment), payment)
            handlers.dispatch(event)
    except IntegrityError:
        row = WebhookEvent.objects.filter(event_id=data["id"]).first()
        if row is None:
            raise
        return row, False
    return row, True


def _apply(event: handlers.PaymentEvent, payment: Payment | None) -> handlers.PaymentEvent:
    """Our own Payment row follows the provider's events (any order, any number of times)."""
    if event.type in CHARGE_EVENTS and payment is None:
        raise PaymentNotKnownYet(f"{event.type} {event.event_id} for unknown payment {event.payment_intent!r}")
    if payment is None:
        return event
    if event.type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        _mark_paid(event, payment)
    elif event.type == "checkout.session.async_payment_failed":
        _close(payment, Payment.Status.FAILED, event)
    elif event.type == "checkout.session.expired":
        _close(payment, Payment.Status.EXPIRED, event)
    elif event.type == "charge.refunded":
        _mark_refunded(event, payment)
        refs = payment.refunds.filter(status=Refund.Status.SUCCEEDED).exclude(reference="")
        event = dataclasses.replace(event, refund_references=tuple(sorted(set(refs.values_list("reference",
                                                                                                  flat=True)))))
    elif event.type == "charge.dispute.created":
        before = {"dispute_id": payment.dispute_id}
        payment.dispute_id, payment.disputed_at = event.object_id, timezone.now()
        payment.save(update_fields=["dispute_id", "disputed_at", "updated_at"])
        audit(actor=None, action="payments.dispute_created", obj=payment, before=before,
              after={"dispute_id": event.object_id, "reason": event.reason, "amount": event.amount,
                     "event": event.event_id})
    elif event.type == "charge.dispute.closed":
        _dispute_closed(event, payment)
    return event


def _mark_paid(event: handlers.PaymentEvent, payment: Payment) -> None:
    if event.payment_intent and not payment.payment_intent:
        payment.payment_intent = event.payment_intent
        payment.save(update_fields=["payment_intent", "updated_at"])
    if event.payment_status != "paid" or payment.paid_at is not None:
        return
    before = {"status": payment.status}
    payment.status, payment.paid_at = Payment.Status.PAID, timezone.now()
    payment.amount_received = event.amount
    payment.save(update_fields=["status", "paid_at", "amount_received", "updated_at"])
    audit(actor=None, action="payments.paid", obj=payment, before=before,
          after={"status": payment.status, "amount_received": event.amount, "currency": event.currency,
                 "event": event.event_id})


def _close(payment: Payment, status: str, event: handlers.PaymentEvent) -> None:
    if payment.status not in (Payment.Status.OPEN, Payment.Status.CANCELLED):
        return  # a paid session never goes back
    before = {"status": payment.status}
    payment.status = status
    payment.save(update_fields=["status", "updated_at"])
    audit(actor=None, action=f"payments.{status}", obj=payment, before=before,
          after={"status": status, "event": event.event_id})


def _dispute_closed(event: handlers.PaymentEvent, payment: Payment) -> None:
    """A lost dispute returned the money to the buyer: it counts as refunded."""
    before = {"status": payment.status, "amount_refunded": payment.amount_refunded}
    if event.payment_status == "lost" and event.amount is not None:
        received = payment.amount_received if payment.amount_received is not None else payment.amount
        payment.amount_refunded = min(received, payment.amount_refunded + event.amount)
        if payment.amount_refunded >= received and payment.status == Payment.Status.PAID:
            payment.status, payment.refunded_at = Payment.Status.REFUNDED, timezone.now()
        payment.save(update_fields=["status", "amount_refunded", "refunded_at", "updated_at"])
    audit(actor=None, action=f"payments.dispute_{event.payment_status or 'closed'}", obj=payment, before=before,
          after={"status": payment.status, "amount_refunded": payment.amount_refunded, "dispute_id": event.object_id,
                 "event": event.event_id})


def _mark_refunded(event: handlers.PaymentEvent, payment: Payment) -> None:
    """`charge.refunded` carries the cumulative refunded amount and the refund ids: our refund
    rows succeed, and a refund made outside the platform (dashboard) is recorded as one."""
    before = {"status": payment.status, "amount_refunded": payment.amount_refunded}
    total = event.amount_refunded if event.amount_refunded is not None else payment.amount_refunded
    payment.amount_refunded = max(payment.amount_refunded, total)
    received = payment.amount_received if payment.amount_received is not None else payment.amount
    if payment.amount_refunded >= received and payment.status == Payment.Status.PAID:
        payment.status, payment.refunded_at = Payment.Status.REFUNDED, timezone.now()
    payment.save(update_fields=["status", "amount_refunded", "refunded_at", "updated_at"])
    rows = Refund.objects.select_for_update().filter(payment=payment).order_by("created_at", "pk")
    listed = set(event.refund_ids)
    # Newer API versions omit the refund list: then the cumulative amount says which of ours
    # (oldest first) went through.
    covered = sum((r.amount for r in rows if r.status == Refund.Status.SUCCEEDED), Decimal(0))
    for refund in rows:
        if refund.status not in (Refund.Status.REQUESTED, Refund.Status.SUBMITTED):
            continue
        if refund.provider_refund_id in listed or (not listed and refund.status == Refund.Status.SUBMITTED
                                                   and covered + refund.amount <= payment.amount_refunded):
            prior = refund.status
            refund.status, refund.succeeded_at, refund.error = Refund.Status.SUCCEEDED, timezone.now(), ""
            refund.save(update_fields=["status", "succeeded_at", "error", "updated_at"])
            covered += refund.amount
            audit(actor=None, action="payments.refund_succeeded", obj=refund, before={"status": prior},
                  after={"status": refund.status, "event": event.event_id})
    extra = payment.amount_refunded - covered
    if extra > 0:  # refunded outside the platform (the provider's dashboard): recorded as such
        known = set(rows.values_list("provider_refund_id", flat=True))
        ref = next((r for r in event.refund_ids if r not in known), "")
        refund = Refund.objects.create(
            payment=payment, idempotency_key=f"provider:{ref or event.event_id}", amount=extra,
            currency=payment.currency, reason="Refunded outside the platform (provider dashboard).",
            status=Refund.Status.SUCCEEDED, provider_refund_id=ref, succeeded_at=timezone.now())
        audit(actor=None, action="payments.refund_external", obj=refund,
              after={"amount": extra, "provider_refund_id": ref, "event": event.event_id})
    audit(actor=None, action="payments.refunded", obj=payment, before=before,
          after={"status": payment.status, "amount_refunded": payment.amount_refunded, "event": event.event_id})


# --------------------------------------------------------------------------- refunds


@transaction.atomic
def refund_create(*, actor, payment: Payment, reason: str, idempotency_key: str,
                  amount: Decimal | None = None, reference: str = "") -> Refund:
    """Send money back for a paid payment (all of what is left unless `amount`), through the
    provider, once per `idempotency_key`. The provider call runs after commit (a rolled-back
    caller refunds nothing); its `charge.refunded` event marks the refund succeeded and names
    `reference` (default: the payment's client_reference_id) in `refund_references`."""
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.paid_at is None or payment.amount_received is None:
        raise ApplicationError("not_paid", gettext("Only a received payment can be refunded."), status=409)
    if not reason.strip():
        raise ApplicationError("reason_required", gettext("Say why the payment is refunded."),
                               details={"reason": [gettext("Say why the payment is refunded.")]})
    committed = payment.refunds.exclude(status=Refund.Status.FAILED).aggregate(n=Sum("amount"))["n"] or 0
    left = payment.amount_received - max(committed, payment.amount_refunded)
    amount = quantize(amount, payment.currency) if amount is not None else left
    if left <= 0:
        raise ApplicationError("already_refunded", gettext("This payment has already been refunded in full."),
            status=409)
    if amount <= 0 or amount > left:
        msg = f"Refund between 0 and {left} {payment.currency}."
        raise ApplicationError("invalid_refund_amount", msg, details={"amount": [msg]})
    refund = Refund(payment=payment, idempotency_key=idempotency_key, amount=amount, currency=payment.currency,
                    reason=reason.strip(), reference=reference or payment.client_reference_id,
                    requested_by=actor if getattr(actor, "is_authenticated", False) else None)
    refund.full_clean()
    refund.save()
    audit(actor=actor, action="payments.refund_request", obj=refund, reason=reason.strip(),
          after={"payment": payment.session_id, "amount": amount, "currency": payment.currency})
    refund_pk = refund.pk
    transaction.on_commit(lambda: refund_submit(refund_id=refund_pk))
    return refund


def refund_submit(*, refund_id: int) -> Refund:
    """Hand a requested refund to the provider (idempotent on its key, so a retry after a
    timeout cannot refund twice). A failure leaves it requested for `refunds_submit_due`."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund_id)
        if refund.status != Refund.Status.REQUESTED:
            return refund
        refund.attempts += 1
        refund.save(update_fields=["attempts", "updated_at"])
    payment = refund.payment
    try:
        if payment.simulated and not stripe_api.simulator_enabled():
            raise RuntimeError("a simulated payment cannot be refunded while the simulator is off")
        result = stripe_api.refund(payment_intent=payment.payment_intent,
                                   amount_minor=to_minor_units(refund.amount, refund.currency),
                                   idempotency_key=refund.idempotency_key,
                                   metadata={"client_reference_id": payment.client_reference_id})
    except Exception as exc:  # provider or network trouble: retried by the sweep
        logger.exception("Refund %s could not be submitted", refund.pk)
        Refund.objects.filter(pk=refund.pk).update(error=str(exc)[:2000], updated_at=timezone.now())
        refund.refresh_from_db()
        return refund
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund_id)
        if refund.status == Refund.Status.REQUESTED:
            refund.status, refund.provider_refund_id, refund.error = Refund.Status.SUBMITTED, result["id"], ""
            refund.save(update_fields=["status", "provider_refund_id", "error", "updated_at"])
            audit(actor=None, action="payments.refund_submit", obj=refund, before={"status": "requested"},
                  after={"status": refund.status, "provider_refund_id": result["id"]})
    if payment.simulated:
        _simulate_charge_refunded(refund)
        refund.refresh_from_db()
    return refund


def _simulate_charge_refunded(refund: Refund) -> None:
    """The simulator's stand-in for Stripe: a signed `charge.refunded` event through the webhook."""
    payment = Payment.objects.get(pk=refund.payment_id)
    done = payment.refunds.filter(status__in=[Refund.Status.SUBMITTED, Refund.Status.SUCCEEDED])
    total = done.aggregate(n=Sum("amount"))["n"] or 0
    body = stripe_api.charge_refunded_event(
        payment_intent=payment.payment_intent, client_reference_id=payment.client_reference_id,
        amount_minor=to_minor_units(payment.amount_received or payment.amount, payment.currency),
        amount_refunded_minor=to_minor_units(total, payment.currency), currency=payment.currency,
        refund_ids=list(done.values_list("provider_refund_id", flat=True)))
    deliver_signed(body)


def refunds_submit_due(*, older_than_s: int = 60) -> int:
    """Periodic: submit refunds whose after-commit submission did not go through."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_s)
    ids = list(Refund.objects.filter(status=Refund.Status.REQUESTED, updated_at__lte=cutoff)
               .values_list("pk", flat=True)[:100])
    for pk in ids:
        refund_submit(refund_id=pk)
    return len(ids)


# --------------------------------------------------------------------------- simulator


def _require_simulated(payment: Payment) -> None:
    if not payment.simulated or not stripe_api.simulator_enabled():
        raise ApplicationError("not_simulated", gettext("This checkout is not handled by the local simulator."),
            status=404)


def simulator_pay(*, actor, payment: Payment) -> WebhookEvent:
    """The simulator's Pay button: a signed `checkout.session.completed` event for the
    session's amount, POSTed through the real webhook view (signature check included)."""
    _require_simulated(payment)
    if payment.status != Payment.Status.OPEN:
        raise ApplicationError("checkout_closed", gettext("This checkout is no longer open."), status=409)
    body = stripe_api.checkout_completed_event(
        session_id=payment.session_id, client_reference_id=payment.client_reference_id,
        amount_minor=to_minor_units(payment.amount, payment.currency), currency=payment.currency,
        metadata=payment.metadata)
    deliver_signed(body)
    audit(actor=actor, action="payments.simulator_pay", obj=payment, after={"session_id": payment.session_id})
    return WebhookEvent.objects.get(event_id=json.loads(body)["id"])


def deliver_signed(body: bytes, *, signature: str | None = None):
    """Send a raw event body, signed with the webhook secret, through the webhook view: the one
    the URL resolves to, as Stripe's POST would reach it (the views call these services, so
    they are found by URL, not imported)."""
    url = reverse("payments:stripe-webhook")
    request = RequestFactory().post(url, data=body, content_type="application/json",
                                    HTTP_STRIPE_SIGNATURE=signature or stripe_api.signature_header(body))
    match = resolve(url)
    response = match.func(request, *match.args, **match.kwargs)
    if response.status_code != 200:
        raise ApplicationError("webhook_rejected", gettext('The webhook answered %(status_code)s.') %
            {"status_code": response.status_code}, status=502)
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
