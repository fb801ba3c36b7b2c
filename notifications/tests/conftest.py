import pytest


@pytest.fixture
def eager_celery(monkeypatch):
    """The email task queued by notify() runs in this process, the way a worker would run it
    (retries included); other apps' tasks still go to the broker as usual."""
    from notifications import tasks

    task = tasks.email_delivery_send
    monkeypatch.setattr(task, "delay", lambda *args, **kwargs: task.apply(args=args, kwargs=kwargs))
    return task
