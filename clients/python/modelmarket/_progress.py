"""Progress bars (rich) for uploads and training, shown only on a terminal unless forced."""
from __future__ import annotations

import os
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn


def upload_progress(console: Console | None = None) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                    TimeRemainingColumn(), console=console or Console(stderr=True), transient=False)


def training_progress(console: Console | None = None) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                    TextColumn("{task.fields[detail]}"), console=console or Console(stderr=True))


class ReadProgress:
    """A file wrapper that advances a progress task as httpx reads it for the multipart body."""

    def __init__(self, file: IO[bytes], progress: Progress, task: Any) -> None:
        self._file, self._progress, self._task = file, progress, task

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self._progress.advance(self._task, len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        return self._file.fileno()

    @property
    def name(self) -> str:
        return os.path.basename(getattr(self._file, "name", "upload"))


def job_detail(metrics: dict[str, Any] | None) -> str:
    metrics = metrics or {}
    parts = []
    for key in ("step", "epoch", "loss", "eval_accuracy"):
        value = metrics.get(key)
        if value is not None:
            parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    return "  ".join(parts)
