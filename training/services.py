"""Writes for training: datasets, jobs and their lifecycle, the worker's run, the reaper, publishing."""
import hashlib
import logging
import math
import shutil
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from billing import services as billing
from config.api import ApiError, Conflict
from inference.services import version_upload
from marketplace.models import App, AppVersion, Framework, Task, VersionStatus

from . import selectors
from .datasets import DatasetError, parse_dataset, split_rows
from .models import Dataset, DatasetStatus, JobStatus, TrainingJob
from .trainer import HYPERPARAMETERS, TrainingRefused, TrainingStopped

logger = logging.getLogger(__name__)
LOG_LIMIT = 64 * 1024
MAX_LOSS_POINTS = 400


def _require_developer(user: User) -> None:
    if not (user and user.is_authenticated and user.is_developer):
        raise PermissionDenied(_("Become a developer first: accept the developer terms."))


def _clean_split(validation_fraction, seed) -> tuple[Decimal, int]:
    errors = {}
    try:
        fraction = Decimal(str(validation_fraction)).quantize(Decimal("0.001"))
        if not Decimal("0.05") <= fraction <= Decimal("0.5"):
            raise ValueError
    except (ValueError, ArithmeticError):
        errors["validation_fraction"] = [_("The validation share must be between 0.05 and 0.5.")]
        fraction = Decimal("0.2")
    try:
        seed = int(seed)
        if not 0 <= seed < 2**31:
            raise ValueError
    except (TypeError, ValueError):
        errors["seed"] = [_("The seed must be a whole number between 0 and 2147483647.")]
    if errors:
        raise ValidationError(errors)
    return fraction, seed


@transaction.atomic
def dataset_create(*, owner: User, file, name: str = "", validation_fraction="0.2", seed=42) -> Dataset:
    """Store the file privately and record its validation report.

    A dataset with content problems is kept with status `invalid` and its error, so the owner sees the
    report; a file over the size limit is refused before anything is read or stored.
    """
    _require_developer(owner)
    fraction, seed = _clean_split(validation_fraction, seed)
    max_bytes = int(selectors.conf("MAX_DATASET_BYTES", 20 * 1024 * 1024))
    if file.size is not None and file.size > max_bytes:
        raise ApiError(_("The file is %(size)d bytes; datasets can be at most %(max)d bytes.")
                       % {"size": file.size, "max": max_bytes}, code="too_large", status_code=413,
                       fields={"file": [_("File too large.")]})
    file.seek(0)
    raw = file.read()
    filename = Path(getattr(file, "name", "") or "dataset.csv").name
    dataset = Dataset(owner=owner, name=(name or filename)[:200], size=len(raw),
                      sha256=hashlib.sha256(raw).hexdigest(), validation_fraction=fraction, seed=seed)
    try:
        report = parse_dataset(raw, filename)
    except DatasetError as exc:
        dataset.status = DatasetStatus.INVALID
        dataset.error_code = exc.code
        dataset.error = exc.message
        report = exc.report
        if exc.code == "too_large":
            raise ApiError(exc.message, code="too_large", status_code=413, fields={"file": [exc.message]}) from None
    else:
        dataset.status = DatasetStatus.READY
    if report is not None:
        dataset.format = report.format
        dataset.total_rows = report.total_rows
        dataset.empty_rows = report.empty_rows
        dataset.duplicate_rows = report.duplicate_rows
        dataset.conflicting_rows = report.conflicting_rows
        dataset.labels = report.labels
        dataset.rows = report.usable_rows
        if report.rows:
            dataset.mean_words = round(sum(len(t.split()) for t, _ in report.rows) / len(report.rows), 2)
        if dataset.status == DatasetStatus.READY:
            train, validation = split_rows(report.rows, validation_fraction=fraction, seed=seed)
            dataset.train_rows, dataset.validation_rows = len(train), len(validation)
    dataset.file.save(filename, ContentFile(raw), save=False)
    dataset.save()
    return dataset


@transaction.atomic
def dataset_set_split(*, dataset: Dataset, validation_fraction, seed) -> Dataset:
    """Change the split; jobs already started keep the split they were given (it is in their model card)."""
    fraction, seed = _clean_split(validation_fraction, seed)
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    dataset.validation_fraction, dataset.seed = fraction, seed
    if dataset.status == DatasetStatus.READY:
        train, validation = selectors.dataset_split(dataset=dataset)
        dataset.train_rows, dataset.validation_rows = len(train), len(validation)
    dataset.save(update_fields=["validation_fraction", "seed", "train_rows", "validation_rows"])
    return dataset


@transaction.atomic
def dataset_delete(*, dataset: Dataset) -> None:
    if dataset.jobs.exists():
        raise Conflict(_("This dataset was used by training jobs; it is kept for their model cards."),
                       code="dataset_in_use")
    dataset.file.delete(save=False)
    dataset.delete()


def hyperparameters_clean(*, framework: str, raw: dict | None) -> dict:
    """Defaults per framework, bounds for every value, unknown names refused: one error per field."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ValidationError({"hyperparameters": [_("Hyperparameters must be an object.")]})
    column = 3 if framework == Framework.TRANSFORMERS else 4
    cleaned, errors = {}, {}
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
        raise ValidationError(errors)
    return cleaned


def _check_base(base_version: AppVersion) -> None:
    allowed = selectors.TRAINABLE_TASKS.get(base_version.framework, ())
    if base_version.status != VersionStatus.READY:
        raise ValidationError({"base_version": [_("The base version must be ready (validated) first.")]})
    if base_version.task not in allowed:
        raise ValidationError({"base_version": [_(
            "Fine-tuning needs a transformers encoder (feature extraction or text classification) or a Keras "
            "text classifier; this version is a %(framework)s %(task)s model.")
            % {"framework": base_version.framework, "task": base_version.task}]})


@transaction.atomic
def training_job_create(*, owner: User, base_version: AppVersion, dataset: Dataset, hyperparameters: dict | None,
                        time_limit_seconds: int | None = None) -> TrainingJob:
    """Create and bill-hold a job, then queue it on the `training` queue once the transaction commits."""
    _require_developer(owner)
    if base_version.app.owner_id != owner.pk:
        raise PermissionDenied(_("You can only fine-tune versions of your own apps."))
    if dataset.owner_id != owner.pk:
        raise PermissionDenied(_("You can only train on your own datasets."))
    _check_base(base_version)
    if dataset.status != DatasetStatus.READY:
        raise ValidationError({"dataset": [_("This dataset is invalid: %(error)s") % {"error": dataset.error}]})
    params = hyperparameters_clean(framework=base_version.framework, raw=hyperparameters)
    max_limit = int(selectors.conf("TRAINING_MAX_TIME_LIMIT_SECONDS", 6 * 3600))
    limit = int(selectors.conf("TRAINING_TIME_LIMIT_SECONDS", 3600))
    if time_limit_seconds not in (None, ""):
        try:
            limit = int(time_limit_seconds)
        except (TypeError, ValueError):
            limit = 0
        if not 10 <= limit <= max_limit:
            raise ValidationError({"time_limit_seconds": [_("The time limit must be between 10 and %(max)d seconds.")
                                                          % {"max": max_limit}]})
    active = TrainingJob.objects.filter(owner=owner).active().count()
    if active >= int(selectors.conf("TRAINING_MAX_ACTIVE_JOBS", 3)):
        raise Conflict(_("You already have %(n)d jobs queued or running; wait for one to finish.") % {"n": active},
                       code="too_many_jobs")
    estimate = selectors.training_estimate(base_version=base_version, dataset=dataset, hyperparameters=params)
    job = TrainingJob.objects.create(
        owner=owner, base_version=base_version, dataset=dataset, hyperparameters=params,
        framework=base_version.framework, hardware=base_version.hardware, total_steps=estimate.steps,
        estimated_seconds=estimate.seconds, estimated_cost=estimate.price, currency=estimate.currency,
        time_limit_seconds=min(limit, max_limit),
        history={"loss": [], "epochs": []},
        logs=_log_line(_("Queued on the training queue; estimated %(s)d s, %(price)s %(currency)s.")
                       % {"s": estimate.seconds, "price": estimate.price, "currency": estimate.currency.upper()}),
    )
    admission = billing.training_admit(job=job, estimated_seconds=Decimal(estimate.seconds))
    if admission.price and admission.price != job.estimated_cost:
        job.estimated_cost = admission.price
        job.save(update_fields=["estimated_cost"])
    from .tasks import training_job_enqueue

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
    stale = now - timedelta(seconds=int(selectors.conf("TRAINING_STALE_SECONDS", 120)))
    if job.status == JobStatus.QUEUED or (job.heartbeat_at and job.heartbeat_at < stale):
        _finish(job, JobStatus.CANCELED, _("Canceled by the developer."))
        return job
    job.logs = _append_log(job.logs, _("Cancel requested; the worker stops at the next step."))
    job.save(update_fields=[*fields, "logs"])
    return job


def _log_line(message: str) -> str:
    return f"[{timezone.now():%H:%M:%S}] {message}\n"


def _append_log(logs: str, message: str) -> str:
    logs = logs + _log_line(message)
    return logs[-LOG_LIMIT:]


def _finish(job: TrainingJob, status: str, message: str, *, error: str = "") -> None:
    """Close a job (already locked) and settle or release its billing hold, exactly once."""
    job.status = status
    job.error = error
    job.finished_at = timezone.now()
    if job.started_at:
        job.compute_seconds = Decimal(str(round((job.finished_at - job.started_at).total_seconds(), 3)))
    job.logs = _append_log(job.logs, message)
    job.save()
    if status == JobStatus.SUCCEEDED:
        billing.training_settle(job=job, compute_seconds=job.compute_seconds)
    else:
        billing.training_release(job=job)


# --- The worker side ---------------------------------------------------------------------------------------


@transaction.atomic
def training_job_claim(*, job_id: int, worker: str) -> str:
    """Decide what a delivery of the job's task should do: `run`, `done` (nothing to do) or `busy`.

    `busy` means another worker's heartbeat is fresh (a duplicate delivery): the task retries later, and
    takes over only if that worker has died. A job whose worker died is restarted once, then failed.
    """
    job = TrainingJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.is_final:
        return "done"
    now = timezone.now()
    if job.cancel_requested_at:
        _finish(job, JobStatus.CANCELED, _("Canceled before training started."))
        return "done"
    if job.status == JobStatus.RUNNING:
        stale = now - timedelta(seconds=int(selectors.conf("TRAINING_STALE_SECONDS", 120)))
        if job.heartbeat_at and job.heartbeat_at >= stale:
            return "busy"
        if job.attempts >= int(selectors.conf("TRAINING_MAX_ATTEMPTS", 2)):
            _finish(job, JobStatus.FAILED, _("Failed: the worker was lost again."),
                    error=_("The worker running this job stopped (it was lost %(n)d times). Start the job again.")
                    % {"n": job.attempts})
            return "done"
        job.logs = _append_log(job.logs, _("The previous worker was lost; restarting from the beginning."))
    job.status = JobStatus.RUNNING
    job.attempts += 1
    job.worker = worker[:200]
    job.started_at = now
    job.heartbeat_at = now
    job.progress, job.step, job.epoch = 0.0, 0, 0
    job.metrics, job.history = {}, {"loss": [], "epochs": []}
    job.logs = _append_log(job.logs, _("Started on %(worker)s (attempt %(n)d).")
                           % {"worker": worker, "n": job.attempts})
    job.save()
    return "run"


class JobReporter:
    """Writes progress to the job row (throttled) and stops the loop on cancel, time limit or a reaped job.

    Every write is conditional on the job still being `running`, so a reaper's or a cancel's decision is
    never overwritten by a late worker.
    """

    def __init__(self, job: TrainingJob, *, interval: float = 0.5):
        self.job_id = job.pk
        self.deadline = time.monotonic() + job.time_limit_seconds
        self.time_limit = job.time_limit_seconds
        self.interval = interval
        self.last_write = 0.0
        self.pending_loss: list[list] = []
        self.pending_logs: list[str] = []
        self.state = {"step": 0, "total": job.total_steps, "epoch": 0, "loss": None}
        self.history = {"loss": [], "epochs": []}
        self.metrics: dict = {}

    def log(self, line: str) -> None:
        self.pending_logs.append(_log_line(line))
        self.flush(force=True)

    def step(self, *, step: int, total_steps: int, epoch: int, loss: float) -> None:
        self.state.update(step=step, total=total_steps, epoch=epoch, loss=loss)
        self.pending_loss.append([step, round(loss, 5)])
        if time.monotonic() > self.deadline:
            raise TrainingStopped("time_limit")
        self.flush(force=step == total_steps)

    def epoch_end(self, *, epoch: int, loss: float, eval_loss: float, eval_accuracy: float) -> None:
        self.metrics = {"epoch": epoch, "loss": loss, "eval_loss": eval_loss, "eval_accuracy": eval_accuracy}
        self.history["epochs"].append({"epoch": epoch, "step": self.state["step"], **self.metrics})
        self.pending_logs.append(_log_line(
            f"epoch {epoch}: loss {loss:.4f}, validation loss {eval_loss:.4f}, "
            f"validation accuracy {eval_accuracy:.2%}"))
        self.flush(force=True)

    def flush(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < self.interval:
            return
        self.last_write = now
        self.history["loss"].extend(self.pending_loss)
        if len(self.history["loss"]) > MAX_LOSS_POINTS:
            # Keep the chart light: thin old points, never the latest ones.
            self.history["loss"] = self.history["loss"][::2]
        if self.state["loss"] is not None:
            self.pending_logs.append(_log_line(
                f"epoch {self.state['epoch']} step {self.state['step']}/{self.state['total']} "
                f"loss {self.state['loss']:.4f}"))
        self.pending_loss = []
        with transaction.atomic():
            job = TrainingJob.objects.select_for_update().filter(pk=self.job_id).first()
            if job is None or job.status != JobStatus.RUNNING:
                raise TrainingStopped("lost", _("The job is no longer running."))
            if job.cancel_requested_at:
                raise TrainingStopped("canceled")
            total = max(1, self.state["total"])
            job.step, job.total_steps, job.epoch = self.state["step"], total, self.state["epoch"]
            job.progress = min(1.0, self.state["step"] / total)
            metrics = dict(self.metrics)
            if self.state["loss"] is not None:
                metrics["loss"] = round(self.state["loss"], 6)
                metrics.setdefault("epoch", self.state["epoch"])
            metrics["epoch"] = max(metrics.get("epoch", 0), self.state["epoch"])
            metrics.setdefault("eval_accuracy", None)
            job.metrics = metrics
            job.history = self.history
            job.heartbeat_at = timezone.now()
            job.logs = (job.logs + "".join(self.pending_logs))[-LOG_LIMIT:]
            self.pending_logs = []
            job.save(update_fields=["step", "total_steps", "epoch", "progress", "metrics", "history", "heartbeat_at",
                                    "logs"])


def _work_root() -> Path:
    root = Path(selectors.conf("TRAINING_WORK_DIR", Path(tempfile.gettempdir()) / "modelmarket-training"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def _base_labels(version: AppVersion) -> list[str]:
    for source in (version.model_card, version.output_schema, version.metrics):
        labels = (source or {}).get("labels") if isinstance(source, dict) else None
        if isinstance(labels, list) and all(isinstance(label, str) for label in labels):
            return labels
    return []


def _prepare_base(version: AppVersion, root: Path) -> Path:
    from inference.artifacts import ArtifactRefused, prepare_local

    sha = version.sha256
    if not sha:
        with version.artifact.open("rb") as handle:
            sha = hashlib.sha256(handle.read()).hexdigest()
    try:
        with version.artifact.open("rb") as handle:
            return prepare_local(source=handle, sha256=sha, framework=version.framework, cache_root=root / "bases")
    except ArtifactRefused as exc:
        raise TrainingRefused(_("The base artifact was refused: %(reason)s") % {"reason": exc}) from exc


def _check_result(path: Path, *, framework: str, labels: list[str], samples: list[str], device: str) -> None:
    """The same checks as an upload: format and safety, then a real load and a prediction."""
    from inference.artifacts import ArtifactRefused, check_keras_file, check_transformers_folder, zip_extract
    from inference.runtimes import ModelRefused, load

    with tempfile.TemporaryDirectory(dir=_work_root()) as scratch:
        try:
            if framework == Framework.KERAS:
                check_keras_file(path)
                target = path
            else:
                target = zip_extract(path, Path(scratch) / "model")
                check_transformers_folder(target)
            predictor = load(str(target), framework=framework, task=Task.TEXT_CLASSIFICATION, device=device,
                             labels=labels)
            outputs = predictor.predict([{"text": text} for text in samples])
        except (ArtifactRefused, ModelRefused) as exc:
            raise TrainingRefused(_("The trained artifact failed validation: %(reason)s") % {"reason": exc}) from exc
        names = {entry["label"] for output in outputs for entry in output["labels"]}
        if not names <= set(labels):
            raise TrainingRefused(_("The trained artifact answers unknown labels: %(names)s")
                                  % {"names": ", ".join(sorted(names))})
        del predictor


def training_job_run(*, job_id: int, worker: str = "") -> str:
    """The worker's whole run: claim, train, check the artifact, store it, settle. Answers the claim result."""
    from .trainer import TrainSpec, pick_device, train

    claim = training_job_claim(job_id=job_id, worker=worker)
    if claim != "run":
        return claim
    job = TrainingJob.objects.select_related("base_version__app", "dataset").get(pk=job_id)
    reporter = JobReporter(job)
    work = Path(tempfile.mkdtemp(prefix=f"job{job.pk}-", dir=_work_root()))
    started = time.monotonic()
    try:
        device = pick_device() if selectors.conf("TRAINING_USE_GPU", True) else "cpu"
        rows = selectors.dataset_rows(dataset=job.dataset)
        train_rows, validation_rows = split_rows(rows, validation_fraction=job.dataset.validation_fraction,
                                                 seed=job.dataset.seed)
        labels = sorted(job.dataset.labels) if job.dataset.labels else sorted({label for _, label in rows})
        reporter.log(_("Dataset %(name)s: %(train)d training rows, %(val)d validation rows (seed %(seed)d).")
                     % {"name": job.dataset.name, "train": len(train_rows), "val": len(validation_rows),
                        "seed": job.dataset.seed})
        base_path = _prepare_base(job.base_version, _work_root())
        spec = TrainSpec(framework=job.framework, base_path=base_path, train=train_rows, validation=validation_rows,
                         labels=labels, hyperparameters=job.hyperparameters, output_dir=work, device=device,
                         base_labels=_base_labels(job.base_version))
        result = train(spec, reporter)
        reporter.log(_("Training done; checking the artifact like an upload."))
        _check_result(result.artifact_path, framework=job.framework, labels=result.labels,
                      samples=[text for text, _ in validation_rows[:4]], device=device)
        _store_result(job_id=job.pk, result=result, train_rows=len(train_rows), validation_rows=len(validation_rows),
                      seconds=time.monotonic() - started, device=device)
        return "succeeded"
    except TrainingStopped as stop:
        _stop(job_id=job.pk, reason=stop.reason)
        return stop.reason
    except TrainingRefused as exc:
        _fail(job_id=job.pk, error=str(exc))
        return "failed"
    except Exception as exc:
        from celery.exceptions import SoftTimeLimitExceeded

        if isinstance(exc, SoftTimeLimitExceeded):
            _stop(job_id=job.pk, reason="time_limit")
            return "time_limit"
        logger.exception("training job %s crashed", job_id)
        _fail(job_id=job.pk, error=_("Training crashed: %(error)s") % {"error": f"{type(exc).__name__}: {exc}"[:500]})
        return "failed"
    finally:
        shutil.rmtree(work, ignore_errors=True)


@transaction.atomic
def _stop(*, job_id: int, reason: str) -> None:
    job = TrainingJob.objects.select_for_update().get(pk=job_id)
    if job.status != JobStatus.RUNNING:
        return
    if reason == "canceled":
        _finish(job, JobStatus.CANCELED, _("Canceled by the developer; the worker stopped and freed its memory."))
    elif reason == "time_limit":
        message = _("The job reached its time limit of %(s)d seconds and was stopped.") % {"s": job.time_limit_seconds}
        _finish(job, JobStatus.FAILED, message, error=message)


@transaction.atomic
def _fail(*, job_id: int, error: str) -> None:
    job = TrainingJob.objects.select_for_update().get(pk=job_id)
    if job.status != JobStatus.RUNNING:
        return
    _finish(job, JobStatus.FAILED, _("Failed: %(error)s") % {"error": error}, error=error)


@transaction.atomic
def _store_result(*, job_id: int, result, train_rows: int, validation_rows: int, seconds: float, device: str) -> None:
    job = TrainingJob.objects.select_for_update().select_related("base_version__app", "dataset").get(pk=job_id)
    if job.status != JobStatus.RUNNING:
        return
    if job.cancel_requested_at:
        _finish(job, JobStatus.CANCELED, _("Canceled by the developer."))
        return
    data = result.artifact_path.read_bytes()
    job.result_artifact.save(result.artifact_path.name, ContentFile(data), save=False)
    job.result_sha256 = hashlib.sha256(data).hexdigest()
    job.result_size = len(data)
    job.result_checked = True
    job.progress = 1.0
    job.metrics = {**job.metrics, **result.metrics}
    base = job.base_version
    job.model_card = {
        "base": {"app": base.app.slug, "version": base.version, "framework": base.framework, "task": base.task,
                 "sha256": base.sha256},
        "dataset": {"id": job.dataset.pk, "name": job.dataset.name, "sha256": job.dataset.sha256,
                    "rows": job.dataset.rows, "labels": job.dataset.labels, "train_rows": train_rows,
                    "validation_rows": validation_rows, "validation_fraction": str(job.dataset.validation_fraction),
                    "seed": job.dataset.seed},
        "hyperparameters": job.hyperparameters,
        "metrics": result.metrics,
        "history": job.history.get("epochs", []),
        "labels": result.labels,
        "task": Task.TEXT_CLASSIFICATION,
        "parameter_count": result.parameter_count,
        "device": device,
        "training_seconds": round(seconds, 1),
        "trained_at": timezone.now().isoformat(),
        "job": job.pk,
    }
    _finish(job, JobStatus.SUCCEEDED, _("Succeeded: validation accuracy %(acc).2f%%; the artifact passed validation.")
            % {"acc": 100 * float(result.metrics.get("eval_accuracy") or 0)})


@transaction.atomic
def training_jobs_reap_stale(*, now=None) -> int:
    """Fail jobs whose worker stopped beating (died, killed, lost) and jobs no worker ever picked up."""
    count = 0
    for job in selectors.jobs_stale(now=now).select_for_update(skip_locked=True):
        if job.status == JobStatus.RUNNING:
            since = job.heartbeat_at or job.started_at
            error = _("The worker running this job stopped responding (last heartbeat %(when)s UTC). The job was "
                      "marked failed and you were not charged for it; start it again.") % {"when": f"{since:%H:%M:%S}"}
        else:
            error = _("No training worker picked up this job in time. Try again later.")
        _finish(job, JobStatus.FAILED, error, error=error)
        count += 1
    return count


# --- Publishing -------------------------------------------------------------------------------------------


@transaction.atomic
def training_job_publish(*, job: TrainingJob, actor: User, version: str, changelog: str = "",
                         app: App | None = None) -> AppVersion:
    """Create an app version from a succeeded job's artifact; it is validated like any upload, then reviewed."""
    job = TrainingJob.objects.select_for_update().select_related("base_version__app").get(pk=job.pk)
    if job.owner_id != actor.pk:
        raise PermissionDenied(_("Only the job's owner can publish its result."))
    if job.status != JobStatus.SUCCEEDED or not job.result_artifact:
        raise Conflict(_("Only a succeeded job with a validated artifact can be published."), code="job_not_succeeded")
    if job.published_version_id:
        raise Conflict(_("This result is already published as version %(v)s.") % {"v": job.published_version.version},
                       code="already_published")
    target = app or job.base_version.app
    if target.owner_id != actor.pk:
        raise PermissionDenied(_("You can only publish to your own apps."))
    base = job.base_version
    labels = list(job.model_card.get("labels", []))
    with job.result_artifact.open("rb") as handle:
        artifact = ContentFile(handle.read(), name=Path(job.result_artifact.name).name)
    # The same path as a developer's upload: stored privately, then validated on a worker, then reviewed.
    new_version = version_upload(
        app=target, actor=actor, artifact=artifact, version=version.strip(), task=Task.TEXT_CLASSIFICATION,
        framework=job.framework, hardware=base.hardware, labels=labels,
        changelog=changelog or _("Fine-tuned from %(app)s %(version)s on dataset “%(dataset)s” (training job %(job)d).")
        % {"app": base.app.slug, "version": base.version, "dataset": job.dataset.name, "job": job.pk},
        max_batch_size=base.max_batch_size, max_wait_ms=base.max_wait_ms,
    )
    new_version.model_card = {**job.model_card, **(new_version.model_card or {}), "trained_by_job": job.pk}
    new_version.metrics = {**(new_version.metrics or {}),
                           **{key: job.metrics.get(key) for key in ("epoch", "loss", "eval_loss", "eval_accuracy")}}
    new_version.save(update_fields=["model_card", "metrics"])
    job.published_version = new_version
    job.logs = _append_log(job.logs, _("Published as %(app)s version %(v)s; validation and review follow.")
                           % {"app": target.slug, "v": new_version.version})
    job.save(update_fields=["published_version", "logs"])
    return new_version

