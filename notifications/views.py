"""Notification pages: the list, marking one or all read, email preferences."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from notifications import selectors, services


@login_required
def notification_list(request):
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(selectors.notifications_for(user=request.user, unread_only=unread_only), 50).get_page(
        request.GET.get("page"))
    return render(request, "notifications/list.html", {
        "page": page, "unread_only": unread_only, "unread": selectors.unread_count(user=request.user)})


@login_required
@require_POST
def notification_read(request, pk: int):
    n = selectors.notification_get_for_user(user=request.user, pk=pk)
    services.notification_mark_read(actor=request.user, notification=n)
    # "Open" marks read and follows the notification's own link (always a path on this site).
    if request.POST.get("open") and n.url:
        return redirect(n.url)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read_all(request):
    count = services.notification_mark_all_read(actor=request.user)
    messages.success(request, ngettext("%(count)s notification marked as read.",
                                       "%(count)s notifications marked as read.", count) % {"count": count})
    return redirect("notifications:list")


@login_required
def preferences(request):
    rows = selectors.preference_rows(user=request.user)
    if request.method == "POST":
        # An unticked box is absent from the form: every switchable category is set explicitly.
        wanted = {r["category"]: f"email_{r['category']}" in request.POST for r in rows if not r["locked"]}
        try:
            services.preferences_update(actor=request.user, email=wanted)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("Your notification preferences are saved."))
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"rows": rows})
