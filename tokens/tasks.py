"""Thin Celery tasks: call a service."""

from celery import shared_task


@shared_task(ignore_result=True)
def orders_expire_due() -> int:
    from tokens import orders

    return orders.orders_expire_due()
