"""Moderation in the Django admin: the review queue and its actions, which go through app_review."""
import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail

from accounts.models import AuditLog, Notification
from marketplace.models import AppStatus, Review
from marketplace.services import review_create
from tests.factories import AppFactory, LibraryEntryFactory, ModeratorFactory, UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/admin/marketplace/appreviewqueue/"
APPS = "/admin/marketplace/app/"


@pytest.fixture
def moderator_client(client):
    moderator = ModeratorFactory()
    client.force_login(moderator)
    client.moderator = moderator
    return client


def test_the_queue_lists_only_apps_in_review_oldest_first(moderator_client):
    waiting = AppFactory(status=AppStatus.IN_REVIEW, name="Waiting App")
    AppFactory(status=AppStatus.PUBLISHED, name="Live App")
    AppFactory(status=AppStatus.DRAFT, name="Secret Draft")
    response = moderator_client.get(QUEUE)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [waiting]


def test_approve_action_publishes_notifies_and_audits(moderator_client, django_capture_on_commit_callbacks):
    apps = [AppFactory(status=AppStatus.IN_REVIEW) for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        response = moderator_client.post(QUEUE, {"action": "approve", "index": 0,
                                                 ACTION_CHECKBOX_NAME: [a.pk for a in apps]}, follow=True)
    assert response.status_code == 200
    for app in apps:
        app.refresh_from_db()
        assert app.status == AppStatus.PUBLISHED
        entry = AuditLog.objects.get(action="app.approve", target_id=str(app.pk))
        assert entry.actor == moderator_client.moderator
        assert Notification.objects.filter(user=app.owner, kind="app.approve").exists()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(a.owner.email for a in apps)


def test_reject_action_asks_for_a_reason_first(moderator_client, django_capture_on_commit_callbacks):
    app = AppFactory(status=AppStatus.IN_REVIEW)
    response = moderator_client.post(QUEUE, {"action": "reject", "index": 0, ACTION_CHECKBOX_NAME: [app.pk]})
    assert response.status_code == 200
    assert b'name="reason"' in response.content and app.name.encode() in response.content
    app.refresh_from_db()
    assert app.status == AppStatus.IN_REVIEW

    # The reason page posted back empty: the form says why, nothing changes.
    response = moderator_client.post(QUEUE, {"action": "reject", "apply": "yes", "reason": "",
                                             ACTION_CHECKBOX_NAME: [app.pk]})
    assert response.status_code == 200 and response.context["form"].errors
    app.refresh_from_db()
    assert app.status == AppStatus.IN_REVIEW

    with django_capture_on_commit_callbacks(execute=True):
        response = moderator_client.post(QUEUE, {"action": "reject", "apply": "yes",
                                                 "reason": "The model card is missing.",
                                                 ACTION_CHECKBOX_NAME: [app.pk]})
    assert response.status_code == 302
    app.refresh_from_db()
    assert (app.status, app.status_reason) == (AppStatus.REJECTED, "The model card is missing.")
    entry = AuditLog.objects.get(action="app.reject")
    assert (entry.actor, entry.reason) == (moderator_client.moderator, "The model card is missing.")
    assert "The model card is missing." in Notification.objects.get(user=app.owner).message
    assert mail.outbox[0].to == [app.owner.email] and "The model card is missing." in mail.outbox[0].body


def test_suspend_action_from_the_apps_list(moderator_client, django_capture_on_commit_callbacks):
    app = AppFactory(status=AppStatus.PUBLISHED)
    with django_capture_on_commit_callbacks(execute=True):
        moderator_client.post(APPS, {"action": "suspend", "apply": "yes", "reason": "Reported as malware",
                                     ACTION_CHECKBOX_NAME: [app.pk]})
    app.refresh_from_db()
    assert app.status == AppStatus.SUSPENDED
    assert AuditLog.objects.get(action="app.suspend").reason == "Reported as malware"
    assert len(mail.outbox) == 1


def test_an_impossible_action_is_reported_not_applied(moderator_client):
    live = AppFactory(status=AppStatus.PUBLISHED)
    response = moderator_client.post(APPS, {"action": "approve", "index": 0, ACTION_CHECKBOX_NAME: [live.pk]},
                                     follow=True)
    assert "Cannot approve" in response.content.decode()
    assert not AuditLog.objects.exists()


def test_moderators_can_read_but_not_edit_apps_or_manage_users(moderator_client):
    app = AppFactory()
    user = UserFactory()
    assert moderator_client.get(f"{APPS}{app.pk}/change/").status_code == 200
    response = moderator_client.post(f"{APPS}{app.pk}/change/", {"name": "Hijacked"})
    assert response.status_code == 403
    assert moderator_client.get(f"/admin/accounts/user/{user.pk}/change/").status_code == 200
    assert moderator_client.get(f"/admin/accounts/user/{user.pk}/delete/").status_code == 403
    assert moderator_client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"}).status_code == 403
    assert moderator_client.get("/admin/accounts/auditlog/").status_code == 200
    assert moderator_client.get("/admin/accounts/apikey/").status_code == 403
    assert type(user).objects.filter(pk=user.pk).exists()
    app.refresh_from_db()
    assert app.name != "Hijacked"


def test_ordinary_staff_cannot_use_the_queue(client):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert client.get(QUEUE).status_code == 403
    app = AppFactory(status=AppStatus.IN_REVIEW)
    client.post(QUEUE, {"action": "approve", "index": 0, ACTION_CHECKBOX_NAME: [app.pk]})
    app.refresh_from_db()
    assert app.status == AppStatus.IN_REVIEW


def test_removing_a_review_in_the_admin_keeps_the_rating_exact(moderator_client):
    app = AppFactory()
    reviews = [review_create(user=LibraryEntryFactory(app=app).user, app=app, rating=r) for r in (1, 5)]
    response = moderator_client.post("/admin/marketplace/review/", {
        "action": "delete_selected", "post": "yes", ACTION_CHECKBOX_NAME: [reviews[0].pk]})
    assert response.status_code == 302
    app.refresh_from_db()
    assert (app.rating_sum, app.reviews_count) == (5, 1)
    assert not Review.objects.filter(pk=reviews[0].pk).exists()
    assert AuditLog.objects.get(action="review.delete").actor == moderator_client.moderator
