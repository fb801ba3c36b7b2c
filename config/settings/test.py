"""Test settings: a temporary var/ directory, fast hashing, in-memory email, the payment simulator."""

import atexit
import os
import shutil
import tempfile

# Tests never touch the demo's var/: unless MEDRWA_VAR_DIR is set, every VAR_DIR-based path
# (test database, media, broker, chain state, demo agent spools) lives in a temp dir for this
# run. Set in the environment before base.py reads it, so subprocesses (a real Celery worker,
# management commands) inherit the same directory.
if not os.environ.get("MEDRWA_VAR_DIR"):
    _run_dir = tempfile.mkdtemp(prefix="medrwa-test-")
    os.environ["MEDRWA_VAR_DIR"] = _run_dir
    _owner = os.getpid()
    atexit.register(lambda: os.getpid() == _owner and shutil.rmtree(_run_dir, ignore_errors=True))

from config.settings.base import *
from config.settings.base import env
from payments.guard import refuse_play_money_on_real_chain

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
MEDIA_ROOT = str(VAR_DIR / "test-media")
if STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    STORAGES["default"]["OPTIONS"]["location"] = MEDIA_ROOT
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so a real Celery worker process can see committed test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None}}
CELERY_TASK_ALWAYS_EAGER = False
# Serve static files straight from the finders; no collectstatic needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The local simulator and its public webhook secret: dev and test only.
STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET or LOCAL_SIMULATOR_WEBHOOK_SECRET
PAYMENTS_SIMULATOR = env.bool("PAYMENTS_SIMULATOR", default=not STRIPE_SECRET_KEY)
# Play money (the simulator, its public webhook secret, test keys) only on a local or test
# chain: a laptop pointed at a public chain fails here, not at the first "payment".
refuse_play_money_on_real_chain(globals())
