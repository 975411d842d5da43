"""Through the real serving path (admission, batch claim with UPDATE … RETURNING, bulk finish, settlement) with a
real tiny model: the database holds ciphertext, and a `store: false` answer leaves nothing readable."""
import pytest

from inference.models import Prediction
from marketplace.models import AppStatus
from tests.conftest import key_client
from tests.factories import AppFactory, LibraryEntryFactory, UserFactory
from tests.inference.conftest import _model_dir, eager_celery, ready_version, tiny_models  # noqa: F401 - fixtures

from .conftest import raw_columns

pytestmark = pytest.mark.django_db


@pytest.fixture
def classifier(tiny_models):  # noqa: F811
    app = AppFactory(status=AppStatus.PUBLISHED)
    ready_version(app, tiny_models["classifier"], task="text-classification")
    runner = UserFactory()
    LibraryEntryFactory(user=runner, app=app)
    return app, key_client(runner, scopes=("read", "predict"))


def test_the_worker_path_stores_ciphertext_and_store_false_leaves_nothing(classifier, eager_celery):  # noqa: F811
    app, client = classifier
    kept = client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "quarterly profits soared"}},
                       format="json", HTTP_PREFER="wait=20").json()
    assert kept["status"] == "succeeded" and kept["output"]["labels"]
    raw_input, raw_output = raw_columns(Prediction.objects.get(pk=kept["id"]))
    assert "profits" not in raw_input and "label" not in raw_output and raw_input.startswith("gAAAAA")
    assert client.get(f"/api/v1/predictions/{kept['id']}/").json()["output"] == kept["output"]

    once = client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "my private note"},
                                                                 "store": False},
                       format="json", HTTP_PREFER="wait=20")
    assert once.status_code == 201, once.content
    body = once.json()
    assert body["status"] == "succeeded" and body["output"]["labels"] and body["input"] == {"text": "my private note"}
    prediction = Prediction.objects.get(pk=body["id"])
    assert prediction.data_removed and raw_columns(prediction) == (None, None)
    later = client.get(f"/api/v1/predictions/{body['id']}/").json()
    assert later["input"] is None and later["output"] is None and later["data_removed"] is True
    assert later["price"] == body["price"] and later["metrics"] == body["metrics"]
