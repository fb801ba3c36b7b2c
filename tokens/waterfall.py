"""The revenue waterfall of an offering: pure Decimal arithmetic, no database.

Gross revenue of a period is split by the offering's terms (fixed at tokenization):
platform fee, maintenance reserve (until the reserve holds its target), the clinic's
operating share, and the holders' pool. Each line is rounded to the currency's minor
unit and the pool takes the remainder, so the lines always add up to gross exactly.

The pool belongs to all N units of the device: each unit earns pool / N, whoever holds it.
Units nobody bought yet are the clinic's: the part of the pool for them (`retained`) stays
with the clinic, and only the part for the units investors hold (`investors`) is billed. The
token enforces the same rule on chain (`distributeRevenue(pool)` credits pool / N per unit
and pulls only what the outstanding units earn), so the split can never pay a 1 % holder the
whole pool.

The clinic collects gross from payers and keeps its operating share and the retained part; it
pays the rest (`amount_due`) to the platform, which keeps the fee, holds the reserve and
deposits the investors' part on chain. The same rules are re-implemented in the stand-alone
`scripts/verify_distribution.py`; a test keeps the two in step.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from core.money import format_money

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


class TermsError(ValueError):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Terms:
    platform_fee_pct: Decimal
    reserve_pct: Decimal
    reserve_target: Decimal
    clinic_share_pct: Decimal
    holders_share_pct: Decimal
    includes_compute_revenue: bool = False

    @classmethod
    def of(cls, offering) -> Terms:
        return cls(platform_fee_pct=offering.platform_fee_pct, reserve_pct=offering.reserve_pct,
                   reserve_target=offering.reserve_target, clinic_share_pct=offering.clinic_share_pct,
                   holders_share_pct=offering.revenue_share_pct,
                   includes_compute_revenue=offering.includes_compute_revenue)

    @classmethod
    def from_json(cls, data: dict) -> Terms:
        return cls(**{k: (Decimal(v) if isinstance(v, str) else v) for k, v in data.items()})

    def as_json(self) -> dict:
        return {k: (str(Decimal(v).quantize(CENT)) if isinstance(v, Decimal) else v)
                for k, v in asdict(self).items()}


TERMS_SCHEMA = "medrwa.terms/1"


def pinned_terms(terms: Terms, *, units: int, currency: str) -> dict:
    """What the token records at deployment (as the SHA-256 of this dict's canonical JSON): the
    waterfall terms, the N units the pool is divided over, and the currency."""
    return {"schema": TERMS_SCHEMA, "units": int(units), "currency": currency, **terms.as_json()}


def terms_hash(terms: Terms, *, units: int, currency: str) -> str:
    body = json.dumps(pinned_terms(terms, units=units, currency=currency), sort_keys=True,
                      separators=(",", ":")).encode()
    return hashlib.sha256(body).hexdigest()


def validate_terms(terms: Terms) -> None:
    """Shares are 0–100 and add up to exactly 100 % of gross; a reserve needs a target."""
    errors: dict[str, list[str]] = {}
    shares = {"platform_fee_pct": terms.platform_fee_pct, "reserve_pct": terms.reserve_pct,
              "clinic_share_pct": terms.clinic_share_pct, "revenue_share_pct": terms.holders_share_pct}
    for name, value in shares.items():
        if value is None or not (0 <= value <= HUNDRED):
            errors[name] = [gettext("Between 0 and 100.")]
    if not errors and sum(shares.values()) != HUNDRED:
        total = sum(shares.values())
        errors["revenue_share_pct"] = [gettext("Platform fee, reserve, clinic and holders' shares add up to "
                                               "%(total)s%%, not 100%%.") % {"total": total}]
    if terms.reserve_target is None or terms.reserve_target < 0:
        errors["reserve_target"] = [gettext("Zero or more.")]
    elif terms.reserve_pct and not terms.reserve_target:
        errors["reserve_target"] = [gettext("A maintenance reserve needs a target (it stops once the reserve "
                                              "holds it).")]
    if errors:
        raise TermsError(errors)


def _pct(amount: Decimal, pct: Decimal) -> Decimal:
    return (amount * pct / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Waterfall:
    gross: Decimal
    platform_fee: Decimal
    reserve: Decimal
    reserve_to_holders: Decimal  # the reserve's share once the target is reached
    clinic_share: Decimal
    holders_amount: Decimal  # the pool: all N units' part
    amount_due: Decimal
    units_total: int
    units_outstanding: int
    investors_amount: Decimal  # the pool's part for the units investors hold
    retained_amount: Decimal  # the pool's part for units nobody bought: stays with the clinic

    def lines(self, terms: Terms, currency: str, reserve_balance: Decimal) -> list[dict]:
        """Each line with the rule that produced it, as shown on statements and in the report."""
        wf = self.frozen(terms, reserve_balance)
        return [explained(line, wf, currency) for line in (
            {"line": "gross", "amount": str(self.gross)},
            {"line": "platform_fee", "amount": str(-self.platform_fee)},
            {"line": "reserve", "amount": str(-self.reserve)},
            {"line": "clinic_share", "amount": str(-self.clinic_share)},
            {"line": "holders", "amount": str(self.holders_amount)},
            {"line": "retained", "amount": str(-self.retained_amount)},
            {"line": "investors", "amount": str(self.investors_amount)},
        )]

    def frozen(self, terms: Terms, reserve_balance: Decimal) -> dict:
        """What a distribution stores beside its lines, and `describe` reads back."""
        return {"terms": terms.as_json(), "reserve_balance_before": str(reserve_balance),
                "reserve_to_holders": str(self.reserve_to_holders),
                "units": {"total": self.units_total, "outstanding": self.units_outstanding}}


def investors_part(pool: Decimal, *, units_outstanding: int, units_total: int) -> Decimal:
    """The pool's part for `units_outstanding` of `units_total` units, to the cent."""
    if units_total <= 0 or not 0 <= units_outstanding <= units_total:
        raise ValueError(f"{units_outstanding} of {units_total} units")
    return (pool * units_outstanding / units_total).quantize(CENT, rounding=ROUND_HALF_UP)


def compute(*, gross: Decimal, terms: Terms, units_total: int = 1, units_outstanding: int | None = None,
            reserve_balance: Decimal = Decimal(0)) -> Waterfall:
    """Split `gross` (which may be negative for a downward correction: every line follows its
    sign and no reserve is released) by `terms`, and the holders' pool between the
    `units_outstanding` units investors hold and the rest of the `units_total` units (by
    default every unit is held: the split at full subscription)."""
    if units_outstanding is None:
        units_outstanding = units_total
    gross = Decimal(gross).quantize(CENT, rounding=ROUND_HALF_UP)
    fee = _pct(gross, terms.platform_fee_pct)
    nominal_reserve = _pct(gross, terms.reserve_pct)
    if gross > 0:
        room = max(Decimal(0), terms.reserve_target - reserve_balance)
        reserve = min(nominal_reserve, room)
    else:  # a correction gives back reserve only up to what is held
        reserve = max(nominal_reserve, -reserve_balance)
    clinic = _pct(gross, terms.clinic_share_pct)
    holders = gross - fee - reserve - clinic
    investors = investors_part(holders, units_outstanding=units_outstanding, units_total=units_total)
    retained = holders - investors
    return Waterfall(gross=gross, platform_fee=fee, reserve=reserve, reserve_to_holders=nominal_reserve - reserve,
                     clinic_share=clinic, holders_amount=holders, amount_due=gross - clinic - retained,
                     units_total=units_total, units_outstanding=units_outstanding, investors_amount=investors,
                     retained_amount=retained)


LABELS = {"gross": gettext_lazy("Gross revenue"), "platform_fee": gettext_lazy("Platform fee"),
          "reserve": gettext_lazy("Maintenance reserve"), "clinic_share": gettext_lazy("Clinic's operating share"),
          "holders": gettext_lazy("Holders' pool (all units)"),
          "retained": gettext_lazy("Unsold units' part (kept by the clinic)"),
          "investors": gettext_lazy("Investors' part (deposited on chain)"),
          "compute_excluded": gettext_lazy("Compute revenue (not in terms)"),
          "correction": gettext_lazy("Correction")}


def explained(line: dict, wf: dict, currency: str) -> dict:
    """`line` with its stored `explanation`: describe's English, the frozen record."""
    with translation.override("en"):
        line["explanation"] = describe(line, wf, currency)
    return line


def describe(line: dict, wf: dict, currency: str) -> str:
    """A waterfall line's rule in the reader's language, rebuilt from the terms frozen with it.
    The stored English `explanation` is part of the hashed report, so it is never rewritten; it
    is what shows for a line of a shape this code does not know."""
    terms = wf.get("terms") or {}
    try:
        kind = line["line"]
        if kind == "gross":
            return gettext("Gross revenue of the period (%(currency)s)") % {"currency": currency}
        if kind == "platform_fee":
            return gettext("Platform fee %(pct)s%% of gross") % {"pct": terms["platform_fee_pct"]}
        if kind == "reserve":
            return gettext("Maintenance reserve %(pct)s%% of gross, until the reserve holds %(target)s "
                           "(held before: %(held)s)") % {
                "pct": terms["reserve_pct"], "target": format_money(terms["reserve_target"], currency),
                "held": format_money(wf["reserve_balance_before"], currency)}
        if kind == "clinic_share":
            return gettext("Clinic's operating share %(pct)s%% of gross") % {"pct": terms["clinic_share_pct"]}
        if kind == "holders":
            text = gettext("Holders' share %(pct)s%% of gross") % {"pct": terms["holders_share_pct"]}
            if Decimal(wf["reserve_to_holders"]):  # absent (older reports): the stored text
                text += gettext(", plus %(amount)s of reserve share beyond the target") % {
                    "amount": wf["reserve_to_holders"]}
            return text + gettext("; takes the rounding remainder")
        if kind in ("retained", "investors"):
            units = wf["units"]
            total, held = int(units["total"]), int(units["outstanding"])
            if kind == "retained":
                return gettext("%(unsold)s of %(total)s units were not held by investors when the statement was made: "
                               "their part of the pool stays with the clinic") % {
                    "unsold": total - held, "total": total}
            return gettext("%(held)s of %(total)s units held by investors: each unit earns 1/%(total)s of the pool") % {
                "held": held, "total": total}
        if kind == "compute_excluded":
            return gettext("Compute revenue is not part of this offering's terms")
        if kind == "correction":
            return gettext("Month as corrected: %(total)s; already billed by earlier statements: %(billed)s") % {
                "total": line["corrected_total"], "billed": line["billed"]}
    except (KeyError, TypeError, InvalidOperation):
        pass
    return line.get("explanation", "")
