"""Notifications: the in-app row and its email. Any app may call notify() inside its own
transaction; the email is queued on commit, so a rolled-back change tells nobody."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from core.i18n import in_language_of
from core.roles import Role
from core.services import audit
from core.tasks import enqueue_on_commit, task_named
from notifications.models import ALWAYS_EMAIL, Category, EmailDelivery, Notification, NotificationPreference
from notifications.selectors import email_preferences

logger = logging.getLogger(__name__)

# Attempts per email before it is marked failed (the Celery task retries one fewer times).
MAX_EMAIL_ATTEMPTS = 6


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    # Only paths inside the site: a notification must never link people elsewhere.
    if url and (not url.startswith("/") or url.startswith("//")):
        raise ApplicationError("invalid_url", "A notification links only to a page of this site.",
                               details={"url": [url]})
    return url


def email_wanted(*, user, category: str) -> bool:
    if category in ALWAYS_EMAIL:
        return True
    pref = NotificationPreference.objects.filter(user=user, category=category).values_list(
        "email_enabled", flat=True).first()
    return True if pref is None else pref


def notify(*, recipient, category: str, event_key: str, title: str, body: str, url: str = "",
           email: bool = True) -> Notification | None:
    """Tell `recipient` about an event, once: a second call with the same event key and
    recipient does nothing (returns None). Safe inside the caller's transaction: the insert
    runs in a savepoint, and the email is sent by a Celery task after the commit."""
    if recipient is None or not getattr(recipient, "is_active", False):
        return None
    if category not in Category.values:
        raise ApplicationError("invalid_category", f"Unknown notification category {category!r}.")
    event_key = (event_key or "").strip()
    if not event_key:
        raise ApplicationError("event_key_required", "A notification needs an event key.")
    key = f"{event_key}|{recipient.pk}"[:255]
    if Notification.objects.filter(idempotency_key=key).exists():
        return None
    # Stored in the recipient's language: callers pass lazy translations (gettext_lazy).
    with in_language_of(recipient):
        title, body = str(title), str(body)
    n = Notification(recipient=recipient, category=category, event_key=event_key[:200], idempotency_key=key,
                     title=title[:200], body=body, url=_clean_url(url))
    n.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            n.save()
    except IntegrityError:
        return None  # the same event raced in from another worker; it has been told
    if email and recipient.email and email_wanted(user=recipient, category=category):
        delivery = EmailDelivery.objects.create(notification=n, to_email=recipient.email)
        enqueue_on_commit("notifications.tasks.email_delivery_send", delivery.pk)
    return n


def organization_members(*, organization_id: int, roles: Iterable[str] = (Role.CLINIC_ADMIN,)):
    return User.objects.filter(is_active=True, memberships__organization_id=organization_id,
                               memberships__role__in=list(roles)).distinct().order_by("pk")


def notify_organization(*, organization_id: int, category: str, event_key: str, title: str, body: str,
                        url: str = "", roles: Iterable[str] = (Role.CLINIC_ADMIN,)) -> int:
    """notify() each member of a clinic holding one of `roles` (its admins by default)."""
    return sum(
        notify(recipient=u, category=category, event_key=event_key, title=title, body=body, url=url) is not None
        for u in organization_members(organization_id=organization_id, roles=roles)
    )


def staff_members(*, roles: Iterable[str]):
    """Active users holding one of the platform-wide `roles` (superusers count as platform admins)."""
    q = Q(memberships__role__in=list(roles))
    if Role.PLATFORM_ADMIN in roles:
        q |= Q(is_superuser=True)
    return User.objects.filter(q, is_active=True).distinct().order_by("pk")


def notify_staff(*, roles: Iterable[str], category: str, event_key: str, title: str, body: str, url: str = "") -> int:
    """notify() each platform admin or compliance officer holding one of `roles` (an alert, a decision due)."""
    return sum(
        notify(recipient=u, category=category, event_key=event_key, title=title, body=body, url=url) is not None
        for u in staff_members(roles=list(roles))
    )


# ------------------------------------------------------------------------ reading


@transaction.atomic
def notification_mark_read(*, actor, notification: Notification) -> Notification:
    n = Notification.objects.select_for_update().filter(pk=notification.pk, recipient=actor).first()
    if n is None:
        raise ApplicationError("not_found", "Not found.", status=404)
    if n.read_at is None:
        n.read_at = timezone.now()
        n.save(update_fields=["read_at", "updated_at"])
        audit(actor=actor, action="notifications.mark_read", obj=n, before={"read": False}, after={"read": True})
    return n


@transaction.atomic
def notification_mark_all_read(*, actor) -> int:
    now = timezone.now()
    count = Notification.objects.filter(recipient=actor, read_at=None).update(read_at=now, updated_at=now)
    if count:
        audit(actor=actor, action="notifications.mark_all_read", obj=actor, after={"marked": count})
    return count


@transaction.atomic
def preferences_update(*, actor, email: dict[str, bool]) -> dict[str, bool]:
    """Set email on/off per category. Security and legal notices are always emailed: asking
    to switch them off is refused rather than silently ignored."""
    unknown = sorted(set(email) - set(Category.values))
    if unknown:
        raise ApplicationError("invalid_category", "Unknown notification categories.",
                               details={"categories": unknown})
    locked = sorted(c for c, on in email.items() if c in ALWAYS_EMAIL and not on)
    if locked:
        raise ApplicationError("always_on", "Security and legal notices are always emailed.",
                               details={"categories": locked})
    changed = {}
    for category, on in email.items():
        if category in ALWAYS_EMAIL:
            continue
        pref, _ = NotificationPreference.objects.select_for_update().get_or_create(user=actor, category=category)
        if pref.email_enabled != bool(on):
            changed[category] = {"before": pref.email_enabled, "after": bool(on)}
            pref.email_enabled = bool(on)
            pref.full_clean()
            pref.save()
    if changed:
        audit(actor=actor, action="notifications.preferences_update", obj=actor,
              before={c: v["before"] for c, v in changed.items()}, after={c: v["after"] for c, v in changed.items()})
    return email_preferences(user=actor)


# ------------------------------------------------------------------------- email


def _render(n: Notification) -> tuple[str, str, str]:
    site = settings.SITE_URL.rstrip("/")
    ctx = {"n": n, "name": n.recipient.get_short_name(), "link": f"{site}{n.url}" if n.url else "",
           "preferences_link": site + reverse("notifications:preferences"), "site": site,
           "always_on": n.category in ALWAYS_EMAIL}
    subject = f"[MedRWA] {n.title}".replace("\n", " ")
    with in_language_of(n.recipient):
        return (subject, render_to_string("notifications/email/notification.txt", ctx),
                render_to_string("notifications/email/notification.html", ctx))


def email_delivery_send(*, delivery_id: int) -> EmailDelivery | None:
    """Send one delivery's email, at most once. The row is claimed (pending → sending) by a
    conditional UPDATE before the SMTP call; a failure puts it back to pending (or failed
    after MAX_EMAIL_ATTEMPTS) and re-raises so the task retries with backoff."""
    now = timezone.now()
    claimed = EmailDelivery.objects.filter(pk=delivery_id, status=EmailDelivery.Status.PENDING).update(
        status=EmailDelivery.Status.SENDING, attempts=F("attempts") + 1, updated_at=now)
    if not claimed:
        return None  # sent, in flight elsewhere, or failed for good
    d = EmailDelivery.objects.select_related("notification__recipient").get(pk=delivery_id)
    try:
        subject, text, html = _render(d.notification)
        msg = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [d.to_email])
        msg.attach_alternative(html, "text/html")
        msg.send()
    except Exception as exc:
        final = d.attempts >= MAX_EMAIL_ATTEMPTS
        status = EmailDelivery.Status.FAILED if final else EmailDelivery.Status.PENDING
        EmailDelivery.objects.filter(pk=d.pk).update(status=status, last_error=f"{type(exc).__name__}: {exc}"[:2000],
                                                     updated_at=timezone.now())
        (logger.error if final else logger.warning)("Email for notification %s failed (attempt %s): %s",
                                                    d.notification_id, d.attempts, exc)
        raise
    EmailDelivery.objects.filter(pk=d.pk).update(status=EmailDelivery.Status.SENT, sent_at=timezone.now(),
                                                 last_error="", updated_at=timezone.now())
    d.refresh_from_db()
    return d


def email_deliveries_requeue(*, older_than_seconds: int = 900) -> int:
    """Periodic: pending emails whose task never reached the broker (or whose retries were
    lost) are queued again. Rows in `sending` are left alone: resending them could send twice."""
    task = task_named("notifications.tasks.email_delivery_send")
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    ids = list(EmailDelivery.objects.filter(status=EmailDelivery.Status.PENDING, updated_at__lt=cutoff)
               .values_list("pk", flat=True)[:500])
    for pk in ids:
        task.delay(pk)
    return len(ids)
