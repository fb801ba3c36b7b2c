"""How apps react to payment events without payments importing them. An app registers,
in its AppConfig.ready():

    payments.handlers.register("checkout.session.completed", "tokens.payment_hooks.on_checkout_completed")

The handler is called as `fn(event)` with a `PaymentEvent` inside the webhook's DB
transaction: if it raises, nothing is recorded and the provider redelivers."""

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
