# The two commands of the README: `make run` and `make test`. Both set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml clients/python/pyproject.toml 2>/dev/null | sha1sum | cut -c1-12)

# The test suite's services (PostgreSQL + Redis); override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/modelmarket
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0
TEST_CACHE_URL ?= redis://127.0.0.1:6379/1
PYTEST_ARGS ?=

.PHONY: install run serve test test-sqlite test-rabbitmq test-multihost lint checks bench docs

$(STAMP): pyproject.toml clients/python/pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[ml,dev]"
	$(PY) -m pip install -q -e ./clients/python
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# The embedded default: SQLite + a filesystem broker under var/, a web server and a real worker.
# Development settings are set here, explicitly: without DEBUG the settings fail closed (production).
run: export DEBUG ?= true
run: install
	@command -v redis-server >/dev/null 2>&1 || { echo "installing redis-server (the embedded broker)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) \
	  || echo "could not install redis-server: using the filesystem broker"; }
	$(PY) manage.py migrate --noinput
	$(PY) manage.py compilemessages -v0 --ignore=.venv 2>/dev/null || true
	$(PY) manage.py seed_demo
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build -q    # the docs site, served at /docs/
	$(PY) manage.py runplatform

# Production: the same processes on PostgreSQL + Redis named by DATABASE_URL and CELERY_BROKER_URL.
serve: install
	@test -n "$$DATABASE_URL" -a -n "$$CELERY_BROKER_URL" || { echo "set DATABASE_URL and CELERY_BROKER_URL"; exit 1; }
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py runplatform --production --addr $${ADDR:-0.0.0.0:8000}

test: install
	bash .ci/services.sh
	$(MAKE) --no-print-directory checks
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -q
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) CACHE_URL=$(TEST_CACHE_URL) \
	  HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

# The SQLite + filesystem-broker default must keep working: a smoke run with a real worker. The suite refuses
# to run anywhere but PostgreSQL + Redis unless MODELMARKET_TEST_SQLITE_SMOKE=1, which allows the smoke files only.
# pytest's exit code 5 (no tests collected) fails both targets.
test-sqlite: install
	env -u DATABASE_URL -u CELERY_BROKER_URL -u CACHE_URL MODELMARKET_VAR_DIR=$(CURDIR)/var/ci-sqlite \
	  MODELMARKET_TEST_SQLITE_SMOKE=1 HF_HUB_OFFLINE=1 \
	  $(PY) -m pytest -m "not browser" tests/test_smoke.py tests/test_worker_integration.py tests/test_hot_rows.py

# RabbitMQ as the broker (priority queues): the worker integration tests again on AMQP, in their own vhost.
RABBITMQ_VHOST ?= modelmarket-ci
test-rabbitmq: install
	bash .ci/services.sh rabbitmq
	rabbitmqctl -q add_vhost $(RABBITMQ_VHOST) 2>/dev/null || true
	rabbitmqctl -q set_permissions -p $(RABBITMQ_VHOST) guest ".*" ".*" ".*"
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:5672/$(RABBITMQ_VHOST) \
	  CACHE_URL=$(TEST_CACHE_URL) HF_HUB_OFFLINE=1 $(PY) -m pytest -m "not browser" tests/test_worker_integration.py \
	  tests/inference/test_worker.py tests/inference/test_priority.py tests/inference/test_observability.py

# Five "hosts" in network namespaces (root only): scale-out, worker loss, link loss; see tests/multihost/.
test-multihost: install
	bash .ci/services.sh
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) CACHE_URL=$(TEST_CACHE_URL) \
	  MULTIHOST=1 HF_HUB_OFFLINE=1 $(PY) -m pytest tests/multihost -x

# The static checks, before any test: style, the import contracts of shared/ARCHITECTURE.md (pyproject's
# [tool.importlinter]), types ([tool.mypy] files), and no module over 500 lines (tests/test_architecture.py, which
# also runs as a plain script: no database needed, so `make lint` catches it too).
checks:
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) tests/test_architecture.py

lint: install
	$(MAKE) --no-print-directory checks

docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict
