"""Celery tasks for training: thin wrappers that take ids and call one service each.

The web process imports this module to queue jobs, so the worker code (`training.worker`, which trains) is
imported inside the task body only.
"""
import os
import socket

from celery import shared_task
from django.conf import settings

from . import services

TRAINING_QUEUE = "training"


def training_job_enqueue(*, job_id: int, time_limit: int) -> None:
    """Send the job to the `training` queue; Celery's own limits are a backstop past the job's time limit."""
    training_job_run.apply_async(kwargs={"job_id": job_id}, queue=TRAINING_QUEUE,
                                 soft_time_limit=time_limit + 120, time_limit=time_limit + 240)


@shared_task(bind=True, acks_late=True, max_retries=50, name="training.run_job")
def training_job_run(self, *, job_id: int) -> str:
    from .worker import training_job_run as run

    worker = f"{self.request.hostname or socket.gethostname()}:{os.getpid()}"
    outcome = run(job_id=job_id, worker=worker)
    if outcome == "busy":
        # Another delivery is running it: look again once its heartbeat would have gone stale.
        raise self.retry(countdown=settings.TRAINING_STALE_SECONDS + 5, queue=TRAINING_QUEUE)
    return outcome


@shared_task(acks_late=True, name="training.reap_stale_jobs")
def training_reap_stale_jobs() -> int:
    return services.training_jobs_reap_stale()
