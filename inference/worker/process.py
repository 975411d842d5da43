"""`manage.py inference_worker`: detect devices, start one Celery worker per GPU (pinned with
CUDA_VISIBLE_DEVICES), else one CPU worker, plus a side worker for webhooks and validation.

Device detection imports no ML framework (`runtimes/devices.py`), and neither do the workers until their first
model of a framework loads, so a host that joins starts taking work within seconds.

Workers use the threads pool so that concurrent predictions of a version meet in the in-worker batcher.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from types import FrameType

from ..runtimes.devices import detect_devices


def run_workers(*, concurrency: int, cpu_queue: bool, extra_queues: str, side_queues: str, loglevel: str,
                write: Callable[[str], object]) -> int:
    """Start the workers, forward SIGTERM/SIGINT to them, and answer the highest exit code."""
    devices = detect_devices()  # imports neither torch nor TensorFlow: the workers start at once
    gpus = devices["torch_cuda"]
    write(f"devices: {devices}")
    # TensorFlow shares a GPU instead of taking all its memory; set where it runs (the framework is imported
    # by a worker only when it loads its first Keras model).
    environ = {"TF_FORCE_GPU_ALLOW_GROWTH": "true", **os.environ}
    commands = []
    base = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "threads",
            "-c", str(concurrency), "-l", loglevel, "--without-gossip", "--without-mingle"]
    for index in range(gpus):
        env = {**environ, "CUDA_VISIBLE_DEVICES": str(index), "MODELMARKET_INFERENCE_DEVICE": "cuda:0"}
        commands.append((base + ["-Q", "inference-gpu", "-n", f"gpu{index}@%h"], env))
    if not gpus or cpu_queue:
        queues = ",".join(q for q in ["inference-cpu", *extra_queues.split(",")] if q)
        env = {**environ, "CUDA_VISIBLE_DEVICES": "", "MODELMARKET_INFERENCE_DEVICE": "cpu"}
        commands.append((base + ["-Q", queues, "-n", "cpu@%h"], env))
    if side_queues:
        # Webhook deliveries and artifact validation: their own process, so they never take a prediction
        # thread (validation loads each model in a sandboxed child of its own, see sandbox.py).
        env = {**environ, "CUDA_VISIBLE_DEVICES": "", "MODELMARKET_INFERENCE_DEVICE": "cpu"}
        commands.append(([sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "threads", "-c", "4",
                          "-l", loglevel, "--without-gossip", "--without-mingle",
                          "-Q", side_queues, "-n", "side@%h"], env))
    processes = [subprocess.Popen(command, env=env) for command, env in commands]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [process.wait() for process in processes]
    return max(codes) if codes else 0
