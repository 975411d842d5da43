"""The Celery app. Tasks live in each Django app's `tasks.py` and stay thin."""
import os

from celery import Celery

from .kombu_fs import install as install_fs_transport

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
install_fs_transport()

# Every queue a worker may serve; `inference-*` per hardware class, `training` for fine-tuning jobs.
# `webhooks` and `validation` have their own worker process, so slow receivers or hostile uploads
# cannot starve predictions.
QUEUES = ("default", "inference-cpu", "inference-gpu", "training", "webhooks", "validation")

app = Celery("modelmarket")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def message_priority(level: int) -> int:
    """A priority on the 0-9 "higher runs first" scale, as the broker wants it.

    AMQP (RabbitMQ, x-max-priority queues) delivers higher numbers first; Celery's Redis transport keeps one
    list per priority step and reads priority 0 first, so the scale is flipped there.
    """
    level = max(0, min(9, int(level)))
    return 9 - level if str(app.conf.broker_url or "").startswith(("redis://", "rediss://")) else level


def _connect_observability() -> None:
    from .observability import connect_celery_signals

    connect_celery_signals()


_connect_observability()
