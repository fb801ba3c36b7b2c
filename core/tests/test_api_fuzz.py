"""The schema fuzzer runs in the suite (issue 18, item 6), so CI runs it through the README's test
command: scripts/fuzz_api.py, in its own process with its own throwaway server and database
(it migrates, seeds the demo and starts `runserver` itself; no chain, no Redis, no PostgreSQL
needed), every API operation as every role.

The budget is an example count, not a clock: FUZZ_EXAMPLES generated requests (valid and
schema-violating) per operation and role, from a fixed seed, so every run sends the same requests
(1,766 over 883 operation/role pairs; about 85 s of fuzzing after 35 s of set-up on a 2-core
machine). The time budget is only a ceiling far above that; were it reached, --fixed-count fails
the run rather than leave operations unfuzzed. It fails on any 5xx (except the documented "no chain"
503s), any response that breaks the OpenAPI schema, and any error without the
{"error": {"code", "message", "details"}} shape; the assertion message carries the fuzzer's
report. FUZZ_EXAMPLES / FUZZ_SEED in the environment change the count and the seed (a longer
local run: `FUZZ_EXAMPLES=25 pytest core/tests/test_api_fuzz.py`, or the script itself).
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
SEED = int(os.environ.get("FUZZ_SEED", "0"))
TIME_CEILING_S = 600


def test_every_api_operation_survives_the_schema_fuzzer(capsys):
    argv = [sys.executable, str(ROOT / "scripts" / "fuzz_api.py"), "--max-examples", str(EXAMPLES),
            "--seed", str(SEED), "--time-budget", str(TIME_CEILING_S), "--fixed-count"]
    # The fuzzer makes its own settings, database and var dir; nothing of this test run's leaks in.
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "MEDRWA_VAR_DIR"}}
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False,
                          timeout=TIME_CEILING_S + 600)
    summary = next((line for line in reversed(proc.stdout.splitlines()) if "operation/role pairs" in line), "")
    with capsys.disabled():  # the fuzzer's summary line in the CI log
        sys.stdout.write(f"\n---- schema fuzzer: {summary or 'no summary'} ----\n")
    failures = proc.stdout[proc.stdout.find("\nFailures"):] if "\nFailures" in proc.stdout else proc.stdout[-6000:]
    assert proc.returncode == 0, (f"scripts/fuzz_api.py exited {proc.returncode}: {summary}\n{failures[-8000:]}\n"
                                  f"stderr:\n{proc.stderr[-4000:]}")
    assert "0 failing calls" in summary and "0 pairs without a call" in summary
