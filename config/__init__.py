"""The project's configuration package; loads the Celery app with Django."""

# Load Celery with Django so @shared_task binds to our app.
from config.celery_app import app as celery_app

__all__ = ("celery_app",)
