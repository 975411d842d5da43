"""The API tab's snippets: built from the version's task and example input, valid against the input schema."""
import json
import shlex
from decimal import Decimal

import pytest

from inference import schemas
from inference.snippets import build_snippets
from marketplace.models import AppStatus
from tests.factories import AppFactory, AppVersionFactory, PaidAppFactory, UserFactory

TASKS = ["text-classification", "feature-extraction", "text-generation", "image-classification"]


@pytest.mark.parametrize("task", TASKS)
def test_every_snippet_sends_a_valid_input(task):
    snippets = {s.lang: s.code for s in build_snippets(base_url="http://mm.example/", slug="my-app", task=task,
                                                         max_price=Decimal("0.05"), key_hint="mm_abc_…")}
    assert set(snippets) == {"curl", "python", "javascript", "cli"}
    curl = snippets["curl"]
    body = json.loads(shlex.split(curl.split(" -d ", 1)[1])[0])
    assert schemas.input_validate(task=task, data=body["input"]) and body["max_price"] == "0.050000"
    assert "http://mm.example/api/v1/apps/my-app/predictions/" in curl and "mm_abc_…" in curl
    assert "import modelmarket" in snippets["python"] and "max_price=\"0.050000\"" in snippets["python"]
    assert "process.env.MODELMARKET_API_KEY" in snippets["javascript"]
    assert snippets["cli"].splitlines()[-1].startswith("modelmarket run my-app -i ")
    if task == "text-generation":
        assert "client.stream(" in snippets["python"] and "--stream" in snippets["cli"]
    if task == "image-classification":
        assert "-i image=@photo.png" in snippets["cli"]


def test_free_apps_send_no_max_price():
    curl = build_snippets(base_url="http://x", slug="a", task="feature-extraction")[0].code
    assert "max_price" not in curl and "mm_…" in curl


@pytest.mark.django_db
def test_app_page_has_the_api_tab_with_key_prefix_and_quote(client):
    from accounts.services import api_key_create

    person = UserFactory()
    key = api_key_create(user=person, name="laptop", scopes=["read", "predict"]).api_key
    app = PaidAppFactory(status=AppStatus.PUBLISHED)
    AppVersionFactory(app=app, status="ready", task="text-classification")
    client.force_login(person)
    page = client.get(app.get_absolute_url()).content.decode()
    assert 'href="#api"' in page and 'id="api-code-curl"' in page and 'id="api-code-cli"' in page
    assert f"mm_{key.prefix}_…" in page and "laptop" in page
    assert 'id="api-quote"' in page and "0.01" in page
    assert "Use it over the API" in page and "$MM_KEY" not in page  # the old box is gone

    anonymous = client.__class__().get(app.get_absolute_url()).content.decode()
    assert 'id="api-code-python"' in anonymous and "mm_…" in anonymous

    empty = AppFactory(status=AppStatus.PUBLISHED)
    assert 'id="api-code-curl"' not in client.get(empty.get_absolute_url()).content.decode()
