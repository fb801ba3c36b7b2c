"""Reactions to payment events (registered in TokensConfig.ready via payments.handlers).
Every event names our order through the checkout's client_reference_id (payments fills it
in for charge events from its own record)."""

from __future__ import annotations

import dataclasses
import logging
import uuid

from payments import handlers
from tokens.models import Order
from tokens.primary import services as orders

logger = logging.getLogger(__name__)

# Revenue periods and other payers use prefixed references ("distribution:…"); orders use a bare UUID.
EVENT_HANDLERS = {
    "checkout.session.completed": "tokens.primary.payment_hooks.on_checkout_completed",
    "checkout.session.async_payment_succeeded": "tokens.primary.payment_hooks.on_checkout_completed",
    "checkout.session.async_payment_failed": "tokens.primary.payment_hooks.on_checkout_closed",
    "checkout.session.expired": "tokens.primary.payment_hooks.on_checkout_closed",
    "charge.refunded": "tokens.primary.payment_hooks.on_charge_refunded",
    "charge.dispute.created": "tokens.primary.payment_hooks.on_dispute_created",
}


def register_all() -> None:

    for event_type, path in EVENT_HANDLERS.items():
        handlers.register(event_type, path)


def _order(event) -> Order | None:
    try:
        public_id = uuid.UUID(event.client_reference_id)
    except ValueError:
        return None  # not an order (e.g. "distribution:…"): another app's payment
    order = Order.objects.filter(public_id=public_id).first()
    if order is None:
        logger.warning("Payment event %s references unknown order %s", event.event_id, public_id)
    return order


def on_checkout_completed(event) -> None:
    if event.payment_status != "paid":
        return  # delayed payment methods: fulfilled on checkout.session.async_payment_succeeded
    order = _order(event)
    if order is not None:
        orders.order_payment_received(order=order, amount=event.amount, currency=event.currency,
                                      session_id=event.session_id, event_id=event.event_id)


def on_checkout_closed(event) -> None:
    order = _order(event)
    if order is not None:
        orders.order_checkout_closed(order=order, session_id=event.session_id, event_type=event.type,
                                     event_id=event.event_id)


def on_charge_refunded(event) -> None:
    # The payment's own order, and any order that refunded this payment (e.g. it reached the
    # wrong order's checkout).
    fully = event.amount_refunded is not None and event.amount is not None and event.amount_refunded >= event.amount
    for ref in dict.fromkeys([event.client_reference_id, *event.refund_references]):
        order = _order(dataclasses.replace(event, client_reference_id=ref))
        if order is not None:
            orders.order_refund_settled(order=order, session_id=event.session_id, fully_refunded=fully,
                                        event_id=event.event_id)


def on_dispute_created(event) -> None:
    order = _order(event)
    if order is not None:
        orders.order_payment_disputed(order=order, session_id=event.session_id, dispute_id=event.object_id,
                                      reason=event.reason, event_id=event.event_id)
