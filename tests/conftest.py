"""Fixtures shared by the whole suite: API clients, a real Celery worker, no network."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.factories import DeveloperFactory, ModeratorFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "test-artifacts"))

_real_connect = socket.socket.connect

# `make test-sqlite` sets this: the SQLite + filesystem-broker default runs its smoke files only.
SQLITE_SMOKE = os.environ.get("MODELMARKET_TEST_SQLITE_SMOKE") == "1"
SQLITE_SMOKE_FILES = {"tests/test_smoke.py", "tests/test_worker_integration.py", "tests/test_hot_rows.py"}


def pytest_sessionstart(session):
    """The suite proves things about PostgreSQL row locks and Redis throttles: refuse to run on anything else.

    A run on the SQLite/locmem defaults would pass tests whose races and cross-process counters never happen.
    """
    if SQLITE_SMOKE:
        return
    from django.conf import settings

    problems = []
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        problems.append(f"DATABASE_URL is {settings.DATABASES['default']['ENGINE']}, not PostgreSQL")
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "amqp://")):  # RabbitMQ: `make test-rabbitmq`
        problems.append(f"CELERY_BROKER_URL is {settings.CELERY_BROKER_URL!r}, not Redis or RabbitMQ")
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        problems.append(f"CACHE_URL backend is {settings.CACHES['default']['BACKEND']}, not Redis")
    if problems:
        raise pytest.UsageError(
            "The test suite runs on PostgreSQL + Redis (see the Makefile's `test`): " + "; ".join(problems)
            + ". Set MODELMARKET_TEST_SQLITE_SMOKE=1 for the SQLite smoke files only."
        )


def pytest_collection_modifyitems(config, items):
    if not SQLITE_SMOKE:
        return
    outside = sorted({item.nodeid.split("::")[0] for item in items} - SQLITE_SMOKE_FILES)
    if outside:
        raise pytest.UsageError(f"MODELMARKET_TEST_SQLITE_SMOKE=1 runs only {sorted(SQLITE_SMOKE_FILES)}: {outside}")


@pytest.fixture
def real_races(transactional_db):
    """Concurrency tests need real row locks and real parallel transactions: fail loudly anywhere else."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.fail(f"This race test needs PostgreSQL (running on {connection.vendor}); it proves nothing here.")


def _guarded_connect(self, address):
    """Tests may talk to this machine only: anything else is a bug (no network here or in CI)."""
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and not (
        host.startswith("127.") or host in ("localhost", "::1", "0.0.0.0") or host.startswith("/")
    ):
        raise RuntimeError(f"Test tried to reach the network: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network():
    socket.socket.connect = _guarded_connect
    yield
    socket.socket.connect = _real_connect


@pytest.fixture(autouse=True)
def _fast_hashing_and_fresh_throttles(settings):
    """A cheap password hasher (real hashing is Django's job), and throttle counters that start at zero."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    """Each test gets its own public and private media roots (storages re-read them on setting change)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    yield


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def developer(db):
    return DeveloperFactory()


@pytest.fixture
def moderator(db):
    return ModeratorFactory()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def auth_client(user):
    client = APIClient()
    client.force_authenticate(user)
    client.user = user
    return client


def key_client(user, scopes=("read", "predict", "publish")):
    """An APIClient that authenticates with a real API key, as outside clients do."""
    from accounts.services import api_key_create

    created = api_key_create(user=user, name="test", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.raw_key}")
    client.user = user
    client.api_key = created.api_key
    return client


@pytest.fixture
def artifacts_dir() -> Path:
    path = ARTIFACTS
    path.mkdir(parents=True, exist_ok=True)
    return path


def _worker_env(db_name: str) -> dict:
    env = os.environ.copy()
    env["MODELMARKET_DB_NAME_OVERRIDE"] = db_name
    from django.conf import settings

    # The worker must read and write the same (per-test) media as the test process.
    env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    env["PRIVATE_MEDIA_ROOT"] = str(settings.PRIVATE_MEDIA_ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


class WorkerProcess:
    """A real `celery worker` subprocess on the test database and the configured broker."""

    def __init__(self, queues: str, concurrency: int, log_path: Path, db_name: str, pool: str = "prefork"):
        self.pool = pool
        self.queues = queues
        self.concurrency = concurrency
        self.log_path = log_path
        self.db_name = db_name
        self.proc: subprocess.Popen | None = None
        self.name = f"test-{os.getpid()}-{time.monotonic_ns()}"

    def start(self, timeout: float = 60.0) -> "WorkerProcess":
        from config.celery import app

        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", self.pool, "-Q", self.queues, "-c",
             str(self.concurrency), "--without-gossip", "--without-mingle", "-l", "INFO",
             "-n", f"{self.name}@%h"],
            cwd=ROOT, env=_worker_env(self.db_name), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early; see {self.log_path}")
            if "ready." in self.log_path.read_text(errors="replace"):
                # Ready to consume is not yet ready to answer control messages: wait for a ping reply.
                replies = app.control.ping(timeout=0.5) or []
                if any(name.startswith(self.name) for reply in replies for name in reply):
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"worker did not become ready; see {self.log_path}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@pytest.fixture
def celery_worker_factory(transactional_db, artifacts_dir, request):
    """Start real workers on demand; they see committed data in the test database."""
    from django.db import connection

    from config.celery import QUEUES

    workers: list[WorkerProcess] = []

    def start(queues: str = ",".join(QUEUES), concurrency: int = 1, pool: str = "prefork") -> WorkerProcess:
        """`pool="threads"` is how `inference_worker` runs: predictions of a version meet in one batch."""
        log_path = artifacts_dir / f"worker-{request.node.name[:60]}-{len(workers)}.log"
        worker = WorkerProcess(queues, concurrency, log_path, connection.settings_dict["NAME"], pool=pool)
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def celery_worker(celery_worker_factory):
    return celery_worker_factory()
