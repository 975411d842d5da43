"""Runtimes on tiny real models built in the tests: every task, both frameworks."""
import random

import pytest

from inference.runtimes import ModelRefused, load


def test_transformers_classifier_scores_every_label(tiny_models):
    predictor = load(str(tiny_models["classifier_dir"]), framework="transformers", task="text-classification")
    outputs = predictor.predict([{"text": "the market rose"}, {"text": "losses widened badly"}])
    assert len(outputs) == 2
    for output in outputs:
        assert {item["label"] for item in output["labels"]} == {"negative", "positive"}
        assert sum(item["score"] for item in output["labels"]) == pytest.approx(1, abs=1e-4)
    assert predictor.parameter_count > 1000


def test_transformers_embeddings_are_unit_length_and_batch_independent(tiny_models):
    predictor = load(str(tiny_models["embedder_dir"]), framework="transformers", task="feature-extraction")
    alone = predictor.predict([{"text": "shares were flat"}])[0]
    batched = predictor.predict([{"text": "a much longer sentence about profits climbing"},
                                 {"text": "shares were flat"}])[1]
    assert alone["dim"] == 32
    assert sum(v * v for v in alone["embedding"]) == pytest.approx(1, abs=1e-3)
    # Padding in a batch must not change a sentence's embedding (the mask is honoured).
    assert batched["embedding"] == pytest.approx(alone["embedding"], abs=1e-4)


def test_transformers_generation_and_streaming(tiny_models):
    predictor = load(str(tiny_models["generator_dir"]), framework="transformers", task="text-generation")
    outputs = predictor.predict([{"text": "Guard:", "max_new_tokens": 4},
                                 {"text": "Merchant: Fine", "max_new_tokens": 4}])
    assert all(isinstance(output["text"], str) for output in outputs)
    pieces = list(predictor.stream({"text": "Guard:", "max_new_tokens": 6}))
    assert pieces and all(isinstance(piece, str) for piece in pieces)


def test_keras_text_classifier_takes_strings(tiny_keras):
    predictor = load(str(tiny_keras["text"]), framework="keras", task="text-classification",
                     labels=["negative", "neutral", "positive"])
    output = predictor.predict([{"text": "profits rose strongly"}, {"text": "losses widened"}])
    assert [len(o["labels"]) for o in output] == [3, 3]
    assert {item["label"] for item in output[0]["labels"]} == {"negative", "neutral", "positive"}
    assert predictor.estimated_bytes() >= 4 * predictor.parameter_count


def test_keras_image_classifier_resizes_any_image(tiny_keras):
    from inference.runtimes.demo_models import shape_image

    predictor = load(str(tiny_keras["shapes"]), framework="keras", task="image-classification",
                     labels=["circle", "square", "triangle"])
    big = shape_image("circle", random.Random(1), size=64)
    output = predictor.predict([{"image": big}, {"image": big.convert("L")}])
    assert len(output) == 2 and output[0]["labels"][0]["label"] in {"circle", "square", "triangle"}
    assert predictor.estimated_bytes() > 0


def test_keras_refuses_text_generation(tiny_keras):
    with pytest.raises(ModelRefused):
        load(str(tiny_keras["text"]), framework="keras", task="text-generation")


def test_outputs_with_nul_characters_are_made_storable():
    from inference.worker.finish import json_safe as _json_safe

    assert _json_safe({"text": "a\x00b", "results": [{"text": "\x00"}], "n": 1}) == {
        "text": "ab", "results": [{"text": ""}], "n": 1}
