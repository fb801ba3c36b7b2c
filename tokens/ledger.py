"""The holdings ledger: what every wing of `tokens` reads about who holds what — balances at a
block from the indexed Transfer events, holder wallets, units taken by primary orders, each
distribution's accumulator increase and entitlements, an investor's holdings, tracked browser
transactions, the platform's stablecoin. Read-only; it imports no wing."""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from chain import gateway
from chain import selectors as chain_selectors
from chain.models import ChainEvent
from compliance.selectors import investor_wallets as compliance_investor_wallets
from core.errors import ApplicationError
from core.money import from_token_units
from tokens.models import (
    ORDER_HOLDING_STATUSES,
    Distribution,
    DistributionStatus,
    Offering,
    OfferingStatus,
    Order,
    OrderStatus,
)

ZERO = "0x" + "0" * 40


def norm(address: str) -> str:
    return address.lower()


def investor_wallets(user) -> list:
    return list(compliance_investor_wallets(user=user))


def balances_at(offering: Offering, *, block: int | None = None, wallets: set[str] | None = None,
                touched: set[str] | None = None) -> dict[str, int]:
    """Units per wallet (lower-case) from indexed, confirmed Transfer events up to `block`.
    `touched`, when given, collects every wallet any of those transfers named (lower-case)."""
    qs = ChainEvent.objects.filter(contract__chain_id=settings.CHAIN_ID,
                                   contract__address__iexact=offering.token_address, event="Transfer")
    if block is not None:
        qs = qs.filter(block_number__lte=block)
    if wallets is not None:  # only these wallets' transfers (events store checksummed addresses)
        qs = qs.filter(to_or_from([gateway.to_checksum(w) for w in wallets]))
    out: dict[str, int] = defaultdict(int)
    for args in qs.order_by("block_number", "log_index").values_list("args", flat=True).iterator(chunk_size=5000):
        value = int(args["value"])
        if touched is not None:
            touched.update({norm(str(args.get("from", ""))), norm(str(args.get("to", "")))})
        if args["from"] != ZERO:
            out[norm(args["from"])] -= value
        if args["to"] != ZERO:
            out[norm(args["to"])] += value
    return {w: v for w, v in out.items() if v > 0 and (wallets is None or w in wallets)}


def units_outstanding(offering: Offering) -> int:
    """Units investors hold now (the token's supply, from the indexed Transfer events)."""
    return sum(balances_at(offering).values()) if offering.token_address else 0


def deltas(offering: Offering) -> dict[int, int]:
    """Accumulator increase of each distributed deposit (pointsPerShare after minus the one
    before; every deposit on a token is ours, in block order)."""
    prev, out = 0, {}
    for pk, after in (Distribution.objects.filter(offering=offering, status=DistributionStatus.DISTRIBUTED)
                      .order_by("deposit_block", "pk").values_list("pk", "points_per_share_after")):
        out[pk] = int(after) - prev
        prev = int(after)
    return out


def magnitude(d: Distribution) -> int:
    return int(json.loads(d.report)["accumulator"]["magnitude"])


def distribution_entitlements(d: Distribution) -> dict:
    """Each holder's share of a distributed deposit: units at the deposit block × accumulator
    increase ÷ MAGNITUDE, floored to the base unit (fractions stay in the holder's on-chain
    correction and are paid with later claims). Σ magnified shares + dust = deposit exactly."""
    if d.status != DistributionStatus.DISTRIBUTED:
        return {"holders": {}, "supply": 0, "delta": 0, "magnitude": 0}
    delta = deltas(d.offering)[d.pk]
    mag = magnitude(d)
    balances = balances_at(d.offering, block=d.deposit_block)
    supply = sum(balances.values())
    holders = {w: {"units": u, "base_units": u * delta // mag, "magnified": u * delta}
               for w, u in balances.items()}
    return {"holders": holders, "supply": supply, "delta": delta, "magnitude": mag}


@dataclass
class Holding:
    offering: Offering
    wallet: str
    wallet_kind: str
    self_custody: bool
    units: int
    accrued: int = 0  # claimable now, base units (live read)
    claimed: int = 0
    periods: list = field(default_factory=list)

    @property
    def decimals(self) -> int:
        return next((p["decimals"] for p in self.periods), 6)


def investor_holdings(*, user, live: bool = True, periods: bool = True) -> list[Holding]:
    """Every unit the investor holds in any of their wallets (custodial and self-custody),
    from the indexed Transfer events of every live token — so units received by forced
    transfer or recovery show too, not only purchases. With `live`, the claimable income is
    read from the chain; with `periods`, each holding's per-period income rows are built (two
    queries per holding: pages that show units only leave them out)."""
    wallets = {norm(w.address): w for w in investor_wallets(user)}
    if not wallets:
        return []
    keys = list(wallets)
    checks = [gateway.to_checksum(w) for w in keys]
    touched = (ChainEvent.objects.filter(contract__chain_id=settings.CHAIN_ID, event="Transfer")
               .filter(to_or_from(checks)).values_list("contract__address", flat=True).distinct())
    offerings = {o.token_address.lower(): o for o in Offering.objects.filter(
        status__in=[OfferingStatus.ANCHORING, OfferingStatus.LIVE]).exclude(token_address="").select_related("device")}
    claimed = _claimed_by_wallet(checks)
    out: list[Holding] = []
    for address in sorted({a.lower() for a in touched}):
        offering = offerings.get(address)
        if offering is None:
            continue
        balances = balances_at(offering, wallets=set(keys))
        for w, units in sorted(balances.items()):
            wallet = wallets[w]
            h = Holding(offering=offering, wallet=gateway.to_checksum(w), wallet_kind=wallet.get_kind_display(),
                        self_custody=wallet.kind == "self_custody", units=units,
                        claimed=claimed.get((address, w), 0))
            out.append(h)
        for w in set(keys) - set(balances):  # sold or moved out, income may still be claimable
            if claimed.get((address, w)) is not None or _had_units(offering, w):
                wallet = wallets[w]
                out.append(Holding(offering=offering, wallet=gateway.to_checksum(w),
                                   wallet_kind=wallet.get_kind_display(), self_custody=wallet.kind == "self_custody",
                                   units=0, claimed=claimed.get((address, w), 0)))
    for h in out:
        if periods:
            h.periods = holding_periods(h.offering, h.wallet)
        if live:
            try:
                h.accrued = int(gateway.call("SecurityToken", h.offering.token_address, "withdrawableIncomeOf",
                                             h.wallet))
            except gateway.ChainUnavailable:
                h.accrued = -1  # shown as "chain unreachable", never as zero
    return out


def _had_units(offering: Offering, wallet: str) -> bool:
    return ChainEvent.objects.filter(contract__address__iexact=offering.token_address, event="Transfer",
                                     args__to=gateway.to_checksum(wallet)).exists()


def to_or_from(checks: list[str]):
    return Q(args__to__in=checks) | Q(args__from__in=checks)


def _claimed_by_wallet(checks: list[str]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = defaultdict(int)
    for address, args in (ChainEvent.objects.filter(contract__chain_id=settings.CHAIN_ID, event="IncomeClaimed",
                                                    args__holder__in=checks)
                          .values_list("contract__address", "args")):
        out[(address.lower(), norm(args["holder"]))] += int(args["amount"])
    return out


def holding_periods(offering: Offering, wallet: str) -> list[dict]:
    """Per distributed period (newest first): the wallet's units at the deposit block and its
    entitlement. Two queries whatever the number of periods: the wallet's transfers and the
    token's distributions (the accumulator increase of each is the difference to the one before)."""
    w = norm(wallet)
    blocks, balances, units = [], [], 0
    for block, args in (ChainEvent.objects.filter(contract__chain_id=settings.CHAIN_ID,
                                                  contract__address__iexact=offering.token_address, event="Transfer")
                        .filter(to_or_from([gateway.to_checksum(w)])).order_by("block_number", "log_index")
                        .values_list("block_number", "args")):
        value = int(args["value"])
        units += (value if norm(args["to"]) == w else 0) - (value if norm(args["from"]) == w else 0)
        blocks.append(block)
        balances.append(units)
    rows, before = [], 0
    for d in (Distribution.objects.filter(offering=offering, status=DistributionStatus.DISTRIBUTED)
              .select_related("period", "deposit_tx").order_by("deposit_block", "pk")):
        after = int(d.points_per_share_after)
        delta, before = after - before, after
        i = bisect.bisect_right(blocks, d.deposit_block)
        held = balances[i - 1] if i else 0
        if held <= 0:
            continue
        base = held * delta // magnitude(d)
        rows.append({"distribution": d, "units": held, "base_units": base, "decimals": d.stablecoin_decimals,
                     "amount": from_token_units(base, d.stablecoin_decimals)})
    return rows[::-1]


# Stripe refuses a Checkout Session that lives under 30 minutes (counted when it receives the
# request); the reservation is the session's lifetime, so one minute more keeps it valid.
MIN_RESERVATION_MINUTES = 31


def reservation_minutes() -> int:
    """How long units are held for a checkout; the Stripe session expires at the same moment,
    so `checkout.session.expired` and the reservation sweep release the units together."""
    return max(MIN_RESERVATION_MINUTES, int(getattr(settings, "TOKENS_RESERVATION_MINUTES", MIN_RESERVATION_MINUTES)))


def units_offered(offering: Offering) -> int:
    """The units put on sale: the offered share of the token's units (whole units)."""
    return int((Decimal(offering.units) * offering.share_offered_pct / 100).to_integral_value(ROUND_FLOOR))


def holding_q(prefix: str = "", *, now=None) -> Q:
    """Orders that hold units now; a lapsed reservation holds nothing even before the sweep."""
    now = now or timezone.now()
    return Q(**{f"{prefix}status__in": ORDER_HOLDING_STATUSES}) & ~Q(
        **{f"{prefix}status": OrderStatus.RESERVED, f"{prefix}reserved_until__lte": now})


def holding_orders(qs, *, now=None):
    return qs.filter(holding_q(now=now))


def with_units_taken(offerings):
    """Annotate each offering with the units orders hold now, for lists (one query in all)."""
    return offerings.annotate(units_taken_now=Coalesce(Sum("orders__units", filter=holding_q("orders__")), 0))


def units_taken(offering: Offering, *, exclude: Order | None = None) -> int:
    qs = holding_orders(Order.objects.filter(offering=offering))
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs.aggregate(n=Sum("units"))["n"] or 0


def units_available(offering: Offering) -> int:
    taken = getattr(offering, "units_taken_now", None)  # set by with_units_taken() on lists
    return max(0, units_offered(offering) - (units_taken(offering) if taken is None else taken))


def holder_wallets(offering: Offering, *, exclude=None) -> set[str]:
    """Wallets that hold units or are about to (lower-case), as the contract counts holders:
    indexed balances, plus the wallets of primary orders not yet minted (or minted but not
    indexed yet: fail closed)."""
    seen: set[str] = set()
    wallets = set(balances_at(offering, touched=seen))
    orders = holding_orders(offering.orders.all())
    if exclude is not None:  # the order being checked again does not count itself
        orders = orders.exclude(pk=exclude.pk)
    for wallet, status in orders.values_list("wallet", "status"):
        w = (wallet or "").lower()
        if w and (status != OrderStatus.COMPLETED or w not in seen):
            wallets.add(w)
    return wallets


def tracked_tx(model, *, tx_hash: str, owner_field: str, actor):
    """(the normalised hash, the row already following this browser-sent transaction or None):
    tracking is idempotent on the hash, and another user's row is refused, not shown."""
    tx_hash = gateway.parse_tx_hash(tx_hash)
    existing = model.objects.filter(tx_hash=tx_hash).first()
    if existing is not None and getattr(existing, f"{owner_field}_id") != actor.pk:
        raise ApplicationError("tx_taken", gettext("This transaction is already recorded."), status=409)
    return tx_hash, existing


def stablecoin_address() -> str:
    """CHAIN_STABLECOIN_ADDRESS on real chains; the locally deployed MockStablecoin otherwise."""
    configured = getattr(settings, "CHAIN_STABLECOIN_ADDRESS", "")
    return configured or chain_selectors.deployment_address("MockStablecoin")


def cap_table(*, offering: Offering) -> dict:
    """Holdings per wallet from confirmed Transfer events, plus freezes and pause state."""
    balances: dict[str, int] = defaultdict(int)
    frozen_partial: dict[str, int] = defaultdict(int)
    frozen: dict[str, bool] = {}
    paused = False
    if offering.token_address:
        for ev in chain_selectors.events_for(offering.token_address):
            a = ev.args
            if ev.event == "Transfer":
                value = int(a["value"])
                if a["from"] != ZERO:
                    balances[a["from"]] -= value
                if a["to"] != ZERO:
                    balances[a["to"]] += value
            elif ev.event == "AddressFrozen":
                frozen[a["_userAddress"]] = bool(a["_isFrozen"])
            elif ev.event == "TokensFrozen":
                frozen_partial[a["_userAddress"]] += int(a["_amount"])
            elif ev.event == "TokensUnfrozen":
                frozen_partial[a["_userAddress"]] -= int(a["_amount"])
            elif ev.event == "Paused":
                paused = True
            elif ev.event == "Unpaused":
                paused = False
    supply = sum(v for v in balances.values() if v > 0)
    # Shares are of the whole device (N units): a wallet holding 10 of 1,000 owns 1 % of its
    # revenue right even when it is the only buyer so far. Units nobody holds are the clinic's.
    total = max(offering.units, supply)
    holders = [
        {"wallet": w, "units": units, "frozen": frozen.get(w, False), "frozen_units": frozen_partial.get(w, 0),
         "share_pct": (Decimal(units) * 100 / total).quantize(Decimal("0.01"))}
        for w, units in sorted(balances.items(), key=lambda kv: (-kv[1], kv[0])) if units > 0
    ]
    frozen_wallets = sorted(w for w, f in frozen.items() if f)
    retained = total - supply
    return {"supply": supply, "holders": holders, "paused": paused, "frozen_wallets": frozen_wallets,
            "units_total": total, "retained_units": retained,
            "retained_pct": (Decimal(retained) * 100 / total).quantize(Decimal("0.01"))}


def unit_holdings(*, user) -> list[dict]:
    """The user's token balances in every wallet of theirs, from the indexed Transfer events of
    every live token (only what is confirmed on chain) — units received by forced transfer or
    recovery included, not only purchases — with each one's share of the supply."""
    out, tables = [], {}
    for h in investor_holdings(user=user, live=False, periods=False):
        if h.units <= 0:
            continue
        if h.offering.pk not in tables:
            tables[h.offering.pk] = {r["wallet"].lower(): r for r in cap_table(offering=h.offering)["holders"]}
        row = tables[h.offering.pk].get(h.wallet.lower(), {})
        out.append({"offering": h.offering, "wallet": h.wallet, "wallet_kind": h.wallet_kind, "units": h.units,
                    "share_pct": row.get("share_pct", Decimal(0)), "frozen": row.get("frozen", False)})
    return out
