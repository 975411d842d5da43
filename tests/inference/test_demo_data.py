"""The demo models' training data: deterministic, varied, large enough, and never the hand-written test sets."""
import csv

from inference.demo_datasets import LANGUAGES, finance_headlines, language_samples, npc_lines, triage_messages
from inference.runtimes.demo_models import DEMO_DATA


def _texts(name: str) -> list[str]:
    with open(DEMO_DATA / name, newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def test_finance_headlines_are_deterministic_varied_and_balanced():
    texts, labels = finance_headlines(n=6000)
    assert (texts, labels) == finance_headlines(n=6000)
    assert len(set(texts)) > 5000  # thousands of distinct headlines, not a few templates repeated
    assert {label: labels.count(label) for label in set(labels)} == {"positive": 2000, "negative": 2000,
                                                                     "neutral": 2000}
    assert any(" not " in text or "fails to" in text for text in texts)  # negations are in there


def test_hand_written_test_sets_never_appear_in_training_data():
    held_out = {text.lower() for name in ("finance_handwritten_test.csv", "finance_handwritten_fresh.csv")
                for text in _texts(name)}
    assert len(held_out) >= 170
    texts, _labels = finance_headlines(n=6000, exclude=held_out)
    assert not held_out & {text.lower() for text in texts}
    assert not {t.lower() for t in _texts("triage_handwritten_test.csv")} & {
        t.lower() for t in triage_messages(n=3000)[0]}
    assert not {t.lower() for t in _texts("language_handwritten_test.csv")} & {
        t.lower() for t in language_samples(n=4000)[0]}


def test_language_and_triage_data_cover_every_label():
    _texts_, labels = language_samples(n=400)
    assert set(labels) == set(LANGUAGES) and len(LANGUAGES) == 10
    assert set(triage_messages(n=30)[1]) == {"routine", "soon", "urgent"}


def test_npc_lines_are_grammatical_templates_with_a_speaker():
    lines = npc_lines(n=500)
    assert all(": " in line and line.rstrip()[-1] in ".!?" for line in lines)
    assert not any(" a troll have" in line or "wolves has" in line for line in lines)
