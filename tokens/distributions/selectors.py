"""Reads for the distribution and income pages and their API twins (pure reads: the writes
are tokens.distributions.services and tokens.distributions.income)."""

from __future__ import annotations

import json

from django.db.models import Count, Q
from django.http import Http404

from core.permissions import Role, user_clinic_ids, user_has_role
from telemetry.selectors import KIND_LABELS, describe_line
from tokens import ledger, waterfall
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

    d = (Distribution.objects.select_related("offering", "offering__device", "period", "deposit_tx")
         .filter(public_id=public_id, status=DistributionStatus.DISTRIBUTED).first())
    if d is None:
        raise Http404("No such statement.")
    if can_see_all(user):
        return d
    wallets = {w.address.lower() for w in ledger.investor_wallets(user)}
    if not wallets or not ledger.balances_at(d.offering, block=d.deposit_block, wallets=wallets):
        raise Http404("No such statement.")
    return d


def usage_lines(d: Distribution) -> list[dict]:
    """The period's revenue lines with their explanations (in the reader's language), as the
    statement shows them."""

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
    return admin_alerts()["waiting_funds"]


def admin_alerts() -> dict:
    """What waits for a platform admin, in one query: paid statements waiting for treasury funds
    or the chain, bank transfers waiting for a second admin's confirmation, and statements whose
    clinic payment was refunded or charged back (never funded; the amount is owed by the clinic)."""

    return Distribution.objects.aggregate(
        waiting_funds=Count("pk", filter=Q(status=DistributionStatus.WAITING_FUNDS, payment_reversed_at=None)),
        bank_to_confirm=Count("pk", filter=Q(recorded_at__isnull=False, bank_confirmed_at=None, paid_at=None)),
        payment_reversed=Count("pk", filter=Q(payment_reversed_at__isnull=False)))


def detail_visible_to(user, d: Distribution) -> bool:
    """Who may open a report's detailed usage (per-day counts, every CPT × payer cell): platform
    admins, administrators of the device's clinic, and investors who held the token's units at
    the deposit block. Everyone else sees the public report only."""
    if not getattr(user, "is_authenticated", False) or not d.report_detail:
        return False
    if can_see_all(user) or d.offering.device.organization_id in user_clinic_ids(user, roles={Role.CLINIC_ADMIN}):
        return True
    if d.status != DistributionStatus.DISTRIBUTED or not user_has_role(user, Role.INVESTOR):
        return False

    wallets = {w.address.lower() for w in ledger.investor_wallets(user)}
    return bool(wallets) and bool(ledger.balances_at(d.offering, block=d.deposit_block, wallets=wallets))


def distribution_detail_get_for_user(*, user, public_id) -> Distribution:
    """A report's detailed usage, for those detail_visible_to allows; 404 otherwise (its
    existence is not disclosed)."""
    d = (Distribution.objects.select_related("offering", "offering__device", "period")
         .filter(public_id=public_id).first())
    if d is None or not detail_visible_to(user, d):
        raise Http404("No such report detail.")
    return d


def detail_data(d: Distribution) -> dict | None:
    return json.loads(d.report_detail) if d.report_detail else None
