"""Core's API routes: the audit trail."""

from django.urls import path

from core import api_views

urlpatterns = [
    path("audit-events/", api_views.AuditEventListApi.as_view(), name="api-audit-events"),
]
