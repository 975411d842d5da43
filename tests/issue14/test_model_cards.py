"""Model cards: editable by the owner (console and API), rendered with the version history, filled by fine-tuning."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from config.errors import InvalidInput, PermissionDenied
from marketplace.model_cards import (
    metrics_parse_text,
    model_card_from_training,
    version_model_card_fill,
    version_model_card_update,
)
from marketplace.models import AppVersion, VersionStatus
from tests.factories import AppFactory, AppVersionFactory, DeveloperFactory

pytestmark = pytest.mark.django_db


def _version(app=None, **fields) -> AppVersion:
    return AppVersionFactory(app=app or AppFactory(), version="1.0.0", status=VersionStatus.READY, **fields)


def test_the_owner_edits_a_card_in_the_console_and_the_app_page_shows_it_with_the_versions(client_for):
    version = _version()
    app, owner = version.app, version.app.owner
    url = f"/console/apps/{app.slug}/versions/1.0.0/card/"
    page = client_for(owner).get(url)
    assert page.status_code == 200 and 'name="evaluation_metrics"' in page.content.decode()
    response = client_for(owner).post(url, {
        "base_model": "all-MiniLM-L6-v2", "training_data": "3,000 generated patient messages.",
        "evaluation_metrics": "accuracy: 0.93\nmacro_f1 = 0.91\nset: hand-written", "intended_use": "Sorting notes.",
        "limitations": "English only.", "license": "Apache-2.0"})
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.evaluation_metrics == {"accuracy": 0.93, "macro_f1": 0.91, "set": "hand-written"}
    assert (version.base_model, version.license) == ("all-MiniLM-L6-v2", "Apache-2.0")

    body = client_for().get(app.get_absolute_url()).content.decode()
    versions = body[body.index('id="versions"'):body.index('id="discussion"')]
    for text in ("Model card · v1.0.0", "all-MiniLM-L6-v2", "3,000 generated patient messages.", "macro_f1", "0.93",
                 "Sorting notes.", "English only.", "Apache-2.0"):
        assert text in versions, text
    chinese = client_for(language="zh-hans").get(app.get_absolute_url()).content.decode()
    assert "模型卡片 · v1.0.0" in chinese and "评估指标" in chinese and "许可证" in chinese
    console = client_for(owner).get(f"/console/apps/{app.slug}/").content.decode()
    assert url in console and "Edit model card" in console


def test_a_bad_metrics_box_is_shown_on_its_field_and_saves_nothing(client_for):
    version = _version()
    response = client_for(version.app.owner).post(
        f"/console/apps/{version.app.slug}/versions/1.0.0/card/", {"evaluation_metrics": "accuracy 0.9"})
    assert response.status_code == 400
    assert "name: value" in response.content.decode()
    version.refresh_from_db()
    assert version.evaluation_metrics == {}


def test_someone_elses_card_page_is_not_found(client_for):
    version = _version()
    assert client_for(DeveloperFactory()).get(
        f"/console/apps/{version.app.slug}/versions/1.0.0/card/").status_code == 404


def test_the_add_version_form_takes_the_card_too(client_for):
    app = AppFactory()
    response = client_for(app.owner).post(f"/console/apps/{app.slug}/versions/new/", {
        "version": "2.0.0", "changelog": "", "task": "text-classification", "framework": "keras", "hardware": "cpu",
        "artifact": SimpleUploadedFile("model.keras", b"PK\x03\x04 stored, validated later on a worker"),
        "base_model": "Our own bag-of-words network", "evaluation_metrics": "accuracy: 0.875",
        "limitations": "Short texts only.", "license": "MIT"})
    assert response.status_code == 302, response.content.decode()[:2000]
    version = AppVersion.objects.get(app=app, version="2.0.0")
    assert (version.base_model, version.evaluation_metrics, version.limitations, version.license) == (
        "Our own bag-of-words network", {"accuracy": 0.875}, "Short texts only.", "MIT")
    form = client_for(app.owner).get(f"/console/apps/{app.slug}/versions/new/").content.decode()
    assert form.index('name="artifact"') < form.index('name="base_model"')  # the card comes after the model


def test_the_api_reads_the_card_and_only_the_owner_changes_it():
    version = _version(license="MIT")
    url = f"/api/v1/apps/{version.app.slug}/versions/1.0.0/card/"
    assert APIClient().get(url).json() == {"base_model": "", "training_data": "", "evaluation_metrics": {},
                                           "intended_use": "", "limitations": "", "license": "MIT"}
    owner = APIClient()
    owner.force_authenticate(version.app.owner)
    body = owner.patch(url, {"evaluation_metrics": {"accuracy": 0.9, "top_3": "97%"}, "intended_use": "Triage"},
                       format="json").json()
    assert body["evaluation_metrics"] == {"accuracy": 0.9, "top_3": "97%"} and body["license"] == "MIT"
    bad = owner.patch(url, {"evaluation_metrics": {"accuracy": [1, 2]}}, format="json")
    assert bad.status_code == 400 and "evaluation_metrics" in bad.json()["error"]["fields"]
    other = APIClient()
    other.force_authenticate(DeveloperFactory())
    assert other.patch(url, {"license": "GPL-3.0"}, format="json").status_code == 403
    assert APIClient().patch(url, {"license": "GPL-3.0"}, format="json").status_code == 401
    version.refresh_from_db()
    assert version.license == "MIT" and version.intended_use == "Triage"


def test_the_update_service_checks_owner_and_values():
    version = _version()
    with pytest.raises(PermissionDenied):
        version_model_card_update(version=version, actor=DeveloperFactory(), license="MIT")
    with pytest.raises(InvalidInput) as error:
        version_model_card_update(version=version, actor=version.app.owner, evaluation_metrics={"nan": float("nan")})
    assert "evaluation_metrics" in error.value.fields
    with pytest.raises(InvalidInput):
        version_model_card_update(version=version, actor=version.app.owner, license="x" * 101)
    assert metrics_parse_text("f1: 0.8\n\nepochs = 3\nnote: good") == {"f1": 0.8, "epochs": 3, "note": "good"}


# What a fine-tuning job writes in `TrainingJob.model_card` when it succeeds (inference/training/services.py).
TRAINING_CARD = {
    "base": {"app": "faq-search", "version": "1.0.0", "framework": "transformers", "task": "feature-extraction",
             "sha256": "ab" * 32},
    "dataset": {"id": 7, "name": "support-tickets.csv", "sha256": "cd" * 32, "rows": 120, "labels": ["bug", "billing"],
                "train_rows": 96, "validation_rows": 24, "validation_fraction": "0.20", "seed": 42},
    "hyperparameters": {"epochs": 3, "learning_rate": 5e-05},
    "metrics": {"epoch": 3, "loss": 0.2314, "eval_loss": 0.3011, "eval_accuracy": 0.9167, "labels": ["bug"]},
    "labels": ["billing", "bug"], "task": "text-classification", "job": 12,
}


def test_a_fine_tuned_version_gets_its_card_from_the_jobs_values_and_keeps_what_the_owner_wrote():
    base = _version(base_model="all-MiniLM-L6-v2", intended_use="Routing support tickets.", license="Apache-2.0",
                    limitations="English only.")
    tuned = AppVersionFactory(app=base.app, version="1.1.0", limitations="Written by the owner first.")
    values = model_card_from_training(training_card=TRAINING_CARD, base=base)
    assert values["base_model"] == "faq-search 1.0.0 (itself from all-MiniLM-L6-v2)"
    assert "support-tickets.csv" in values["training_data"] and "120 rows" in values["training_data"]
    assert "96 for training, 24 for validation" in values["training_data"] and "billing, bug" in values["training_data"]
    assert values["evaluation_metrics"] == {"eval_accuracy": 0.9167, "eval_loss": 0.3011, "loss": 0.2314, "epoch": 3}
    assert (values["intended_use"], values["limitations"], values["license"]) == (
        "Routing support tickets.", "English only.", "Apache-2.0")

    tuned = version_model_card_fill(version=tuned, values=values)
    assert tuned.base_model.startswith("faq-search 1.0.0") and tuned.evaluation_metrics["eval_accuracy"] == 0.9167
    assert tuned.limitations == "Written by the owner first."  # never overwritten
    assert tuned.license == "Apache-2.0"
    assert model_card_from_training(training_card={}, base=None) == {}
