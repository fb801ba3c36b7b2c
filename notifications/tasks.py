"""Celery tasks: send one notification's email, requeue the ones not sent."""

import smtplib

from celery import shared_task

from notifications import services


@shared_task(bind=True, autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=True, retry_backoff_max=300,
             retry_jitter=True, max_retries=services.MAX_EMAIL_ATTEMPTS - 1)
def email_delivery_send(self, delivery_id: int) -> None:
    """Thin: the delivery row, not the task id, records whether the email went."""
    services.email_delivery_send(delivery_id=delivery_id)


@shared_task
def email_deliveries_requeue() -> int:
    return services.email_deliveries_requeue()
