# Two entry points: `make run` (set up + run the platform with demo data) and
# `make test` (set up + run every test). Both are idempotent.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python

.PHONY: run test setup venv node brownie chromium migrate seed lint bench clean-db messages

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
	$(VENV)/bin/lint-imports

# Translations. The compiled catalogue (locale/*/LC_MESSAGES/django.mo) is committed, so setup
# and tests need no GNU gettext; translators run this (needs gettext: apt-get install gettext)
# after changing strings: extract → translate the new msgids in django.po → compile.
# core/tests/test_i18n.py fails while a marked string is untranslated or the .mo is stale.
messages: venv
	$(VPY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=node_modules --ignore='.venv*' \
		--ignore=var --ignore=build --ignore=reports --ignore='*/tests/*' --ignore=tests
	$(VPY) manage.py makemessages -d djangojs -l zh_Hans --no-obsolete --ignore=node_modules --ignore='.venv*' \
		--ignore=var --ignore=build --ignore=reports --ignore=static/vendor --ignore='*/tests/*' --ignore=tests
	$(VPY) manage.py compilemessages -l zh_Hans --ignore=node_modules --ignore='.venv*'

bench: setup brownie
	bash scripts/bench_all.sh
