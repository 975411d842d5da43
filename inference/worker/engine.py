"""The per-worker-process engine: the device it runs on and its cache of loaded models.

Lives only in worker processes. One engine per process: a cache of loaded predictors (LRU within a memory
budget), each with its batcher thread (`batching.Batcher`), which gathers concurrent predictions into one
forward pass.
"""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from config.metrics import record_model_cache

from .batching import Batcher


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
class CachedModel:
    predictor: Any
    batcher: Batcher
    bytes: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    runner: Batcher | None = None  # whole predictions: claim, forward pass, bulk finish (one thread per model)

    def runner_for(self, make: Callable[[list[dict[str, Any]]], Any], *, max_batch_size: int,
                   max_wait_ms: int, finish: Callable[[Any], list[dict[str, Any]]] | None = None) -> Batcher:
        with self.lock:
            if self.runner is None:
                self.runner = Batcher(make, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms, finish=finish)
            return self.runner


class ModelCache:
    """LRU of loaded predictors within `budget_bytes`; a model is loaded once per key, even under concurrency."""

    def __init__(self, budget_bytes: int):
        self.budget_bytes = budget_bytes
        self._models: OrderedDict[tuple, CachedModel] = OrderedDict()
        self._loading: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, loader: Callable[[], Any], *, max_batch_size: int, max_wait_ms: int,
            ) -> tuple[CachedModel, float]:
        """Answer the cached model and the milliseconds spent loading it (0 when it was warm)."""
        with self._lock:
            self._drop_if_dead(key)
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

    def peek(self, key: tuple) -> CachedModel | None:
        """The cached model when it is loaded already (never loads: the dispatcher thread must not block)."""
        with self._lock:
            self._drop_if_dead(key)
            cached = self._models.get(key)
            if cached is not None:
                self._models.move_to_end(key)
                record_model_cache(event="hit")
            return cached

    def _evict(self) -> None:
        total = sum(model.bytes for model in self._models.values())
        while total > self.budget_bytes and len(self._models) > 1:
            _key, oldest = self._models.popitem(last=False)
            _release(oldest)
            total -= oldest.bytes
            record_model_cache(event="eviction")

    def _drop_if_dead(self, key: tuple) -> None:
        """A model whose process died (`model_process`) is dropped, so this call loads it again."""
        cached = self._models.get(key)
        if cached is not None and not getattr(cached.predictor, "alive", True):
            del self._models[key]
            _release(cached)
            record_model_cache(event="died")

    def close(self) -> None:
        """Stop every model (and its process): the worker is shutting down."""
        with self._lock:
            models, self._models = list(self._models.values()), OrderedDict()
        for cached in models:
            _release(cached)

    def keys(self) -> list[tuple]:
        with self._lock:
            return list(self._models)


def _release(cached: CachedModel) -> None:
    """Its batcher threads end once their queued requests are answered; its model process (if any) stops then."""
    cached.batcher.stop()
    if cached.runner is not None:
        cached.runner.stop()
    close = getattr(cached.predictor, "close", None)
    if close is not None:
        threading.Thread(target=_close_after, args=(cached, close), daemon=True, name="model-close").start()


def _close_after(cached: CachedModel, close: Callable[[], None]) -> None:
    cached.batcher.join(timeout=60)
    if cached.runner is not None:
        cached.runner.join(timeout=60)
    close()


_engine: ModelCache | None = None
_engine_lock = threading.Lock()


def model_cache() -> ModelCache:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = ModelCache(settings.MODEL_CACHE_BYTES)
        return _engine
