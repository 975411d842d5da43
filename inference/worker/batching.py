"""Dynamic batching inside a worker process: concurrent requests for one model meet in one forward pass.

One `Batcher` thread per loaded model (and one per model for whole predictions, see `execute`). It waits
only while more requests are known to be on their way, and flushes on size or deadline.
"""
from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from config.metrics import record_batch


@dataclass
class _Request:
    items: list[dict[str, Any]]
    future: Future[BatchResult] = field(default_factory=Future)


_STOP = _Request(items=[])


@dataclass
class BatchResult:
    outputs: list[dict[str, Any]]
    batch_size: int
    predict_ms: float


class Batcher:
    """Collects requests for one model for up to `max_wait_ms` or `max_batch_size` items, then runs them together.

    It waits only while more requests are known to be on their way (`expect`/`forget`), so a lone
    request runs at once and pays no batching delay.
    """

    def __init__(self, predict: Callable[[list[dict[str, Any]]], Any], *, max_batch_size: int,
                 max_wait_ms: int, finish: Callable[[Any], list[dict[str, Any]]] | None = None):
        self.predict = predict
        self.finish = finish
        self.max_batch_size = max(1, max_batch_size)
        self.max_wait = max(0, max_wait_ms) / 1000
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._expected = 0
        self._finishing_count = 0  # requests handed to the finisher: expected, but not coming to this batch
        self._lock = threading.Lock()
        self._carry: _Request | None = None
        self._torch_threads = 0  # what this runner last set (0: not yet)
        self._idle_since = 0.0  # when the last pass ended (monotonic)
        # Two stages (`finish` given): batch N is finished on the finisher thread while batch N+1 is collected
        # and predicted. At most one batch waits for the finisher: the wait lets the next batch grow.
        self._finishing: queue.Queue[tuple[list[_Request], int, Any, float] | None] = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._loop, daemon=True, name="inference-batcher")
        self._thread.start()
        self._finisher: threading.Thread | None = None
        if finish is not None:
            self._finisher = threading.Thread(target=self._finish_loop, daemon=True, name="inference-finisher")
            self._finisher.start()

    def expect(self) -> None:
        with self._lock:
            self._expected += 1

    def forget(self) -> None:
        with self._lock:
            self._expected = max(0, self._expected - 1)

    def stop(self) -> None:
        """Let the thread end (its model was evicted); requests already queued are still answered."""
        self._queue.put(_STOP)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the threads to end (after `stop`)."""
        self._thread.join(timeout)
        if self._finisher is not None:
            self._finisher.join(timeout)

    def submit(self, items: list[dict[str, Any]]) -> Future[BatchResult]:
        request = _Request(items=items)
        self._queue.put(request)
        return request.future

    def _loop(self) -> None:
        _own_torch_threads()
        while True:
            first = self._carry or self._queue.get()
            self._carry = None
            if first is _STOP:
                if self._finisher is not None:
                    self._finishing.put(None)
                return
            batch = [first]
            count = len(first.items)
            deadline = time.monotonic() + self.max_wait
            while count < self.max_batch_size:
                with self._lock:
                    more_coming = self._expected - self._finishing_count > len(batch)
                timeout = deadline - time.monotonic()
                try:
                    nxt = self._queue.get(timeout=timeout) if more_coming and timeout > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP or count + len(nxt.items) > self.max_batch_size:
                    self._carry = nxt
                    break
                batch.append(nxt)
                count += len(nxt.items)
            self._run(batch, count)

    def _run(self, batch: list[_Request], count: int) -> None:
        items = [item for request in batch for item in request.items]
        self._set_torch_threads(count)
        started = time.perf_counter()
        try:
            try:
                outputs = self.predict(items)
            finally:
                self._idle_since = time.monotonic()
            if self.finish is not None:
                with self._lock:
                    self._finishing_count += len(batch)
                self._finishing.put((batch, count, outputs, started))
                return
        except Exception as exc:
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                return
            # One bad input must not fail its neighbours: run each request on its own.
            for request in batch:
                self._run([request], len(request.items))
            return
        self._answer(batch, count, outputs, started)

    def _set_torch_threads(self, count: int) -> None:
        """A lone request on an idle machine gets every core (its latency is the caller's); anything else keeps
        `inference_threads()`. Only where torch is loaded in this process (a model process keeps its own count)."""
        torch = sys.modules.get("torch")
        if torch is None:
            return
        with self._lock:
            alone = count == 1 and self._expected - self._finishing_count <= 1
        # ... and the runner had been idle a while: calls are arriving one at a time, not back to back.
        alone = alone and time.monotonic() - self._idle_since >= LONE_IDLE_SECONDS
        wanted = batch_threads(alone=alone)
        if wanted != self._torch_threads:
            torch.set_num_threads(wanted)
            self._torch_threads = wanted

    def _finish_loop(self) -> None:
        assert self.finish is not None
        while True:
            staged = self._finishing.get()
            if staged is None:
                return
            batch, count, state, started = staged
            try:
                outputs = self.finish(state)
            except Exception as exc:  # the finish failed for the whole batch (e.g. the database went away)
                outputs = None
                failure = exc
            with self._lock:
                self._finishing_count -= len(batch)
            if outputs is None:
                for request in batch:
                    request.future.set_exception(failure)
                continue
            self._answer(batch, count, outputs, started)

    def _answer(self, batch: list[_Request], count: int, outputs: list[dict[str, Any]], started: float) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        record_batch(size=count, predict_seconds=elapsed / 1000)
        position = 0
        for request in batch:
            size = len(request.items)
            request.future.set_result(BatchResult(outputs[position:position + size], count, elapsed))
            position += size


def inference_threads() -> int:
    """Intra-op threads for the model: the cores minus one, at least one.

    The web server, the database and this worker's own pool threads share the machine; OpenMP threads
    that spin-wait on a core something else holds make a forward pass many times slower (measured on a
    loaded 2-core box: a batch of 16 MiniLM sentences took ~430 ms with 2 threads, ~50 ms with 1).
    `settings.INFERENCE_TORCH_THREADS` > 0 (or env `MODELMARKET_INFERENCE_TORCH_THREADS`) forces a count.
    """
    forced = _forced_threads()
    return forced if forced > 0 else max(1, (os.cpu_count() or 1) - 1)


LOADAVG = "/proc/loadavg"
LONE_IDLE_SECONDS = 0.01  # a runner idle this long before a lone request: traffic is light


def batch_threads(*, alone: bool) -> int:
    """Intra-op threads for one forward pass: every core for a lone request while nothing else on the machine
    wants a CPU, else `inference_threads()`.

    At one caller the web side waits while the model runs, so "cores minus one" left a core idle: MiniLM, one
    ~32-token sentence, 18 ms on one thread against 14.5 ms on two (this 2-core machine). Whether anything else
    is runnable right now is the kernel's count of runnable threads in /proc/loadavg (ours is one of them); a
    busy machine, a forced count or a system without /proc keeps the default, because OpenMP threads that
    spin on a core something else holds make a pass many times slower.
    """
    base = inference_threads()
    cores = os.cpu_count() or 1
    if not alone or cores <= base or _forced_threads():
        return base
    return cores if _runnable_threads() <= base else base


def _runnable_threads(samples: int = 3, gap_seconds: float = 0.0002) -> int:
    """Threads runnable on the whole machine, the caller included: the least of a few readings ~0.2 ms apart,
    so that a thread busy for a moment only (the dispatcher handing the id over) does not count. A large
    number when unknown."""
    least = 1 << 30
    try:
        for sample in range(samples):
            if sample:
                time.sleep(gap_seconds)
            with open(LOADAVG, "rb") as handle:
                least = min(least, int(handle.read().split()[3].split(b"/")[0]))
    except (OSError, ValueError, IndexError):
        return 1 << 30
    return least


def _forced_threads() -> int:
    return int(os.environ.get("MODELMARKET_INFERENCE_TORCH_THREADS", 0) or settings.INFERENCE_TORCH_THREADS)


def _own_torch_threads() -> None:
    """Set on the batcher thread itself: the one thread that runs the model owns torch's thread pool
    (OpenMP's thread count is per calling thread, so setting it elsewhere may not reach this one).
    Only when torch is loaded already (a transformers model): a Keras-only worker need not import it."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(inference_threads())
