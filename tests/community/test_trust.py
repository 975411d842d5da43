"""Trust levels: new accounts get tight limits with clear messages and are promoted by activity."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from community import services
from community.models import ForumProfile, Post, TrustLevel
from config.errors import InvalidInput
from tests.factories import UserFactory

from .conftest import reply

pytestmark = pytest.mark.django_db

LINKS = "Look: [a](https://a.example) [b](https://b.example) [c](https://c.example)"


def test_new_user_limited_in_links_with_a_clear_message(question, asker):
    with pytest.raises(InvalidInput) as info:
        reply(question, asker, LINKS)
    assert "at most 2 links" in str(info.value)


def test_new_user_limited_in_mentions_and_images(question, asker):
    for name in ("ann", "bob", "cyd"):
        UserFactory(username=name)
    with pytest.raises(InvalidInput, match="mention at most 2"):
        reply(question, asker, "@ann @bob @cyd what do you think?")
    with pytest.raises(InvalidInput, match="at most 0 images"):
        reply(question, asker, "![screenshot](/media/forum/a.png)")
    assert reply(question, asker, "@ann @bob what do you think? `@cyd` is code").number == 2


def test_members_may_post_more(question, asker):
    ForumProfile.objects.update_or_create(user=asker, defaults={"trust_level": TrustLevel.MEMBER})
    assert reply(question, asker, LINKS + " ![s](https://img.example/a.png)").number == 2


def test_posts_per_hour_limit_answers_429_with_retry_after(auth_client, general):
    user = auth_client.user
    limit = settings.COMMUNITY_POSTS_PER_HOUR[0]
    thread = services.thread_create(author=user, category=general, title="My first thread here",
                                    body="Hello all", kind="discussion")
    for n in range(limit - 1):
        reply(thread, user, f"Follow-up {n}")
    response = auth_client.post(f"/api/v1/forum/threads/{thread.pk}/posts/", {"body": "One too many"}, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    body = response.json()["error"]
    assert body["code"] == "throttled" and "posts an hour" in body["message"]
    Post.objects.filter(author=user).update(created_at=timezone.now() - timedelta(hours=2))
    assert auth_client.post(f"/api/v1/forum/threads/{thread.pk}/posts/", {"body": "Later"},
                            format="json").status_code == 201


def test_limit_shown_inline_on_the_page(client, question, asker):
    client.force_login(asker)
    response = client.post(f"/forum/t/{question.pk}/reply/", {"body": LINKS}, follow=True)
    assert "at most 2 links" in response.content.decode()
    assert question.posts.count() == 1


def test_promotion_by_days_visited_posts_read_and_likes(client, general, moderator):
    newbie = UserFactory(username="newbie")
    threads = []
    for n in range(3):
        thread = services.thread_create(author=moderator, category=general, title=f"Long read number {n}",
                                        body="Intro", kind="discussion")
        for m in range(7):
            reply(thread, moderator, f"Reply {m}")
        threads.append(thread)
    client.force_login(newbie)
    for thread in threads:
        client.get(thread.get_absolute_url())
    profile = ForumProfile.objects.get(user=newbie)
    assert profile.posts_read == 24 and profile.days_visited == 1 and profile.trust_level == TrustLevel.NEW
    ForumProfile.objects.filter(pk=profile.pk).update(last_visit_date=timezone.localdate() - timedelta(days=1))
    client.get("/forum/")
    profile.refresh_from_db()
    assert profile.days_visited == 2 and profile.trust_level == TrustLevel.BASIC
    ForumProfile.objects.filter(pk=profile.pk).update(days_visited=10, posts_read=100, likes_received=4)
    post = reply(threads[0], newbie, "Thanks everyone")
    liker = UserFactory(username="liker")
    services.post_like(post=post, user=liker)
    profile.refresh_from_db()
    assert profile.likes_received == 5 and profile.trust_level == TrustLevel.MEMBER
    # Reading the same posts again does not count twice.
    client.get(threads[0].get_absolute_url())
    profile.refresh_from_db()
    assert profile.posts_read == 100  # their own reply was marked read when they wrote it
