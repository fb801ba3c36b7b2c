"""Reads for the distribution and income pages and their API twins (pure reads: the writes
are tokens.distributions and tokens.income)."""

from __future__ import annotations

import json

from django.http import Http404

from core.permissions import Role, user_clinic_ids, user_has_role
from tokens import waterfall
from tokens.models import Distribution, DistributionStatus, Offering

LIST_LIMIT = 200


def can_see_all(user) -> bool:
    return user_has_role(user, Role.PLATFORM_ADMIN)


def distributions_for_user(*, user, status: str = ""):
    """Platform admins see every distribution; a clinic admin those of their clinics' devices."""
    qs = Distribution.objects.select_related("offering", "offering__device", "offering__device__organization",
                                             "period", "deposit_tx")
    if not can_see_all(user):
        qs = qs.filter(offering__device__organization_id__in=user_clinic_ids(user, roles={Role.CLINIC_ADMIN}))
    if status in DistributionStatus.values:
        qs = qs.filter(status=status)
    return qs.order_by("-period__period_start", "-pk")


def distribution_get_for_user(*, user, public_id) -> Distribution:
    """404 (not 403) for a statement of another clinic: its existence is not disclosed."""
    d = distributions_for_user(user=user).filter(public_id=public_id).first()
    if d is None:
        raise Http404("No such statement.")
    return d


def distribution_get_for_investor(*, user, public_id) -> Distribution:
    """A distributed period the investor held units in (or any, for platform admins)."""
    from tokens import income

    d = (Distribution.objects.select_related("offering", "offering__device", "period", "deposit_tx")
         .filter(public_id=public_id, status=DistributionStatus.DISTRIBUTED).first())
    if d is None:
        raise Http404("No such statement.")
    if can_see_all(user):
        return d
    wallets = {w.address.lower() for w in income._investor_wallets(user)}
    if not wallets or not income.balances_at(d.offering, block=d.deposit_block, wallets=wallets):
        raise Http404("No such statement.")
    return d


def usage_lines(d: Distribution) -> list[dict]:
    """The period's revenue lines with their explanations (in the reader's language), as the
    statement shows them."""
    from telemetry.selectors import KIND_LABELS, describe_line

    return [{"kind": line.get("kind", ""), "label": str(KIND_LABELS.get(line.get("kind"), line.get("kind", ""))),
             "amount": line.get("amount", ""), "explanation": describe_line(line),
             "detail": {k: v for k, v in line.items() if k not in ("kind", "amount", "explanation")}}
            for line in (d.period.lines or [])]


def waterfall_lines(d: Distribution) -> list[dict]:
    """The waterfall's lines with their labels and rules in the reader's language."""
    return [{"line": line["line"], "label": str(waterfall.LABELS.get(line["line"], line["line"])),
             "amount": line["amount"], "explanation": waterfall.describe(line, d.waterfall, d.currency)}
            for line in d.waterfall.get("lines", [])]


def report_data(d: Distribution) -> dict | None:
    return json.loads(d.report) if d.report else None


def batch_claim_offerings():
    """Live tokens with at least one distributed period: where a batch claim can find income."""
    return (Offering.objects.filter(distributions__status=DistributionStatus.DISTRIBUTED).exclude(token_address="")
            .distinct().order_by("token_symbol"))


def waiting_funds_count() -> int:
    return Distribution.objects.filter(status=DistributionStatus.WAITING_FUNDS).count()
