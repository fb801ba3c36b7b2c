"""The app loads the committed slim artifacts in contracts/build/; recompiling the sources
with the pinned solc-js must reproduce them exactly."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_committed_artifacts_match_a_fresh_compile():
    r = subprocess.run(
        [sys.executable, "scripts/compile_contracts.py", "--check", "--full"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
