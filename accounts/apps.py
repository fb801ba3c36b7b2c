from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from core.permissions import Role
        from core.registry import register_nav, register_panel

        everyone = list(Role.values)
        register_nav("Dashboard", "core:dashboard", roles=everyone, order=0)
        register_nav("Team", "accounts:team", roles=[Role.CLINIC_ADMIN], order=800)
        register_nav("Audit trail", "core:audit-log",
                     roles=[Role.COMPLIANCE_OFFICER, Role.PLATFORM_ADMIN], order=900)
        register_panel("accounts/panels/welcome.html", roles=everyone, order=0)
