"""A version published from a fine-tuning job gets its model card (issue 14, part 4) from the job's values.

`training_job_publish` calls `version_model_card_fill(..., model_card_from_training(...))`: only empty fields
are filled, so the owner's own text is never overwritten.
"""
import pytest
from django.core.files.base import ContentFile

from marketplace.models import AppVersion
from tests.conftest import key_client

try:  # the training app is moving from inference/training/ to training/
    from training.models import JobStatus, TrainingJob
except ImportError:
    from inference.training.models import JobStatus, TrainingJob

pytestmark = pytest.mark.django_db


def test_publishing_a_job_fills_the_new_versions_model_card(trainer, bert_version, dataset, tiny_bert_zip):
    bert_version.base_model = "all-MiniLM-L6-v2"
    bert_version.license = "Apache-2.0"
    bert_version.save(update_fields=["base_model", "license"])
    job = TrainingJob.objects.create(owner=trainer, base_version=bert_version, dataset=dataset,
                                     framework="transformers", status=JobStatus.SUCCEEDED, result_checked=True,
                                     metrics={"epoch": 2, "loss": 0.41, "eval_loss": 0.52, "eval_accuracy": 0.875},
                                     model_card={"base": {"app": "tiny-encoder", "version": "1.0.0"},
                                                 "dataset": {"name": dataset.name, "rows": dataset.rows,
                                                             "train_rows": 29, "validation_rows": 7, "seed": 42},
                                                 "metrics": {"eval_accuracy": 0.875, "eval_loss": 0.52},
                                                 "labels": ["negative", "neutral", "positive"]})
    job.result_artifact.save("model.zip", ContentFile(tiny_bert_zip))
    response = key_client(trainer).post(f"/api/v1/training-jobs/{job.pk}/publish/", {"version": "1.1.0"},
                                        format="json")
    assert response.status_code == 201, response.json()
    version = AppVersion.objects.get(app=bert_version.app, version="1.1.0")
    assert version.base_model == "tiny-encoder 1.0.0 (itself from all-MiniLM-L6-v2)"
    assert dataset.name in version.training_data
    assert version.evaluation_metrics == {"eval_accuracy": 0.875, "eval_loss": 0.52}
    assert version.license == "Apache-2.0"
