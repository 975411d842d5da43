"""The worker's dynamic batcher and model cache, on a real tiny model and real threads."""
import threading
import time

from inference.runtimes import load
from inference.worker.batching import Batcher
from inference.worker.engine import ModelCache


def test_concurrent_requests_run_as_one_batch_and_get_their_own_answers(tiny_models):
    predictor = load(str(tiny_models["embedder_dir"]), framework="transformers", task="feature-extraction")
    seen_batches: list[int] = []

    def predict(items):
        seen_batches.append(len(items))
        return predictor.predict(items)

    batcher = Batcher(predict, max_batch_size=8, max_wait_ms=500)
    texts = [f"sentence number {i} about the market" for i in range(8)]
    results: dict[int, object] = {}
    for _ in texts:
        batcher.expect()

    def client(i):
        results[i] = batcher.submit([{"text": texts[i]}]).result(timeout=30)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen_batches == [8]
    assert all(result.batch_size == 8 for result in results.values())
    for i, text in enumerate(texts):
        alone = predictor.predict([{"text": text}])[0]["embedding"]
        assert results[i].outputs[0]["embedding"] == alone or max(
            abs(a - b) for a, b in zip(results[i].outputs[0]["embedding"], alone, strict=True)) < 1e-4


def test_a_lone_request_does_not_wait_for_the_batch_window(tiny_models):
    predictor = load(str(tiny_models["embedder_dir"]), framework="transformers", task="feature-extraction")
    batcher = Batcher(predictor.predict, max_batch_size=32, max_wait_ms=2000)
    batcher.expect()
    started = time.monotonic()
    result = batcher.submit([{"text": "only me"}]).result(timeout=30)
    assert time.monotonic() - started < 1.0 and result.batch_size == 1


def test_batches_respect_max_batch_size_and_split_failures():
    calls: list[list[str]] = []

    def predict(items):
        calls.append([item["text"] for item in items])
        if any(item["text"] == "boom" for item in items):
            raise ValueError("bad input")
        return [{"text": item["text"].upper()} for item in items]

    batcher = Batcher(predict, max_batch_size=3, max_wait_ms=300)
    for _ in range(5):
        batcher.expect()
    futures = [batcher.submit([{"text": t}]) for t in ("a", "b", "boom", "c", "d")]
    assert futures[0].result(5).outputs == [{"text": "A"}]
    assert futures[3].result(5).outputs == [{"text": "C"}]
    try:
        futures[2].result(5)
        raise AssertionError("expected the bad input to fail")
    except ValueError:
        pass
    assert all(len(call) <= 3 for call in calls)


class _Sized:
    def __init__(self, size):
        self.size = size

    def estimated_bytes(self):
        return self.size

    def predict(self, items):
        return items


def test_model_cache_loads_once_and_evicts_least_recently_used():
    cache = ModelCache(budget_bytes=250)
    loads: list[str] = []

    def loader(name):
        def load_it():
            loads.append(name)
            time.sleep(0.05)
            return _Sized(100)
        return load_it

    _, first_ms = cache.get(("a",), loader("a"), max_batch_size=4, max_wait_ms=1)
    _, warm_ms = cache.get(("a",), loader("a"), max_batch_size=4, max_wait_ms=1)
    assert first_ms > 0 and warm_ms == 0
    cache.get(("b",), loader("b"), max_batch_size=4, max_wait_ms=1)
    cache.get(("a",), loader("a"), max_batch_size=4, max_wait_ms=1)  # a is now the most recent
    cache.get(("c",), loader("c"), max_batch_size=4, max_wait_ms=1)  # over budget: b goes
    assert cache.keys() == [("a",), ("c",)]
    threads = [threading.Thread(target=cache.get, args=(("d",), loader("d")),
                                kwargs={"max_batch_size": 4, "max_wait_ms": 1}) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads.count("d") == 1 and loads.count("a") == 1
