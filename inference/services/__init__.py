"""Writes for inference, web side: artifact uploads, predictions, webhooks.

One module per topic, re-exported here so callers keep one import (`from inference import services`).
Nothing here loads a model: running models is the worker's part (`inference/worker/`), which the web
process never imports.
"""
from .predictions import (
    prediction_cancel,
    prediction_create,
    prediction_requeue,
    prediction_wait,
    queue_for,
    streamed_fraction,
)
from .versions import ArtifactTooLarge, version_revalidate, version_upload
from .webhooks import (
    WEBHOOK_EVENTS,
    webhook_attempt,
    webhook_event_queue,
    webhook_redeliver,
    webhook_retry_delays,
    webhook_secret_for,
    webhook_secret_rotate,
    webhook_sign,
    webhook_url_problem,
)

__all__ = [
    "WEBHOOK_EVENTS",
    "ArtifactTooLarge",
    "prediction_cancel",
    "prediction_create",
    "prediction_requeue",
    "prediction_wait",
    "queue_for",
    "streamed_fraction",
    "version_revalidate",
    "version_upload",
    "webhook_attempt",
    "webhook_event_queue",
    "webhook_redeliver",
    "webhook_retry_delays",
    "webhook_secret_for",
    "webhook_secret_rotate",
    "webhook_sign",
    "webhook_url_problem",
]
