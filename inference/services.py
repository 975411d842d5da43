"""Writes for inference: artifact uploads and validation, predictions, webhooks.

Functions that load models (`version_validate`, `prediction_execute`) run on workers only and import
the runtimes lazily, so the web process never imports torch or TensorFlow.
"""
import base64
import hashlib
import hmac
import http.client
import json
import logging
import os
import re
import socket
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiKey, User
from billing import services as billing
from config.api import ApiError, ServiceUnavailable
from config.metrics import (
    record_heartbeat,
    record_prediction_created,
    record_prediction_final,
    record_prediction_timings,
    record_webhook_delivery,
)
from config.observability import current_request_id, request_id_var
from marketplace.models import App, AppStatus, AppVersion, Framework, Hardware, Task, VersionStatus
from marketplace.services import app_record_run, app_version_create, user_has_app

from . import schemas
from .artifacts import ArtifactRefused, check_upload_name, file_sha256, prepare_local
from .models import (
    DeliveryStatus,
    Prediction,
    PredictionStatus,
    WebhookDelivery,
    WebhookSecret,
    WorkerHeartbeat,
)
from .notify import notify_done, notify_done_many
from .webhook_http import WebhookRefused, webhook_post, webhook_target_resolve

logger = logging.getLogger(__name__)

HEARTBEAT_TTL = timedelta(seconds=60)


class ArtifactTooLarge(ValidationError):
    """Past the configured upload limit: forms show it on the field, the API answers 413."""
WEBHOOK_EVENTS = ("start", "completed")


def _conf(name: str, default):
    return settings.MODELMARKET.get(name, default)


def webhook_url_problem(url: str) -> str | None:
    """Why a webhook may not be sent to `url`, or None: blocks internal addresses (SSRF) unless allowed.

    Checked when a prediction is created; each delivery resolves again and connects to the address it
    checked (see `webhook_http`), so DNS rebinding cannot slip an internal address in between.
    """
    try:
        webhook_target_resolve(url, allow_private=_webhook_allow_private())
    except WebhookRefused as exc:
        return str(exc)
    return None


def _webhook_allow_private() -> bool:
    return bool(_conf("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", settings.DEBUG))


def _local_cache_root() -> Path:
    return Path(_conf("MODEL_DIR", str(Path(settings.VAR_DIR.root) / "models")))


# --- Versions -------------------------------------------------------------------------------------------

@transaction.atomic
def version_upload(
    *, app: App, actor: User, artifact, version: str, task: str, framework: str, hardware: str = Hardware.CPU,
    changelog: str = "", labels: list[str] | None = None, max_batch_size: int | None = None,
    max_wait_ms: int | None = None,
) -> AppVersion:
    """Store an artifact for a new version and queue its validation on a worker."""
    errors = {}
    if task not in Task.values:
        errors["task"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(Task.values)}]
    if framework not in Framework.values:
        errors["framework"] = [_("Choose transformers or keras.")]
    if hardware not in Hardware.values:
        errors["hardware"] = [_("Choose cpu or gpu.")]
    if artifact is None:
        errors["artifact"] = [_("Upload the model file.")]
    if errors:
        raise ValidationError(errors)
    limit = _conf("MAX_ARTIFACT_BYTES", 512 * 1024 * 1024)
    if artifact.size > limit:
        raise ArtifactTooLarge({"artifact": [_("The file is %(size)d bytes; the limit is %(limit)d.") % {
            "size": artifact.size, "limit": limit}]})
    try:
        check_upload_name(artifact.name, framework)
    except ArtifactRefused as exc:
        raise ValidationError({"artifact": [str(exc)]}) from exc
    sha256, size = file_sha256(artifact)
    extra = {}
    if max_batch_size is not None:
        extra["max_batch_size"] = max_batch_size
    if max_wait_ms is not None:
        extra["max_wait_ms"] = max_wait_ms
    app_version = app_version_create(
        app=app, actor=actor, version=version, changelog=changelog, task=task, framework=framework,
        hardware=hardware, sha256=sha256, size=size, status=VersionStatus.UPLOADED,
        input_schema=schemas.INPUT_SCHEMAS[task], output_schema=schemas.output_schema(task),
        model_card={"labels": list(labels)} if labels else {}, **extra,
    )
    app_version.artifact.save(os.path.basename(artifact.name), artifact, save=False)
    app_version.save(update_fields=["artifact"])
    version_id = app_version.pk
    transaction.on_commit(lambda: _enqueue_validation(version_id))
    return app_version


def _enqueue_validation(version_id: int) -> None:
    from .tasks import validate_version

    validate_version.apply_async(args=[version_id], queue="validation")  # apart from predictions


@transaction.atomic
def version_revalidate(*, version: AppVersion, actor: User) -> AppVersion:
    if version.app.owner_id != actor.pk and not actor.is_moderator:
        raise PermissionDenied(_("Only the owner can revalidate this version."))
    AppVersion.objects.filter(pk=version.pk).update(status=VersionStatus.UPLOADED, error="")
    transaction.on_commit(lambda: _enqueue_validation(version.pk))
    version.refresh_from_db()
    return version


def version_local_path(version: AppVersion) -> Path:
    """The artifact checked and unpacked in this machine's model folder (by sha256)."""
    with version.artifact.open("rb") as source:
        return prepare_local(source=source, sha256=version.sha256, framework=version.framework,
                             cache_root=_local_cache_root())


def version_load(version: AppVersion, *, device: str = "cpu"):
    """Load a version's model with every guard on. Raises ArtifactRefused or runtimes.ModelRefused."""
    from .runtimes import load

    path = version_local_path(version)
    return load(str(path), framework=version.framework, task=version.task, device=device,
                labels=(version.model_card or {}).get("labels"))


def version_validate(*, version_id: int, device: str = "cpu") -> AppVersion | None:
    """Worker side: unpack safely, load with guards, run the task's example input, record what we learnt."""

    with transaction.atomic():
        version = AppVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None or version.status in (VersionStatus.READY, VersionStatus.INVALID):
            return version  # deleted meanwhile, or already decided (a redelivered task)
        version.status = VersionStatus.VALIDATING
        version.save(update_fields=["status"])
    try:
        path = version_local_path(version)  # copy, check and unpack (pure Python, bounded by UnpackLimits)
        example = schemas.version_example_input(version)
        items = schemas.input_items(task=version.task, data=example)
    except ArtifactRefused as exc:
        return _version_invalid(version_id, str(exc))
    tried = _version_try_sandboxed(version, path=path, items=items, device=device)
    if not tried.ok:
        return _version_invalid(version_id, _sandbox_reason(tried))
    try:
        example_output = schemas.output_assemble(data=example, outputs=tried.outputs)
    except Exception as exc:  # a model whose answers do not fit its task is invalid, with the reason shown
        return _version_invalid(version_id, _("The model failed on the example input: %(error)s")
                                % {"error": f"{type(exc).__name__}: {exc}"[:500]})
    load_ms, predict_ms = tried.load_ms, tried.predict_ms
    with transaction.atomic():
        version = AppVersion.objects.select_for_update().get(pk=version_id)
        version.status = VersionStatus.READY
        version.error = ""
        version.validated_at = timezone.now()
        version.input_schema = schemas.INPUT_SCHEMAS[version.task]
        version.output_schema = schemas.output_schema(version.task)
        version.metrics = {
            **(version.metrics or {}),
            "load_ms": round(load_ms, 1), "example_ms": round(predict_ms, 1),
            "parameters": tried.parameters, "labels": tried.labels, "device": device,
        }
        card = dict(version.model_card or {})
        card.update({"example_input": _shorten(example), "example_output": _shorten(example_output)})
        version.model_card = card
        version.save()
    return version


def _version_try_sandboxed(version: AppVersion, *, path: Path, items: list, device: str):
    """First load of a new artifact: in a child process with a memory ceiling and a wall clock."""
    from .sandbox import TryResult, model_try

    try:
        return model_try(path=str(path), framework=version.framework, task=version.task, device=device,
                         labels=(version.model_card or {}).get("labels"), items=items,
                         memory_bytes=int(_conf("VALIDATION_MEMORY_BYTES", 6 * 1024**3)),
                         timeout=float(_conf("VALIDATION_TIMEOUT_SECONDS", 300)))
    except Exception as exc:  # the sandbox itself failed: say so rather than leave the version `validating`
        logger.exception("sandboxed validation of version %s could not run", version.pk)
        return TryResult(ok=False, kind="error", message=f"{type(exc).__name__}: {exc}"[:500])


def _sandbox_reason(tried) -> str:
    """The developer-facing sentence for a model that failed in the sandbox."""
    megabytes = int(_conf("VALIDATION_MEMORY_BYTES", 6 * 1024**3)) // (1024 * 1024)
    if tried.kind == "refused":
        return tried.message
    if tried.kind == "timeout":
        return _("Loading the model and answering the example took longer than %(seconds)s seconds.") % {
            "seconds": _conf("VALIDATION_TIMEOUT_SECONDS", 300)}
    if tried.kind == "memory":
        return _("The model needed more than the %(mb)d MB of memory a model may use while loading.") % {
            "mb": megabytes}
    if tried.kind == "crashed":
        return _("The model process stopped while loading (exit code %(code)s); it may have needed more than "
                 "the %(mb)d MB of memory allowed.") % {"code": tried.exitcode, "mb": megabytes}
    return _("The model failed on the example input: %(error)s") % {"error": tried.message}


def _shorten(data: dict) -> dict:
    text = json.dumps(data)
    if len(text) <= 2000:
        return data
    if "embedding" in data:
        return {**data, "embedding": data["embedding"][:8] + ["…"]}
    if "image" in data:
        return {"image": data["image"][:40] + "…"}
    return {"truncated": text[:2000]}


def _version_invalid(version_id: int, reason: str) -> AppVersion:
    with transaction.atomic():
        version = AppVersion.objects.select_for_update().get(pk=version_id)
        version.status = VersionStatus.INVALID
        version.error = reason
        version.validated_at = timezone.now()
        version.save(update_fields=["status", "error", "validated_at"])
    return version


# --- Workers ---------------------------------------------------------------------------------------------

def worker_heartbeat(*, hostname: str, queues: list[str], devices: list[str]) -> None:
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"queues": queues, "devices": devices, "last_seen": timezone.now()})
    record_heartbeat(worker=hostname)


def worker_gone(*, hostname: str) -> None:
    WorkerHeartbeat.objects.filter(hostname=hostname).delete()


def queue_for(*, hardware: str) -> str:
    """The queue for a version's hardware: GPU if a GPU worker is alive, else CPU when allowed, else 503."""
    if hardware != Hardware.GPU:
        return "inference-cpu"
    from .selectors import queue_is_served

    if queue_is_served(queue="inference-gpu"):
        return "inference-gpu"
    if _conf("ALLOW_GPU_FALLBACK_TO_CPU", True):
        return "inference-cpu"
    raise ServiceUnavailable(_("No GPU worker is available for this app right now; try again later."),
                             code="no_gpu_worker", headers={"Retry-After": "30"})


# --- Predictions -----------------------------------------------------------------------------------------

def _pick_version(app: App, version: str | None, user: User | None = None, *,
                  include_held: bool = False) -> AppVersion:
    ready = app.versions.filter(status=VersionStatus.READY)
    if not include_held and (user is None or user.pk != app.owner_id):
        ready = ready.filter(held_for_review=False)  # a new version waits for review; its owner may try it
    if version:
        found = ready.filter(version=version).first()
        if found is None:
            exists = app.versions.filter(version=version).exists()
            message = (_("Version %(v)s is not ready to run.") if exists else _("Version %(v)s does not exist.")) % {
                "v": version}
            raise ApiError(message, code="invalid", fields={"version": [message]})
        return found
    found = ready.order_by("-validated_at", "-created_at").first()
    if found is None:
        raise ServiceUnavailable(_("This app has no ready version yet."), code="no_ready_version")
    return found


def prediction_create(
    *, user: User, app: App, input: dict, version: str | None = None, api_key: ApiKey | None = None,  # noqa: A002
    quote_id: str | None = None, max_price: Decimal | None = None, webhook: str = "",
    webhook_events_filter: list[str] | None = None, stream: bool = False, idempotency_key: str = "",
    app_version: AppVersion | None = None, review_run: bool = False, store: bool = True,
) -> tuple[Prediction, bool]:
    """Admit, price and queue a prediction. Answers (prediction, created); the same key answers the same one.

    `review_run=True` is a moderator's test run from the admin (never the API): any ready version of any app,
    held for review or in review included, without the app in their library and at no charge.

    `app_version` is the ready version already picked by `selectors.prediction_target` (which also tells
    whether the caller has the app): the whole web side is then auth, that one read, and one transaction
    of 2 statements for a free call (Charge and Prediction INSERTs) or 3-4 for a paid one (demand count,
    the conditional hold UPDATE, the INSERTs).
    """
    if idempotency_key:
        existing = Prediction.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
    if review_run:
        if not user.is_moderator:
            raise PermissionDenied(_("Only moderators can test-run apps for review."))
    else:
        has_app = getattr(app, "caller_has_app", None)
        if app.owner_id != user.pk and app.status == AppStatus.PUBLISHED and has_app is None:
            has_app = user_has_app(user=user, app=app)
        if not (app.owner_id == user.pk or (app.status == AppStatus.PUBLISHED and has_app)):
            raise PermissionDenied(_("Add this app to your library before running it."))
    if app_version is None or app_version.app_id != app.pk or app_version.status != VersionStatus.READY:
        app_version = _pick_version(app, version, user, include_held=review_run)
    data = schemas.input_validate(task=app_version.task, data=input)
    if webhook and (problem := webhook_url_problem(webhook)):
        raise ValidationError({"webhook": [problem]})
    events = list(webhook_events_filter or ["completed"])
    unknown = [event for event in events if event not in WEBHOOK_EVENTS]
    if unknown:
        raise ValidationError({"webhook_events_filter": [_("Events are: %(events)s.") % {
            "events": ", ".join(WEBHOOK_EVENTS)}]})
    queue = queue_for(hardware=app_version.hardware)
    try:
        with transaction.atomic():
            prediction = Prediction(
                app=app, version=app_version, user=user, api_key=api_key, input=data, quote_id=quote_id or "",
                max_price=max_price, webhook=webhook or "", webhook_events_filter=events, stream=stream,
                idempotency_key=idempotency_key or "", hardware="gpu" if queue == "inference-gpu" else "cpu",
                currency=settings.MODELMARKET["CURRENCY"], store=store,
            )
            # Admitted in the same transaction, just before the row is written (its id exists already), so the
            # price goes in with the INSERT; a PaymentRequired rolls everything back and nothing is queued.
            admission = billing.prediction_admit(prediction=prediction, quote_id=quote_id, max_price=max_price,
                                                 fresh=True, review_run=review_run)
            prediction.price = admission.price
            prediction.currency = admission.currency
            prediction.save(force_insert=True)
            prediction_id = str(prediction.pk)
            limits = (app_version.soft_time_limit, app_version.time_limit)
            notify_start = bool(webhook) and "start" in events
            route = {"version_id": app_version.pk, "stream": bool(stream)}
            paid = bool(admission.price)
            transaction.on_commit(lambda: _enqueue_prediction(prediction_id, queue, limits, notify_start, route, paid))
    except IntegrityError:
        if idempotency_key:
            return Prediction.objects.get(user=user, idempotency_key=idempotency_key), False
        raise
    record_prediction_created(app=app.slug, queue=queue)
    return prediction, True


def _enqueue_prediction(prediction_id: str, queue: str, limits: tuple[int, int], notify_start: bool,
                        route: dict | None = None, paid: bool = False) -> None:
    """`route` (version id, stream) lets the worker hand the id straight to the model's batch runner."""
    from config.celery import message_priority

    from .tasks import run_prediction

    soft, hard = limits
    # Paid calls run before free ones waiting on the same queue (settings.PREDICTION_PRIORITY).
    level = settings.PREDICTION_PRIORITY["paid" if paid else "free"]
    run_prediction.apply_async(args=[prediction_id], kwargs=route or {}, queue=queue, task_id=prediction_id,
                               soft_time_limit=soft, time_limit=max(hard, soft + 1),
                               priority=message_priority(level))
    if notify_start:
        webhook_event_queue(prediction_id=prediction_id, event="start")


def prediction_wait(*, prediction: Prediction, seconds: float) -> Prediction:
    """Block up to `seconds` until the prediction is finished; answers it refreshed from the database.

    With a Redis broker the worker's batch pipeline wakes the waiter (BLPOP); otherwise the row is polled,
    quickly at first (most finish in milliseconds).
    """
    from .notify import wait_done

    if wait_done(prediction.pk, seconds) is not None:
        prediction.refresh_from_db()
        return prediction
    deadline = time.monotonic() + seconds
    delay = 0.002
    while time.monotonic() < deadline:
        status_now = Prediction.objects.filter(pk=prediction.pk).values_list("status", flat=True).first()
        if status_now in (PredictionStatus.SUCCEEDED, PredictionStatus.FAILED, PredictionStatus.CANCELED):
            break
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.05)
    prediction.refresh_from_db()
    return prediction


@transaction.atomic
def prediction_cancel(*, prediction: Prediction, actor: User) -> Prediction:
    """Cancel if not finished; the worker sees the status and drops it; the hold is released."""
    prediction = Prediction.objects.select_for_update().get(pk=prediction.pk)
    if prediction.user_id != actor.pk:
        raise PermissionDenied(_("Only the caller can cancel this prediction."))
    if prediction.is_terminal:
        return prediction
    prediction.status = PredictionStatus.CANCELED
    prediction.completed_at = timezone.now()
    prediction.save(update_fields=["status", "completed_at"])
    fraction = streamed_fraction(prediction)
    if fraction > 0:  # a stream keeps the text it already produced: it pays that share
        billing.prediction_settle_partial(prediction=prediction, fraction=fraction)
    else:
        billing.prediction_release(prediction=prediction)
    prediction_id = str(prediction.pk)
    transaction.on_commit(lambda: _after_terminal(prediction_id, revoke=True))
    record_prediction_final(app_id=prediction.app_id, status=prediction.status, hardware=prediction.hardware)
    return prediction


_TOKENISH = re.compile(r"\w+|[^\w\s]")


def streamed_fraction(prediction: Prediction) -> Decimal:
    """The share of a stream's requested tokens already sent: words and punctuation marks of the text so
    far (the tokenizer lives on the worker) over `max_new_tokens`. 0 for anything that is not a stream."""
    text = (prediction.output or {}).get("text") if prediction.stream else None
    if not isinstance(text, str) or not text:
        return Decimal("0")
    requested = (prediction.input or {}).get("max_new_tokens") or 32
    produced = len(_TOKENISH.findall(text))
    return min(Decimal("1"), Decimal(produced) / Decimal(max(1, int(requested)))).quantize(Decimal("0.0001"))


def _after_terminal(prediction_id: str, *, revoke: bool = False) -> None:
    notify_done(prediction_id)
    if revoke:
        from config.celery import app as celery_app

        try:
            celery_app.control.revoke(prediction_id)
        except Exception:  # the broker being away must not turn a cancel into an error
            logger.warning("could not revoke %s", prediction_id, exc_info=True)
    webhook_event_queue(prediction_id=prediction_id, event="completed")


def _claim(prediction_id: str, *, device: str, worker: str, warm_keys: list) -> Prediction | None:
    """Mark the prediction as started by this worker; None when it is finished or canceled already.

    One conditional UPDATE (status not terminal) makes the claim safe against a concurrent cancel; a
    model already in this worker's cache goes straight to `processing`.
    """
    prediction = Prediction.objects.select_related("version").filter(pk=prediction_id).first()
    if prediction is None or prediction.is_terminal:
        return None
    version = prediction.version
    warm = (version.pk, version.sha256, device) in warm_keys
    status = PredictionStatus.PROCESSING if warm else PredictionStatus.STARTING
    attempts = prediction.attempts + 1
    now = timezone.now()
    logs = prediction.logs
    if attempts > 1:
        logs += _("Restarted after a worker was lost (attempt %(n)d).\n") % {"n": attempts}
    claimed = Prediction.objects.filter(pk=prediction_id, status__in=[
        PredictionStatus.QUEUED, PredictionStatus.STARTING, PredictionStatus.PROCESSING]).update(
        status=status, started_at=prediction.started_at or now, attempts=attempts, device=device,
        worker=f"{worker} pid={os.getpid()}", logs=logs)
    if not claimed:
        return None
    prediction.status, prediction.started_at, prediction.attempts = status, prediction.started_at or now, attempts
    prediction.device, prediction.logs = device, logs
    return prediction


_versions: dict[int, tuple[float, AppVersion]] = {}
VERSION_CACHE_SECONDS = 30


def _version_cached(version_id: int) -> AppVersion | None:
    """Versions are read once per worker process (and again every 30 s): their artifact is fixed by sha256."""
    now = time.monotonic()
    hit = _versions.get(version_id)
    if hit and now - hit[0] < VERSION_CACHE_SECONDS:
        return hit[1]
    version = AppVersion.objects.filter(pk=version_id).first()
    if version is not None:
        _versions[version_id] = (now, version)
    return version


def prediction_execute(*, prediction_id: str, worker: str = "", version_id: int | None = None,
                       stream: bool | None = None) -> Prediction | None:
    """Worker side: load (cached), then hand the id to the version's batch runner and wait for its commit.

    The runner is one thread per loaded model: it claims its batch with one UPDATE ... RETURNING, tokenises
    and runs one forward pass, and finishes the batch in one transaction (bulk output write + settlement).
    The task (and so the broker's ack) returns only after that commit. Streams run on their own.
    """
    from .engine import model_cache, worker_device

    version = _version_cached(version_id) if version_id else None
    if version is None or stream is None or (stream and version.task == Task.TEXT_GENERATION):
        return _prediction_execute_single(prediction_id=prediction_id, worker=worker)
    device = worker_device()
    cache = model_cache()
    worker = f"{worker or socket.gethostname()} pid={os.getpid()}"
    key = (version.pk, version.sha256, device)
    warm_keys = cache.keys()
    if key not in warm_keys:  # cold: the caller sees `starting` (its attempt counted) while the model loads
        from django.db import connection

        sql, params = _claim_sql([prediction_id], status=PredictionStatus.STARTING, device=device, worker=worker)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    try:
        cached, load_ms = cache.get(key, lambda: version_load(version, device=device),
                                    max_batch_size=version.max_batch_size, max_wait_ms=version.max_wait_ms)
    except Exception as exc:
        logger.warning("could not load version %s", version.pk, exc_info=True)
        return _prediction_fail(prediction_id, _("The model failed: %(error)s") % {
            "error": f"{type(exc).__name__}: {exc}"[:1000]})
    runner = cached.runner_for(
        lambda items: prediction_batch_run(version=version, predictor=cached.predictor, items=items,
                                           worker=worker, device=device),
        max_batch_size=version.max_batch_size, max_wait_ms=version.max_wait_ms)
    runner.expect()
    try:
        runner.submit([{"id": str(prediction_id), "load_ms": load_ms, "request_id": current_request_id()}]).result(
            timeout=version.soft_time_limit)
    except TimeoutError:
        return _prediction_fail(prediction_id, _("The model did not answer within %(s)d seconds.")
                                % {"s": version.soft_time_limit})
    except Exception as exc:  # the batch itself broke (e.g. the database went away): this one must still end
        logger.warning("batch of %s failed", prediction_id, exc_info=True)
        return _prediction_fail(prediction_id, _("The model failed: %(error)s") % {
            "error": f"{type(exc).__name__}: {exc}"[:1000]})
    finally:
        runner.forget()
    return None


LIVE_STATUSES = (PredictionStatus.QUEUED, PredictionStatus.STARTING, PredictionStatus.PROCESSING)


def _claim_sql(ids: list[str], *, status: str, device: str, worker: str) -> tuple[str, list]:
    """The claim UPDATE: a new attempt (and a log line after a lost worker) unless this worker took it already."""
    from django.db import connection

    restarted = _("Restarted after a worker was lost (attempt %(n)d).\n")
    before, _sep, after = restarted.partition("%(n)d")
    pk = Prediction._meta.pk
    marks = ", ".join(["%s"] * len(ids))
    sql = (f"UPDATE {Prediction._meta.db_table} SET status = %s, started_at = COALESCE(started_at, %s), "  # noqa: S608
           "device = %s, attempts = CASE WHEN worker = %s THEN attempts ELSE attempts + 1 END, "
           "logs = CASE WHEN worker <> %s AND attempts >= 1 "
           "THEN logs || %s || CAST(attempts + 1 AS TEXT) || %s ELSE logs END, worker = %s "
           f"WHERE id IN ({marks}) AND status IN (%s, %s, %s)")
    params = [status, timezone.now(), device, worker, worker, before, after, worker,
              *[pk.get_db_prep_value(uuid.UUID(str(i)), connection) for i in ids], *LIVE_STATUSES]
    return sql, params


def _claim_batch(ids: list[str], *, device: str, worker: str) -> list[Prediction]:
    """Claim the batch with ONE `UPDATE ... RETURNING`: finished or canceled ones are simply not returned."""
    sql, params = _claim_sql(ids, status=PredictionStatus.PROCESSING, device=device, worker=worker)
    return list(Prediction.objects.raw(sql + " RETURNING *", params))


def prediction_batch_run(*, version: AppVersion, predictor, items: list[dict], worker: str,
                         device: str) -> list[dict]:
    """Run a batch of predictions of one version end to end (see `prediction_execute`). One entry per item."""
    from django.db import close_old_connections, connection

    if not connection.in_atomic_block:
        close_old_connections()  # the runner thread lives long: drop a connection that expired or broke
    ids = [item["id"] for item in items]
    load_ms = {item["id"]: float(item.get("load_ms") or 0) for item in items}
    request_ids = {item["id"]: item.get("request_id") or "" for item in items}
    claimed = _claim_batch(ids, device=device, worker=worker)
    errors: dict[str, str] = {}
    inputs: list[tuple[Prediction, list[dict]]] = []
    for prediction in claimed:
        try:
            inputs.append((prediction, schemas.input_items(task=version.task, data=prediction.input)))
        except Exception as exc:  # a bad input fails its own prediction only
            errors[str(prediction.pk)] = _("The model failed: %(error)s") % {
                "error": f"{type(exc).__name__}: {exc}"[:1000]}
    results: dict[str, list[dict]] = {}
    batch_size, predict_ms = 0, 0.0
    if inputs:
        flat = [item for _p, its in inputs for item in its]
        batch_size = len(flat)
        started = time.perf_counter()
        try:
            outputs = predictor.predict(flat)
            position = 0
            for prediction, its in inputs:
                results[str(prediction.pk)] = outputs[position:position + len(its)]
                position += len(its)
        except Exception:  # one bad input must not fail its neighbours: run each on its own
            for prediction, its in inputs:
                try:
                    results[str(prediction.pk)] = predictor.predict(its)
                except Exception as exc:
                    logger.warning("prediction %s failed", prediction.pk, exc_info=True)
                    errors[str(prediction.pk)] = _("The model failed: %(error)s") % {
                        "error": f"{type(exc).__name__}: {exc}"[:1000]}
        predict_ms = (time.perf_counter() - started) * 1000
    _finish_batch(claimed, results=results, errors=errors, batch_size=batch_size, predict_ms=predict_ms,
                  load_ms=load_ms, request_ids=request_ids)
    return [{"id": i} for i in ids]


def _finish_batch(claimed: list[Prediction], *, results: dict, errors: dict, batch_size: int, predict_ms: float,
                  load_ms: dict, request_ids: dict | None = None) -> None:
    """ONE transaction: the still-live rows locked, outputs and metrics in one bulk UPDATE, one batch settlement."""
    if not claimed:
        return
    now = timezone.now()
    succeeded, failed = [], []
    for prediction in claimed:
        pid = str(prediction.pk)
        own_load = load_ms.get(pid, 0.0)
        if pid in results:
            count = len(results[pid])
            prediction.output = _json_safe(schemas.output_assemble(data=prediction.input, outputs=results[pid]))
            prediction.metrics = _metrics_with_queue(prediction, {
                "load_ms": round(own_load, 1), "predict_ms": round(predict_ms, 1), "batch_size": batch_size})
            prediction.compute_seconds = Decimal(str(round(predict_ms / 1000 * count / max(batch_size, 1)
                                                           + own_load / 1000, 6)))
            prediction.status = PredictionStatus.SUCCEEDED
            succeeded.append(prediction)
        else:
            prediction.error = errors.get(pid) or _("The model gave no output.")
            prediction.metrics = _metrics_with_queue(prediction, {"load_ms": None, "predict_ms": None,
                                                                  "batch_size": None})
            prediction.status = PredictionStatus.FAILED
            failed.append(prediction)
        prediction.completed_at = now
    try:
        with transaction.atomic():
            live = set(Prediction.objects.select_for_update().filter(
                pk__in=[p.pk for p in claimed], status__in=LIVE_STATUSES).values_list("pk", flat=True))
            succeeded = [p for p in succeeded if p.pk in live]
            failed = [p for p in failed if p.pk in live]
            done = succeeded + failed
            if not done:
                return
            Prediction.objects.bulk_update(done, ["status", "output", "error", "metrics", "compute_seconds",
                                                  "completed_at"])
            billing.predictions_finish_batch(succeeded=succeeded, failed=failed)
            runs: dict[int, int] = {}
            for prediction in succeeded:
                runs[prediction.app_id] = runs.get(prediction.app_id, 0) + 1
            for app_id, count in sorted(runs.items()):
                App.objects.filter(pk=app_id).update(runs_count=F("runs_count") + count)
            done_ids = [str(p.pk) for p in done]
            hooked = [str(p.pk) for p in done if p.webhook]
            transaction.on_commit(lambda: notify_done_many(done_ids))
            transaction.on_commit(lambda: _record_batch_finals(done))
            for pid in hooked:  # each webhook task carries its own web request's id (the runner thread has none)
                transaction.on_commit(lambda pid=pid: _with_request_id(
                    (request_ids or {}).get(pid, ""), webhook_event_queue, prediction_id=pid, event="completed"))
    except DatabaseError:  # e.g. an output the database cannot store: finish them one by one
        logger.warning("batch completion failed; finishing one by one", exc_info=True)
        for prediction in claimed:
            try:
                if prediction.status == PredictionStatus.SUCCEEDED:
                    _prediction_succeed(prediction, output=prediction.output, metrics=prediction.metrics,
                                        compute_seconds=prediction.compute_seconds, wall_seconds=0)
                else:
                    _prediction_fail(str(prediction.pk), prediction.error)
            except DatabaseError as exc:
                _prediction_fail(str(prediction.pk), _("The output could not be stored: %(error)s") % {
                    "error": str(exc).splitlines()[0][:300]})


def _with_request_id(request_id: str, function, **kwargs) -> None:
    """Call `function` with the request id of the web request that started this prediction in effect."""
    token = request_id_var.set(request_id) if request_id else None
    try:
        function(**kwargs)
    finally:
        if token is not None:
            request_id_var.reset(token)


def _record_batch_finals(done: list[Prediction]) -> None:
    """Metrics for a committed batch: each prediction's final status, and queue/load times of the succeeded."""
    for prediction in done:
        record_prediction_final(app_id=prediction.app_id, status=prediction.status, hardware=prediction.hardware)
        if prediction.status == PredictionStatus.SUCCEEDED:
            record_prediction_timings(hardware=prediction.hardware, queue_ms=prediction.metrics.get("queue_ms"),
                                      load_ms=prediction.metrics.get("load_ms"))


def _prediction_execute_single(*, prediction_id: str, worker: str = "") -> Prediction | None:
    """One prediction on its own (streams, and tasks queued before batch routing existed)."""
    from .engine import model_cache, worker_device

    device = worker_device()
    cache = model_cache()
    prediction = _claim(prediction_id, device=device, worker=worker or socket.gethostname(),
                        warm_keys=cache.keys())
    if prediction is None:
        return None
    version = prediction.version
    started = time.perf_counter()
    key = (version.pk, version.sha256, device)
    try:
        cached, load_ms = cache.get(key, lambda: version_load(version, device=device),
                                    max_batch_size=version.max_batch_size, max_wait_ms=version.max_wait_ms)
        if prediction.status == PredictionStatus.STARTING:
            Prediction.objects.filter(pk=prediction.pk, status=PredictionStatus.STARTING).update(
                status=PredictionStatus.PROCESSING)
        items = schemas.input_items(task=version.task, data=prediction.input)
        if prediction.stream and version.task == Task.TEXT_GENERATION:
            output, batch_size, predict_ms = _run_streaming(prediction, cached.predictor, items[0])
        else:
            cached.batcher.expect()
            try:
                result = cached.batcher.submit(items).result(timeout=version.soft_time_limit)
            finally:
                cached.batcher.forget()
            output = schemas.output_assemble(data=prediction.input, outputs=result.outputs)
            batch_size, predict_ms = result.batch_size, result.predict_ms
    except TimeoutError:
        return _prediction_fail(prediction_id, _("The model did not answer within %(s)d seconds.")
                                % {"s": version.soft_time_limit})
    except Exception as exc:
        logger.warning("prediction %s failed", prediction_id, exc_info=True)
        return _prediction_fail(prediction_id, _("The model failed: %(error)s") % {
            "error": f"{type(exc).__name__}: {exc}"[:1000]})
    elapsed = time.perf_counter() - started
    try:
        return _prediction_succeed(prediction, output=_json_safe(output), metrics={
            "load_ms": round(load_ms, 1), "predict_ms": round(predict_ms, 1), "batch_size": batch_size,
        }, compute_seconds=Decimal(str(round(predict_ms / 1000 / max(batch_size, 1) + load_ms / 1000, 6))),
            wall_seconds=elapsed)
    except DatabaseError as exc:  # an output the database cannot store must still end the prediction
        logger.warning("could not store the output of %s", prediction_id, exc_info=True)
        return _prediction_fail(prediction_id, _("The output could not be stored: %(error)s") % {
            "error": str(exc).splitlines()[0][:300]})


def _json_safe(value):
    """Strip NUL characters, which PostgreSQL's JSON cannot hold (small generators do emit them)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    return value


def _run_streaming(prediction: Prediction, predictor, item: dict) -> tuple[dict, int, float]:
    """Generate token by token, saving the text so far so the SSE stream can forward it."""
    started = time.perf_counter()
    text = ""
    last_save = 0.0
    for piece in predictor.stream(item):
        text += piece
        now = time.perf_counter()
        if now - last_save > 0.05:
            updated = Prediction.objects.filter(pk=prediction.pk, status=PredictionStatus.PROCESSING).update(
                output={"text": _json_safe(text)})
            if not updated:  # canceled while generating: stop spending compute
                break
            last_save = now
    return {"text": _json_safe(text)}, 1, (time.perf_counter() - started) * 1000


def _metrics_with_queue(prediction: Prediction, metrics: dict) -> dict:
    queue_ms = (prediction.started_at - prediction.created_at).total_seconds() * 1000 if prediction.started_at else 0
    return {"queue_ms": round(queue_ms, 1), **metrics}


def _prediction_succeed(prediction: Prediction, *, output: dict, metrics: dict, compute_seconds: Decimal,
                        wall_seconds: float) -> Prediction:
    """Finish exactly once: a conditional UPDATE (not yet terminal) wins or loses atomically, then billing settles."""
    prediction_id = str(prediction.pk)
    now = timezone.now()
    metrics = _metrics_with_queue(prediction, metrics)
    with transaction.atomic():
        won = Prediction.objects.filter(pk=prediction_id, status__in=[
            PredictionStatus.QUEUED, PredictionStatus.STARTING, PredictionStatus.PROCESSING]).update(
            status=PredictionStatus.SUCCEEDED, output=output, metrics=metrics, compute_seconds=compute_seconds,
            completed_at=now)
        if not won:  # canceled meanwhile, or finished by an earlier attempt
            prediction.refresh_from_db()
            return prediction
        prediction.status, prediction.output, prediction.metrics = PredictionStatus.SUCCEEDED, output, metrics
        prediction.compute_seconds, prediction.completed_at = compute_seconds, now
        billing.prediction_settle(prediction=prediction)
        app_record_run(app_id=prediction.app_id)
        transaction.on_commit(lambda: notify_done(prediction_id))
        if prediction.webhook:
            transaction.on_commit(lambda: webhook_event_queue(prediction_id=prediction_id, event="completed"))
    record_prediction_final(app_id=prediction.app_id, status=PredictionStatus.SUCCEEDED, hardware=prediction.hardware)
    record_prediction_timings(hardware=prediction.hardware, queue_ms=metrics.get("queue_ms"),
                              load_ms=metrics.get("load_ms"))
    return prediction


def _prediction_fail(prediction_id: str, error: str) -> Prediction:
    with transaction.atomic():
        prediction = Prediction.objects.select_for_update().get(pk=prediction_id)
        if prediction.is_terminal:
            return prediction
        prediction.status = PredictionStatus.FAILED
        prediction.error = error
        prediction.metrics = _metrics_with_queue(prediction, {"load_ms": None, "predict_ms": None,
                                                              "batch_size": None})
        prediction.completed_at = timezone.now()
        prediction.save(update_fields=["status", "error", "metrics", "completed_at"])
        billing.prediction_release(prediction=prediction)
        transaction.on_commit(lambda: notify_done(prediction_id))
        if prediction.webhook:
            transaction.on_commit(lambda: webhook_event_queue(prediction_id=prediction_id, event="completed"))
    record_prediction_final(app_id=prediction.app_id, status=PredictionStatus.FAILED, hardware=prediction.hardware)
    return prediction


def prediction_fail_if_running(*, prediction_id: str, error: str) -> None:
    """Called when a task is given up for good (time limit, retries spent)."""
    _prediction_fail(prediction_id, error)


# --- Webhooks (Standard Webhooks) ------------------------------------------------------------------------

def webhook_secret_for(*, user: User) -> WebhookSecret:
    return WebhookSecret.objects.get_or_create(user=user)[0]


@transaction.atomic
def webhook_secret_rotate(*, user: User) -> WebhookSecret:
    secret = webhook_secret_for(user=user)
    secret.secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    secret.save(update_fields=["secret"])
    return secret


def webhook_sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed by the secret's base64 part."""
    raw = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        key = raw.encode()
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def webhook_event_queue(*, prediction_id: str, event: str) -> WebhookDelivery | None:
    """Record a delivery for this event if the caller asked for it, and send it from a task."""
    prediction = Prediction.objects.filter(pk=prediction_id).first()
    if prediction is None or not prediction.webhook or event not in (prediction.webhook_events_filter or []):
        return None
    delivery = WebhookDelivery.objects.create(prediction=prediction, event=event, url=prediction.webhook,
                                              message_id=f"msg_{uuid.uuid4().hex}")
    delivery_id = delivery.pk
    transaction.on_commit(lambda: _enqueue_delivery(delivery_id))
    return delivery


def _enqueue_delivery(delivery_id: int) -> None:
    from .tasks import deliver_webhook

    deliver_webhook.apply_async(args=[delivery_id], queue="webhooks")


def webhook_retry_delays() -> list[int]:
    return list(_conf("WEBHOOK_RETRY_DELAYS", [5, 30, 120, 600, 1800, 3600]))


def webhook_attempt(*, delivery_id: int) -> bool:
    """POST the prediction JSON once, signed. Answers True when done (delivered or out of attempts)."""
    from .selectors import prediction_payload

    delivery = WebhookDelivery.objects.select_related("prediction__user").get(pk=delivery_id)
    if delivery.status == DeliveryStatus.SUCCEEDED:
        return True
    body = json.dumps(prediction_payload(prediction=delivery.prediction), default=str).encode()
    timestamp = int(time.time())
    secret = webhook_secret_for(user=delivery.prediction.user).secret
    try:
        target = webhook_target_resolve(delivery.url, allow_private=_webhook_allow_private())
    except WebhookRefused as exc:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            attempts=delivery.attempts + 1, last_error=str(exc)[:500], last_attempt_at=timezone.now(),
            status=DeliveryStatus.FAILED)
        record_webhook_delivery(outcome="refused")
        return True
    headers = {
        "content-type": "application/json",
        "user-agent": "ModelMarket-Webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_sign(secret=secret, message_id=delivery.message_id, timestamp=timestamp,
                                          body=body),
    }
    status_code, response_body, error = None, "", ""
    try:
        status_code, response_body = webhook_post(target, body=body, headers=headers,
                                                  timeout=_conf("WEBHOOK_TIMEOUT_SECONDS", 10))
    except (OSError, http.client.HTTPException, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:200]
    if status_code is not None and 300 <= status_code < 400:
        error = _("The receiver answered with a redirect; webhooks do not follow redirects.")
    ok = status_code is not None and 200 <= status_code < 300
    attempts = delivery.attempts + 1
    done = ok or attempts > len(webhook_retry_delays())
    outcome = "delivered" if ok else ("failed" if done else "retrying")
    record_webhook_delivery(outcome=outcome)
    logger.info("webhook %s %s", delivery.message_id, outcome, extra={
        "prediction_id": str(delivery.prediction_id), "event": delivery.event, "attempt": attempts,
        "response_status": status_code})
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        attempts=attempts, response_status=status_code, response_body=response_body, last_error=error,
        last_attempt_at=timezone.now(), delivered_at=timezone.now() if ok else None,
        status=DeliveryStatus.SUCCEEDED if ok else (DeliveryStatus.FAILED if done else DeliveryStatus.PENDING),
    )
    return done


@transaction.atomic
def webhook_redeliver(*, delivery: WebhookDelivery, actor: User) -> WebhookDelivery:
    """Send the same message again, with fresh attempts.

    Standard Webhooks: a resend keeps its `webhook-id`, so receivers that de-duplicate on it see one event.
    """
    if delivery.prediction.user_id != actor.pk:
        raise PermissionDenied(_("Only the caller can redeliver."))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, attempts=0, response_status=None, response_body="", last_error="",
        delivered_at=None)
    delivery_id = delivery.pk
    transaction.on_commit(lambda: _enqueue_delivery(delivery_id))
    delivery.refresh_from_db()
    return delivery
