"""Each input an outside fuzz run turned into a 500 (or an HTML/SSE-labelled error) answers a 4xx in the API's
error shape. One test per case; the fixes live in config/parsers.py, config/middleware.py and config/money.py."""
import json
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from config.money import parse_decimal_strict
from config.parsers import MAX_JSON_DEPTH, json_depth_exceeds
from tests.conftest import key_client
from tests.factories import AppVersionFactory, DeveloperFactory, PaidAppFactory, UserFactory

pytestmark = pytest.mark.django_db

ODD_MONEY = ["1_000", "１０", "١٠", "۱۰", "1e3", "NaN", "Infinity", "0x10", " ", "1.2.3", "--1", "10\u00a0"]


def error_of(response, status: int) -> dict:
    """The response is `status`, JSON, and in the shared error shape; returns the `error` object."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"]), body
    assert body["error"]["message"]
    return body["error"]


def raw_post(client, path: str, body: bytes | str, content_type: str | None = "application/json", **extra):
    if content_type is None:
        return client.generic("POST", path, body, **extra)
    return client.generic("POST", path, body, content_type=content_type, **extra)


@pytest.fixture
def paid_app(db):
    app = PaidAppFactory()
    AppVersionFactory(app=app)
    return app


@pytest.fixture
def buyer_client(db):
    return key_client(UserFactory())


@pytest.fixture
def dev_client(db):
    return key_client(DeveloperFactory())


# --- Deeply nested JSON ------------------------------------------------------------------------------------

def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("path", ["/api/v1/apps/{slug}/predictions/", "/api/v1/keys/", "/api/v1/forum/threads/",
                                  "/api/v1/training-jobs/estimate/", "/api/v1/billing/topups/"])
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(path, paid_app, dev_client):
    body = '{"input": {"text": ' + nested(100_000) + "}}"
    started = time.monotonic()
    error = error_of(raw_post(dev_client, path.format(slug=paid_app.slug), body), 400)
    assert "nested" in error["message"]
    assert time.monotonic() - started < 2.0  # refused by a linear scan, not after burning CPU


def test_the_depth_scan_ignores_brackets_inside_strings():
    assert not json_depth_exceeds(json.dumps({"text": "[" * 1000}).encode(), MAX_JSON_DEPTH)
    assert not json_depth_exceeds(json.dumps({"text": '\\"[[[' * 100}).encode(), MAX_JSON_DEPTH)
    assert json_depth_exceeds(nested(MAX_JSON_DEPTH + 1).encode(), MAX_JSON_DEPTH)
    assert not json_depth_exceeds(nested(MAX_JSON_DEPTH).encode(), MAX_JSON_DEPTH)


def test_prediction_input_nested_900_deep_is_refused_quickly(paid_app, buyer_client):
    body = '{"input": {"text": "x", "extra": ' + "{\"a\": " * 900 + "1" + "}" * 900 + "}}"
    started = time.monotonic()
    error_of(raw_post(buyer_client, f"/api/v1/apps/{paid_app.slug}/predictions/", body), 400)
    assert time.monotonic() - started < 1.0


# --- Characters PostgreSQL cannot store ---------------------------------------------------------------------

@pytest.mark.parametrize("text", ["a\\ud800b", "\\udfff", "a\\u0000b"])
def test_lone_surrogates_and_nul_in_prediction_input_are_400(text, paid_app, buyer_client):
    body = '{"input": {"text": "' + text + '"}}'
    error = error_of(raw_post(buyer_client, f"/api/v1/apps/{paid_app.slug}/predictions/", body), 400)
    assert "surrogate" in error["message"] or "NUL" in error["message"]


def test_a_valid_surrogate_pair_is_fine_json(paid_app, buyer_client):
    """An emoji written as an escaped surrogate pair is ordinary text, not an error."""
    from config.parsers import loads_strict

    assert loads_strict(b'{"text": "\\ud83d\\ude00"}') == {"text": "\U0001F600"}


@pytest.mark.parametrize("url", ["/api/v1/forum/threads/?search=a%00b", "/api/v1/forum/threads/?category=%00",
                                 "/api/v1/predictions/?app=%00", "/api/v1/webhook-deliveries/?prediction=%00"])
def test_nul_in_query_parameters_is_400_naming_the_parameter(url, buyer_client):
    error = error_of(buyer_client.get(url), 400)
    name = url.split("?")[1].split("=")[0]
    assert name in error["fields"], error


def test_nul_in_a_page_query_is_400_not_500(client):
    assert client.get("/forum/search/", {"q": "a\x00b"}).status_code == 400


@pytest.mark.parametrize("line", ['{"text": "good text", "label": "a\\u0000b"}',
                                  '{"text": "good text", "label": "a\\ud800b"}',
                                  '{"text": "bad\\udc00 text", "label": "positive"}'])
def test_nul_or_lone_surrogate_in_jsonl_dataset_is_400(line, dev_client):
    rows = "\n".join(json.dumps({"text": f"row number {i}", "label": ["pos", "neg"][i % 2]}) for i in range(20))
    data = (rows + "\n" + line + "\n").encode()
    started = time.monotonic()
    response = dev_client.post("/api/v1/datasets/", {"file": SimpleUploadedFile("d.jsonl", data)}, format="multipart")
    error = error_of(response, 400)
    assert error["code"] == "bad_characters"
    assert "Line 21" in error["message"]
    assert time.monotonic() - started < 3.0


# --- Authorization headers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("header", ["\u00a0", "\u0085", "   ", "\t", "\u00a0\u0085 "])
def test_whitespace_only_authorization_header_is_401(header, client):
    error = error_of(client.get("/api/v1/me/", HTTP_AUTHORIZATION=header), 401)
    assert error["code"] == "authentication_failed"


# --- Numbers ------------------------------------------------------------------------------------------------

def test_a_400_digit_hyperparameter_is_400(dev_client):
    body = '{"base_app": "x", "base_version": "1", "dataset": 1, "hyperparameters": {"epochs": ' + "9" * 400 + "}}"
    error = error_of(raw_post(dev_client, "/api/v1/training-jobs/estimate/", body), 400)
    assert "number" in error["message"].lower()


@pytest.mark.parametrize("number", ["1e400", "-1e400"])
def test_json_floats_that_overflow_are_400(number, dev_client):
    body = '{"base_app": "x", "base_version": "1", "dataset": 1, "hyperparameters": {"learning_rate": ' + number + "}}"
    error_of(raw_post(dev_client, "/api/v1/training-jobs/estimate/", body), 400)


def test_hyperparameters_that_overflow_float_are_field_errors():
    from config.errors import InvalidInput
    from training.services import hyperparameters_clean

    with pytest.raises(InvalidInput) as caught:
        hyperparameters_clean(framework="transformers", raw={"learning_rate": 10 ** 400})
    assert "hyperparameters.learning_rate" in caught.value.fields


def test_a_5000_digit_number_in_a_jsonl_dataset_is_400(dev_client):
    rows = "\n".join(json.dumps({"text": f"row number {i}", "label": ["pos", "neg"][i % 2]}) for i in range(20))
    data = (rows + '\n{"text": "big", "label": ' + "7" * 5000 + "}\n").encode()
    response = dev_client.post("/api/v1/datasets/", {"file": SimpleUploadedFile("d.jsonl", data)}, format="multipart")
    error = error_of(response, 400)
    assert "Line 21" in error["message"]


# --- OPTIONS, sizes, unknown paths, content types -----------------------------------------------------------

def test_options_on_the_estimate_endpoint_answers(dev_client):
    response = dev_client.options("/api/v1/training-jobs/estimate/")
    assert response.status_code == 200
    assert response.json()["name"]


def test_a_json_body_over_the_upload_limit_is_a_json_413(settings, buyer_client, paid_app):
    body = b'{"input": {"text": "' + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b'"}}'
    assert len(body) > 10 * 1024 * 1024
    error = error_of(raw_post(buyer_client, f"/api/v1/apps/{paid_app.slug}/predictions/", body), 413)
    assert error["code"] == "too_large"


def test_the_parser_enforces_the_limit_when_content_length_understates_the_body(settings):
    """A body longer than its (absent or false) Content-Length claims is still read only up to the limit."""
    import io

    from config.parsers import RequestTooLarge, StrictJSONParser

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    with pytest.raises(RequestTooLarge):
        StrictJSONParser().parse(io.BytesIO(b'{"a": "' + b"x" * 200 + b'"}'), "application/json")


@pytest.mark.parametrize("path", ["/api/v1/keys/-1/", "/api/v1/forum/threads/abc/", "/api/nothing-here",
                                  "/api/v1/apps/no-such-app/", "/api/v1/predictions/not-a-uuid/"])
def test_unknown_api_paths_answer_json_404(path, buyer_client):
    error = error_of(buyer_client.get(path), 404)
    assert error["code"] == "not_found"


def test_pages_outside_the_api_keep_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("who", ["anonymous", "stranger"])
def test_stream_errors_are_json_not_event_stream(who, paid_app):
    client = key_client(UserFactory()) if who == "stranger" else None
    from rest_framework.test import APIClient

    client = client or APIClient()
    response = client.get(f"/api/v1/predictions/{uuid.uuid4()}/stream/", HTTP_ACCEPT="text/event-stream")
    error = error_of(response, 401 if who == "anonymous" else 404)
    assert error["code"] in ("not_authenticated", "not_found")


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "１０", "10, 10"])
def test_non_numeric_content_length_is_400(length, buyer_client, paid_app):
    response = raw_post(buyer_client, f"/api/v1/apps/{paid_app.slug}/predictions/", b'{"input": {"text": "hi"}}',
                        CONTENT_LENGTH=length)
    error = error_of(response, 400)
    assert "Content-Length" in error["fields"]


def test_a_non_numeric_content_length_on_the_upload_endpoint_is_400(dev_client):
    response = dev_client.post("/api/v1/apps/whatever/versions/", {"version": "1.0.0"}, format="multipart",
                               CONTENT_LENGTH="lots")
    error_of(response, 400)


@pytest.mark.parametrize("body", [b'{"input": {"text": "abc"', b"\xff\xfe\x00garbage", b"{'input': 1}", b"[1,]",
                                  b'{"input": NaN}', b'{"input": Infinity}', b"\xc3\x28", b"   "])
def test_garbled_json_is_400(body, buyer_client, paid_app):
    error = error_of(raw_post(buyer_client, f"/api/v1/apps/{paid_app.slug}/predictions/", body), 400)
    assert error["code"] in ("parse_error", "invalid")


def test_a_charset_other_than_utf8_is_415(buyer_client, paid_app):
    response = raw_post(buyer_client, f"/api/v1/apps/{paid_app.slug}/predictions/", b'{"input": {"text": "hi"}}',
                        content_type="application/json; charset=not-a-codec")
    error_of(response, 415)


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
def test_a_json_endpoint_without_the_json_content_type_names_the_header(content_type, buyer_client, paid_app):
    body = b'{"input": {"text": "hi"}}'
    response = raw_post(buyer_client, f"/api/v1/apps/{paid_app.slug}/predictions/", body, content_type=content_type)
    error = error_of(response, 415)
    assert error["code"] == "unsupported_media_type"
    assert "Content-Type: application/json" in error["message"]
    assert "Content-Type" in error["fields"]


def test_a_decompression_bomb_image_is_400(settings, monkeypatch):
    """Pillow raises DecompressionBombError (not an OSError) past twice MAX_IMAGE_PIXELS: a 400, not a 500."""
    import base64
    import io

    from PIL import Image

    from config.errors import InvalidInput
    from inference.schemas import input_validate

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buffer, format="PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(InvalidInput) as caught:
        input_validate(task="image-classification", data={"image": base64.b64encode(buffer.getvalue()).decode()})
    assert caught.value.status == 400
    assert "input.image" in caught.value.fields


# --- Money --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ODD_MONEY)
def test_money_parsing_accepts_ascii_decimals_only(value):
    with pytest.raises(ValueError):
        parse_decimal_strict(value)


@pytest.mark.parametrize("value", ["10", "10.50", "0.000001", ".5", "-1", 10, 0.25])
def test_plain_ascii_decimals_parse(value):
    from decimal import Decimal

    assert parse_decimal_strict(value) == Decimal(str(value))


@pytest.mark.parametrize("value", ODD_MONEY[:3])
def test_every_money_input_refuses_lenient_numbers(value, paid_app, buyer_client, settings):
    from billing.models import TopUp
    from marketplace.models import App

    owner_client = key_client(paid_app.owner)
    prediction = buyer_client.post(f"/api/v1/apps/{paid_app.slug}/predictions/",
                                   {"input": {"text": "hi"}, "max_price": value}, format="json")
    assert "max_price" in error_of(prediction, 400)["fields"]
    topup = buyer_client.post("/api/v1/billing/topups/", {"amount": value}, format="json")
    error_of(topup, 400)
    assert not TopUp.objects.exists()
    pricing = owner_client.patch(f"/api/v1/apps/{paid_app.slug}/", {"pricing": {"base_price": value}}, format="json")
    error_of(pricing, 400)
    assert App.objects.get(pk=paid_app.pk).base_price == paid_app.base_price
    key = buyer_client.post("/api/v1/keys/", {"name": "capped", "scopes": ["read"], "spend_cap": value},
                            format="json")
    error_of(key, 400)


@pytest.mark.parametrize("value", ODD_MONEY[:3])
def test_money_forms_refuse_lenient_numbers(value):
    from billing.forms import BudgetForm, TopUpForm

    assert not TopUpForm(data={"amount": value}).is_valid()
    assert not BudgetForm(data={"monthly_budget": value}).is_valid()
    assert BudgetForm(data={"monthly_budget": "12.50"}).is_valid()
