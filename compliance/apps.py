"""The compliance app's wiring: navigation, dashboard panels, the demo seeder, the
IdentityRegistry confirmation hooks."""

from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"

    def ready(self):
        from django.utils.translation import gettext_lazy

        from compliance import demo, panels
        from core.permissions import Role
        from core.registry import register_nav, register_panel, register_seeder

        register_nav(gettext_lazy("KYC"), "compliance:onboarding", roles=[Role.INVESTOR], order=20)
        register_nav(gettext_lazy("KYC queue"), "compliance:queue", roles=[Role.COMPLIANCE_OFFICER], order=20)
        register_panel("compliance/panels/investor.html", roles=[Role.INVESTOR], context=panels.investor_panel,
                       order=20)
        register_panel("compliance/panels/officer.html", roles=[Role.COMPLIANCE_OFFICER],
                       context=panels.officer_panel, order=20)
        register_seeder(demo.seed, order=40)

        from chain import hooks

        hooks.register("identity.register", "compliance.chain_hooks.on_register_final")
        hooks.register("identity.delete", "compliance.chain_hooks.on_delete_final")
        hooks.register("identity.expiry", "compliance.chain_hooks.on_write_final")
        hooks.register("identity.country", "compliance.chain_hooks.on_write_final")
