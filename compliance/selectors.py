"""Compliance reads, with object-level permission checks (404 for what a user may not see)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from chain.models import ChainTransaction
from compliance import onchain
from compliance.models import InvestorProfile, KycCase, KycDocument, ScreeningHit, Wallet
from core.permissions import Role, user_has_role


def investor_profile(*, user) -> InvestorProfile | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return InvestorProfile.objects.filter(user=user).first()


def current_case(*, user) -> KycCase | None:
    profile = investor_profile(user=user)
    if profile is None:
        return None
    return profile.cases.order_by("-created_at", "-id").first()


def active_approval(*, user) -> KycCase | None:
    profile = investor_profile(user=user)
    if profile is None:
        return None
    return (profile.cases.filter(status=KycCase.Status.APPROVED, expires_at__gt=timezone.now())
            .order_by("-approved_at").first())


def investor_is_eligible(*, user) -> bool:
    """May this user buy or hold tokens now: an approved, unexpired KYC case with no open
    sanctions hit, and processing not restricted (erasure request)."""
    profile = investor_profile(user=user)
    if profile is None or profile.processing_restricted or not user.is_active:
        return False
    case = active_approval(user=user)
    if case is None or case.open_hits.exists():
        return False
    # A profile change after approval suspends eligibility until the change is approved.
    return not change_pending(profile)


def change_pending(profile: InvestorProfile) -> bool:
    """A profile change after approval awaits its own approval: eligibility is suspended."""
    return profile.cases.filter(purpose=KycCase.Purpose.CHANGE).exclude(
        status__in=[KycCase.Status.APPROVED, KycCase.Status.SUPERSEDED, KycCase.Status.EXPIRED,
                    KycCase.Status.REVOKED]).exists()


def registry_failures(*, profile) -> list:
    """The investor's registry writes that failed and were not followed by a write that
    took effect: what an officer must see and resync."""
    rows = list(onchain._profile_rows(profile).order_by("id"))
    failed = []
    for row in rows:
        if row.status == "failed":
            failed.append(row)
        elif row.status == "confirmed":
            failed = []
    return failed


def _registry_key_case_id(key: str) -> int | None:
    """The case id of a registry write key `kyc:<case id>:…` (the prefix already matched by
    the database), in the exact form `onchain._profile_rows` matches it, else None."""
    head, sep, _ = key[4:].partition(":")
    if sep and head.isascii() and head.isdigit() and str(int(head)) == head:
        return int(head)
    return None


def profiles_with_registry_failures() -> set[int]:
    """Profiles whose newest final registry write failed (the review queue lists them).

    The same rule as `registry_failures` for every profile at once, in three queries: a
    failed write counts unless a later write of that investor was confirmed."""
    registry_rows = ChainTransaction.objects.filter(contract_name=onchain.REGISTRY,
                                                    idempotency_key__startswith="kyc:")
    case_ids = set()
    first_failed = None
    for pk, key in registry_rows.filter(status="failed").values_list("pk", "idempotency_key"):
        first_failed = pk if first_failed is None else min(first_failed, pk)
        parts = key.split(":")
        if len(parts) > 1 and parts[1].isdigit():
            case_ids.add(int(parts[1]))
    if not case_ids:
        return set()
    # Every case of the investors concerned: a later confirmed write may be under another case.
    case_profile = dict(KycCase.objects.filter(
        profile_id__in=KycCase.objects.filter(pk__in=case_ids).values("profile_id"))
        .values_list("pk", "profile_id"))
    # Only failed and confirmed writes decide; a confirmed write older than every failed one
    # changes nothing.
    failing: dict[int, bool] = {}
    for key, status in (registry_rows.filter(status__in=["failed", "confirmed"], pk__gte=first_failed)
                        .order_by("id").values_list("idempotency_key", "status")):
        profile_id = case_profile.get(_registry_key_case_id(key))
        if profile_id is not None:
            failing[profile_id] = status == "failed"
    return {profile_id for profile_id, failed in failing.items() if failed}


def investor_wallets(*, user) -> list[Wallet]:
    """The user's wallets (custodial first), as `Wallet` rows with `.address`, `.kind` and
    `.registered_on_chain`."""
    profile = investor_profile(user=user)
    if profile is None:
        return []
    return sorted(profile.wallets.all(), key=lambda w: (w.kind != Wallet.Kind.CUSTODIAL, w.created_at))


def investor_wallet(*, user, address: str) -> Wallet | None:
    """One of the user's own wallets by address (any case), or None."""
    address = (address or "").strip().lower()
    return next((w for w in investor_wallets(user=user) if w.address.lower() == address), None) if address else None


def custodial_wallet(*, user) -> Wallet | None:
    return next((w for w in investor_wallets(user=user) if w.kind == Wallet.Kind.CUSTODIAL), None)


def _is_officer(user) -> bool:
    return user_has_role(user, Role.COMPLIANCE_OFFICER)


def case_get_for_user(*, user, case_id: int) -> KycCase:
    case = KycCase.objects.select_related("profile", "profile__user").filter(pk=case_id).first()
    if case is None:
        raise Http404
    if case.profile.user_id == user.pk or _is_officer(user):
        return case
    raise Http404


def document_get_for_user(*, user, document_id: int) -> KycDocument:
    doc = KycDocument.objects.select_related("case__profile").filter(pk=document_id).first()
    if doc is None:
        raise Http404
    if doc.case.profile.user_id == user.pk or _is_officer(user):
        return doc
    raise Http404


def review_queue(*, status: str = "", country: str = "", risk: str = "", hits: str = "",
                 failing: set[int] | None = None) -> QuerySet[KycCase]:
    """Cases awaiting (or under) review, oldest submission first. `failing` is
    `profiles_with_registry_failures()` when the caller has it already."""
    qs = (KycCase.objects.select_related("profile", "profile__user")
          .annotate(open_hit_count=Count("hits", filter=Q(hits__status="open")))
          .exclude(status=KycCase.Status.DRAFT))
    if status:
        qs = qs.filter(status=status)
    else:
        # Waiting work: new cases, and approved investors put on hold by a re-screen.
        # Waiting work also includes investors whose on-chain registry write failed.
        if failing is None:
            failing = profiles_with_registry_failures()
        latest = list(KycCase.objects.filter(profile_id__in=failing).order_by("profile_id", "-created_at")
                      .values_list("profile_id", "pk"))
        newest = {}
        for profile_id, pk in latest:
            newest.setdefault(profile_id, pk)
        qs = qs.filter(Q(status__in=[KycCase.Status.SUBMITTED, KycCase.Status.IN_REVIEW])
                       | Q(status=KycCase.Status.APPROVED, open_hit_count__gt=0)
                       | Q(pk__in=list(newest.values())))
    if country:
        qs = qs.filter(profile__residence_country=country.upper())
    if risk:
        qs = qs.filter(risk_level=risk)
    if hits == "open":
        qs = qs.filter(open_hit_count__gt=0)
    elif hits == "none":
        qs = qs.filter(open_hit_count=0)
    return qs.order_by("submitted_at", "id")


def queue_counts() -> dict:
    qs = KycCase.objects.filter(status__in=[KycCase.Status.SUBMITTED, KycCase.Status.IN_REVIEW])
    on_hold = KycCase.objects.filter(status=KycCase.Status.APPROVED, hits__status="open").distinct().count()
    return {"waiting": qs.count(), "high": qs.filter(risk_level=KycCase.Risk.HIGH).count(),
            "hits": qs.filter(hits__status="open").distinct().count(), "on_hold": on_hold}


DEFAULT_HIGH_RISK_COUNTRIES = ["AF", "BY", "CU", "IR", "KP", "MM", "RU", "SY", "VE", "YE"]


def _high_risk_countries() -> set[str]:
    return set(getattr(settings, "KYC_HIGH_RISK_COUNTRIES", DEFAULT_HIGH_RISK_COUNTRIES))


def risk_factors(case: KycCase) -> list[tuple[str, int]]:
    profile = case.profile
    factors = []
    if profile.residence_country in _high_risk_countries() or profile.tax_residence in _high_risk_countries():
        factors.append(("High-risk country", 40))
    if profile.is_pep:
        factors.append(("Politically exposed person", 30))
    hits = list(case.hits.all()) if case.pk else []
    if any(h.status == ScreeningHit.Status.OPEN for h in hits):
        factors.append(("Open sanctions hit", 50))
    elif hits:
        factors.append(("Cleared sanctions hit", 20))
    amount = profile.intended_amount or Decimal(0)
    if amount >= Decimal(getattr(settings, "KYC_LARGE_AMOUNT", "1000000")):
        factors.append(("Intended amount ≥ 1,000,000", 25))
    elif amount >= Decimal(getattr(settings, "KYC_MEDIUM_AMOUNT", "100000")):
        factors.append(("Intended amount ≥ 100,000", 10))
    return factors
