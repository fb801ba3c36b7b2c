"""Enqueue Celery tasks (the task or its dotted name) after the surrounding transaction commits."""

import logging

from celery import Task
from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def task_named(name: str) -> Task:
    """The Celery task `name`, its dotted path ("chain.tasks.outbox_process", which is also its
    Celery name). An app's services enqueue its tasks by name: the tasks module calls the
    services (tasks are thin), so it sits above them and is never imported by them, the same
    way chain.hooks resolves its dotted paths. The task object is the one `.delay` always ran,
    so eager mode, task options and test doubles behave as before."""
    return import_string(name)


def enqueue_on_commit(task: Task | str, *args, **kwargs) -> None:
    """Send `task` (a task, or its name: see `task_named`) after the surrounding transaction
    commits. A broker outage must not turn a committed change into an error page: the failure
    is logged, and work that must not be lost is keyed by a DB row that a periodic task sweeps
    (the outbox pattern)."""
    if isinstance(task, str):
        task = task_named(task)  # now, so that a wrong name fails the caller, not a log line

    def _send():
        try:
            task.delay(*args, **kwargs)
        except Exception:
            logger.exception("Could not enqueue %s; a periodic sweep will pick it up", task.name)

    transaction.on_commit(_send)
