"""Core pages: home, the dashboard of panels, the audit trail, the health check, and the error pages."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext

from core.api import error_body
from core.models import AuditEvent
from core.permissions import Role, role_required, user_roles
from core.registry import PANELS


def home(request):
    if request.user.is_authenticated:
        return redirect("core:dashboard")
    return render(request, "core/home.html")


@login_required
def dashboard(request):
    roles = user_roles(request.user)
    panels = []
    for panel in PANELS:
        if panel.roles & roles:
            panels.append({"template": panel.template, "ctx": panel.context(request)})
    return render(request, "core/dashboard.html", {"panels": panels, "roles": roles})


AUDIT_FILTERS = ("action", "actor", "object_type", "object_id", "since", "until")


@role_required(Role.COMPLIANCE_OFFICER, Role.PLATFORM_ADMIN)
def audit_log(request):
    qs = AuditEvent.objects.all()
    f = request.GET
    if f.get("action"):
        qs = qs.filter(action__icontains=f["action"])
    if f.get("actor"):
        qs = qs.filter(actor_label__icontains=f["actor"])
    if f.get("object_type"):
        qs = qs.filter(object_type=f["object_type"])
    if f.get("object_id"):
        qs = qs.filter(object_id=f["object_id"])
    if (d := parse_date(f.get("since", "") or "")) is not None:
        qs = qs.filter(created_at__date__gte=d)
    if (d := parse_date(f.get("until", "") or "")) is not None:
        qs = qs.filter(created_at__date__lte=d)
    page = Paginator(qs, 50).get_page(f.get("page"))
    object_types = (
        AuditEvent.objects.order_by("object_type").values_list("object_type", flat=True).distinct()
    )
    query = f.copy()
    query.pop("page", None)
    return render(
        request,
        "core/audit_log.html",
        {"page": page, "filters": {k: f.get(k, "") for k in AUDIT_FILTERS}, "object_types": object_types,
         "query": query.urlencode()},
    )


def healthz(request):
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def error_400(request, exception=None):
    if _wants_json(request):
        return JsonResponse(error_body("bad_request", gettext("The request could not be understood.")), status=400)
    return render(request, "errors/400.html", status=400)


def error_403(request, exception=None):
    if _wants_json(request):
        return JsonResponse(error_body("permission_denied", gettext("You do not have permission.")), status=403)
    return render(request, "errors/403.html", {"message": str(exception or "")}, status=403)


def error_404(request, exception=None):
    if _wants_json(request):
        return JsonResponse(error_body("not_found", gettext("Not found.")), status=404)
    return render(request, "errors/404.html", status=404)


def error_500(request):
    if _wants_json(request):
        return JsonResponse(
            error_body("internal_error", gettext("Something went wrong on our side. It has been logged.")),
            status=500,
        )
    return render(request, "errors/500.html", status=500)
