"""The market page's price history per token: the price per unit of each confirmed purchase on the
board (paid in stablecoin or by card: both settle as a fill), oldest first, with the offering
price as the reference line. Pure reads; the table under each chart is built from the same series.

A trade's time is when its transaction was confirmed (the custodial outbox's row), else when the
fill was recorded as confirmed (a browser-signed fill, followed by its receipt)."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateformat import format as date_format

from core.money import STABLECOIN_CURRENCY, STABLECOIN_DECIMALS, from_token_units
from tokens.models import MarketTransfer, Offering

TRADES = 200  # the latest trades of a token a chart shows


def _fills(offerings: list[Offering]) -> dict[int, list[dict]]:
    rows = (MarketTransfer.objects
            .filter(offering__in=offerings, kind=MarketTransfer.Kind.FILL, status=MarketTransfer.Status.CONFIRMED,
                    price_per_unit_base_units__isnull=False)
            .annotate(traded_at=Coalesce(F("chain_tx__confirmed_at"), F("updated_at")))
            .values("offering_id", "units", "price_per_unit_base_units", "offer__stablecoin_decimals", "traded_at")
            .order_by("offering_id", "traded_at", "pk"))
    out: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        decimals = r["offer__stablecoin_decimals"]
        out[r["offering_id"]].append({
            "at": r["traded_at"], "units": r["units"],
            "price": from_token_units(int(r["price_per_unit_base_units"]),
                                      STABLECOIN_DECIMALS if decimals is None else decimals)})
    return out


def _chart(offering: Offering, trades: list[dict]) -> dict:
    """Parallel series: `labels` (the trade's time in the reader's time zone, for the chart's
    axis), `at` (the time itself, for the table), `prices` (USD per unit, Decimal), `units`, and
    `reference` (the offering price at each trade) when the offering is priced in the stablecoin's
    currency; another currency is not drawn against USD prices."""
    trades = trades[-TRADES:]
    same_currency = offering.currency == STABLECOIN_CURRENCY
    return {
        "id": f"prices-{offering.pk}", "offering_id": offering.pk, "symbol": offering.token_symbol,
        "currency": STABLECOIN_CURRENCY, "offering_price": offering.price_per_unit,
        "offering_currency": offering.currency, "reference_drawn": same_currency,
        "labels": [date_format(timezone.localtime(t["at"]), "Y-m-d H:i") for t in trades],
        "at": [t["at"] for t in trades],
        "prices": [t["price"] for t in trades],
        "units": [t["units"] for t in trades],
        "reference": [offering.price_per_unit for _ in trades] if same_currency else [],
    }


def price_history(*, offering: Offering) -> dict:
    """One token's price history (empty series when it has not traded yet)."""
    return _chart(offering, _fills([offering]).get(offering.pk, []))


def price_charts(*, offerings: list[Offering]) -> list[dict]:
    """A price history for each of `offerings`, in their order (one query for all)."""
    fills = _fills(offerings)
    return [_chart(o, fills.get(o.pk, [])) for o in offerings]
