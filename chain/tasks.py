"""Thin Celery tasks: take ids, call the processor."""

from celery import shared_task


@shared_task(ignore_result=True)
def outbox_process(tx_id: int) -> None:
    from chain import processor

    processor.process_one(tx_id)


@shared_task(ignore_result=True)
def outbox_sweep() -> None:
    from chain import processor

    processor.sweep()


@shared_task(ignore_result=True)
def index_events() -> None:
    from chain import indexer

    indexer.index_all()
