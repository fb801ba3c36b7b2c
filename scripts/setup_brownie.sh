#!/usr/bin/env bash
# Idempotent setup of the contract toolchain:
#   - .venv-brownie (eth-brownie 1.22.x, pinned in requirements-brownie.txt)
#   - scripts/solc (solc-js 0.8.28 shim) installed where py-solc-x looks for solc 0.8.28
#   - brownie network "development" -> node_modules' anvil on 127.0.0.1:8546, chain id 31337
# Usage: scripts/setup_brownie.sh    (then: .venv-brownie/bin/brownie test tests/contracts)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

[ -d node_modules/solc ] || npm install --no-audit --no-fund

if [ ! -x .venv-brownie/bin/python ]; then
  "$PY" -m venv .venv-brownie
fi
if ! .venv-brownie/bin/python -c "import brownie" >/dev/null 2>&1 \
   || ! cmp -s requirements-brownie.txt .venv-brownie/.requirements-installed; then
  .venv-brownie/bin/pip install -q --upgrade pip
  .venv-brownie/bin/pip install -q -r requirements-brownie.txt
  cp requirements-brownie.txt .venv-brownie/.requirements-installed
fi

# py-solc-x resolves solc 0.8.28 as <install folder>/solc-v0.8.28 (~/.solcx by default,
# $SOLCX_BINARY_PATH when set). A symlink keeps the shim's repo-relative lookups working.
SOLCX_DIR="$(.venv-brownie/bin/python -c 'import solcx; print(solcx.get_solcx_install_folder())')"
mkdir -p "$SOLCX_DIR" build/brownie
ln -sfn "$ROOT/scripts/solc" "$SOLCX_DIR/solc-v0.8.28"
chmod +x scripts/solc

ANVIL="$ROOT/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
[ -x "$ANVIL" ] || { echo "anvil binary missing: run npm install" >&2; exit 1; }
BROWNIE=.venv-brownie/bin/brownie
# point brownie's default "development" network at this checkout's anvil (port 8546: the
# app's own chain tests use other ports)
# Brownie picks its launcher by the command's first word, so cmd must be "anvil": the venv
# gets an `anvil` link, and tests/contracts/conftest.py puts the binary on PATH.
ln -sfn "$ANVIL" .venv-brownie/bin/anvil
$BROWNIE networks modify development cmd=anvil host=http://127.0.0.1 \
  port=8546 chain_id=31337 accounts=10 evm_version=cancun gas_limit=60000000 \
  base_fee=0 default_balance=1000000 >/dev/null
echo "brownie ready: $($BROWNIE --version 2>/dev/null | head -1); solc shim: $("$SOLCX_DIR/solc-v0.8.28" --version | tail -1)"
