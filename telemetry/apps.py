from django.apps import AppConfig


def _panel_context(request) -> dict:
    from telemetry.selectors import devices_for_user, flags_for_user

    return {"devices": devices_for_user(user=request.user).filter(telemetry_stream__last_seen_at__isnull=False).count(),
            "open_flags": flags_for_user(user=request.user, open_only=True).count()}


class TelemetryConfig(AppConfig):
    name = "telemetry"

    def ready(self):
        from django.utils.translation import gettext_lazy

        from assets.usage import register_usage_provider
        from core.permissions import CLINIC_ROLES, Role
        from core.registry import register_nav, register_panel, register_seeder
        from telemetry import api_views  # noqa: F401  (registers the OpenAPI auth extension)
        from telemetry.demo import seed

        roles = [*CLINIC_ROLES, Role.PLATFORM_ADMIN]
        register_nav(gettext_lazy("Telemetry"), "telemetry:health", roles=roles, order=300)
        register_nav(gettext_lazy("Tariffs"), "telemetry:tariffs", roles=[Role.PLATFORM_ADMIN], order=301)
        register_panel("telemetry/panels/telemetry.html", roles=roles, context=_panel_context, order=300)
        register_seeder(seed, order=300)
        register_usage_provider("telemetry.appraisal_usage.device_usage")
