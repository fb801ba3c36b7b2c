"""How apps react to payment events without payments importing them. An app registers,
in its AppConfig.ready():

    payments.handlers.register("checkout.session.completed", "tokens.primary.payment_hooks.on_checkout_completed")

The handler is called as `fn(event)` with a `PaymentEvent` inside the webhook's DB
transaction: if it raises, nothing is recorded and the provider redelivers.

Event types the webhook understands (payments updates its own Payment row first, then
dispatches): `checkout.session.completed`, `checkout.session.async_payment_succeeded`,
`checkout.session.async_payment_failed`, `checkout.session.expired`, `charge.refunded`,
`charge.dispute.created`, `charge.dispute.closed` (`payment_status` = the dispute's
status: won | lost; a lost one counts as refunded). Charge events carry no session: payments resolves the payment
from the PaymentIntent (or its metadata) and fills `session_id` and `client_reference_id`
from its own row, so every handler finds its object the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.module_loading import import_string

_HANDLERS: dict[str, list[str]] = {}


@dataclass(frozen=True)
class PaymentEvent:
    event_id: str
    type: str
    session_id: str
    client_reference_id: str
    payment_status: str
    amount: Decimal | None
    currency: str
    metadata: dict = field(default_factory=dict)
    payment_intent: str = ""
    object_id: str = ""  # the session, charge or dispute id
    amount_refunded: Decimal | None = None  # charge.refunded: cumulative, as the provider counts it
    reason: str = ""  # charge.dispute.created: the cardholder's bank's reason
    refund_ids: tuple = ()  # charge.refunded: the refunds listed on the charge (may be empty)
    # charge.refunded: the references of whoever asked for the refunds now settled (a caller may
    # refund a payment made for another reference, e.g. one that reached the wrong order).
    refund_references: tuple = ()


def register(event_type: str, dotted_path: str) -> None:
    paths = _HANDLERS.setdefault(event_type, [])
    if dotted_path not in paths:
        paths.append(dotted_path)


def registered(event_type: str) -> list[str]:
    return list(_HANDLERS.get(event_type, []))


def dispatch(event: PaymentEvent) -> int:
    paths = registered(event.type)
    for path in paths:
        import_string(path)(event)
    return len(paths)
