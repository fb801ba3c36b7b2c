"""The one module that imports stripe. Everything here speaks Stripe's units (minor units,
lower-case currencies); callers pass and get plain values.

Without STRIPE_SECRET_KEY (PAYMENTS_SIMULATOR) checkout sessions are local: their URL is
the simulator page, which sends correctly signed events to our own webhook."""

from __future__ import annotations

import json
import secrets
import time

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from payments import guard


class SignatureError(Exception):
    """The webhook payload or its Stripe-Signature header did not verify."""


def simulator_enabled() -> bool:
    # Off unless a settings module turned it on (dev/test, or production for staging/demo),
    # and never where the chain's money is real (start-up refuses that too; this holds even
    # if settings change later).
    return bool(getattr(settings, "PAYMENTS_SIMULATOR", False)) and guard.refusal_for(settings) is None


def webhook_secret() -> str:
    """The endpoint's signing secret. No fallback: the simulator's public secret is set by the
    dev/test settings only, so nothing else can verify an event signed with it, and it is
    refused where the chain's money is real."""
    secret = getattr(settings, "STRIPE_WEBHOOK_SECRET", "")
    if not secret:
        raise ImproperlyConfigured("STRIPE_WEBHOOK_SECRET is not set; webhooks cannot be verified.")
    if secret == getattr(settings, "LOCAL_SIMULATOR_WEBHOOK_SECRET", None):
        guard.refuse_play_money_on_real_chain(settings)
    return secret


def create_checkout_session(*, client_reference_id: str, idempotency_key: str, line_item_name: str,
                            amount_minor: int, currency: str, success_url: str, cancel_url: str,
                            metadata: dict | None = None, expires_at: int | None = None) -> dict:
    """A Checkout Session (mode=payment) for one line item. Returns {"id", "url"}."""
    if not isinstance(amount_minor, int) or amount_minor <= 0:
        raise ValueError("amount_minor must be a positive integer")
    if simulator_enabled():
        session_id = "cs_sim_" + secrets.token_hex(12)
        return {"id": session_id, "url": reverse("payments:simulator", args=[session_id])}
    params = {
        "mode": "payment",
        "client_reference_id": client_reference_id,
        "line_items": [{"quantity": 1, "price_data": {
            "currency": currency.lower(), "unit_amount": amount_minor,
            "product_data": {"name": line_item_name[:250]}}}],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "metadata": {k: str(v) for k, v in (metadata or {}).items()},
        # Charge, refund and dispute events carry the PaymentIntent's metadata, not the
        # session's: the reference lets them find our payment even when they arrive first.
        "payment_intent_data": {"metadata": {"client_reference_id": client_reference_id}},
    }
    if expires_at:
        params["expires_at"] = expires_at
    session = stripe.checkout.Session.create(api_key=settings.STRIPE_SECRET_KEY,
                                             idempotency_key=idempotency_key, **params)
    return {"id": session["id"], "url": session["url"]}


def construct_event(payload: bytes, sig_header: str, secret: str | None = None) -> dict:
    """Verify the signature (and its age) and return the event as plain JSON data."""
    try:
        stripe.Webhook.construct_event(payload, sig_header, secret or webhook_secret())
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise SignatureError(str(exc)) from exc
    return json.loads(payload)


def signature_header(payload: bytes | str, secret: str | None = None, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for `payload`, as Stripe computes it (simulator, tests)."""
    text = payload.decode() if isinstance(payload, bytes | bytearray) else payload
    return stripe.WebhookSignature.generate_signature_header(
        text, secret or webhook_secret(), timestamp=timestamp or int(time.time()))


def refund(*, payment_intent: str, amount_minor: int, idempotency_key: str, metadata: dict | None = None) -> dict:
    """Refund `amount_minor` of a payment through Stripe (idempotent on the key). Returns
    {"id", "status"}; the `charge.refunded` event confirms it. Simulator: a local id, and the
    caller delivers the signed event (see payments.services)."""
    if not isinstance(amount_minor, int) or amount_minor <= 0:
        raise ValueError("amount_minor must be a positive integer")
    if simulator_enabled():
        return {"id": "re_sim_" + secrets.token_hex(12), "status": "pending"}
    if not payment_intent:
        raise ValueError("payment_intent is required to refund through Stripe")
    result = stripe.Refund.create(api_key=settings.STRIPE_SECRET_KEY, idempotency_key=idempotency_key,
                                  payment_intent=payment_intent, amount=amount_minor,
                                  metadata={k: str(v) for k, v in (metadata or {}).items()})
    return {"id": result["id"], "status": result["status"]}


def event_body(event_type: str, obj: dict) -> bytes:
    """The raw body of a Stripe event of `event_type` around `obj` (simulator, tests)."""
    event = {"id": "evt_sim_" + secrets.token_hex(12), "object": "event", "api_version": "2024-06-20",
             "created": int(time.time()), "livemode": False, "type": event_type, "data": {"object": obj}}
    return json.dumps(event, separators=(",", ":")).encode()


def checkout_session_event(event_type: str, *, session_id: str, client_reference_id: str, amount_minor: int,
                           currency: str, metadata: dict | None = None, payment_status: str = "paid",
                           payment_intent: str = "", status: str = "complete") -> bytes:
    """A `checkout.session.*` event body, shaped like Stripe's."""
    return event_body(event_type, {
        "id": session_id, "object": "checkout.session", "mode": "payment", "status": status,
        "payment_status": payment_status, "client_reference_id": client_reference_id,
        "amount_total": amount_minor, "currency": currency.lower(), "payment_intent": payment_intent or None,
        "metadata": {k: str(v) for k, v in (metadata or {}).items()},
    })


def checkout_completed_event(*, session_id: str, client_reference_id: str, amount_minor: int, currency: str,
                             metadata: dict | None = None, payment_status: str = "paid",
                             payment_intent: str = "") -> bytes:
    """The raw body of a `checkout.session.completed` event, shaped like Stripe's."""
    return checkout_session_event("checkout.session.completed", session_id=session_id,
                                  client_reference_id=client_reference_id, amount_minor=amount_minor,
                                  currency=currency, metadata=metadata, payment_status=payment_status,
                                  payment_intent=payment_intent or "pi_sim_" + secrets.token_hex(12))


def charge_refunded_event(*, payment_intent: str, client_reference_id: str, amount_minor: int,
                          amount_refunded_minor: int, currency: str, refund_ids: list[str]) -> bytes:
    """A `charge.refunded` event: the Charge with its cumulative `amount_refunded`."""
    return event_body("charge.refunded", {
        "id": "ch_sim_" + secrets.token_hex(12), "object": "charge", "payment_intent": payment_intent,
        "amount": amount_minor, "amount_refunded": amount_refunded_minor, "currency": currency.lower(),
        "refunded": amount_refunded_minor >= amount_minor, "status": "succeeded",
        "metadata": {"client_reference_id": client_reference_id},
        "refunds": {"object": "list", "data": [{"id": r, "object": "refund", "status": "succeeded"}
                                               for r in refund_ids]},
    })


def dispute_created_event(*, payment_intent: str, client_reference_id: str, amount_minor: int, currency: str,
                          reason: str = "fraudulent", event_type: str = "charge.dispute.created",
                          status: str = "needs_response", dispute_id: str = "") -> bytes:
    """A `charge.dispute.*` event (the Dispute object names the charge's PaymentIntent);
    `charge.dispute.closed` carries status "won" or "lost"."""
    return event_body(event_type, {
        "id": dispute_id or "dp_sim_" + secrets.token_hex(12), "object": "dispute",
        "charge": "ch_sim_" + secrets.token_hex(12), "payment_intent": payment_intent, "amount": amount_minor,
        "currency": currency.lower(), "reason": reason, "status": status,
        "metadata": {"client_reference_id": client_reference_id},
    })
