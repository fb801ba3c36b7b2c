"""Thin Celery task: process newly stored events (rollups, history-based plausibility flags)."""

from celery import shared_task

from telemetry import processing


@shared_task
def process_new_events() -> dict:
    """Rollups and history-based plausibility flags for events stored since the last run."""
    return processing.process_new_events()
