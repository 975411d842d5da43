"""Issue 14's two demo apps, built from the data we ship: the short-answer grader (education) and symptom triage
(medical). The grader agrees with the shipped hand grades on most rows; triage answers a valid urgency level and
every output carries the "not medical advice" notice. ~1 minute on 2 cores (MiniLM twice, one small Keras fit)."""
import json
import zipfile

import jsonschema
import pytest

from inference import schemas
from inference.artifacts import check_keras_file, check_transformers_folder, zip_extract
from inference.demo_extra import GRADER_EXAMPLES, build_grader, keras_with_notice
from inference.grading import GRADES, Thresholds, agreement, calibrate, read_grading_set
from inference.notices import DEMO_GRADING, NOT_MEDICAL_ADVICE
from tests.conftest import key_client

from .conftest import ready_version

TRIAGE_LEVELS = {"routine", "soon", "urgent"}


@pytest.fixture(scope="session")
def grader(tmp_path_factory):
    path = tmp_path_factory.mktemp("grader") / "answer-grader.zip"
    return path, build_grader(path)


def test_the_shipped_grading_set_has_two_answers_per_grade_for_each_question():
    rows = read_grading_set()
    assert len(rows) == 72 and len({row.question for row in rows}) == 12
    for question in {row.question for row in rows}:
        grades = sorted(row.grade for row in rows if row.question == question)
        assert grades == sorted(GRADES * 2), question


def test_calibration_puts_thresholds_between_the_labelled_scores():
    scores = [0.1, 0.2, 0.5, 0.55, 0.8, 0.9]
    labels = ["incorrect", "incorrect", "partial", "partial", "correct", "correct"]
    thresholds = calibrate(scores, labels)
    assert thresholds == Thresholds(partial=0.35, correct=0.675)
    assert agreement(scores, labels, thresholds)["agreement"] == 1.0
    assert Thresholds.from_dict({"partial": 0.9, "correct": 0.1}) == Thresholds()  # nonsense: the defaults


def test_grading_agrees_with_the_shipped_labels_on_most_rows(grader, tmp_path):
    path, info = grader
    assert info["examples"] == 72
    assert info["agreement"] >= 0.7, info              # in-sample: the thresholds were chosen on these rows
    assert info["cross_validated_agreement"] >= 0.6, info  # each question graded by thresholds from the others
    assert info["within_one_grade"] >= 0.95 and info["correct_graded_incorrect"] == 0, info

    # The artifact carries the thresholds and the demo notice; the platform's runtime grades with them.
    meta = json.loads(zipfile.ZipFile(path).read("modelmarket.json"))
    assert meta["grading"] == info["thresholds"] and meta["notice"] == DEMO_GRADING
    folder = zip_extract(path, tmp_path / "model")
    check_transformers_folder(folder)
    from inference.runtimes import load

    predictor = load(str(folder), framework="transformers", task="answer-grading")
    rows = read_grading_set()
    outputs = predictor.predict([{"answer": row.answer, "reference": row.reference} for row in rows])
    agreed = sum(output["grade"] == row.grade for output, row in zip(outputs, rows, strict=True))
    assert agreed / len(rows) == info["agreement"]
    for output in outputs:
        assert 0 <= output["score"] <= 1 and output["grade"] in GRADES and output["notice"] == DEMO_GRADING
        jsonschema.validate(output, schemas.output_schema("answer-grading"))


def test_answer_grading_inputs_are_checked():
    good = {"answer": "It pumps blood.", "reference": "The heart pumps blood around the body."}
    assert schemas.input_validate(task="answer-grading", data=good) == good
    assert schemas.input_items(task="answer-grading", data=good) == [good]
    for bad in ({"answer": "x"}, {"answer": "x", "reference": "y", "text": "z"}, {"answer": "", "reference": "y"}):
        with pytest.raises(Exception) as error:  # noqa: PT011 - the domain error class moves with the refactor
            schemas.input_validate(task="answer-grading", data=bad)
        assert getattr(error.value, "fields", None), bad


def test_the_grader_runs_as_an_app(grader, published_app, runner, eager_celery, client):
    path, _info = grader
    version = ready_version(published_app, path, task="answer-grading")
    assert version.status == "ready", version.error
    assert version.model_card["example_output"]["grade"] in GRADES
    client_api = key_client(runner, scopes=("read", "predict"))
    example = GRADER_EXAMPLES["examples"][2]  # "Lyon." for the capital of France
    response = client_api.post(f"/api/v1/apps/{published_app.slug}/predictions/",
                               {"input": {"answer": example["answer"], "reference": example["reference"]}},
                               format="json", HTTP_PREFER="wait=30")
    assert response.status_code == 201, response.content
    output = response.json()["output"]
    assert output["grade"] == "incorrect" and 0 <= output["score"] < 0.5 and output["notice"] == DEMO_GRADING
    client.force_login(runner)
    page = client.get(published_app.get_absolute_url()).content.decode()
    assert 'id="try-answer"' in page and 'id="try-reference"' in page and "try-i18n-extra" in page
    detail = client.get(f"/predictions/{response.json()['id']}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert detail.status_code == 200 and "output-notice" in detail.content.decode()


def test_triage_answers_a_valid_level_with_the_not_medical_advice_notice(published_app, runner, eager_celery,
                                                                         tmp_path):
    from inference.demo import build_triage

    info = build_triage(tmp_path / "plain.keras")
    keras_with_notice(tmp_path / "plain.keras", tmp_path / "triage.keras", NOT_MEDICAL_ADVICE)
    check_keras_file(tmp_path / "triage.keras")
    version = ready_version(published_app, tmp_path / "triage.keras", task="text-classification", framework="keras",
                            labels=info["labels"])
    assert version.status == "ready", version.error
    client = key_client(runner, scopes=("read", "predict"))
    response = client.post(f"/api/v1/apps/{published_app.slug}/predictions/",
                           {"input": {"texts": ["My father has sudden chest pain and is sweating",
                                                "Can I get a repeat prescription for my inhaler?"]}},
                           format="json", HTTP_PREFER="wait=30")
    assert response.status_code == 201, response.content
    results = response.json()["output"]["results"]
    for result in results:
        assert result["labels"][0]["label"] in TRIAGE_LEVELS
        assert {item["label"] for item in result["labels"]} == TRIAGE_LEVELS
        assert result["notice"] == NOT_MEDICAL_ADVICE
    assert results[0]["labels"][0]["label"] == "urgent"
