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
    return case is not None and not case.open_hits.exists()


def investor_wallets(*, user) -> list[Wallet]:
    """The user's wallets (custodial first), as `Wallet` rows with `.address`, `.kind` and
    `.registered_on_chain`."""
    profile = investor_profile(user=user)
    if profile is None:
        return []
    return sorted(profile.wallets.all(), key=lambda w: (w.kind != Wallet.Kind.CUSTODIAL, w.created_at))


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
        qs = qs.filter(Q(status__in=[KycCase.Status.SUBMITTED, KycCase.Status.IN_REVIEW])
                       | Q(status=KycCase.Status.APPROVED, open_hit_count__gt=0))
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
