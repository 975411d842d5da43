"""One place that makes /api/schema/ complete: tags, summaries, error answers, examples, documented filters.

A drf-spectacular post-processing hook, so the views keep their own `extend_schema` where they have one and
every operation still ends up with an operationId, one tag, a summary, examples and its error responses.
"""
from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}

# Path prefix (after /api/v1) -> the tag the operation belongs to; the first match wins.
TAG_RULES = [
    ("/apps/{slug}/versions", "versions"), ("/apps/{slug}/predictions", "predictions"),
    ("/apps/{slug}/quote", "predictions"), ("/apps/{slug}/usage", "marketplace"), ("/apps", "marketplace"),
    ("/categories", "marketplace"), ("/predictions", "predictions"), ("/webhook", "webhooks"),
    ("/billing", "billing"), ("/datasets", "training"), ("/training-jobs", "training"), ("/forum", "community"),
    ("/orgs", "orgs"), ("/me", "accounts"), ("/keys", "accounts"),
]

SUMMARIES = {
    "apps_predictions_create": "Run an app (create a prediction)",
    "apps_versions_list": "List an app's versions",
    "apps_versions_create": "Upload a model version (multipart)",
    "apps_versions_retrieve": "A version: status, schemas, metrics",
    "datasets_list": "Your datasets",
    "datasets_create": "Upload a dataset (CSV or JSONL with text, label)",
    "datasets_retrieve": "A dataset",
    "datasets_partial_update": "Rename a dataset",
    "datasets_destroy": "Delete a dataset",
    "predictions_list": "Your predictions",
    "predictions_retrieve": "A prediction",
    "predictions_cancel_create": "Cancel a prediction",
    "predictions_stream_retrieve": "Stream a prediction (Server-Sent Events)",
    "training_jobs_list": "Your training jobs",
    "training_jobs_create": "Start a fine-tuning job",
    "training_jobs_retrieve": "A training job: status, progress, metrics",
    "training_jobs_artifact_retrieve": "Download the fine-tuned model",
    "training_jobs_cancel_create": "Cancel a training job",
    "training_jobs_publish_create": "Publish the result as a new app version",
    "training_jobs_estimate_create": "Estimate a job's price and duration",
    "webhook_deliveries_list": "Your webhook deliveries",
    "webhook_deliveries_redeliver_create": "Send a webhook again",
    "webhooks_secret_retrieve": "Your webhook signing secret",
    "webhooks_secret_create": "Rotate your webhook signing secret",
}

# What the URL converters accept (anything else is not one of our URLs).
PATH_PATTERNS = {"slug": r"^[-a-zA-Z0-9_]+$", "version": r"^[^/]+$"}

# Query filters the views read from request.query_params without a filter backend.
FILTERS = {
    "predictions_list": [("app", "Only this app's predictions (its slug).")],
    "webhook_deliveries_list": [("prediction", "Only this prediction's deliveries (its id).")],
}

# Views that paginate by hand (`Pagination().get_paginated_response`) but declare `Serializer(many=True)`.
PAGINATED = {"apps_list", "keys_list", "billing_ledger", "apps_reviews_list", "orgs_list", "orgs_members_list"}

ERROR_EXAMPLES = {
    "400": {"error": {"code": "invalid", "message": "This field is required.",
                      "fields": {"input": ["This field is required."]}}},
    "401": {"error": {"code": "not_authenticated", "message": "Authentication credentials were not provided.",
                      "fields": {}}},
    "402": {"error": {"code": "price_changed", "message": "The price is now 0.012000, above your max_price.",
                      "fields": {}, "price": "0.012000"}},
    "403": {"error": {"code": "permission_denied", "message": "This API key lacks the scope this action needs.",
                      "fields": {}}},
    "404": {"error": {"code": "not_found", "message": "Not found.", "fields": {}}},
    "409": {"error": {"code": "invalid_state", "message": "The app is already in review.", "fields": {}}},
    "413": {"error": {"code": "too_large", "message": "The input is too large.", "fields": {}}},
    "429": {"error": {"code": "throttled", "message": "Request was throttled. Expected available in 12 seconds.",
                      "fields": {}}},
    "503": {"error": {"code": "no_gpu_worker", "message": "No worker can serve this request right now.",
                      "fields": {}}},
}
ERROR_TEXT = {"400": "Bad input; `fields` says what is wrong.", "401": "No or invalid credentials.",
              "402": "Payment required: funds, a cap, or a purchase.", "403": "Not allowed (role or API key scope).",
              "404": "Not found, or someone else's private object.", "409": "Conflicts with the current state.",
              "413": "Too large.", "429": "Throttled; see `Retry-After`.", "503": "No worker can serve it now."}

HAND_EXAMPLES: dict[str, Any] = {
    "Prediction": {
        "id": "5b0c7a8e-3f0e-4a47-9c59-0b1f1f4b2d11", "app": "finance-sentiment", "version": "1.0.0",
        "status": "succeeded", "input": {"text": "Profits soared after record sales"},
        "output": {"labels": [{"label": "positive", "score": 0.94}, {"label": "neutral", "score": 0.04}]},
        "error": None, "logs": "", "price": "0.002000", "currency": "usd",
        "metrics": {"queue_ms": 3, "load_ms": 0, "predict_ms": 11, "batch_size": 1},
        "created_at": "2026-01-05T10:00:00+00:00", "started_at": "2026-01-05T10:00:00.003000+00:00",
        "completed_at": "2026-01-05T10:00:00.015000+00:00",
        "urls": {"get": "https://modelmarket.example/api/v1/predictions/5b0c7a8e-3f0e-4a47-9c59-0b1f1f4b2d11/",
                 "cancel": "https://modelmarket.example/api/v1/predictions/5b0c7a8e-3f0e-4a47-9c59-0b1f1f4b2d11/cancel/",
                 "stream": "https://modelmarket.example/api/v1/predictions/5b0c7a8e-3f0e-4a47-9c59-0b1f1f4b2d11/stream/"},
    },
    "QuoteOutput": {"price": "0.002300", "currency": "usd", "quote_id": "q_8f2d1c", "expires_at":
                    "2026-01-05T10:01:00+00:00"},
}
SSE_EXAMPLE = ('event: output\ndata: "Halt! "\n\nevent: output\ndata: "Who goes there?"\n\n'
               'event: done\ndata: {"id": "5b0c7a8e-…", "status": "succeeded", …}\n\n')


def _resolve(schema: dict, components: dict) -> dict:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def example_for(schema: dict, components: dict, depth: int = 0) -> Any:
    """A plausible value for a JSON schema (hand-written ones for the central components)."""
    if depth > 6:
        return None
    if isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in HAND_EXAMPLES:
            return HAND_EXAMPLES[name]
    schema = _resolve(schema, components)
    if not isinstance(schema, dict):
        return None
    if "example" in schema:
        return schema["example"]
    for key in ("allOf", "oneOf", "anyOf"):
        if schema.get(key):
            return example_for(schema[key][0], components, depth + 1)
    if "enum" in schema:
        values = [value for value in schema["enum"] if value is not None]
        return values[0] if values else None
    kind = schema.get("type")
    fmt = schema.get("format", "")
    if kind == "object" or "properties" in schema:
        return {name: example_for(sub, components, depth + 1) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example_for(schema.get("items", {}), components, depth + 1)]
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 0.5
    if kind == "boolean":
        return True
    if kind == "string":
        return {"date-time": "2026-01-05T10:00:00+00:00", "date": "2026-01-05", "uuid":
                "5b0c7a8e-3f0e-4a47-9c59-0b1f1f4b2d11", "uri": "https://modelmarket.example/", "email":
                "user@example.com", "decimal": "0.002000", "binary": "(file)"}.get(fmt, "string")
    return None


def _tag(path: str) -> str:
    rest = path.removeprefix("/api/v1")
    for prefix, tag in TAG_RULES:
        if rest.startswith(prefix):
            return tag
    return "billing" if path.startswith("/billing/") else "accounts"


def _add_example(content: dict, components: dict, status: str) -> None:
    for media, body in content.items():
        if "example" in body or "examples" in body:
            continue
        if media == "text/event-stream":
            body["example"] = SSE_EXAMPLE
        elif status.startswith(("4", "5")) and status in ERROR_EXAMPLES:
            body["examples"] = {"error": {"value": ERROR_EXAMPLES[status]}}
        elif "schema" in body:
            value = example_for(body["schema"], components)
            if value is not None:
                body["examples"] = {"example": {"value": value}}


def _paginated(schema: dict, components: dict) -> dict:
    """`{count, next, previous, results}` around an array schema, as a shared `Paginated<Item>List` component."""
    item = schema.get("items", {})
    name = "Paginated" + (item.get("$ref", "#/Item").rsplit("/", 1)[-1]) + "List"
    components.setdefault(name, {
        "type": "object", "required": ["count", "results"],
        "properties": {
            "count": {"type": "integer", "example": 123},
            "next": {"type": "string", "nullable": True, "format": "uri",
                     "example": "https://modelmarket.example/api/v1/things/?page=4"},
            "previous": {"type": "string", "nullable": True, "format": "uri",
                         "example": "https://modelmarket.example/api/v1/things/?page=2"},
            "results": schema,
        },
    })
    return {"$ref": f"#/components/schemas/{name}"}


def postprocess(result: dict, generator, request, public) -> dict:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    for path, item in result.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            op["tags"] = [_tag(path)]
            op_id = op.get("operationId", "")
            if not op.get("summary"):
                op["summary"] = SUMMARIES.get(op_id) or (op.get("description") or "").split("\n")[0][:100] or (
                    f"{method.upper()} {path}")
            ok = op.get("responses", {}).get("200", {}).get("content", {}).get("application/json")
            if op_id in PAGINATED and ok and ok.get("schema", {}).get("type") == "array":
                ok["schema"] = _paginated(ok["schema"], components)
                params = op.setdefault("parameters", [])
                for name, text in (("page", "A page number."), ("page_size", "Items per page (at most 100).")):
                    if not any(p.get("name") == name for p in params):
                        params.append({"in": "query", "name": name, "required": False, "description": text,
                                       "schema": {"type": "integer"}})
            params = op.setdefault("parameters", [])
            for param in params:
                if param.get("in") != "path":
                    continue
                param_schema = param.setdefault("schema", {})
                if param.get("name") in PATH_PATTERNS:
                    param_schema.setdefault("pattern", PATH_PATTERNS[param["name"]])
                if param_schema.get("type") == "integer":  # Django's <int:…> converter: digits only
                    param_schema.setdefault("minimum", 0)
                    param_schema.setdefault("maximum", 2**63 - 1)
            for name, text in FILTERS.get(op_id, []):
                if not any(p.get("name") == name and p.get("in") == "query" for p in params):
                    params.append({"in": "query", "name": name, "required": False, "description": text,
                                   "schema": {"type": "string"}})
            if not params:
                op.pop("parameters")
            responses = op.setdefault("responses", {})
            needed = ["401", "403", "429"] if path.startswith("/api/") else []
            if "{" in path:
                needed.append("404")
            if method in ("post", "put", "patch"):
                needed.append("400")
            for code in needed:
                responses.setdefault(code, {"description": ERROR_TEXT[code],
                                            "content": {"application/json": {"schema": ERROR_REF}}})
            for status, response in responses.items():
                _add_example(response.get("content", {}), components, status)
            request_body = op.get("requestBody", {})
            _add_example(request_body.get("content", {}), components, "request")
    return result
