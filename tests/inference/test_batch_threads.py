"""Torch's intra-op threads per forward pass: every core for a lone request on an idle machine (its caller waits
for it and nothing else wants a CPU), cores minus one otherwise. The machine's load is the kernel's count of
runnable threads in /proc/loadavg, given here as a file of that format."""
import time

import pytest
import torch

from inference.worker import batching
from inference.worker.batching import Batcher, batch_threads


@pytest.fixture
def two_cores(monkeypatch, settings, tmp_path):
    """A 2-core machine whose /proc/loadavg says `runnable` threads are runnable now."""
    settings.INFERENCE_TORCH_THREADS = 0
    monkeypatch.delenv("MODELMARKET_INFERENCE_TORCH_THREADS", raising=False)
    monkeypatch.setattr(batching.os, "cpu_count", lambda: 2)
    loadavg = tmp_path / "loadavg"
    monkeypatch.setattr(batching, "LOADAVG", str(loadavg))

    def runnable(count: int) -> None:
        loadavg.write_text(f"0.52 0.61 0.40 {count}/311 4242\n")
    return runnable


def test_a_lone_request_on_an_idle_machine_gets_every_core(two_cores):
    two_cores(1)  # only the runner thread itself
    assert batch_threads(alone=True) == 2
    assert batch_threads(alone=False) == 1  # a batch of several: the default


def test_a_busy_machine_an_unknown_load_or_a_forced_count_keep_the_default(two_cores, settings, monkeypatch):
    two_cores(2)  # something else holds the other core
    assert batch_threads(alone=True) == 1
    two_cores(1)
    settings.INFERENCE_TORCH_THREADS = 1
    assert batch_threads(alone=True) == 1
    settings.INFERENCE_TORCH_THREADS = 0
    assert batch_threads(alone=True) == 2
    monkeypatch.setattr(batching, "LOADAVG", "/nonexistent/loadavg")  # no /proc: the load is unknown
    assert batch_threads(alone=True) == 1


def test_the_runner_sets_torch_threads_for_each_pass(two_cores, monkeypatch):
    """The batcher thread runs the pass with the threads chosen for it: 2 for a lone request while the machine is
    idle, 1 once the machine is busy, 2 again when it is idle again; 1 for a lone request that follows the last
    pass too closely (calls arriving back to back: traffic is not light)."""
    seen: list[int] = []

    def predict(items):
        seen.append(torch.get_num_threads())
        return [{"n": len(items)} for _ in items]

    batcher = Batcher(predict, max_batch_size=8, max_wait_ms=0)
    try:
        for runnable, idle_needed in ((1, 0.01), (5, 0.01), (1, 0.01), (1, 60.0)):
            two_cores(runnable)
            monkeypatch.setattr(batching, "LONE_IDLE_SECONDS", idle_needed)
            time.sleep(0.02)
            batcher.expect()
            batcher.submit([{"text": "a"}]).result(timeout=10)
            batcher.forget()
    finally:
        batcher.stop()
        batcher.join(10)
    assert seen == [2, 1, 2, 1]
