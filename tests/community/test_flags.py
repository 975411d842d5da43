"""Flags score by the flagger's trust level; past the threshold a post hides itself until reviewed."""
import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import AuditLog, Notification
from community import services
from community.models import Flag, FlagStatus, ForumProfile, Post, TrustLevel
from config.errors import Conflict, InvalidInput, PermissionDenied
from tests.factories import UserFactory

from .conftest import reply

pytestmark = pytest.mark.django_db


def _user_at(level: int, name: str):
    user = UserFactory(username=name)
    ForumProfile.objects.create(user=user, trust_level=level)
    return user


@pytest.fixture
def target(question, developer):
    return reply(question, developer, "Buy cheap watches at example.com")


def test_flag_weight_follows_trust_level(moderator):
    assert [services.flag_weight(_user_at(level, f"tl{level}")) for level in TrustLevel.values] == [1, 2, 3]
    assert services.flag_weight(moderator) == settings.COMMUNITY_HIDE_THRESHOLD == 5


def test_new_users_alone_cannot_hide_a_post(target):
    for n in range(4):
        services.post_flag(post=target, user=_user_at(0, f"new{n}"), reason="spam")
    target.refresh_from_db()
    assert target.flag_score == 4 and not target.hidden


def test_post_hides_itself_once_the_score_passes_the_threshold(client, target, question):
    services.post_flag(post=target, user=_user_at(2, "member1"), reason="spam")   # 3
    target.refresh_from_db()
    assert not target.hidden
    services.post_flag(post=target, user=_user_at(1, "basic1"), reason="off_topic")  # 3 + 2 = 5
    target.refresh_from_db()
    assert target.hidden and target.flag_score == 5
    assert AuditLog.objects.filter(action="forum.post.autohide", target_id=str(target.pk)).exists()
    assert Notification.objects.filter(user=target.author, kind="forum.hidden").count() == 1
    page = client.get(question.get_absolute_url()).content.decode()
    assert "cheap watches" not in page
    question.refresh_from_db()
    assert question.posts_count == 1


def test_a_moderator_flag_hides_at_once(target, moderator):
    services.post_flag(post=target, user=moderator, reason="abusive")
    target.refresh_from_db()
    assert target.hidden


def test_flag_rules(target, developer, asker):
    with pytest.raises(PermissionDenied):
        services.post_flag(post=target, user=developer, reason="spam")
    services.post_flag(post=target, user=asker, reason="spam")
    with pytest.raises(Conflict):
        services.post_flag(post=target, user=asker, reason="abusive")
    with pytest.raises(InvalidInput):
        services.post_flag(post=target, user=_user_at(0, "x"), reason="ugly")


def test_new_users_have_a_daily_flag_budget(question, developer):
    flagger = _user_at(0, "eager")
    posts = [reply(question, developer, f"Reply number {n}") for n in range(settings.COMMUNITY_FLAGS_PER_DAY[0] + 1)]
    for post in posts[:-1]:
        services.post_flag(post=post, user=flagger, reason="off_topic")
    with pytest.raises(services.RateLimited):
        services.post_flag(post=posts[-1], user=flagger, reason="off_topic")


def test_review_approve_restores_and_dismisses(target, moderator):
    services.post_flag(post=target, user=_user_at(2, "m1"), reason="spam")
    services.post_flag(post=target, user=_user_at(2, "m2"), reason="spam")
    target.refresh_from_db()
    assert target.hidden
    services.review_approve(post=target, moderator=moderator)
    target.refresh_from_db()
    assert not target.hidden and target.flag_score == 0
    assert set(Flag.objects.values_list("status", flat=True)) == {FlagStatus.DISAGREED}
    assert AuditLog.objects.filter(actor=moderator, action="forum.review.approve").exists()


def test_review_suspend_author_stops_posting(target, moderator, question):
    services.post_flag(post=target, user=_user_at(0, "n1"), reason="spam")
    services.review_suspend_author(post=target, moderator=moderator)
    target.refresh_from_db()
    assert target.hidden
    assert set(AuditLog.objects.filter(actor=moderator).values_list("action", flat=True)) == {
        "forum.review.hide", "forum.user.suspend"}
    with pytest.raises(PermissionDenied, match="suspended"):
        reply(question, target.author, "I am back")


def test_review_queue_in_the_admin(client, target, moderator):
    """A moderator (not a superuser) works the queue: the flagged post is listed, then hidden and deleted."""
    services.post_flag(post=target, user=_user_at(1, "b1"), reason="spam")
    client.force_login(moderator)
    url = reverse("admin:community_reviewqueueitem_changelist")
    page = client.get(url)
    assert page.status_code == 200
    assert "cheap watches" in page.content.decode()
    response = client.post(url, {"action": "hide", "_selected_action": [target.pk]})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.hidden
    assert "cheap watches" not in client.get(url).content.decode()  # no pending flags left
    services.post_flag(post=target, user=_user_at(1, "b2"), reason="abusive")
    client.post(url, {"action": "delete", "_selected_action": [target.pk]})
    assert Post.objects.get(pk=target.pk).deleted_at is not None
    assert list(AuditLog.objects.filter(actor=moderator).order_by("pk").values_list("action", flat=True)) == [
        "forum.review.hide", "forum.post.delete", "forum.review.delete"]


def test_plain_users_cannot_open_the_review_queue(client, asker):
    asker.is_staff = True
    asker.save()
    client.force_login(asker)
    assert client.get(reverse("admin:community_reviewqueueitem_changelist")).status_code == 403


def test_flag_over_the_api(auth_client, target):
    url = f"/api/v1/forum/posts/{target.pk}/flag/"
    response = auth_client.post(url, {"reason": "spam"}, format="json")
    assert response.status_code == 201 and response.json()["score"] == 1
    again = auth_client.post(url, {"reason": "spam"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_flagged"
    bad = auth_client.post(url, {"reason": "boring"}, format="json")
    assert bad.status_code in (400, 409)
