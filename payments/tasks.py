"""Thin Celery tasks: call a service."""

from celery import shared_task


@shared_task(ignore_result=True)
def refunds_submit_due() -> int:
    from payments import services

    return services.refunds_submit_due()
