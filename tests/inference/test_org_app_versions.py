"""An org's app (issue 14): members whose role may publish upload its versions and see the unready ones, as its
owner does; other members cannot."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Membership
from accounts.org_services import org_create
from marketplace.services import app_create
from tests.conftest import key_client
from tests.factories import DeveloperFactory, category


@pytest.fixture
def org_app(db):
    owner, dev, member = DeveloperFactory(), DeveloperFactory(), DeveloperFactory()
    org = org_create(user=owner, name="Acme")
    Membership.objects.create(org=org, user=dev, role="developer")
    Membership.objects.create(org=org, user=member, role="member")
    return app_create(owner=owner, org=org, name="Acme Sense", tagline="Reads", category=category()), dev, member


def _upload(client, app, data: bytes, version: str):
    return client.post(f"/api/v1/apps/{app.slug}/versions/", {
        "artifact": SimpleUploadedFile("model.zip", data), "version": version, "task": "text-classification",
        "framework": "transformers", "hardware": "cpu"}, format="multipart")


def test_an_org_developer_uploads_a_version_of_the_org_app(org_app, tiny_models):
    app, dev, member = org_app
    data = tiny_models["classifier"].read_bytes()
    response = _upload(key_client(dev, scopes=("read", "publish")), app, data, "1.0.0")
    assert response.status_code == 201, response.content
    assert app.versions.get().version == "1.0.0"
    listed = key_client(dev, scopes=("read",)).get(f"/api/v1/apps/{app.slug}/versions/").json()
    assert [v["version"] for v in listed] == ["1.0.0"]  # still `uploaded`: shown to those who manage it
    # A plain member: the org's draft is not theirs to see or change.
    assert _upload(key_client(member, scopes=("read", "publish")), app, data, "2.0.0").status_code == 404
    assert app.versions.count() == 1
