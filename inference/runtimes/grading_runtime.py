"""`answer-grading`: a sentence encoder scores an answer by its similarity to the reference answer.

The artifact is a transformers sentence-encoder folder (MiniLM for the demo app) with `modelmarket.json` holding
the calibrated thresholds (`{"grading": {"partial": 0.39, "correct": 0.67}}`; see inference/grading.py).
Items are `{"answer", "reference"}`; outputs `{"score": 0..1, "grade": "correct" | "partial" | "incorrect"}`.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..grading import GRADES, Thresholds, score_from_similarity
from .artifact_meta import artifact_meta
from .transformers_runtime import TransformersPredictor


class GradingPredictor:
    def __init__(self, path: str, *, device: str = "cpu"):
        self.task = "answer-grading"
        self.device = device
        self.encoder = TransformersPredictor(path, task="feature-extraction", device=device)
        self.thresholds = Thresholds.from_dict(artifact_meta(Path(path)).get("grading"))
        self.labels = list(GRADES)
        self.parameter_count = self.encoder.parameter_count

    def estimated_bytes(self) -> int:
        return self.encoder.estimated_bytes()

    def similarities(self, pairs: list[tuple[str, str]]) -> list[float]:
        """Cosine similarity of each (answer, reference) pair, from one forward pass over all the texts."""
        texts = [{"text": text} for pair in pairs for text in pair]
        vectors = [output["embedding"] for output in self.encoder.predict(texts)]
        return [sum(a * b for a, b in zip(vectors[2 * i], vectors[2 * i + 1], strict=True)) for i in range(len(pairs))]

    def predict(self, batch: list[dict]) -> list[dict]:
        scores = [score_from_similarity(similarity)
                  for similarity in self.similarities([(item["answer"], item["reference"]) for item in batch])]
        return [{"score": score, "grade": self.thresholds.grade(score)} for score in scores]

    def stream(self, item: dict) -> Iterator[str]:
        yield from (str(output) for output in self.predict([item]))
