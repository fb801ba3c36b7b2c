SCHEDULE = {
    "telemetry-process-new-events": {"task": "telemetry.tasks.process_new_events", "schedule": 60.0},
}
