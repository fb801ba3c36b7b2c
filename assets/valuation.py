"""Equipment valuation: cost, market and income approaches and their reconciliation.

Pure Python with Decimal only (no Django, no floats) so it can be unit- and property-tested
and reused by any caller. Approaches follow ASA machinery & equipment practice and USPAP
Standards 7–8; the reconciliation is a stated weighting, never a plain sum of parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")

# Useful life in years per DICOM modality. Overridable per appraisal (stored with it).
# Sources (the AHA useful-life tables are copyrighted and deliberately not embedded):
# - CT 8.2, MR 8.4: Canadian Medical Imaging Inventory (CMII) 2022–23, fleet average age
#   at replacement (CDA-AMC).
# - DX 12: Canadian Association of Radiologists (2013) life expectancy, general radiography
#   at mid use (10/12/14 years at high/mid/low use).
# - MG 10: CAR (2013) fluoroscopy/specialised radiography at mid use (8/10/12) used as proxy.
# - US, PT, NM, OT: platform assumptions (no published fleet figure found); appraiser overrides.
USEFUL_LIFE_YEARS: dict[str, Decimal] = {
    "CT": Decimal("8.2"),
    "MR": Decimal("8.4"),
    "DX": Decimal("12"),
    "MG": Decimal("10"),
    "US": Decimal("7"),
    "PT": Decimal("10"),
    "NM": Decimal("10"),
    "OT": Decimal("8"),
}


def gettext_noop(message: str) -> str:
    """Marks a message for translation without importing Django (makemessages finds the
    keyword); readers translate it where they show it."""
    return message


# Where each default useful life comes from, as the report states it (same sources as above).
USEFUL_LIFE_CITATION: dict[str, str] = {
    "CT": gettext_noop("Canadian Medical Imaging Inventory (CMII) 2022–23, CDA-AMC: average age of the "
                       "installed CT fleet, used as its useful life"),
    "MR": gettext_noop("Canadian Medical Imaging Inventory (CMII) 2022–23, CDA-AMC: average age of the "
                       "installed MRI fleet, used as its useful life"),
    "DX": gettext_noop("Canadian Association of Radiologists (2013): life expectancy of general radiography "
                       "at mid use (10/12/14 years at high/mid/low use)"),
    "MG": gettext_noop("Canadian Association of Radiologists (2013): life expectancy of fluoroscopy at mid "
                       "use (8/10/12 years), used as a proxy"),
}
USEFUL_LIFE_ASSUMPTION = gettext_noop("platform assumption: no published fleet figure for this modality")


def useful_life_citation(modality: str) -> str:
    """Where the default useful life of `modality` comes from (English; translate where shown)."""
    return USEFUL_LIFE_CITATION.get(modality, USEFUL_LIFE_ASSUMPTION)


DEFAULT_SALVAGE_FRACTION = Decimal("0.10")
# Utilization defaults (exams/day) from CMII/CDA-AMC: CT ≈ 2.34/h × 14 h, MRI ≈ 1.80/h × 15.3 h.
DEFAULT_EXAMS_PER_DAY: dict[str, Decimal] = {"CT": Decimal("33"), "MR": Decimal("27")}
DEFAULT_EXAMS_PER_DAY_CITATION: dict[str, str] = {
    "CT": "CMII 2022–23 (CDA-AMC): 2.34 exams/hour × 14 hours/day",
    "MR": "CMII 2022–23 (CDA-AMC): 1.80 exams/hour × 15.3 hours/day",
}

# Where an income-approach input came from; shown next to the number everywhere it appears.
SOURCE_TELEMETRY = "telemetry"  # measured by the device's telemetry (rollups, fee schedule)
SOURCE_DECLARED = "declared"  # declared by the clinic when it registered the device
SOURCE_MODALITY_DEFAULT = "modality_default"  # published fleet average for the modality
SOURCE_APPRAISER = "appraiser"  # typed by the appraiser on the appraisal form


def money(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def _d(x) -> Decimal:
    if isinstance(x, float):
        raise TypeError("valuation takes Decimal/int/str, never float")
    return x if isinstance(x, Decimal) else Decimal(str(x))


# --- cost approach -------------------------------------------------------------------------

@dataclass(frozen=True)
class CostInputs:
    replacement_cost_new: Decimal
    age_years: Decimal
    useful_life_years: Decimal
    condition_factor: Decimal = ONE  # 0 < c ≤ 1 observed condition vs. typical for its age
    salvage_fraction: Decimal = DEFAULT_SALVAGE_FRACTION
    obsolescence_fraction: Decimal = ZERO  # functional + economic, 0 ≤ o < 1


def declining_balance_factor(*, age_years: Decimal, useful_life_years: Decimal) -> Decimal:
    """(1 − r)^t with r = 2/life (double declining balance), r capped at 1."""
    age, life = _d(age_years), _d(useful_life_years)
    if life <= 0:
        raise ValueError("useful life must be positive")
    if age <= 0:
        return ONE
    rate = min(Decimal(2) / life, ONE)
    base = ONE - rate
    if base == 0:
        return ZERO
    return base ** age


def cost_approach(inp: CostInputs) -> Decimal:
    rcn = _d(inp.replacement_cost_new)
    if rcn < 0:
        raise ValueError("replacement cost new must not be negative")
    if not (ZERO <= _d(inp.salvage_fraction) <= ONE):
        raise ValueError("salvage fraction must be between 0 and 1")
    if not (ZERO <= _d(inp.obsolescence_fraction) < ONE):
        raise ValueError("obsolescence fraction must be at least 0 and below 1")
    if not (ZERO < _d(inp.condition_factor) <= ONE):
        raise ValueError("condition factor must be above 0 and at most 1")
    factor = declining_balance_factor(age_years=inp.age_years, useful_life_years=inp.useful_life_years)
    depreciated = rcn * factor * _d(inp.condition_factor) * (ONE - _d(inp.obsolescence_fraction))
    floor = rcn * _d(inp.salvage_fraction)
    return money(max(depreciated, floor))


def depreciation_curve(inp: CostInputs, *, years: int | None = None) -> list[tuple[int, Decimal]]:
    """Cost-approach value at each whole year of age, for the chart."""
    horizon = years if years is not None else math.ceil(_d(inp.useful_life_years) * Decimal("1.5"))
    return [
        (t, cost_approach(CostInputs(inp.replacement_cost_new, Decimal(t), inp.useful_life_years,
                                     inp.condition_factor, inp.salvage_fraction,
                                     inp.obsolescence_fraction)))
        for t in range(horizon + 1)
    ]


# --- market approach -----------------------------------------------------------------------

@dataclass(frozen=True)
class Comparable:
    price: Decimal
    adjustment_fraction: Decimal = ZERO  # net adjustment (+ subject better, − worse), e.g. -0.05
    description: str = ""

    @property
    def adjusted_price(self) -> Decimal:
        return money(_d(self.price) * (ONE + _d(self.adjustment_fraction)))


def market_approach(comparables: list[Comparable]) -> Decimal | None:
    """Mean of adjusted comparable prices; None without comparables."""
    if not comparables:
        return None
    for c in comparables:
        if _d(c.price) <= 0:
            raise ValueError("comparable prices must be positive")
        if _d(c.adjustment_fraction) <= -1:
            raise ValueError("an adjustment cannot remove the whole price")
    total = sum((c.adjusted_price for c in comparables), ZERO)
    return money(total / len(comparables))


# --- income approach -----------------------------------------------------------------------

@dataclass(frozen=True)
class IncomeInputs:
    exams_per_day: Decimal  # measured, declared, typed or the modality default (see `sources`)
    operating_days_per_year: Decimal
    technical_fee_per_exam: Decimal
    operating_cost_per_year: Decimal
    discount_rate: Decimal
    remaining_life_years: Decimal


def annual_net_income(inp: IncomeInputs) -> Decimal:
    revenue = _d(inp.exams_per_day) * _d(inp.operating_days_per_year) * _d(inp.technical_fee_per_exam)
    return revenue - _d(inp.operating_cost_per_year)


def income_approach(inp: IncomeInputs) -> Decimal:
    """Present value of net income over the remaining life, end-of-year cash flows; the last
    partial year is prorated. Negative net income values the income stream at zero."""
    if _d(inp.discount_rate) <= -1:
        raise ValueError("discount rate must be above -100%")
    for name in ("exams_per_day", "operating_days_per_year", "technical_fee_per_exam",
                 "operating_cost_per_year"):
        if _d(getattr(inp, name)) < 0:
            raise ValueError(f"{name.replace('_', ' ')} must not be negative")
    net = annual_net_income(inp)
    remaining = max(_d(inp.remaining_life_years), ZERO)
    if net <= 0 or remaining == 0:
        return ZERO.quantize(CENT)
    rate = _d(inp.discount_rate)
    pv = ZERO
    whole = int(remaining)
    for t in range(1, whole + 1):
        pv += net / (ONE + rate) ** t
    frac = remaining - whole
    if frac > 0:
        pv += net * frac / (ONE + rate) ** (whole + 1)
    return money(pv)


# --- reconciliation ------------------------------------------------------------------------

@dataclass(frozen=True)
class Reconciliation:
    value: Decimal
    weights: dict[str, Decimal]  # normalised; sums to 1 over the approaches used


def reconcile(values: dict[str, Decimal | None], weights: dict[str, Decimal]) -> Reconciliation:
    """Weighted value of the approaches that produced a value. Weights are normalised over
    those approaches, so they always sum to 1 and the result lies between the lowest and
    highest approach value."""
    used = {k: _d(v) for k, v in values.items() if v is not None}
    raw = {k: _d(weights.get(k, ZERO)) for k in used}
    if any(w < 0 for w in raw.values()):
        raise ValueError("weights must not be negative")
    total = sum(raw.values(), ZERO)
    if not used or total <= 0:
        raise ValueError("at least one approach with a value needs a positive weight")
    norm = {k: w / total for k, w in raw.items()}
    # Exact sum of 1: give the rounding remainder to the heaviest approach.
    q = {k: w.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) for k, w in norm.items()}
    heaviest = max(q, key=lambda k: q[k])
    q[heaviest] += ONE - sum(q.values(), ZERO)
    value = sum((used[k] * norm[k] for k in used), ZERO)
    lo, hi = min(used.values()), max(used.values())
    return Reconciliation(value=min(max(money(value), lo), hi), weights=q)


# --- everything at once --------------------------------------------------------------------

@dataclass
class ValuationResult:
    cost: Decimal
    market: Decimal | None
    income: Decimal | None
    reconciled: Decimal
    weights: dict[str, Decimal]
    curve: list[tuple[int, Decimal]] = field(default_factory=list)


def appraise(*, cost: CostInputs, comparables: list[Comparable], income: IncomeInputs | None,
             weights: dict[str, Decimal]) -> ValuationResult:
    cost_value = cost_approach(cost)
    market_value = market_approach(comparables)
    income_value = income_approach(income) if income is not None else None
    rec = reconcile({"cost": cost_value, "market": market_value, "income": income_value}, weights)
    return ValuationResult(cost_value, market_value, income_value, rec.value, rec.weights,
                           depreciation_curve(cost))
