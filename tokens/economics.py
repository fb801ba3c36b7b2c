"""What an offering's price means: units × price read against the device's latest signed
appraisal, and the annual yield that price implies at full subscription from the device's
measured, priced revenue under the offering's waterfall. Decimal only, never a float.

Both figures are kept within documented bands (settings OFFERING_VALUATION_BAND_PCT,
OFFERING_YIELD_BAND_PCT, OFFERING_YIELD_WINDOW_DAYS, OFFERING_YIELD_MIN_DAYS): an offering
outside them is deployed only once a second person accepts the exception
(tokens.offerings.services.offering_accept_pricing).

The formulas (DOMAIN.md, "Prices, yields and who owns the unsold units"):

- valuation = N units × price per unit: the market value of the whole revenue right the
  token's N units stand for (the holders' pool of the offering's waterfall);
- premium = valuation / appraisal − 1 (negative: a discount), against the reconciled value
  of the device's signed appraisal, in the same currency;
- annual gross = priced gross of the last `window` UTC days (procedures; compute jobs only
  if the terms include them; today, still filling, excluded) × 365 / the days of that window
  the device reported anything (a heartbeat, a procedure, GPU work). Days before it reported
  or while it was silent are unknown, not zero; the figure always says how many days it
  rests on and fewer than OFFERING_YIELD_MIN_DAYS is itself out of band;
- holders' pool per year = the waterfall (tokens.waterfall.compute) applied once to that
  annual gross with an empty reserve: the first year, in which the reserve fills to its
  target once and its share beyond the target goes to the holders. (Applying the waterfall
  to the window and scaling afterwards would fill the reserve 365/days times.);
- implied yield at full subscription = holders' pool per year / valuation. Units nobody buys
  earn their share for the clinic, so every sold unit yields the same: k/N of the pool for
  k/N of the valuation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from assets import selectors as assets_selectors
from core.errors import ApplicationError
from core.money import CURRENCY_EXPONENTS, format_money
from core.permissions import Role
from telemetry import selectors as telemetry_selectors
from tokens import waterfall

HUNDRED = Decimal(100)
PCT = Decimal("0.01")
DAYS_PER_YEAR = 365
# The figures that, once changed, void an accepted exception (tokens.offerings.services).
PRICING_FIELDS = ("units", "price_per_unit", "currency", "revenue_share_pct", "platform_fee_pct", "reserve_pct",
                  "reserve_target", "clinic_share_pct", "includes_compute_revenue")


def _pct(x: Decimal) -> Decimal:
    return x.quantize(PCT, rounding=ROUND_HALF_UP)


def _dec(value) -> Decimal:
    if isinstance(value, float):
        raise TypeError("economics takes Decimal/int/str, never float")
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency) if currency in CURRENCY_EXPONENTS else f"{amount} {currency}"


# ----------------------------------------------------------------------------- bands


@dataclass(frozen=True)
class Bands:
    valuation_pct: Decimal  # units × price within ± this % of the appraisal
    yield_min_pct: Decimal  # implied yield above this (%/yr) …
    yield_max_pct: Decimal  # … and at most this
    window_days: int  # measured revenue read back this many days
    min_days: int  # a yield resting on fewer measured days is out of band

    def as_json(self) -> dict:
        return {"valuation_pct": str(self.valuation_pct), "yield_min_pct": str(self.yield_min_pct),
                "yield_max_pct": str(self.yield_max_pct), "window_days": self.window_days,
                "min_days": self.min_days}


def bands() -> Bands:
    lo, hi = getattr(settings, "OFFERING_YIELD_BAND_PCT", (Decimal(0), Decimal(25)))
    return Bands(valuation_pct=_dec(getattr(settings, "OFFERING_VALUATION_BAND_PCT", Decimal(20))),
                 yield_min_pct=_dec(lo), yield_max_pct=_dec(hi),
                 window_days=int(getattr(settings, "OFFERING_YIELD_WINDOW_DAYS", 90)),
                 min_days=int(getattr(settings, "OFFERING_YIELD_MIN_DAYS", 30)))


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Pricing:
    """An offering's price and terms, saved or not yet (the create form's preview)."""

    units: int
    price_per_unit: Decimal
    currency: str
    terms: waterfall.Terms

    @classmethod
    def of(cls, offering) -> Pricing:
        return cls(units=int(offering.units), price_per_unit=_dec(offering.price_per_unit),
                   currency=offering.currency, terms=waterfall.Terms.of(offering))

    @classmethod
    def from_data(cls, data: dict) -> Pricing:
        """From form or API fields (validated already: numbers parse)."""
        def d(key, default="0"):
            value = data.get(key)
            return _dec(default if value in (None, "") else value)
        return cls(units=int(data.get("units") or 0), price_per_unit=d("price_per_unit"),
                   currency=str(data.get("currency") or "USD"),
                   terms=waterfall.Terms(platform_fee_pct=d("platform_fee_pct"), reserve_pct=d("reserve_pct"),
                                         reserve_target=d("reserve_target"), clinic_share_pct=d("clinic_share_pct"),
                                         holders_share_pct=d("revenue_share_pct"),
                                         includes_compute_revenue=bool(data.get("includes_compute_revenue"))))

    def as_json(self) -> dict:
        return {"units": self.units, "price_per_unit": str(self.price_per_unit.quantize(waterfall.CENT)),
                "currency": self.currency,
                "terms": self.terms.as_json()}


def valuation(*, units: int, price_per_unit) -> Decimal:
    """units × price per unit: what all N units cost at this price."""
    return int(units) * _dec(price_per_unit)


@dataclass(frozen=True)
class AppraisalRef:
    id: int
    value: Decimal
    currency: str
    effective_date: dt.date
    signed_at: dt.datetime | None

    def as_json(self) -> dict:
        return {"id": self.id, "value": str(self.value), "currency": self.currency,
                "effective_date": self.effective_date.isoformat(),
                "signed_at": self.signed_at.isoformat() if self.signed_at else None}


def latest_signed_appraisal(device) -> AppraisalRef | None:
    """The device's signed appraisal (one per device: a new one supersedes it), or None."""
    appraisal = assets_selectors.device_signed_appraisal(device=device)
    if appraisal is None:
        return None
    return AppraisalRef(id=appraisal.pk, value=appraisal.reconciled_value, currency=appraisal.currency,
                        effective_date=appraisal.effective_date, signed_at=appraisal.signed_at)


def premium_pct(*, valuation: Decimal, appraisal_value: Decimal) -> Decimal | None:
    """(valuation / appraisal − 1) in %, 2 decimals; negative = a discount. None without a
    positive appraisal."""
    appraisal_value = _dec(appraisal_value)
    if appraisal_value <= 0:
        return None
    pct = _pct((_dec(valuation) / appraisal_value - 1) * HUNDRED)
    return pct if pct else abs(pct)  # a discount that rounds away is 0.00 %, not -0.00 %


# ----------------------------------------------------------------------------- yield


@dataclass(frozen=True)
class Projection:
    """The implied yield at full subscription and everything it rests on."""

    yield_pct: Decimal | None  # %/yr, 2 decimals; None: no projection (see `reason`)
    reason: str  # why there is no yield, or ""
    currency: str
    window_start: dt.date  # first day read
    window_end: dt.date  # last day read (inclusive)
    window_days: int
    days: int  # days of the window with measured data: what the annualisation rests on
    first_day: dt.date | None = None  # first and last day with data
    last_day: dt.date | None = None
    gross: Decimal = Decimal("0.00")  # priced gross over the window, as counted under the terms
    procedure_gross: Decimal = Decimal("0.00")
    compute_gross: Decimal = Decimal("0.00")  # sold GPU time, counted only if the terms include it
    compute_included: bool = False
    unpriced_procedures: int = 0
    excluded_flagged: int = 0
    annual_gross: Decimal | None = None
    holders_pool_per_year: Decimal | None = None
    holders_share_pct: Decimal = Decimal(0)
    valuation: Decimal = Decimal(0)

    @property
    def partial_window(self) -> bool:
        return self.days < self.window_days

    def as_json(self) -> dict:
        def s(v):
            return None if v is None else (v.isoformat() if isinstance(v, dt.date) else str(v))
        return {"yield_pct": s(self.yield_pct), "reason": self.reason, "currency": self.currency,
                "window_start": s(self.window_start), "window_end": s(self.window_end),
                "window_days": self.window_days, "days": self.days, "first_day": s(self.first_day),
                "last_day": s(self.last_day), "gross": s(self.gross), "procedure_gross": s(self.procedure_gross),
                "compute_gross": s(self.compute_gross), "compute_included": self.compute_included,
                "unpriced_procedures": self.unpriced_procedures, "excluded_flagged": self.excluded_flagged,
                "annual_gross": s(self.annual_gross), "holders_pool_per_year": s(self.holders_pool_per_year),
                "holders_share_pct": s(self.holders_share_pct), "valuation": s(self.valuation)}


def annualise(*, gross: Decimal, days: int) -> Decimal:
    """gross × 365 / days, to the cent. Refuses zero days: nothing is annualised from nothing."""
    if days <= 0:
        raise ValueError("no days to annualise from")
    return (_dec(gross) * DAYS_PER_YEAR / days).quantize(waterfall.CENT, rounding=ROUND_HALF_UP)


def holders_pool_per_year(*, annual_gross: Decimal, terms: waterfall.Terms) -> Decimal:
    """The holders' line of the waterfall on a year's gross, reserve starting empty."""
    return waterfall.compute(gross=annual_gross, terms=terms, reserve_balance=Decimal(0)).holders_amount


def yield_pct(*, pool_per_year: Decimal, valuation: Decimal) -> Decimal | None:
    """pool / valuation in %/yr, 2 decimals; None for a valuation of 0 or less."""
    valuation = _dec(valuation)
    if valuation <= 0:
        return None
    return _pct(_dec(pool_per_year) / valuation * HUNDRED)


def _window(days: int, today: dt.date | None) -> tuple[dt.date, dt.date]:
    """[start, end) of the last `days` whole UTC days; today (still filling) is left out."""
    end = today or timezone.now().astimezone(dt.UTC).date()
    return end - dt.timedelta(days=days), end


def _year_segments(start: dt.date, end: dt.date):
    """[start, end) cut at each 1 January: compute_revenue prices a range by its first year."""
    while start < end:
        cut = min(end, dt.date(start.year + 1, 1, 1))
        yield start, cut
        start = cut


def _measured_revenue(device, start: dt.date, end: dt.date) -> dict:
    out = {"procedure": Decimal(0), "compute": Decimal(0), "unpriced": 0, "flagged": 0, "currencies": set()}
    for lo, hi in _year_segments(start, end):
        fig = telemetry_selectors.compute_revenue(device=device, start=lo, end=hi)
        out["procedure"] += fig["procedure_amount"]
        out["compute"] += fig["compute_amount"]
        out["unpriced"] += fig["unpriced_procedures"]
        out["flagged"] += fig["excluded_flagged"] + fig["excluded_flagged_jobs"]
        out["currencies"] |= {line["currency"] for line in fig["lines"] if line.get("currency")}
    return out


def _has_data(row: dict) -> bool:
    return bool(row["online_hours"] or row["procedures_completed"] or row["procedures_discontinued"]
                or row["gpu_hours"] or row["compute_gpu_hours"])


def implied_yield(*, device, pricing: Pricing, days: int | None = None, today: dt.date | None = None) -> Projection:
    """The annual yield `pricing` implies at full subscription from the device's measured,
    priced revenue of the last `days` days (OFFERING_YIELD_WINDOW_DAYS by default)."""
    window = int(days or bands().window_days)
    start, end = _window(window, today)
    value = valuation(units=pricing.units, price_per_unit=pricing.price_per_unit)
    base = {"currency": pricing.currency, "window_start": start, "window_end": end - dt.timedelta(days=1),
            "window_days": window, "holders_share_pct": pricing.terms.holders_share_pct, "valuation": value,
            "compute_included": pricing.terms.includes_compute_revenue}
    measured = [r["day"] for r in telemetry_selectors.daily_usage(device=device, start=start, end=end) if _has_data(r)]
    if not measured:
        return Projection(yield_pct=None, days=0, reason=gettext(
            "No measured revenue in the last %(days)s days: there is nothing to project a yield from.") % {
                "days": window}, **base)
    base.update(days=len(measured), first_day=measured[0], last_day=measured[-1])
    try:
        rev = _measured_revenue(device, start, end)
    except ApplicationError as exc:  # e.g. fee schedules in several currencies
        return Projection(yield_pct=None, reason=exc.message, **base)
    other = rev["currencies"] - {pricing.currency}
    if other:
        return Projection(yield_pct=None, reason=gettext(
            "The measured revenue is priced in %(revenue)s, the offering in %(offering)s: no yield is "
            "projected across currencies.") % {"revenue": ", ".join(sorted(other)), "offering": pricing.currency},
            **base)
    compute = rev["compute"] if pricing.terms.includes_compute_revenue else Decimal(0)
    gross = (rev["procedure"] + compute).quantize(waterfall.CENT)
    annual = annualise(gross=gross, days=len(measured))
    pool = holders_pool_per_year(annual_gross=annual, terms=pricing.terms)
    return Projection(yield_pct=yield_pct(pool_per_year=pool, valuation=value), reason="", gross=gross,
                      procedure_gross=rev["procedure"].quantize(waterfall.CENT),
                      compute_gross=compute.quantize(waterfall.CENT), unpriced_procedures=rev["unpriced"],
                      excluded_flagged=rev["flagged"], annual_gross=annual, holders_pool_per_year=pool, **base)


# ----------------------------------------------------------------------------- the check


@dataclass(frozen=True)
class Reason:
    code: str
    message: str

    def as_json(self) -> dict:
        return {"code": self.code, "message": self.message}


def out_of_band(*, valuation: Decimal, currency: str, appraisal: AppraisalRef | None, premium: Decimal | None,
                projection: Projection, bands: Bands) -> list[Reason]:
    """Why these figures are outside the bands, in words; [] when they are inside. Without a
    signed appraisal or a yield resting on enough measured days the figures cannot be shown
    to be inside, so that is a reason too (fail closed)."""
    reasons: list[Reason] = []
    if appraisal is None:
        reasons.append(Reason("no_appraisal", gettext(
            "The device has no signed appraisal to read the price against.")))
    elif appraisal.currency != currency:
        reasons.append(Reason("appraisal_currency", gettext(
            "The appraisal is in %(appraisal)s, the offering in %(offering)s: the valuation cannot be compared.")
            % {"appraisal": appraisal.currency, "offering": currency}))
    elif premium is None:
        reasons.append(Reason("no_appraisal", gettext("The signed appraisal values the device at zero.")))
    elif abs(premium) > bands.valuation_pct:
        args = {"valuation": _money(valuation, currency), "pct": f"{abs(premium):.2f}",
                "appraisal": _money(appraisal.value, currency), "band": f"{bands.valuation_pct:.2f}"}
        if premium > 0:
            reasons.append(Reason("valuation_above_band", gettext(
                "Units × price (%(valuation)s) is %(pct)s%% above the signed appraisal (%(appraisal)s); the band "
                "is ±%(band)s%%.") % args))
        else:
            reasons.append(Reason("valuation_below_band", gettext(
                "Units × price (%(valuation)s) is %(pct)s%% below the signed appraisal (%(appraisal)s); the band "
                "is ±%(band)s%%.") % args))
    y = projection.yield_pct
    if y is None:
        reasons.append(Reason("no_yield", projection.reason or gettext("No yield can be projected.")))
        return reasons
    if projection.days < bands.min_days:
        reasons.append(Reason("too_few_days", gettext(
            "The projected yield rests on %(days)s days of measured revenue; at least %(min)s are needed to "
            "annualise it.") % {"days": projection.days, "min": bands.min_days}))
    if y > bands.yield_max_pct:
        reasons.append(Reason("yield_above_band", gettext(
            "The implied yield at full subscription, %(yield)s%%/yr, is above the band's %(max)s%%/yr.")
            % {"yield": f"{y:.2f}", "max": f"{bands.yield_max_pct:.2f}"}))
    elif y <= bands.yield_min_pct:
        reasons.append(Reason("yield_below_band", gettext(
            "The implied yield at full subscription, %(yield)s%%/yr, is not above the band's %(min)s%%/yr.")
            % {"yield": f"{y:.2f}", "min": f"{bands.yield_min_pct:.2f}"}))
    return reasons


@dataclass(frozen=True)
class PricingCheck:
    pricing: Pricing
    valuation: Decimal
    appraisal: AppraisalRef | None
    premium_pct: Decimal | None
    projection: Projection
    bands: Bands
    reasons: list[Reason] = field(default_factory=list)

    @property
    def in_band(self) -> bool:
        return not self.reasons

    @property
    def codes(self) -> list[str]:
        return sorted({r.code for r in self.reasons})

    @property
    def is_discount(self) -> bool:
        return self.premium_pct is not None and self.premium_pct < 0

    @property
    def premium_abs_pct(self) -> Decimal | None:
        return None if self.premium_pct is None else abs(self.premium_pct)

    def as_json(self) -> dict:
        return {"pricing": self.pricing.as_json(), "valuation": str(self.valuation),
                "appraisal": self.appraisal.as_json() if self.appraisal else None,
                "premium_pct": None if self.premium_pct is None else str(self.premium_pct),
                "projection": self.projection.as_json(), "bands": self.bands.as_json(),
                "reasons": [r.as_json() for r in self.reasons], "codes": self.codes}


def pricing_check(*, device, pricing: Pricing, today: dt.date | None = None) -> PricingCheck:
    """Valuation against the appraisal, the implied yield and why either is out of band."""
    b = bands()
    value = valuation(units=pricing.units, price_per_unit=pricing.price_per_unit)
    appraisal = latest_signed_appraisal(device)
    premium = (premium_pct(valuation=value, appraisal_value=appraisal.value)
               if appraisal is not None and appraisal.currency == pricing.currency else None)
    projection = implied_yield(device=device, pricing=pricing, days=b.window_days, today=today)
    reasons = out_of_band(valuation=value, currency=pricing.currency, appraisal=appraisal, premium=premium,
                          projection=projection, bands=b)
    return PricingCheck(pricing=pricing, valuation=value, appraisal=appraisal, premium_pct=premium,
                        projection=projection, bands=b, reasons=reasons)


def offering_pricing(offering, *, today: dt.date | None = None) -> PricingCheck:
    return pricing_check(device=offering.device, pricing=Pricing.of(offering), today=today)


def acceptance_covers(offering, check: PricingCheck) -> bool:
    """Whether the exception a second person accepted still covers `check`: the same price,
    units and terms, the same appraisal, and no reason they did not see (an exception
    accepted for "no revenue measured yet" does not cover a 233 % yield measured since)."""
    review = offering.pricing_review or {}
    if offering.pricing_accepted_at is None or not review:
        return False
    if review.get("pricing") != check.pricing.as_json():
        return False
    accepted_appraisal = (review.get("appraisal") or {}).get("id")
    if accepted_appraisal != (check.appraisal.id if check.appraisal else None):
        return False
    return set(check.codes) <= set(review.get("codes") or [])



def acceptance(offering, check: PricingCheck | None = None) -> dict | None:
    """The accepted exception as pages show it (None without one): the acceptor's role and
    when, their reason, the reasons they accepted and whether it still covers `check`."""
    if offering.pricing_accepted_at is None:
        return None
    review = offering.pricing_review or {}
    role = review.get("accepted_role", "")
    return {"role": role, "role_label": Role(role).label if role in Role.values else role,
            "at": offering.pricing_accepted_at, "reason": offering.pricing_reason,
            "by_id": offering.pricing_accepted_by_id, "reasons": review.get("reasons") or [],
            "second_person": offering.pricing_accepted_by_id not in (offering.pricing_author_id, None),
            "covers": acceptance_covers(offering, check) if check is not None else None}
