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

.PHONY: install run test test-sqlite test-rabbitmq test-multihost lint bench

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[ml,dev]"
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# The embedded default: SQLite + a filesystem broker under var/, a web server and a real worker.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py compilemessages -v0 --ignore=.venv 2>/dev/null || true
	$(PY) manage.py seed_demo
	$(PY) manage.py runplatform

test: install
	bash .ci/services.sh
	$(PY) -m ruff check .
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) CACHE_URL=$(TEST_CACHE_URL) \
	  HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

# The SQLite + filesystem-broker default must keep working: a smoke run with a real worker.
test-sqlite: install
	env -u DATABASE_URL -u CELERY_BROKER_URL -u CACHE_URL MODELMARKET_VAR_DIR=$(CURDIR)/var/ci-sqlite \
	  HF_HUB_OFFLINE=1 $(PY) -m pytest -m "not browser" tests/test_smoke.py tests/test_worker_integration.py; \
	  rc=$$?; if [ $$rc -eq 5 ]; then exit 0; fi; exit $$rc

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
	MULTIHOST=1 HF_HUB_OFFLINE=1 $(PY) -m pytest tests/multihost -x

lint: install
	$(PY) -m ruff check .
