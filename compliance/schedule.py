"""The compliance app's periodic tasks (Celery beat): expire KYC approvals, purge retained investors."""

SCHEDULE = {
    "compliance-kyc-expire": {"task": "compliance.tasks.kyc_expire_due", "schedule": 900.0},
    "compliance-retention-purge": {"task": "compliance.tasks.investors_purge_due", "schedule": 86400.0},
}
