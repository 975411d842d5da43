"""SIGTERM drains a worker: it stops taking messages, finishes the predictions it holds (its batch) and acks them.

Driven like production: the public API admits predictions and `manage.py inference_worker` (the command the
deployment files run) gets SIGTERM on its main process only, as Kubernetes and systemd (KillMode=mixed) send it.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from inference.models import Prediction, WorkerHeartbeat

from .conftest import ready_version

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigterm_during_a_batch_completes_every_prediction_in_it(transactional_db, published_app, runner,
                                                                tiny_models, artifacts_dir):
    from django.db import connection

    from tests.conftest import _worker_env

    ready_version(published_app, tiny_models["generator"], task="text-generation", max_batch_size=8,
                  max_wait_ms=200)
    log_path = artifacts_dir / "worker-drain.log"
    env = {**_worker_env(connection.settings_dict["NAME"]), "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT": "0"}
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "inference_worker", "--concurrency", "8", "--extra-queues", ""],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(lambda: WorkerHeartbeat.objects.exists(), 90, "the worker's heartbeat")
        client = APIClient()
        client.force_authenticate(runner)
        ids = []
        for n in range(8):
            response = client.post(f"/api/v1/apps/{published_app.slug}/predictions/",
                                   {"input": {"text": f"Guard {n}:", "max_new_tokens": 96}}, format="json")
            assert response.status_code == 202, response.content
            ids.append(response.json()["id"])
        # Every prediction is claimed by the worker (loading the model or in the batch), none has finished.
        _wait(lambda: Prediction.objects.filter(pk__in=ids, status__in=["starting", "processing"]).count() == 8,
              90, "all 8 predictions to be claimed")
        assert not Prediction.objects.filter(pk__in=ids, status="succeeded").exists()
        os.kill(worker.pid, signal.SIGTERM)  # the main process only, as a pod's PID 1 gets it
        # Sent after the drain began: it must wait in the queue for the next worker, not be taken and dropped.
        late = client.post(f"/api/v1/apps/{published_app.slug}/predictions/",
                           {"input": {"text": "Late:", "max_new_tokens": 4}}, format="json").json()["id"]
        code = worker.wait(timeout=180)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    log = log_path.read_text(errors="replace")
    assert code == 0, log[-3000:]
    done = list(Prediction.objects.filter(pk__in=ids))
    assert [p.status for p in done] == ["succeeded"] * 8, [(p.status, p.error) for p in done]
    assert all(p.attempts == 1 for p in done)
    assert max(p.metrics["batch_size"] for p in done) > 1  # they really ran as a batch
    assert Prediction.objects.get(pk=late).status == "queued"
    # Acked: a fresh worker finds only the late prediction, and runs nothing twice.
    with open(log_path, "ab") as log:
        second = subprocess.Popen(
            [sys.executable, "manage.py", "inference_worker", "--concurrency", "2", "--extra-queues", ""],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(lambda: Prediction.objects.filter(pk=late, status="succeeded").exists(), 120, "the late prediction")
        time.sleep(2)
        assert all(p.attempts == 1 for p in Prediction.objects.filter(pk__in=ids))
    finally:
        os.kill(second.pid, signal.SIGTERM)
        second.wait(timeout=60)
    published_app.refresh_from_db()
    assert published_app.runs_count == 9
