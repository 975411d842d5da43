"""Start inference workers for this machine: one per GPU (pinned with CUDA_VISIBLE_DEVICES), else one CPU worker.

Workers use the threads pool so that concurrent predictions of a version meet in the in-worker batcher.
"""
import os
import signal
import subprocess
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Detect devices and start the inference worker(s) serving the matching queues."

    def add_arguments(self, parser):
        parser.add_argument("--concurrency", type=int, default=64, help="Threads per worker (batching needs many).")
        parser.add_argument("--cpu-queue", action="store_true", help="Also serve inference-cpu on a GPU machine.")
        parser.add_argument("--extra-queues", default="", help="Comma-separated queues for the CPU worker.")
        parser.add_argument("--side-queues", default="webhooks,validation",
                            help="Queues served by a separate worker process (empty: none).")
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args, **options):
        from inference.runtimes import detect_devices

        devices = detect_devices()
        gpus = devices["torch_cuda"]
        self.stdout.write(f"devices: {devices}")
        commands = []
        base = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "threads",
                "-c", str(options["concurrency"]), "-l", options["loglevel"], "--without-gossip", "--without-mingle"]
        for index in range(gpus):
            env = {**os.environ, "CUDA_VISIBLE_DEVICES": str(index), "MODELMARKET_INFERENCE_DEVICE": "cuda:0"}
            commands.append((base + ["-Q", "inference-gpu", "-n", f"gpu{index}@%h"], env))
        if not gpus or options["cpu_queue"]:
            queues = ",".join(q for q in ["inference-cpu", *options["extra_queues"].split(",")] if q)
            env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "MODELMARKET_INFERENCE_DEVICE": "cpu"}
            commands.append((base + ["-Q", queues, "-n", "cpu@%h"], env))
        if options["side_queues"]:
            # Webhook deliveries and artifact validation: their own process, so they never take a prediction
            # thread (validation loads each model in a sandboxed child of its own, see inference/sandbox.py).
            env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "MODELMARKET_INFERENCE_DEVICE": "cpu"}
            commands.append(([sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "threads", "-c", "4",
                              "-l", options["loglevel"], "--without-gossip", "--without-mingle",
                              "-Q", options["side_queues"], "-n", "side@%h"], env))
        processes = [subprocess.Popen(command, env=env) for command, env in commands]

        def forward(signum, _frame):
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        codes = [process.wait() for process in processes]
        sys.exit(max(codes) if codes else 0)
