"""The notifications link in the header, with the unread count."""

from django import template
from django.db import DatabaseError
from django.urls import reverse

from notifications.selectors import unread_count

register = template.Library()


@register.inclusion_tag("notifications/nav_item.html", takes_context=True)
def notifications_nav(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    url = reverse("notifications:list")
    try:
        unread = unread_count(user=user) if user is not None else 0
    except DatabaseError:
        unread = 0  # the error pages extend base.html too: a broken database must not break them
    return {"url": url, "unread": unread, "current": request is not None and request.path == url}
