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
from decimal import ROUND_HALF_UP, Decimal

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
            errors[name] = ["Between 0 and 100."]
    if not errors and sum(shares.values()) != HUNDRED:
        total = sum(shares.values())
        errors["revenue_share_pct"] = [f"Platform fee, reserve, clinic and holders' shares add up to {total}%, "
                                       "not 100%."]
    if terms.reserve_target is None or terms.reserve_target < 0:
        errors["reserve_target"] = ["Zero or more."]
    elif terms.reserve_pct and not terms.reserve_target:
        errors["reserve_target"] = ["A maintenance reserve needs a target (it stops once the reserve holds it)."]
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
        out = [
            {"line": "gross", "amount": str(self.gross), "explanation": f"Gross revenue of the period ({currency})"},
            {"line": "platform_fee", "amount": str(-self.platform_fee),
             "explanation": f"Platform fee {terms.platform_fee_pct}% of gross"},
            {"line": "reserve", "amount": str(-self.reserve),
             "explanation": (f"Maintenance reserve {terms.reserve_pct}% of gross, until the reserve holds "
                             f"{terms.reserve_target} {currency} (held before: {reserve_balance})")},
            {"line": "clinic_share", "amount": str(-self.clinic_share),
             "explanation": f"Clinic's operating share {terms.clinic_share_pct}% of gross"},
            {"line": "holders", "amount": str(self.holders_amount),
             "explanation": (f"Holders' share {terms.holders_share_pct}% of gross"
                             + (f", plus {self.reserve_to_holders} of reserve share beyond the target"
                                if self.reserve_to_holders else "")
                             + "; takes the rounding remainder")},
        ]
        return out


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
