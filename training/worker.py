"""Training jobs on a worker: claim a delivery, train, check the artifact like an upload, store it, settle.

Worker-only: it runs the training loop (`trainer`, the one module of training that imports ML) and the upload
checks of inference's runtimes. The web process never imports it; `tasks` imports it inside the task body.
"""
import hashlib
import logging
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from inference.artifacts import (
    ArtifactRefused,
    check_keras_file,
    check_transformers_folder,
    prepare_local,
    zip_extract,
)
from inference.runtimes import ModelRefused, load
from marketplace.models import AppVersion, Framework, Task

from . import selectors
from .datasets import split_rows
from .models import JobStatus, TrainingJob
from .services.jobs import LOG_LIMIT, append_log, job_finish, log_line
from .spec import TrainingRefused, TrainingStopped, TrainResult
from .trainer import TrainSpec, pick_device, train

logger = logging.getLogger(__name__)
MAX_LOSS_POINTS = 400


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
        job_finish(job, JobStatus.CANCELED, _("Canceled before training started."))
        return "done"
    if job.status == JobStatus.RUNNING:
        stale = now - timedelta(seconds=settings.TRAINING_STALE_SECONDS)
        if job.heartbeat_at and job.heartbeat_at >= stale:
            return "busy"
        if job.attempts >= settings.TRAINING_MAX_ATTEMPTS:
            job_finish(job, JobStatus.FAILED, _("Failed: the worker was lost again."),
                       error=_("The worker running this job stopped (it was lost %(n)d times). Start the job again.")
                       % {"n": job.attempts})
            return "done"
        job.logs = append_log(job.logs, _("The previous worker was lost; restarting from the beginning."))
    job.status = JobStatus.RUNNING
    job.attempts += 1
    job.worker = worker[:200]
    job.started_at = now
    job.heartbeat_at = now
    job.progress, job.step, job.epoch = 0.0, 0, 0
    job.metrics, job.history = {}, {"loss": [], "epochs": []}
    job.logs = append_log(job.logs, _("Started on %(worker)s (attempt %(n)d).")
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
        self.pending_logs.append(log_line(line))
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
        self.pending_logs.append(log_line(
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
            self.pending_logs.append(log_line(
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
    root = Path(settings.TRAINING_WORK_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _base_labels(version: AppVersion) -> list[str]:
    for source in (version.model_card, version.output_schema, version.metrics):
        labels = (source or {}).get("labels") if isinstance(source, dict) else None
        if isinstance(labels, list) and all(isinstance(label, str) for label in labels):
            return labels
    return []


def _prepare_base(version: AppVersion, root: Path) -> Path:
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
    claim = training_job_claim(job_id=job_id, worker=worker)
    if claim != "run":
        return claim
    job = TrainingJob.objects.select_related("base_version__app", "dataset").get(pk=job_id)
    reporter = JobReporter(job)
    work = Path(tempfile.mkdtemp(prefix=f"job{job.pk}-", dir=_work_root()))
    started = time.monotonic()
    try:
        device = pick_device() if settings.TRAINING_USE_GPU else "cpu"
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
        job_finish(job, JobStatus.CANCELED, _("Canceled by the developer; the worker stopped and freed its memory."))
    elif reason == "time_limit":
        message = _("The job reached its time limit of %(s)d seconds and was stopped.") % {"s": job.time_limit_seconds}
        job_finish(job, JobStatus.FAILED, message, error=message)


@transaction.atomic
def _fail(*, job_id: int, error: str) -> None:
    job = TrainingJob.objects.select_for_update().get(pk=job_id)
    if job.status != JobStatus.RUNNING:
        return
    job_finish(job, JobStatus.FAILED, _("Failed: %(error)s") % {"error": error}, error=error)


@transaction.atomic
def _store_result(*, job_id: int, result: TrainResult, train_rows: int, validation_rows: int, seconds: float,
                  device: str) -> None:
    job = TrainingJob.objects.select_for_update().select_related("base_version__app", "dataset").get(pk=job_id)
    if job.status != JobStatus.RUNNING:
        return
    if job.cancel_requested_at:
        job_finish(job, JobStatus.CANCELED, _("Canceled by the developer."))
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
    job_finish(job, JobStatus.SUCCEEDED,
               _("Succeeded: validation accuracy %(acc).2f%%; the artifact passed validation.")
               % {"acc": 100 * float(result.metrics.get("eval_accuracy") or 0)})
