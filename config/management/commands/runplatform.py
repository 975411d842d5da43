"""Start the whole platform on this machine: the web server, Celery workers and the scheduler. Ctrl-C stops all.

`make run` (the embedded default) keeps SQLite, but serves with gunicorn (not Django's development server) and, when no
broker is configured, starts a private Redis (Debian's `redis-server`) on a Unix socket under `var/redis/`,
so workers and `Prefer: wait` are pushed to instead of polling files; the filesystem broker is only the
last fallback when no `redis-server` exists. `make serve` (`--production`) runs the same processes on the
PostgreSQL and Redis named by DATABASE_URL / CELERY_BROKER_URL, with worker counts sized for the machine.
"""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def embedded_redis(var_dir: Path) -> tuple[subprocess.Popen | None, str]:
    """A private Redis on a Unix socket under var/redis (append-only file, so queued calls survive a restart)."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None, ""
    folder = var_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    socket_path = folder / "redis.sock"
    socket_path.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [binary, "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700", "--dir", str(folder),
         "--appendonly", "yes", "--save", "", "--logfile", str(folder / "redis.log")],
        start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not socket_path.exists():
        if proc.poll() is not None:
            return None, ""
        time.sleep(0.05)
    if not socket_path.exists():
        proc.terminate()
        return None, ""
    return proc, f"redis+socket://{socket_path}"


class Command(BaseCommand):
    help = "Run the web server and the workers together (`make run`; `make serve` with --production)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--concurrency", type=int, default=16, help="Inference worker threads.")
        parser.add_argument("--production", action="store_true",
                            help="PostgreSQL + Redis from the environment; refuse the embedded defaults.")
        parser.add_argument("--web-workers", type=int, default=0, help="gunicorn processes (0: sized for the CPUs).")

    def handle(self, *args, addr: str, concurrency: int, production: bool, web_workers: int, **options):
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
        cpus = os.cpu_count() or 1
        broker = settings.CELERY_BROKER_URL or ""
        redis_proc = None
        if production:
            if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") or not broker.startswith("redis"):
                raise CommandError("make serve needs DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (redis://...).")
            env.setdefault("DB_CONN_MAX_AGE", "300")
        elif broker.startswith("filesystem://") and "CELERY_BROKER_URL" not in os.environ:
            redis_proc, url = embedded_redis(Path(settings.VAR_DIR.root))
            if redis_proc is not None:
                env["CELERY_BROKER_URL"] = url
                self.stdout.write(f"Broker: a private Redis on {url.removeprefix('redis+socket://')}")
            else:
                self.stdout.write(self.style.WARNING(
                    "No redis-server here: falling back to the filesystem broker (polling; slower)."))
        # SQLite has one writer at a time: a couple of web processes, 16 threads each, are plenty (64 made the
        # embedded default ~13 % slower: bench/serve.py (e), README run 8); PostgreSQL gets one process per core
        # and 64 threads each (a `Prefer: wait` caller holds a thread while it waits).
        sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
        workers = web_workers or (max(2, cpus) if production else 2)
        manage = [sys.executable, "manage.py"]
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        commands = {
            # Inference (one worker per GPU, else one CPU worker on a threads pool so that concurrent
            # predictions meet in the version's batch runner), plus webhooks and housekeeping on the CPU worker.
            "inference": [*manage, "inference_worker", "--extra-queues", "default,webhooks",
                          "--concurrency", str(settings.INFERENCE_WORKER_CONCURRENCY
                                                or max(concurrency, 16 if not production else 8 * cpus))],
            # Training gets a fresh process per job, so every job gives all its memory back.
            "training": [*celery, "worker", "-Q", "training", "-c", "1", "--max-tasks-per-child", "1",
                         "-l", "INFO", "-n", "training@%h"],
            # The scheduler: payouts and the stale-job reaper.
            "beat": [*celery, "beat", "-l", "INFO"],
            # A production WSGI server; threads so that `Prefer: wait` callers do not block each other.
            "web": [sys.executable, "-m", "gunicorn", "config.wsgi", "-k", "gthread", "-w", str(workers),
                    "--threads", str(settings.WEB_THREADS or (16 if sqlite else 64)), "-b", addr,
                    "--access-logfile", "-" if settings.DEBUG else "/dev/null", "--graceful-timeout", "20"],
        }
        # The web processes on PostgreSQL take their connections from a pool (config.database): 64 threads each
        # must not mean 64 connections each.
        web_env = env if sqlite else {"DB_POOL_MAX_SIZE": "16", **env}
        procs = {
            name: subprocess.Popen(command, cwd=settings.BASE_DIR, env=web_env if name == "web" else env,
                                   start_new_session=True)
            for name, command in commands.items()
        }
        if redis_proc is not None:
            procs["redis"] = redis_proc
        self.stdout.write(self.style.SUCCESS(f"\nModelMarket is running at http://{addr}/"))
        self.stdout.write(f"  API docs:  http://{addr}/api/docs/\n  Admin:     http://{addr}/admin/")
        if not production:
            self.stdout.write("  Demo logins are printed by seed_demo above.")
        self.stdout.write("  Press Ctrl-C to stop.\n")

        stopping = False

        def stop(*_args):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in procs.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with {proc.returncode}; stopping.")
                        stopping = True
                time.sleep(0.5)
        finally:
            # The broker last, so the workers can still ack and requeue while they stop.
            ordered = [proc for name, proc in procs.items() if name != "redis"]
            for proc in ordered:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            for proc in ordered:
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
            if redis_proc is not None and redis_proc.poll() is None:
                os.killpg(redis_proc.pid, signal.SIGTERM)
                redis_proc.wait(timeout=10)
            self.stdout.write("Stopped.")
