"""The client's models read exactly what the served OpenAPI schema documents, and the schema is valid."""
import re

import modelmarket
import pytest
from modelmarket._models import TERMINAL, Model
from openapi_spec_validator import validate

MODELS = [modelmarket.Prediction, modelmarket.App, modelmarket.Quote, modelmarket.Balance, modelmarket.ApiKey,
          modelmarket.Version, modelmarket.Dataset, modelmarket.TrainingJob]


@pytest.fixture(scope="module")
def served(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_the_served_schema_validates_and_every_operation_is_documented(served):
    validate(served)
    for path, item in served["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            assert op.get("operationId") and op.get("summary"), where
            assert len(op.get("tags", [])) == 1, where
            codes = set(op["responses"])
            assert any(code.startswith("2") for code in codes) and any(code.startswith("4") for code in codes), where
            examples = [media for response in op["responses"].values()
                        for media in response.get("content", {}).values() if "example" in media or "examples" in media]
            assert examples, f"{where} has no example"
            for code in codes - {"200", "201", "202", "204", "302"}:
                schema = op["responses"][code].get("content", {}).get("application/json", {}).get("schema", {})
                assert schema.get("$ref", "").endswith("/Error"), f"{where} {code} is not in the error shape"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_client_models_match_the_schema_components(served, model: type[Model]):
    component = served["components"]["schemas"][model.schema_name]
    properties = component["properties"]
    missing = [name for name in model.api_fields() if name not in properties]
    assert not missing, f"{model.__name__} reads {missing}, which {model.schema_name} does not document"


def test_prediction_statuses_match(served):
    status = served["components"]["schemas"]["Prediction"]["properties"]["status"]
    enum = served["components"]["schemas"][status["$ref"].rsplit("/", 1)[-1]]["enum"] if "$ref" in status else \
        status["enum"]
    assert set(enum) >= TERMINAL and {"queued", "starting", "processing"} <= set(enum)


def test_paginated_lists_and_documented_filters(served):
    for path in ("/api/v1/apps/", "/api/v1/keys/", "/api/v1/billing/ledger/", "/api/v1/predictions/"):
        ref = served["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert set(served["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"]) >= {
            "count", "next", "previous", "results"}, path
    names = {p["name"] for p in served["paths"]["/api/v1/predictions/"]["get"]["parameters"]}
    assert {"app", "page"} <= names
    names = {p["name"] for p in served["paths"]["/api/v1/webhook-deliveries/"]["get"]["parameters"]}
    assert "prediction" in names
    stream = served["paths"]["/api/v1/predictions/{prediction_id}/stream/"]["get"]["responses"]["200"]["content"]
    assert "text/event-stream" in stream


@pytest.mark.django_db
def test_swagger_ui_and_redoc_are_served_from_our_own_static_files(client):
    for url in ("/api/docs/", "/api/redoc/"):
        page = client.get(url).content.decode()
        assert not re.findall(r'(?:src|href)="(?:https?:)?//', page), url  # no asset from another host
        assert "/static/drf_spectacular_sidecar/" in page, url
