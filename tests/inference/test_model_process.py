"""A model in a process of its own (inference/worker/model_process.py): the same outputs as in the worker, a bad
input's own error, a dead child noticed and the model loaded again, eviction stopping the child, and no child
left behind when its worker is SIGKILLed."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from inference.runtimes import load
from inference.worker.engine import ModelCache
from inference.worker.model_process import ModelProcess, ModelProcessDied, model_process_wanted


def _process(path) -> ModelProcess:
    return ModelProcess(path=str(path), framework="transformers", task="text-classification", device="cpu",
                        labels=None, threads=1)


@pytest.fixture
def classifier(tiny_models):
    return tiny_models["classifier_dir"]


def _wait_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_outputs_are_those_of_the_model_loaded_in_the_worker(classifier):
    items = [{"text": "profits rose"}, {"text": "the market fell sharply today"}, {"text": "shares were flat"}]
    remote = _process(classifier)
    try:
        assert remote.alive and remote._process.pid != os.getpid()
        assert remote.task == "text-classification" and remote.device == "cpu"
        assert remote.parameter_count > 0 and remote.estimated_bytes() > 0
        local = load(str(classifier), framework="transformers", task="text-classification", device="cpu")
        assert remote.labels == list(local.labels or [])
        got, want = remote.predict(items), local.predict(items)
        assert len(got) == len(items)
        for mine, theirs in zip(got, want, strict=True):
            assert [x["label"] for x in mine["labels"]] == [x["label"] for x in theirs["labels"]]
            assert [x["score"] for x in mine["labels"]] == pytest.approx([x["score"] for x in theirs["labels"]],
                                                                         abs=1e-5)
    finally:
        remote.close()
    assert not remote.alive


def test_a_bad_batch_raises_its_own_error_and_the_process_goes_on(classifier):
    remote = _process(classifier)
    try:
        with pytest.raises(Exception) as raised:
            remote.predict([{"text": 12345}])  # the tokenizer refuses a number
        assert not isinstance(raised.value, ModelProcessDied)
        assert remote.alive and len(remote.predict([{"text": "fine"}])) == 1
    finally:
        remote.close()


def test_a_model_that_cannot_load_raises_in_the_worker(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(Exception) as raised:
        ModelProcess(path=str(tmp_path), framework="transformers", task="text-classification", device="cpu",
                     labels=None, threads=1)
    assert not isinstance(raised.value, ModelProcessDied)


def test_a_dead_model_process_is_noticed_and_the_model_loaded_again(classifier):
    cache = ModelCache(budget_bytes=10**10)
    loads = []

    def loader():
        loads.append(1)
        return _process(classifier)

    cached, _ms = cache.get(("v", 1), loader, max_batch_size=8, max_wait_ms=0)
    first = cached.predictor
    os.kill(first._process.pid, signal.SIGKILL)
    with pytest.raises(ModelProcessDied):
        first.predict([{"text": "profits rose"}])
    again, _ms = cache.get(("v", 1), loader, max_batch_size=8, max_wait_ms=0)
    try:
        assert len(loads) == 2 and again.predictor is not first and again.predictor.alive
        assert again.batcher.submit([{"text": "profits rose"}]).result(timeout=30).outputs[0]["labels"]
    finally:
        cache.close()
    assert _wait_gone(again.predictor._process.pid)


def test_an_evicted_model_stops_its_process(classifier):
    cache = ModelCache(budget_bytes=1)  # room for one model only
    first, _ms = cache.get(("a", 1), lambda: _process(classifier), max_batch_size=8, max_wait_ms=0)
    pid = first.predictor._process.pid
    second, _ms = cache.get(("b", 1), lambda: _process(classifier), max_batch_size=8, max_wait_ms=0)
    try:
        assert cache.keys() == [("b", 1)]
        assert _wait_gone(pid), "the evicted model's process is still running"
        assert second.predictor.alive
    finally:
        cache.close()


def test_a_sigkilled_worker_leaves_no_model_process(classifier, tmp_path):
    """The child ends when its pipe closes: a worker killed with SIGKILL runs no cleanup of its own."""
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(os.getcwd())!r})
        from inference.worker.model_process import ModelProcess

        if __name__ == "__main__":
            remote = ModelProcess(path={str(classifier)!r}, framework="transformers", task="text-classification",
                                  device="cpu", labels=None, threads=1)
            remote.predict([{{"text": "hello"}}])
            print(remote._process.pid, flush=True)
            time.sleep(600)
    """))
    worker = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(worker.stdout.readline())
        assert psutil.pid_exists(child)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        assert _wait_gone(child), "the model process outlived its worker"
    finally:
        if worker.poll() is None:
            worker.kill()


def test_where_the_model_process_is_used(settings):
    settings.INFERENCE_MODEL_PROCESS = True
    assert model_process_wanted(task="text-classification") and model_process_wanted(task="feature-extraction")
    assert not model_process_wanted(task="text-generation")  # its streams need the model in the worker
    settings.INFERENCE_MODEL_PROCESS = False
    assert not model_process_wanted(task="text-classification")
