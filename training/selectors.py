"""Reads for training: who sees which dataset and job, which versions can be a base, what a job would cost."""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from billing import contract as billing
from marketplace.models import AppVersion, Framework, Task, VersionStatus

from .datasets import parse_dataset, split_rows
from .models import Dataset, JobStatus, TrainingJob

TRAINABLE_TASKS: dict[str, tuple[str, ...]] = {
    Framework.TRANSFORMERS: (Task.FEATURE_EXTRACTION, Task.TEXT_CLASSIFICATION),
    Framework.KERAS: (Task.TEXT_CLASSIFICATION,),
}
SIX_PLACES = Decimal("0.000001")


def datasets_for(*, user: User | AnonymousUser | None) -> QuerySet[Dataset]:
    return Dataset.objects.visible_to(user)


def dataset_get(*, user: User | AnonymousUser | None, pk: int | str) -> Dataset:
    """Someone else's dataset raises DoesNotExist (answered 404), exactly like a missing one."""
    return Dataset.objects.visible_to(user).get(pk=pk)


def jobs_for(*, user: User | AnonymousUser | None) -> QuerySet[TrainingJob]:
    return TrainingJob.objects.visible_to(user).select_related("base_version__app", "dataset", "published_version")


def job_get(*, user: User | AnonymousUser | None, pk: int | str) -> TrainingJob:
    return jobs_for(user=user).get(pk=pk)


def base_versions_for(*, user: User | AnonymousUser | None) -> QuerySet[AppVersion]:
    """Ready versions of the user's own apps that can take a classification head.

    Only your own apps: a result artifact is downloadable by its trainer, so training on someone else's
    weights would hand them out.
    """
    if user is None or not user.is_authenticated:
        return AppVersion.objects.none()
    queryset = AppVersion.objects.none()
    for framework, tasks in TRAINABLE_TASKS.items():
        queryset |= AppVersion.objects.filter(framework=framework, task__in=tasks)
    return (queryset.filter(app__owner=user, status=VersionStatus.READY)
            .select_related("app").order_by("app__name", "-created_at"))


def dataset_rows(*, dataset: Dataset) -> list[tuple[str, str]]:
    with dataset.file.open("rb") as handle:
        return parse_dataset(handle.read(), dataset.file.name or "").rows


def dataset_split(*, dataset: Dataset, rows: list[tuple[str, str]] | None = None,
                  ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The dataset's train/validation split: the same rows, fraction and seed always give the same split."""
    rows = dataset_rows(dataset=dataset) if rows is None else rows
    return split_rows(rows, validation_fraction=dataset.validation_fraction, seed=dataset.seed)


def training_price_per_second(*, hardware: str) -> Decimal:
    """What a compute second of training costs the developer: billing's rate (the one place prices are made)."""
    return billing.training_rate(hardware)


@dataclass(frozen=True)
class Estimate:
    seconds: int
    price: Decimal
    currency: str
    hardware: str
    steps: int

    def as_dict(self) -> dict[str, Any]:
        return {"estimated_seconds": self.seconds, "price": f"{self.price:.6f}", "currency": self.currency,
                "hardware": self.hardware, "steps": self.steps}


def training_estimate(*, base_version: AppVersion, dataset: Dataset, hyperparameters: dict[str, Any]) -> Estimate:
    """Compute seconds from model size, tokens and epochs: ~6 FLOPs per parameter per token, plus loading.

    Deliberately rough and on the high side; the job is settled on the seconds it really used.
    """
    hardware = base_version.hardware
    train_rows = dataset.train_rows or dataset.rows
    val_rows = dataset.validation_rows
    epochs = int(hyperparameters["epochs"])
    steps = epochs * max(1, math.ceil(train_rows / int(hyperparameters["batch_size"])))
    if base_version.framework == Framework.KERAS:
        seconds = 15 + epochs * (train_rows + val_rows) * 0.002
    else:
        parameters = max(base_version.size / 4, 5e6) if base_version.size else 25e6
        tokens = min(int(hyperparameters["max_length"]), int(dataset.mean_words * 1.5) + 8)
        flops = 6 * parameters * tokens * epochs * (train_rows + val_rows / 3)
        throughput = 4e12 if hardware == "gpu" else 3e10  # effective FLOP/s, measured with bench/training.py
        seconds = 20 + flops / throughput
    seconds = int(math.ceil(seconds))
    price = billing.training_price(seconds=seconds, hardware=hardware)
    return Estimate(seconds=seconds, price=price, currency=settings.CURRENCY, hardware=hardware,
                    steps=steps)


def jobs_stale(*, now: datetime | None = None) -> QuerySet[TrainingJob]:
    """Running jobs whose worker stopped beating, and queued jobs no worker ever took."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.TRAINING_STALE_SECONDS)
    queued_too_long = now - timedelta(seconds=settings.TRAINING_QUEUE_TIMEOUT_SECONDS)
    running = TrainingJob.objects.filter(status=JobStatus.RUNNING)
    return (running.filter(heartbeat_at__lt=stale) | running.filter(heartbeat_at__isnull=True, started_at__lt=stale)
            | TrainingJob.objects.filter(status=JobStatus.QUEUED, created_at__lt=queued_too_long))


@dataclass
class QueueInfo:
    """Where a queued job stands: its place in line, whether a training worker is up, and a rough start/finish."""

    position: int  # 1 = next to start
    running: int
    workers: bool | None  # None: could not tell (e.g. a broker without broadcast)
    eta_seconds: int  # until it finishes, from the estimates of the jobs ahead and its own


def training_workers_available() -> bool | None:
    """Is any worker consuming the `training` queue? Asked over the broker, cached for 20 s (the page polls)."""
    cached = cache.get("training-workers-available")
    if cached is not None:
        return None if cached == "unknown" else cached == "yes"
    try:
        from config.celery import app

        queues = app.control.inspect(timeout=0.5).active_queues() or {}
        answer = any(queue.get("name") == "training" for worker in queues.values() for queue in worker)
        cache.set("training-workers-available", "yes" if answer else "no", 20)
        return answer
    except Exception:  # noqa: BLE001 - the broker may not support broadcast: say nothing rather than guess
        cache.set("training-workers-available", "unknown", 20)
        return None


def job_queue_info(*, job: TrainingJob) -> QueueInfo | None:
    """For a queued job: its position among queued jobs on the same hardware, and an ETA; None otherwise."""
    if job.status != JobStatus.QUEUED:
        return None
    same = TrainingJob.objects.filter(hardware=job.hardware)
    ahead = list(same.filter(status=JobStatus.QUEUED, created_at__lt=job.created_at)
                 .values_list("estimated_seconds", flat=True))
    running = list(same.filter(status=JobStatus.RUNNING).values_list("estimated_seconds", "compute_seconds"))
    remaining_running = sum(max(0, int(estimate or 0) - int(done or 0)) for estimate, done in running)
    eta = remaining_running + sum(int(seconds or 0) for seconds in ahead) + int(job.estimated_seconds or 0)
    return QueueInfo(position=len(ahead) + 1, running=len(running), workers=training_workers_available(),
                     eta_seconds=eta)
