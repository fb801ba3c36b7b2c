"""The assets app's wiring: navigation, dashboard panels, the demo seeder, the anchor confirmation hook."""

from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "assets"

    def ready(self):
        from django.utils.translation import gettext_lazy

        from assets import demo, panels
        from chain import hooks
        from core.permissions import CLINIC_ROLES, Role
        from core.registry import register_nav, register_panel, register_seeder

        register_nav(gettext_lazy("Devices"), "assets:device-list", order=10, roles=[
            *CLINIC_ROLES, Role.APPRAISER, Role.INSPECTOR, Role.COMPLIANCE_OFFICER, Role.PLATFORM_ADMIN])
        register_nav(gettext_lazy("Appraisal queue"), "assets:appraisal-queue", roles=[Role.APPRAISER,
            Role.PLATFORM_ADMIN],
                     order=20)
        register_nav(gettext_lazy("Inspection queue"), "assets:inspection-queue",
                     roles=[Role.INSPECTOR, Role.PLATFORM_ADMIN], order=21)
        register_panel("assets/panels/clinic.html", roles=CLINIC_ROLES, context=panels.clinic_panel, order=10)
        register_panel("assets/panels/appraiser.html", roles=[Role.APPRAISER],
                       context=panels.queue_panel("submitted"), order=10)
        register_panel("assets/panels/inspector.html", roles=[Role.INSPECTOR],
                       context=panels.queue_panel("appraised"), order=10)
        register_seeder(demo.seed, order=20)
        hooks.register("assets.anchor", "assets.chain_hooks.on_anchor_final")
