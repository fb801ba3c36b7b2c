import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Send `task` after the surrounding transaction commits. A broker outage must not turn
    a committed change into an error page: the failure is logged, and work that must not be
    lost is keyed by a DB row that a periodic task sweeps (the outbox pattern)."""

    def _send():
        try:
            task.delay(*args, **kwargs)
        except Exception:
            logger.exception("Could not enqueue %s; a periodic sweep will pick it up", task.name)

    transaction.on_commit(_send)
