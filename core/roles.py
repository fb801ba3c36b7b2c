"""Roles are plain values so models can import them before auth is ready."""

from django.db import models


class Role(models.TextChoices):
    CLINIC_ADMIN = "clinic_admin", "Clinic admin"
    CLINIC_STAFF = "clinic_staff", "Clinic staff"
    APPRAISER = "appraiser", "Appraiser"
    INSPECTOR = "inspector", "Inspector"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    INVESTOR = "investor", "Investor"
    PLATFORM_ADMIN = "platform_admin", "Platform admin"


CLINIC_ROLES = frozenset({Role.CLINIC_ADMIN, Role.CLINIC_STAFF})
PLATFORM_ROLES = frozenset(
    {Role.APPRAISER, Role.INSPECTOR, Role.COMPLIANCE_OFFICER, Role.PLATFORM_ADMIN}
)
