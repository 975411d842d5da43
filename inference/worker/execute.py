"""Running predictions on a worker: the version's model from the cache, then its batch runner.

The runner is one thread per loaded model: it claims its batch with one UPDATE ... RETURNING (`claim`),
tokenises and runs one forward pass, and finishes the batch in one transaction (`finish`). The Celery task (and
so the broker's ack) returns only after that commit; the Redis dispatcher (`dispatcher`) acks from the runner's
callback, after the same commit. Streams run on their own (`streaming`).
"""
from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connection
from django.utils.translation import gettext as _

from config.observability import current_request_id
from marketplace.models import AppVersion, Task

from .. import schemas
from ..models import Prediction, PredictionStatus
from .batching import Batcher
from .claim import claim_batch, claim_mark_starting, prediction_claim
from .engine import CachedModel, model_cache, worker_device
from .finish import finish_batch, json_safe, prediction_fail, prediction_succeed
from .loading import version_load
from .model_process import ModelProcess
from .streaming import run_streaming

logger = logging.getLogger(__name__)

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
    version = _version_cached(version_id) if version_id else None
    if version is None or stream is None or (stream and version.task == Task.TEXT_GENERATION):
        return _prediction_execute_single(prediction_id=prediction_id, worker=worker)
    device = worker_device()
    cache = model_cache()
    worker = f"{worker or socket.gethostname()} pid={os.getpid()}"
    key = (version.pk, version.sha256, device)
    warm_keys = cache.keys()
    if key not in warm_keys:  # cold: the caller sees `starting` (its attempt counted) while the model loads
        claim_mark_starting(prediction_id, device=device, worker=worker)
    try:
        cached, load_ms = cache.get(key, lambda: version_load(version, device=device),
                                    max_batch_size=version.max_batch_size, max_wait_ms=version.max_wait_ms)
    except Exception as exc:
        logger.warning("could not load version %s", version.pk, exc_info=True)
        return prediction_fail(prediction_id, _("The model failed: %(error)s") % {
            "error": f"{type(exc).__name__}: {exc}"[:1000]})
    runner = _batch_runner(version, cached, worker=worker, device=device)
    runner.expect()
    try:
        _submit_until_the_database_answers(runner, prediction_id, load_ms, timeout=version.soft_time_limit)
    except TimeoutError:
        return prediction_fail(prediction_id, _("The model did not answer within %(s)d seconds.")
                               % {"s": version.soft_time_limit})
    except Exception as exc:  # the batch itself broke (e.g. the database went away): this one must still end
        logger.warning("batch of %s failed", prediction_id, exc_info=True)
        return prediction_fail(prediction_id, _("The model failed: %(error)s") % {
            "error": f"{type(exc).__name__}: {exc}"[:1000]})
    finally:
        runner.forget()
    return None


def _batch_runner(version: AppVersion, cached: CachedModel, *, worker: str, device: str) -> Batcher:
    """The model's runner. With the model in a process of its own, in two stages: batch N is finished (its
    transaction) on a second thread while batch N+1 is claimed and runs in the model process; with the model
    in this process the finish would take the GIL from its forward pass, so one thread does both."""
    if isinstance(cached.predictor, ModelProcess):
        return cached.runner_for(
            lambda items: prediction_batch_start(version=version, predictor=cached.predictor, items=items,
                                                 worker=worker, device=device),
            finish=prediction_batch_finish, max_batch_size=version.max_batch_size,
            max_wait_ms=version.max_wait_ms)
    return cached.runner_for(
        lambda items: prediction_batch_run(version=version, predictor=cached.predictor, items=items,
                                           worker=worker, device=device),
        max_batch_size=version.max_batch_size, max_wait_ms=version.max_wait_ms)


def warm_batch_runner(*, version_id: int | None, stream: bool, worker: str) -> tuple[AppVersion, Batcher] | None:
    """The version's batch runner when its model is loaded in this worker already, without blocking.

    None when the prediction must go through `prediction_execute` (a cold model, a stream, no version): the
    Redis dispatcher then runs that on a thread of its own. `worker` is the full `host pid=N` label.
    """
    version = _version_cached(version_id) if version_id else None
    if version is None or (stream and version.task == Task.TEXT_GENERATION):
        return None
    device = worker_device()
    cached = model_cache().peek((version.pk, version.sha256, device))
    if cached is None:
        return None
    return version, _batch_runner(version, cached, worker=worker, device=device)


def _submit_until_the_database_answers(runner: Any, prediction_id: str, load_ms: float, *, timeout: float) -> None:
    """Run the prediction's batch; a lost database connection is the platform's fault, not the model's.

    Claims and finishes are idempotent (a claim by the same worker is no new attempt, a finish locks only
    still-live rows), so the batch is simply tried again, on a fresh connection, until the database answers
    or PREDICTION_DB_RETRY_SECONDS pass. After that the error escapes: the prediction stays live for the
    requeue loop (`recovery`) instead of being failed for an outage the caller did not cause.
    """
    deadline = time.monotonic() + settings.PREDICTION_DB_RETRY_SECONDS
    while True:
        try:
            runner.submit([{"id": str(prediction_id), "load_ms": load_ms,
                            "request_id": current_request_id()}]).result(timeout=timeout)
            return
        except (OperationalError, InterfaceError):
            if time.monotonic() >= deadline:
                raise
            logger.warning("database unavailable while running %s; trying again", prediction_id, exc_info=True)
            time.sleep(1)


@dataclass
class StartedBatch:
    """A batch claimed and run, not yet finished (`prediction_batch_finish` stores it in one transaction)."""

    ids: list[str]
    claimed: list[Prediction]
    results: dict[str, list[dict[str, Any]]]
    errors: dict[str, str]
    batch_size: int
    predict_ms: float
    load_ms: dict[str, float]
    request_ids: dict[str, str]


def prediction_batch_run(*, version: AppVersion, predictor: Any, items: list[dict[str, Any]], worker: str,
                         device: str) -> list[dict[str, Any]]:
    """Run a batch of predictions of one version end to end (see `prediction_execute`). One entry per item."""
    return prediction_batch_finish(prediction_batch_start(version=version, predictor=predictor, items=items,
                                                          worker=worker, device=device))


def prediction_batch_finish(started: StartedBatch) -> list[dict[str, Any]]:
    """Store a started batch's outputs and settle it, in one transaction (`finish.finish_batch`)."""
    if not connection.in_atomic_block:
        close_old_connections()  # the finisher thread lives long: drop a connection that expired or broke
    finish_batch(started.claimed, results=started.results, errors=started.errors, batch_size=started.batch_size,
                 predict_ms=started.predict_ms, load_ms=started.load_ms, request_ids=started.request_ids)
    return [{"id": i} for i in started.ids]


def prediction_batch_start(*, version: AppVersion, predictor: Any, items: list[dict[str, Any]], worker: str,
                           device: str) -> StartedBatch:
    """Claim a batch (one UPDATE ... RETURNING) and run its forward pass; a bad input fails only its own."""
    if not connection.in_atomic_block:
        close_old_connections()  # the runner thread lives long: drop a connection that expired or broke
    ids = [item["id"] for item in items]
    load_ms = {item["id"]: float(item.get("load_ms") or 0) for item in items}
    request_ids = {item["id"]: item.get("request_id") or "" for item in items}
    claimed = claim_batch(ids, device=device, worker=worker)
    errors: dict[str, str] = {}
    inputs: list[tuple[Prediction, list[dict[str, Any]]]] = []
    for prediction in claimed:
        try:
            inputs.append((prediction, schemas.input_items(task=version.task, data=prediction.input)))
        except Exception as exc:  # a bad input fails its own prediction only
            errors[str(prediction.pk)] = _("The model failed: %(error)s") % {
                "error": f"{type(exc).__name__}: {exc}"[:1000]}
    results: dict[str, list[dict[str, Any]]] = {}
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
    return StartedBatch(ids=ids, claimed=claimed, results=results, errors=errors, batch_size=batch_size,
                        predict_ms=predict_ms, load_ms=load_ms, request_ids=request_ids)


def _prediction_execute_single(*, prediction_id: str, worker: str = "") -> Prediction | None:
    """One prediction on its own (streams, and tasks queued before batch routing existed)."""
    device = worker_device()
    cache = model_cache()
    prediction = prediction_claim(prediction_id, device=device, worker=worker or socket.gethostname(),
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
            output, batch_size, predict_ms = run_streaming(prediction, cached.predictor, items[0])
        else:
            cached.batcher.expect()
            try:
                result = cached.batcher.submit(items).result(timeout=version.soft_time_limit)
            finally:
                cached.batcher.forget()
            output = schemas.output_assemble(data=prediction.input, outputs=result.outputs)
            batch_size, predict_ms = result.batch_size, result.predict_ms
    except TimeoutError:
        return prediction_fail(prediction_id, _("The model did not answer within %(s)d seconds.")
                               % {"s": version.soft_time_limit})
    except Exception as exc:
        logger.warning("prediction %s failed", prediction_id, exc_info=True)
        return prediction_fail(prediction_id, _("The model failed: %(error)s") % {
            "error": f"{type(exc).__name__}: {exc}"[:1000]})
    elapsed = time.perf_counter() - started
    try:
        return prediction_succeed(prediction, output=json_safe(output), metrics={
            "load_ms": round(load_ms, 1), "predict_ms": round(predict_ms, 1), "batch_size": batch_size,
        }, compute_seconds=Decimal(str(round(predict_ms / 1000 / max(batch_size, 1) + load_ms / 1000, 6))),
            wall_seconds=elapsed)
    except DatabaseError as exc:  # an output the database cannot store must still end the prediction
        logger.warning("could not store the output of %s", prediction_id, exc_info=True)
        return prediction_fail(prediction_id, _("The output could not be stored: %(error)s") % {
            "error": str(exc).splitlines()[0][:300]})
