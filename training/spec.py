"""What a training run is, without any ML import (the web side reads this; `trainer` runs it).

The hyperparameters and their bounds, the spec of a run and its result, the reporter the loop calls between
steps, and the two ways a run ends early.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

HYPERPARAMETERS: dict[str, tuple[type, float, float, float, float]] = {
    # name: (type, minimum, maximum, default for transformers, default for keras)
    "epochs": (int, 1, 20, 3, 5),
    "learning_rate": (float, 1e-6, 1e-1, 5e-5, 1e-3),
    "batch_size": (int, 1, 128, 16, 32),
    "max_length": (int, 8, 512, 128, 128),
    "seed": (int, 0, 2**31 - 1, 42, 42),
}


class TrainingStopped(Exception):
    """Raised by a reporter to end the loop: `reason` is `canceled` or `time_limit`."""

    def __init__(self, reason: str, message: str = ""):
        super().__init__(message or reason)
        self.reason = reason


class TrainingRefused(Exception):
    """The base model or data cannot be trained as asked; the message is for the developer."""


class Reporter(Protocol):
    def step(self, *, step: int, total_steps: int, epoch: int, loss: float) -> None: ...

    def epoch_end(self, *, epoch: int, loss: float, eval_loss: float, eval_accuracy: float) -> None: ...

    def log(self, line: str) -> None: ...


@dataclass
class TrainSpec:
    framework: str
    base_path: Path
    train: list[tuple[str, str]]
    validation: list[tuple[str, str]]
    labels: list[str]
    hyperparameters: dict[str, Any]
    output_dir: Path
    device: str = "cpu"
    base_labels: list[str] = field(default_factory=list)
    cpu_threads: int = 0


@dataclass
class TrainResult:
    artifact_path: Path
    metrics: dict[str, Any]
    labels: list[str]
    parameter_count: int
