"""Production: fail closed. Anything security-relevant missing from the environment, or set
to a value that ships in this repository (development keys, the simulator's webhook secret),
is an error at start-up naming the setting, never a silent default."""

import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *
from config.settings.base import (
    CHAIN_DEV_KEYS,
    DEV_FIELD_ENCRYPTION_KEY,
    LOCAL_SIMULATOR_WEBHOOK_SECRET,
    NON_PRODUCTION_ENVIRONMENTS,
    env,
)
from core.chains import is_local_chain
from payments.guard import refusal_for


def _refuse(message: str):
    raise ImproperlyConfigured(message)


_REQUIRED = ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "FIELD_ENCRYPTION_KEYS", "REDIS_URL",
             "STRIPE_WEBHOOK_SECRET", "CHAIN_RPC_URL", "CHAIN_ID"]
_missing = [name for name in _REQUIRED if not env.str(name, default="")]
if _missing:
    _refuse("Production settings need these environment variables: " + ", ".join(_missing))

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith(("dev-insecure", "change-me")):
    _refuse("SECRET_KEY must be at least 50 random characters (not the example value).")

# ------------------------------------------------------------------ encryption at rest
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
if DEV_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEYS:
    _refuse("FIELD_ENCRYPTION_KEYS contains the public development key; generate a new one "
            "and run `manage.py rotate_encryption_keys`.")

# ------------------------------------------------------------------ environment name
MEDRWA_ENVIRONMENT = env.str("MEDRWA_ENVIRONMENT", default="production").strip().lower()
_NON_PRODUCTION = MEDRWA_ENVIRONMENT in NON_PRODUCTION_ENVIRONMENTS

# ------------------------------------------------------------------ payments
# The simulator lets anyone "pay" without money: only a named non-production environment
# may switch it on, explicitly, and only on a local or test chain (checked below, with the chain).
PAYMENTS_SIMULATOR = env.bool("PAYMENTS_SIMULATOR", default=False)
if PAYMENTS_SIMULATOR and not _NON_PRODUCTION:
    _refuse("PAYMENTS_SIMULATOR=true is allowed only with MEDRWA_ENVIRONMENT in "
            f"{', '.join(NON_PRODUCTION_ENVIRONMENTS)} (it is {MEDRWA_ENVIRONMENT!r}).")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET")
if STRIPE_WEBHOOK_SECRET == LOCAL_SIMULATOR_WEBHOOK_SECRET or not re.fullmatch(
        r"whsec_[A-Za-z0-9]{24,}", STRIPE_WEBHOOK_SECRET):
    _refuse("STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret from Stripe (whsec_…); "
            "the local simulator's public secret is refused.")
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
# Live keys in production; test-mode keys only in staging/demo, where no real money moves
# (on a local or test chain: checked below, with the chain).
_STRIPE_KEY_RE = r"(sk|rk)_(live|test)_[A-Za-z0-9]{20,}" if _NON_PRODUCTION else r"(sk|rk)_live_[A-Za-z0-9]{20,}"
if not STRIPE_SECRET_KEY and not PAYMENTS_SIMULATOR:
    _refuse("Production settings need STRIPE_SECRET_KEY (a live secret or restricted key).")
if STRIPE_SECRET_KEY and not re.fullmatch(_STRIPE_KEY_RE, STRIPE_SECRET_KEY):
    _refuse("STRIPE_SECRET_KEY must be a live Stripe key (sk_live_… or rk_live_…); test keys are "
            f"accepted only with MEDRWA_ENVIRONMENT in {', '.join(NON_PRODUCTION_ENVIRONMENTS)}.")

# ------------------------------------------------------------------ chain
CHAIN_ALLOW_DEV_KEYS = False  # chain.gateway refuses the same accounts from a keystore, too
CHAIN_KEYSTORE_DIR = env.str("CHAIN_KEYSTORE_DIR", default="")
for _role in ("operator", "agent"):
    _name = f"CHAIN_{_role.upper()}_KEY"
    _key = env.str(_name, default="").strip()
    _in_keystore = bool(CHAIN_KEYSTORE_DIR) and (Path(CHAIN_KEYSTORE_DIR) / f"{_role}.json").is_file()
    if not _key and not _in_keystore:
        _refuse(f"Production settings need {_name} (or {CHAIN_KEYSTORE_DIR or 'CHAIN_KEYSTORE_DIR'}"
                f"/{_role}.json): the development key is never used outside a local chain.")
    if _key and _key.lower().removeprefix("0x") in CHAIN_DEV_KEYS:
        _refuse(f"{_name} is one of anvil's public development keys; use a key only you hold.")
    if _key and not re.fullmatch(r"(0x)?[0-9a-fA-F]{64}", _key):
        _refuse(f"{_name} is not a 32-byte hex private key.")
    globals()[_name] = _key
if CHAIN_KEYSTORE_DIR and not env.str("CHAIN_KEYSTORE_PASSWORD", default=""):
    _refuse("CHAIN_KEYSTORE_DIR is set without CHAIN_KEYSTORE_PASSWORD.")
CHAIN_ID = env.int("CHAIN_ID")
CHAIN_STABLECOIN_ADDRESS = env.str("CHAIN_STABLECOIN_ADDRESS", default="")
if not is_local_chain(CHAIN_ID) and not re.fullmatch(r"0x[0-9a-fA-F]{40}", CHAIN_STABLECOIN_ADDRESS):
    _refuse(f"CHAIN_STABLECOIN_ADDRESS (0x…) is required on chain {CHAIN_ID}: the local MockStablecoin "
            "exists only on a development chain.")

if is_local_chain(CHAIN_ID) and not _NON_PRODUCTION:
    _refuse(f"CHAIN_ID {CHAIN_ID} is a local development chain (its stablecoin is a freely mintable mock); "
            f"use it only with MEDRWA_ENVIRONMENT in {', '.join(NON_PRODUCTION_ENVIRONMENTS)}.")
CHAIN_CONFIRMATIONS = env.int("CHAIN_CONFIRMATIONS", default=3)
if not is_local_chain(CHAIN_ID) and CHAIN_CONFIRMATIONS < 3:
    _refuse("CHAIN_CONFIRMATIONS must be at least 3 on a public chain: orders and deposits are settled on it.")
# A staging or "demo" environment on a public chain with a real stablecoin is production with
# free money: the simulator and Stripe test keys only on a local or test chain.
if _play_money := refusal_for(globals()):
    _refuse(_play_money)
SITE_URL = env.str("SITE_URL", default="")
if not re.fullmatch(r"https://[^\s/]+(/.*)?", SITE_URL):
    _refuse("SITE_URL must be the platform's https:// address (links in emails and PDFs use it).")

# ------------------------------------------------------------------ web
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
