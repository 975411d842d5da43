"""Start inference workers for this machine: one per GPU (pinned with CUDA_VISIBLE_DEVICES), else one CPU worker.

Workers use the threads pool so that concurrent predictions of a version meet in the in-worker batcher.
The work is done by `inference.worker.process`.
"""
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
        from inference.worker.process import run_workers

        sys.exit(run_workers(concurrency=options["concurrency"], cpu_queue=options["cpu_queue"],
                             extra_queues=options["extra_queues"], side_queues=options["side_queues"],
                             loglevel=options["loglevel"], write=self.stdout.write))
