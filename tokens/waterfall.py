"""The revenue waterfall of an offering: pure Decimal arithmetic, no database.

Gross revenue of a period is split by the offering's terms (fixed at tokenization):
platform fee, maintenance reserve (until the reserve holds its target), the clinic's
operating share, and the holders' share. Each line is rounded to the currency's minor
unit and the holders take the remainder, so the lines always add up to gross exactly.
The clinic collects gross from payers and keeps its operating share; it pays the rest
(`amount_due`) to the platform, which keeps the fee, holds the reserve and deposits the
holders' share on chain. The same rules are re-implemented in the stand-alone
`scripts/verify_distribution.py`; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

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

    def as_json(self) -> dict:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


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
    holders_amount: Decimal
    amount_due: Decimal

    def lines(self, terms: Terms, currency: str, reserve_balance: Decimal) -> list[dict]:
        """Each line with the rule that produced it, as shown on statements and in the report."""
        wf = self.frozen(terms, reserve_balance)
        return [explained(line, wf, currency) for line in (
            {"line": "gross", "amount": str(self.gross)},
            {"line": "platform_fee", "amount": str(-self.platform_fee)},
            {"line": "reserve", "amount": str(-self.reserve)},
            {"line": "clinic_share", "amount": str(-self.clinic_share)},
            {"line": "holders", "amount": str(self.holders_amount)},
        )]

    def frozen(self, terms: Terms, reserve_balance: Decimal) -> dict:
        """What a distribution stores beside its lines, and `describe` reads back."""
        return {"terms": terms.as_json(), "reserve_balance_before": str(reserve_balance),
                "reserve_to_holders": str(self.reserve_to_holders)}


def compute(*, gross: Decimal, terms: Terms, reserve_balance: Decimal = Decimal(0)) -> Waterfall:
    """Split `gross` (which may be negative for a downward correction: every line follows its
    sign and no reserve is released) by `terms`."""
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
    return Waterfall(gross=gross, platform_fee=fee, reserve=reserve, reserve_to_holders=nominal_reserve - reserve,
                     clinic_share=clinic, holders_amount=holders, amount_due=gross - clinic)


LABELS = {"gross": gettext_lazy("Gross revenue"), "platform_fee": gettext_lazy("Platform fee"),
          "reserve": gettext_lazy("Maintenance reserve"), "clinic_share": gettext_lazy("Clinic's operating share"),
          "holders": gettext_lazy("Holders' share"), "compute_excluded": gettext_lazy("Compute revenue (not in terms)"),
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
            return gettext("Maintenance reserve %(pct)s%% of gross, until the reserve holds %(target)s %(currency)s "
                           "(held before: %(held)s)") % {
                "pct": terms["reserve_pct"], "target": terms["reserve_target"], "currency": currency,
                "held": wf["reserve_balance_before"]}
        if kind == "clinic_share":
            return gettext("Clinic's operating share %(pct)s%% of gross") % {"pct": terms["clinic_share_pct"]}
        if kind == "holders":
            text = gettext("Holders' share %(pct)s%% of gross") % {"pct": terms["holders_share_pct"]}
            if Decimal(wf["reserve_to_holders"]):  # absent (older reports): the stored text
                text += gettext(", plus %(amount)s of reserve share beyond the target") % {
                    "amount": wf["reserve_to_holders"]}
            return text + gettext("; takes the rounding remainder")
        if kind == "compute_excluded":
            return gettext("Compute revenue is not part of this offering's terms")
        if kind == "correction":
            return gettext("Month as corrected: %(total)s; already billed by earlier statements: %(billed)s") % {
                "total": line["corrected_total"], "billed": line["billed"]}
    except (KeyError, TypeError, InvalidOperation):
        pass
    return line.get("explanation", "")
