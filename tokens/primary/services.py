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
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy, override

from chain.models import ChainTransaction
from chain.services import outbox_enqueue
from compliance import selectors as kyc
from core.errors import ApplicationError, check_transition
from core.i18n import in_language_for, in_language_of
from core.money import format_money, quantize
from core.pdf import build_pdf, kv_table, para, sha256_hex
from core.permissions import Role, user_has_role
from core.services import audit, snapshot
from core.timefmt import local
from notifications.models import Category as NoticeCategory
from notifications.services import notify
from payments import selectors as payments_selectors
from payments.services import checkout_create, refund_create
from tokens.ledger import holder_wallets, holding_orders, reservation_minutes, units_offered, units_taken
from tokens.models import ORDER_TRANSITIONS, Offering, OfferingStatus, Order, OrderStatus

logger = logging.getLogger(__name__)

MINT_KIND = "tokens.order_mint"
ORDER_AUDIT_FIELDS = ["status", "units", "total", "currency", "wallet", "checkout_session_id", "amount_received",
                      "error", "refunded_at"]


# What the investor is told when their order reaches these states ("" body: the order's error says why).
_ORDER_NOTICES = {
    OrderStatus.PAID: (gettext_lazy("Payment received for your order"),
                       gettext_lazy("We received your payment. Your units are being issued on chain; we will tell you "
                                    "when they are in your wallet.")),
    OrderStatus.COMPLETED: (gettext_lazy("Your units were issued"),
                            gettext_lazy("Your units are in your wallet. The receipt is ready.")),
    OrderStatus.REFUNDING: (gettext_lazy("Your order failed: refund under way"), ""),
    OrderStatus.FAILED: (gettext_lazy("Your order failed"), ""),
    OrderStatus.REFUNDED: (gettext_lazy("Your order was refunded"), ""),
}


def _transition(*, actor, order: Order, target: str, action: str, reason: str = "", **changes) -> Order:
    check_transition(entity="order", table=ORDER_TRANSITIONS, current=order.status, target=target)
    before = snapshot(order, ORDER_AUDIT_FIELDS)
    order.status = target
    for k, v in changes.items():
        setattr(order, k, in_language_for(order.investor, v))  # what the investor is told: in their language
    order.save()
    audit(actor=actor, action=action, obj=order, before=before, after=snapshot(order, ORDER_AUDIT_FIELDS),
          reason=reason)
    if target in _ORDER_NOTICES:
        title, body = _ORDER_NOTICES[target]
        notify(recipient=order.investor, category=NoticeCategory.ORDERS, event_key=f"order:{order.public_id}:{target}",
               title=title, body=body or order.error, url=reverse("tokens:order-detail", args=[order.public_id]))
    return order


# ------------------------------------------------------------------------- eligibility


def eligibility_problem(*, user) -> str:
    """Why this user may not buy now, in words that say what to do ("" = eligible)."""

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


def _destination(actor, address: str = ""):
    """The wallet the units are minted to: the custodial wallet, or one of the investor's own
    linked self-custody wallets once it is registered on chain."""

    if not address:
        return kyc.custodial_wallet(user=actor)
    wallet = kyc.investor_wallet(user=actor, address=address)
    if wallet is None:
        raise ApplicationError("unknown_wallet", gettext("Choose one of your own wallets."),
                               details={"wallet": [gettext("Choose one of your own wallets.")]})
    return wallet


def _check_buyer(*, actor, offering: Offering, units, exclude: Order | None = None,
                 wallet_address: str = "") -> tuple[int, str]:
    """All purchase rules; the offering row must be locked by the caller. Returns (units, wallet)."""

    if offering.status != OfferingStatus.LIVE or not offering.token_address:
        raise ApplicationError("offering_not_live", gettext("This offering is not open for investment."), status=409)
    problem = eligibility_problem(user=actor)
    if problem:
        raise ApplicationError("not_eligible", problem, status=403)
    try:
        units = int(units)
    except (TypeError, ValueError):
        units = 0
    if units < 1:
        raise ApplicationError("invalid_units", gettext("Buy at least one unit."), details={"units": [gettext(
            "Buy at least one unit.")]})
    profile = kyc.investor_profile(user=actor)
    country = profile.residence_country_numeric if profile else None
    if offering.allowed_countries and country not in offering.allowed_countries:
        raise ApplicationError("country_not_allowed",
                               gettext("This offering is not open to investors resident in your country."), status=403)
    wallet = _destination(actor, wallet_address)
    if wallet is None or not wallet.registered_on_chain:
        raise ApplicationError("wallet_not_ready", gettext("This wallet is still being registered on chain. "
                               "Please try again in a minute."), status=409)
    available = units_offered(offering) - units_taken(offering, exclude=exclude)
    if units > available:
        msg = (f"Only {max(available, 0)} unit{'s' if available != 1 else ''} left." if available > 0
               else "This offering is sold out.")
        raise ApplicationError("insufficient_units", msg, details={"units": [msg]}, status=409)
    mine = holding_orders(Order.objects.filter(offering=offering, investor=actor))
    if exclude is not None:
        mine = mine.exclude(pk=exclude.pk)
    held = mine.aggregate(n=Sum("units"))["n"] or 0
    if offering.max_per_investor and held + units > offering.max_per_investor:
        left = max(offering.max_per_investor - held, 0)
        msg = (f"An investor may hold at most {offering.max_per_investor} units of this offering; "
               f"you can buy {left} more.")
        raise ApplicationError("max_per_investor", msg, details={"units": [msg]}, status=409)
    if offering.holder_cap:
        # The cap counts wallets, as the token contract does (tokens.offerings.compliance_params).

        holders = holder_wallets(offering, exclude=exclude)
        if wallet.address.lower() not in holders and len(holders) >= offering.holder_cap:
            raise ApplicationError("holder_cap_reached", gettext(
                "This offering has reached its maximum number of holders."),
                                   status=409)
    return units, wallet.address


# ---------------------------------------------------------------------------- services


def _absolute(base: str, path: str) -> str:
    return (base or getattr(settings, "SITE_URL", "")).rstrip("/") + path


@transaction.atomic
def order_create(*, actor, offering: Offering, units, idempotency_key: str = "", base_url: str = "",
                 wallet: str = "") -> Order:
    """Reserve units for an eligible investor and open the checkout for them. `wallet`: where
    the units are minted (default: the custodial wallet; or a linked self-custody wallet)."""

    if not user_has_role(actor, Role.INVESTOR):
        raise ApplicationError("forbidden", gettext("Only investors can buy units."), status=403)
    key = f"user:{actor.pk}:{idempotency_key}" if idempotency_key else f"order:{secrets.token_hex(16)}"
    existing = Order.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    # The lock serializes buyers of one offering, so two reservations cannot oversell it.
    offering = Offering.objects.select_for_update().select_related("device").get(pk=offering.pk)
    units, wallet = _check_buyer(actor=actor, offering=offering, units=units, wallet_address=wallet)
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
        # The session lapses with the reservation; a payment that still arrives later is re-checked.
        expires_at=int(order.reserved_until.timestamp()))
    order.checkout_session_id, order.checkout_url = payment.session_id, payment.checkout_url
    order.save(update_fields=["checkout_session_id", "checkout_url", "updated_at"])
    return order


@transaction.atomic
def order_cancel(*, actor, order: Order) -> Order:
    """The investor gives up a reservation before paying; the units are free again."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.investor_id != actor.pk:
        raise ApplicationError("forbidden", gettext("Only the investor who placed the order can cancel it."),
            status=403)
    if order.status != OrderStatus.RESERVED:
        raise ApplicationError("order_not_cancellable", gettext("Only an unpaid reservation can be cancelled."),
            status=409)
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


REFUNDING_NOTE = gettext_lazy("No tokens were issued; the full payment is being refunded to you.")
REFUNDED_NOTE = gettext_lazy("No tokens were issued; your payment was refunded in full.")


def _refunded_note(error: str) -> str:
    # The stored text is in the investor's language of the time, whichever that was.
    for code, _name in settings.LANGUAGES:
        with override(code):
            error = error.replace(str(REFUNDING_NOTE), str(REFUNDED_NOTE))
    return error

_UNITS_GONE = {"insufficient_units", "max_per_investor", "holder_cap_reached"}


def _refund_payment(*, order: Order, session_id: str, reason: str) -> bool:
    """Refund the payment received through `session_id` (once per order and session).
    False when there is no such payment to refund."""

    payment = payments_selectors.payment_for_session(session_id=session_id)
    if payment is None or payment.paid_at is None:
        return False
    refund_create(actor=None, payment=payment, reason=f"Order {order.public_id}: {reason}",
                  idempotency_key=f"order:{order.public_id}:refund:{session_id}", reference=str(order.public_id))
    return True


def _refund_order(*, order: Order, session_id: str, error, action: str, ref: str,
                  amount: Decimal | None = None) -> Order:
    """The payment cannot become units: the order says why (`error`, lazy: in the investor's
    language) and the money goes back."""
    changes = {"error": format_lazy("{} {}", error, REFUNDING_NOTE)}
    if amount is not None:
        changes["amount_received"] = amount
    if not _refund_payment(order=order, session_id=session_id, reason=str(error)):
        error = format_lazy("{} {}", error, gettext_lazy("No payment record was found to refund; a platform admin "
                                                         "investigates."))
        logger.error("Order %s: %s (%s)", order.public_id, error, ref)
        return _transition(actor=None, order=order, target=OrderStatus.FAILED, action=action, reason=ref,
                           **{**changes, "error": error})
    logger.warning("Order %s refunded: %s (%s)", order.public_id, error, ref)
    return _transition(actor=None, order=order, target=OrderStatus.REFUNDING, action=action, reason=ref, **changes)


@transaction.atomic
def order_payment_received(*, order: Order, amount: Decimal | None, currency: str, session_id: str,
                           event_id: str) -> Order:
    """Checkout webhook (inside the webhook's transaction): paid → mint through the outbox.
    A payment that cannot become this order's units is refunded, and the order says why."""
    order = Order.objects.select_for_update().select_related("offering").get(pk=order.pk)
    ref = f"payment event {event_id}"
    own = not order.checkout_session_id or session_id == order.checkout_session_id
    if order.status in (OrderStatus.PAID, OrderStatus.MINTING, OrderStatus.COMPLETED, OrderStatus.DISPUTED,
                        OrderStatus.REFUNDING, OrderStatus.REFUNDED, OrderStatus.FAILED):
        if not own or order.status in (OrderStatus.REFUNDING, OrderStatus.REFUNDED):
            # Another payment for an order that is settled: it buys nothing, so it goes back
            # (idempotent per session, so a redelivered event refunds once).
            _refund_payment(order=order, session_id=session_id, reason=(
                f"a further payment (checkout {session_id}) arrived for an order that is already "
                f"{order.get_status_display().lower()}"))
        return order  # a second event for the same checkout changes nothing
    if not own:
        return _refund_order(
            order=order, session_id=session_id, action="tokens.order_session_mismatch", ref=ref, amount=amount,
            error=format_lazy(gettext_lazy("The payment arrived through checkout session {session}, not this order's "
                                           "checkout {own}."), session=session_id, own=order.checkout_session_id))
    if amount is None or amount != order.total or currency != order.currency:
        got = format_money(amount, currency) if amount is not None and currency else gettext_lazy("an unknown amount")
        return _refund_order(
            order=order, session_id=session_id, action="tokens.order_payment_mismatch", ref=ref, amount=amount,
            error=format_lazy(gettext_lazy("The payment of {got} does not match the order total {total}."), got=got,
                              total=format_money(order.total, order.currency)))
    lapsed = order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED) or (
        order.status == OrderStatus.RESERVED and order.reserved_until <= timezone.now())
    # Every rule is checked again under the offering lock: units may have gone to others after
    # the reservation lapsed, and KYC, the wallet or the offering's rules may have changed.
    offering = Offering.objects.select_for_update().get(pk=order.offering_id)
    try:
        _check_buyer(actor=order.investor, offering=offering, units=order.units, exclude=order,
                     wallet_address=order.wallet)
    except ApplicationError as exc:
        if lapsed and exc.code in _UNITS_GONE:
            late = (gettext_lazy("The payment arrived after the reservation was cancelled, and the units were taken "
                                 "meanwhile ({why}).") if order.status == OrderStatus.CANCELLED else
                    gettext_lazy("The payment arrived after the reservation lapsed, and the units were taken meanwhile "
                                 "({why})."))
            return _refund_order(
                order=order, session_id=session_id, action="tokens.order_late_payment", ref=ref, amount=amount,
                error=format_lazy(late, why=exc.message))
        return _refund_order(order=order, session_id=session_id, action="tokens.order_mint_impossible", ref=ref,
                             amount=amount, error=format_lazy(gettext_lazy("The tokens cannot be issued to you: {why}"),
                                                              why=exc.message))
    order = _transition(actor=None, order=order, target=OrderStatus.PAID, action="tokens.order_paid", reason=ref,
                        paid_at=timezone.now(), amount_received=amount, error="")
    tx = outbox_enqueue(actor=None, idempotency_key=order.mint_key, kind=MINT_KIND, contract_name="SecurityToken",
                        function="mint", args=[order.wallet, order.units], to_address=order.offering.token_address,
                        sender="agent", reason=f"primary sale: order {order.public_id}")
    return _transition(actor=None, order=order, target=OrderStatus.MINTING, action="tokens.order_mint",
                       mint_tx=tx)


@transaction.atomic
def order_checkout_closed(*, order: Order, session_id: str, event_type: str, event_id: str) -> Order:
    """`checkout.session.expired` / `…async_payment_failed`: the units are free again at once."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status != OrderStatus.RESERVED or (order.checkout_session_id and
                                                session_id != order.checkout_session_id):
        return order
    if event_type == "checkout.session.async_payment_failed":
        error = gettext_lazy("The payment did not go through (declined by the bank); nothing was charged.")
        reason = "payment failed"
    else:
        error, reason = "", "checkout session expired unpaid"
    return _transition(actor=None, order=order, target=OrderStatus.EXPIRED, action="tokens.order_expire",
                       reason=f"{reason} (payment event {event_id})", error=error)


@transaction.atomic
def order_refund_settled(*, order: Order, session_id: str, fully_refunded: bool, event_id: str) -> Order:
    """`charge.refunded`: the provider confirms the money went back."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    ref = f"payment event {event_id}"
    if order.status == OrderStatus.REFUNDING and fully_refunded:
        return _transition(actor=None, order=order, target=OrderStatus.REFUNDED, action="tokens.order_refunded",
                           reason=ref, refunded_at=timezone.now(),
                           error=_refunded_note(order.error))
    if order.status in (OrderStatus.COMPLETED, OrderStatus.DISPUTED, OrderStatus.MINTING) and (
            session_id == order.checkout_session_id):
        # Refunded outside the platform while the units exist: reconciliation lists it.
        audit(actor=None, action="tokens.order_refunded_with_units", obj=order, reason=ref,
              after={"status": order.status, "units": order.units, "fully_refunded": fully_refunded})
        logger.error("Order %s was refunded at the provider but holds %s minted units", order.public_id,
                     order.units)
    return order


DISPUTE_KIND = "tokens.order_dispute_freeze"


@transaction.atomic
def order_payment_disputed(*, order: Order, session_id: str, dispute_id: str, reason: str, event_id: str) -> Order:
    """`charge.dispute.created`: the buyer's bank reverses the payment. The order's units are
    frozen on chain (agent, through the outbox) until a compliance officer decides
    (`order_dispute_resolve`)."""
    order = Order.objects.select_for_update().select_related("offering").get(pk=order.pk)
    ref = f"payment event {event_id}: dispute {dispute_id} ({reason or 'no reason given'})"
    if session_id != order.checkout_session_id or order.status not in (
            OrderStatus.PAID, OrderStatus.MINTING, OrderStatus.COMPLETED):
        audit(actor=None, action="tokens.order_dispute_noted", obj=order, reason=ref, after={"status": order.status})
        return order
    # Ordered after the mint (outbox `after`): nothing to freeze before the units exist.
    tx = outbox_enqueue(actor=None, idempotency_key=f"order:{order.pk}:dispute-freeze", kind=DISPUTE_KIND,
                        contract_name="SecurityToken", function="freezePartialTokens",
                        args=[order.wallet, order.units], to_address=order.offering.token_address, sender="agent",
                        reason=f"payment dispute on order {order.public_id}", after=order.mint_tx)
    error = format_lazy(gettext_lazy("The payment was disputed with your bank ({reason}). Your {units} units are "
                                     "frozen until a compliance officer reviews the dispute."),
                        reason=reason or gettext_lazy("no reason given"), units=order.units)
    return _transition(actor=None, order=order, target=OrderStatus.DISPUTED, action="tokens.order_disputed",
                       reason=f"{ref}; freeze outbox #{tx.pk}", error=error)


DISPUTE_OUTCOMES = {"won": "the bank sided with the platform", "lost": "the payment went back to the buyer"}


@transaction.atomic
def order_dispute_resolve(*, actor, order: Order, outcome: str, reason: str) -> Order:
    """A compliance officer decides a disputed order once the bank has: `won` unfreezes the
    units (completed again); `lost` burns them, since the money went back (refunded)."""
    if not user_has_role(actor, Role.COMPLIANCE_OFFICER):
        raise ApplicationError("forbidden", "Only compliance officers decide payment disputes.", status=403)
    reason = (reason or "").strip()
    if outcome not in DISPUTE_OUTCOMES:
        raise ApplicationError("invalid_outcome", "Choose won or lost.", details={"outcome": ["Choose won or lost."]})
    if not reason:
        raise ApplicationError("reason_required", "Say why.", details={"reason": ["Say why."]})
    order = Order.objects.select_for_update(of=("self",)).select_related("offering", "mint_tx").get(pk=order.pk)
    if order.status != OrderStatus.DISPUTED:
        raise ApplicationError("order_not_disputed", "This order has no open payment dispute.", status=409)
    if outcome == "won" and (order.mint_tx is None or order.mint_tx.status != order.mint_tx.Status.CONFIRMED):
        raise ApplicationError("mint_pending", "The units are not minted yet; decide once the mint is confirmed.",
                               status=409)
    minted = order.mint_tx is not None and order.mint_tx.status == order.mint_tx.Status.CONFIRMED
    why = f"dispute {outcome} ({DISPUTE_OUTCOMES[outcome]}): {reason}"
    if minted:
        # Only this order's own, minted units: never units the investor paid for in other orders.
        freeze = ChainTransaction.objects.filter(idempotency_key=f"order:{order.pk}:dispute-freeze").first()
        function = "unfreezePartialTokens" if outcome == "won" else "burn"  # burn unfreezes what it takes
        tx = outbox_enqueue(actor=actor, idempotency_key=f"order:{order.pk}:dispute-{outcome}", kind=DISPUTE_KIND,
                            contract_name="SecurityToken", function=function, args=[order.wallet, order.units],
                            to_address=order.offering.token_address, sender="agent",
                            reason=f"dispute {outcome} on order {order.public_id}: {reason}", after=freeze)
        why += f"; outbox #{tx.pk}"
    else:
        why += "; nothing was minted, so nothing is burned"
    if outcome == "won":
        return _transition(actor=actor, order=order, target=OrderStatus.COMPLETED, action="tokens.order_dispute_won",
                           reason=why, error="")
    return _transition(actor=actor, order=order, target=OrderStatus.REFUNDED, action="tokens.order_dispute_lost",
                       reason=why, refunded_at=timezone.now(),
                       error=format_lazy(gettext_lazy("Your bank reversed the payment after a dispute, so your {units} "
                                                      "units were withdrawn."), units=order.units))


@transaction.atomic
def order_refund(*, actor, order: Order, reason: str) -> Order:
    """A platform admin refunds a failed order whose payment was received (order administration)."""
    if not user_has_role(actor, Role.PLATFORM_ADMIN):
        raise ApplicationError("forbidden", gettext("Only platform admins refund orders."), status=403)
    order = Order.objects.select_for_update().get(pk=order.pk)
    if not (reason or "").strip():
        raise ApplicationError("reason_required", gettext("Say why the order is refunded."),
                               details={"reason": [gettext("Say why the order is refunded.")]})
    if order.status != OrderStatus.FAILED:
        raise ApplicationError("order_not_refundable", gettext("Only a failed order is refunded here; other orders are "
                               "refunded automatically."), status=409)
    if not _refund_payment(order=order, session_id=order.checkout_session_id, reason=reason.strip()):
        raise ApplicationError("nothing_to_refund", gettext("No payment was received for this order."), status=409)
    return _transition(actor=actor, order=order, target=OrderStatus.REFUNDING, action="tokens.order_refund",
                       reason=reason.strip(), error=format_lazy(
                           "{} {}" if order.error else "{}{}", order.error,
                           format_lazy(gettext_lazy("Refunded by the platform: {reason}"), reason=reason.strip())))


@transaction.atomic
def order_mint_final(*, order: Order, row) -> Order:
    """Chain hook: the mint is confirmed (→ completed + receipt) or failed (→ refunding)."""
    order = Order.objects.select_for_update().select_related("offering", "offering__device", "investor").get(
        pk=order.pk)
    if order.status not in (OrderStatus.MINTING, OrderStatus.DISPUTED):
        return order
    disputed = order.status == OrderStatus.DISPUTED  # disputed while minting: the officer decides
    if row.status != row.Status.CONFIRMED:
        error = format_lazy(gettext_lazy("The tokens could not be issued on chain ({why})."),
                            why=row.error[:1400] if row.error else gettext_lazy("unknown error"))
        if disputed:
            audit(actor=None, action="tokens.order_mint_failed", obj=order, reason=str(error)[:500])
            return order
        return _refund_order(order=order, session_id=order.checkout_session_id, error=error,
                             action="tokens.order_mint_failed", ref=f"outbox #{row.pk}")
    order.completed_at = timezone.now()
    pdf = receipt_pdf(order=order, tx_hash=row.tx_hash, block_number=row.block_number)
    order.receipt_pdf.save(f"receipt-{order.public_id}.pdf", ContentFile(pdf), save=False)

    if disputed:  # minted, and stays frozen until the dispute is decided
        order.receipt_sha256 = sha256_hex(pdf)
        order.save()
        audit(actor=None, action="tokens.order_minted_while_disputed", obj=order,
              after={"receipt_sha256": order.receipt_sha256, "mint_tx": row.tx_hash})
        return order
    return _transition(actor=None, order=order, target=OrderStatus.COMPLETED, action="tokens.order_completed",
                       receipt_sha256=sha256_hex(pdf), completed_at=order.completed_at)


def receipt_pdf(*, order: Order, tx_hash: str, block_number: int | None, reader=None) -> bytes:
    """The receipt in the reader's language, its date in the reader's own time zone (named). The
    chain hook issues it for the investor; a download renders it again for whoever reads it."""
    reader = reader or order.investor
    with in_language_of(reader):
        return _receipt_pdf(order=order, tx_hash=tx_hash, block_number=block_number, reader=reader)


def receipt_for_reader(*, order: Order, reader) -> bytes:
    """A completed order's receipt as `reader` downloads it: the figures of the receipt issued at
    the mint, the date in the zone (and language) they use now; a person who changed their time
    zone since gets it in the new one. The issued copy, whose SHA-256 is recorded, is unchanged."""
    tx = order.mint_tx
    return receipt_pdf(order=order, tx_hash=tx.tx_hash if tx else "", block_number=tx.block_number if tx else None,
                       reader=reader)


def _receipt_pdf(*, order: Order, tx_hash: str, block_number: int | None, reader) -> bytes:
    _ = gettext
    o, device = order.offering, order.offering.device
    rows = [
        (_("Order"), str(order.public_id)),
        (_("Investor"), order.investor.email),
        (_("Date"), local(order.completed_at or timezone.now(), reader)),  # the reader's zone, named
        (_("Device"), str(device)),
        (_("Clinic"), str(device.organization)),
        (_("Token"), f"{o.token_name} ({o.token_symbol})"),
        (_("Token contract"), o.token_address),
        (_("Units"), str(order.units)),
        (_("Price per unit"), format_money(order.unit_price, order.currency)),
        (_("Total paid"), format_money(order.total, order.currency)),
        (_("Payment reference"), order.checkout_session_id),
        (_("Destination wallet"), order.wallet),
        (_("Mint transaction"), tx_hash),
        (_("Block"), str(block_number or "")),
        (_("Chain id"), str(o.chain_id or settings.CHAIN_ID)),
        # The terms the units were bought on (fixed at tokenization).
        (_("Revenue waterfall (of gross)"),
         _("holders %(holders)s%%, platform fee %(fee)s%%, maintenance reserve %(reserve)s%% up to %(target)s, "
           "clinic %(clinic)s%%; compute revenue %(compute)s") % {
             "holders": o.revenue_share_pct, "fee": o.platform_fee_pct, "reserve": o.reserve_pct,
             "target": format_money(o.reserve_target, o.currency), "clinic": o.clinic_share_pct,
             "compute": _("included") if o.includes_compute_revenue else _("not included")}),
    ]
    return build_pdf(title=_("Purchase receipt"), subject=_("Order %(id)s") % {"id": order.public_id}, story=[
        para(_("Receipt for the purchase of %(units)s units of %(symbol)s, representing a fractional interest in "
               "a tokenized medical device (%(pct)s%% of its revenue is shared with holders).") % {
            "units": order.units, "symbol": o.token_symbol, "pct": o.revenue_share_pct}),
        kv_table(rows),
    ])
