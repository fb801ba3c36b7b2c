"""The telemetry app's management commands (telemetry_run_demo_agents)."""
