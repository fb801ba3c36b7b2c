"""A real Celery worker process executes a task: over Redis when REDIS_URL is set (CI),
else over the filesystem broker under var/."""

import os
import pathlib
import subprocess
import sys
import time

import pytest

from accounts import services
from accounts.models import User
from tests.fixtures.core import subprocess_database_url

ROOT = pathlib.Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def worker():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": subprocess_database_url()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"test-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_signup_welcome_email_is_sent_by_a_real_worker(worker, settings):
    user = services.investor_signup(email="w@example.test", password="a-long-enough-pass-1", full_name="W")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        user.refresh_from_db()
        if user.welcome_sent_at is not None:
            break
        assert worker.poll() is None, worker.stdout.read().decode()
        time.sleep(0.3)
    assert User.objects.get(pk=user.pk).welcome_sent_at is not None
