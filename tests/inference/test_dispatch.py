"""The Redis dispatch of predictions (inference/dispatch.py, inference/worker/dispatcher.py), on the real Redis
and database: paid before free, a dead worker's held ids queued again, nothing run or charged twice, the time
limit, and the Celery path kept for other brokers. The worker runs in-process here; test_worker.py,
test_batch_worker.py, test_drain.py and test_priority.py drive the same path through real worker processes."""
import threading
import time
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from billing import selectors
from billing.models import Charge, Transaction
from inference.dispatch import WORKERS_KEY, Message, alive_key, dispatch_mode, processing_key, queue_keys
from inference.models import Prediction, PredictionStatus
from tests.billing.conftest import fund
from tests.factories import AppVersionFactory, LibraryEntryFactory, PaidAppFactory, UserFactory
from tests.helpers import wait_until

from .conftest import ready_version

D = Decimal
QUEUE = "inference-cpu"


@pytest.fixture
def redis_lists():
    """The broker's Redis with this queue's dispatch keys empty before and after."""
    from inference.notify import broker_redis

    client = broker_redis()

    def clean():
        keys = [*queue_keys(QUEUE), WORKERS_KEY, *client.keys("modelmarket:dispatch:*")]
        client.delete(*keys)

    clean()
    yield client
    clean()


def _paid_classifier_and_caller(tiny_models, *, funds: str):
    """A paid app on a ready tiny classifier (0.10 a call), and an API client of a funded user who has it."""
    app = PaidAppFactory(base_price=D("0.10"), k=D("0"), max_price=D("1"))
    ready_version(app, tiny_models["classifier"], task="text-classification")
    runner = UserFactory()
    LibraryEntryFactory(user=runner, app=app)
    fund(runner, funds)
    client = APIClient()
    client.force_authenticate(runner)
    return app, client


def _messages(client, key) -> list[Message]:
    return [Message.decode(raw) for raw in client.lrange(key, 0, -1)]


def test_the_dispatch_follows_the_broker_and_the_setting(settings):
    settings.PREDICTION_DISPATCH = "auto"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/6"
    assert dispatch_mode() == "redis"
    settings.CELERY_BROKER_URL = "redis+socket:///tmp/var/redis/redis.sock"  # the embedded default (runplatform)
    assert dispatch_mode() == "redis"
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/modelmarket"
    assert dispatch_mode() == "celery"
    settings.CELERY_BROKER_URL = "filesystem://"
    assert dispatch_mode() == "celery"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/6"
    settings.PREDICTION_DISPATCH = "celery"
    assert dispatch_mode() == "celery"
    settings.PREDICTION_DISPATCH = "auto"
    from tests.helpers import celery_eager

    with celery_eager():  # tasks run in the web process: there is no worker to pop a list
        assert dispatch_mode() == "celery"


def test_paid_ids_are_taken_before_free_ones_and_held_in_the_processing_list(db, redis_lists):
    from inference.worker.dispatcher import Dispatcher

    high, low = queue_keys(QUEUE)
    free = [Message(prediction_id=f"free-{n}", version_id=1, stream=False, high=False) for n in range(3)]
    paid = [Message(prediction_id=f"paid-{n}", version_id=1, stream=False, high=True) for n in range(2)]
    redis_lists.rpush(low, *[m.encode() for m in free])
    redis_lists.rpush(high, *[m.encode() for m in paid])
    worker = Dispatcher(queues=[QUEUE], capacity=3, hostname="order@test")
    taken = [Message.decode(raw).prediction_id
             for raw in worker._claim(keys=[high, low, processing_key(QUEUE, worker.worker_id)], args=[3, 1])]
    assert taken == ["paid-0", "paid-1", "free-0"]
    assert [m.prediction_id for m in _messages(redis_lists, processing_key(QUEUE, worker.worker_id))] == taken
    assert [m.prediction_id for m in _messages(redis_lists, low)] == ["free-1", "free-2"]
    from config.metrics_collectors import queue_depths

    assert queue_depths()[QUEUE] >= 2  # the waiting ones are counted, the held ones are not


def test_a_worker_takes_no_more_than_its_share_of_what_waits(db, redis_lists):
    """Two live workers on the queue: one with room for 8 takes half of the 5 waiting ids (rounded up), not all."""
    from inference.worker.dispatcher import Dispatcher

    high, low = queue_keys(QUEUE)
    redis_lists.rpush(low, *[Message(prediction_id=f"free-{n}", version_id=1, stream=False, high=False).encode()
                             for n in range(5)])
    first = Dispatcher(queues=[QUEUE], capacity=8, hostname="first@test")
    second = Dispatcher(queues=[QUEUE], capacity=8, hostname="second@test")
    first._renew_lease()
    second._renew_lease()
    first._reap_dead_workers()  # the keeper's round also counts the live workers of each queue
    assert first._peers == {QUEUE: 2}
    taken = first._claim(keys=[high, low, processing_key(QUEUE, first.worker_id)], args=[8, first._peers[QUEUE]])
    assert len(taken) == 3 and redis_lists.llen(low) == 2


def test_a_dead_workers_held_ids_go_back_to_the_head_of_their_lists(db, redis_lists, settings):
    from inference.worker.dispatcher import Dispatcher

    high, low = queue_keys(QUEUE)
    redis_lists.rpush(low, Message(prediction_id="waiting", version_id=1, stream=False, high=False).encode())
    held = [Message(prediction_id="held-paid", version_id=1, stream=False, high=True),
            Message(prediction_id="held-free-0", version_id=1, stream=False, high=False),
            Message(prediction_id="held-free-1", version_id=1, stream=False, high=False)]
    alive = Dispatcher(queues=[QUEUE], capacity=1, hostname="alive@test")
    dead = Dispatcher(queues=[QUEUE], capacity=3, hostname="dead@test")
    dead._renew_lease()
    redis_lists.rpush(processing_key(QUEUE, dead.worker_id), *[m.encode() for m in held])
    alive._renew_lease()
    assert alive._reap_dead_workers() == 0  # its lease is still running: it keeps what it holds
    assert redis_lists.llen(processing_key(QUEUE, dead.worker_id)) == 3
    redis_lists.delete(alive_key(dead.worker_id))  # the lease ran out (SIGKILL: nobody renews it)
    assert alive._reap_dead_workers() == 3
    assert [m.prediction_id for m in _messages(redis_lists, high)] == ["held-paid"]
    assert [m.prediction_id for m in _messages(redis_lists, low)] == ["held-free-0", "held-free-1", "waiting"]
    assert not redis_lists.exists(processing_key(QUEUE, dead.worker_id))
    assert dead.worker_id.encode() not in redis_lists.hkeys(WORKERS_KEY)
    assert alive._reap_dead_workers() == 0  # returned once


@pytest.mark.integration
def test_ids_held_by_a_dead_worker_and_sent_twice_complete_and_charge_once(transactional_db, redis_lists,
                                                                          tiny_models):
    from inference.worker.dispatcher import Dispatcher

    app = PaidAppFactory(base_price=D("0.10"), k=D("0"), max_price=D("1"))
    ready_version(app, tiny_models["classifier"], task="text-classification", max_batch_size=8, max_wait_ms=200)
    runner = UserFactory()
    LibraryEntryFactory(user=runner, app=app)
    fund(runner, "2.00")
    client = APIClient()
    client.force_authenticate(runner)
    ids = []
    for n in range(8):
        created = client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": f"profits rose {n}"}},
                              format="json")
        assert created.status_code == 202, created.content
        ids.append(created.json()["id"])
    high, low = queue_keys(QUEUE)
    assert [m.prediction_id for m in _messages(redis_lists, high)] == ids and not redis_lists.llen(low)
    # A worker took the first three, claimed them and died; two others were re-sent while still waiting.
    dead = Dispatcher(queues=[QUEUE], capacity=3, hostname="dead@test")
    dead._renew_lease()
    for _ in range(3):
        redis_lists.lmove(high, processing_key(QUEUE, dead.worker_id), "LEFT", "RIGHT")
    Prediction.objects.filter(pk__in=ids[:3]).update(status="processing", attempts=1, worker="dead@test pid=1")
    redis_lists.delete(alive_key(dead.worker_id))
    for raw in redis_lists.lrange(high, 0, 1):
        redis_lists.rpush(high, raw)
    worker = Dispatcher(queues=[QUEUE], capacity=4, hostname="survivor@test").start()
    try:
        done = wait_until(lambda: (lambda rows: rows if all(p.is_terminal for p in rows) else None)(
            list(Prediction.objects.filter(pk__in=ids))), timeout=240, every=0.1)
        wait_until(lambda: redis_lists.llen(high) == 0 and redis_lists.llen(processing_key(QUEUE, worker.worker_id))
                   == 0, timeout=30, every=0.1)
        time.sleep(1)  # a duplicate completion or settlement would show up here
    finally:
        assert worker.drain(timeout=60)
    assert {p.status for p in done} == {PredictionStatus.SUCCEEDED}, [p.error for p in done]
    restarted = [p for p in done if str(p.pk) in ids[:3]]
    assert all(p.attempts == 2 and "Restarted" in p.logs for p in restarted)
    for pid in ids:
        assert Transaction.objects.filter(prediction_id=pid, kind="settle").count() == 1
        assert Charge.objects.get(subject=f"prediction:{pid}").status == "settled"
    assert selectors.user_held(user=runner) == 0 and selectors.user_balance(user=runner) == D("1.20")
    app.refresh_from_db()
    assert app.runs_count == 8
    assert selectors.ledger_check().ok, selectors.ledger_check().problems
    assert not redis_lists.exists(processing_key(QUEUE, dead.worker_id))
    assert not redis_lists.hkeys(WORKERS_KEY)  # both gone: the dead one returned, the survivor deregistered


class _StuckModel:
    """A model whose forward pass does not return until the test lets it."""

    def __init__(self):
        self.release = threading.Event()

    def predict(self, items):
        self.release.wait(60)
        return [{"labels": [{"label": "positive", "score": 1.0}]} for _ in items]


@pytest.mark.integration
def test_a_prediction_past_its_time_limit_fails_is_acked_and_is_not_charged(transactional_db, redis_lists):
    from inference.worker.batching import Batcher
    from inference.worker.dispatcher import Dispatcher
    from inference.worker.engine import CachedModel, model_cache, worker_device

    app = PaidAppFactory(base_price=D("0.10"), k=D("0"), max_price=D("1"), status="published")
    version = AppVersionFactory(app=app, status="ready", task="text-classification", soft_time_limit=1,
                                time_limit=2)
    runner = UserFactory()
    LibraryEntryFactory(user=runner, app=app)
    fund(runner, "1.00")
    stuck = _StuckModel()
    key = (version.pk, version.sha256, worker_device())
    cache = model_cache()
    with cache._lock:  # a warm model in this worker's cache: the id goes straight to the batch runner
        cache._models[key] = CachedModel(stuck, Batcher(stuck.predict, max_batch_size=1, max_wait_ms=0), 0)
    client = APIClient()
    client.force_authenticate(runner)
    created = client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "slow"}}, format="json")
    assert created.status_code == 202, created.content
    worker = Dispatcher(queues=[QUEUE], capacity=2, hostname="limits@test").start()
    try:
        failed = wait_until(lambda: Prediction.objects.filter(pk=created.json()["id"], status="failed").first(),
                            timeout=60, every=0.1)
        assert "within 1 seconds" in failed.error
        wait_until(lambda: redis_lists.llen(processing_key(QUEUE, worker.worker_id)) == 0, timeout=10, every=0.05)
        stuck.release.set()  # the batch ends after all: it must not turn the failure into a charged success
        time.sleep(1)
    finally:
        stuck.release.set()
        assert worker.drain(timeout=30)
        with cache._lock:
            cache._models.pop(key, None)
    assert Prediction.objects.get(pk=failed.pk).status == "failed"
    assert not Transaction.objects.filter(prediction_id=failed.pk, kind="settle").exists()
    assert selectors.user_held(user=runner) == 0 and selectors.user_balance(user=runner) == D("1.00")


@pytest.mark.integration
def test_a_lost_database_connection_is_retried_on_the_dispatch_path(transactional_db, redis_lists, tiny_models,
                                                                   monkeypatch, caplog):
    """As test_batches' test for the task path: the backends of the worker's threads are killed between two
    predictions (a database restart, a dropped link); the next one, handed straight to the warm runner, still
    succeeds and is charged once."""
    from django.db import connection

    from inference.worker.dispatcher import Dispatcher

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)  # persistent, as workers run
    app, client = _paid_classifier_and_caller(tiny_models, funds="1.00")
    worker = Dispatcher(queues=[QUEUE], capacity=2, hostname="db-loss@test").start()
    try:
        first = client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "one"}}, format="json")
        wait_until(lambda: Prediction.objects.filter(pk=first.json()["id"], status="succeeded").exists(),
                   timeout=120, every=0.05)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            assert cursor.fetchall(), "the worker threads' connections should have been there to kill"
        second = client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "two"}}, format="json")
        done = wait_until(lambda: Prediction.objects.filter(pk=second.json()["id"], status__in=["succeeded", "failed"])
                          .first(), timeout=60, every=0.05)
    finally:
        assert worker.drain(timeout=60)
    assert done.status == PredictionStatus.SUCCEEDED, done.error
    assert f"database unavailable while running {done.pk}" in caplog.text  # the runner's batch really broke
    assert Transaction.objects.filter(prediction_id=done.pk, kind="settle").count() == 1
    assert selectors.ledger_check().ok


@pytest.mark.integration
def test_a_one_slot_worker_serving_two_queues_runs_call_after_call(transactional_db, redis_lists, tiny_models):
    """A prefork worker of concurrency 1 serves `inference-cpu` and `inference-gpu` with one slot. When each queue
    had its own pop thread, the idle queue's thread held that slot while it blocked and took it back after every
    time-out, so the busy queue's next id stayed queued for good (found by the clean-clone CI). One pop thread
    over every list must run one call after another, whichever list they are on."""
    from inference.worker.dispatcher import Dispatcher

    app, client = _paid_classifier_and_caller(tiny_models, funds="2.00")
    worker = Dispatcher(queues=["inference-gpu", QUEUE], capacity=1, hostname="one-slot@test").start()
    try:
        for n in range(4):
            time.sleep(1.2 if n else 0)  # the pop thread has timed out of BLPOP at least once in between
            created = client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": f"call {n}"}},
                                  format="json")
            assert created.status_code == 202, created.content
            pk = created.json()["id"]
            done = wait_until(lambda pk=pk: Prediction.objects.filter(
                pk=pk, status__in=["succeeded", "failed"]).first(), timeout=60, every=0.05)
            assert done.status == PredictionStatus.SUCCEEDED, done.error
        wait_until(lambda: redis_lists.llen(processing_key(QUEUE, worker.worker_id)) == 0, timeout=10, every=0.05)
    finally:
        assert worker.drain(timeout=60)
    assert selectors.ledger_check().ok
