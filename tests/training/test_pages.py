"""Console pages: upload with inline errors, the report, the new-job form with its estimate, the job page."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import DeveloperFactory, UserFactory
from training.models import Dataset, TrainingJob

from .conftest import csv_bytes, small_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_client(client, trainer):
    client.force_login(trainer)
    return client


def test_upload_page_stores_the_dataset_and_shows_its_report(browser_client):
    page = browser_client.get("/console/training/")
    assert page.status_code == 200 and "Upload a dataset" in page.content.decode()
    response = browser_client.post("/console/training/", {
        "file": SimpleUploadedFile("news.csv", csv_bytes(small_rows())), "validation_fraction": "0.2", "seed": 42})
    dataset = Dataset.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/console/training/datasets/{dataset.pk}/"
    report = browser_client.get(response["Location"]).content.decode()
    assert "Validation report" in report and "negative" in report and "6 validation rows" in report


def test_bad_upload_shows_the_error_on_the_dataset_page(browser_client):
    response = browser_client.post("/console/training/", {
        "file": SimpleUploadedFile("news.csv", csv_bytes(small_rows(5), header=("a", "b"))),
        "validation_fraction": "0.2", "seed": 42}, follow=True)
    assert "needs the columns “text” and “label”" in response.content.decode()


def test_form_errors_are_inline(browser_client):
    response = browser_client.post("/console/training/", {"validation_fraction": "0.9", "seed": -1})
    body = response.content.decode()
    assert response.status_code == 200 and body.count('class="errorlist"') == 3


def test_new_job_form_shows_an_estimate_and_starts_a_job(browser_client, bert_version, dataset):
    page = browser_client.get(f"/console/training/jobs/new/?dataset={dataset.pk}")
    body = page.content.decode()
    assert "Cost estimate" in body and "compute seconds on CPU" in body
    bad = browser_client.post("/console/training/jobs/new/", {"base_version": bert_version.pk, "dataset": dataset.pk,
                                                              "epochs": 99})
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()
    response = browser_client.post("/console/training/jobs/new/", {"base_version": bert_version.pk,
                                                                   "dataset": dataset.pk, "epochs": 2})
    job = TrainingJob.objects.get()
    assert response["Location"] == f"/console/training/jobs/{job.pk}/"
    assert job.hyperparameters["epochs"] == 2
    detail = browser_client.get(response["Location"]).content.decode()
    assert 'id="loss-chart"' in detail and 'id="cancel-job"' in detail and "Queued" in detail
    # No training worker runs in this test: the page says where the job stands and why it waits.
    assert 'id="queue-info"' in detail and "Next in the queue." in detail and 'id="no-training-worker"' in detail
    browser_client.post("/console/training/jobs/new/", {"base_version": bert_version.pk, "dataset": dataset.pk,
                                                        "epochs": 2})
    second = TrainingJob.objects.latest("created_at")
    assert "1 job is ahead of yours." in browser_client.get(f"/console/training/jobs/{second.pk}/").content.decode()
    canceled = browser_client.post(f"/console/training/jobs/{job.pk}/cancel/", follow=True).content.decode()
    assert "Canceled" in canceled


def test_pages_are_private_and_for_developers(client, trainer, bert_version, dataset):
    client.force_login(DeveloperFactory())
    assert client.get(f"/console/training/datasets/{dataset.pk}/").status_code == 404
    client.force_login(UserFactory())
    assert client.get("/console/training/").status_code == 403
    client.logout()
    assert client.get("/console/training/").status_code == 302


def test_seed_demo_adds_the_financial_news_dataset_once():
    import io

    from training.demo import seed_demo

    developer = DeveloperFactory(email="dev@modelmarket.local")
    seed_demo(stdout=io.StringIO())
    seed_demo(stdout=io.StringIO())
    dataset = Dataset.objects.get(owner=developer)
    assert dataset.status == "ready" and dataset.rows == 675
    assert dataset.labels == {"negative": 225, "neutral": 225, "positive": 225}
