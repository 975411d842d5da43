"""Streaming a text generation on a worker: the text so far is saved as it grows, the SSE view forwards it."""
from __future__ import annotations

import time
from typing import Any

from ..models import Prediction, PredictionStatus
from .finish import json_safe


def run_streaming(prediction: Prediction, predictor: Any, item: dict[str, Any]) -> tuple[dict[str, Any], int, float]:
    """Generate token by token, saving the text so far so the SSE stream can forward it."""
    started = time.perf_counter()
    text = ""
    last_save = 0.0
    for piece in predictor.stream(item):
        text += piece
        now = time.perf_counter()
        if now - last_save > 0.05:
            updated = Prediction.objects.filter(pk=prediction.pk, status=PredictionStatus.PROCESSING).update(
                output={"text": json_safe(text)})
            if not updated:  # canceled while generating: stop spending compute
                break
            last_save = now
    return {"text": json_safe(text)}, 1, (time.perf_counter() - started) * 1000
