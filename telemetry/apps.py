"""The telemetry app's wiring: navigation, dashboard panel, demo seeder, the usage provider for
appraisals."""

from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "telemetry"

    def ready(self):
        from django.utils.translation import gettext_lazy

        from assets.usage import register_usage_provider
        from core.permissions import CLINIC_ROLES, Role
        from core.registry import register_nav, register_panel, register_seeder
        from telemetry import api_views, panels  # noqa: F401  (api_views registers the OpenAPI auth extension)
        from telemetry.demo import seed

        roles = [*CLINIC_ROLES, Role.PLATFORM_ADMIN]
        register_nav(gettext_lazy("Telemetry"), "telemetry:health", roles=roles, order=300)
        register_nav(gettext_lazy("Tariffs"), "telemetry:tariffs", roles=[Role.PLATFORM_ADMIN], order=301)
        register_panel("telemetry/panels/telemetry.html", roles=roles, context=panels.telemetry_panel, order=300)
        register_seeder(seed, order=300)
        register_usage_provider("telemetry.appraisal_usage.device_usage")
