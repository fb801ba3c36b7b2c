"""Reconciliation for platform admins: provider payments vs orders vs minted units vs on-chain
balances. Each rule below is an invariant of the order lifecycle; every row that breaks one is
listed (read-only; nothing here changes state)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import Decimal

from chain import selectors as chain_selectors
from chain.models import ChainTransaction
from payments.models import Payment, Refund
from tokens.models import Offering, Order, OrderStatus

ZERO = "0x0000000000000000000000000000000000000000"
# Orders whose units exist (or are being minted) and whose payment must therefore be kept.
_WITH_UNITS = (OrderStatus.PAID, OrderStatus.MINTING, OrderStatus.COMPLETED, OrderStatus.DISPUTED)


@dataclass(frozen=True)
class Mismatch:
    kind: str
    message: str
    order: str = ""  # public id
    payment: str = ""  # checkout session id
    offering: str = ""  # token symbol

    def as_dict(self) -> dict:
        return asdict(self)


def _order_id(ref: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None  # another payer's reference (e.g. "period:…")


def reconcile() -> dict:
    """{"mismatches": [Mismatch...], "counts": {...}} over every order payment and offering."""

    mismatches: list[Mismatch] = []
    orders = {o.public_id: o for o in Order.objects.select_related("offering", "mint_tx")}
    payments = [p for p in Payment.objects.prefetch_related("refunds") if _order_id(p.client_reference_id)]
    kept = defaultdict(Decimal)  # money we keep per order (received minus refunded)
    for p in payments:
        order = orders.get(_order_id(p.client_reference_id))
        received = (p.amount_received or Decimal(0)) if p.paid_at else Decimal(0)
        kept_here = received - p.amount_refunded
        refunding = any(r.status in (Refund.Status.REQUESTED, Refund.Status.SUBMITTED) for r in p.refunds.all())
        failed_refund = any(r.status == Refund.Status.FAILED for r in p.refunds.all())
        if order is None:
            if kept_here > 0:
                mismatches.append(Mismatch("payment_without_order", f"{kept_here} {p.currency} received for "
                                           "an order that does not exist.", payment=p.session_id))
            continue
        kept[order.public_id] += kept_here
        ours = p.session_id == order.checkout_session_id
        if failed_refund:
            mismatches.append(Mismatch("refund_failed", "A refund for this payment failed at the provider.",
                                       order=str(order.public_id), payment=p.session_id))
        if kept_here > 0 and not refunding and not (ours and order.status in _WITH_UNITS):
            mismatches.append(Mismatch(
                "charge_without_units", f"{kept_here} {p.currency} kept, but the order is "
                f"{order.get_status_display().lower()} and no refund is under way.",
                order=str(order.public_id), payment=p.session_id, offering=order.offering.token_symbol))
        if ours and order.status in (OrderStatus.COMPLETED, OrderStatus.MINTING) and p.amount_refunded > 0:
            mismatches.append(Mismatch(
                "refunded_with_units", f"{p.amount_refunded} {p.currency} refunded, but {order.units} units "
                "were issued for it.", order=str(order.public_id), payment=p.session_id,
                offering=order.offering.token_symbol))
        if ours and p.dispute_id and order.status in (OrderStatus.COMPLETED, OrderStatus.MINTING) and not (
                ChainTransaction.objects.filter(idempotency_key=f"order:{order.pk}:dispute-freeze").exists()):
            mismatches.append(Mismatch("dispute_not_frozen", "The payment is disputed but the units are not frozen.",
                                       order=str(order.public_id), payment=p.session_id))
    for order in orders.values():
        if order.status in (OrderStatus.COMPLETED, OrderStatus.DISPUTED) and kept[order.public_id] < order.total:
            mismatches.append(Mismatch(
                "units_without_payment", f"{order.units} units issued, but only {kept[order.public_id]} "
                f"{order.currency} of {order.total} is kept.", order=str(order.public_id),
                payment=order.checkout_session_id, offering=order.offering.token_symbol))
        if order.status == OrderStatus.REFUNDED and kept[order.public_id] > 0:
            mismatches.append(Mismatch("refunded_order_kept_money", f"The order is refunded, but "
                                       f"{kept[order.public_id]} {order.currency} is still kept.",
                                       order=str(order.public_id), payment=order.checkout_session_id))
        if order.status == OrderStatus.COMPLETED and (order.mint_tx is None or order.mint_tx.status != "confirmed"):
            mismatches.append(Mismatch("completed_without_mint", "The order is completed without a confirmed mint.",
                                       order=str(order.public_id)))
    mismatches += _supply_mismatches(orders.values())
    return {"mismatches": mismatches, "counts": {
        "payments": len(payments), "orders": len(orders), "mismatches": len(mismatches)}}


def _supply_mismatches(orders) -> list[Mismatch]:
    """Units minted on chain (indexed Transfer events from 0x0) = units of orders whose mint is
    confirmed, per offering; only orders mint."""
    sold = defaultdict(int)
    for o in orders:
        if o.mint_tx is not None and o.mint_tx.status == "confirmed":
            sold[o.offering_id] += o.units
    out = []
    for offering in Offering.objects.exclude(token_address=""):
        minted = sum(int(ev.args["value"]) for ev in chain_selectors.events_for(offering.token_address,
                                                                                  names=["Transfer"])
                     if ev.args.get("from") == ZERO)
        if minted != sold[offering.pk]:
            out.append(Mismatch("supply_differs", f"{minted} units minted on chain, {sold[offering.pk]} sold "
                                "through confirmed orders (the indexer may lag a few blocks).",
                                offering=offering.token_symbol))
    return out
