import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
STRONG = "p9$K2mQ!v7Lz@x4Rw8#Tn6Yb3&Hc5Ju1*Ge0^Fd-Sa_Zq+Xw=Ve~Br%Nt"


def _run(env_extra: dict, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "FIELD_ENCRYPTION_KEYS",
                        "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", **env_extra})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_production_refuses_to_start_without_secrets():
    r = _run({}, "check")
    assert r.returncode != 0
    assert "SECRET_KEY" in r.stderr and "DATABASE_URL" in r.stderr
