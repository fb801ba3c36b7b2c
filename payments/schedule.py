"""The payments app's periodic tasks (Celery beat): retry refunds whose submission failed."""

SCHEDULE = {
    # Refunds whose after-commit submission failed (provider or network trouble) are retried.
    "payments-refunds-submit": {"task": "payments.tasks.refunds_submit_due", "schedule": 120.0},
}
