"""Paying for a secondary purchase by card (issue 10, item 3), through the payments port.

A custodial buyer asks for units of a board offer → the units are held for them for the
checkout's lifetime (`market.card_reserved_units` counts them, so no other buyer of the app
takes them; the buyer can cancel before paying to free them at once) → Stripe Checkout (the
local simulator in dev, same signed webhook) → on the paid webhook everything is checked
again (offer still open at the same price with the units, seller still able to deliver,
buyer still eligible, the token's own ERC-1404 answer for seller → buyer is 0) → the
platform's treasury pays for the buyer's units itself: it approves the board and calls
`Settlement.takeFor`, so the stablecoin goes treasury → seller and the units seller → the
buyer's custodial wallet in one transaction, or nothing moves. (Locally the treasury first
mints the MockStablecoin it pays with; on a real chain it pays from its balance, and the
purchase waits, with a message to platform admins, while that balance is short.)

Why the treasury never credits the buyer's wallet first: a credit that rests in a wallet the
buyer can spend (withdraw, another take, a transfer) before the trade settles can be taken —
spend it, let the take fail (a colluding seller only has to withdraw the board's allowance),
and the card is refunded too. With `takeFor` the card money never reaches a user-controlled
wallet, so a failed settlement leaves it with the treasury and the card refund is safe. The
same rule holds for any flow in which the treasury pays for a user.

Who pays the fee: the buyer pays units × price (the card is charged that, rounded up to the
cent; the sub-cent remainder stays with the treasury that received the card payment); the
Settlement contract takes the platform fee out of the seller's proceeds, as for any fill.

Anything that prevents the settlement when the payment lands, or a takeFor that reverts on
chain, refunds the card through `payments.services.refund_create` (one idempotency key per
purchase) and tells the buyer why, on the purchase page and by notification.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from chain import gateway
from chain.services import outbox_enqueue
from compliance.selectors import custodial_wallet, investor_is_eligible
from core.errors import ApplicationError, check_transition
from core.i18n import in_language_for
from core.money import from_token_units, to_token_units
from core.permissions import Role, user_has_role
from core.services import audit, snapshot
from notifications.models import Category
from notifications.services import notify, notify_staff
from payments.selectors import payment_for_session
from payments.services import checkout_create, refund_create
from tokens.ledger import reservation_minutes
from tokens.market import services as market
from tokens.models import (
    MARKET_CARD_TRANSITIONS,
    MarketCardPurchase,
    MarketCardStatus,
    MarketOffer,
    MarketOfferStatus,
    MarketTransfer,
)

logger = logging.getLogger(__name__)

PREFIX = "market-card:"
CURRENCY = "USD"  # the board's stablecoin is USD
CREDIT_KIND = "tokens.market_card_credit"  # the treasury's funding rows (mint locally, approve)
C = MarketCardStatus
AUDIT_FIELDS = ["status", "units", "amount", "paid_base_units", "credit_base_units", "checkout_session_id",
                "error", "paid_at", "refunded_at", "frozen_units"]

# What the buyer is told when the purchase reaches these states (the error says why, if any).
_NOTICES = {
    C.DISPUTED: (gettext_lazy("Your card payment for {token} units was disputed"), "{reason}"),  # the error says it
    C.SETTLED: (gettext_lazy("Your card purchase of {token} units settled"),
                gettext_lazy("{units} units are in your custodial wallet {wallet}. You paid {amount} USD by card.")),
    C.REFUNDING: (gettext_lazy("Your card purchase of {token} units could not settle: refund under way"),
                  gettext_lazy("{reason} Your card payment of {amount} USD is being refunded in full.")),
    C.REFUNDED: (gettext_lazy("Your card purchase of {token} units was refunded"),
                 gettext_lazy("{amount} USD went back to your card. {reason}")),
}


def local_stablecoin() -> bool:
    """Local chains: the treasury mints the mock stablecoin; real chains name theirs."""
    return not getattr(settings, "CHAIN_STABLECOIN_ADDRESS", "")


def _page(p: MarketCardPurchase) -> str:
    return reverse("tokens:market-card-detail", args=[p.public_id])


def _move(*, p: MarketCardPurchase, target: str, action: str, actor=None, reason: str = "",
          **changes) -> MarketCardPurchase:
    check_transition(entity="card purchase", table=MARKET_CARD_TRANSITIONS, current=p.status, target=target)
    before = snapshot(p, AUDIT_FIELDS)
    p.status = target
    for k, v in changes.items():
        setattr(p, k, in_language_for(p.buyer, v))  # what the buyer is told: in their language
    p.full_clean()
    p.save()
    audit(actor=actor, action=action, obj=p, before=before, after=snapshot(p, AUDIT_FIELDS), reason=reason)
    if target in _NOTICES:
        title, body = _NOTICES[target]
        args = {"token": p.offering.token_symbol, "units": p.units, "wallet": p.wallet, "amount": p.amount,
                "reason": p.error}
        notify(recipient=p.buyer, category=Category.MARKET, event_key=f"{p.key}:{target}", url=_page(p),
               title=format_lazy(title, **args), body=format_lazy(body, **args))
    return p


# --------------------------------------------------------------------------- before paying


def _custodial(user):

    w = custodial_wallet(user=user)
    if w is None or not w.registered_on_chain:
        raise ApplicationError("no_custodial_wallet", gettext(
            "Card purchases settle through your custodial wallet, which is not registered on chain yet."), status=409)
    return w


def card_amount(paid_base_units: int, decimals: int) -> tuple[Decimal, int]:
    """(card amount in USD rounded up to the cent, the same in stablecoin base units)."""
    amount = from_token_units(paid_base_units, decimals).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
    return amount, to_token_units(amount, decimals)


def card_check(*, actor, offer: MarketOffer, units) -> dict:
    """What the buyer sees before paying by card: the token's answer for seller → their
    custodial wallet, the units still free, what the card is charged and who pays the fee."""
    market._require_eligible(actor)
    w = _custodial(actor)
    units = market._units(units)
    if offer.seller_id == actor.pk:
        raise ApplicationError("own_offer", gettext("This is your own offer."), status=409)
    available = market._available(offer)
    if units > available:
        raise ApplicationError("units_unavailable", gettext(
            'Only %(available)s units of this offer are still available.') % {"available": available},
            details={"units": [gettext('At most %(available)s.') % {"available": available}]}, status=409)
    token = market.restriction(offer.offering, offer.seller_wallet, w.address, units)
    seller = market.seller_leg(offer, units)
    paid, fee = (int(v) for v in gateway.call(market.BOARD, offer.board_address, "quote", offer.board_offer_id,
                                              units))
    stable, decimals = market.stablecoin()
    amount, credit = card_amount(paid, decimals)
    return {"wallet": gateway.to_checksum(w.address), "units": units, "available": available, "token": token,
            "paid_base_units": paid, "fee_base_units": fee, "paid": from_token_units(paid, decimals),
            "fee": from_token_units(fee, decimals), "amount": amount, "currency": CURRENCY,
            "credit_base_units": credit, "stablecoin": {"address": stable, "decimals": decimals},
            "fee_paid_by": "seller", "seller": seller, "allowed": token["allowed"] and seller["enough"]}


@transaction.atomic
def card_purchase_create(*, actor, offer_id, units, base_url: str = "") -> MarketCardPurchase:
    """Hold the units for this buyer and open the card checkout for units × price."""

    market._require_eligible(actor)
    offer = market.offer_for_buyer(offer_id=offer_id)
    # The offer row lock serializes buyers: two cannot reserve the same last units.
    offer = MarketOffer.objects.select_for_update().select_related("offering").get(pk=offer.pk)
    check = card_check(actor=actor, offer=offer, units=units)
    market._refuse(check["token"], gettext("this purchase"))
    market._refuse_seller(check["seller"], check["units"])
    now = timezone.now()
    reserved_until = min(now + dt.timedelta(minutes=reservation_minutes()), offer.expires_at)
    if reserved_until < now + dt.timedelta(minutes=30):
        # Stripe refuses sessions that live under 30 minutes; the offer would lapse first.
        raise ApplicationError("offer_expiring", gettext(
            "This offer expires in under 30 minutes: too soon for a card checkout. Pay with stablecoin instead."),
            status=409)
    p = MarketCardPurchase(buyer=actor, offer=offer, offering=offer.offering, wallet=check["wallet"],
                           units=check["units"], price_per_unit_base_units=offer.price_per_unit_base_units,
                           stablecoin_address=check["stablecoin"]["address"],
                           stablecoin_decimals=check["stablecoin"]["decimals"],
                           paid_base_units=str(check["paid_base_units"]), fee_base_units=str(check["fee_base_units"]),
                           credit_base_units=str(check["credit_base_units"]), amount=check["amount"],
                           currency=CURRENCY, reserved_until=reserved_until)
    p.full_clean()
    p.save()
    audit(actor=actor, action="tokens.market_card_reserve", obj=p, after=snapshot(p, AUDIT_FIELDS))
    page = (base_url or getattr(settings, "SITE_URL", "")).rstrip("/") + _page(p)
    payment = checkout_create(
        actor=actor, client_reference_id=p.key, idempotency_key=f"{p.key}:checkout",
        description=f"{p.units} × {offer.offering.token_symbol} at {offer.price_per_unit} USD (secondary market)",
        amount=p.amount, currency=CURRENCY, success_url=page + "?paid=1", cancel_url=page + "?cancelled=1",
        metadata={"market_card": str(p.public_id), "offer": offer.pk, "units": p.units},
        expires_at=int(reserved_until.timestamp()))
    p.checkout_session_id, p.checkout_url = payment.session_id, payment.checkout_url
    p.save(update_fields=["checkout_session_id", "checkout_url", "updated_at"])
    return p


@transaction.atomic
def card_purchase_cancel(*, actor, purchase: MarketCardPurchase) -> MarketCardPurchase:
    """The buyer gives up before paying: the units are free for other buyers at once, instead
    of when the checkout lapses."""
    p = MarketCardPurchase.objects.select_for_update().select_related("offering").get(pk=purchase.pk)
    if p.buyer_id != actor.pk:
        raise ApplicationError("forbidden", gettext("Only the buyer can cancel this purchase."), status=403)
    if p.status != C.RESERVED:
        raise ApplicationError("purchase_not_cancellable", gettext(
            "Only a purchase that is not paid yet can be cancelled."), status=409)
    return _move(p=p, target=C.CANCELLED, action="tokens.market_card_cancel", actor=actor,
                 error=gettext_lazy("You cancelled before paying; the units are free again."))


def card_purchase_get_for_user(*, user, public_id) -> MarketCardPurchase:
    p = MarketCardPurchase.objects.select_related("offering", "offer", "fill").filter(public_id=public_id).first()
    if p is None or not (p.buyer_id == user.pk or user_has_role(user, Role.PLATFORM_ADMIN)
                         or user_has_role(user, Role.COMPLIANCE_OFFICER)):
        raise Http404("No such purchase.")
    return p


def my_card_purchases(*, user) -> list[MarketCardPurchase]:
    return list(MarketCardPurchase.objects.select_related("offering").filter(buyer=user)[:50])


# --------------------------------------------------------------------------- when the payment lands


def _purchase(ref: str) -> MarketCardPurchase | None:
    if not (ref or "").startswith(PREFIX):
        return None
    p = (MarketCardPurchase.objects.select_for_update().select_related("offering", "offer", "buyer")
         .filter(public_id=ref[len(PREFIX):]).first())
    if p is None:
        logger.warning("Payment event references unknown card purchase %s", ref)
    return p


def _why_not(p: MarketCardPurchase):
    """Why the paid purchase cannot settle now (a lazy, translatable sentence), or None."""

    offer = MarketOffer.objects.select_for_update().get(pk=p.offer_id)
    if offer.status != MarketOfferStatus.OPEN or offer.board_offer_id is None:
        return gettext_lazy("The offer is no longer on the board (filled, cancelled or expired).")
    seller, _, units, price, expiry = gateway.call(market.BOARD, offer.board_address, "offer", offer.board_offer_id)
    if int(seller, 16) == 0:
        return gettext_lazy("The offer is no longer on the board (filled, cancelled or expired).")
    if int(price) != p.price_per_unit_base_units:
        return gettext_lazy("The seller changed the offer's price after you started paying.")
    if int(expiry) <= int(timezone.now().timestamp()) + 60:
        return gettext_lazy("The offer expired before your payment arrived.")
    free = market._available(offer, remaining=int(units), exclude_card_pk=p.pk)
    if p.units > free:
        return format_lazy(gettext_lazy("Only {free} units of the offer were left when your payment arrived."),
                           free=free)
    if not investor_is_eligible(user=p.buyer):
        return gettext_lazy("Your KYC approval is no longer active, so you cannot receive the units.")
    if not market.seller_leg(offer, p.units)["enough"]:
        return gettext_lazy("The seller can no longer deliver these units (they moved them or withdrew the "
                            "board's allowance).")
    r = market.restriction(p.offering, offer.seller_wallet, p.wallet, p.units)
    if not r["allowed"]:
        return format_lazy(gettext_lazy("The token refuses the transfer: code {code} — {message}."), code=r["code"],
                           message=r["message"])
    return None


def _refund(p: MarketCardPurchase, *, reason, session_id: str, action: str) -> MarketCardPurchase:

    payment = payment_for_session(session_id=session_id or p.checkout_session_id)
    if payment is None or payment.paid_at is None:
        logger.error("Card purchase %s: no paid payment %s to refund", p.pk, session_id)
        raise ApplicationError("payment_unknown", f"No paid payment {session_id!r} to refund.", status=500)
    refund_create(actor=None, payment=payment, reason=f"MedRWA market purchase {p.public_id}: {reason}",
                  idempotency_key=f"{p.key}:refund:{payment.session_id}", reference=p.key)
    return _move(p=p, target=C.REFUNDING, action=action, reason=str(reason), error=reason)


def on_checkout_completed(event) -> None:
    """payments hook, inside the webhook's transaction (a raise makes the provider redeliver)."""
    if event.payment_status != "paid":
        return
    p = _purchase(event.client_reference_id)
    if p is None:
        return
    if p.paid_at is not None:
        if event.session_id != p.checkout_session_id:  # another checkout for a settled purchase
            _refund_extra(p, session_id=event.session_id)
        return  # the same payment told again (redelivery, async success): one settlement
    p.paid_at = timezone.now()  # saved by whichever transition follows
    if event.amount is None or event.amount != p.amount or (event.currency or "").upper() != p.currency:
        _refund(p, session_id=event.session_id, action="tokens.market_card_amount_mismatch", reason=format_lazy(
            gettext_lazy("The payment of {got} {currency} does not match the price of {amount} USD."),
            got=event.amount, currency=event.currency, amount=p.amount))
        return
    reason = _why_not(p)
    if reason is not None:
        _refund(p, reason=reason, session_id=event.session_id, action="tokens.market_card_refused")
        return
    _settle(p)


def _refund_extra(p: MarketCardPurchase, *, session_id: str) -> None:

    payment = payment_for_session(session_id=session_id)
    if payment is not None and payment.paid_at is not None:
        refund_create(actor=None, payment=payment, reason=f"MedRWA market purchase {p.public_id}: already paid",
                      idempotency_key=f"{p.key}:refund:{session_id}", reference=p.key)


def _settle(p: MarketCardPurchase, *, actor=None) -> MarketCardPurchase:
    """The treasury pays for the buyer's units: (mint locally →) approve the board → takeFor,
    all signed by the treasury, in that order. Nothing reaches the buyer's wallet but units."""
    paid = int(p.paid_base_units)
    stable = p.stablecoin_address
    treasury = gateway.address_of("agent")
    # Card purchases whose takeFor is still in flight: their payment is committed.
    in_flight = sum(int(v) for v in MarketCardPurchase.objects.filter(
        status=C.SETTLING, fill__status=MarketTransfer.Status.PENDING).exclude(pk=p.pk).values_list(
        "paid_base_units", flat=True))
    if not local_stablecoin():
        balance = int(gateway.call(market.STABLE, stable, "balanceOf", treasury))
        if balance - in_flight < paid:
            return _wait_for_funds(p, actor=actor, why=(
                f"The treasury wallet {treasury} holds {balance} stablecoin base units ({in_flight} already "
                f"committed); this purchase needs {paid}. Fund it; the purchase then settles on its own."))
    offer = MarketOffer.objects.select_related("offering").get(pk=p.offer_id)
    why = f"card purchase {p.public_id}"
    funded = None
    if local_stablecoin():
        funded = outbox_enqueue(
            actor=actor, idempotency_key=f"{p.key}:credit", kind=CREDIT_KIND, contract_name=market.STABLE,
            function="mint", args=[treasury, paid], to_address=stable, sender="agent",
            reason=f"{why}: the treasury takes in {p.amount} USD paid by card (local stablecoin)")
    # approve sets the allowance: it covers the treasury's other card fills still in flight too
    approve = outbox_enqueue(
        actor=actor, idempotency_key=f"{p.key}:approve", kind=CREDIT_KIND, contract_name=market.STABLE,
        function="approve", args=[offer.board_address, in_flight + paid], to_address=stable, sender="agent",
        after=funded, reason=f"{why}: let the board take {paid} base units from the treasury")
    take = outbox_enqueue(
        actor=actor, idempotency_key=f"{p.key}:take", kind="tokens.market_take", contract_name=market.BOARD,
        function="takeFor", args=[offer.board_offer_id, p.units, p.price_per_unit_base_units, p.wallet],
        to_address=offer.board_address, sender="agent", after=approve,
        reason=f"{why}: buy {p.units} {offer.offering.token_symbol} (offer {offer.board_offer_id}) for {p.wallet}")
    fill = market._fill_row(p.buyer, offer, {"wallet": p.wallet, "units": p.units},
                            paid_base_units=p.paid_base_units, fee_base_units=p.fee_base_units, chain_tx=take)
    return _move(p=p, actor=actor, target=C.SETTLING, action="tokens.market_card_settle",
                 credit_tx=funded or approve, fill=fill, error="")


def _wait_for_funds(p: MarketCardPurchase, *, actor, why: str) -> MarketCardPurchase:

    if p.status == C.WAITING_FUNDS:
        if p.error != why:
            MarketCardPurchase.objects.filter(pk=p.pk).update(error=why, updated_at=timezone.now())
        return p
    p = _move(p=p, actor=actor, target=C.WAITING_FUNDS, action="tokens.market_card_waiting_funds", reason=why,
              error=gettext_lazy("Paid. The purchase settles as soon as the platform's stablecoin treasury is "
                                 "funded."))
    notify_staff(roles=[Role.PLATFORM_ADMIN], category=Category.MARKET, event_key=f"{p.key}:waiting_funds",
                 url=_page(p), title=gettext_lazy("A card purchase waits for treasury stablecoin"), body=why)
    return p


def on_take_final(row) -> None:
    """chain hook (after market.on_transfer_final) for the takeFor of a card purchase. A failed
    takeFor moved nothing out of the treasury, so the card is refunded at once."""
    p = (MarketCardPurchase.objects.select_for_update().select_related("offering", "buyer")
         .filter(fill__chain_tx=row, status=C.SETTLING).first())
    if p is None:
        return
    if row.status == row.Status.CONFIRMED:
        _move(p=p, target=C.SETTLED, action="tokens.market_card_settled")
        return
    reason = market.explain(row.error or "the settlement failed", p.offering)
    _refund(p, reason=format_lazy(gettext_lazy("The settlement on chain failed: {reason}"), reason=reason),
            session_id=p.checkout_session_id, action="tokens.market_card_settle_failed")


def on_charge_refunded(event) -> None:
    fully = event.amount_refunded is not None and event.amount is not None and event.amount_refunded >= event.amount
    for ref in dict.fromkeys([event.client_reference_id, *event.refund_references]):
        p = _purchase(ref)
        if p is not None and p.status == C.REFUNDING and fully and event.session_id == p.checkout_session_id:
            _move(p=p, target=C.REFUNDED, action="tokens.market_card_refunded", refunded_at=timezone.now(),
                  reason=f"payment event {event.event_id}")


def on_checkout_closed(event) -> None:
    p = _purchase(event.client_reference_id)
    if p is not None and p.status == C.RESERVED:
        _move(p=p, target=C.EXPIRED, action="tokens.market_card_expire", reason=event.type,
              error=gettext_lazy("The checkout closed unpaid; the units are free again."))


# --------------------------------------------------------------------------- chargebacks

DISPUTE_KIND = "tokens.market_card_dispute"
DISPUTE_OUTCOMES = {"won": "the bank sided with the platform", "lost": "the payment went back to the buyer"}


def _tell_staff(p: MarketCardPurchase, *, event: str, title, body) -> None:
    """Compliance officers decide the dispute; platform admins see the treasury's exposure."""
    notify_staff(roles=[Role.COMPLIANCE_OFFICER, Role.PLATFORM_ADMIN], category=Category.MARKET,
                 event_key=f"{p.key}:{event}", url=_page(p), title=title, body=body)


def on_dispute_created(event) -> None:
    """payments hook: `charge.dispute.created` for a card purchase. The treasury already paid the
    seller, so the units this purchase brought that the buyer still holds are frozen on chain
    (ordered after the takeFor when it is still in flight) until a compliance officer decides;
    a purchase not settled yet is not settled at all."""
    p = _purchase(event.client_reference_id)
    if p is None:
        return
    ref = f"payment event {event.event_id}: dispute {event.object_id} ({event.reason or 'no reason given'})"
    if event.session_id != p.checkout_session_id or p.status not in (C.WAITING_FUNDS, C.SETTLING, C.SETTLED):
        audit(actor=None, action="tokens.market_card_dispute_noted", obj=p, reason=ref, after={"status": p.status})
        return
    units, after = 0, None
    if p.status == C.SETTLING:
        units, after = p.units, p.fill.chain_tx
    elif p.status == C.SETTLED:
        token = p.offering.token_address
        free = int(gateway.call(market.TOKEN, token, "balanceOf", p.wallet)) - int(
            gateway.call(market.TOKEN, token, "getFrozenTokens", p.wallet))
        units = max(0, min(p.units, free))  # units sold on before the dispute cannot be frozen
    tx = None
    if units:
        tx = outbox_enqueue(actor=None, idempotency_key=f"{p.key}:dispute-freeze", kind=DISPUTE_KIND,
                            contract_name=market.TOKEN, function="freezePartialTokens", args=[p.wallet, units],
                            to_address=p.offering.token_address, sender="agent", after=after,
                            reason=f"card payment disputed on market purchase {p.public_id}")
    error = format_lazy(gettext_lazy("The card payment was disputed with your bank ({reason}). {units} units of "
                                     "this purchase are frozen until a compliance officer reviews the dispute."),
                        reason=event.reason or gettext_lazy("no reason given"), units=units)
    p = _move(p=p, target=C.DISPUTED, action="tokens.market_card_disputed", reason=ref, error=error,
              frozen_units=units, dispute_freeze_tx=tx)
    _tell_staff(p, event="disputed", title=gettext_lazy("A card payment for market units was disputed"),
                body=format_lazy(gettext_lazy("{amount} USD for {units} {token} units ({reason}); {frozen} units "
                                              "frozen. Decide the dispute once the bank has."),
                                 amount=p.amount, units=p.units, token=p.offering.token_symbol,
                                 reason=event.reason or gettext_lazy("no reason given"), frozen=units))


@transaction.atomic
def card_dispute_resolve(*, actor, purchase: MarketCardPurchase, outcome: str, reason: str) -> MarketCardPurchase:
    """A compliance officer decides a disputed card purchase once the bank has: `won` unfreezes
    the units (or lets a purchase that never settled settle); `lost` burns the frozen units,
    since the money went back — what the treasury paid the seller is its loss, told to admins."""
    if not user_has_role(actor, Role.COMPLIANCE_OFFICER):
        raise ApplicationError("forbidden", gettext("Only compliance officers decide payment disputes."), status=403)
    reason = (reason or "").strip()
    if outcome not in DISPUTE_OUTCOMES:
        raise ApplicationError("invalid_outcome", gettext("Choose won or lost."),
                               details={"outcome": [gettext("Choose won or lost.")]})
    if not reason:
        raise ApplicationError("reason_required", gettext("Say why."), details={"reason": [gettext("Say why.")]})
    p = MarketCardPurchase.objects.select_for_update(of=("self",)).select_related(
        "offering", "fill", "fill__chain_tx", "dispute_freeze_tx").get(pk=purchase.pk)
    if p.status != C.DISPUTED:
        raise ApplicationError("purchase_not_disputed", gettext("This purchase has no open payment dispute."),
                               status=409)
    fill_tx = p.fill.chain_tx if p.fill is not None else None
    if fill_tx is not None and fill_tx.status not in (fill_tx.Status.CONFIRMED, fill_tx.Status.FAILED):
        raise ApplicationError("settlement_pending", gettext(
            "The settlement is still on its way to the chain; decide once it is final."), status=409)
    settled = fill_tx is not None and fill_tx.status == fill_tx.Status.CONFIRMED
    why = f"dispute {outcome} ({DISPUTE_OUTCOMES[outcome]}): {reason}"
    if settled and p.frozen_units:
        function = "unfreezePartialTokens" if outcome == "won" else "burn"  # burn takes the frozen units
        tx = outbox_enqueue(actor=actor, idempotency_key=f"{p.key}:dispute-{outcome}", kind=DISPUTE_KIND,
                            contract_name=market.TOKEN, function=function, args=[p.wallet, p.frozen_units],
                            to_address=p.offering.token_address, sender="agent", after=p.dispute_freeze_tx,
                            reason=f"dispute {outcome} on market purchase {p.public_id}: {reason}")
        why += f"; outbox #{tx.pk}"
    if outcome == "won":
        if settled:
            return _move(p=p, actor=actor, target=C.SETTLED, action="tokens.market_card_dispute_won", reason=why,
                         error="")
        if fill_tx is None:  # never settled: it settles now, checked again like a fresh payment
            return _move(p=p, actor=actor, target=C.WAITING_FUNDS, action="tokens.market_card_dispute_won",
                         reason=why, error=gettext_lazy("Paid. The purchase settles shortly."))
        # The takeFor failed while the dispute was open: the money is ours again, so it goes back.
        return _refund(p, reason=gettext_lazy("The settlement on chain failed."), session_id=p.checkout_session_id,
                       action="tokens.market_card_dispute_won")
    p = _move(p=p, actor=actor, target=C.REFUNDED, action="tokens.market_card_dispute_lost", reason=why,
              refunded_at=timezone.now(), error=format_lazy(gettext_lazy(
                  "Your bank reversed the payment after a dispute, so the {units} frozen units of this purchase were "
                  "withdrawn."), units=p.frozen_units))
    if settled:
        _tell_staff(p, event="dispute_lost", title=gettext_lazy("A lost card dispute cost the treasury"),
                    body=format_lazy(gettext_lazy("The treasury paid the seller {paid} USD for market purchase {id}; "
                                                  "the card payment went back and {units} units were burned."),
                                     paid=from_token_units(int(p.paid_base_units), p.stablecoin_decimals),
                                     id=p.public_id, units=p.frozen_units))
    return p


def card_purchases_tick() -> int:
    """Periodic: release lapsed reservations; settle paid purchases once the treasury is funded."""
    n = 0
    for pk in MarketCardPurchase.objects.filter(status=C.RESERVED, reserved_until__lte=timezone.now()).values_list(
            "pk", flat=True):
        with transaction.atomic():
            p = MarketCardPurchase.objects.select_for_update().select_related("offering", "buyer").get(pk=pk)
            if p.status == C.RESERVED and p.reserved_until <= timezone.now():
                _move(p=p, target=C.EXPIRED, action="tokens.market_card_expire", reason="reservation lapsed",
                      error=gettext_lazy("Not paid in time; the units are free again."))
                n += 1
    for pk in MarketCardPurchase.objects.filter(status=C.WAITING_FUNDS).values_list("pk", flat=True):
        try:
            with transaction.atomic():
                p = MarketCardPurchase.objects.select_for_update().select_related("offering", "buyer", "offer").get(
                    pk=pk)
                if p.status != C.WAITING_FUNDS:
                    continue
                reason = _why_not(p)
                if reason is not None:
                    _refund(p, reason=reason, session_id=p.checkout_session_id, action="tokens.market_card_refused")
                else:
                    _settle(p)
                n += 1
        except gateway.ChainUnavailable:
            logger.warning("Card purchase %s: chain unreachable; retried next tick", pk)
    return n
