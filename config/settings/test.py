"""Test settings: a temporary var/ directory, fast hashing, in-memory email, the payment simulator."""

import atexit
import os
import shutil
import sys
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


# --- Template variables that do not resolve fail loudly ------------------------------------
# Django prints "" for a variable that fails to resolve, so a page can lose an amount, a name or
# a whole line and still answer 200 (`row.cpt_code` on a compute line did worse: a 500 only with
# the demo's data). With STRING_IF_INVALID as string_if_invalid, rendering one raises, naming
# the template and line.


class InvalidTemplateVariableError(Exception):
    pass


def _template_position() -> str:
    """The innermost template node being rendered, as "name:line" (for the error message)."""
    frame = sys._getframe(2)
    while frame is not None:
        node = frame.f_locals.get("self")
        origin, token = getattr(node, "origin", None), getattr(node, "token", None)
        if origin is not None and token is not None:
            return f"{origin.template_name or origin.name}:{token.lineno}"
        frame = frame.f_back
    return "unknown template"


class InvalidTemplateVariable(str):
    """TEMPLATES' string_if_invalid under test. Two ways Django hands it out:
    - a lookup that fails (a missing name, key or attribute): Django formats it with the
      variable's name (`"%s" in it` → `it % name`), which raises here, filters or not — so
      `{{ missing|default:"—" }}` fails too: the fallback hides a typo as well as an absence;
    - a lookup that fails *silently* (an exception with silent_variable_failure, e.g. a missing
      reverse one-to-one such as `user.investor_profile`): Django returns it as the value. It
      is falsy and empty there, so `{% if user.investor_profile %}` and `{% for %}` behave as
      they do in production, and printing it raises.
    `{% if %}`/`{% for %}` on a missing name never use it (Django resolves those with
    ignore_failures), so conditions keep working."""

    def __mod__(self, name):
        name = str(getattr(name, "var", name))  # a Variable, or a blocktranslate key
        raise InvalidTemplateVariableError(f"template variable {name!r} does not resolve ({_template_position()})")

    def __str__(self):
        raise InvalidTemplateVariableError(f"a template variable failed silently ({_template_position()})")

    def __bool__(self):
        # Truthy only to FilterExpression.resolve's "is string_if_invalid set?" test, which is
        # what routes a failed lookup to __mod__; falsy to every template condition and filter.
        caller = sys._getframe(1).f_code
        return caller.co_name == "resolve" and caller.co_filename.endswith(_TEMPLATE_BASE)

    def __len__(self):
        return 0

    def __iter__(self):
        return iter(())


_TEMPLATE_BASE = os.path.join("django", "template", "base.py")
STRING_IF_INVALID = InvalidTemplateVariable("%s")
# Every test renders with it (the crawler, tests/flows/test_crawler.py, every page as every role).
TEMPLATES[0]["OPTIONS"]["string_if_invalid"] = STRING_IF_INVALID
