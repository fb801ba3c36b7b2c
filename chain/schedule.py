"""The chain app's periodic tasks (Celery beat): sweep the outbox, index events."""

SCHEDULE = {
    "chain-outbox-sweep": {"task": "chain.tasks.outbox_sweep", "schedule": 15.0},
    "chain-index-events": {"task": "chain.tasks.index_events", "schedule": 30.0},
}
