"""Load and try an untrusted model in a child process, with a memory ceiling (RLIMIT_AS) and a wall clock.

A hostile or broken artifact can ask for more memory than the machine has, or spin forever; in the worker
process either would take predictions down with it, and Celery's time limits do nothing in the threads
pool. The child imports the ML stack, sets its own address-space limit on top of that, loads the model,
runs the example and hands back plain data. The parent waits at most the time limit, then kills it.

Two ways to start the child, same work: from a forkserver that imported torch and transformers once (fast;
used by threads-pool workers and the web/test process), or, inside a daemonic Celery prefork child where
multiprocessing may not start children, as a fresh `python -m inference.worker.sandbox` subprocess.
This module imports no Django: the child needs none.
"""
from __future__ import annotations

import multiprocessing
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_context = None


def _mp_context():
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["inference.worker.sandbox_preload"])
        _context = context
    return _context


@dataclass(frozen=True)
class TryResult:
    ok: bool
    kind: str = ""  # refused | error | memory | timeout | crashed
    message: str = ""
    outputs: list | None = None
    load_ms: float = 0.0
    predict_ms: float = 0.0
    parameters: int = 0
    labels: list | None = None
    exitcode: int | None = None


def _address_space_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * resource.getpagesize()


def _work(request: dict) -> dict:
    """In the child: limit memory, load, predict. Answers a plain dict for TryResult."""
    memory_bytes = request["memory_bytes"]
    try:
        from inference.runtimes import ModelRefused, load

        if request["framework"] == "transformers":
            import transformers  # noqa: F401 - imported before the limit: the budget is for the model only
        if memory_bytes:
            limit = _address_space_bytes() + memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        started = time.perf_counter()
        try:
            predictor = load(request["path"], framework=request["framework"], task=request["task"],
                             device=request["device"], labels=request["labels"])
            load_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            outputs = predictor.predict(request["items"])
            predict_ms = (time.perf_counter() - started) * 1000
        except ModelRefused as exc:
            return {"ok": False, "kind": "refused", "message": str(exc)}
        return {"ok": True, "outputs": outputs, "load_ms": load_ms, "predict_ms": predict_ms,
                "parameters": int(predictor.parameter_count), "labels": list(predictor.labels or [])}
    except MemoryError:
        return {"ok": False, "kind": "memory", "message": "MemoryError"}
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent as a reason
        text = f"{type(exc).__name__}: {exc}"[:500]
        # Under RLIMIT_AS a failed allocation in C code surfaces in many shapes (SystemError, "cannot
        # allocate", std::bad_alloc); all of them mean the model did not fit its memory budget.
        lowered = text.lower()
        out_of_memory = memory_bytes and (isinstance(exc, SystemError) or any(
            word in lowered for word in ("alloc", "memory", "enomem")))
        return {"ok": False, "kind": "memory" if out_of_memory else "error", "message": text}


def _forkserver_child(conn, request: dict) -> None:
    try:
        conn.send(_work(request))
    finally:
        conn.close()


def _try_forkserver(request: dict, timeout: float) -> TryResult:
    context = _mp_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_forkserver_child, args=(sender, request), daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            return TryResult(ok=False, kind="timeout")
        try:
            answer = receiver.recv()
        except (EOFError, OSError):
            process.join(5)
            return TryResult(ok=False, kind="crashed", exitcode=process.exitcode)
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(10)
    return _result(answer)


def _try_subprocess(request: dict, timeout: float) -> TryResult:
    with tempfile.TemporaryDirectory(prefix="mm-sandbox-") as folder:
        request_path, answer_path = Path(folder) / "request.pkl", Path(folder) / "answer.pkl"
        request_path.write_bytes(pickle.dumps(request))
        try:
            finished = subprocess.run([sys.executable, "-m", "inference.worker.sandbox", str(request_path),
                                       str(answer_path)], timeout=timeout, capture_output=True, check=False,
                                      cwd=Path(__file__).resolve().parents[2])
        except subprocess.TimeoutExpired:
            return TryResult(ok=False, kind="timeout")
        if not answer_path.exists():
            return TryResult(ok=False, kind="crashed", exitcode=finished.returncode)
        return _result(pickle.loads(answer_path.read_bytes()))  # noqa: S301 - written by our own child


def _result(answer: dict) -> TryResult:
    return TryResult(**{key: value for key, value in answer.items() if key in TryResult.__dataclass_fields__})


def model_try(*, path: str, framework: str, task: str, device: str, labels, items: list, memory_bytes: int,
              timeout: float) -> TryResult:
    """Load the model at `path` and predict `items` in a sandboxed child; never raises for the model's faults."""
    request = {"path": path, "framework": framework, "task": task, "device": device, "labels": labels,
               "items": items, "memory_bytes": memory_bytes}
    if multiprocessing.current_process().daemon:
        return _try_subprocess(request, timeout)
    return _try_forkserver(request, timeout)


if __name__ == "__main__":  # the subprocess way: request and answer are files named on the command line
    request_file, answer_file = sys.argv[1], sys.argv[2]
    answer = _work(pickle.loads(Path(request_file).read_bytes()))  # noqa: S301 - written by our parent
    Path(answer_file).write_bytes(pickle.dumps(answer))
