"""Primary sale of an offering's units to KYC-approved investors (DESIGN flow 6 "Buy"):
reserve units (row lock on the offering) → Stripe Checkout (payments) → signed webhook →
mint to the investor's custodial wallet through the chain outbox → receipt.

Supply, per-investor and holder limits count the orders that hold units: reserved (while
the reservation runs), paid, minting and completed. They mirror the token's own on-chain
compliance rules, so a paid order does not fail at mint time."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from chain.services import outbox_enqueue
from core.errors import ApplicationError, check_transition
from core.money import format_money, quantize
from core.permissions import Role, user_has_role
from core.services import audit, snapshot
from tokens.models import ORDER_HOLDING_STATUSES, ORDER_TRANSITIONS, Offering, OfferingStatus, Order, OrderStatus

logger = logging.getLogger(__name__)

MINT_KIND = "tokens.order_mint"
ORDER_AUDIT_FIELDS = ["status", "units", "total", "currency", "wallet", "checkout_session_id", "amount_received",
                      "error"]


def reservation_minutes() -> int:
    return int(getattr(settings, "TOKENS_RESERVATION_MINUTES", 15))


def units_offered(offering: Offering) -> int:
    """The units put on sale: the offered share of the token's units (whole units)."""
    return int((Decimal(offering.units) * offering.share_offered_pct / 100).to_integral_value(ROUND_FLOOR))


def _holding_q(prefix: str = "", *, now=None) -> Q:
    """Orders that hold units now; a lapsed reservation holds nothing even before the sweep."""
    now = now or timezone.now()
    return Q(**{f"{prefix}status__in": ORDER_HOLDING_STATUSES}) & ~Q(
        **{f"{prefix}status": OrderStatus.RESERVED, f"{prefix}reserved_until__lte": now})


def _holding(qs, *, now=None):
    return qs.filter(_holding_q(now=now))


def with_units_taken(offerings):
    """Annotate each offering with the units orders hold now, for lists (one query in all)."""
    return offerings.annotate(units_taken_now=Coalesce(Sum("orders__units", filter=_holding_q("orders__")), 0))


def units_taken(offering: Offering, *, exclude: Order | None = None) -> int:
    qs = _holding(Order.objects.filter(offering=offering))
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs.aggregate(n=Sum("units"))["n"] or 0


def units_available(offering: Offering) -> int:
    taken = getattr(offering, "units_taken_now", None)  # set by with_units_taken() on lists
    return max(0, units_offered(offering) - (units_taken(offering) if taken is None else taken))


def _transition(*, actor, order: Order, target: str, action: str, reason: str = "", **changes) -> Order:
    check_transition(entity="order", table=ORDER_TRANSITIONS, current=order.status, target=target)
    before = snapshot(order, ORDER_AUDIT_FIELDS)
    order.status = target
    for k, v in changes.items():
        setattr(order, k, v)
    order.save()
    audit(actor=actor, action=action, obj=order, before=before, after=snapshot(order, ORDER_AUDIT_FIELDS),
          reason=reason)
    return order


# ------------------------------------------------------------------------- eligibility


def eligibility_problem(*, user) -> str:
    """Why this user may not buy now, in words that say what to do ("" = eligible)."""
    from compliance import selectors as kyc

    if kyc.investor_is_eligible(user=user):
        return ""
    profile = kyc.investor_profile(user=user)
    if profile is None:
        return "Complete your investor profile and KYC verification before investing."
    if profile.processing_restricted:
        return "Your account's data processing is restricted (erasure request), so purchases are not possible."
    case = kyc.current_case(user=user)
    if case is None:
        return "Complete your KYC verification before investing."
    if case.status == "expired" or (case.status == "approved" and case.expires_at
                                    and case.expires_at <= timezone.now()):
        return "Your KYC verification has expired. Please renew your KYC to invest again."
    if case.status == "approved":
        return "Your verification is on hold while a compliance officer reviews a screening match."
    if case.status in ("submitted", "in_review"):
        return "Your KYC verification is still under review. You can invest once it is approved."
    if case.status == "needs_more_info":
        return "Your KYC verification needs more information. Please update it to invest."
    return "Your KYC verification is not approved. Please contact compliance or start a new verification."


def _check_buyer(*, actor, offering: Offering, units, exclude: Order | None = None) -> tuple[int, str]:
    """All purchase rules; the offering row must be locked by the caller. Returns (units, wallet)."""
    from compliance import selectors as kyc

    if offering.status != OfferingStatus.LIVE or not offering.token_address:
        raise ApplicationError("offering_not_live", "This offering is not open for investment.", status=409)
    problem = eligibility_problem(user=actor)
    if problem:
        raise ApplicationError("not_eligible", problem, status=403)
    try:
        units = int(units)
    except (TypeError, ValueError):
        units = 0
    if units < 1:
        raise ApplicationError("invalid_units", "Buy at least one unit.", details={"units": ["Buy at least one unit."]})
    profile = kyc.investor_profile(user=actor)
    country = profile.residence_country_numeric if profile else None
    if offering.allowed_countries and country not in offering.allowed_countries:
        raise ApplicationError("country_not_allowed",
                               "This offering is not open to investors resident in your country.", status=403)
    wallet = kyc.custodial_wallet(user=actor)
    if wallet is None or not wallet.registered_on_chain:
        raise ApplicationError("wallet_not_ready", "Your custodial wallet is still being registered on chain. "
                               "Please try again in a minute.", status=409)
    available = units_offered(offering) - units_taken(offering, exclude=exclude)
    if units > available:
        msg = (f"Only {max(available, 0)} unit{'s' if available != 1 else ''} left." if available > 0
               else "This offering is sold out.")
        raise ApplicationError("insufficient_units", msg, details={"units": [msg]}, status=409)
    mine = _holding(Order.objects.filter(offering=offering, investor=actor))
    if exclude is not None:
        mine = mine.exclude(pk=exclude.pk)
    held = mine.aggregate(n=Sum("units"))["n"] or 0
    if offering.max_per_investor and held + units > offering.max_per_investor:
        left = max(offering.max_per_investor - held, 0)
        msg = (f"An investor may hold at most {offering.max_per_investor} units of this offering; "
               f"you can buy {left} more.")
        raise ApplicationError("max_per_investor", msg, details={"units": [msg]}, status=409)
    if not held:
        others = _holding(Order.objects.filter(offering=offering)).exclude(investor=actor)
        if exclude is not None:
            others = others.exclude(pk=exclude.pk)
        if offering.holder_cap and others.values("investor").distinct().count() >= offering.holder_cap:
            raise ApplicationError("holder_cap_reached", "This offering has reached its maximum number of holders.",
                                   status=409)
    return units, wallet.address


# ---------------------------------------------------------------------------- services


def _absolute(base: str, path: str) -> str:
    return (base or getattr(settings, "SITE_URL", "")).rstrip("/") + path


@transaction.atomic
def order_create(*, actor, offering: Offering, units, idempotency_key: str = "", base_url: str = "") -> Order:
    """Reserve units for an eligible investor and open the checkout for them."""
    from payments.services import checkout_create

    if not user_has_role(actor, Role.INVESTOR):
        raise ApplicationError("forbidden", "Only investors can buy units.", status=403)
    key = f"user:{actor.pk}:{idempotency_key}" if idempotency_key else f"order:{secrets.token_hex(16)}"
    existing = Order.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    # The lock serializes buyers of one offering, so two reservations cannot oversell it.
    offering = Offering.objects.select_for_update().select_related("device").get(pk=offering.pk)
    units, wallet = _check_buyer(actor=actor, offering=offering, units=units)
    now = timezone.now()
    order = Order(investor=actor, offering=offering, units=units, unit_price=offering.price_per_unit,
                  total=quantize(offering.price_per_unit * units, offering.currency), currency=offering.currency,
                  wallet=wallet, reserved_until=now + dt.timedelta(minutes=reservation_minutes()),
                  idempotency_key=key)
    order.full_clean()
    order.save()
    audit(actor=actor, action="tokens.order_reserve", obj=order, after=snapshot(order, ORDER_AUDIT_FIELDS))
    page = reverse("tokens:order-detail", args=[order.public_id])
    payment = checkout_create(
        actor=actor, client_reference_id=str(order.public_id), idempotency_key=f"order:{order.public_id}:checkout",
        description=f"{units} × {offering.token_symbol} ({offering.token_name})", amount=order.total,
        currency=order.currency, success_url=_absolute(base_url, page + "?paid=1"),
        cancel_url=_absolute(base_url, page + "?cancelled=1"),
        metadata={"order": str(order.public_id), "offering": offering.pk, "units": units},
        # Stripe's minimum session lifetime; a payment after our reservation lapsed is re-checked.
        expires_at=int((now + dt.timedelta(minutes=max(30, reservation_minutes()))).timestamp()))
    order.checkout_session_id, order.checkout_url = payment.session_id, payment.checkout_url
    order.save(update_fields=["checkout_session_id", "checkout_url", "updated_at"])
    return order


@transaction.atomic
def order_cancel(*, actor, order: Order) -> Order:
    """The investor gives up a reservation before paying; the units are free again."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.investor_id != actor.pk:
        raise ApplicationError("forbidden", "Only the investor who placed the order can cancel it.", status=403)
    if order.status != OrderStatus.RESERVED:
        raise ApplicationError("order_not_cancellable", "Only an unpaid reservation can be cancelled.", status=409)
    return _transition(actor=actor, order=order, target=OrderStatus.CANCELLED, action="tokens.order_cancel")


def orders_expire_due() -> int:
    """Periodic: release reservations whose time ran out without a payment."""
    n = 0
    due = Order.objects.filter(status=OrderStatus.RESERVED, reserved_until__lte=timezone.now())
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=pk)
            if order.status == OrderStatus.RESERVED and order.reserved_until <= timezone.now():
                _transition(actor=None, order=order, target=OrderStatus.EXPIRED, action="tokens.order_expire",
                            reason=f"Not paid within {reservation_minutes()} minutes")
                n += 1
    return n


@transaction.atomic
def order_payment_received(*, order: Order, amount: Decimal | None, currency: str, session_id: str,
                           event_id: str) -> Order:
    """Checkout webhook (inside the webhook's transaction): paid → mint through the outbox.
    A payment that does not match the order never mints."""
    order = Order.objects.select_for_update().select_related("offering").get(pk=order.pk)
    if order.status in (OrderStatus.PAID, OrderStatus.MINTING, OrderStatus.COMPLETED, OrderStatus.FAILED):
        return order  # a second event for the same checkout changes nothing
    ref = f"payment event {event_id}"
    if amount is None or amount != order.total or currency != order.currency or (
            order.checkout_session_id and session_id != order.checkout_session_id):
        got = format_money(amount, currency) if amount is not None and currency else "an unknown amount"
        error = (f"Payment of {got} does not match the order total {format_money(order.total, order.currency)}; "
                 "no tokens minted. Refund or investigate.")
        logger.error("Order %s: %s (%s)", order.public_id, error, ref)
        return _transition(actor=None, order=order, target=OrderStatus.FAILED, action="tokens.order_payment_mismatch",
                           reason=ref, error=error, amount_received=amount)
    lapsed = order.status == OrderStatus.RESERVED and order.reserved_until <= timezone.now()
    if lapsed or order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED):
        # The units were free for others meanwhile: allocate them again under the lock.
        offering = Offering.objects.select_for_update().get(pk=order.offering_id)
        try:
            _check_buyer(actor=order.investor, offering=offering, units=order.units, exclude=order)
        except ApplicationError as exc:
            how = "was cancelled" if order.status == OrderStatus.CANCELLED else "lapsed"
            error = (f"Paid after the reservation {how}, and the units can no longer be allocated "
                     f"({exc.message}). Refund required.")
            return _transition(actor=None, order=order, target=OrderStatus.FAILED, action="tokens.order_late_payment",
                               reason=ref, error=error, amount_received=amount)
    order = _transition(actor=None, order=order, target=OrderStatus.PAID, action="tokens.order_paid", reason=ref,
                        paid_at=timezone.now(), amount_received=amount)
    tx = outbox_enqueue(actor=None, idempotency_key=order.mint_key, kind=MINT_KIND, contract_name="SecurityToken",
                        function="mint", args=[order.wallet, order.units], to_address=order.offering.token_address,
                        sender="agent", reason=f"primary sale: order {order.public_id}")
    return _transition(actor=None, order=order, target=OrderStatus.MINTING, action="tokens.order_mint",
                       mint_tx=tx)


@transaction.atomic
def order_mint_final(*, order: Order, row) -> Order:
    """Chain hook: the mint is confirmed (→ completed + receipt) or failed (→ failed)."""
    order = Order.objects.select_for_update().select_related("offering", "offering__device", "investor").get(
        pk=order.pk)
    if order.status != OrderStatus.MINTING:
        return order
    if row.status != row.Status.CONFIRMED:
        error = f"Mint failed on chain: {row.error or 'unknown error'}"
        logger.error("Order %s: %s", order.public_id, error)
        return _transition(actor=None, order=order, target=OrderStatus.FAILED, action="tokens.order_mint_failed",
                           reason=error[:500], error=error[:2000])
    order.completed_at = timezone.now()
    pdf = receipt_pdf(order=order, tx_hash=row.tx_hash, block_number=row.block_number)
    order.receipt_pdf.save(f"receipt-{order.public_id}.pdf", ContentFile(pdf), save=False)
    from core.pdf import sha256_hex

    return _transition(actor=None, order=order, target=OrderStatus.COMPLETED, action="tokens.order_completed",
                       receipt_sha256=sha256_hex(pdf), completed_at=order.completed_at)


def receipt_pdf(*, order: Order, tx_hash: str, block_number: int | None) -> bytes:
    from core.pdf import build_pdf, kv_table, para

    o, device = order.offering, order.offering.device
    rows = [
        ("Order", str(order.public_id)),
        ("Investor", order.investor.email),
        ("Date", timezone.localtime(order.completed_at or timezone.now()).strftime("%Y-%m-%d %H:%M %Z")),
        ("Device", str(device)),
        ("Clinic", str(device.organization)),
        ("Token", f"{o.token_name} ({o.token_symbol})"),
        ("Token contract", o.token_address),
        ("Units", str(order.units)),
        ("Price per unit", format_money(order.unit_price, order.currency)),
        ("Total paid", format_money(order.total, order.currency)),
        ("Payment reference", order.checkout_session_id),
        ("Wallet (custodial)", order.wallet),
        ("Mint transaction", tx_hash),
        ("Block", str(block_number or "")),
        ("Chain id", str(o.chain_id or settings.CHAIN_ID)),
    ]
    return build_pdf(title="Purchase receipt", subject=f"Order {order.public_id}", story=[
        para(f"Receipt for the purchase of {order.units} units of {o.token_symbol}, representing a fractional "
             f"interest in a tokenized medical device ({o.revenue_share_pct}% of its revenue is shared with holders)."),
        kv_table(rows),
    ])
