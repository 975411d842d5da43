"""The seed has an education and a medical demo app, labelled as demos, with model cards and the notice shown."""
import io

import pytest

from accounts import demo as accounts_demo
from inference import schemas
from inference.demo import DEMO_EXAMPLES, DEMO_MODELS, DEMO_USER_APPS
from inference.demo_extra import demo_card_fill
from marketplace import demo as marketplace_demo
from marketplace.models import App, AppStatus, Task

pytestmark = pytest.mark.django_db


def _seed() -> None:
    out = io.StringIO()
    accounts_demo.seed_demo(stdout=out)
    marketplace_demo.seed_demo(stdout=out)


def test_the_seed_publishes_the_grader_and_triage_as_labelled_demos():
    _seed()
    grader, triage = App.objects.get(slug="answer-grader"), App.objects.get(slug="symptom-triage")
    for app, category in ((grader, "education"), (triage, "healthcare")):
        assert app.status == AppStatus.PUBLISHED and app.category.slug == category
        assert "(demo)" in app.name and app.tagline.startswith("Demo:")
        assert app.tags.filter(name="demo").exists()
    assert grader.versions.get(version="1.0.0").task == Task.ANSWER_GRADING
    assert "Not medical advice" in triage.description and "Not medical advice" in triage.tagline
    assert DEMO_MODELS["answer-grader"][0].endswith(".zip") and DEMO_MODELS["symptom-triage"][0].endswith(".keras")
    assert "answer-grader" in DEMO_USER_APPS
    # The grader validates with its own first example: a valid {answer, reference} input.
    version = grader.versions.get(version="1.0.0")
    version.model_card = DEMO_EXAMPLES["answer-grader"]
    example = schemas.version_example_input(version)
    assert schemas.input_validate(task="answer-grading", data=example) == example


def test_the_demo_versions_get_model_cards_and_the_app_page_shows_the_notice(client):
    _seed()
    triage = App.objects.get(slug="symptom-triage").versions.get(version="1.0.0")
    triage = demo_card_fill(version=triage, info={"handwritten_accuracy": 0.9333, "handwritten_examples": 30,
                                                  "labels": ["routine", "soon", "urgent"]})
    assert triage.evaluation_metrics == {"handwritten_accuracy": 0.9333, "handwritten_examples": 30}
    assert "Not medical advice" in triage.limitations and triage.intended_use and triage.license
    grader = App.objects.get(slug="answer-grader").versions.get(version="1.0.0")
    grader = demo_card_fill(version=grader, info={"agreement": 0.75, "within_one_grade": 1.0,
                                                  "cross_validated_agreement": 0.6667, "examples": 72,
                                                  "thresholds": {"partial": 0.39, "correct": 0.72}})
    assert grader.evaluation_metrics == {"agreement_with_hand_grades": 0.75, "within_one_grade": 1.0,
                                         "agreement_leave_one_question_out": 0.6667, "graded_answers": 72}
    assert grader.base_model.startswith("all-MiniLM-L6-v2")

    grader.license = "Edited by a moderator"
    grader.save(update_fields=["license"])
    assert demo_card_fill(version=grader, info={}).license == "Edited by a moderator"  # seeding again keeps it

    page = client.get("/apps/symptom-triage/").content.decode()
    about = page[page.index('id="about"'):page.index('id="try"')]
    assert "Not medical advice" in about
    versions = page[page.index('id="versions"'):page.index('id="discussion"')]
    assert "Not medical advice" in versions and "handwritten_accuracy" in versions
