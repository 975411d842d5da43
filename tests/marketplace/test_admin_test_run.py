"""Moderators test-run an app's ready version from the admin: a real model, as the moderator, free of charge."""
import json
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from billing.models import Charge, Entry, Transaction, TransactionKind, Wallet
from billing.selectors import user_balance
from billing.services import credit_grant
from inference.models import Prediction
from marketplace.models import AppStatus
from tests.factories import DeveloperFactory, ModeratorFactory, PaidAppFactory, UserFactory
from tests.inference.conftest import ready_version


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory):
    """A real (randomly initialised) two-label text classifier, zipped as a developer uploads it."""
    from inference.runtimes import demo_models as dm

    root = tmp_path_factory.mktemp("admin-test-run")
    dm.build_tiny_bert(root / "classifier", labels=["negative", "positive"])
    return dm.zip_folder(root / "classifier", root / "classifier.zip")


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    settings.MODEL_DIR = str(tmp_path / "models")


@pytest.fixture
def eager_celery(transactional_db):
    """Tasks run in-process at commit time, as in the other end-to-end tests."""
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def _test_run_url(app) -> str:
    return f"/admin/marketplace/app/{app.pk}/test-run/"


def _money_of(user) -> tuple:
    wallet = Wallet.objects.filter(user=user).values_list("balance", "held").first()
    return (user_balance(user=user), wallet, Charge.objects.filter(user=user).exclude(price=0).count(),
            Transaction.objects.filter(user=user).exclude(kind=TransactionKind.COST).count(),
            Entry.objects.filter(account__user=user).count())


def test_a_moderator_test_runs_an_app_in_review_for_free(client, eager_celery, tiny_classifier):
    app = PaidAppFactory(status=AppStatus.IN_REVIEW, base_price=Decimal("0.50"), max_price=Decimal("1.00"))
    version = ready_version(app, tiny_classifier, task="text-classification")
    version.held_for_review = True
    version.model_card = {**(version.model_card or {}), "examples": ["Shares of the company jumped after the results."]}
    version.save(update_fields=["held_for_review", "model_card"])
    moderator = ModeratorFactory()
    credit_grant(user=moderator, amount=Decimal("5"), memo="credits", granted_by=None)
    before = _money_of(moderator)
    client.force_login(moderator)

    page = client.get(f"/admin/marketplace/app/{app.pk}/change/")
    assert page.status_code == 200 and _test_run_url(app).encode() in page.content

    form_page = client.get(_test_run_url(app))
    assert form_page.status_code == 200
    form = form_page.context["form"]
    assert list(form.fields["version"].queryset) == [version]
    assert json.loads(form.initial["input"]) == {"text": "Shares of the company jumped after the results."}

    response = client.post(_test_run_url(app), {"version": version.pk,
                                                "input": json.dumps({"text": "the market rose"})})
    assert response.status_code == 200, response.content
    prediction = response.context["prediction"]
    assert prediction is not None and prediction.status == "succeeded", (response.context["error"], prediction)
    assert prediction.user == moderator and prediction.version == version and prediction.price == 0
    labels = prediction.output["labels"]
    assert {row["label"] for row in labels} == {"negative", "positive"}
    body = response.content.decode()
    assert 'id="test-run-labels"' in body and labels[0]["label"] in body
    assert 'id="test-run-metrics"' in body and "predict_ms" in body
    # Nobody was charged and nothing was held: the moderator's money is exactly as before.
    assert _money_of(moderator) == before
    # The compute is the platform's cost, booked between platform accounts only.
    assert not Entry.objects.filter(transaction__kind=TransactionKind.COST, account__user__isnull=False).exists()
    assert not moderator.library.filter(app=app).exists()
    app.refresh_from_db()
    assert app.status == AppStatus.IN_REVIEW

    # Bad JSON is a form error, not a run and not a 500.
    bad = client.post(_test_run_url(app), {"version": version.pk, "input": "{not json"})
    assert bad.status_code == 200 and bad.context["form"].errors["input"]
    assert Prediction.objects.filter(user=moderator).count() == 1


@pytest.mark.django_db
def test_only_moderators_reach_the_test_run_page(client):
    app = PaidAppFactory(status=AppStatus.IN_REVIEW)
    for person in (UserFactory(), DeveloperFactory()):
        client.force_login(person)
        response = client.get(_test_run_url(app))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
        assert client.post(_test_run_url(app), {"input": "{}"}).status_code == 302
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert client.get(_test_run_url(app)).status_code == 403
    assert client.post(_test_run_url(app), {"input": "{}"}).status_code == 403
    assert not Prediction.objects.exists()


@pytest.mark.django_db
def test_the_api_gives_moderators_no_bypass(tiny_classifier):
    app = PaidAppFactory(status=AppStatus.PUBLISHED)
    ready_version(app, tiny_classifier, task="text-classification")
    moderator = ModeratorFactory()
    api = APIClient()
    api.force_authenticate(moderator)
    response = api.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "a"}}, format="json")
    assert response.status_code == 403, response.content
    # Nor for an app still in review.
    app.status = AppStatus.IN_REVIEW
    app.save(update_fields=["status"])
    response = api.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "a"}}, format="json")
    assert response.status_code in (403, 404), response.content
    assert not Prediction.objects.filter(user=moderator).exists()


@pytest.mark.django_db
def test_the_test_run_page_speaks_chinese(client):
    app = PaidAppFactory(status=AppStatus.IN_REVIEW)
    client.force_login(ModeratorFactory())
    body = client.get(_test_run_url(app), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "试运行" in body and "此应用没有可运行的就绪版本。" in body
    change = client.get(f"/admin/marketplace/app/{app.pk}/change/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'id="test-run-link"' in change and "试运行" in change
    # The review queue's page of the same app links to its own copy of the view.
    queue_change = client.get(f"/admin/marketplace/appreviewqueue/{app.pk}/change/").content.decode()
    assert f"/admin/marketplace/appreviewqueue/{app.pk}/test-run/" in queue_change
    assert client.get(f"/admin/marketplace/appreviewqueue/{app.pk}/test-run/").status_code == 200
