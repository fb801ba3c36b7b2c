from celery import shared_task


@shared_task
def process_new_events() -> dict:
    """Rollups and history-based plausibility flags for events stored since the last run."""
    from telemetry.processing import process_new_events as run

    return run()
