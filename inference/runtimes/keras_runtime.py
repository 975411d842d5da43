"""Keras 3 runtime on the TensorFlow backend, loaded with `safe_mode=True` (no Lambda layers, no custom code)."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")  # share a GPU instead of taking all its memory

import contextlib  # noqa: E402
import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from . import ModelRefused  # noqa: E402
from .common import ranked  # noqa: E402

SUPPORTED = ("text-classification", "feature-extraction", "image-classification")


def tf_enable_memory_growth() -> int:
    """Let TensorFlow share a GPU instead of grabbing all its memory; answers how many GPUs it sees."""
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        # RuntimeError: already initialised, growth was set earlier in this process.
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
    return len(gpus)


class KerasPredictor:
    def __init__(self, path: str, *, task: str, device: str = "cpu", labels: list[str] | None = None):
        if task not in SUPPORTED:
            raise ModelRefused(f"Keras models are supported for {', '.join(SUPPORTED)}; not for {task}.")
        self.task = task
        self.device = device
        self._tf_device = "/GPU:0" if device.startswith("cuda") else "/CPU:0"
        try:
            with tf.device(self._tf_device):
                self.model = keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:  # Keras raises many types; every one means "cannot load safely".
            message = str(exc)
            if "Lambda" in message or "safe_mode" in message:
                raise ModelRefused(
                    "The model contains a Lambda layer (arbitrary code), which is refused for safety.") from exc
            if "Could not locate" in message or "custom" in message.lower():
                raise ModelRefused("The model uses custom layers or objects (custom code), which is refused.") from exc
            raise ModelRefused(f"The Keras model could not be loaded: {message[:500]}") from exc
        self.parameter_count = int(self.model.count_params())
        self.labels = list(labels or [])
        self._lock = threading.Lock()

    def estimated_bytes(self) -> int:
        return sum(int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in self.model.weights)

    def _input_image_size(self) -> tuple[int, int, int]:
        shape = self.model.inputs[0].shape
        return int(shape[1] or 64), int(shape[2] or 64), int(shape[3] or 3)

    def predict(self, batch: list[dict]) -> list[dict]:
        with self._lock, tf.device(self._tf_device):
            if self.task == "image-classification":
                height, width, channels = self._input_image_size()
                mode = "L" if channels == 1 else "RGB"
                arrays = [np.asarray(item["image"].convert(mode).resize((width, height)), dtype="float32")
                          for item in batch]
                x = tf.constant(np.stack(arrays).reshape(len(batch), height, width, channels))
            else:
                # Keras 3 rejects numpy string arrays: strings go in as a tf.constant.
                x = tf.constant([item["text"] for item in batch])
            out = np.asarray(self.model(x, training=False), dtype="float64")
        if self.task == "feature-extraction":
            norms = np.linalg.norm(out, axis=-1, keepdims=True)
            out = out / np.maximum(norms, 1e-9)
            return [{"embedding": [round(float(v), 6) for v in row], "dim": len(row)} for row in out]
        if out.ndim == 2 and out.shape[1] == 1:  # one sigmoid unit: a binary classifier
            out = np.concatenate([1 - out, out], axis=1)
        if not (np.all(out >= 0) and np.allclose(out.sum(axis=1), 1, atol=1e-3)):
            exp = np.exp(out - out.max(axis=1, keepdims=True))
            out = exp / exp.sum(axis=1, keepdims=True)
        top = 5 if self.task == "image-classification" else None
        return [{"labels": ranked(self.labels, row.tolist())[:top]} for row in out]

    def stream(self, item: dict) -> Iterator[str]:
        yield from (str(out) for out in self.predict([item]))
