"""Celery tasks of the assets app: the automatic retry of failed certificate anchors."""

from celery import shared_task

from assets import services


@shared_task
def anchors_retry_due() -> int:
    """Thin: the device rows (status, next retry time, attempt) decide what is retried."""
    return services.device_anchors_retry_due()
