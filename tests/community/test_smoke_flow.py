"""The forum's main path through pages: index, category, thread, reply, accept."""
import pytest
from django.urls import reverse

from community.models import Thread

from .conftest import reply

pytestmark = pytest.mark.django_db


def test_pages_render_for_anonymous_and_members(client, question, developer, asker, app_category):
    answer = reply(question, developer, "Use `texts: [...]` in the input.")
    for url in [reverse("community:index"), app_category.get_absolute_url(), question.get_absolute_url(),
                reverse("community:search") + "?q=batch"]:
        assert client.get(url).status_code == 200, url
    client.force_login(asker)
    page = client.get(question.get_absolute_url()).content.decode()
    assert "Developer" in page and "Accept answer" in page
    response = client.post(reverse("community:post_accept", kwargs={"pk": answer.pk}))
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.accepted_post == answer
    listing = client.get(app_category.get_absolute_url()).content.decode()
    assert "Solved" in listing


def test_new_thread_from_app_page_creates_category_on_first_post(client, user):
    from community.models import ForumCategory
    from tests.factories import AppFactory

    app = AppFactory(slug="shape-classifier")
    assert not ForumCategory.objects.filter(app=app).exists()
    client.force_login(user)
    page = client.get(app.get_absolute_url()).content.decode()
    assert 'id="discuss"' in page
    url = reverse("community:thread_new") + f"?app={app.slug}"
    assert client.get(url).status_code == 200
    response = client.post(url, {"category": f"app:{app.slug}", "kind": "question",
                                 "title": "Which image sizes work?", "body": "Any size?"})
    assert response.status_code == 302, response.content.decode()[:2000]
    thread = Thread.objects.get()
    assert thread.category.app == app


def test_reply_through_page_and_csrf_is_enforced(user, question):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(reverse("community:reply", kwargs={"pk": question.pk}), {"body": "No token here"})
    assert response.status_code == 403
    assert question.posts.count() == 1


def test_pagination_jump_and_unread_markers(client, general, moderator, user):
    from community import selectors, services

    thread = services.thread_create(author=moderator, category=general, title="A long running discussion",
                                    body="Opening", kind="discussion")
    for n in range(2, 26):
        services.post_create(author=moderator, thread=thread, body=f"Reply body number {n}")
    quiet = services.thread_create(author=moderator, category=general, title="A thread nobody opened",
                                   body="Hello", kind="discussion")
    client.force_login(user)
    listing = client.get(general.get_absolute_url()).content.decode()
    assert listing.count("is-new") == 2
    page = client.get(thread.get_absolute_url()).content.decode()
    assert "Reply body number 20" in page and "Reply body number 21" not in page
    states = {t.pk: selectors.unread_state(t) for t in selectors.threads_for_category(user=user, category=general)}
    assert states == {thread.pk: "unread", quiet.pk: "new"}
    jumped = client.get(thread.get_absolute_url() + "?post=23").content.decode()
    assert "Reply body number 23" in jumped and 'id="post-23"' in jumped and "Reply body number 20" not in jumped
    states = {t.pk: selectors.unread_state(t) for t in selectors.threads_for_category(user=user, category=general)}
    assert states[thread.pk] == ""
    services.post_create(author=moderator, thread=thread, body="Something new arrived")
    states = {t.pk: selectors.unread_state(t) for t in selectors.threads_for_category(user=user, category=general)}
    assert states[thread.pk] == "unread"
