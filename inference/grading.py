"""Short-answer grading by similarity to a reference answer (the `answer-grading` task), without any ML import.

A sentence encoder (MiniLM) embeds the answer and the reference; their cosine similarity, clipped to 0..1, is the
`score`, and two thresholds turn it into a `grade`: `correct`, `partial` or `incorrect`. The thresholds are
calibrated on a labelled set of question / reference / answer rows (`demo_data/grading_short_answers.csv` for
the demo app) and shipped inside the artifact (`modelmarket.json`, read by `runtimes/grading_runtime.py`).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

GRADES = ("incorrect", "partial", "correct")  # worst to best
DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
GRADING_SET = "grading_short_answers.csv"


@dataclass(frozen=True)
class Thresholds:
    """A score at or above `correct` is correct; at or above `partial`, partially correct; else incorrect."""

    partial: float = 0.4
    correct: float = 0.67

    def grade(self, score: float) -> str:
        if score >= self.correct:
            return "correct"
        if score >= self.partial:
            return "partial"
        return "incorrect"

    def as_dict(self) -> dict[str, float]:
        return {"partial": self.partial, "correct": self.correct}

    @classmethod
    def from_dict(cls, data: object) -> Thresholds:
        """Thresholds from an artifact's metadata; the defaults when missing or malformed."""
        if not isinstance(data, dict):
            return cls()
        try:
            partial, correct = float(data["partial"]), float(data["correct"])
        except (KeyError, TypeError, ValueError):
            return cls()
        if not 0 <= partial < correct <= 1:
            return cls()
        return cls(partial=partial, correct=correct)


def score_from_similarity(similarity: float) -> float:
    return round(min(1.0, max(0.0, float(similarity))), 4)


@dataclass(frozen=True)
class GradingRow:
    question: str
    reference: str
    answer: str
    grade: str


def read_grading_set(name: str = GRADING_SET) -> list[GradingRow]:
    with open(DEMO_DATA / name, newline="", encoding="utf-8") as handle:
        rows = [GradingRow(**{key: row[key].strip() for key in ("question", "reference", "answer", "grade")})
                for row in csv.DictReader(handle)]
    unknown = {row.grade for row in rows} - set(GRADES)
    if unknown:
        raise ValueError(f"Unknown grades in {name}: {sorted(unknown)}")
    return rows


def agreement(scores: list[float], labels: list[str], thresholds: Thresholds) -> dict[str, float]:
    """Exact agreement with the labels, agreement within one grade, and how often a correct answer was failed."""
    if not labels:
        return {"agreement": 0.0, "within_one_grade": 0.0, "correct_graded_incorrect": 0.0}
    predicted = [thresholds.grade(score) for score in scores]
    exact = sum(p == label for p, label in zip(predicted, labels, strict=True))
    near = sum(abs(GRADES.index(p) - GRADES.index(label)) <= 1 for p, label in zip(predicted, labels, strict=True))
    failed = sum(p == "incorrect" and label == "correct" for p, label in zip(predicted, labels, strict=True))
    return {"agreement": round(exact / len(labels), 4), "within_one_grade": round(near / len(labels), 4),
            "correct_graded_incorrect": round(failed / len(labels), 4)}


def calibrate(scores: list[float], labels: list[str]) -> Thresholds:
    """The two thresholds that agree with the labels most often (ties: within one grade, then the widest gaps).

    Candidates are midpoints between neighbouring scores, so a threshold never sits on a labelled example.
    """
    ordered = sorted(set(scores))
    candidates = [round((a + b) / 2, 4) for a, b in zip(ordered, ordered[1:], strict=False)] or [0.5]
    gaps = {round((a + b) / 2, 4): b - a for a, b in zip(ordered, ordered[1:], strict=False)}
    best: tuple[float, float, float] | None = None
    chosen = Thresholds()
    for i, low in enumerate(candidates):
        for high in candidates[i + 1:]:
            thresholds = Thresholds(partial=low, correct=high)
            result = agreement(scores, labels, thresholds)
            key = (result["agreement"], result["within_one_grade"], gaps.get(low, 0) + gaps.get(high, 0))
            if best is None or key > best:
                best, chosen = key, thresholds
    return chosen


def cross_validated_agreement(scores: list[float], rows: list[GradingRow]) -> float:
    """Leave one question out: calibrate on the other questions, grade this one's answers. The honest figure."""
    questions = sorted({row.question for row in rows})
    hits = 0
    for question in questions:
        train = [(s, r.grade) for s, r in zip(scores, rows, strict=True) if r.question != question]
        held = [(s, r.grade) for s, r in zip(scores, rows, strict=True) if r.question == question]
        thresholds = calibrate([s for s, _ in train], [g for _, g in train])
        hits += sum(thresholds.grade(s) == g for s, g in held)
    return round(hits / len(rows), 4) if rows else 0.0
