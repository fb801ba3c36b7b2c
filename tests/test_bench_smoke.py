"""Every benchmark runs end to end in the suite, so none can rot unnoticed (issue 21).

Each test runs one `scripts/bench_*.py --smoke` the way `make bench` runs it (its own
process, the same interpreter, the same setup: its own anvil, its own gunicorn, a
throwaway database), asserts that it exits 0 and prints its table, and writes the table to
the test log. Figures are never asserted: this runs on shared 2-core machines; the full
`make bench` is where targets are judged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.fixtures.chain import anvil_available
from tests.fixtures.core import subprocess_database_url

ROOT = Path(__file__).resolve().parent.parent
APP_PY = sys.executable
# `make bench` runs the gas bench in brownie's virtualenv (web3 7); the app's web3 runs it too.
BROWNIE_PY = ROOT / ".venv-brownie" / "bin" / "python"


def _run(capsys, name: str, argv: list[str], *, env: dict[str, str | None] | None = None,
         timeout: float = 300) -> str:
    """Run a bench (env: variables to set; None removes one) and show its output."""
    full = {**os.environ, **(env or {})}
    proc = subprocess.run(argv, cwd=ROOT, env={k: v for k, v in full.items() if v is not None},
                          capture_output=True, text=True, timeout=timeout, check=False)
    with capsys.disabled():  # the table in the CI log, whatever pytest's capture
        sys.stdout.write(f"\n---- bench smoke: {name} ----\n{proc.stdout.strip()}\n")
    assert proc.returncode == 0, (f"{' '.join(map(str, argv))} exited {proc.returncode}\n"
                                  f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-6000:]}")
    return proc.stdout


@pytest.mark.chain
@pytest.mark.skipif(not anvil_available(), reason="anvil is not installed (npm ci)")
def test_gas_bench_smoke(capsys):
    py = str(BROWNIE_PY) if BROWNIE_PY.exists() else APP_PY
    out = _run(capsys, "gas", [py, "scripts/bench_gas.py", "--smoke"])
    assert "| operation" in out and "T-REX 4.1.6" in out
    assert "| transfer (existing holder)" in out and "| DvP settlement" in out


def test_device_list_bench_smoke(capsys):
    # As `make bench` runs it with no DATABASE_URL: a throwaway SQLite database of its own
    # (with DATABASE_URL it would make test_<name> on the server: this run's own test database).
    out = _run(capsys, "device list", [APP_PY, "scripts/bench_device_list.py", "--smoke"],
               env={"DATABASE_URL": None})
    assert "Device list benchmark" in out
    for scenario in ("first page", "last page", "status filter", "search"):
        assert scenario in out


def test_distributions_bench_smoke(capsys):
    out = _run(capsys, "distributions", [APP_PY, "scripts/bench_distributions.py", "--smoke"])
    assert "preview entitlements, 200 holders" in out and "render 3 investor statements" in out


@pytest.mark.django_db(transaction=True)
def test_ingest_bench_smoke(capsys):
    """On this run's (migrated) test database: the gunicorn it starts must see the rows the
    bench commits, and the test's flush removes them."""
    if connection.vendor != "postgresql":
        pytest.skip("the ingestion benchmark needs PostgreSQL (CI sets DATABASE_URL)")
    out = _run(capsys, "ingest", [APP_PY, "scripts/bench_ingest.py", "--smoke", "--skip-migrate"],
               env={"DATABASE_URL": subprocess_database_url()})
    assert "| HTTP POST /api/v1/telemetry/batches (signed) |" in out and "| raw COPY" in out
    assert "TELEMETRY_BATCHES_PER_MINUTE=" in out  # the caption says the rate limit was lifted
