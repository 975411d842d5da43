"""/api/schema/ describes every accounts and marketplace endpoint, with its request and answer shapes."""
import pytest
import yaml

pytestmark = pytest.mark.django_db

EXPECTED = {
    "/api/v1/me/": {"get"},
    "/api/v1/me/developer/": {"post"},
    "/api/v1/keys/": {"get", "post"},
    "/api/v1/keys/{id}/": {"delete"},
    "/api/v1/categories/": {"get"},
    "/api/v1/apps/": {"get", "post"},
    "/api/v1/apps/{slug}/": {"get", "patch"},
    "/api/v1/apps/{slug}/submit/": {"post"},
    "/api/v1/apps/{slug}/review/": {"post"},
    "/api/v1/apps/{slug}/acquire/": {"post"},
    "/api/v1/apps/{slug}/reviews/": {"get", "post"},
}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_schema_has_every_path_and_method(schema):
    for path, methods in EXPECTED.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), (path, set(schema["paths"][path]))


def test_schema_describes_bodies_answers_and_errors(schema):
    components = schema["components"]["schemas"]
    app = components["AppOutput"]["properties"]
    for field in ("slug", "name", "tagline", "description", "category", "owner", "status", "rating",
                  "reviews_count", "runs", "pricing", "price", "currency", "latest_version", "created_at"):
        assert field in app, field
    create = schema["paths"]["/api/v1/apps/"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("AppCreateInputRequest")
    assert {"201", "400", "401", "403"} <= set(create["responses"])
    assert create["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    listing = schema["paths"]["/api/v1/apps/"]["get"]
    assert {"search", "category", "ordering", "page", "page_size"} <= {p["name"] for p in listing["parameters"]}
    keys = schema["paths"]["/api/v1/keys/"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert "key" in components[keys["$ref"].rsplit("/", 1)[-1]]["properties"]
    assert "apiKey" in schema["components"]["securitySchemes"]
