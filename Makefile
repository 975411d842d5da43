# The two commands of the README: `make run` and `make test`. Both set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml 2>/dev/null | cut -c1-12)

# The test suite's services (PostgreSQL + Redis); override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/modelmarket
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0
TEST_CACHE_URL ?= redis://127.0.0.1:6379/1
PYTEST_ARGS ?=

.PHONY: install run test test-sqlite lint bench

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[ml,dev]"
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# The embedded default: SQLite + a filesystem broker under var/, a web server and a real worker.
# Development settings are set here, explicitly: without DEBUG the settings fail closed (production).
run: export DEBUG ?= true
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py compilemessages -v0 --ignore=.venv 2>/dev/null || true
	$(PY) manage.py seed_demo
	$(PY) manage.py runplatform

test: install
	bash .ci/services.sh
	$(PY) -m ruff check .
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) CACHE_URL=$(TEST_CACHE_URL) \
	  HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

# The SQLite + filesystem-broker default must keep working: a smoke run with a real worker. The suite refuses
# to run anywhere but PostgreSQL + Redis unless MODELMARKET_TEST_SQLITE_SMOKE=1, which allows the smoke files only.
# pytest's exit code 5 (no tests collected) fails both targets.
test-sqlite: install
	env -u DATABASE_URL -u CELERY_BROKER_URL -u CACHE_URL MODELMARKET_VAR_DIR=$(CURDIR)/var/ci-sqlite \
	  MODELMARKET_TEST_SQLITE_SMOKE=1 HF_HUB_OFFLINE=1 \
	  $(PY) -m pytest -m "not browser" tests/test_smoke.py tests/test_worker_integration.py

lint: install
	$(PY) -m ruff check .
