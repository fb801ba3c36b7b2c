"""The secondary market: transfers between investors and the offer board, settled atomically
on chain by the Settlement contract (delivery versus payment).

Every refusal the token can give is its own ERC-1404 answer, read live from the chain
(`detectTransferRestriction` code + `messageForTransferRestriction` text) before anything is
signed, and decoded from the revert (`TransferRestricted(code)`) if the chain changed since.
Custodial wallets sign through the outbox with their own key (sender "wallet:<address>",
key from `custodial_key`, registered as chain's key provider); the operator first tops the
wallet up with just enough ETH (a row ordered before it), so investors never need ETH.
Self-custody wallets sign in the browser: `*_prepare` returns the calls (EIP-1193
eth_sendTransaction from/to/data), `*_track` records the hash of the final call, and
`*_refresh` reads its receipt — amounts always come from the chain's events, never the page.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import models, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from accounts.models import User
from chain import gateway
from chain.models import ChainEvent, ChainTransaction
from chain.selectors import deployment_address
from chain.services import index_address, index_follow, outbox_enqueue, outbox_enqueue_gas_topup
from compliance.models import Wallet
from compliance.selectors import investor_is_eligible, investor_wallet, investor_wallets
from core.crypto import decrypt_str
from core.errors import ApplicationError, check_transition
from core.money import format_money, from_token_units, to_token_units, unit_price_text
from core.permissions import Role, user_has_role
from core.services import audit
from notifications.models import Category
from notifications.services import notify
from tokens.ledger import balances_at, investor_holdings, tracked_tx
from tokens.models import (
    MARKET_OFFER_TRANSITIONS,
    MarketCardPurchase,
    MarketCardStatus,
    MarketOffer,
    MarketOfferStatus,
    MarketTransfer,
    Offering,
    OfferingStatus,
)

BOARD = "Settlement"
TOKEN = "SecurityToken"  # noqa: S105 - a contract name
STABLE = "MockStablecoin"  # any ERC-20 with this ABI subset (balanceOf/allowance/approve/decimals)
# Gas budgets the operator pre-funds per custodial call (the outbox signs with estimate x 1.25
# + 10,000 as the limit, and the node wants limit x max fee up front). Measured: approve
# ~49k, post ~124k, take ~95-130k, cancel ~30k, transfer ~56-77k.
GAS = {"approve": 100_000, "post": 200_000, "take": 250_000, "cancel": 80_000, "transfer": 150_000}
S = MarketOfferStatus
T = MarketTransfer.Status
_RESTRICTED = re.compile(r"TransferRestricted\((\d+)\)")


def _usd_text(base_units: int, decimals: int) -> str:
    return format_money(from_token_units(base_units, decimals), "USD")


# Money in a notice is formatted when it is rendered, in the recipient's language.
_money = lazy(_usd_text, str)


# --------------------------------------------------------------------------- chain reads


def board_address() -> str:

    address = deployment_address(BOARD)
    index_follow(address=address, contract_name=BOARD)  # market data comes from its events
    return address


def stablecoin() -> tuple[str, int]:
    board = board_address()
    address = gateway.call(BOARD, board, "stablecoin")
    return address, int(gateway.call(STABLE, address, "decimals"))


def restriction(offering: Offering, sender: str, receiver: str, units: int) -> dict:
    """The token's own ERC-1404 answer for moving `units` from `sender` to `receiver` (a
    seller-side check when both are the same wallet), read live."""
    code = int(gateway.call(TOKEN, offering.token_address, "detectTransferRestriction", sender, receiver, units))
    message = gateway.call(TOKEN, offering.token_address, "messageForTransferRestriction", code)
    return {"code": code, "message": message, "allowed": code == 0}


def seller_leg(offer: MarketOffer, units: int) -> dict:
    """Can the seller still deliver `units` of this offer: their balance and the board's
    allowance on the token, read live. A seller who moved the units or withdrew the allowance
    would make the fill revert; the buyer is told before paying, not after."""
    token, board = offer.offering.token_address, offer.board_address
    balance = int(gateway.call(TOKEN, token, "balanceOf", offer.seller_wallet))
    allowance = int(gateway.call(TOKEN, token, "allowance", offer.seller_wallet, board))
    return {"balance": balance, "allowance": allowance, "enough": balance >= units and allowance >= units}


def _refuse_seller(leg: dict, units: int) -> None:
    if not leg["enough"]:
        raise ApplicationError("seller_cannot_deliver", gettext(
            "The seller can no longer deliver these units (they moved them or withdrew the board's allowance)."),
            details={"units": units, "seller_balance": leg["balance"], "seller_allowance": leg["allowance"]},
            status=409)


def _refuse(r: dict, what: str = "this transfer") -> None:
    if not r["allowed"]:
        raise ApplicationError(
            "transfer_restricted", gettext('The token refuses %(what)s: code %(r)s — %(r2)s.') % {"what": what,
                "r": r['code'], "r2": r['message']},
            details={"restriction_code": r["code"], "restriction_message": r["message"]}, status=409)


def explain(error: str, offering: Offering | None) -> str:
    """A failed row's error with the token's code and message instead of a bare error name."""
    m = _RESTRICTED.search(error or "")
    if m is None or offering is None:
        return error
    code = int(m.group(1))
    try:
        message = gateway.call(TOKEN, offering.token_address, "messageForTransferRestriction", code)
    except gateway.ChainUnavailable:
        return error
    return f"The token refused the transfer: code {code} — {message}."


def custodial_key(address: str) -> str | None:
    """chain's key provider: the decrypted key of a platform-held (custodial) wallet, else None."""

    w = Wallet.objects.filter(address__iexact=address, kind=Wallet.Kind.CUSTODIAL).exclude(
        encrypted_private_key="").first()
    return decrypt_str(w.encrypted_private_key) if w is not None else None


# --------------------------------------------------------------------------- helpers


def _norm(address: str) -> str:
    return address.lower()


def _wallet_of(user, address: str):

    wallet = investor_wallet(user=user, address=address)
    if wallet is not None:
        return wallet
    raise ApplicationError("unknown_wallet", gettext("Choose one of your own wallets."),
                           details={"wallet": [gettext("Not one of your wallets.")]})


def _require_eligible(user) -> None:

    if not investor_is_eligible(user=user):
        raise ApplicationError("not_eligible", gettext("Your KYC approval is not active; trading needs an approved, "
                               "current verification."), status=403)


def _live(offering: Offering) -> None:
    if offering.status != OfferingStatus.LIVE or not offering.token_address:
        raise ApplicationError("not_tradable", gettext("This token is not live."), status=409)


def _units(value) -> int:
    try:
        units = int(value)
    except (TypeError, ValueError):
        units = 0
    if units <= 0:
        raise ApplicationError("invalid_units", gettext("Enter a whole number of units, at least 1."),
                               details={"units": [gettext("At least 1.")]})
    return units


def _balance(offering: Offering, wallet: str) -> int:
    return int(gateway.call(TOKEN, offering.token_address, "balanceOf", wallet))


def _custodial_calls(*, actor, key: str, wallet: str, calls: list[tuple], kind: str, reason: str, after=None):
    """Top-up (operator) → each call signed by the custodial wallet, in order (all of it after
    `after`, e.g. the treasury's stablecoin credit of a card purchase). Returns the last row."""
    prev = outbox_enqueue_gas_topup(actor=actor, idempotency_key=f"{key}:gas", wallet=wallet,
                                    gas=sum(GAS[c[0]] for c in calls), reason=f"gas for {reason}", after=after)
    for i, (budget, contract_name, to, function, args) in enumerate(calls):
        last = i == len(calls) - 1
        prev = outbox_enqueue(actor=actor, idempotency_key=f"{key}:{i}:{function}",
                              kind=kind if last else "tokens.market_step", contract_name=contract_name,
                              function=function, args=args, to_address=to, sender=gateway.wallet_sender(wallet),
                              after=prev, reason=f"{reason} ({budget})")
    return prev


def _browser_tx(wallet: str, steps: list[tuple]) -> dict:
    return {"from": gateway.to_checksum(wallet), "chainId": hex(settings.CHAIN_ID),
            "steps": [{"label": label, **gateway.encode_call(name, to, fn, *args)}
                      for label, name, to, fn, args in steps]}


def _receipt(tx_hash: str, names: list[str]) -> dict | None:
    """The receipt of a browser-sent transaction; None while pending or the node is unreachable
    (the page keeps following it)."""
    try:
        return gateway.receipt_status(tx_hash, tuple(names))
    except gateway.ChainUnavailable:
        return None


# --------------------------------------------------------------------------- recipients and transfers


# The token's ERC-1404 codes about the sender alone (SecurityToken.sol: paused, sender frozen,
# insufficient unfrozen balance, locked up); every other refusal is about the receiver.
SENDER_CODES = frozenset({1, 2, 4, 9})


def _by_email(to: str) -> bool:
    return "@" in (to or "")


def _cannot_receive_by_email() -> ApplicationError:
    """The one answer for every email that cannot receive, whatever the reason (no such user,
    not an investor, KYC not approved or expired, no registered wallet, or a receiver-side rule
    of the token): telling them apart would tell anyone who uses the platform, and how."""
    return ApplicationError("recipient_cannot_receive", gettext(
        "These units cannot be sent to this email. Only a verified investor whose wallet this token accepts "
        "can receive them by email; enter the recipient's wallet address to see the token's own answer."),
        details={"to": [gettext("Cannot receive these units by email.")]}, status=409)


def resolve_recipient(to: str) -> tuple[str, object | None]:
    """(wallet address, investor or None) for an email of a registered investor (their
    custodial wallet, else their first registered wallet) or a wallet address. An email that
    resolves to no registered wallet gets the same answer as any email that cannot receive."""

    to = (to or "").strip()
    if _by_email(to):
        user = User.objects.filter(email__iexact=to, is_active=True).first()
        wallets = investor_wallets(user=user) if user is not None else []
        wallet = next((w for w in wallets if w.registered_on_chain), None)
        if wallet is None:
            raise _cannot_receive_by_email()
        return gateway.to_checksum(wallet.address), user
    try:
        address = gateway.to_checksum(to)
    except (ValueError, TypeError):
        raise ApplicationError("invalid_recipient", gettext("Enter the recipient's email or a 0x wallet address."),
                               details={"to": [gettext("An email or a 0x address.")]}) from None

    w = Wallet.objects.select_related("profile__user").filter(address__iexact=address).first()
    return address, (w.profile.user if w is not None else None)


def _sender_side(offering: Offering, wallet: str, units: int) -> int:
    """The sender's balance, once units bought by card and still held are refused."""
    balance = _balance(offering, wallet)
    _refuse_card_hold(offering, wallet, units=units + _open_units(wallet, offering), balance=balance)
    return balance


def transfer_check(*, actor, offering: Offering, wallet: str, to: str, units) -> dict:
    """What the page shows before the holder confirms: the token's answer, live.

    For a wallet address, the token's ERC-1404 answer for this sender, receiver and amount.
    For an email, only what is the holder's own (the token's answer for the units leaving
    their wallet, asked before the email is looked up) and then allowed or the one refusal
    for every email that cannot receive: the receiver-side codes (not verified, country,
    maximum balance, holder cap) would say whether, and where, the email's owner invests."""
    _live(offering)
    w = _wallet_of(actor, wallet)
    units = _units(units)
    by_email = _by_email(to)
    balance = None
    if by_email:
        balance = _sender_side(offering, w.address, units)
        # The token's answer for these units leaving the wallet (its seller-side check); the
        # codes it gives about the wallet as a receiver do not apply to a sender.
        own = restriction(offering, w.address, w.address, units)
        if own["code"] in SENDER_CODES:
            return {"from": gateway.to_checksum(w.address), "to": (to or "").strip(), "units": units,
                    "self_custody": w.kind == "self_custody", "recipient_known": False, "balance": balance, **own}
    address, user = resolve_recipient(to)
    if _norm(address) == _norm(w.address):
        raise ApplicationError("same_wallet", gettext("Sender and recipient are the same wallet."),
                               details={"to": [gettext("Choose another investor.")]})
    if balance is None:
        balance = _sender_side(offering, w.address, units)
    r = restriction(offering, w.address, address, units)
    if by_email and not r["allowed"] and r["code"] not in SENDER_CODES:
        raise _cannot_receive_by_email()
    return {"from": gateway.to_checksum(w.address), "to": address, "units": units,
            "self_custody": w.kind == "self_custody", "recipient_known": user is not None,
            "balance": balance, **r}


@transaction.atomic
def transfer_create(*, actor, offering: Offering, wallet: str, to: str, units) -> MarketTransfer:
    """A custodial holder's transfer: signed with their custodial key through the outbox."""
    _require_eligible(actor)
    check = transfer_check(actor=actor, offering=offering, wallet=wallet, to=to, units=units)
    if check["self_custody"]:
        raise ApplicationError("self_custody_wallet", gettext(
            "Send from a self-custody wallet with your browser wallet."),
                               status=409)
    _refuse(check)
    _, recipient = resolve_recipient(to)
    t = MarketTransfer(kind=MarketTransfer.Kind.TRANSFER, offering=offering, actor=actor, counterparty=recipient,
                       from_wallet=check["from"], to_wallet=check["to"], units=check["units"])
    t.full_clean()
    t.save()
    t.chain_tx = _custodial_calls(
        actor=actor, key=f"market:transfer:{t.pk}", wallet=t.from_wallet, kind="tokens.market_transfer",
        calls=[("transfer", TOKEN, offering.token_address, "transfer", [t.to_wallet, t.units])],
        reason=f"transfer {t.units} {offering.token_symbol} to {t.to_wallet}")
    t.save(update_fields=["chain_tx", "updated_at"])
    audit(actor=actor, action="tokens.market_transfer", obj=t,
          after={"from": t.from_wallet, "to": t.to_wallet, "units": t.units, "token": offering.token_address})
    return t


def transfer_prepare(*, actor, offering: Offering, wallet: str, to: str, units) -> dict:
    _require_eligible(actor)
    check = transfer_check(actor=actor, offering=offering, wallet=wallet, to=to, units=units)
    if not check["self_custody"]:
        raise ApplicationError("custodial_wallet", gettext("The platform signs for custodial wallets."), status=409)
    _refuse(check)
    return {**_browser_tx(check["from"], [("transfer", TOKEN, offering.token_address, "transfer",
                                           [check["to"], check["units"]])]), "check": check}


@transaction.atomic
def transfer_track(*, actor, offering: Offering, wallet: str, to: str, units, tx_hash: str) -> MarketTransfer:
    tx_hash, existing = tracked_tx(MarketTransfer, tx_hash=tx_hash, owner_field="actor", actor=actor)
    if existing is not None:
        return existing
    w = _wallet_of(actor, wallet)
    address, recipient = resolve_recipient(to)
    t = MarketTransfer.objects.create(kind=MarketTransfer.Kind.TRANSFER, offering=offering, actor=actor,
                                      counterparty=recipient, from_wallet=gateway.to_checksum(w.address),
                                      to_wallet=address, units=_units(units), self_custody=True, tx_hash=tx_hash)
    audit(actor=actor, action="tokens.market_transfer_track", obj=t, after={"tx_hash": tx_hash})
    return transfer_refresh(t=t)


def transfer_refresh(*, t: MarketTransfer) -> MarketTransfer:
    """A browser-sent transfer or fill: read its receipt (pending until mined)."""
    if t.status != T.PENDING or not t.self_custody:
        return t
    receipt = _receipt(t.tx_hash, [BOARD, TOKEN])
    if receipt is None:
        return t
    moved = _moved(t, receipt["logs"])
    fill = t.kind == MarketTransfer.Kind.FILL
    taken = _taken(t, receipt["logs"]) if fill else None
    # A fill is the board's settlement of this offer, not any move of the seller's units.
    ok = receipt["status"] == 1 and moved is not None and (taken is not None or not fill) and _norm(
        receipt["from"]) == _norm(t.to_wallet if fill else t.from_wallet)
    fields = {"status": T.CONFIRMED if ok else T.FAILED, "block_number": receipt["blockNumber"],
              "error": "" if ok else "The transaction did not move these units (it reverted or did something else)."}
    if ok:
        fields["units"] = int((taken or moved)["args"]["units" if taken else "value"])
        if taken is not None:
            fields.update(paid_base_units=str(taken["args"]["paid"]), fee_base_units=str(taken["args"]["fee"]),
                          price_per_unit_base_units=int(taken["args"]["pricePerUnit"]))
    MarketTransfer.objects.filter(pk=t.pk, status=T.PENDING).update(updated_at=timezone.now(), **fields)
    t.refresh_from_db()
    if ok:
        _reindex(t.offering)
        if t.offer_id:
            _sync_offer(t.offer)
        _notify_settled(t)
    return t


def on_transfer_final(row) -> None:
    """chain hook for custodial transfers and fills (the last row of each chain of calls)."""
    confirmed = row.status == row.Status.CONFIRMED
    for t in MarketTransfer.objects.select_for_update().filter(chain_tx=row, status=T.PENDING):
        # Confirmed means this token's units moved seller → buyer, not merely "mined".
        ok = confirmed and _moved(t, (row.receipt or {}).get("logs", [])) is not None
        t.status = T.CONFIRMED if ok else T.FAILED
        t.tx_hash = t.tx_hash or row.tx_hash or ""
        t.block_number = row.block_number
        t.error = "" if ok else explain(row.error or "the transaction did not move these units", t.offering)
        if ok:
            taken = _taken(t, (row.receipt or {}).get("logs", []))
            if taken is not None:
                t.paid_base_units, t.fee_base_units = str(taken["args"]["paid"]), str(taken["args"]["fee"])
        t.save()
        if ok:
            _reindex(t.offering)
        if t.offer_id:
            _sync_offer(t.offer)
        if ok:
            _notify_settled(t)


def _notify_settled(t: MarketTransfer) -> None:
    """Once per confirmed move (keyed by the row): the seller of each fill of their offer; the
    buyer of a fill they paid in stablecoin (a card purchase tells its buyer itself); the
    receiver of a transfer."""
    if t.kind == MarketTransfer.Kind.TRANSFER:
        _notify_received(t)
        return
    if t.offer_id is None:
        return
    offer = t.offer
    paid = int(t.paid_base_units or 0)
    fee = int(t.fee_base_units or 0)
    notify(recipient=offer.seller, category=Category.MARKET, event_key=f"market:fill:{t.pk}:filled",
           url="/market/", title=format_lazy(gettext_lazy("Your {token} offer was filled: {units} units sold"),
                                             token=offer.offering.token_symbol, units=t.units),
           body=format_lazy(gettext_lazy("{units} units sold at {price} USD each; {net} (after the platform fee "
                                         "of {fee}) are in your wallet {wallet}. Units left on the offer: {left}."),
                            units=t.units, price=unit_price_text(offer.price_per_unit),
                            net=_money(paid - fee, offer.stablecoin_decimals),
                            fee=_money(fee, offer.stablecoin_decimals),
                            wallet=offer.seller_wallet,
                            left=offer.units_remaining))
    if MarketCardPurchase.objects.filter(fill=t).exists():
        return
    notify(recipient=t.actor, category=Category.MARKET, event_key=f"market:fill:{t.pk}:bought",
           url="/market/", title=format_lazy(gettext_lazy("Your purchase of {units} {token} units settled"),
                                             token=offer.offering.token_symbol, units=t.units),
           body=format_lazy(gettext_lazy("{units} units of {name} ({token}) at {price} USD each are in your wallet "
                                         "{wallet}; {paid} was paid from it in stablecoin (the platform fee of {fee} "
                                         "included), settled on chain in one transaction."),
                            units=t.units, name=offer.offering.token_name, token=offer.offering.token_symbol,
                            price=unit_price_text(offer.price_per_unit), wallet=t.to_wallet,
                            paid=_money(paid, offer.stablecoin_decimals),
                            fee=_money(fee, offer.stablecoin_decimals)))


def _notify_received(t: MarketTransfer) -> None:
    """The investor whose wallet received a transfer (known by email or by a wallet on record)."""
    receiver = t.counterparty
    if receiver is None:
        w = Wallet.objects.select_related("profile__user").filter(address__iexact=t.to_wallet).first()
        receiver = w.profile.user if w is not None else None
    if receiver is None or receiver.pk == t.actor_id:
        return
    o = t.offering
    notify(recipient=receiver, category=Category.MARKET, event_key=f"market:transfer:{t.pk}:received",
           url="/market/", title=format_lazy(gettext_lazy("You received {units} {token} units"),
                                             token=o.token_symbol, units=t.units),
           body=format_lazy(gettext_lazy("{units} units of {name} ({token}) arrived in your wallet {wallet}, sent "
                                         "from the wallet {sender}."),
                            units=t.units, name=o.token_name, token=o.token_symbol, wallet=t.to_wallet,
                            sender=t.from_wallet))


def offers_expire_due(*, now=None) -> int:
    """Periodic: open offers past their expiry are marked expired (the board refuses takes
    after it) and their seller is told, once per offer."""

    now = now or timezone.now()
    n = 0
    for pk in MarketOffer.objects.filter(status=S.OPEN, expires_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            offer = MarketOffer.objects.select_for_update().select_related("offering", "seller").get(pk=pk)
            if offer.status != S.OPEN or offer.expires_at > now:
                continue
            _set_status(offer, S.EXPIRED)
            audit(actor=None, action="tokens.market_offer_expire", obj=offer, before={"status": S.OPEN},
                  after={"status": S.EXPIRED, "units_remaining": offer.units_remaining})
            notify(recipient=offer.seller, category=Category.MARKET, event_key=f"market:offer:{offer.pk}:expired",
                   url="/market/", title=format_lazy(gettext_lazy("Your {token} offer expired"),
                                                     token=offer.offering.token_symbol),
                   body=format_lazy(gettext_lazy("{left} of {units} units were not sold by {expiry} UTC. They stay "
                                                 "in your wallet; list them again if you still want to sell."),
                                    left=offer.units_remaining, units=offer.units,
                                    expiry=offer.expires_at.strftime("%Y-%m-%d %H:%M")))
            n += 1
    return n


def _reindex(offering: Offering) -> None:
    index_address(offering.token_address)
    with contextlib.suppress(ApplicationError):  # no board deployed: nothing to index
        index_address(board_address())


# --------------------------------------------------------------------------- offers (seller)


def _open_units(wallet: str, offering: Offering) -> int:
    qs = MarketOffer.objects.filter(offering=offering, seller_wallet__iexact=wallet,
                                    status__in=[S.POSTING, S.OPEN, S.CANCELLING], expires_at__gt=timezone.now())
    return sum(qs.values_list("units_remaining", flat=True))


def offer_check(*, actor, offering: Offering, wallet: str, units, price_per_unit, expires_at) -> dict:
    """The seller-side pre-check: the token's answer for moving these units out now (lock-up,
    freeze, pause, unfrozen balance), the units already on offer, and the price in base units."""
    _live(offering)
    w = _wallet_of(actor, wallet)
    units = _units(units)
    try:
        price = Decimal(str(price_per_unit))
    except ArithmeticError:
        price = Decimal(0)
    if not price.is_finite() or price <= 0:  # "NaN" and "Infinity" parse as Decimals
        raise ApplicationError("invalid_price", gettext("Enter a price per unit above zero (USD)."),
                               details={"price_per_unit": [gettext("Above zero.")]})
    if expires_at is None or expires_at <= timezone.now() + dt.timedelta(minutes=5):
        raise ApplicationError("invalid_expiry", gettext("Choose an expiry at least a few minutes ahead."),
                               details={"expires_at": [gettext("In the future.")]})
    _, decimals = stablecoin()
    try:
        price_base = to_token_units(price, decimals)
    except ValueError:
        raise ApplicationError("invalid_price", gettext('The stablecoin has %(decimals)s decimals.') %
            {"decimals": decimals},
                               details={"price_per_unit": [gettext('At most %(decimals)s decimal places.') %
                                   {"decimals": decimals}]}) from None
    on_offer = _open_units(w.address, offering)
    balance = _balance(offering, w.address)
    _refuse_card_hold(offering, w.address, units=on_offer + units, balance=balance)
    r = restriction(offering, w.address, w.address, on_offer + units)
    return {"wallet": gateway.to_checksum(w.address), "self_custody": w.kind == "self_custody", "units": units,
            "price_per_unit": price, "price_base_units": price_base, "decimals": decimals, "balance": balance,
            "on_offer": on_offer, "expires_at": expires_at, **r}


def _offer_row(actor, offering, check, board) -> MarketOffer:
    offer = MarketOffer(offering=offering, seller=actor, seller_wallet=check["wallet"],
                        self_custody=check["self_custody"], units=check["units"], units_remaining=check["units"],
                        price_per_unit_base_units=check["price_base_units"], stablecoin_decimals=check["decimals"],
                        expires_at=check["expires_at"], board_address=board)
    offer.full_clean()
    offer.save()
    return offer


def _post_args(offering, check, board) -> tuple[list, list]:
    """(approve args, post args): the allowance covers every open offer of the wallet on this
    token plus the new one (approve sets the total, it does not add)."""
    expiry = int(check["expires_at"].timestamp())
    return ([board, check["on_offer"] + check["units"]],
            [offering.token_address, check["units"], check["price_base_units"], expiry])


@transaction.atomic
def offer_create(*, actor, offering: Offering, wallet: str, units, price_per_unit, expires_at) -> MarketOffer:
    """A custodial holder lists units: approve + post signed with the custodial key (outbox)."""
    _require_eligible(actor)
    check = offer_check(actor=actor, offering=offering, wallet=wallet, units=units, price_per_unit=price_per_unit,
                        expires_at=expires_at)
    if check["self_custody"]:
        raise ApplicationError("self_custody_wallet", gettext(
            "List from a self-custody wallet with your browser wallet."),
                               status=409)
    _refuse(check, "listing these units")
    board = board_address()
    offer = _offer_row(actor, offering, check, board)
    approve, post = _post_args(offering, check, board)
    offer.post_tx = _custodial_calls(
        actor=actor, key=f"market:offer:{offer.pk}", wallet=offer.seller_wallet, kind="tokens.market_post",
        calls=[("approve", TOKEN, offering.token_address, "approve", approve), ("post", BOARD, board, "post", post)],
        reason=f"offer {offer.units} {offering.token_symbol}")
    offer.save(update_fields=["post_tx", "updated_at"])
    audit(actor=actor, action="tokens.market_offer_create", obj=offer,
          after={"units": offer.units, "price_base_units": offer.price_per_unit_base_units,
                 "expires_at": offer.expires_at.isoformat(), "wallet": offer.seller_wallet})
    return offer


def offer_prepare(*, actor, offering: Offering, wallet: str, units, price_per_unit, expires_at) -> dict:
    _require_eligible(actor)
    check = offer_check(actor=actor, offering=offering, wallet=wallet, units=units, price_per_unit=price_per_unit,
                        expires_at=expires_at)
    if not check["self_custody"]:
        raise ApplicationError("custodial_wallet", gettext("The platform signs for custodial wallets."), status=409)
    _refuse(check, "listing these units")
    board = board_address()
    approve, post = _post_args(offering, check, board)
    steps = []
    if int(gateway.call(TOKEN, offering.token_address, "allowance", check["wallet"], board)) < approve[1]:
        steps.append(("approve", TOKEN, offering.token_address, "approve", approve))
    steps.append(("post", BOARD, board, "post", post))
    return {**_browser_tx(check["wallet"], steps), "check": {**check, "price_per_unit": str(check["price_per_unit"]),
                                                             "expires_at": check["expires_at"].isoformat()}}


@transaction.atomic
def offer_track(*, actor, offering: Offering, wallet: str, units, price_per_unit, expires_at,
                tx_hash: str) -> MarketOffer:
    tx_hash, existing = tracked_tx(MarketOffer, tx_hash=tx_hash, owner_field="seller", actor=actor)
    if existing is not None:
        return existing
    check = offer_check(actor=actor, offering=offering, wallet=wallet, units=units, price_per_unit=price_per_unit,
                        expires_at=expires_at)
    offer = _offer_row(actor, offering, check, board_address())
    offer.tx_hash = tx_hash
    offer.save(update_fields=["tx_hash", "updated_at"])
    audit(actor=actor, action="tokens.market_offer_track", obj=offer, after={"tx_hash": tx_hash})
    return offer_refresh(offer=offer)


def _set_status(offer: MarketOffer, target: str, **fields) -> None:
    """Every offer status change goes through the transition table and the audit trail (hooks
    and receipt reads included: their actor is the system)."""
    check_transition(entity="offer", table=MARKET_OFFER_TRANSITIONS, current=offer.status, target=target)
    before = offer.status
    MarketOffer.objects.filter(pk=offer.pk, status=offer.status).update(status=target, updated_at=timezone.now(),
                                                                        **fields)
    offer.refresh_from_db()
    audit(actor=None, action="tokens.market_offer_status", obj=offer, before={"status": before},
          after={"status": offer.status, **{k: v for k, v in fields.items() if isinstance(v, str | int)}})


def _posted(offer: MarketOffer, receipt_logs: list) -> dict | None:
    # The token too: an offer of another (worthless) token must never be listed under this one.
    return next((lg for lg in receipt_logs if lg.get("event") == "OfferPosted"
                 and _norm(lg["address"]) == _norm(offer.board_address)
                 and _norm(lg["args"]["seller"]) == _norm(offer.seller_wallet)
                 and _norm(lg["args"]["token"]) == _norm(offer.offering.token_address)), None)


def _moved(t: MarketTransfer, logs: list) -> dict | None:
    """The offering's own token Transfer from the seller to the buyer in a receipt."""
    token = _norm(t.offering.token_address)
    return next((lg for lg in logs if lg.get("event") == "Transfer" and _norm(lg["address"]) == token
                 and _norm(lg["args"]["from"]) == _norm(t.from_wallet)
                 and _norm(lg["args"]["to"]) == _norm(t.to_wallet)), None)


def _taken(t: MarketTransfer, logs: list) -> dict | None:
    """The board's own OfferTaken for this fill's offer in a receipt. Any contract can emit an
    event of that shape (a helper's fake one would set a trade price): only the board's address
    and the offer's id count, with the buyer and seller of this fill."""
    offer = t.offer
    if offer is None or offer.board_offer_id is None:
        return None
    return next((lg for lg in logs if lg.get("event") == "OfferTaken"
                 and _norm(lg["address"]) == _norm(offer.board_address)
                 and int(lg["args"]["offerId"]) == offer.board_offer_id
                 and _norm(lg["args"]["buyer"]) == _norm(t.to_wallet)
                 and _norm(lg["args"]["seller"]) == _norm(t.from_wallet)), None)


def offer_refresh(*, offer: MarketOffer) -> MarketOffer:
    """A browser-posted or browser-cancelled offer: read the receipt."""
    if offer.status == S.POSTING and offer.self_custody and offer.tx_hash:
        receipt = _receipt(offer.tx_hash, [BOARD])
        if receipt is not None:
            ev = _posted(offer, receipt["logs"]) if receipt["status"] == 1 else None
            if ev is not None:
                _set_status(offer, S.OPEN, board_offer_id=int(ev["args"]["offerId"]),
                            units=int(ev["args"]["units"]), units_remaining=int(ev["args"]["units"]),
                            price_per_unit_base_units=int(ev["args"]["pricePerUnit"]), error="")
                _reindex(offer.offering)
            else:
                _set_status(offer, S.FAILED, error="The transaction did not post this offer.")
    elif offer.status == S.CANCELLING and offer.self_custody and offer.cancel_tx_hash:
        receipt = _receipt(offer.cancel_tx_hash, [BOARD])
        if receipt is not None:
            _sync_offer(offer, gone=S.CANCELLED)
    return offer


def on_post_final(row) -> None:
    for offer in MarketOffer.objects.select_for_update().filter(post_tx=row, status=S.POSTING):
        ev = _posted(offer, (row.receipt or {}).get("logs", [])) if row.status == row.Status.CONFIRMED else None
        if ev is not None:
            _set_status(offer, S.OPEN, board_offer_id=int(ev["args"]["offerId"]), error="")
            _reindex(offer.offering)
        else:
            _set_status(offer, S.FAILED, error=explain(row.error or "The offer was not posted.", offer.offering))


def _sync_offer(offer: MarketOffer, *, gone: str = S.FILLED) -> MarketOffer:
    """Units left from the board itself; an offer the board no longer knows is `gone`
    (filled after a fill, cancelled after a cancel)."""
    offer.refresh_from_db()
    if offer.board_offer_id is None or offer.status not in (S.OPEN, S.CANCELLING):
        return offer
    seller, token, units, _, _ = gateway.call(BOARD, offer.board_address, "offer", offer.board_offer_id)
    if int(seller, 16) == 0 or _norm(token) != _norm(offer.offering.token_address):
        _set_status(offer, gone, units_remaining=0)
    else:
        MarketOffer.objects.filter(pk=offer.pk).update(units_remaining=int(units), updated_at=timezone.now())
        offer.refresh_from_db()
    return offer


def offer_get_for_seller(*, user, offer_id) -> MarketOffer:
    offer = MarketOffer.objects.select_related("offering").filter(pk=offer_id).first()
    if offer is None or not (offer.seller_id == user.pk or user_has_role(user, Role.COMPLIANCE_OFFICER)):
        raise Http404("No such offer.")
    return offer


def _cancellable(offer: MarketOffer) -> None:
    if offer.status != S.OPEN or offer.board_offer_id is None:
        raise ApplicationError("offer_not_open", gettext("Only an open offer can be cancelled."), status=409)


@transaction.atomic
def offer_cancel(*, actor, offer: MarketOffer, reason: str = "") -> MarketOffer:
    """The seller (custodial: signed with their key) or a compliance officer (the platform's
    agent, e.g. frozen tokens; a reason is required) cancels an open offer."""
    offer = MarketOffer.objects.select_for_update().get(pk=offer.pk)
    _cancellable(offer)
    # Per attempt: after a failed cancel the next one is a new intent, not the failed row again.
    attempt = ChainTransaction.objects.filter(idempotency_key__startswith=f"market:offer:{offer.pk}:cancel",
                                              kind="tokens.market_cancel").count()
    key = f"market:offer:{offer.pk}:cancel:{attempt}"
    if offer.seller_id == actor.pk:
        if offer.self_custody:
            raise ApplicationError("self_custody_wallet", gettext("Cancel with your browser wallet."), status=409)
        row = _custodial_calls(actor=actor, key=key, wallet=offer.seller_wallet, kind="tokens.market_cancel",
                               calls=[("cancel", BOARD, offer.board_address, "cancel", [offer.board_offer_id])],
                               reason=f"cancel offer {offer.board_offer_id}")
    elif user_has_role(actor, Role.COMPLIANCE_OFFICER):
        if not (reason or "").strip():
            raise ApplicationError("reason_required", gettext(
                "Give the reason for cancelling another investor's offer."),
                                   details={"reason": [gettext("Required.")]})
        row = outbox_enqueue(actor=actor, idempotency_key=f"{key}:agent", kind="tokens.market_cancel",
                             contract_name=BOARD, function="cancel", args=[offer.board_offer_id],
                             to_address=offer.board_address, sender="agent", reason=reason)
    else:
        raise Http404("No such offer.")
    _set_status(offer, S.CANCELLING, cancel_tx=row)
    audit(actor=actor, action="tokens.market_offer_cancel", obj=offer, reason=reason,
          after={"board_offer_id": offer.board_offer_id})
    return offer


def offer_cancel_prepare(*, actor, offer: MarketOffer) -> dict:
    _cancellable(offer)
    if offer.seller_id != actor.pk or not offer.self_custody:
        raise ApplicationError("custodial_wallet", gettext("The platform signs for custodial wallets."), status=409)
    return _browser_tx(offer.seller_wallet, [("cancel", BOARD, offer.board_address, "cancel", [offer.board_offer_id])])


@transaction.atomic
def offer_cancel_track(*, actor, offer: MarketOffer, tx_hash: str) -> MarketOffer:
    offer = MarketOffer.objects.select_for_update().get(pk=offer.pk)
    if offer.seller_id != actor.pk:
        raise Http404("No such offer.")
    _cancellable(offer)
    _set_status(offer, S.CANCELLING, cancel_tx_hash=gateway.parse_tx_hash(tx_hash))
    audit(actor=actor, action="tokens.market_offer_cancel_track", obj=offer, after={"tx_hash": offer.cancel_tx_hash})
    return offer_refresh(offer=offer)


def on_cancel_final(row) -> None:
    for offer in MarketOffer.objects.select_for_update().filter(cancel_tx=row, status=S.CANCELLING):
        if row.status == row.Status.CONFIRMED:
            _set_status(offer, S.CANCELLED, units_remaining=0)
            _reindex(offer.offering)
        else:  # e.g. filled meanwhile: the board decides
            _set_status(offer, S.OPEN, error=explain(row.error, offer.offering))
            _sync_offer(offer)


# --------------------------------------------------------------------------- taking an offer (buyer)


def offer_for_buyer(*, offer_id) -> MarketOffer:
    offer = MarketOffer.objects.select_related("offering").filter(
        pk=offer_id, status=S.OPEN, expires_at__gt=timezone.now()).first()
    if offer is None:
        raise ApplicationError("offer_gone", gettext(
            "This offer is no longer available (filled, cancelled or expired)."),
                               status=409)
    return offer


def card_hold_days() -> int:
    return settings.MARKET_CARD_HOLD_DAYS


def card_held_units(offering: Offering, wallet: str) -> tuple[int, dt.datetime | None]:
    """Units bought by card into this wallet that cannot be sold or transferred yet, and when
    the last of them frees. A card payment can be reversed for weeks; the hold (MARKET_CARD_HOLD_DAYS)
    stops the quick flip — a stolen card buys units that are sold for stablecoin and withdrawn
    before the bank's dispute arrives — and a dispute later freezes the units still held."""

    since = timezone.now() - dt.timedelta(days=card_hold_days())
    rows = list(MarketCardPurchase.objects.filter(
        offering=offering, wallet__iexact=wallet, paid_at__gt=since,
        status__in=[MarketCardStatus.SETTLING, MarketCardStatus.SETTLED]).values_list("units", "paid_at"))
    if not rows:
        return 0, None
    return sum(u for u, _ in rows), max(t for _, t in rows) + dt.timedelta(days=card_hold_days())


def _refuse_card_hold(offering: Offering, wallet: str, *, units: int, balance: int) -> None:
    held, until = card_held_units(offering, wallet)
    if held and units > balance - held:
        raise ApplicationError("card_settlement_hold", gettext(
            "%(held)s of these units were bought by card and can be sold or transferred from %(until)s UTC.") % {
            "held": held, "until": f"{until:%Y-%m-%d %H:%M}"},
            details={"units": [gettext("At most %(free)s now.") % {"free": max(0, balance - held)}]}, status=409)


def card_reserved_units(offer: MarketOffer, *, exclude_pk=None) -> int:
    """Units held for card buyers: an open checkout (until it lapses) or a paid purchase
    waiting for the treasury; once settling, its fill row counts them instead."""

    qs = MarketCardPurchase.objects.filter(offer=offer).filter(
        models.Q(status=MarketCardStatus.RESERVED, reserved_until__gt=timezone.now())
        | models.Q(status=MarketCardStatus.WAITING_FUNDS))
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return sum(qs.values_list("units", flat=True))


def _available(offer: MarketOffer, *, remaining: int | None = None, exclude_card_pk=None) -> int:
    """Units of the offer a buyer can still get: what remains (our row's count, or `remaining`
    as the board reports it) less fills in flight and units held for card buyers."""
    pending = sum(MarketTransfer.objects.filter(offer=offer, status=T.PENDING).values_list("units", flat=True))
    left = offer.units_remaining if remaining is None else remaining
    return max(0, left - pending - card_reserved_units(offer, exclude_pk=exclude_card_pk))


def take_check(*, actor, offer: MarketOffer, wallet: str, units) -> dict:
    """Both legs' pre-checks, shown to the buyer before paying: the token's answer for
    seller → buyer, and the buyer's stablecoin balance and allowance for the board."""
    w = _wallet_of(actor, wallet)
    units = _units(units)
    if offer.seller_id == actor.pk:
        raise ApplicationError("own_offer", gettext("This is your own offer."), status=409)
    available = _available(offer)
    if units > available:
        raise ApplicationError("units_unavailable", gettext(
            'Only %(available)s units of this offer are still available.') % {"available": available},
                               details={"units": [gettext('At most %(available)s.') % {"available": available}]},
                                   status=409)
    token = restriction(offer.offering, offer.seller_wallet, w.address, units)
    seller = seller_leg(offer, units)
    paid, fee = (int(v) for v in gateway.call(BOARD, offer.board_address, "quote", offer.board_offer_id, units))
    address, decimals = stablecoin()
    balance = int(gateway.call(STABLE, address, "balanceOf", w.address))
    allowance = int(gateway.call(STABLE, address, "allowance", w.address, offer.board_address))
    return {"wallet": gateway.to_checksum(w.address), "self_custody": w.kind == "self_custody", "units": units,
            "available": available, "token": token, "paid_base_units": paid, "fee_base_units": fee,
            "paid": from_token_units(paid, decimals), "fee": from_token_units(fee, decimals),
            "stablecoin": {"address": address, "decimals": decimals, "balance_base_units": balance,
                           "balance": from_token_units(balance, decimals), "allowance_base_units": allowance,
                           "enough": balance >= paid},
            "seller": seller, "allowed": token["allowed"] and seller["enough"] and balance >= paid}


def _refuse_take(check: dict) -> None:
    _refuse(check["token"], "this purchase")
    _refuse_seller(check["seller"], check["units"])
    if not check["stablecoin"]["enough"]:
        s = check["stablecoin"]
        raise ApplicationError("insufficient_stablecoin",
                               gettext('This purchase costs %(check)s USD; the wallet holds %(s)s USD.') %
                                   {"check": check['paid'], "s": s['balance']},
                               details={"paid_base_units": str(check["paid_base_units"]),
                                        "balance_base_units": str(s["balance_base_units"])}, status=409)


def _fill_row(actor, offer, check, **extra) -> MarketTransfer:
    t = MarketTransfer(kind=MarketTransfer.Kind.FILL, offering=offer.offering, offer=offer, actor=actor,
                       counterparty=offer.seller, from_wallet=offer.seller_wallet, to_wallet=check["wallet"],
                       units=check["units"], price_per_unit_base_units=offer.price_per_unit_base_units, **extra)
    t.full_clean()
    t.save()
    return t


@transaction.atomic
def take_create(*, actor, offer_id, wallet: str, units) -> MarketTransfer:
    """A custodial buyer takes units: stablecoin approve + take, signed with the custodial key.
    The offer row is locked and units in flight are reserved, so two buyers racing for the
    last units get one fill and one clear refusal (and the board itself enforces it too)."""
    _require_eligible(actor)
    offer = offer_for_buyer(offer_id=offer_id)
    offer = MarketOffer.objects.select_for_update().get(pk=offer.pk)
    check = take_check(actor=actor, offer=offer, wallet=wallet, units=units)
    if check["self_custody"]:
        raise ApplicationError("self_custody_wallet", gettext(
            "Pay from a self-custody wallet with your browser wallet."),
                               status=409)
    _refuse_take(check)
    t = _fill_row(actor, offer, check)
    # approve sets the allowance: cover this wallet's other fills still in flight too
    in_flight = sum(int(p or 0) for p in MarketTransfer.objects.filter(
        kind=MarketTransfer.Kind.FILL, status=T.PENDING, self_custody=False, to_wallet__iexact=check["wallet"])
        .exclude(pk=t.pk).values_list("paid_base_units", flat=True))
    t.paid_base_units, t.fee_base_units = str(check["paid_base_units"]), str(check["fee_base_units"])
    t.chain_tx = _custodial_calls(
        actor=actor, key=f"market:fill:{t.pk}", wallet=t.to_wallet, kind="tokens.market_take",
        calls=[("approve", STABLE, check["stablecoin"]["address"], "approve",
                [offer.board_address, in_flight + check["paid_base_units"]]),
               ("take", BOARD, offer.board_address, "take",
                [offer.board_offer_id, t.units, offer.price_per_unit_base_units])],
        reason=f"buy {t.units} {offer.offering.token_symbol} (offer {offer.board_offer_id})")
    t.save(update_fields=["chain_tx", "paid_base_units", "fee_base_units", "updated_at"])
    audit(actor=actor, action="tokens.market_take", obj=t,
          after={"offer": offer.board_offer_id, "units": t.units, "paid_base_units": t.paid_base_units})
    return t


def take_prepare(*, actor, offer_id, wallet: str, units) -> dict:
    _require_eligible(actor)
    offer = offer_for_buyer(offer_id=offer_id)
    check = take_check(actor=actor, offer=offer, wallet=wallet, units=units)
    if not check["self_custody"]:
        raise ApplicationError("custodial_wallet", gettext("The platform signs for custodial wallets."), status=409)
    _refuse_take(check)
    steps = []
    if check["stablecoin"]["allowance_base_units"] < check["paid_base_units"]:
        steps.append(("approve", STABLE, check["stablecoin"]["address"], "approve",
                      [offer.board_address, check["paid_base_units"]]))
    steps.append(("take", BOARD, offer.board_address, "take",
                  [offer.board_offer_id, check["units"], offer.price_per_unit_base_units]))
    return {**_browser_tx(check["wallet"], steps), "check": _jsonable_check(check)}


def _jsonable_check(check: dict) -> dict:
    out = {}
    for k, v in check.items():
        if isinstance(v, dict):
            out[k] = _jsonable_check(v)
        elif isinstance(v, Decimal | int) and not isinstance(v, bool):
            out[k] = str(v)
        else:
            out[k] = v
    return out


@transaction.atomic
def take_track(*, actor, offer_id, wallet: str, units, tx_hash: str) -> MarketTransfer:
    tx_hash, existing = tracked_tx(MarketTransfer, tx_hash=tx_hash, owner_field="actor", actor=actor)
    if existing is not None:
        return existing
    offer = MarketOffer.objects.select_related("offering").filter(pk=offer_id).first()
    if offer is None:
        raise Http404("No such offer.")
    w = _wallet_of(actor, wallet)
    t = _fill_row(actor, offer, {"wallet": gateway.to_checksum(w.address), "units": _units(units)},
                  self_custody=True, tx_hash=tx_hash)
    audit(actor=actor, action="tokens.market_take_track", obj=t, after={"tx_hash": tx_hash})
    return transfer_refresh(t=t)


def transfer_get_for_user(*, user, transfer_id) -> MarketTransfer:
    t = MarketTransfer.objects.select_related("offering", "offer").filter(pk=transfer_id).first()
    if t is None or not (t.actor_id == user.pk or user_has_role(user, Role.PLATFORM_ADMIN)):
        raise Http404("No such transfer.")
    return transfer_refresh(t=t) if t.self_custody and t.status == T.PENDING else t


# --------------------------------------------------------------------------- selectors: board and market data


def board_offers(*, offering: Offering | None = None) -> list[MarketOffer]:
    """Open, unexpired offers (sellers anonymised by the pages: no name, email or wallet)."""
    qs = MarketOffer.objects.select_related("offering").filter(status=S.OPEN, expires_at__gt=timezone.now(),
                                                               units_remaining__gt=0)
    if offering is not None:
        qs = qs.filter(offering=offering)
    return list(qs.order_by("price_per_unit_base_units", "created_at"))


def my_offers(*, user) -> list[MarketOffer]:
    return [offer_refresh(offer=o) if o.self_custody else o
            for o in MarketOffer.objects.select_related("offering").filter(seller=user)[:50]]


def my_transfers(*, user) -> list[MarketTransfer]:
    return [transfer_refresh(t=t) if t.self_custody and t.status == T.PENDING else t
            for t in MarketTransfer.objects.select_related("offering", "offer", "chain_tx").filter(actor=user)[:50]]


def _trades(offering: Offering) -> list[dict]:
    """Indexed OfferTaken events of the board for this token, oldest first."""
    try:
        board = board_address()
    except ApplicationError:
        return []
    out = []
    for args, ts in (ChainEvent.objects.filter(contract__chain_id=settings.CHAIN_ID, contract__address__iexact=board,
                                               event="OfferTaken", args__token=gateway.to_checksum(
                                                   offering.token_address))
                     .order_by("block_number", "log_index").values_list("args", "block_timestamp")):
        out.append({"units": int(args["units"]), "price": int(args["pricePerUnit"]), "paid": int(args["paid"]),
                    "at": ts})
    return out


def market_stats(*, offering: Offering, decimals: int = 6) -> dict:
    """Last trade price, 30-day volume and number of holders, from indexed events."""

    trades = _trades(offering)
    since = timezone.now() - dt.timedelta(days=30)
    recent = [t for t in trades if t["at"] is not None and t["at"] >= since]
    volume = sum(t["paid"] for t in recent)
    last = trades[-1]["price"] if trades else None
    return {"last_price_base_units": last, "last_price": from_token_units(last, decimals) if last else None,
            "volume_30d_base_units": volume, "volume_30d": from_token_units(volume, decimals),
            "units_30d": sum(t["units"] for t in recent), "trades_30d": len(recent),
            "holders": len(balances_at(offering)), "offering_price": offering.price_per_unit,
            "currency": offering.currency}


def market_overview(*, user) -> dict:
    """The market page and its API twin: each tradable token with its market data, the open
    offers (sellers anonymised), the user's offers and transfers, and their portfolio."""
    offerings = tradable_offerings()
    stats = {o.pk: market_stats(offering=o) for o in offerings}
    return {"tokens": [{"offering": o, "stats": stats[o.pk]} for o in offerings], "offers": board_offers(),
            "my_offers": my_offers(user=user), "my_transfers": my_transfers(user=user),
            "portfolio": portfolio(user=user, stats=stats)}


def portfolio(*, user, stats: dict | None = None) -> dict:
    """Holdings valued at the token's last trade, with the offering price beside it. `stats`:
    market_stats by offering id where the caller has them already."""

    by_token: dict[int, dict] = {}
    units: dict[int, int] = defaultdict(int)
    for h in investor_holdings(user=user, live=False, periods=False):
        units[h.offering.pk] += h.units
        by_token[h.offering.pk] = {"offering": h.offering}
    rows, total_last, total_offer = [], Decimal(0), Decimal(0)
    for pk, row in by_token.items():
        if not units[pk]:
            continue
        token_stats = (stats or {}).get(pk) or market_stats(offering=row["offering"])
        at_offer = units[pk] * row["offering"].price_per_unit
        last = token_stats["last_price"]
        at_last = units[pk] * last if last is not None else None
        total_offer += at_offer
        total_last += at_last if at_last is not None else at_offer
        rows.append({"offering": row["offering"], "units": units[pk], "stats": token_stats,
                     "value_at_last_trade": at_last,
                     "value_at_offering_price": at_offer})
    return {"rows": rows, "total_at_last_trade": total_last, "total_at_offering_price": total_offer}


def tradable_offerings() -> list[Offering]:
    return list(Offering.objects.filter(status=OfferingStatus.LIVE).exclude(token_address="").order_by("token_symbol"))


def income_note(*, offering: Offering, wallet: str) -> dict:
    """Unclaimed income stays with the seller; a buyer earns from the next distribution."""
    try:
        accrued = int(gateway.call(TOKEN, offering.token_address, "withdrawableIncomeOf", wallet))
    except gateway.ChainUnavailable:
        accrued = None
    return {"accrued_base_units": accrued}
