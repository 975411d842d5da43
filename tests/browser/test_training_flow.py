"""A developer uploads a dataset, starts a fine-tuning job, watches it train live, and publishes the result."""
import time

import pytest
from django.conf import settings as django_settings
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from marketplace.models import AppVersion
from tests.training import conftest as training
from tests.training.conftest import csv_bytes, small_rows
from training.models import TrainingJob

# The training package's fixtures: a funded developer, a ready tiny-BERT version, storage shared with workers.
trainer = training.trainer
tiny_bert_zip = training.tiny_bert_zip
bert_version = training.bert_version

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def login(browser, live_server, client, user) -> None:
    client.force_login(user)
    browser.get(f"{live_server.url}/static/css/app.css")
    browser.add_cookie({"name": django_settings.SESSION_COOKIE_NAME,
                        "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value, "path": "/"})


def progress(browser) -> int:
    """The bar's value; -1 while the page is being replaced (it reloads once the job finishes)."""
    try:
        return int(browser.find_element(By.ID, "progress").get_attribute("aria-valuenow"))
    except (StaleElementReferenceException, NoSuchElementException):
        return -1


def test_upload_train_watch_and_publish(browser, live_server, client, trainer, bert_version,
                                        celery_worker_factory, tmp_path):
    celery_worker_factory(queues="training,inference-cpu,validation")
    login(browser, live_server, client, trainer)
    wait = WebDriverWait(browser, 60, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException))

    # 1. Upload a dataset: the report shows rows, labels and the split.
    browser.get(f"{live_server.url}/console/training/")
    data = tmp_path / "financial-news.csv"
    data.write_bytes(csv_bytes(small_rows(per_label=40)))
    browser.find_element(By.ID, "id_file").send_keys(str(data))
    browser.find_element(By.ID, "id_name").send_keys("Financial news, 120 rows")
    browser.shot("training-1-upload")
    browser.find_element(By.CSS_SELECTOR, "#dataset-upload button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.ID, "report")))
    assert "120" in browser.find_element(By.ID, "report").text
    browser.shot("training-2-dataset-report")

    # 2. Start a job: the form quotes a cost before anything starts.
    browser.find_element(By.LINK_TEXT, "Train on this dataset").click()
    wait.until(EC.presence_of_element_located((By.ID, "job-form")))
    browser.find_element(By.ID, "id_epochs").send_keys("6")
    browser.find_element(By.ID, "id_batch_size").send_keys("1")
    browser.find_element(By.ID, "id_learning_rate").send_keys("0.001")
    wait.until(lambda b: "576 steps" in b.find_element(By.ID, "estimate-detail").text)
    assert "USD" in browser.find_element(By.ID, "estimate-price").text
    browser.shot("training-3-new-job-estimate")
    browser.find_element(By.ID, "start-job").click()

    # 3. The job page: the bar advances and the loss chart fills while the worker trains.
    wait.until(EC.presence_of_element_located((By.ID, "loss-chart")))
    wait.until(lambda b: 5 <= progress(b) < 60)
    first = progress(browser)
    assert browser.find_elements(By.CSS_SELECTOR, "#loss-chart polyline.loss-line")
    browser.shot("training-4-progress")
    wait.until(lambda b: progress(b) >= first + 15 or b.find_element(By.ID, "job-status").text == "Succeeded")
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#loss-chart circle.acc-dot"))
    browser.shot("training-5-progress-later")
    long_wait = WebDriverWait(browser, 180, ignored_exceptions=(StaleElementReferenceException,))
    long_wait.until(lambda b: b.find_element(By.ID, "job-status").text == "Succeeded")
    assert progress(browser) == 100
    points = browser.find_element(By.CSS_SELECTOR, "#loss-chart polyline.loss-line").get_attribute("points").split()
    assert len(points) > 50
    assert len(browser.find_elements(By.CSS_SELECTOR, "#epochs tbody tr")) == 6
    browser.shot("training-6-succeeded")

    # 4. Publish the result as a new version; it is validated like an upload.
    version_input = browser.find_element(By.ID, "id_version")
    assert version_input.get_attribute("value") == "1.1.0"
    browser.find_element(By.ID, "publish").click()
    wait.until(EC.presence_of_element_located((By.ID, "published")))
    assert "version 1.1.0" in browser.find_element(By.ID, "published").text
    job = TrainingJob.objects.get()
    version = AppVersion.objects.get(app=bert_version.app, version="1.1.0")
    assert job.published_version_id == version.pk
    deadline = time.monotonic() + 90
    while version.status != "ready" and time.monotonic() < deadline:
        time.sleep(0.5)
        version.refresh_from_db()
    assert version.status == "ready", version.error
    browser.refresh()
    wait.until(lambda b: "Ready" in b.find_element(By.ID, "published").text)
    browser.shot("training-7-published")

    # The training console lists the job with its result and the dataset.
    browser.get(f"{live_server.url}/console/training/")
    jobs = browser.find_element(By.ID, "jobs").text
    assert "Succeeded" in jobs and "1.1.0" in jobs
    browser.shot("training-8-console")
