"""Notification reads for one user: the list, the unread count, email preferences."""

from django.db.models import QuerySet
from django.http import Http404

from core.permissions import user_roles
from notifications.models import ALWAYS_EMAIL, AUDIENCE, Category, Notification, NotificationPreference


def notifications_for(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient=user)
    return qs.filter(read_at=None) if unread_only else qs


def unread_count(*, user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at=None).count()


def notification_get_for_user(*, user, pk: int) -> Notification:
    n = Notification.objects.filter(recipient=user, pk=pk).first()
    if n is None:
        raise Http404
    return n


def email_preferences(*, user) -> dict[str, bool]:
    saved = dict(NotificationPreference.objects.filter(user=user).values_list("category", "email_enabled"))
    return {c: (True if c in ALWAYS_EMAIL else saved.get(c, True)) for c in Category.values}


def categories_for(*, user) -> list[str]:
    """The categories whose notices can reach this user, by their roles (models.AUDIENCE)."""
    roles = user_roles(user)
    return [c for c in Category.values if AUDIENCE.get(c) is None or AUDIENCE[c] & roles]


def preference_rows(*, user) -> list[dict]:
    """One row per category that can reach the user: an investor is never asked about clinic
    statements, a clinic about orders."""
    prefs = email_preferences(user=user)
    labels = dict(Category.choices)
    return [{"category": c, "label": str(labels[c]), "email": prefs[c], "locked": c in ALWAYS_EMAIL}
            for c in categories_for(user=user)]
