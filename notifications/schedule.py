"""The notifications app's periodic tasks (Celery beat): requeue unsent emails."""

SCHEDULE = {
    "notifications-email-requeue": {"task": "notifications.tasks.email_deliveries_requeue", "schedule": 600.0},
}
