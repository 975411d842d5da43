"""A loaded model in a process of its own, fed over a pipe: the forward pass never waits for this worker's GIL.

Measured on the 2-core box (`bench/serve.py`, issue 9): a MiniLM batch of 8 takes ~54 ms alone, ~670 ms
while one other Python thread of the same process is busy (each of the forward pass's many small torch calls
waits up to the 5 ms switch interval to get the GIL back), and ~92 ms while another *process* keeps a core
busy. The worker's own threads (the dispatcher, claims, finishing the previous batch, heartbeats) are that
busy thread. So the model lives in a child started from the sandbox's forkserver (torch and transformers
imported once), loads the checked artifact itself, tokenises and runs each batch, and answers plain data.

The child ends when its pipe closes, so a SIGKILLed worker leaves no model process behind. If the child dies
(killed for memory, a crash in native code), `predict` raises `ModelProcessDied` and the engine loads the
model again on the next call. Text generation keeps its model in the worker: its streams need the model's
own iterator.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from typing import Any

logger = logging.getLogger(__name__)


class ModelProcessDied(RuntimeError):
    """The model's process is gone; the worker loads the model again on the next call."""


def model_process_wanted(*, task: str) -> bool:
    """Whether to load this task's model in a process of its own (MODELMARKET_MODEL_PROCESS, on by default).

    Not inside a daemonic process (a Celery prefork child may not start children), and not for text
    generation, whose token streams need the model in the worker.
    """
    from django.conf import settings

    if not settings.INFERENCE_MODEL_PROCESS or task == "text-generation":
        return False
    return not multiprocessing.current_process().daemon


def _serve(conn, request: dict) -> None:
    """In the child: load, answer ("ready", facts), then one answer per ("predict", items) until the pipe closes."""
    try:
        import sys

        from inference.runtimes import load

        predictor = load(request["path"], framework=request["framework"], task=request["task"],
                         device=request["device"], labels=request["labels"])
        torch = sys.modules.get("torch")
        if torch is not None and request["threads"] > 0:
            torch.set_num_threads(request["threads"])
        conn.send(("ready", {"task": predictor.task, "device": predictor.device,
                             "parameter_count": int(predictor.parameter_count),
                             "labels": list(predictor.labels or []), "bytes": int(predictor.estimated_bytes())}))
    except BaseException as exc:  # noqa: BLE001 - the parent raises it
        conn.send(("error", _portable(exc)))
        conn.close()
        return
    while True:
        try:
            kind, payload = conn.recv()
        except (EOFError, OSError):  # the worker is gone
            return
        if kind == "stop":
            return
        try:
            answer = ("ok", predictor.predict(payload))
        except BaseException as exc:  # noqa: BLE001 - one bad batch fails in the parent, the child goes on
            answer = ("error", _portable(exc))
        try:
            conn.send(answer)
        except Exception as exc:  # an output that does not pickle
            conn.send(("error", _portable(exc)))


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it pickles (so its type and message reach the prediction), else a RuntimeError."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(exc).__name__}: {exc}")


class ModelProcess:
    """The `Predictor` interface, answered by a child process that holds the model."""

    def __init__(self, *, path: str, framework: str, task: str, device: str, labels: list[str] | None,
                 threads: int):
        from .sandbox import _mp_context

        context = _mp_context()
        self._conn, child_end = context.Pipe(duplex=True)
        self._process = context.Process(target=_serve, args=(child_end, {
            "path": path, "framework": framework, "task": task, "device": device, "labels": labels,
            "threads": threads}), daemon=True, name=f"model {os.path.basename(path)}")
        self._process.start()
        child_end.close()
        self._lock = threading.Lock()
        kind, payload = self._receive()
        if kind == "error":
            self.close()
            raise payload
        self.task: str = payload["task"]
        self.device: str = payload["device"]
        self.parameter_count: int = payload["parameter_count"]
        self.labels: list[str] = payload["labels"]
        self._bytes: int = payload["bytes"]

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def _receive(self) -> tuple[str, Any]:
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            self._process.join(5)
            raise ModelProcessDied(f"the model process exited (code {self._process.exitcode})") from None

    def predict(self, batch: list[dict]) -> list[dict]:
        with self._lock:
            try:
                self._conn.send(("predict", batch))
            except (BrokenPipeError, OSError):
                raise ModelProcessDied("the model process is gone") from None
            kind, payload = self._receive()
        if kind == "error":
            raise payload
        return payload

    def stream(self, item: dict):
        raise NotImplementedError("text generation keeps its model in the worker")

    def estimated_bytes(self) -> int:
        return self._bytes

    def close(self) -> None:
        """Stop the child (the model was evicted, or the worker shuts down)."""
        try:
            with self._lock:
                self._conn.send(("stop", None))
        except Exception:  # noqa: BLE001,S110 - it is gone already
            pass
        self._process.join(2)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(2)
        self._conn.close()
