"""Thin Celery tasks: take ids, call the processor."""

from celery import shared_task

from chain import indexer, processor


@shared_task(ignore_result=True)
def outbox_process(tx_id: int) -> None:
    processor.process_one(tx_id)


@shared_task(ignore_result=True)
def outbox_sweep() -> None:
    processor.sweep()


@shared_task(ignore_result=True)
def index_events() -> None:
    indexer.index_all()
