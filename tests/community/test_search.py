"""Forum search: full-text with ranking on PostgreSQL (title above body), word match on SQLite."""
import pytest

from community import selectors, services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(general, moderator):
    author = UserFactory(username="writer")
    make = lambda title, body: services.thread_create(  # noqa: E731
        author=author, category=general, title=title, body=body, kind="question")
    title_hit = make("Quantization of keras models", "How small can the file get?")
    body_hit = make("Deployment question here", "Somebody mentioned quantization once, is it useful?")
    services.post_create(author=moderator, thread=make("Unrelated pricing thread", "Prices are fine."),
                         body="Nothing about it here.")
    reply_hit = make("Model size problems", "The upload is too big.")
    services.post_create(author=moderator, thread=reply_hit, body="Try quantization: quantization halves the size.")
    hidden = make("Quantization spam", "quantization quantization quantization")
    services.post_set_hidden(post=hidden.posts.get(number=1), actor=moderator, hidden=True)
    return {"title": title_hit, "body": body_hit, "reply": reply_hit, "hidden": hidden}


def test_title_matches_rank_first_and_hidden_threads_never_show(corpus, user):
    hits = selectors.search(user=user, query="quantization")
    ids = [hit.thread.pk for hit in hits]
    assert ids[0] == corpus["title"].pk
    assert set(ids) == {corpus["title"].pk, corpus["body"].pk, corpus["reply"].pk}
    assert hits[0].rank > hits[-1].rank
    reply_hit = next(hit for hit in hits if hit.thread.pk == corpus["reply"].pk)
    assert reply_hit.post_number == 2


def test_moderators_find_hidden_threads(corpus, moderator):
    ids = [hit.thread.pk for hit in selectors.search(user=moderator, query="quantization")]
    assert corpus["hidden"].pk in ids


def test_search_over_the_api_and_page(corpus, client):
    data = client.get("/api/v1/forum/threads/", {"search": "quantization"}).json()
    assert data["count"] == 3
    assert data["results"][0]["id"] == corpus["title"].pk
    page = client.get("/forum/search/", {"q": "quantization"}).content.decode()
    assert page.index("Quantization of keras models") < page.index("Deployment question here")
    # The query itself is echoed in the search box, so only a highlighted hit proves the excerpt was marked.
    assert "<mark>Quantization</mark>" in page or "<mark>quantization</mark>" in page
    assert "Quantization spam" not in page


def test_stemming_and_empty_queries(corpus, user):
    assert selectors.search(user=user, query="   ") == []
    assert corpus["title"].pk in [hit.thread.pk for hit in selectors.search(user=user, query="quantized model")]
