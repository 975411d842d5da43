"""Training jobs, web side: check the hyperparameters, create and bill-hold a job, cancel it, reap stale ones.

The run itself is the worker's (`training.worker`); closing a job (`job_finish`) is shared by both sides.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from billing import contract as billing
from config.errors import Conflict, InvalidInput, PermissionDenied
from marketplace.models import AppVersion, Framework, VersionStatus

from .. import selectors
from ..models import Dataset, DatasetStatus, JobStatus, TrainingJob
from ..spec import HYPERPARAMETERS
from .datasets import require_developer

LOG_LIMIT = 64 * 1024


def log_line(message: str) -> str:
    return f"[{timezone.now():%H:%M:%S}] {message}\n"


def append_log(logs: str, message: str) -> str:
    logs = logs + log_line(message)
    return logs[-LOG_LIMIT:]


def job_finish(job: TrainingJob, status: str, message: str, *, error: str = "") -> None:
    """Close a job (already locked) and settle or release its billing hold, exactly once."""
    job.status = status
    job.error = error
    job.finished_at = timezone.now()
    if job.started_at:
        job.compute_seconds = Decimal(str(round((job.finished_at - job.started_at).total_seconds(), 3)))
    job.logs = append_log(job.logs, message)
    job.save()
    if status == JobStatus.SUCCEEDED:
        billing.training_settle(job=job, compute_seconds=job.compute_seconds)
    else:
        billing.training_release(job=job)


def hyperparameters_clean(*, framework: str, raw: Any) -> dict[str, Any]:
    """Defaults per framework, bounds for every value, unknown names refused: one error per field."""
    raw = raw or {}
    if not isinstance(raw, dict):
        message = _("Hyperparameters must be an object.")
        raise InvalidInput(message, fields={"hyperparameters": [message]})
    column = 3 if framework == Framework.TRANSFORMERS else 4
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name in raw:
        if name not in HYPERPARAMETERS:
            errors[f"hyperparameters.{name}"] = [_("Unknown hyperparameter. Known: %(names)s.")
                                                 % {"names": ", ".join(HYPERPARAMETERS)}]
    for name, spec in HYPERPARAMETERS.items():
        kind, low, high = spec[0], spec[1], spec[2]
        value = raw.get(name)
        if value in (None, ""):
            cleaned[name] = spec[column]
            continue
        try:
            if isinstance(value, bool):
                raise ValueError
            number = kind(value) if kind is float else int(str(value))
            if kind is float and not math.isfinite(number):  # NaN, inf
                raise ValueError
        except (TypeError, ValueError, OverflowError):  # OverflowError: float() of a 400-digit int
            errors[f"hyperparameters.{name}"] = [_("Enter a number.")]
            continue
        if not low <= number <= high:
            errors[f"hyperparameters.{name}"] = [_("Must be between %(low)s and %(high)s.")
                                                 % {"low": low, "high": high}]
            continue
        cleaned[name] = number
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], fields=errors)
    return cleaned


def _check_base(base_version: AppVersion) -> None:
    allowed = selectors.TRAINABLE_TASKS.get(base_version.framework, ())
    if base_version.status != VersionStatus.READY:
        message = _("The base version must be ready (validated) first.")
        raise InvalidInput(message, fields={"base_version": [message]})
    if base_version.task not in allowed:
        message = _("Fine-tuning needs a transformers encoder (feature extraction or text classification) or a Keras "
                    "text classifier; this version is a %(framework)s %(task)s model.") % {
            "framework": base_version.framework, "task": base_version.task}
        raise InvalidInput(message, fields={"base_version": [message]})


@transaction.atomic
def training_job_create(*, owner: User, base_version: AppVersion, dataset: Dataset,
                        hyperparameters: dict[str, Any] | None, time_limit_seconds: Any = None) -> TrainingJob:
    """Create and bill-hold a job, then queue it on the `training` queue once the transaction commits."""
    require_developer(owner)
    if base_version.app.owner_id != owner.pk:
        raise PermissionDenied(_("You can only fine-tune versions of your own apps."))
    if dataset.owner_id != owner.pk:
        raise PermissionDenied(_("You can only train on your own datasets."))
    _check_base(base_version)
    if dataset.status != DatasetStatus.READY:
        message = _("This dataset is invalid: %(error)s") % {"error": dataset.error}
        raise InvalidInput(message, fields={"dataset": [message]})
    params = hyperparameters_clean(framework=base_version.framework, raw=hyperparameters)
    max_limit = settings.TRAINING_MAX_TIME_LIMIT_SECONDS
    limit = settings.TRAINING_TIME_LIMIT_SECONDS
    if time_limit_seconds not in (None, ""):
        try:
            limit = int(time_limit_seconds)
        except (TypeError, ValueError):
            limit = 0
        if not 10 <= limit <= max_limit:
            message = _("The time limit must be between 10 and %(max)d seconds.") % {"max": max_limit}
            raise InvalidInput(message, fields={"time_limit_seconds": [message]})
    active = TrainingJob.objects.filter(owner=owner).active().count()
    if active >= settings.TRAINING_MAX_ACTIVE_JOBS:
        raise Conflict(_("You already have %(n)d jobs queued or running; wait for one to finish.") % {"n": active},
                       code="too_many_jobs")
    estimate = selectors.training_estimate(base_version=base_version, dataset=dataset, hyperparameters=params)
    job = TrainingJob.objects.create(
        owner=owner, base_version=base_version, dataset=dataset, hyperparameters=params,
        framework=base_version.framework, hardware=base_version.hardware, total_steps=estimate.steps,
        estimated_seconds=estimate.seconds, estimated_cost=estimate.price, currency=estimate.currency,
        time_limit_seconds=min(limit, max_limit),
        history={"loss": [], "epochs": []},
        logs=log_line(_("Queued on the training queue; estimated %(s)d s, %(price)s %(currency)s.")
                      % {"s": estimate.seconds, "price": estimate.price, "currency": estimate.currency.upper()}),
    )
    admission = billing.training_admit(job=job, estimated_seconds=Decimal(estimate.seconds))
    if admission.price and admission.price != job.estimated_cost:
        job.estimated_cost = admission.price
        job.save(update_fields=["estimated_cost"])
    from ..tasks import training_job_enqueue

    transaction.on_commit(lambda: training_job_enqueue(job_id=job.pk, time_limit=job.time_limit_seconds))
    return job


@transaction.atomic
def training_job_cancel(*, job: TrainingJob, actor: User) -> TrainingJob:
    """Queued jobs stop at once; running ones get a flag that the worker checks between steps."""
    job = TrainingJob.objects.select_for_update().get(pk=job.pk)
    if job.owner_id != actor.pk:
        raise PermissionDenied(_("Only the job's owner can cancel it."))
    if job.status == JobStatus.CANCELED:
        return job
    if job.is_final:
        raise Conflict(_("The job already finished (%(status)s).") % {"status": job.get_status_display()},
                       code="job_finished")
    now = timezone.now()
    job.cancel_requested_at = job.cancel_requested_at or now
    fields = ["cancel_requested_at"]
    stale = now - timedelta(seconds=settings.TRAINING_STALE_SECONDS)
    if job.status == JobStatus.QUEUED or (job.heartbeat_at and job.heartbeat_at < stale):
        job_finish(job, JobStatus.CANCELED, _("Canceled by the developer."))
        return job
    job.logs = append_log(job.logs, _("Cancel requested; the worker stops at the next step."))
    job.save(update_fields=[*fields, "logs"])
    return job


@transaction.atomic
def training_jobs_reap_stale(*, now: datetime | None = None) -> int:
    """Fail jobs whose worker stopped beating (died, killed, lost) and jobs no worker ever picked up."""
    count = 0
    for job in selectors.jobs_stale(now=now).select_for_update(skip_locked=True):
        if job.status == JobStatus.RUNNING:
            since = job.heartbeat_at or job.started_at
            error = _("The worker running this job stopped responding (last heartbeat %(when)s UTC). The job was "
                      "marked failed and you were not charged for it; start it again.") % {"when": f"{since:%H:%M:%S}"}
        else:
            error = _("No training worker picked up this job in time. Try again later.")
        job_finish(job, JobStatus.FAILED, error, error=error)
        count += 1
    return count
