"""The Celery app, configured from Django settings, with every app's SCHEDULE as the beat schedule."""

import importlib
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("medrwa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic tasks: each app may declare SCHEDULE (a plain dict in <app>/schedule.py, no
# Django imports); django-celery-beat's DatabaseScheduler syncs them into the database.
_beat: dict = {}
for _name in ("core", "accounts", "assets", "chain", "payments", "compliance", "telemetry", "tokens", "notifications"):
    try:
        _mod = importlib.import_module(f"{_name}.schedule")
    except ModuleNotFoundError as exc:
        if exc.name != f"{_name}.schedule":
            raise
        continue
    _beat.update(_mod.SCHEDULE)
app.conf.beat_schedule = _beat
