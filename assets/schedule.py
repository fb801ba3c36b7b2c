"""The assets app's periodic tasks (Celery beat): retry failed certificate anchors when due."""

SCHEDULE = {
    # Each device carries its own next retry time (bounded exponential backoff, see
    # assets.services.anchor_retry_policy); this only looks for the ones that are due.
    "assets-anchors-retry": {"task": "assets.tasks.anchors_retry_due", "schedule": 60.0},
}
