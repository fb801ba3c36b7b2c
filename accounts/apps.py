"""The accounts app's wiring: the Dashboard, Team and Audit trail links and the welcome panel."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from django.utils.translation import gettext_lazy

        from core.permissions import Role
        from core.registry import register_nav, register_panel

        everyone = list(Role.values)
        register_nav(gettext_lazy("Dashboard"), "core:dashboard", roles=everyone, order=0)
        register_nav(gettext_lazy("Team"), "accounts:team", roles=[Role.CLINIC_ADMIN], order=800)
        register_nav(gettext_lazy("Audit trail"), "core:audit-log",
                     roles=[Role.COMPLIANCE_OFFICER, Role.PLATFORM_ADMIN], order=900)
        register_panel("accounts/panels/welcome.html", roles=everyone, order=0)
