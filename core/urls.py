"""Core's web routes: home, dashboard, audit trail, health check, the JavaScript catalogue."""

from django.urls import path
from django.views.i18n import JavaScriptCatalog

from core import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("audit/", views.audit_log, name="audit-log"),
    path("healthz", views.healthz, name="healthz"),
    # gettext() for static/js (djangojs catalogue), in the language the middleware activated.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="jsi18n"),
]
