#!/usr/bin/env bash
# Every benchmark, each printing its own table. Bounded in time; talks only to 127.0.0.1.
#   scripts/bench_all.sh            full sizes (`make bench`)
#   scripts/bench_all.sh --smoke    seconds, tiny sizes: each runs end to end, figures not gated
#                                   (the suite runs the same: tests/test_bench_smoke.py)
# A benchmark that fails or misses a target does not stop the others; the exit status is
# non-zero if any did.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()
bench() {  # bench <title> <python> <script> [args...]
  local title=$1; shift
  echo "== ${title} =="
  "$@" || failed+=("$(basename "$2")")
}
bench "gas (ours vs T-REX 4.1.6 vs OpenZeppelin ERC-20)" .venv-brownie/bin/python scripts/bench_gas.py "$@"
bench "device list (1,000 devices)" .venv/bin/python scripts/bench_device_list.py "$@"
bench "telemetry ingest (HTTP vs COPY)" .venv/bin/python scripts/bench_ingest.py "$@"
bench "distributions (10,000 holders: entitlements preview; 1,000 statements)" \
  .venv/bin/python scripts/bench_distributions.py "$@"
if ((${#failed[@]})); then
  echo "failed or missed a target: ${failed[*]}" >&2
  exit 1
fi
