"""Framework runtimes behind one small interface: `load(...) -> Predictor`, then `predictor.predict(batch)`.

Only workers import this package: it pulls in torch or TensorFlow, which the web process never loads.
Fine-tuning (training) reuses it to evaluate and publish its results.

A batch is a list of items, one per input: `{"text": str}` (plus `max_new_tokens` for generation),
`{"image": PIL.Image}` or `{"answer": str, "reference": str}` (answer grading). `predict` answers one output
dict per item, in order.
"""
from collections.abc import Iterator
from typing import Protocol


class ModelRefused(Exception):
    """The artifact cannot be loaded safely or does not fit its task; the message is for the developer."""


class Predictor(Protocol):
    task: str
    device: str
    parameter_count: int
    labels: list[str]

    def predict(self, batch: list[dict]) -> list[dict]: ...

    def stream(self, item: dict) -> Iterator[str]: ...

    def estimated_bytes(self) -> int: ...


def load(path: str, *, framework: str, task: str, device: str = "cpu", labels: list[str] | None = None) -> Predictor:
    """Load a checked artifact folder (transformers) or `.keras` file (keras) onto `device`.

    An artifact's `modelmarket.json` may add a notice to every output (runtimes/artifact_meta.py).
    """
    from .artifact_meta import with_notice

    if framework == "transformers" and task == "answer-grading":
        from .grading_runtime import GradingPredictor

        return with_notice(GradingPredictor(path, device=device), path)
    if framework == "transformers":
        from .transformers_runtime import TransformersPredictor

        return with_notice(TransformersPredictor(path, task=task, device=device), path)
    if framework == "keras":
        from .keras_runtime import KerasPredictor

        return with_notice(KerasPredictor(path, task=task, device=device, labels=labels), path)
    raise ModelRefused(f"Unknown framework {framework!r}.")


def detect_devices() -> dict:
    """What this machine offers (see `devices.detect_devices`)."""
    from .devices import detect_devices as detect

    return detect()
