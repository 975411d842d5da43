"""The per-worker-process model cache and dynamic batcher.

Lives only in worker processes (it is imported lazily by services that run there). One engine per
process: a cache of loaded predictors (LRU within a memory budget) and one batcher thread per
loaded version, which gathers concurrent predictions into one forward pass.
"""
import os
import queue
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from config.metrics import record_batch, record_model_cache


def worker_device() -> str:
    """The device this worker runs models on: set by `inference_worker` per GPU, else detected."""
    configured = os.environ.get("MODELMARKET_INFERENCE_DEVICE", "")
    if configured:
        return configured
    try:
        import torch

        if torch.cuda.is_available():
            return "cuda:0"
    except ImportError:
        pass
    return "cpu"


@dataclass
class _Request:
    items: list[dict]
    future: Future = field(default_factory=Future)


_STOP = _Request(items=[])


@dataclass
class BatchResult:
    outputs: list[dict]
    batch_size: int
    predict_ms: float


class Batcher:
    """Collects requests for one model for up to `max_wait_ms` or `max_batch_size` items, then runs them together.

    It waits only while more requests are known to be on their way (`expect`/`forget`), so a lone
    request runs at once and pays no batching delay.
    """

    def __init__(self, predict: Callable[[list[dict]], list[dict]], *, max_batch_size: int, max_wait_ms: int):
        self.predict = predict
        self.max_batch_size = max(1, max_batch_size)
        self.max_wait = max(0, max_wait_ms) / 1000
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._expected = 0
        self._lock = threading.Lock()
        self._carry: _Request | None = None
        self._thread = threading.Thread(target=self._loop, daemon=True, name="inference-batcher")
        self._thread.start()

    def expect(self) -> None:
        with self._lock:
            self._expected += 1

    def forget(self) -> None:
        with self._lock:
            self._expected = max(0, self._expected - 1)

    def stop(self) -> None:
        """Let the thread end (its model was evicted); requests already queued are still answered."""
        self._queue.put(_STOP)

    def submit(self, items: list[dict]) -> Future:
        request = _Request(items=items)
        self._queue.put(request)
        return request.future

    def _loop(self) -> None:
        _own_torch_threads()
        while True:
            first = self._carry or self._queue.get()
            self._carry = None
            if first is _STOP:
                return
            batch = [first]
            count = len(first.items)
            deadline = time.monotonic() + self.max_wait
            while count < self.max_batch_size:
                with self._lock:
                    more_coming = self._expected > len(batch)
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
        started = time.perf_counter()
        try:
            outputs = self.predict(items)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                return
            # One bad input must not fail its neighbours: run each request on its own.
            for request in batch:
                self._run([request], len(request.items))
            return
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
    `MODELMARKET["INFERENCE_TORCH_THREADS"]` > 0 (or env `MODELMARKET_INFERENCE_TORCH_THREADS`) forces a count.
    """
    from django.conf import settings

    forced = int(os.environ.get("MODELMARKET_INFERENCE_TORCH_THREADS", 0)
                 or settings.MODELMARKET.get("INFERENCE_TORCH_THREADS", 0))
    return forced if forced > 0 else max(1, (os.cpu_count() or 1) - 1)


def _own_torch_threads() -> None:
    """Set on the batcher thread itself: the one thread that runs the model owns torch's thread pool
    (OpenMP's thread count is per calling thread, so setting it elsewhere may not reach this one).
    Only when torch is loaded already (a transformers model): a Keras-only worker need not import it."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(inference_threads())


@dataclass
class CachedModel:
    predictor: object
    batcher: Batcher
    bytes: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    runner: Batcher | None = None  # whole predictions: claim, forward pass, bulk finish (one thread per model)

    def runner_for(self, make: Callable[[list[dict]], list[dict]], *, max_batch_size: int,
                   max_wait_ms: int) -> Batcher:
        with self.lock:
            if self.runner is None:
                self.runner = Batcher(make, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms)
            return self.runner


class ModelCache:
    """LRU of loaded predictors within `budget_bytes`; a model is loaded once per key, even under concurrency."""

    def __init__(self, budget_bytes: int):
        self.budget_bytes = budget_bytes
        self._models: OrderedDict[tuple, CachedModel] = OrderedDict()
        self._loading: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, loader: Callable[[], object], *, max_batch_size: int, max_wait_ms: int,
            ) -> tuple[CachedModel, float]:
        """Answer the cached model and the milliseconds spent loading it (0 when it was warm)."""
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                record_model_cache(event="hit")
                return self._models[key], 0.0
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._models:
                    self._models.move_to_end(key)
                    record_model_cache(event="hit")
                    return self._models[key], 0.0
            record_model_cache(event="miss")
            started = time.perf_counter()
            predictor = loader()
            load_ms = (time.perf_counter() - started) * 1000
            size = int(predictor.estimated_bytes())
            cached = CachedModel(predictor, Batcher(predictor.predict, max_batch_size=max_batch_size,
                                                    max_wait_ms=max_wait_ms), size)
            with self._lock:
                self._models[key] = cached
                self._evict()
                self._loading.pop(key, None)
            return cached, load_ms

    def _evict(self) -> None:
        total = sum(model.bytes for model in self._models.values())
        while total > self.budget_bytes and len(self._models) > 1:
            _key, oldest = self._models.popitem(last=False)
            oldest.batcher.stop()
            if oldest.runner is not None:
                oldest.runner.stop()
            total -= oldest.bytes
            record_model_cache(event="eviction")

    def keys(self) -> list[tuple]:
        with self._lock:
            return list(self._models)


_engine: ModelCache | None = None
_engine_lock = threading.Lock()


def model_cache() -> ModelCache:
    global _engine
    with _engine_lock:
        if _engine is None:
            from django.conf import settings

            _engine = ModelCache(settings.MODELMARKET.get("MODEL_CACHE_BYTES", 4 * 1024**3))
        return _engine
