"""The telemetry app's periodic tasks (Celery beat): process newly stored events."""

SCHEDULE = {
    "telemetry-process-new-events": {"task": "telemetry.tasks.process_new_events", "schedule": 60.0},
}
