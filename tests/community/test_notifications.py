"""Mentions and watching notify once per person per post; email only for watchers; muted means nothing."""
import pytest
from django.core import mail

from accounts.models import Notification
from community import services
from community.models import ForumCategory, Thread
from community.tasks import post_notify_task
from tests.factories import AppFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    return {name: UserFactory(username=name) for name in ("asker", "helper", "watcher", "bystander", "mentioned")}


def _notes(user):
    return list(Notification.objects.filter(user=user).values_list("kind", flat=True))


def _thread(people, general, capture):
    with capture(execute=True):
        return services.thread_create(author=people["asker"], category=general, title="Watching and mentions",
                                      body="Who can help?", kind="question")


def test_reply_notifies_the_watching_asker_once_with_email(people, general, django_capture_on_commit_callbacks):
    thread = _thread(people, general, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        post = services.post_create(author=people["helper"], thread=thread, body="I can, @asker!")
    assert _notes(people["asker"]) == ["forum.mention"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [people["asker"].email]
    assert _notes(people["helper"]) == [] and _notes(people["bystander"]) == []
    # The task may run again (retry, redelivery): nobody hears twice.
    with django_capture_on_commit_callbacks(execute=True):
        assert post_notify_task.apply(args=[post.pk]).get() == 0
    assert len(_notes(people["asker"])) == 1 and len(mail.outbox) == 1


def test_mention_and_watch_together_give_one_notification(people, general, django_capture_on_commit_callbacks):
    thread = _thread(people, general, django_capture_on_commit_callbacks)
    services.watch_set(user=people["watcher"], thread=thread, level="watching")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.post_create(author=people["helper"], thread=thread, body="@watcher @mentioned have a look")
    assert _notes(people["watcher"]) == ["forum.mention"]
    assert _notes(people["mentioned"]) == ["forum.mention"]
    # Email for watchers only: the asker (watching) and the watcher, not the merely mentioned.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([people["asker"].email, people["watcher"].email])


def test_editing_notifies_only_new_mentions(people, general, django_capture_on_commit_callbacks):
    thread = _thread(people, general, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        post = services.post_create(author=people["helper"], thread=thread, body="cc @mentioned")
    with django_capture_on_commit_callbacks(execute=True):
        services.post_edit(post=post, editor=people["helper"], body="cc @mentioned and @bystander")
    assert len(_notes(people["mentioned"])) == 1
    assert _notes(people["bystander"]) == ["forum.mention"]
    assert len(_notes(people["asker"])) == 1


def test_muted_thread_silences_even_mentions(people, general, django_capture_on_commit_callbacks):
    thread = _thread(people, general, django_capture_on_commit_callbacks)
    services.watch_set(user=people["asker"], thread=thread, level="muted")
    services.watch_set(user=people["mentioned"], thread=thread, level="muted")
    with django_capture_on_commit_callbacks(execute=True):
        services.post_create(author=people["helper"], thread=thread, body="@asker @mentioned hello?")
    assert _notes(people["asker"]) == [] and _notes(people["mentioned"]) == []


def test_normal_level_hears_only_mentions(people, general, django_capture_on_commit_callbacks):
    thread = _thread(people, general, django_capture_on_commit_callbacks)
    services.watch_set(user=people["asker"], thread=thread, level="normal")
    with django_capture_on_commit_callbacks(execute=True):
        services.post_create(author=people["helper"], thread=thread, body="A plain reply")
    assert _notes(people["asker"]) == []


def test_category_watchers_hear_new_threads_unless_the_thread_overrides(people, general,
                                                                         django_capture_on_commit_callbacks):
    services.watch_set(user=people["watcher"], category=general, level="watching")
    thread = _thread(people, general, django_capture_on_commit_callbacks)
    assert _notes(people["watcher"]) == ["forum.post"]
    services.watch_set(user=people["watcher"], thread=thread, level="normal")
    with django_capture_on_commit_callbacks(execute=True):
        services.post_create(author=people["helper"], thread=thread, body="A reply to skip")
    assert len(_notes(people["watcher"])) == 1


def test_app_developer_watches_their_app_forum(people, django_capture_on_commit_callbacks):
    app = AppFactory()
    category = services.category_for_app_ensure(app=app)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.thread_create(author=people["asker"], category=category, title="Question for the developer",
                               body="Does it do batches?", kind="question")
    assert _notes(app.owner) == ["forum.post"]
    assert [m.to[0] for m in mail.outbox] == [app.owner.email]


def test_people_who_cannot_see_the_thread_are_not_told(people, general, moderator,
                                                         django_capture_on_commit_callbacks):
    thread = _thread(people, general, django_capture_on_commit_callbacks)
    services.post_set_hidden(post=thread.posts.get(number=1), actor=moderator, hidden=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.post_create(author=moderator, thread=Thread.objects.get(pk=thread.pk), body="@mentioned see this")
    assert _notes(people["mentioned"]) == []


def test_publishing_an_app_creates_its_forum_category(moderator):
    from marketplace.models import AppStatus
    from marketplace.services import app_review

    app = AppFactory(status=AppStatus.IN_REVIEW)
    assert not ForumCategory.objects.filter(app=app).exists()
    app_review(app=app, moderator=moderator, decision="approve")
    category = ForumCategory.objects.get(app=app)
    assert category.name == app.name and category.get_absolute_url().startswith("/forum/c/app-")
