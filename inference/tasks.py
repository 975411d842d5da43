"""Celery tasks of inference: thin wrappers that take ids and call one service.

The web process imports this module to queue tasks, so the worker code (`inference.worker`) is imported
inside the task bodies and signal handlers only, never at module level.
"""
import logging
import socket

from celery import shared_task, signals
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


# ignore_result: the outcome lives on the version / prediction rows; a result-backend row per task is waste.
# A model that fails its checks ends `invalid` inside the service; only a lost database connection is retried.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
             autoretry_for=(OperationalError,), max_retries=2, retry_backoff=5)
def validate_version(self, version_id: int) -> None:
    from .worker.engine import worker_device
    from .worker.validation import version_validate

    version_validate(version_id=version_id, device=worker_device())


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=0, ignore_result=True)
def run_prediction(self, prediction_id: str, version_id: int | None = None, stream: bool | None = None) -> None:
    """Idempotent: a redelivered prediction (worker lost) runs again unless it already finished.

    Returns (and is acked) only after the batch that ran it committed its outputs and settlement.
    """
    from .worker.execute import prediction_execute
    from .worker.finish import prediction_fail_if_running

    try:
        prediction_execute(prediction_id=prediction_id, worker=self.request.hostname or socket.gethostname(),
                           version_id=version_id, stream=stream)
    except SoftTimeLimitExceeded:
        prediction_fail_if_running(prediction_id=prediction_id, error=_("The model ran past its time limit."))


@shared_task(bind=True, acks_late=True, max_retries=None, ignore_result=True)
def deliver_webhook(self, delivery_id: int) -> None:
    """One attempt per run; retried with growing delays until delivered or out of attempts."""
    from .erasure import prediction_webhook_ended
    from .services.webhooks import webhook_attempt, webhook_retry_delays

    if not webhook_attempt(delivery_id=delivery_id):
        delays = webhook_retry_delays()
        raise self.retry(countdown=delays[min(self.request.retries, len(delays) - 1)])
    prediction_webhook_ended(delivery_id=delivery_id)  # a `store: false` answer it carried is erased now


# --- Worker lifecycle: heartbeat with queues and devices (routing and 503s), lost-message recovery ----------

@signals.worker_ready.connect
def _worker_ready(sender=None, **kwargs) -> None:
    from .worker.lifecycle import worker_started

    worker_started(sender)


@signals.worker_shutting_down.connect
def _worker_shutting_down(sender=None, **kwargs) -> None:
    from .worker.lifecycle import worker_stop_taking

    worker_stop_taking()


@signals.worker_shutdown.connect
def _worker_shutdown(sender=None, **kwargs) -> None:
    from .worker.lifecycle import worker_stopping

    worker_stopping(hostname=getattr(sender, "hostname", "") or "")
