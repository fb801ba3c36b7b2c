#!/usr/bin/env bash
# Every benchmark, each printing its own table. Bounded in time; talks only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== gas (ours vs T-REX 4.1.6 vs OpenZeppelin ERC-20) =="
.venv-brownie/bin/python scripts/bench_gas.py
echo "== device list (1,000 devices) =="
.venv/bin/python scripts/bench_device_list.py
echo "== telemetry ingest (HTTP vs COPY) =="
.venv/bin/python scripts/bench_ingest.py
echo "== distributions (10,000 holders: entitlements preview; 1,000 statements) =="
.venv/bin/python scripts/bench_distributions.py
