"""Roles are plain values so models can import them before auth is ready."""

from django.db import models
from django.utils.translation import gettext_lazy


class Role(models.TextChoices):
    CLINIC_ADMIN = "clinic_admin", gettext_lazy("Clinic admin")
    CLINIC_STAFF = "clinic_staff", gettext_lazy("Clinic staff")
    APPRAISER = "appraiser", gettext_lazy("Appraiser")
    INSPECTOR = "inspector", gettext_lazy("Inspector")
    COMPLIANCE_OFFICER = "compliance_officer", gettext_lazy("Compliance officer")
    INVESTOR = "investor", gettext_lazy("Investor")
    PLATFORM_ADMIN = "platform_admin", gettext_lazy("Platform admin")


CLINIC_ROLES = frozenset({Role.CLINIC_ADMIN, Role.CLINIC_STAFF})
PLATFORM_ROLES = frozenset(
    {Role.APPRAISER, Role.INSPECTOR, Role.COMPLIANCE_OFFICER, Role.PLATFORM_ADMIN}
)
