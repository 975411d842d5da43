"""Start the whole platform on this machine: the web server, Celery workers and the scheduler. Ctrl-C stops all."""
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server and a Celery worker together (the README's run command)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--concurrency", type=int, default=16, help="Inference worker threads.")

    def handle(self, *args, addr: str, concurrency: int, **options):
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
        manage = [sys.executable, "manage.py"]
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        commands = {
            # Inference (one worker per GPU, else one CPU worker on a threads pool so that concurrent
            # predictions meet in the batcher), plus webhooks and housekeeping on the CPU worker.
            "inference": [*manage, "inference_worker", "--extra-queues", "default,webhooks",
                          "--concurrency", str(max(concurrency, 16))],
            # Training gets a fresh process per job, so every job gives all its memory back.
            "training": [*celery, "worker", "-Q", "training", "-c", "1", "--max-tasks-per-child", "1",
                         "-l", "INFO", "-n", "training@%h"],
            # The scheduler: payouts and the stale-job reaper.
            "beat": [*celery, "beat", "-l", "INFO"],
            "web": [*manage, "runserver", addr, "--noreload"],
        }
        procs = {
            name: subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, start_new_session=True)
            for name, command in commands.items()
        }
        self.stdout.write(self.style.SUCCESS(f"\nModelMarket is running at http://{addr}/"))
        self.stdout.write(f"  API docs:  http://{addr}/api/docs/\n  Admin:     http://{addr}/admin/")
        self.stdout.write("  Demo logins are printed by seed_demo above. Press Ctrl-C to stop.\n")

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
            for proc in procs.values():
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            for proc in procs.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
            self.stdout.write("Stopped.")
