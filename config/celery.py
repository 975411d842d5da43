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
