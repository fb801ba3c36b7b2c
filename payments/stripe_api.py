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
from django.urls import reverse


class SignatureError(Exception):
    """The webhook payload or its Stripe-Signature header did not verify."""


def simulator_enabled() -> bool:
    return bool(getattr(settings, "PAYMENTS_SIMULATOR", not getattr(settings, "STRIPE_SECRET_KEY", "")))


def webhook_secret() -> str:
    return getattr(settings, "STRIPE_WEBHOOK_SECRET", "") or "whsec_local_simulator_secret"


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


def checkout_completed_event(*, session_id: str, client_reference_id: str, amount_minor: int, currency: str,
                             metadata: dict | None = None, payment_status: str = "paid") -> bytes:
    """The raw body of a `checkout.session.completed` event, shaped like Stripe's."""
    event = {
        "id": "evt_sim_" + secrets.token_hex(12), "object": "event", "api_version": "2024-06-20",
        "created": int(time.time()), "livemode": False, "type": "checkout.session.completed",
        "data": {"object": {
            "id": session_id, "object": "checkout.session", "mode": "payment", "status": "complete",
            "payment_status": payment_status, "client_reference_id": client_reference_id,
            "amount_total": amount_minor, "currency": currency.lower(),
            "metadata": {k: str(v) for k, v in (metadata or {}).items()},
        }},
    }
    return json.dumps(event, separators=(",", ":")).encode()
