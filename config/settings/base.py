"""Settings shared by every environment. Values come from the environment (12-factor);
defaults are for a laptop: SQLite and a filesystem broker under var/."""

from decimal import Decimal
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("MEDRWA_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env.str("SECRET_KEY", default="dev-insecure-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our static files, not a CDN
    "django_celery_beat",
    "core",
    "accounts",
    "assets",
    "chain",
    "payments",
    "compliance",
    "telemetry",
    "tokens",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.middleware.RejectNulQueryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After auth: a signed-in user's saved language beats the cookie and the browser's.
    "core.middleware.UserLanguageMiddleware",
    # After auth: pages show times in the signed-in user's zone (stored times stay UTC).
    "core.timefmt.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
        },
    },
]

# PostgreSQL when DATABASE_URL is set (production, CI); SQLite under var/ otherwise.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker, beat) share the file: wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "core:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
# Grouping is applied where numbers are amounts (core.money.format_money, |money), not globally:
# USE_THOUSAND_SEPARATOR would also print ids and years as "1,024" in URLs and form values.
FORMAT_MODULE_PATH = ["core.formats"]
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media/"  # never served publicly: downloads go through permission-checked views

# Uploads go through Django storages: local disk by default, S3-compatible when configured.
if env.str("AWS_STORAGE_BUCKET_NAME", default=""):
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "default_acl": "private",
            "querystring_auth": True,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024
UPLOAD_MAX_IMAGE_BYTES = env.int("UPLOAD_MAX_IMAGE_BYTES", default=15 * 1024 * 1024)
UPLOAD_MAX_DOCUMENT_BYTES = env.int("UPLOAD_MAX_DOCUMENT_BYTES", default=20 * 1024 * 1024)
UPLOAD_MAX_IMAGE_PIXELS = env.int("UPLOAD_MAX_IMAGE_PIXELS", default=50_000_000)

# Symmetric key (Fernet, urlsafe base64 of 32 bytes) for secrets at rest: KYC documents,
# custodial wallet keys, device secrets. Several keys may be given (comma separated);
# the first encrypts, all decrypt, so keys can be rotated.
# The default is public (it is in this file): production.py refuses it.
DEV_FIELD_ENCRYPTION_KEY = "dGhpcy1pcy1hLWRldi1vbmx5LWtleS0zMi1ieXRlcyE="
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[DEV_FIELD_ENCRYPTION_KEY])

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="MedRWA <no-reply@medrwa.local>")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# Redis when REDIS_URL is set; otherwise kombu's filesystem transport under var/, so a real
# worker runs on a laptop with no server.
REDIS_URL = env.str("REDIS_URL", default="")
_broker_dir = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CELERY_BROKER_URL = "filesystem://"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a task killed mid-run is redelivered; effects are keyed by DB rows
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic tasks; apps add theirs in their own settings fragment below.
CELERY_BEAT_SCHEDULE: dict = {}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "600/min"},
    # DRF's throttles read X-Forwarded-For only this many proxies deep (None would trust the
    # whole client-set header, so a client could dodge by sending a new address each time).
    "NUM_PROXIES": env.int("TRUSTED_PROXY_COUNT", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MedRWA API",
    "DESCRIPTION": "Devices, appraisal, certification, tokens, KYC and usage telemetry. "
    'Errors are always {"error": {"code", "message", "details"}}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Several serializers have a `state` choice field; name the agent actions' one explicitly
    # (an unresolved collision is a warning, and `check --deploy` must pass warning-free).
    "ENUM_NAME_OVERRIDES": {"AgentActionStateEnum": "tokens.models.AgentActionState"},
    # The docs pages load their JavaScript and CSS from our own static files: an air-gapped or
    # strict-CSP deployment (no CDN) still shows the operations.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Chain (web3 is imported only by the chain package).
CHAIN_RPC_URL = env.str("CHAIN_RPC_URL", default="http://127.0.0.1:8545")
CHAIN_ID = env.int("CHAIN_ID", default=31337)
CHAIN_CONFIRMATIONS = env.int("CHAIN_CONFIRMATIONS", default=1)
# Keys: hex private keys from the environment, or an encrypted keystore file + password.
# The defaults are anvil's well-known development accounts 0 and 1: local chains only;
# production.py refuses to start without real keys.
CHAIN_OPERATOR_KEY = env.str(
    "CHAIN_OPERATOR_KEY",
    default="0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
)
CHAIN_AGENT_KEY = env.str(
    "CHAIN_AGENT_KEY",
    default="0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
)
# Anvil's well-known accounts 0-9 (mnemonic "test … junk"): anyone holds these keys.
CHAIN_DEV_KEYS = frozenset({
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
})
# These public development keys are refused by chain.gateway unless this is true
# (dev/test only; production.py forces it off).
CHAIN_ALLOW_DEV_KEYS = True
CHAIN_KEYSTORE_DIR = env.str("CHAIN_KEYSTORE_DIR", default="")
CHAIN_KEYSTORE_PASSWORD = env.str("CHAIN_KEYSTORE_PASSWORD", default="")
CHAIN_STATE_FILE = env.str("CHAIN_STATE_FILE", default=str(VAR_DIR / "chain" / "state.json"))
# The stablecoin revenue is paid in; "" = the MockStablecoin deployed by chain_bootstrap
# (local chains only: production.py requires it on any other chain). Local and test chain ids:
# core.chains, the one list the settings, the chain port and the payments port share.
CHAIN_STABLECOIN_ADDRESS = env.str("CHAIN_STABLECOIN_ADDRESS", default="")

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
# The local simulator signs its events with this public value; only dev.py and test.py fall
# back to it, production.py refuses it.
LOCAL_SIMULATOR_WEBHOOK_SECRET = "whsec_local_simulator_secret"  # noqa: S105 (public on purpose)
# No default: the local simulator's public secret is set by dev.py/test.py only, so no other
# settings module can verify a webhook signed with it.
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# The local simulator (checkout page that sends correctly signed events to our own webhook)
# is off unless a settings module turns it on; production.py allows it only for staging/demo, and
# every settings module only on a local or test chain (payments.guard, also run at start-up).
PAYMENTS_SIMULATOR = env.bool("PAYMENTS_SIMULATOR", default=False)
# A deployment's name; production.py allows the simulator and Stripe test keys only in these.
MEDRWA_ENVIRONMENT = env.str("MEDRWA_ENVIRONMENT", default="development")
NON_PRODUCTION_ENVIRONMENTS = ("staging", "demo")

# Compliance
KYC_VALIDITY_DAYS = env.int("KYC_VALIDITY_DAYS", default=365)
RETENTION_YEARS_AFTER_RELATIONSHIP = env.int("RETENTION_YEARS_AFTER_RELATIONSHIP", default=5)
SANCTIONS_MATCH_THRESHOLD = env.int("SANCTIONS_MATCH_THRESHOLD", default=88)

# Compliance officers' forced transfers and wallet recoveries (tokens.offerings.services, agent actions):
# limited in amount and in time. Above CONFIRM_ABOVE_UNITS moved out of one wallet, or by one
# officer alone, within the rolling window, a second officer confirms; one officer requests at
# most MAX_PER_OFFICER per window (429 beyond); a held request expires unless confirmed within
# CONFIRM_WITHIN_HOURS. The reasons are at tokens.offerings.services.agent_action_request.
AGENT_ACTION_CONFIRM_ABOVE_UNITS = env.int("AGENT_ACTION_CONFIRM_ABOVE_UNITS", default=100)
AGENT_ACTION_WINDOW_HOURS = env.int("AGENT_ACTION_WINDOW_HOURS", default=24)
AGENT_ACTION_MAX_PER_OFFICER = env.int("AGENT_ACTION_MAX_PER_OFFICER", default=10)
AGENT_ACTION_CONFIRM_WITHIN_HOURS = env.int("AGENT_ACTION_CONFIRM_WITHIN_HOURS", default=24)

# Offering pricing bands (tokens.economics). An offering outside them is deployed only once a
# platform admin or compliance officer other than the one who set its price accepts the
# exception in writing (tokens.offerings.services.offering_accept_pricing).
# - Valuation: units × price within ± this % of the device's signed appraisal. Appraisals of
#   used equipment carry roughly this much uncertainty (approaches typically differ by 10–30 %);
#   a wider gap means the price is not the appraised value of what is sold.
OFFERING_VALUATION_BAND_PCT = Decimal(env.str("OFFERING_VALUATION_BAND_PCT", default="20"))
# - Implied yield at full subscription (%/yr, holders' pool per year / valuation): above the
#   first value, at most the second. An equipment lease runs about 21.7 %/yr of the price,
#   principal included; a revenue share that ends with the device (7–10 years) must return the
#   capital too, so 12–20 %/yr is plausible, 25 % the most we publish unchecked, and 0 or
#   less sells a right that pays nothing (DOMAIN.md, "Prices, yields…").
OFFERING_YIELD_BAND_PCT = tuple(Decimal(v) for v in env.list("OFFERING_YIELD_BAND_PCT",
                                                            default=["0", "25"]))
# - The yield is projected from the measured, priced revenue of the last WINDOW_DAYS days,
#   annualised over the days with data; fewer than MIN_DAYS of data is itself out of band (a
#   week of usage annualised is noise, never a yield to sell on).
OFFERING_YIELD_WINDOW_DAYS = env.int("OFFERING_YIELD_WINDOW_DAYS", default=90)
OFFERING_YIELD_MIN_DAYS = env.int("OFFERING_YIELD_MIN_DAYS", default=30)

# Telemetry
TELEMETRY_MAX_SKEW_SECONDS = env.int("TELEMETRY_MAX_SKEW_SECONDS", default=300)
TELEMETRY_MAX_BATCH_EVENTS = 1000
TELEMETRY_BATCHES_PER_MINUTE = env.int("TELEMETRY_BATCHES_PER_MINUTE", default=120)  # per device key

# Login throttling: client addresses are read from X-Forwarded-For only as far as this many
# reverse proxies we run ourselves appended to it (0 = REMOTE_ADDR), never as the client set it.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-free meta tag instead
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Card-bought market units can be sold or transferred only after this many days: a stolen card's
# purchase cannot be flipped for stablecoin before the bank's dispute arrives (tokens.market.services).
MARKET_CARD_HOLD_DAYS = env.int("MARKET_CARD_HOLD_DAYS", default=7)
# A public distribution report merges CPT x payer cells under this many procedures, so no
# small cell at a named clinic is published (tokens.distributions.services).
DISTRIBUTION_REPORT_MIN_CELL = env.int("DISTRIBUTION_REPORT_MIN_CELL", default=5)
