# Two entry points: `make run` (set up + run the platform with demo data) and
# `make test` (set up + run every test). Both are idempotent.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python

.PHONY: run test setup venv node brownie chromium migrate seed lint bench clean-db

setup: venv node

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -c requirements.lock -e ".[dev]"
	touch $@

node: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

brownie: .venv-brownie/.installed
.venv-brownie/.installed: requirements-brownie.txt scripts/setup_brownie.sh
	bash scripts/setup_brownie.sh
	touch $@

chromium:
	bash scripts/ensure_chromium.sh

migrate: setup
	$(VPY) manage.py migrate --noinput

seed: migrate
	$(VPY) manage.py seed_demo

run: seed
	$(VENV)/bin/honcho start -f platform/Procfile

test: setup brownie chromium
	bash scripts/test.sh

lint: venv
	$(VENV)/bin/ruff check .

bench: setup brownie
	bash scripts/bench_all.sh
