"""What the dispatch of a prediction costs: one Celery task per prediction against the Redis dispatch (issue 9).

    .venv/bin/python bench/dispatch.py --db-name modelmarket_bench_dispatch [--predictions 400] [--rounds 3]

A narrower figure than bench/serve.py, for a shared machine where req/s follows other people's load: CPU time,
split by side, of the same burst of predictions of a warm tiny BERT (free app) through each path, the two paths
alternated in every round so that both see the same conditions:

- web: thread CPU time per call of the commit that sends the burst (the on-commit `_enqueue_prediction`:
  `apply_async` or one RPUSH), and of the whole create (admission, INSERTs, commit, enqueue);
- worker: CPU time of a real threads-pool worker process (`celery worker -P threads -c 16`, as
  `inference_worker` starts it) from the burst to the last finished prediction, minus its idle CPU over the same
  time, per prediction; and the drain's wall time.

PostgreSQL + Redis from DATABASE_URL (its NAME replaced by --db-name, dropped and recreated) / CELERY_BROKER_URL /
CACHE_URL, production settings (DEBUG off).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _env(args) -> dict:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/modelmarket")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({
        "DATABASE_URL": urlparse(base)._replace(path=f"/{args.db_name}").geturl(),
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
        "CACHE_URL": os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/1"),
        "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "False", "SECRET_KEY": "bench-" + "x" * 50,
        "PREDICTION_ENCRYPTION_KEYS": "YmVuY2gtb25seS1rZXktMzItYnl0ZXMtbG9uZy0tLSE=",
        "ALLOWED_HOSTS": "127.0.0.1,localhost", "SITE_URL": "http://127.0.0.1", "DB_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "MODELMARKET_INFERENCE_DEVICE": "cpu",
        "CUDA_VISIBLE_DEVICES": "", "TOKENIZERS_PARALLELISM": "false",
        "MODELMARKET_VAR_DIR": str(ROOT / "var" / "bench-dispatch"),
    })
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db-name", default="modelmarket_bench_dispatch")
    parser.add_argument("--predictions", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", default="")
    parser.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        return _child(args)
    env = _env(args)
    from bench.serving.configs import create_pg_database, drop_pg_database

    create_pg_database(env["DATABASE_URL"])
    try:
        subprocess.run([sys.executable, __file__, "--_child", "--db-name", args.db_name, "--predictions",
                        str(args.predictions), "--rounds", str(args.rounds), "--concurrency", str(args.concurrency),
                        "--out", args.out], env=env, cwd=ROOT, check=True)
    finally:
        drop_pg_database(env["DATABASE_URL"])


def _setup():
    from django.core.files import File
    from django.core.management import call_command

    from accounts.models import User
    from inference.runtimes.demo_models import build_tiny_bert, zip_folder
    from inference.services import version_upload
    from inference.worker.validation import version_validate
    from marketplace.services import app_acquire, app_create, app_review, app_submit

    call_command("migrate", verbosity=0, interactive=False)
    from bench.serving.platform_setup import bench_people

    developer, moderator, category = bench_people()
    folder = Path(tempfile.mkdtemp(prefix="bench-dispatch-"))
    build_tiny_bert(folder / "tiny", labels=["negative", "positive"], hidden=32, layers=1)
    artifact = zip_folder(folder / "tiny", folder / "tiny.zip")
    app = app_create(owner=developer, name="Bench dispatch", tagline="Benchmark app", category=category,
                     description="Made by bench/dispatch.py.", pricing=None, slug="bench-dispatch")
    with open(artifact, "rb") as handle:
        upload = File(handle, name="tiny.zip")
        upload.size = artifact.stat().st_size
        version = version_upload(app=app, actor=developer, artifact=upload, version="1.0.0",
                                 task="text-classification", framework="transformers")
    version_validate(version_id=version.pk)
    app_submit(app=app, actor=developer)
    app_review(app=app, moderator=moderator, decision="approve")
    app.refresh_from_db()
    user = User.objects.create_user(username="bench-user", email="bench-user@example.com", password=None)
    app_acquire(user=user, app=app)
    return app, user


def _cpu(process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _burst(app, user, count: int, tag: str) -> tuple[list[str], float, float]:
    """`count` creates in one transaction, so their enqueues all run at its commit: (ids, create CPU, commit CPU)."""
    from django.db import transaction

    from inference.services import prediction_create

    ids = []
    started = time.thread_time()
    with transaction.atomic():
        for number in range(count):
            prediction, _created = prediction_create(user=user, app=app, input={"text": f"{tag} {number} profits rose"})
            ids.append(str(prediction.pk))
        before_commit = time.thread_time()
    ended = time.thread_time()
    return ids, ended - started, ended - before_commit


def _wait_terminal(ids: list[str], timeout: float = 600) -> float:
    from inference.models import Prediction

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = Prediction.objects.filter(pk__in=ids, status__in=["queued", "starting", "processing"]).count()
        if not left:
            return time.monotonic()
        time.sleep(0.02)
    raise SystemExit(f"{left} predictions did not finish")


def _child(args) -> None:
    import django

    django.setup()
    import psutil
    from django.conf import settings

    from inference.models import Prediction

    app, user = _setup()
    results: dict[str, list[dict]] = {"celery": [], "redis": []}
    log_dir = ROOT / "var" / "bench-dispatch"
    log_dir.mkdir(parents=True, exist_ok=True)
    for round_number in range(args.rounds):
        for mode in ("celery", "redis") if round_number % 2 == 0 else ("redis", "celery"):
            settings.PREDICTION_DISPATCH = mode  # the web side (this process) reads it per call
            env = {**os.environ, "PREDICTION_DISPATCH": mode}
            with open(log_dir / f"worker-{mode}.log", "ab") as log:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "threads", "-c",
                     str(args.concurrency), "-Q", "inference-cpu", "--without-gossip", "--without-mingle",
                     "-l", "WARNING", "-n", f"bench-{mode}@%h"], cwd=ROOT, env=env, stdout=log, stderr=log)
            try:
                process = psutil.Process(worker.pid)
                warm, _c, _e = _burst(app, user, 32, "warm")
                _wait_terminal(warm)
                time.sleep(1.5)
                idle_from, idle_cpu = time.monotonic(), _cpu(process)
                time.sleep(2.0)
                idle_rate = (_cpu(process) - idle_cpu) / (time.monotonic() - idle_from)
                cpu_before = _cpu(process)
                ids, create_cpu, commit_cpu = _burst(app, user, args.predictions, f"{mode}-{round_number}")
                sent = time.monotonic()
                done = _wait_terminal(ids)
                wall = done - sent
                worker_cpu = _cpu(process) - cpu_before - idle_rate * wall
                failed = Prediction.objects.filter(pk__in=ids).exclude(status="succeeded").count()
                batches = [p.metrics.get("batch_size") or 0 for p in Prediction.objects.filter(pk__in=ids)]
                row = {"round": round_number, "n": len(ids), "failed": failed,
                       "web_create_cpu_ms": 1000 * create_cpu / len(ids),
                       "web_enqueue_cpu_ms": 1000 * commit_cpu / len(ids),
                       "worker_cpu_ms": 1000 * worker_cpu / len(ids), "worker_idle_cores": idle_rate,
                       "drain_s": wall, "per_s": len(ids) / wall, "mean_batch": statistics.mean(batches),
                       "load": os.getloadavg()[0]}
                results[mode].append(row)
                print(f"round {round_number} {mode:6}: web create {row['web_create_cpu_ms']:.2f} ms CPU/call "
                      f"(enqueue {row['web_enqueue_cpu_ms']:.3f}), worker {row['worker_cpu_ms']:.2f} ms CPU/pred, "
                      f"drain {wall:.2f} s = {row['per_s']:.0f}/s, batch {row['mean_batch']:.1f}, failed {failed}, "
                      f"load {row['load']:.1f}", flush=True)
            finally:
                worker.terminate()
                worker.wait(timeout=120)
    summary = {mode: {key: statistics.median(row[key] for row in rows)
                      for key in ("web_create_cpu_ms", "web_enqueue_cpu_ms", "worker_cpu_ms", "per_s", "mean_batch")}
               for mode, rows in results.items()}
    print("medians:", json.dumps(summary, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps({"rounds": results, "medians": summary}, indent=2))


if __name__ == "__main__":
    main()
