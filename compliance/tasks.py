"""Thin Celery tasks: expire due KYC approvals, purge investors past retention."""

from celery import shared_task

from compliance import services


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def kyc_expire_due() -> int:
    return services.kyc_cases_expire_due()


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def investors_purge_due() -> int:
    return services.investors_purge_due()
