"""Telemetry: signed usage events from devices' agents, rollups, plausibility flags, tariffs, revenue periods."""
