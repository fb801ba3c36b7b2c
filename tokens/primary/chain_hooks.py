"""The primary sale's reaction to its mint transactions becoming final (registered in TokensConfig.ready)."""

from __future__ import annotations

from chain.services import index_address
from tokens.models import Order
from tokens.primary import services as orders


def on_order_mint_final(row) -> None:
    """A primary-sale mint is final: index the token (the investor's holding shows at once),
    then complete or fail the order."""

    order = Order.objects.filter(mint_tx_id=row.pk).first()
    if order is None:
        return
    if row.status == row.Status.CONFIRMED:

        index_address(row.to_address)
    orders.order_mint_final(order=order, row=row)
