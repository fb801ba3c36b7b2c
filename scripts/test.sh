#!/usr/bin/env bash
# The whole test suite: the app's pytest (unit, flows, browser journeys) and the contract
# suite in brownie's own virtualenv. Fails on the first failing part.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest "$@"
if [ -d tests/contracts ] && [ -x .venv-brownie/bin/brownie ]; then
  (cd . && .venv-brownie/bin/brownie test tests/contracts)
fi
