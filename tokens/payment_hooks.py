"""Reactions to payment events (registered in TokensConfig.ready via payments.handlers)."""

from __future__ import annotations

import logging
import uuid

from tokens import orders
from tokens.models import Order

logger = logging.getLogger(__name__)


def on_checkout_completed(event) -> None:
    if event.payment_status != "paid":
        return  # delayed payment methods: fulfilled on checkout.session.async_payment_succeeded
    try:
        public_id = uuid.UUID(event.client_reference_id)
    except ValueError:
        logger.warning("Checkout %s references no order (%r)", event.session_id, event.client_reference_id)
        return
    order = Order.objects.filter(public_id=public_id).first()
    if order is None:
        logger.warning("Checkout %s references unknown order %s", event.session_id, public_id)
        return
    orders.order_payment_received(order=order, amount=event.amount, currency=event.currency,
                                  session_id=event.session_id, event_id=event.event_id)
