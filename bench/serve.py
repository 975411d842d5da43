"""Serving benchmark of issue 9: the platform against the raw model and a reference peer, in ONE run.

    .venv/bin/python bench/serve.py                 # everything (~15-25 min on 2 cores)
    .venv/bin/python bench/serve.py --quick         # a smoke run with short windows
    .venv/bin/python bench/serve.py --only b,c      # a subset; --profile adds py-spy profiles at 32 clients

Configurations (all on the same 512 deterministic sentences of 30-34 MiniLM tokens):
  (a) raw in-process MiniLM (the project's transformers runtime) at its best batch, and its single-call latency;
  (p) a reference peer: BentoML with adaptive batching in its own venv (bench/peer/.venv, made on first use);
  (b) the platform on PostgreSQL + Redis, batching on (the version's default max_batch_size);
  (c) the same with batching off (max_batch_size 1 on the version);
  (e) the embedded default (SQLite + the embedded broker, `manage.py runplatform`);
  (t) a tiny BERT built here, as a free app (tf) and as a paid app (tp), on the (b) server.
Each runs closed-loop async clients (aiohttp) at 1, 8, 32, 64 and 256 clients, `Prefer: wait=60`, and reports
req/s, p50/p95/p99, errors, 202s, server CPU per request (psutil over the server's process trees) and the mean
batch size (metrics.batch_size of the answers). The targets of issue 9 are computed from the same run.

The platform runs as in production: DEBUG off, SECRET_KEY/ALLOWED_HOSTS set, persistent DB connections,
API_KEY_RATE raised. The script makes its own database (drops and recreates it), migrates, creates users, keys,
apps and versions through the project's services, starts the server processes (the SERVERS table in
bench/serving/servers.py) and stops them at the end. Only loopback addresses are used. The code is the package
bench/serving/, one topic per module; this file is its command line.

Environment: DATABASE_URL (its database NAME is replaced by --db-name), CELERY_BROKER_URL, CACHE_URL for the
PostgreSQL + Redis runs; defaults below.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: `bench.serving` imports

from bench.serving.common import BENCH, ROOT, log  # noqa: E402
from bench.serving.configs import raw_child, raw_combined, run_peer, run_platform, run_raw  # noqa: E402
from bench.serving.platform_setup import setup_child  # noqa: E402
from bench.serving.report import print_table, targets  # noqa: E402
from bench.serving.sentences import make_sentences  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="a,p,b,c,e,t",
                        help="configs to run: a,p,b,c,e,t (t = tf and tp); tf / tp alone work too")
    parser.add_argument("--clients", default="1,8,32,64,256")
    parser.add_argument("--seconds", type=float, default=12.0, help="measured window per level")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each window")
    parser.add_argument("--raw-seconds", type=float, default=4.0, help="per batch size for (a)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s windows, 1 s warm-up")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during an extra 32-client pass")
    parser.add_argument("--db-name", default="modelmarket_bench")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--max-batch", type=int, default=None,
                        help="max_batch_size of the batching-on versions (default: the version's default)")
    parser.add_argument("--peer-max-batch", type=int, default=64)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=16)
    parser.add_argument("--server-pg", default=None, help="force a SERVERS['pg'] entry by name")
    parser.add_argument("--server-embedded", default=None, help="force a SERVERS['embedded'] entry by name")
    parser.add_argument("--ready-timeout", type=float, default=180.0)
    parser.add_argument("--out", default=str(BENCH / "serve-results.json"))
    parser.add_argument("--_raw", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_setup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sentences-file", help=argparse.SUPPRESS)
    parser.add_argument("--spec-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._raw:
        return raw_child(args)
    if args._setup:
        return setup_child(args)
    if args.quick:
        args.seconds, args.warmup, args.raw_seconds = min(args.seconds, 3.0), min(args.warmup, 1.0), 1.5

    from urllib.parse import urlparse

    base_db = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/modelmarket")
    if not base_db.startswith("postgres"):
        base_db = "postgres://postgres@127.0.0.1:5432/modelmarket"
    args.database_url = urlparse(base_db)._replace(path=f"/{args.db_name}").geturl()
    args.broker_url = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    args.cache_url = os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/1")
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    if "t" in only:
        only |= {"tf", "tp"}
    levels = [int(n) for n in args.clients.split(",")]

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    run_dir = ROOT / "var" / "bench-serve"
    run_dir.mkdir(parents=True, exist_ok=True)
    began = time.time()
    sentences, lengths = make_sentences()
    sentences_file = run_dir / "sentences.json"
    sentences_file.write_text(json.dumps(sentences))
    log(f"{len(sentences)} sentences, {min(lengths)}-{max(lengths)} tokens (mean {statistics.mean(lengths):.1f}); "
        f"load average {os.getloadavg()}")
    results: dict = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began)),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()},
        "sentences": {"count": len(sentences), "tokens_min": min(lengths), "tokens_max": max(lengths),
                      "tokens_mean": statistics.mean(lengths)},
        "settings": {"levels": levels, "seconds": args.seconds, "warmup": args.warmup, "prefer": "wait=60",
                     "database": args.database_url, "broker": args.broker_url, "cache": args.cache_url},
        "configs": {},
    }
    try:
        # (a) is measured again before each server: the machine is shared, so every configuration gets a raw
        # figure taken under about the same load, and the targets use the best of them.
        raw_passes: list[dict] = []
        failures = results.setdefault("failures", [])

        def step(name: str, function, *step_args) -> None:
            """A configuration that fails is reported and the run goes on: one run, whatever breaks."""
            try:
                function(*step_args)
            except Exception as exc:  # noqa: BLE001
                log(f"{name} FAILED: {type(exc).__name__}: {str(exc)[-1500:]}")
                failures.append({"step": name, "error": f"{type(exc).__name__}: {str(exc)[-1500:]}"})

        def raw_pass(when: str) -> None:
            if "a" in only:
                raw_passes.append(run_raw(args, sentences_file, when))
                results["configs"]["a"] = raw_combined(raw_passes)

        def peer() -> None:
            results["configs"]["p"] = run_peer(args, sentences, levels, run_dir)

        step("(a) start", raw_pass, "start")
        if "p" in only:
            step("(p)", peer)
        pg_tags = [t for t in ("b", "c", "tf", "tp") if t in only]
        if pg_tags:
            if "p" in only:
                step("(a) before pg", raw_pass, "before pg")
            step("pg platform", run_platform, args, "pg", pg_tags, sentences, levels, run_dir, results)
        if "e" in only:
            if "p" in only or pg_tags:
                step("(a) before embedded", raw_pass, "before embedded")
            step("embedded platform", run_platform, args, "embedded", ["e"], sentences, levels, run_dir, results)
    except KeyboardInterrupt:
        log("interrupted: servers stopped; partial results follow")
        results["interrupted"] = True
    results["targets"] = targets(results)
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    results["minutes"] = round((time.time() - began) / 60, 1)
    results["table"] = print_table(results)
    Path(args.out).write_text(json.dumps(results, indent=2, default=str))
    log(f"JSON: {args.out}; {results['minutes']} min; load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
