"""Compliance reads, with object-level permission checks (404 for what a user may not see)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from compliance.models import InvestorProfile, KycCase, KycDocument, Wallet
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
    return not profile.cases.filter(purpose=KycCase.Purpose.CHANGE).exclude(
        status__in=[KycCase.Status.APPROVED, KycCase.Status.SUPERSEDED, KycCase.Status.EXPIRED,
                    KycCase.Status.REVOKED]).exists()


def registry_failures(*, profile) -> list:
    """The investor's registry writes that failed and were not followed by a write that
    took effect: what an officer must see and resync."""
    from compliance import onchain

    rows = list(onchain._profile_rows(profile).order_by("id"))
    failed = []
    for row in rows:
        if row.status == "failed":
            failed.append(row)
        elif row.status == "confirmed":
            failed = []
    return failed


def profiles_with_registry_failures() -> set[int]:
    """Profiles whose newest final registry write failed (the review queue lists them)."""
    from chain.models import ChainTransaction

    case_ids = set()
    for key in ChainTransaction.objects.filter(contract_name="IdentityRegistry", status="failed",
                                               idempotency_key__startswith="kyc:").values_list(
                                                   "idempotency_key", flat=True):
        parts = key.split(":")
        if len(parts) > 1 and parts[1].isdigit():
            case_ids.add(int(parts[1]))
    profiles = InvestorProfile.objects.filter(cases__pk__in=case_ids).distinct()
    return {p.pk for p in profiles if registry_failures(profile=p)}


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


def review_queue(*, status: str = "", country: str = "", risk: str = "", hits: str = "") -> QuerySet[KycCase]:
    """Cases awaiting (or under) review, oldest submission first."""
    qs = (KycCase.objects.select_related("profile", "profile__user")
          .annotate(open_hit_count=Count("hits", filter=Q(hits__status="open")))
          .exclude(status=KycCase.Status.DRAFT))
    if status:
        qs = qs.filter(status=status)
    else:
        # Waiting work: new cases, and approved investors put on hold by a re-screen.
        # Waiting work also includes investors whose on-chain registry write failed.
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
