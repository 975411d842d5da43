"""The Redis dispatcher of an inference worker: prediction ids from Redis lists straight to the batch runners.

With a Redis broker the web side pushes each prediction's id onto a list per queue and priority level
(`inference.dispatch`); there is no Celery task per prediction. In each inference worker process:

- one pop thread, for every queue the worker serves, moves up to `capacity` ids at once (the worker's
  concurrency, minus what it holds) from each queue's `high` list, then its `low` one, into this worker's
  processing list, one Lua script per queue; when all are empty it blocks (BLPOP on every list, 1 s) and moves
  what it got the same way;
- a warm model's ids go straight to the version's batch runner (`execute.warm_batch_runner`) with a callback:
  no thread per prediction. A cold model, a stream or an old message without a version runs
  `execute.prediction_execute` (load, claim, batch) on a thread of a pool of `capacity` threads;
- the keeper thread removes an id from the processing list only after its batch committed (the `acks_late`
  of the Celery task), fails a prediction still running past its version's soft time limit (what the Celery
  task's `result(timeout=...)` did), renews this worker's lease and puts the processing lists of workers whose
  lease expired back at the head of their queues.

A duplicate id (a returned list, a re-sent lost message) is harmless: the claim is a conditional UPDATE and a
batch finishes only still-live rows, so nothing runs or is charged twice. On SIGTERM (`worker_shutting_down`)
the pop threads stop taking ids; `drain` (on `worker_shutdown`) waits for what the worker holds, acks it and
gives back anything left.
"""
from __future__ import annotations

import functools
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils.translation import gettext as _

from config.observability import request_id_var

from ..dispatch import WORKERS_KEY, Message, alive_key, processing_key, queue_keys
from ..notify import broker_redis
from .batching import Batcher
from .execute import prediction_execute, warm_batch_runner
from .finish import prediction_fail

logger = logging.getLogger(__name__)
task_logger = logging.getLogger("modelmarket.tasks")
POP_BLOCK_SECONDS = 1

# KEYS: high, low, processing. ARGV: n, peers. Moves up to n ids, the high list first, to the processing list;
# never more than this worker's share of what waits (ceil(waiting / live workers of the queue)), so that a worker
# with room does not take a burst its peers could start at once.
_CLAIM = """
local out = {}
local n = tonumber(ARGV[1])
local share = math.ceil((redis.call('LLEN', KEYS[1]) + redis.call('LLEN', KEYS[2])) / tonumber(ARGV[2]))
if share < n then n = share end
for i = 1, 2 do
  if n <= 0 then break end
  local got = redis.call('LPOP', KEYS[i], n)
  if got then
    redis.call('RPUSH', KEYS[3], unpack(got))
    for _, m in ipairs(got) do out[#out + 1] = m end
    n = n - #got
  end
end
return out
"""
# KEYS: the worker's lease, its processing list, high, low. Puts every held id back at the head of its list, in
# the order it was taken; -1 (nothing moved) when the worker's lease exists (it is alive after all).
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local moved = 0
local m = redis.call('RPOP', KEYS[2])
while m do
  if string.sub(m, 1, 1) == 'h' then redis.call('LPUSH', KEYS[3], m) else redis.call('LPUSH', KEYS[4], m) end
  moved = moved + 1
  m = redis.call('RPOP', KEYS[2])
end
return moved
"""


@dataclass(eq=False)
class _Held:
    """One id this worker holds, from the pop until its ack."""

    queue: str
    raw: bytes
    message: Message
    runner: Batcher | None = None
    limit_seconds: int = 0
    deadline: float = 0.0
    started: float = 0.0
    retry_until: float = 0.0


class Dispatcher:
    def __init__(self, *, queues: list[str], capacity: int, hostname: str, client: Any = None):
        self.queues = list(queues)
        self.capacity = max(1, int(capacity))
        self.hostname = hostname
        self.worker_id = f"{hostname}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.label = f"{hostname} pid={os.getpid()}"  # the `worker` of the predictions it claims
        self.client = client or broker_redis()
        self._claim = self.client.register_script(_CLAIM)
        self._give_back = self.client.register_script(_GIVE_BACK)
        self._free = self.capacity
        self._slots = threading.Condition()
        self._stopping = threading.Event()
        self._closing = threading.Event()
        self._running: dict[int, _Held] = {}  # handed to a runner with a callback; the keeper watches deadlines
        self._running_lock = threading.Lock()
        self._events: queue.SimpleQueue[tuple[str, _Held, BaseException | None]] = queue.SimpleQueue()
        self._pool = ThreadPoolExecutor(max_workers=self.capacity, thread_name_prefix="prediction")
        self._unacked: list[_Held] = []  # acks that could not reach Redis yet
        self._peers: dict[str, int] = {}  # live workers per served queue, this one included (the keeper counts)
        self._retries: list[tuple[float, _Held]] = []  # (when, held): batches the database broke, tried again
        self._poppers: list[threading.Thread] = []
        self._keeper: threading.Thread | None = None

    # --- life -------------------------------------------------------------------------------------------------

    def start(self) -> Dispatcher:
        try:
            self._renew_lease()
        except Exception:  # Redis away at start: the keeper renews it, the pop threads retry
            logger.warning("redis dispatch: could not take the lease yet", exc_info=True)
        self._keeper = threading.Thread(target=self._keep, daemon=True, name="dispatch-keeper")
        self._keeper.start()
        thread = threading.Thread(target=self._pop_loop, daemon=True, name="dispatch-pop")
        thread.start()
        self._poppers.append(thread)
        logger.info("redis dispatch: worker %s takes up to %d ids from %s", self.worker_id, self.capacity,
                    ", ".join(self.queues))
        return self

    def stop_taking(self) -> None:
        """SIGTERM: take no more ids (what is held still runs and is acked)."""
        self._stopping.set()
        with self._slots:
            self._slots.notify_all()

    def drain(self, timeout: float | None = None) -> bool:
        """Stop taking, wait for every held id to finish and be acked, give back anything left; True when drained."""
        self.stop_taking()
        for thread in self._poppers:
            thread.join(POP_BLOCK_SECONDS + 5)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._slots:
            while self._free < self.capacity and (deadline is None or time.monotonic() < deadline):
                self._slots.wait(0.2)
            drained = self._free >= self.capacity
        self._closing.set()
        if self._keeper is not None:
            self._keeper.join(30)
        self._pool.shutdown(wait=False)
        try:
            self.client.delete(alive_key(self.worker_id))
            returned = self.give_back_worker(self.worker_id, self.queues)
            if returned:
                logger.warning("redis dispatch: gave %d held id(s) back to the queue on shutdown", returned)
        except Exception:  # the survivors return the list once the lease has expired
            logger.warning("redis dispatch: could not give back on shutdown", exc_info=True)
        return drained

    # --- taking ids ---------------------------------------------------------------------------------------------

    def _reserve(self, most: int, *, wait: bool = True) -> int:
        with self._slots:
            while wait and self._free <= 0 and not self._stopping.is_set():
                self._slots.wait(0.5)
            if self._stopping.is_set():
                return 0
            taken = min(self._free, most)
            self._free -= taken
            return taken

    def _release(self, count: int = 1) -> None:
        if count:
            with self._slots:
                self._free += count
                self._slots.notify_all()

    def _pop_loop(self) -> None:
        """The one thread that takes ids, for every served queue: a second pop thread would compete with it for
        the slots, and with one slot the idle queue's thread, blocked in BLPOP, starved the busy one."""
        owners = {key: name for name in self.queues for key in queue_keys(name)}
        blocking = [queue_keys(name)[0] for name in self.queues] + [queue_keys(name)[1] for name in self.queues]
        while not self._stopping.is_set():
            reserved = 0
            try:
                reserved = self._reserve(self.capacity)
                if not reserved:
                    break
                taken = self._claim_each(reserved)
                if not taken:
                    self._release(reserved - 1)
                    reserved = 1  # one slot kept while blocking: the id BLPOP brings has room
                    got = self.client.blpop(blocking, timeout=POP_BLOCK_SECONDS)
                    if got is None:
                        continue
                    key, raw = got
                    key = key.decode() if isinstance(key, bytes) else key
                    if self._stopping.is_set():  # SIGTERM came while it waited: leave it for the next worker
                        self.client.lpush(key, raw)
                        continue
                    self.client.rpush(processing_key(owners[key], self.worker_id), raw)
                    taken = {owners[key]: [raw]}
                    more = self._reserve(self.capacity, wait=False)
                    reserved += more
                    for name, raws in self._claim_each(more).items():
                        taken.setdefault(name, []).extend(raws)
                count = sum(len(raws) for raws in taken.values())
                self._release(reserved - count)
                reserved = 0
                for name, raws in taken.items():
                    self._hand_over(name, raws)
            except Exception:  # Redis or the database away for a moment: the worker goes on
                logger.warning("redis dispatch: taking ids from %s failed", ", ".join(self.queues), exc_info=True)
                self._stopping.wait(1)
            finally:
                self._release(reserved)

    def _claim_each(self, most: int) -> dict[str, list[bytes]]:
        """Up to `most` ids moved into this worker's processing lists, queue by queue in the order served."""
        taken: dict[str, list[bytes]] = {}
        for name in self.queues:
            if most <= 0:
                break
            high, low = queue_keys(name)
            raws = list(self._claim(keys=[high, low, processing_key(name, self.worker_id)],
                                    args=[most, self._peers.get(name, 1)]))
            if raws:
                taken[name] = raws
                most -= len(raws)
        return taken

    def _hand_over(self, name: str, raws: list[bytes]) -> None:
        """Warm models: to the runner with a callback (the runner sees them all coming first); else to the pool."""
        close_old_connections()  # this thread reads versions (cached 30 s): drop a broken connection
        batched: list[_Held] = []
        for raw in raws:
            try:
                message = Message.decode(raw)
            except ValueError:  # not ours to run: dropped, never retried
                logger.error("redis dispatch: dropped a malformed message %r", raw[:200])
                self.client.lrem(processing_key(name, self.worker_id), 1, raw)
                self._release()
                continue
            held = _Held(queue=name, raw=raw, message=message, started=time.monotonic())
            try:
                found = warm_batch_runner(version_id=held.message.version_id, stream=held.message.stream,
                                          worker=self.label)
            except Exception:
                logger.warning("redis dispatch: no runner for %s", held.message.prediction_id, exc_info=True)
                found = None
            if found is None:
                self._guarded(self._pool.submit, self._run_blocking, held)
                continue
            version, held.runner = found
            held.limit_seconds = version.soft_time_limit
            held.runner.expect()
            batched.append(held)
        for held in batched:
            self._guarded(self._submit, held)

    def _guarded(self, hand: Callable[..., Any], *args: Any) -> None:
        """A hand-over that breaks frees its slot; the id stays in the processing list (given back at shutdown)."""
        try:
            hand(*args)
        except Exception:
            logger.exception("redis dispatch: could not hand over an id")
            self._release()

    def _submit(self, held: _Held) -> None:
        """To the runner (which has been told to `expect` it), watched for its time limit, acked by the callback."""
        assert held.runner is not None
        held.deadline = time.monotonic() + held.limit_seconds
        with self._running_lock:
            self._running[id(held)] = held
        try:
            future = held.runner.submit([{"id": held.message.prediction_id, "load_ms": 0.0,
                                          "request_id": held.message.request_id}])
        except Exception:
            with self._running_lock:
                self._running.pop(id(held), None)
            held.runner.forget()
            raise
        future.add_done_callback(functools.partial(self._batched_done, held))

    def _batched_done(self, held: _Held, future: Future) -> None:
        """On the runner thread, after the batch committed: hand the ack to the keeper, free the slot."""
        with self._running_lock:
            if self._running.pop(id(held), None) is None:
                return  # failed by the keeper at its time limit already
        assert held.runner is not None
        held.runner.forget()
        error = future.exception()
        if isinstance(error, (OperationalError, InterfaceError)):  # the database, not the model: try again
            self._events.put(("retry", held, error))
            return
        if error is not None:
            self._events.put(("fail", held, error))
            return
        self._events.put(("ack", held, None))
        self._release()

    def _run_blocking(self, held: _Held) -> None:
        """A cold model, a stream, an old message: the same work the Celery task did, on a pool thread."""
        token = request_id_var.set(held.message.request_id)
        try:
            close_old_connections()
            prediction_execute(prediction_id=held.message.prediction_id, worker=self.hostname,
                               version_id=held.message.version_id, stream=held.message.stream)
        except Exception:
            logger.exception("prediction %s failed to run", held.message.prediction_id)
        finally:
            request_id_var.reset(token)
            self._events.put(("ack", held, None))
            self._release()

    # --- the keeper: acks, time limits, leases --------------------------------------------------------------

    def _keep(self) -> None:
        lease_every = max(1.0, settings.PREDICTION_DISPATCH_LEASE_SECONDS / 3)
        next_lease = time.monotonic()  # dead workers' lists are looked for at once, then every lease_every
        while True:
            try:
                if time.monotonic() >= next_lease and not self._closing.is_set():
                    next_lease = time.monotonic() + lease_every
                    self._renew_lease()
                    self._reap_dead_workers()
            except Exception:
                logger.warning("redis dispatch: lease renewal failed", exc_info=True)
            acks: list[_Held] = []
            events: list[tuple[str, _Held, BaseException | None]] = []
            try:
                events.append(self._events.get(timeout=0.25))
                while True:
                    events.append(self._events.get_nowait())
            except queue.Empty:
                pass
            try:
                now = time.monotonic()
                due = [held for at, held in self._retries if at <= now]
                self._retries = [(at, held) for at, held in self._retries if at > now]
                for held in due:
                    assert held.runner is not None
                    held.runner.expect()
                    self._guarded(self._submit, held)
                for kind, held, error in events:
                    if kind == "retry":
                        # As `execute._submit_until_the_database_answers`: the claim and the finish are
                        # idempotent, so the batch is tried again on a fresh connection, once a second, for
                        # PREDICTION_DB_RETRY_SECONDS; then the prediction is given up like any failed batch.
                        held.retry_until = held.retry_until or now + settings.PREDICTION_DB_RETRY_SECONDS
                        if now < held.retry_until:
                            logger.warning("database unavailable while running %s; trying again",
                                           held.message.prediction_id, exc_info=error)
                            self._retries.append((now + 1, held))
                            continue
                        kind = "fail"
                    if kind == "fail":
                        self._fail(held, _("The model failed: %(error)s") % {
                            "error": f"{type(error).__name__}: {error}"[:1000]})
                        self._release()
                    acks.append(held)
                acks += self._expire_overdue()
                acks, self._unacked = self._unacked + acks, []
                if acks:
                    try:
                        self._ack(acks)
                    except Exception:  # Redis away for a moment: acked on the next round
                        self._unacked = acks
                        raise
            except Exception:
                logger.warning("redis dispatch: keeper step failed", exc_info=True)
            if self._closing.is_set() and self._events.empty() and not self._unacked:
                return

    def _expire_overdue(self) -> list[_Held]:
        now = time.monotonic()
        with self._running_lock:
            overdue = [held for held in self._running.values() if held.deadline <= now]
            for held in overdue:
                del self._running[id(held)]
        for held in overdue:
            assert held.runner is not None
            held.runner.forget()
            self._fail(held, _("The model did not answer within %(s)d seconds.") % {"s": held.limit_seconds})
            self._release()
        return overdue

    def _fail(self, held: _Held, error: str) -> None:
        token = request_id_var.set(held.message.request_id)
        try:
            close_old_connections()
            prediction_fail(held.message.prediction_id, error)
        except Exception:  # still queued or running in the database: the requeue loop or a redelivery ends it
            logger.warning("could not fail %s", held.message.prediction_id, exc_info=True)
        finally:
            request_id_var.reset(token)

    def _ack(self, helds: list[_Held]) -> None:
        """Remove the ids from this worker's processing lists: one pipelined round trip."""
        pipe = self.client.pipeline(transaction=False)
        for held in helds:
            pipe.lrem(processing_key(held.queue, self.worker_id), 1, held.raw)
        pipe.execute()
        if task_logger.isEnabledFor(logging.INFO):
            now = time.monotonic()
            for held in helds:
                task_logger.info("prediction %s done", held.message.prediction_id, extra={
                    "request_id": held.message.request_id, "task": "inference.dispatch",
                    "task_id": held.message.prediction_id, "state": "SUCCESS",
                    "duration_ms": round((now - held.started) * 1000, 1)})

    def _renew_lease(self) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(alive_key(self.worker_id), "1", px=int(settings.PREDICTION_DISPATCH_LEASE_SECONDS * 1000))
        pipe.hset(WORKERS_KEY, self.worker_id, ",".join(self.queues))
        pipe.execute()

    def _reap_dead_workers(self) -> int:
        """Put back the ids held by workers whose lease expired (SIGKILL, lost host); answers how many."""
        workers = {key.decode() if isinstance(key, bytes) else key: value.decode() if isinstance(value, bytes)
                   else value for key, value in self.client.hgetall(WORKERS_KEY).items()}
        others = [worker for worker in workers if worker != self.worker_id]
        pipe = self.client.pipeline(transaction=False)
        for worker in others:
            pipe.exists(alive_key(worker))
        alive = dict(zip(others, pipe.execute(), strict=True)) if others else {}
        dead = [worker for worker in others if not alive[worker]]
        self._peers = {name: 1 + sum(1 for worker in others if alive[worker] and name in workers[worker].split(","))
                       for name in self.queues}
        returned = 0
        for worker in dead:
            moved = self.give_back_worker(worker, workers[worker].split(","))
            if moved:
                logger.warning("redis dispatch: worker %s is gone; %d id(s) it held are queued again", worker, moved)
            returned += max(moved, 0)
        return returned

    def give_back_worker(self, worker: str, queues: list[str]) -> int:
        """Every id `worker` holds back at the head of its queue; -1 when its lease exists (it lives)."""
        moved = 0
        for name in [q for q in queues if q]:
            count = int(self._give_back(keys=[alive_key(worker), processing_key(name, worker), *queue_keys(name)]))
            if count < 0:
                return -1
            moved += count
        self.client.hdel(WORKERS_KEY, worker)
        return moved


_dispatcher: Dispatcher | None = None


def dispatcher_start(*, queues: list[str], capacity: int, hostname: str) -> Dispatcher | None:
    """Start this process's dispatcher for the inference queues it serves (once)."""
    global _dispatcher
    served = [name for name in queues if name.startswith("inference-")]
    if _dispatcher is not None or not served:
        return _dispatcher
    _dispatcher = Dispatcher(queues=served, capacity=capacity, hostname=hostname).start()
    return _dispatcher


def dispatcher_stop_taking() -> None:
    if _dispatcher is not None:
        _dispatcher.stop_taking()


def dispatcher_drain() -> None:
    global _dispatcher
    if _dispatcher is not None:
        _dispatcher.drain()
        _dispatcher = None
