"""Redis-native dispatch of predictions: one RPUSH per call on the web side, no Celery task per prediction.

Used when the broker is Redis (`settings.PREDICTION_DISPATCH`, "auto" by default); with RabbitMQ or the filesystem
broker (and for eager tasks) each prediction stays a Celery task (`inference.tasks.run_prediction`).

Keys, per hardware queue (`inference-cpu`, `inference-gpu`):

    modelmarket:dispatch:<queue>:high                 waiting ids of the higher priority level (paid calls)
    modelmarket:dispatch:<queue>:low                  waiting ids of the lower level (free calls)
    modelmarket:dispatch:<queue>:processing:<worker>  ids a worker holds; removed after its batch commits
    modelmarket:dispatch:alive:<worker>               the worker's lease (PX), refreshed while it runs
    modelmarket:dispatch:workers                      hash: worker -> the queues it serves

A worker (`inference.worker.dispatcher`) moves ids from `high` (first) and `low` into its processing list
atomically, hands them to the versions' batch runners and removes them only after the batch committed, as
Celery's `acks_late` did. The survivors put the processing list of a worker whose lease expired back at the head
of the queue. This module is what the web side needs (keys, the message, the push); it imports no worker code.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

PREFIX = "modelmarket:dispatch"
WORKERS_KEY = f"{PREFIX}:workers"
INFERENCE_QUEUES = ("inference-cpu", "inference-gpu")
_REDIS_SCHEMES = ("redis://", "rediss://", "redis+socket://")


def queue_keys(queue: str) -> tuple[str, str]:
    """The queue's two waiting lists, the one served first first."""
    return f"{PREFIX}:{queue}:high", f"{PREFIX}:{queue}:low"


def processing_key(queue: str, worker: str) -> str:
    return f"{PREFIX}:{queue}:processing:{worker}"


def alive_key(worker: str) -> str:
    return f"{PREFIX}:alive:{worker}"


@dataclass(frozen=True)
class Message:
    """What the web pushes: `h|<id>|<version>|<stream>|<request id>` (the level first: Lua reads it)."""

    prediction_id: str
    version_id: int | None
    stream: bool
    high: bool
    request_id: str = ""

    def encode(self) -> str:
        return (f"{'h' if self.high else 'l'}|{self.prediction_id}|{self.version_id or ''}|{int(self.stream)}|"
                f"{self.request_id}")

    @classmethod
    def decode(cls, raw: str | bytes) -> Message:
        text = raw.decode() if isinstance(raw, bytes) else raw
        level, prediction_id, version, stream, request_id = text.split("|", 4)
        return cls(prediction_id=prediction_id, version_id=int(version) if version else None, stream=stream == "1",
                   high=level == "h", request_id=request_id)


def dispatch_mode() -> str:
    """"redis" or "celery" for the next prediction (read at call time: tests and eager runs switch it)."""
    chosen = settings.PREDICTION_DISPATCH
    if chosen == "celery" or not (settings.CELERY_BROKER_URL or "").startswith(_REDIS_SCHEMES):
        return "celery"
    from config.celery import app

    if app.conf.task_always_eager:  # tasks run in-process: no worker pops the lists
        return "celery"
    return "redis"


def priority_high(*, paid: bool) -> bool:
    """Whether a call goes on the list served first: its level (settings.PREDICTION_PRIORITY) is the higher one."""
    levels = settings.PREDICTION_PRIORITY
    level = levels["paid" if paid else "free"]
    return level > min(levels["paid"], levels["free"])


def dispatch_push(*, queue: str, message: Message) -> None:
    """ONE Redis command: the message at the tail of its list."""
    from .notify import broker_redis

    client = broker_redis()
    if client is None:
        raise RuntimeError("the Redis dispatch needs a Redis broker")
    high, low = queue_keys(queue)
    client.rpush(high if message.high else low, message.encode())


def dispatch_waiting(client: Any, queues: tuple[str, ...] | list[str] = INFERENCE_QUEUES) -> dict[str, int]:
    """Ids waiting per queue (both levels; held ones are not waiting): one pipelined round trip."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for key in queue_keys(queue):
            pipe.llen(key)
    counts = pipe.execute()
    return {queue: int(counts[2 * index] + counts[2 * index + 1]) for index, queue in enumerate(queues)}
