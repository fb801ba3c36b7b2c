"""Thin Celery tasks: call a service."""

from celery import shared_task

from payments import services


@shared_task(ignore_result=True)
def refunds_submit_due() -> int:
    return services.refunds_submit_due()
