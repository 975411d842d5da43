"""What a newcomer sees: per-app Try-it examples and model card, console warnings, favicon, language menu, skip link."""
import pytest

from marketplace.models import AppStatus, AppVersion, VersionStatus
from tests.factories import AppFactory, LibraryEntryFactory

pytestmark = pytest.mark.django_db


def _ready(app, **card):
    return AppVersion.objects.create(app=app, version="1.0.0", status=VersionStatus.READY,
                                     task="text-classification", model_card=card)


def test_try_it_examples_come_from_each_apps_own_version(client_for, user):
    triage = AppFactory(name="Triage")
    _ready(triage, examples=["My chest hurts", "A sore throat for two days"], labels=["routine", "soon", "urgent"],
           evaluation=[{"set": "handwritten", "accuracy": 0.9333, "examples": 30}])
    langid = AppFactory(name="Lang")
    _ready(langid, example_input={"text": "Wie spät ist es?"})
    for app in (triage, langid):
        LibraryEntryFactory(user=user, app=app)
    client = client_for(user)
    body = client.get(triage.get_absolute_url()).content.decode()
    assert "My chest hurts" in body and "A sore throat for two days" in body
    assert "Shares jumped" not in body  # not the finance headlines any more
    assert 'id="model-card"' in body and "93%" in body and "30 examples" in body
    body = client.get(langid.get_absolute_url()).content.decode()
    assert "Wie spät ist es?" in body and "Shares jumped" not in body


def test_paid_apps_get_a_quote_line_in_try_it(client_for, user):
    from tests.factories import PaidAppFactory

    paid, free = PaidAppFactory(), AppFactory()
    for app in (paid, free):
        _ready(app)
        LibraryEntryFactory(user=user, app=app)
    client = client_for(user)
    assert 'id="try-quote"' in client.get(paid.get_absolute_url()).content.decode()
    assert 'id="try-quote"' not in client.get(free.get_absolute_url()).content.decode()


def test_console_warns_about_published_apps_without_a_ready_version(client_for, developer):
    AppFactory(owner=developer, name="Listed App", ready=True)
    hidden = AppFactory(owner=developer, name="Hidden App")
    AppVersion.objects.create(app=hidden, version="1.0.0", status=VersionStatus.INVALID, error="bad")
    AppFactory(owner=developer, name="Draft App", status=AppStatus.DRAFT)
    body = client_for(developer).get("/console/").content.decode()
    assert 'id="not-listed-warning"' in body
    warning = body.split('id="not-listed-warning"')[1].split("</div>")[0]
    assert "Hidden App" in warning and "Listed App" not in warning and "Draft App" not in warning


def test_console_add_a_version_step_is_not_done_when_the_only_version_is_invalid(client_for, developer):
    app = AppFactory(owner=developer, status=AppStatus.DRAFT)
    AppVersion.objects.create(app=app, version="1.0.0", status=VersionStatus.INVALID, error="bad")
    body = client_for(developer).get(f"/console/apps/{app.slug}/").content.decode()
    step = body.split('id="step-version"')[1].split("</li>")[0]
    assert step.startswith(' class="problem"')
    assert "✓" not in step and "none passed the checks" in step


def test_favicon_ico_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith(".ico")


def test_language_menu_names_each_language_in_itself_and_pages_have_a_skip_link(client):
    body = client.get("/").content.decode()
    assert "简体中文" in body and "Simplified Chinese" not in body
    assert 'class="skip-link" href="#main"' in body and 'id="main"' in body


def test_prediction_page_renders_the_result_with_run_again_and_a_way_back(client_for, user):
    from inference.models import Prediction

    app = AppFactory(name="Finance Sentiment")
    version = _ready(app)
    prediction = Prediction.objects.create(
        app=app, version=version, user=user, input={"text": "Shares jump after record quarter"},
        status="succeeded", output={"labels": [{"label": "positive", "score": 0.97},
                                               {"label": "neutral", "score": 0.02},
                                               {"label": "negative", "score": 0.01}]})
    body = client_for(user).get(f"/predictions/{prediction.pk}/").content.decode()
    output = body.split('id="prediction-output"')[1].split('id="run-again"')[0]
    assert output.count('class="try-bar') == 3 and "<strong>positive</strong>" in output and "97%" in output
    assert f'href="{app.get_absolute_url()}?text=Shares%20jump%20after%20record%20quarter#try"' in body
    assert "Back to Finance Sentiment" in body


def test_notifications_are_stored_as_a_template_and_shown_in_the_readers_language(client_for, developer):
    from django.utils import translation

    from accounts.models import Notification
    from marketplace.services import app_review
    from tests.factories import ModeratorFactory

    app = AppFactory(owner=developer, name="Finance Sentiment", status=AppStatus.IN_REVIEW, ready=True)
    with translation.override("en"):
        app_review(app=app, moderator=ModeratorFactory(), decision="approve")
    notification = Notification.objects.get(user=developer)
    assert notification.template == "Your app “%(name)s” was approved and is now published."
    assert notification.params == {"name": "Finance Sentiment", "reason": ""}
    client = client_for(developer)
    assert "was approved and is now published" in client.get("/notifications/").content.decode()
    client.cookies["django_language"] = "zh-hans"
    chinese = client.get("/notifications/").content.decode()
    assert "was approved" not in chinese and "Finance Sentiment" in chinese


def test_admin_app_page_has_approve_and_reject_buttons_rendered_markdown_and_human_sizes(client_for):
    from django.urls import reverse

    from tests.factories import ModeratorFactory

    moderator = ModeratorFactory(is_staff=True)
    app = AppFactory(status=AppStatus.IN_REVIEW, description="A **great** app.")
    AppVersion.objects.create(app=app, version="1.0.0", status=VersionStatus.READY, size=2_400_000)
    client = client_for(moderator)
    url = reverse("admin:marketplace_app_change", args=[app.pk])
    page = client.get(url).content.decode()
    assert 'id="review-approve"' in page and 'id="review-reject"' in page
    assert "<strong>great</strong>" in page  # the description as people see it
    assert "2.3\xa0MB" in page and "2400000" not in page

    other = AppFactory(status=AppStatus.IN_REVIEW)
    reason_page = client.post(reverse("admin:marketplace_app_change", args=[other.pk]), {"_review": "reject"})
    assert reason_page.status_code == 200 and 'name="reason"' in reason_page.content.decode()
    done = client.post(reverse("admin:marketplace_app_change", args=[other.pk]),
                       {"action": "reject", "apply": "1", "reason": "The model is missing.",
                        "_selected_action": [other.pk]})
    assert done.status_code == 302
    other.refresh_from_db()
    assert other.status == AppStatus.REJECTED and other.status_reason == "The model is missing."

    assert client.post(url, {"_review": "approve"}).status_code == 302
    app.refresh_from_db()
    assert app.status == AppStatus.PUBLISHED
