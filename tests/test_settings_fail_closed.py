"""Production settings fail closed (issue 9, items 1, 2, 10, 11): loaded in a subprocess with
only the variables platform/.env.example documents, they start and pass `check --deploy`;
every missing or development value of a payment, chain or encryption secret is refused."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIVE_KEY = "sk_live_" + "a1B2c3D4e5F6g7H8i9J0kLmN"
WEBHOOK_SECRET = "whsec_" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0Ed"
OPERATOR = "0x" + "11" * 32
AGENT = "0x" + "22" * 32
ANVIL_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


def documented_env(**overrides) -> dict:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "MEDRWA_ENVIRONMENT": "production",
        "SECRET_KEY": "k" * 20 + "Q7w8E9r0T1y2U3i4O5p6A7s8D9f0G1h2J3k4",
        "ALLOWED_HOSTS": "medrwa.example.com",
        "DATABASE_URL": "postgres://medrwa:password@127.0.0.1:5432/medrwa",
        "FIELD_ENCRYPTION_KEYS": "q0mKz9b6c1o0m8y0xD3x5WQk2aN7dJt2b5b1Q2z8n4M=",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CSRF_TRUSTED_ORIGINS": "https://medrwa.example.com",
        "SITE_URL": "https://medrwa.example.com",
        "TRUSTED_PROXY_COUNT": "1",
        "CHAIN_RPC_URL": "https://rpc.example.net",
        "CHAIN_ID": "137",
        "CHAIN_STABLECOIN_ADDRESS": "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359",
        "CHAIN_OPERATOR_KEY": OPERATOR,
        "CHAIN_AGENT_KEY": AGENT,
        "STRIPE_SECRET_KEY": LIVE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PAYMENTS_SIMULATOR": "false",
        # Not a documented variable: keeps the subprocess off the repository's var/.
        "MEDRWA_VAR_DIR": os.environ.get("MEDRWA_VAR_DIR", "/tmp/medrwa-settings-test"),
    }
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run_check(**overrides) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=documented_env(**overrides), capture_output=True, text=True, timeout=120)


def test_production_starts_with_documented_variables_and_passes_check_deploy():
    result = run_check()
    assert result.returncode == 0, result.stderr[-2000:]


def test_env_example_documents_every_variable_production_requires():
    example = (ROOT / "platform" / ".env.example").read_text()
    documented = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line and not line.startswith("#")}
    missing = set(documented_env()) - documented - {"PATH", "MEDRWA_VAR_DIR"}
    assert not missing


@pytest.mark.parametrize("overrides, named", [
    ({"STRIPE_SECRET_KEY": None}, "STRIPE_SECRET_KEY"),
    ({"STRIPE_WEBHOOK_SECRET": None}, "STRIPE_WEBHOOK_SECRET"),
    ({"STRIPE_WEBHOOK_SECRET": "whsec_local_simulator_secret"}, "STRIPE_WEBHOOK_SECRET"),
    ({"STRIPE_SECRET_KEY": "sk_test_" + "x" * 24}, "STRIPE_SECRET_KEY"),
    ({"PAYMENTS_SIMULATOR": "true"}, "PAYMENTS_SIMULATOR"),
    ({"PAYMENTS_SIMULATOR": "true", "MEDRWA_ENVIRONMENT": None}, "PAYMENTS_SIMULATOR"),
    ({"CHAIN_OPERATOR_KEY": None}, "CHAIN_OPERATOR_KEY"),
    ({"CHAIN_AGENT_KEY": None}, "CHAIN_AGENT_KEY"),
    ({"CHAIN_OPERATOR_KEY": ANVIL_0}, "CHAIN_OPERATOR_KEY"),
    ({"CHAIN_AGENT_KEY": ANVIL_1}, "CHAIN_AGENT_KEY"),
    ({"CHAIN_AGENT_KEY": ANVIL_0.removeprefix("0x").upper()}, "CHAIN_AGENT_KEY"),
    ({"CHAIN_ID": None}, "CHAIN_ID"),
    ({"CHAIN_RPC_URL": None}, "CHAIN_RPC_URL"),
    ({"CHAIN_STABLECOIN_ADDRESS": None}, "CHAIN_STABLECOIN_ADDRESS"),
    ({"FIELD_ENCRYPTION_KEYS": "dGhpcy1pcy1hLWRldi1vbmx5LWtleS0zMi1ieXRlcyE="}, "FIELD_ENCRYPTION_KEYS"),
    ({"FIELD_ENCRYPTION_KEYS": None}, "FIELD_ENCRYPTION_KEYS"),
    ({"REDIS_URL": None}, "REDIS_URL"),
], ids=lambda v: v if isinstance(v, str) else "-".join(f"{k}={'unset' if x is None else 'dev'}" for k, x in v.items()))
def test_production_refuses_missing_or_development_secret(overrides, named):
    result = run_check(**overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and named in result.stderr, result.stderr[-1500:]


def test_staging_may_use_test_keys_and_the_simulator_but_never_the_public_webhook_secret():
    ok = run_check(MEDRWA_ENVIRONMENT="staging", STRIPE_SECRET_KEY="sk_test_" + "x" * 24, PAYMENTS_SIMULATOR="true",
                   **ON_TEST_NETWORK)
    assert ok.returncode == 0, ok.stderr[-1500:]
    refused = run_check(MEDRWA_ENVIRONMENT="staging", PAYMENTS_SIMULATOR="true",
                        STRIPE_WEBHOOK_SECRET="whsec_local_simulator_secret", **ON_TEST_NETWORK)
    assert refused.returncode != 0 and "STRIPE_WEBHOOK_SECRET" in refused.stderr


# ------------------------------------------------------------------ issue 15, item 6
# Play money (the simulator, Stripe test keys, the simulator's public webhook secret) never on a
# chain where money is real: whatever the settings module, the environment's name or the process.

ON_TEST_NETWORK = {"CHAIN_ID": "80002", "CHAIN_STABLECOIN_ADDRESS": "0x" + "ab" * 20}  # Polygon Amoy, a test coin
TEST_KEY = "sk_test_" + "x" * 24
DEMO_SETTINGS = """from config.settings.base import *
from config.settings.base import env
DEBUG = True
PAYMENTS_SIMULATOR = True
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="") or LOCAL_SIMULATOR_WEBHOOK_SECRET
"""


def run_with(settings_module: str, tmp_path, code: str = "", **variables) -> subprocess.CompletedProcess:
    """Start Django under `settings_module` with only `variables` set (plus a private var dir)."""
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": settings_module,
           "MEDRWA_VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    env.update({k: v for k, v in variables.items() if v is not None})
    argv = ["-c", code] if code else ["manage.py", "check"]
    return subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", ["config.settings.dev", "config.settings.test"])
def test_dev_and_test_settings_refuse_the_simulator_on_a_public_chain(module, tmp_path):
    result = run_with(module, tmp_path, CHAIN_ID="1")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr, result.stderr[-1500:]
    assert "PAYMENTS_SIMULATOR" in result.stderr and "CHAIN_ID 1 is not a local or test chain" in result.stderr
    # Even reading a setting fails: the refusal is raised while the settings load.
    read = run_with(module, tmp_path, "from django.conf import settings; print(settings.DEBUG)", CHAIN_ID="1")
    assert read.returncode != 0 and "CHAIN_ID 1" in read.stderr


def test_dev_settings_refuse_test_keys_and_the_public_webhook_secret_on_a_public_chain(tmp_path):
    # A test key with the simulator off: still no real chain.
    refused = run_with("config.settings.dev", tmp_path, CHAIN_ID="137", STRIPE_SECRET_KEY=TEST_KEY,
                       PAYMENTS_SIMULATOR="false", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    assert refused.returncode != 0 and "STRIPE_SECRET_KEY is a Stripe test-mode key" in refused.stderr
    # A live key, but the webhook falls back to the simulator's public secret: anyone could sign events.
    refused = run_with("config.settings.dev", tmp_path, CHAIN_ID="137", STRIPE_SECRET_KEY=LIVE_KEY)
    assert refused.returncode != 0 and "STRIPE_WEBHOOK_SECRET is the local simulator" in refused.stderr
    ok = run_with("config.settings.dev", tmp_path, CHAIN_ID="137", STRIPE_SECRET_KEY=LIVE_KEY,
                  STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    assert ok.returncode == 0, ok.stderr[-1500:]


def test_local_dev_and_test_configuration_still_starts(tmp_path):
    for module in ("config.settings.dev", "config.settings.test"):
        result = run_with(module, tmp_path, "import django; django.setup(); from django.conf import settings as s; "
                          "from payments import stripe_api; print(s.CHAIN_ID, stripe_api.simulator_enabled())")
        assert result.returncode == 0, result.stderr[-1500:]
        assert result.stdout.split() == ["31337", "True"]
    # A public test network is play money too.
    result = run_with("config.settings.dev", tmp_path, **ON_TEST_NETWORK)
    assert result.returncode == 0, result.stderr[-1500:]


@pytest.mark.parametrize("environment", ["staging", "demo"])
def test_a_demo_on_a_public_chain_is_refused(environment):
    refused = run_check(MEDRWA_ENVIRONMENT=environment, STRIPE_SECRET_KEY=TEST_KEY, CHAIN_ID="1",
                        CHAIN_STABLECOIN_ADDRESS="0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48")
    assert refused.returncode != 0 and "ImproperlyConfigured" in refused.stderr
    assert "STRIPE_SECRET_KEY is a Stripe test-mode key" in refused.stderr and "CHAIN_ID 1 " in refused.stderr
    refused = run_check(MEDRWA_ENVIRONMENT=environment, PAYMENTS_SIMULATOR="true", STRIPE_SECRET_KEY=None)
    assert refused.returncode != 0 and "PAYMENTS_SIMULATOR is on" in refused.stderr
    assert "CHAIN_ID 137 " in refused.stderr


def test_a_local_chain_id_with_a_real_stablecoin_is_refused_for_play_money():
    refused = run_check(MEDRWA_ENVIRONMENT="demo", PAYMENTS_SIMULATOR="true", CHAIN_ID="31337",
                        CHAIN_STABLECOIN_ADDRESS="0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359")
    assert refused.returncode != 0
    assert "CHAIN_STABLECOIN_ADDRESS 0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359 is a real stablecoin" in refused.stderr


def test_a_custom_demo_settings_module_on_base_cannot_start_on_a_public_chain(tmp_path):
    (tmp_path / "demo_settings.py").write_text(DEMO_SETTINGS)
    for code in ("", "from config.wsgi import application"):
        refused = run_with("demo_settings", tmp_path, code, CHAIN_ID="137")
        assert refused.returncode != 0, code
        assert "ImproperlyConfigured" in refused.stderr and "PAYMENTS_SIMULATOR is on" in refused.stderr, code
    ok = run_with("demo_settings", tmp_path, "from config.wsgi import application")
    assert ok.returncode == 0, ok.stderr[-1500:]


def test_the_simulator_and_its_secret_are_off_at_run_time_on_a_public_chain(settings):
    from django.core.exceptions import ImproperlyConfigured

    from payments import stripe_api

    settings.PAYMENTS_SIMULATOR = True
    settings.STRIPE_WEBHOOK_SECRET = settings.LOCAL_SIMULATOR_WEBHOOK_SECRET
    assert stripe_api.simulator_enabled() and stripe_api.webhook_secret()
    settings.CHAIN_ID = 1
    assert not stripe_api.simulator_enabled()
    with pytest.raises(ImproperlyConfigured, match="CHAIN_ID 1"):
        stripe_api.webhook_secret()


def test_local_chain_ids_are_defined_once():
    from chain import bootstrap
    from core import chains

    assert bootstrap.LOCAL_CHAIN_IDS is chains.LOCAL_CHAIN_IDS
    copies = [path for app in ("config", "chain", "payments", "tokens", "compliance", "core")
              for path in (ROOT / app).rglob("*.py")
              if "LOCAL_CHAIN_IDS =" in path.read_text() and path != ROOT / "core" / "chains.py"]
    assert not copies


def test_a_local_chain_and_its_mock_stablecoin_only_outside_production():
    result = run_check(CHAIN_ID="31337", CHAIN_STABLECOIN_ADDRESS=None, MEDRWA_ENVIRONMENT="demo")
    assert result.returncode == 0, result.stderr[-1500:]
    refused = run_check(CHAIN_ID="31337", CHAIN_STABLECOIN_ADDRESS=None)
    assert refused.returncode != 0 and "CHAIN_ID 31337" in refused.stderr


def test_production_needs_three_confirmations_and_an_https_site_url():
    refused = run_check(CHAIN_CONFIRMATIONS="1")
    assert refused.returncode != 0 and "CHAIN_CONFIRMATIONS" in refused.stderr
    refused = run_check(SITE_URL="http://127.0.0.1:8000")
    assert refused.returncode != 0 and "SITE_URL" in refused.stderr


def test_webhook_secret_has_no_public_fallback_outside_dev_and_test(settings):
    from django.core.exceptions import ImproperlyConfigured

    from payments import stripe_api

    settings.STRIPE_WEBHOOK_SECRET = ""
    with pytest.raises(ImproperlyConfigured):
        stripe_api.webhook_secret()


def test_gateway_refuses_anvil_keys_when_dev_keys_are_not_allowed(settings):
    from django.core.exceptions import ImproperlyConfigured

    from chain import gateway

    settings.CHAIN_ALLOW_DEV_KEYS = False
    settings.CHAIN_AGENT_KEY = ANVIL_1
    gateway.account.cache_clear()
    try:
        with pytest.raises(ImproperlyConfigured, match="CHAIN_AGENT_KEY"):
            gateway.account("agent")
    finally:
        gateway.account.cache_clear()


def test_test_settings_keep_state_out_of_the_repository_var_dir():
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.VAR_DIR); print(s.DATABASES['default']['TEST']['NAME']); print(s.MEDIA_ROOT); "
            "print(s.CELERY_BROKER_TRANSPORT_OPTIONS.get('data_folder_in', ''))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr[-1500:]
    paths = out.stdout.split()
    assert len(paths) == 4
    for p in paths:
        assert not pathlib.Path(p).resolve().is_relative_to(ROOT / "var"), p


def test_production_throttles_in_the_shared_redis_cache():
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.CACHES['default']['BACKEND']); print(s.REST_FRAMEWORK['NUM_PROXIES'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=documented_env(), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-1500:]
    assert out.stdout.split() == ["django.core.cache.backends.redis.RedisCache", "1"]
