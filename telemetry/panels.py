"""The telemetry panel on a clinic's dashboard (registered in TelemetryConfig.ready)."""

from telemetry.selectors import devices_for_user, flags_for_user


def telemetry_panel(request) -> dict:
    return {"devices": devices_for_user(user=request.user).filter(telemetry_stream__last_seen_at__isnull=False).count(),
            "open_flags": flags_for_user(user=request.user, open_only=True).count()}
