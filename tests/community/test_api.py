"""The Community API per shared/API.md: paths, fields, pagination, errors and scopes."""
import pytest

from community import services
from community.models import Thread
from tests.conftest import key_client

from .conftest import reply

pytestmark = pytest.mark.django_db


def test_categories_include_one_per_published_app(api_client, forum_app):
    data = api_client.get("/api/v1/forum/categories/").json()
    assert set(data) >= {"count", "next", "previous", "results"}
    by_slug = {c["slug"]: c for c in data["results"]}
    assert {"announcements", "general", "help", "show-and-tell"} <= set(by_slug)
    app_categories = [c for c in data["results"] if c["app"]]
    assert [c["app"] for c in app_categories] == [forum_app.slug]
    assert app_categories[0]["name"] == forum_app.name and app_categories[0]["app_url"] == forum_app.get_absolute_url()
    assert by_slug["general"]["app"] is None


def test_suspended_app_forum_is_gone(api_client, forum_app, question):
    from marketplace.models import AppStatus

    forum_app.status = AppStatus.SUSPENDED
    forum_app.save()
    data = api_client.get("/api/v1/forum/categories/").json()
    assert not [c for c in data["results"] if c["app"]]
    assert api_client.get(f"/api/v1/forum/threads/{question.pk}/").status_code == 404


def test_create_and_read_a_thread(auth_client, app_category):
    response = auth_client.post("/api/v1/forum/threads/", {
        "category": app_category.slug, "title": "Does it support batching?", "body": "**Please** tell me.",
        "kind": "question"}, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    for field in ("id", "title", "body_html", "author", "kind", "accepted_post", "locked", "pinned", "posts_count"):
        assert field in created
    assert created["body_html"] == "<p><strong>Please</strong> tell me.</p>\n"
    assert created["author"] == auth_client.user.username and created["kind"] == "question"
    assert created["posts_count"] == 1 and created["accepted_post"] is None
    detail = auth_client.get(f"/api/v1/forum/threads/{created['id']}/").json()
    assert detail["title"] == "Does it support batching?"
    listing = auth_client.get("/api/v1/forum/threads/", {"category": app_category.slug}).json()
    assert [t["id"] for t in listing["results"]] == [created["id"]]


def test_create_errors_use_the_error_shape(auth_client, general):
    response = auth_client.post("/api/v1/forum/threads/", {"category": "general", "title": "short", "body": "x",
                                                           "kind": "question"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and "title" in error["fields"]
    response = auth_client.post("/api/v1/forum/threads/", {"category": "nope", "title": "Long enough title",
                                                           "body": "Body text", "kind": "poll"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()["error"]["fields"]
    response = auth_client.post("/api/v1/forum/threads/", {"category": "nope", "title": "Long enough title",
                                                           "body": "Body text"}, format="json")
    assert response.status_code == 400 and "category" in response.json()["error"]["fields"]
    assert auth_client.get("/api/v1/forum/threads/", {"category": "nope"}).status_code == 400


def test_posts_like_and_accept(auth_client, developer, question, asker):
    post = auth_client.post(f"/api/v1/forum/threads/{question.pk}/posts/", {"body": "Use batches of 32."},
                            format="json")
    assert post.status_code == 201
    body = post.json()
    assert set(body) >= {"id", "body_html", "author", "likes"} and body["likes"] == 0
    dev_answer = reply(question, developer, "Official answer: `texts: [...]`.")
    like = auth_client.post(f"/api/v1/forum/posts/{dev_answer.pk}/like/")
    assert like.status_code == 200 and like.json()["likes"] == 1
    assert auth_client.post(f"/api/v1/forum/posts/{dev_answer.pk}/like/").json()["likes"] == 1  # idempotent
    own = auth_client.post(f"/api/v1/forum/posts/{body['id']}/like/")
    assert own.status_code == 403 and own.json()["error"]["code"] == "permission_denied"
    # The stranger who replied cannot accept; the asker can.
    assert auth_client.post(f"/api/v1/forum/posts/{dev_answer.pk}/accept/").status_code == 403
    auth_client.force_authenticate(asker)
    accepted = auth_client.post(f"/api/v1/forum/posts/{dev_answer.pk}/accept/")
    assert accepted.status_code == 200 and accepted.json()["accepted_post"] == dev_answer.pk
    assert accepted.json()["solved"] is True
    posts = auth_client.get(f"/api/v1/forum/threads/{question.pk}/posts/").json()
    assert posts["count"] == 3
    by_id = {p["id"]: p for p in posts["results"]}
    assert by_id[dev_answer.pk]["badges"] == ["developer"] and by_id[dev_answer.pk]["accepted"] is True


def test_posts_are_paginated(api_client, question, moderator):
    for n in range(5):
        reply(question, moderator, f"Reply {n}")
    data = api_client.get(f"/api/v1/forum/threads/{question.pk}/posts/", {"page_size": 2}).json()
    assert data["count"] == 6 and len(data["results"]) == 2 and data["next"]
    assert [p["badges"] for p in data["results"]] == [[], ["moderator"]]


def test_anonymous_cannot_write_and_read_keys_cannot_post(api_client, user, question):
    response = api_client.post(f"/api/v1/forum/threads/{question.pk}/posts/", {"body": "hi there"}, format="json")
    assert response.status_code == 401
    reader = key_client(user, scopes=("read",))
    assert reader.get(f"/api/v1/forum/threads/{question.pk}/").status_code == 200
    denied = reader.post(f"/api/v1/forum/threads/{question.pk}/posts/", {"body": "hi there"}, format="json")
    assert denied.status_code == 403
    writer = key_client(user, scopes=("read", "publish"))
    assert writer.post(f"/api/v1/forum/threads/{question.pk}/posts/", {"body": "hi there"},
                       format="json").status_code == 201


def test_locked_thread_rejects_replies(auth_client, question, moderator):
    services.thread_set_locked(thread=question, actor=moderator, locked=True)
    response = auth_client.post(f"/api/v1/forum/threads/{question.pk}/posts/", {"body": "late"}, format="json")
    assert response.status_code == 403 and "locked" in response.json()["error"]["message"]
    assert Thread.objects.get(pk=question.pk).posts_count == 1


def test_openapi_describes_the_forum(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/v1/forum/categories/", "/api/v1/forum/threads/", "/api/v1/forum/threads/{id}/",
                 "/api/v1/forum/threads/{id}/posts/", "/api/v1/forum/posts/{id}/like/",
                 "/api/v1/forum/posts/{id}/flag/", "/api/v1/forum/posts/{id}/accept/"):
        assert path in schema["paths"], path
