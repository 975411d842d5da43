"""What an artifact says about itself in `modelmarket.json`: an output notice, grading thresholds.

A transformers folder carries it at its top (`modelmarket.json`); a Keras 3 `.keras` file in its assets folder
(`assets/modelmarket.json`, which Keras itself ignores). Plain JSON, read with a size cap; anything unreadable
counts as no metadata, so a model without it behaves exactly as before.
"""
from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

META_NAME = "modelmarket.json"
KERAS_META_NAME = f"assets/{META_NAME}"
MAX_META_BYTES = 64 * 1024
MAX_NOTICE_CHARS = 500


def _parse(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_META_BYTES:
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def artifact_meta(path: str | Path) -> dict[str, Any]:
    target = Path(path)
    try:
        if target.is_dir():
            meta = target / META_NAME
            if meta.is_file() and meta.stat().st_size <= MAX_META_BYTES:
                return _parse(meta.read_bytes())
            return {}
        if zipfile.is_zipfile(target):
            with zipfile.ZipFile(target) as archive:
                try:
                    info = archive.getinfo(KERAS_META_NAME)
                except KeyError:
                    return {}
                if info.file_size > MAX_META_BYTES:
                    return {}
                return _parse(archive.read(info))
    except OSError:
        return {}
    return {}


def meta_notice(meta: dict[str, Any]) -> str:
    notice = meta.get("notice")
    return notice.strip()[:MAX_NOTICE_CHARS] if isinstance(notice, str) else ""


class NoticePredictor:
    """A predictor whose every output carries the artifact's notice (e.g. "Not medical advice")."""

    def __init__(self, inner: Any, notice: str):
        self._inner = inner
        self.notice = notice
        self.task = inner.task
        self.device = inner.device
        self.parameter_count = inner.parameter_count
        self.labels = inner.labels

    def predict(self, batch: list[dict]) -> list[dict]:
        return [{**output, "notice": self.notice} for output in self._inner.predict(batch)]

    def stream(self, item: dict) -> Iterator[str]:
        return self._inner.stream(item)

    def estimated_bytes(self) -> int:
        return int(self._inner.estimated_bytes())

    def __getattr__(self, name: str) -> Any:  # anything else a runtime offers (model, tokenizer) stays reachable
        return getattr(self._inner, name)


def with_notice(predictor: Any, path: str | Path, meta: dict[str, Any] | None = None) -> Any:
    notice = meta_notice(artifact_meta(path) if meta is None else meta)
    return NoticePredictor(predictor, notice) if notice else predictor
