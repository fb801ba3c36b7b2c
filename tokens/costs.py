"""What investors paid for their units and the yield their income realised on it.

Read-only, beside the ledger (it reads primary orders and market fills, so it cannot live in a
wing; it imports no wing and not the ledger: callers pass the ledger's holdings in).

**Cost basis.** Every unit a wallet receives is a *lot* with its price, taken from the chain's
Transfer events (the truth of what moved) and priced from the app's records:

- minted for a primary order: the order's unit price (`Order.unit_price`, in the order's
  currency), matched by the mint's transaction;
- bought on the market (a confirmed board fill, paid in stablecoin or by card): the trade price
  per unit (`MarketTransfer.price_per_unit_base_units`, USD stablecoin), matched by the fill's
  transaction and the receiving wallet; a card purchase counts at its trade price too (what
  the treasury paid the seller), not at the card charge;
- anything else (a plain transfer from another investor, an officer's forced transfer, a
  recovery from a wallet not theirs): no price. Such units are counted in units, never in
  cost, and left out of the yield (said on the page).

Units leaving a wallet (sold, transferred, burned) leave **first in, first out**: the oldest
lot first, a lot split when only part of it leaves. Units moving between two wallets of the
same investor keep their lot (price and place in the FIFO order by acquisition).

**Realised yield.** For each distribution a wallet earned (ledger.holding_periods: units at
the deposit block × the accumulator increase), the income of the priced units is that
income × priced units ÷ units (every unit earns the same), and the capital behind it is the
cost basis of those priced units at the deposit block (the FIFO lots then). Distributions
are grouped by month (an adjustment period adds income to its month, not a month; the
month's capital is the largest of its deposits). Over the N months with priced capital:

    realised   = Σ income ÷ (Σ capital ÷ N)       income over the average cost basis of the
                                                  units that earned it: a lot held for 2 of
                                                  3 distributions weighs 2/3
    annualised = realised × 12 ÷ N                simple, not compounded; only from N ≥ 1
                                                  whole monthly distributions

The portfolio figure is the same sums over all holdings month by month. No distribution yet:
no figure at all ("no income yet"), never 0 %.

**Plausibility.** A medical device's revenue does not pay its holders more than their money
back in a year, nor less than nothing: an annualised yield outside `PLAUSIBLE_ANNUAL_YIELD_PCT`
(−100 % … +100 % a year) is a bug (the pool paid to the wrong units, a price read wrong), not
news. Such a figure is not shown as a number but as "under review", and logged as an error.
The guard is wider than the band an offering's implied yield must keep at pricing
(settings.OFFERING_YIELD_BAND_PCT, tokens.economics): a month's revenue varies, and a buyer on
the market may pay well under the offering price.
"""

from __future__ import annotations

import bisect
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import formats

from chain import gateway
from chain.models import ChainEvent
from core.money import from_token_units
from tokens.models import MarketTransfer, Offering, Order

logger = logging.getLogger(__name__)

ZERO = "0x" + "0" * 40
INCOME_CURRENCY = "USD"  # the stablecoin income is paid in
MONTHS_A_YEAR = 12
# Annualised realised yield, % a year, that a page may publish (bounds included).
PLAUSIBLE_ANNUAL_YIELD_PCT = (Decimal(-100), Decimal(100))
PCT = Decimal("0.01")

PRIMARY, MARKET, TRANSFER = "primary", "market", "transfer"


def plausible_yield(pct) -> bool:
    """True when an annualised yield (in % a year) is one a page may show; an infinite or
    missing figure is never plausible. 1 % of the units paid the whole pool of a device
    priced for 15 % a year reads 1,500 % a year here, and is refused."""
    if pct is None:
        return False
    pct = Decimal(pct)
    low, high = PLAUSIBLE_ANNUAL_YIELD_PCT
    return pct.is_finite() and low <= pct <= high


# --------------------------------------------------------------------------- lots (pure)


@dataclass(frozen=True)
class Lot:
    units: int
    unit_cost: Decimal | None  # None: received without a price
    currency: str
    source: str  # PRIMARY | MARKET | TRANSFER
    acquired: tuple[int, int]  # (block, log index) of the transfer that brought it

    @property
    def cost(self) -> Decimal | None:
        return None if self.unit_cost is None else self.unit_cost * self.units

    @property
    def priced(self) -> bool:
        """Counts in the yield: a price in the currency the income is paid in."""
        return self.unit_cost is not None and self.currency == INCOME_CURRENCY


@dataclass(frozen=True)
class Move:
    """One Transfer event touching the investor's wallets (addresses lower-case)."""

    block: int
    log_index: int
    tx_hash: str
    sender: str
    recipient: str
    units: int


Price = tuple[Decimal | None, str, str]  # (unit cost, currency, source)


@dataclass
class LotBook:
    """Each wallet's lots after every move, to read them at any block."""

    blocks: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    states: dict[str, list[tuple[Lot, ...]]] = field(default_factory=lambda: defaultdict(list))

    def at(self, wallet: str, block: int | None = None) -> tuple[Lot, ...]:
        """The wallet's lots after every move up to and including `block` (None: now)."""
        w = wallet.lower()
        blocks, states = self.blocks.get(w, []), self.states.get(w, [])
        i = len(blocks) if block is None else bisect.bisect_right(blocks, block)
        return states[i - 1] if i else ()


def _take(lots: list[Lot], units: int) -> list[Lot]:
    """Remove `units` first in, first out; what was removed (a lot split where needed)."""
    out = []
    while units > 0 and lots:
        lot = lots[0]
        if lot.units <= units:
            out.append(lots.pop(0))
            units -= lot.units
        else:
            out.append(Lot(units, lot.unit_cost, lot.currency, lot.source, lot.acquired))
            lots[0] = Lot(lot.units - units, lot.unit_cost, lot.currency, lot.source, lot.acquired)
            units = 0
    return out


def fifo_lots(moves: Iterable[Move], *, wallets: set[str], price_of: Callable[[Move], Price]) -> LotBook:
    """Replay the moves (in chain order) into each of the investor's `wallets`' lots."""
    wallets = {w.lower() for w in wallets}
    queues: dict[str, list[Lot]] = defaultdict(list)
    book = LotBook()

    def snapshot(w: str, block: int) -> None:
        if book.blocks[w] and book.blocks[w][-1] == block:
            book.states[w][-1] = tuple(queues[w])
        else:
            book.blocks[w].append(block)
            book.states[w].append(tuple(queues[w]))

    for m in sorted(moves, key=lambda m: (m.block, m.log_index)):
        moved = _take(queues[m.sender], m.units) if m.sender in wallets else []
        if m.recipient in wallets:
            if m.sender not in wallets:  # from outside: a new lot, priced by what it was
                cost, currency, source = price_of(m)
                moved = [Lot(m.units, cost, currency, source, (m.block, m.log_index))]
            # between own wallets the lots keep their price and their place by acquisition
            queues[m.recipient] = sorted(queues[m.recipient] + moved, key=lambda lot: lot.acquired)
            snapshot(m.recipient, m.block)
        if m.sender in wallets and m.sender != m.recipient:
            snapshot(m.sender, m.block)
    return book


def cost_by_currency(lots: Iterable[Lot]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for lot in lots:
        if lot.unit_cost is not None:
            out[lot.currency] += lot.cost
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- yield (pure)


@dataclass(frozen=True)
class Earning:
    """One distribution a wallet earned, with the cost basis of the units that earned it."""

    month: object  # datetime.date: the first day of the period's month
    income: Decimal  # USD, exact (the stablecoin's decimals)
    units: int  # held at the deposit block
    priced_units: int  # of which bought at a USD price
    capital: Decimal  # the cost basis of those priced units (USD)

    @property
    def counted_income(self) -> Decimal:
        return self.income * self.priced_units / self.units if self.units else Decimal(0)


@dataclass(frozen=True)
class RealisedYield:
    """Realised yield on what was paid (see the module's docstring for the definitions)."""

    months: int  # N: months with priced capital the figures rest on
    first: object  # date of the first and last of those months
    last: object
    income: Decimal  # all income received, USD
    counted_income: Decimal  # the part earned by priced units
    capital: Decimal  # their average cost basis over the N months, USD
    capital_varies: bool  # the cost basis was not the same every month
    unpriced_units: int  # most units without a price in any month (not counted)
    period_pct: Decimal | None  # realised over the N months, %
    annualised_pct: Decimal | None  # × 12 / N, % a year
    plausible: bool

    @property
    def status(self) -> str:
        """"ok" (show the figures), "no_price" (nothing priced to rest on) or "under_review"."""
        if self.period_pct is None:
            return "no_price"
        return "ok" if self.plausible else "under_review"

    @property
    def span(self) -> str:
        """The months it rests on, in the reader's language ("September 2026 – November 2026")."""
        first = formats.date_format(self.first, "YEAR_MONTH_FORMAT")
        return first if self.first == self.last else f"{first} – {formats.date_format(self.last, 'YEAR_MONTH_FORMAT')}"

    @property
    def below_a_year(self) -> bool:
        return self.months < MONTHS_A_YEAR


@dataclass
class _Month:
    income: Decimal = Decimal(0)
    counted: Decimal = Decimal(0)
    capital: Decimal = Decimal(0)
    unpriced: int = 0

    def add(self, other: _Month) -> None:
        self.income += other.income
        self.counted += other.counted
        self.capital += other.capital
        self.unpriced += other.unpriced


def _by_month(earnings: Iterable[Earning]) -> dict:
    """One holding's earnings per month: income added, the month's capital the largest of its
    deposits (an adjustment period pays more income on the same money)."""
    out: dict = defaultdict(_Month)
    for e in earnings:
        m = out[e.month]
        m.income += e.income
        m.counted += e.counted_income
        m.capital = max(m.capital, e.capital)
        m.unpriced = max(m.unpriced, e.units - e.priced_units)
    return out


def realised_yield(earnings: Iterable[Earning], *, subject: str = "") -> RealisedYield | None:
    """Realised and annualised yield of one holding's earnings; None when there are none (no
    income yet). An implausible annualised figure is logged as an error (`subject`: whose)."""
    return _realised(_by_month(earnings), subject=subject or "a holding")


def _realised(by_month: dict, *, subject: str) -> RealisedYield | None:
    if not by_month:
        return None
    total_income = sum((m.income for m in by_month.values()), Decimal(0))
    total_counted = sum((m.counted for m in by_month.values()), Decimal(0))
    unpriced = max(m.unpriced for m in by_month.values())
    months = sorted(k for k, m in by_month.items() if m.capital > 0)
    if not months:
        return RealisedYield(months=0, first=min(by_month), last=max(by_month), income=total_income,
                             counted_income=total_counted, capital=Decimal(0), capital_varies=False,
                             unpriced_units=unpriced, period_pct=None, annualised_pct=None, plausible=False)
    n = len(months)
    counted = sum((by_month[k].counted for k in months), Decimal(0))
    average = sum((by_month[k].capital for k in months), Decimal(0)) / n
    period = counted / average * 100
    annualised = period * MONTHS_A_YEAR / n
    ok = plausible_yield(annualised)
    result = RealisedYield(months=n, first=months[0], last=months[-1], income=total_income,
                           counted_income=total_counted, capital=average,
                           capital_varies=len({by_month[k].capital for k in months}) > 1, unpriced_units=unpriced,
                           period_pct=period.quantize(PCT, ROUND_HALF_UP),
                           annualised_pct=annualised.quantize(PCT, ROUND_HALF_UP), plausible=ok)
    if not ok:
        logger.error("Implausible realised yield %s %% a year (%s USD income over %s months on %s USD paid) "
                     "for %s: shown as under review, not published", result.annualised_pct, counted, n,
                     average.quantize(PCT), subject)
    return result


# --------------------------------------------------------------------------- from the database


def wallet_moves(offering: Offering, wallets: set[str]) -> list[Move]:
    """The offering's indexed Transfer events to or from any of these wallets, in chain order."""
    checks = _checks(wallets)
    if not checks or not offering.token_address:
        return []
    qs = (ChainEvent.objects.filter(contract__chain_id=settings.CHAIN_ID,
                                    contract__address__iexact=offering.token_address, event="Transfer")
          .filter(Q(args__to__in=checks) | Q(args__from__in=checks)).order_by("block_number", "log_index")
          .values_list("block_number", "log_index", "tx_hash", "args"))
    return [Move(block=b, log_index=i, tx_hash=tx or "", sender=str(a["from"]).lower(),
                 recipient=str(a["to"]).lower(), units=int(a["value"])) for b, i, tx, a in qs]


def _checks(wallets: Iterable[str]) -> list[str]:
    """Addresses as Transfer events store them (checksummed)."""
    return sorted({gateway.to_checksum(w) for w in wallets if w})


def price_book(offering: Offering, moves: list[Move]) -> Callable[[Move], Price]:
    """The price of each move that brought units from outside: its primary order or its fill."""
    hashes = sorted({h for m in moves if m.tx_hash for h in (m.tx_hash, m.tx_hash.lower())})
    orders: dict[tuple[str, str], Order] = {}
    for o in (Order.objects.filter(offering=offering, mint_tx__isnull=False)
              .filter(mint_tx__tx_hash__in=hashes).select_related("mint_tx")):
        orders[(o.mint_tx.tx_hash.lower(), o.wallet.lower())] = o
    fills: dict[tuple[str, str, str], MarketTransfer] = {}
    for t in (MarketTransfer.objects.filter(offering=offering, kind=MarketTransfer.Kind.FILL,
                                            status=MarketTransfer.Status.CONFIRMED,
                                            price_per_unit_base_units__isnull=False)
              .filter(Q(tx_hash__in=hashes) | Q(chain_tx__tx_hash__in=hashes))
              .select_related("offer", "chain_tx")):
        for h in {t.tx_hash.lower(), (t.chain_tx.tx_hash if t.chain_tx_id else "").lower()} - {""}:
            fills[(h, t.from_wallet.lower(), t.to_wallet.lower())] = t

    def price_of(m: Move) -> Price:
        if m.sender == ZERO:
            o = orders.get((m.tx_hash.lower(), m.recipient))
            if o is not None:
                return o.unit_price, o.currency, PRIMARY
        else:
            t = fills.get((m.tx_hash.lower(), m.sender, m.recipient))
            if t is not None:
                decimals = t.offer.stablecoin_decimals if t.offer_id else 6
                return from_token_units(int(t.price_per_unit_base_units), decimals), INCOME_CURRENCY, MARKET
        return None, "", TRANSFER

    return price_of


@dataclass
class HoldingPerformance:
    """Per holding (token and wallet): units, what they cost, the income they earned and the
    realised yield on what was paid."""

    holding: object  # tokens.ledger.Holding
    lots: tuple[Lot, ...]
    cost_basis: dict[str, Decimal]  # per currency, of the units held now
    priced_units: int
    unpriced_units: int
    income: Decimal  # every distribution the wallet earned, USD
    earnings: list[Earning]
    realised: RealisedYield | None  # None: no income yet

    @property
    def offering(self):
        return self.holding.offering

    @property
    def wallet(self) -> str:
        return self.holding.wallet

    @property
    def units(self) -> int:
        return self.holding.units

    @property
    def key(self) -> tuple[int, str]:
        return (self.holding.offering.pk, self.holding.wallet.lower())


def _earnings(periods: list[dict], book: LotBook, wallet: str) -> list[Earning]:
    out = []
    for p in periods:
        d = p["distribution"]
        units = int(p["units"])
        priced = [lot for lot in book.at(wallet, d.deposit_block) if lot.priced]
        have = sum(lot.units for lot in priced)
        cost = sum((lot.cost for lot in priced), Decimal(0))
        counted = min(have, units)
        if have > counted:  # the lots disagree with the ledger's balance: never count more than held
            cost = cost * counted / have
        out.append(Earning(month=d.period.period_start.replace(day=1), income=Decimal(p["amount"]), units=units,
                           priced_units=counted, capital=cost))
    return out


def holding_performance(holdings: list, *, wallets: Iterable[str] = ()) -> list[HoldingPerformance]:
    """Each holding's cost basis, income and realised yield (holdings: tokens.ledger.Holding
    with their periods; `wallets`: all the investor's wallets, so units moved between two of
    them keep their price even when one no longer appears as a holding)."""
    by_offering: dict[int, list] = defaultdict(list)
    for h in holdings:
        by_offering[h.offering.pk].append(h)
    out = []
    for group in by_offering.values():
        offering = group[0].offering
        own = {w.lower() for w in wallets} | {h.wallet.lower() for h in group}
        moves = wallet_moves(offering, own)
        book = fifo_lots(moves, wallets=own, price_of=price_book(offering, moves))
        for h in group:
            lots = book.at(h.wallet)
            priced = sum(lot.units for lot in lots if lot.unit_cost is not None)
            earnings = _earnings(h.periods, book, h.wallet)
            out.append(HoldingPerformance(
                holding=h, lots=lots, cost_basis=cost_by_currency(lots), priced_units=priced,
                unpriced_units=max(0, h.units - priced), income=sum((e.income for e in earnings), Decimal(0)),
                earnings=earnings,
                realised=realised_yield(earnings, subject=f"{offering.token_symbol} wallet {h.wallet}")))
    return out


def portfolio_yield(performances: list[HoldingPerformance], *, subject: str = "") -> RealisedYield | None:
    """The realised yield of all holdings together: each holding's month (as for the holding
    alone) summed month by month, income and capital alike."""
    months: dict = defaultdict(_Month)
    for perf in performances:
        for month, m in _by_month(perf.earnings).items():
            months[month].add(m)
    return _realised(months, subject=subject or "a portfolio")


def total_cost_basis(performances: list[HoldingPerformance]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for perf in performances:
        for currency, amount in perf.cost_basis.items():
            out[currency] += amount
    return dict(sorted(out.items()))
