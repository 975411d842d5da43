"""What every part of the serving benchmark shares: paths, labels, and small helpers (ports, logging, percentiles)."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
PEER_DIR = BENCH / "peer"
PYTHON = sys.executable
ENTRY = BENCH / "serve.py"  # the command line; the raw and setup subprocesses run it again with a hidden flag

CONFIG_LABELS = {
    "a": "(a) raw in-process MiniLM", "p": "(p) reference peer", "b": "(b) platform PG+Redis, batching on",
    "c": "(c) platform PG+Redis, batching off", "e": "(e) embedded default (SQLite)",
    "tf": "(t) tiny BERT, free app", "tp": "(t) tiny BERT, paid app",
}
PAID_PRICE = "0.000100"


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def http_get(url: str, timeout: float = 5) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


def wait_port(port: int, timeout: float, procs: list[subprocess.Popen] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if procs and all(p.poll() is not None for p in procs):
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def fmt(value, spec: str = ".1f", none: str = "-") -> str:
    return none if value is None else format(value, spec)
