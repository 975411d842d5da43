"""Who can accept, pin, lock, hide, edit and delete: the matrix, checked through the services."""
import pytest

from accounts.models import AuditLog
from community import permissions as perms
from community import services
from community.models import Post, Thread
from config.errors import PermissionDenied
from tests.factories import AppFactory, DeveloperFactory, UserFactory

from .conftest import reply

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "asker", "replier", "app_developer", "other_developer", "stranger", "moderator"]
ALLOWED = {
    "accept": {"asker", "app_developer", "moderator"},
    "pin": {"moderator"},
    "lock": {"moderator"},
    "hide": {"moderator"},
    "edit": {"replier", "moderator"},
    "delete": {"replier", "moderator"},
}


@pytest.fixture
def world(question, asker, developer, moderator):
    from django.contrib.auth.models import AnonymousUser

    replier = UserFactory(username="replier")
    other_dev = DeveloperFactory(username="otherdev")
    AppFactory(owner=other_dev)
    answer = reply(question, replier)
    actors = {"anonymous": AnonymousUser(), "asker": asker, "replier": replier, "app_developer": developer,
              "other_developer": other_dev, "stranger": UserFactory(username="stranger"), "moderator": moderator}
    return question, answer, actors


def _do(action, actor, thread, post):
    if action == "accept":
        services.post_accept(post=post, actor=actor)
    elif action == "pin":
        services.thread_set_pinned(thread=thread, actor=actor, pinned=True)
    elif action == "lock":
        services.thread_set_locked(thread=thread, actor=actor, locked=True)
    elif action == "hide":
        services.post_set_hidden(post=post, actor=actor, hidden=True)
    elif action == "edit":
        services.post_edit(post=post, editor=actor, body="An improved answer.")
    elif action == "delete":
        services.post_delete(post=post, actor=actor)


def _effect(action, thread: Thread, post: Post) -> bool:
    thread.refresh_from_db()
    post.refresh_from_db()
    return {
        "accept": thread.accepted_post_id == post.pk,
        "pin": thread.pinned,
        "lock": thread.locked,
        "hide": post.hidden,
        "edit": post.body == "An improved answer." and post.revisions.count() == 1,
        "delete": post.deleted_at is not None,
    }[action]


@pytest.mark.parametrize("action", sorted(ALLOWED))
def test_matrix(world, action):
    """Each role tries each action on the same thread; a savepoint undoes every attempt."""
    from django.db import transaction

    thread, post, actors = world
    outcome = {}
    for role in ROLES:
        actor = actors[role]
        savepoint = transaction.savepoint()
        thread.refresh_from_db()
        post.refresh_from_db()
        target = thread if action in ("pin", "lock") else post
        allowed = perms.__dict__[f"can_{action}"](actor, target)
        try:
            _do(action, actor, thread, post)
        except PermissionDenied:
            assert not _effect(action, thread, post)
            outcome[role] = (allowed, False)
        else:
            assert _effect(action, thread, post)
            outcome[role] = (allowed, True)
        transaction.savepoint_rollback(savepoint)
    assert outcome == {role: (role in ALLOWED[action],) * 2 for role in ROLES}


def test_moderation_actions_are_audited(world):
    thread, post, actors = world
    mod = actors["moderator"]
    services.thread_set_pinned(thread=thread, actor=mod, pinned=True)
    services.thread_set_locked(thread=thread, actor=mod, locked=True)
    services.post_set_hidden(post=post, actor=mod, hidden=True, reason="rude")
    services.post_set_hidden(post=post, actor=mod, hidden=False)
    services.post_edit(post=post, editor=mod, body="Cleaned up by a moderator.")
    services.post_delete(post=post, actor=mod, reason="spam")
    actions = list(AuditLog.objects.filter(actor=mod).order_by("created_at", "pk").values_list("action", flat=True))
    assert actions == ["forum.thread.pin", "forum.thread.lock", "forum.post.hide", "forum.post.unhide",
                       "forum.post.edit", "forum.post.delete"]


def test_accept_only_on_questions_and_not_the_opening_post(general, asker, developer):
    discussion = services.thread_create(author=asker, category=general, title="Let us talk about it",
                                        body="Thoughts?", kind="discussion")
    post = reply(discussion, developer)
    assert not perms.can_accept(asker, post)
    question = services.thread_create(author=asker, category=general, title="A real question here",
                                      body="Why?", kind="question")
    assert not perms.can_accept(asker, question.posts.get(number=1))


def test_developer_of_another_app_cannot_accept_in_this_app(world):
    thread, post, actors = world
    with pytest.raises(PermissionDenied):
        services.post_accept(post=post, actor=actors["other_developer"])


def test_locked_thread_takes_replies_only_from_moderators(world):
    thread, post, actors = world
    services.thread_set_locked(thread=thread, actor=actors["moderator"], locked=True)
    with pytest.raises(PermissionDenied):
        reply(thread, actors["stranger"])
    with pytest.raises(PermissionDenied):
        services.post_edit(post=post, editor=actors["replier"], body="Sneaky edit after lock")
    assert reply(thread, actors["moderator"], "Locking: answered.").number == 3


def test_announcements_only_moderators_start_threads(asker, moderator):
    from community.models import ForumCategory

    announcements = ForumCategory.objects.get(slug="announcements")
    with pytest.raises(PermissionDenied):
        services.thread_create(author=asker, category=announcements, title="My own announcement",
                               body="Hello", kind="discussion")
    thread = services.thread_create(author=moderator, category=announcements, title="Scheduled maintenance",
                                    body="Sunday.", kind="discussion")
    assert reply(thread, asker, "Thanks!").number == 2


def test_hidden_content_is_404_to_everyone_but_moderators(client, world):
    thread, post, actors = world
    services.post_set_hidden(post=thread.posts.get(number=1), actor=actors["moderator"], hidden=True)
    for role in ("anonymous", "asker", "stranger", "app_developer"):
        client.logout()
        if role != "anonymous":
            client.force_login(actors[role])
        assert client.get(thread.get_absolute_url()).status_code == 404, role
        assert client.get(f"/api/v1/forum/threads/{thread.pk}/").status_code == 404, role
        assert client.get(f"/api/v1/forum/threads/{thread.pk}/posts/").status_code == 404, role
        assert thread.title not in client.get(thread.category.get_absolute_url()).content.decode()
    client.force_login(actors["moderator"])
    assert client.get(thread.get_absolute_url()).status_code == 200


def test_hidden_reply_is_left_out_and_its_actions_404(client, world):
    thread, post, actors = world
    services.post_set_hidden(post=post, actor=actors["moderator"], hidden=True)
    client.force_login(actors["stranger"])
    page = client.get(thread.get_absolute_url()).content.decode()
    assert post.body not in page
    assert client.post(f"/forum/p/{post.pk}/like/").status_code == 404
    assert client.post(f"/api/v1/forum/posts/{post.pk}/like/").status_code == 404
    posts = client.get(f"/api/v1/forum/threads/{thread.pk}/posts/").json()
    assert [p["number"] for p in posts["results"]] == [1]


def test_edit_history_is_kept_and_shown_to_author_and_moderators(client, world):
    thread, post, actors = world
    original = post.body
    services.post_edit(post=post, editor=actors["replier"], body="Second version of the answer.")
    services.post_edit(post=post, editor=actors["moderator"], body="Third version, tidied by a moderator.")
    assert list(post.revisions.order_by("number").values_list("body", flat=True)) == [
        original, "Second version of the answer."]
    url = f"/forum/p/{post.pk}/history/"
    for role, status in (("replier", 200), ("moderator", 200), ("stranger", 404), ("anonymous", 404)):
        client.logout()
        if role != "anonymous":
            client.force_login(actors[role])
        response = client.get(url)
        assert response.status_code == status, role
        if status == 200:
            assert original in response.content.decode()


def test_admin_pages_open_for_moderators(client, world):
    thread, post, actors = world
    client.force_login(actors["moderator"])
    for url in ("/admin/community/post/", f"/admin/community/post/{post.pk}/change/", "/admin/community/thread/",
                f"/admin/community/thread/{thread.pk}/change/", "/admin/community/forumcategory/",
                "/admin/community/forumprofile/", "/admin/community/reviewqueueitem/"):
        assert client.get(url).status_code == 200, url
