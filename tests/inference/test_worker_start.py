"""A worker host that joins takes work within seconds (issue 15): `manage.py inference_worker` finds its devices
without importing torch or TensorFlow, and its worker processes import neither until their first model loads.

Measured on the 2-core CI box at load ~3.5 (README, "Scaling out and operations"): both heartbeats 10.0 s after
the start before (the parent imported torch and TensorFlow to count GPUs: +7 s, +770 MB), 4.3 s after.
The bound leaves room for a loaded machine.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inference.models import WorkerHeartbeat

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
HEARTBEATS_WITHIN_S = 20
ML_LIBRARIES = ("libtensorflow", "libtorch", "_pywrap_tensorflow")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _ml_libraries_mapped(pid: int) -> list[str]:
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return []
    return sorted({line.rsplit("/", 1)[-1] for line in maps.splitlines() if any(lib in line for lib in ML_LIBRARIES)})


def test_a_new_worker_host_heartbeats_within_seconds_without_loading_ml_frameworks(transactional_db,
                                                                                   artifacts_dir):
    from django.db import connection

    from tests.conftest import _worker_env

    # No GPU for this worker whatever the machine has: one CPU worker and the side worker, as on the CI box.
    env = {**_worker_env(connection.settings_dict["NAME"]), "CUDA_VISIBLE_DEVICES": ""}
    log_path = artifacts_dir / "worker-start.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "inference_worker", "--concurrency", "2", "--extra-queues", ""],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        elapsed = None
        deadline = started + 180  # far past the bound: a slow start fails on the figure, not on a timeout
        while time.monotonic() < deadline and worker.poll() is None:
            if WorkerHeartbeat.objects.count() >= 2:
                elapsed = time.monotonic() - started
                break
            time.sleep(0.1)
        output = log_path.read_text(errors="replace")
        assert elapsed is not None, f"no heartbeats from the cpu and side workers; log:\n{output[-3000:]}"
        assert elapsed < HEARTBEATS_WITHIN_S, f"first heartbeats after {elapsed:.1f} s (bound {HEARTBEATS_WITHIN_S} s)"
        assert "devices: {'torch_cuda': 0, 'tf_gpus': 0}" in output, output[-3000:]
        beats = {beat.hostname.split("@")[0]: (beat.queues, beat.devices) for beat in WorkerHeartbeat.objects.all()}
        assert beats == {"cpu": (["inference-cpu"], ["cpu"]), "side": (["validation", "webhooks"], ["cpu"])}
        children = _children(worker.pid)
        assert len(children) == 2, children  # the cpu and the side celery workers
        mapped = {pid: _ml_libraries_mapped(pid) for pid in [worker.pid, *children]}
        assert mapped == {pid: [] for pid in mapped}, f"torch/TensorFlow loaded at start: {mapped}"
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
