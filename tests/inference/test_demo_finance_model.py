"""The published Finance Sentiment model generalises: trained on generated headlines, it must get at least 90% of
hand-written headlines right (the 60 "fresh" ones were never used to tune the generator). ~15 s on one core."""
from inference.demo import build_finance


def test_finance_model_scores_at_least_90_percent_on_hand_written_headlines(tmp_path):
    info = build_finance(tmp_path / "finance.keras")
    assert info["labels"] == ["negative", "neutral", "positive"]
    assert info["fresh_examples"] == 60 and info["handwritten_examples"] >= 100
    assert info["fresh_accuracy"] >= 0.9, info["fresh_errors"]
    assert info["handwritten_accuracy"] >= 0.9, info["handwritten_errors"]
    # The headlines the issue reported as wrong are right now.
    wrong = {text for text, _predicted, _expected in info["handwritten_errors"]}
    assert not wrong & {"Company issues profit warning", "Shares fell sharply after the fraud investigation",
                        "Profit warning: the company expects heavy losses and layoffs"}
