"""Template context: the navigation links and role labels of the signed-in user."""

from django.urls import NoReverseMatch, reverse

from core.permissions import Role, user_roles
from core.registry import NAV


def navigation(request):
    user = getattr(request, "user", None)
    roles = user_roles(user) if user is not None else set()
    items = []
    for item in NAV:
        if item.roles & roles:
            try:
                items.append({"label": item.label, "url": reverse(item.url_name)})
            except NoReverseMatch:
                continue
    labels = [Role(r).label for r in sorted(roles)]
    return {"nav_items": items, "user_roles": roles, "user_role_labels": labels}
