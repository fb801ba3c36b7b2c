"""The telemetry app's management commands."""
