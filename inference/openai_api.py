"""The OpenAI-compatible surface under /openai/v1/: models, embeddings, chat completions, completions.

Thin views over the same prediction services as /api/v1/: the app slug is the `model`, the same API keys,
quotes, caps and prices apply (`max_price` as a body field or the `X-Max-Price` header, `quote_id` as a body
field), and errors come in OpenAI's error object. Token counts in `usage` are counted on the platform side
(words and punctuation), since the web process never loads a tokenizer.

`store: false` in the body works as on `/api/v1/` (inference/erasure.py): this answer (the response, or the
stream's last event) is the one delivery of the input and output, erased as it is given; later reads of the
prediction show `data_removed`.
"""
import base64
import json
import re
import struct
import time
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from django.http import Http404, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from accounts.permissions import ScopePermission
from config.api import ApiError
from marketplace.models import App
from marketplace.selectors import apps_runnable_by

from . import services
from .erasure import prediction_answer_once
from .models import Prediction, PredictionStatus

WAIT_SECONDS = 120
MAX_NEW_TOKENS = 256
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "insufficient_quota",
          403: "permission_error", 404: "invalid_request_error", 409: "invalid_request_error",
          413: "invalid_request_error", 429: "rate_limit_error"}


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text or ""))


def openai_error(status: int, message: str, *, code: str | None, param: str | None = None) -> dict:
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class OpenAIView(APIView):
    """Errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`."""

    permission_classes = [IsAuthenticated, ScopePermission]
    required_scope = "predict"

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        body = response.data.get("error") if isinstance(response.data, dict) else None
        if isinstance(body, dict) and "type" not in body:
            fields = body.get("fields") or {}
            param = next(iter(fields), None)
            code = body.get("code")
            if response.status_code == 404 and getattr(self, "model_slug", None):
                code = "model_not_found"
            data = openai_error(response.status_code, str(body.get("message", "")), code=code, param=param)
            for key in ("price", "max_price", "checkout_url"):
                if key in body:
                    data["error"][key] = body[key]
            response.data = data
        return response

    # --- shared steps ----------------------------------------------------------------------------------------

    def _body(self, request) -> dict:
        if not isinstance(request.data, dict):
            raise ApiError(_("The body must be a JSON object."), code="invalid")
        return request.data

    def _app(self, request, body: dict, task: str) -> App:
        slug = body.get("model")
        if not isinstance(slug, str) or not slug:
            raise ApiError(_("`model` (the app slug) is required."), code="invalid", fields={"model": ["required"]})
        self.model_slug = slug
        app = apps_runnable_by(user=request.user).filter(slug=slug).first()
        if app is None:
            raise ApiError(_("The model `%(model)s` does not exist or you do not have access to it.")
                           % {"model": slug}, code="model_not_found", status_code=404)
        version = app.versions.filter(status="ready").order_by("-validated_at", "-created_at").first()
        if version is None or version.task != task:
            raise ApiError(_("The model `%(model)s` is a %(task)s app; this endpoint needs %(needed)s.")
                           % {"model": slug, "task": version.task if version else "?", "needed": task},
                           code="model_not_supported", fields={"model": ["unsupported"]})
        return app

    def _max_price(self, request, body: dict) -> Decimal | None:
        raw = body.get("max_price", request.headers.get("X-Max-Price"))
        if raw in (None, ""):
            return None
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            value = Decimal("-1")
        if not value.is_finite() or value < 0 or value.as_tuple().exponent < -6:
            raise ApiError(_("`max_price` must be a decimal amount with at most 6 places."), code="invalid",
                           fields={"max_price": ["invalid"]})
        return value

    def _store(self, body: dict) -> bool:
        """OpenAI's `store` flag: false answers once, then erases the input and output (true or absent keeps
        them for the app's retention)."""
        value = body.get("store")
        if value is None:
            return True
        if not isinstance(value, bool):
            raise ApiError(_("`store` must be true or false."), code="invalid", fields={"store": ["invalid"]})
        return value

    def _create(self, request, body: dict, app: App, input: dict, *, stream: bool = False) -> Prediction:  # noqa: A002
        quote_id = body.get("quote_id")
        store = self._store(body)
        prediction, _created = services.prediction_create(
            user=request.user, app=app, input=input,
            api_key=request.auth if isinstance(request.auth, ApiKey) else None,
            quote_id=quote_id if isinstance(quote_id, str) and quote_id else None,
            max_price=self._max_price(request, body), stream=stream, store=store,
            idempotency_key=request.headers.get("Idempotency-Key", "").strip()[:200],
        )
        return prediction

    def _finished(self, prediction: Prediction) -> Prediction:
        """Wait for the prediction; a failure becomes an OpenAI error (502), a timeout 504 (a `store: false`
        prediction is then answered once by the prediction API it points to)."""
        prediction = wait_finished(prediction, WAIT_SECONDS)
        if prediction.is_terminal:
            prediction = prediction_answer_once(prediction=prediction)  # `store: false`: this answer only
        if prediction.status == PredictionStatus.SUCCEEDED:
            return prediction
        if prediction.is_terminal:
            raise ApiError(_("The model failed: %(error)s") % {"error": prediction.error or prediction.status},
                           code="model_error", status_code=502)
        raise ApiError(_("The prediction %(id)s is still running; fetch it at /api/v1/predictions/%(id)s/.")
                       % {"id": prediction.pk}, code="timeout", status_code=504)


def wait_finished(prediction: Prediction, seconds: float) -> Prediction:
    """Block until the prediction is terminal (the worker's Redis notice when there is one, else polling)."""
    from .notify import wait_done

    deadline = time.monotonic() + seconds
    if wait_done(prediction.pk, min(seconds, 60)) is None:
        delay = 0.005
        while time.monotonic() < deadline:
            status = Prediction.objects.filter(pk=prediction.pk).values_list("status", flat=True).first()
            if status in (PredictionStatus.SUCCEEDED, PredictionStatus.FAILED, PredictionStatus.CANCELED):
                break
            time.sleep(delay)
            delay = min(delay * 1.5, 0.1)
    prediction.refresh_from_db()
    return prediction


def text_deltas(prediction_id, *, poll: float = 0.03, limit_seconds: float = 600) -> Iterator[tuple[str, Prediction]]:
    """('delta', text) as the generated text grows, then ('end', prediction) once it is terminal."""
    sent = ""
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        prediction = Prediction.objects.get(pk=prediction_id)
        output = prediction.output if isinstance(prediction.output, dict) else {}
        text = output.get("text") if isinstance(output.get("text"), str) else ""
        if len(text) > len(sent) and text.startswith(sent):
            yield "delta", text[len(sent):]
            sent = text
        if prediction.is_terminal:
            yield "end", prediction
            return
        time.sleep(poll)
    yield "end", Prediction.objects.get(pk=prediction_id)


def _sse(data) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def _generation_input(body: dict, prompt: str) -> dict:
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    data: dict = {"text": prompt}
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ApiError(_("`max_tokens` must be a positive integer."), code="invalid",
                           fields={"max_tokens": ["invalid"]})
        data["max_new_tokens"] = min(limit, MAX_NEW_TOKENS)
    return data


def _finish_reason(text: str, body: dict) -> str:
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    return "length" if isinstance(limit, int) and count_tokens(text) >= limit else "stop"


def _usage(prompt: str, completion: str) -> dict:
    prompt_tokens, completion_tokens = count_tokens(prompt), count_tokens(completion)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def _headers(response, prediction: Prediction):
    response["X-Prediction-Id"] = str(prediction.pk)
    response["X-Price"] = f"{prediction.price:.6f}"
    return response


class ModelsApi(OpenAIView):
    """The caller's runnable apps as OpenAI models."""

    read_scope = "read"

    @extend_schema(exclude=True)
    def get(self, request):
        data = [{"id": app.slug, "object": "model", "created": int(app.created_at.timestamp()),
                 "owned_by": app.owner.username} for app in apps_runnable_by(user=request.user)]
        return Response({"object": "list", "data": data})


class ModelDetailApi(OpenAIView):
    read_scope = "read"

    @extend_schema(exclude=True)
    def get(self, request, model: str):
        self.model_slug = model
        app = apps_runnable_by(user=request.user).filter(slug=model).first()
        if app is None:
            raise Http404
        return Response({"id": app.slug, "object": "model", "created": int(app.created_at.timestamp()),
                         "owned_by": app.owner.username})


class EmbeddingsApi(OpenAIView):
    @extend_schema(exclude=True)
    def post(self, request):
        body = self._body(request)
        app = self._app(request, body, "feature-extraction")
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) else raw
        if not (isinstance(texts, list) and texts and all(isinstance(t, str) for t in texts)):
            raise ApiError(_("`input` must be a string or a list of strings (token arrays are not supported)."),
                           code="invalid", fields={"input": ["invalid"]})
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            raise ApiError(_("`encoding_format` is float or base64."), code="invalid",
                           fields={"encoding_format": ["invalid"]})
        prediction = self._finished(self._create(request, body, app, {"texts": texts}))
        output = prediction.output or {}
        items = output.get("results") or [output]
        data = []
        for index, item in enumerate(items):
            vector = item.get("embedding") or []
            if encoding == "base64":
                vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        tokens = sum(count_tokens(text) for text in texts)
        return _headers(Response({"object": "list", "data": data, "model": app.slug,
                                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}), prediction)


def _chat_prompt(messages) -> str:
    if not (isinstance(messages, list) and messages):
        raise ApiError(_("`messages` must be a non-empty list."), code="invalid", fields={"messages": ["invalid"]})
    lines = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        if not isinstance(content, str):
            raise ApiError(_("Each message needs a text `content`."), code="invalid", fields={"messages": ["invalid"]})
        lines.append((message.get("role") or "user", content))
    if len(lines) == 1:
        return lines[0][1]
    return "\n".join(f"{role}: {content}" for role, content in lines)


class _GenerationApi(OpenAIView):
    object_name = ""

    def prompt(self, body: dict) -> str:
        raise NotImplementedError

    def choice(self, text: str, finish: str) -> dict:
        raise NotImplementedError

    def delta(self, text: str | None, finish: str | None, first: bool) -> dict:
        raise NotImplementedError

    @extend_schema(exclude=True)
    def post(self, request):
        body = self._body(request)
        app = self._app(request, body, "text-generation")
        prompt = self.prompt(body)
        stream = body.get("stream") is True
        prediction = self._create(request, body, app, _generation_input(body, prompt), stream=stream)
        ident = f"{self.id_prefix}-{prediction.pk}"
        created = int(prediction.created_at.timestamp())
        if stream:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            response = StreamingHttpResponse(self.events(prediction, ident, created, app.slug, prompt, body,
                                                         include_usage), content_type="text/event-stream")
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"
            return _headers(response, prediction)
        prediction = self._finished(prediction)
        text = (prediction.output or {}).get("text", "")
        return _headers(Response({"id": ident, "object": self.object_name, "created": created, "model": app.slug,
                                  "choices": [self.choice(text, _finish_reason(text, body))],
                                  "usage": _usage(prompt, text)}), prediction)

    def events(self, prediction, ident, created, model, prompt, body, include_usage) -> Iterator[bytes]:
        chunk = {"id": ident, "object": self.chunk_name, "created": created, "model": model}
        yield _sse({**chunk, "choices": [self.delta("", None, first=True)]})
        text = ""
        for kind, value in text_deltas(prediction.pk):
            if kind == "delta":
                text += value
                yield _sse({**chunk, "choices": [self.delta(value, None, first=False)]})
            else:
                if value.is_terminal:
                    prediction_answer_once(prediction=value)  # `store: false`: the stream was its one answer
                if value.status != PredictionStatus.SUCCEEDED:
                    yield _sse(openai_error(502, _("The model failed: %(error)s") % {
                        "error": value.error or value.status}, code="model_error"))
                else:
                    yield _sse({**chunk, "choices": [self.delta(None, _finish_reason(text, body), first=False)]})
                    if include_usage:
                        yield _sse({**chunk, "choices": [], "usage": _usage(prompt, text)})
        yield b"data: [DONE]\n\n"


class ChatCompletionsApi(_GenerationApi):
    object_name, chunk_name, id_prefix = "chat.completion", "chat.completion.chunk", "chatcmpl"

    def prompt(self, body: dict) -> str:
        return _chat_prompt(body.get("messages"))

    def choice(self, text: str, finish: str) -> dict:
        return {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish,
                "logprobs": None}

    def delta(self, text, finish, first) -> dict:
        delta = {"role": "assistant", "content": ""} if first else ({"content": text} if text is not None else {})
        return {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}


class CompletionsApi(_GenerationApi):
    object_name, chunk_name, id_prefix = "text_completion", "text_completion", "cmpl"

    def prompt(self, body: dict) -> str:
        prompt = body.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        if not isinstance(prompt, str) or not prompt:
            raise ApiError(_("`prompt` must be a non-empty string."), code="invalid", fields={"prompt": ["invalid"]})
        return prompt

    def choice(self, text: str, finish: str) -> dict:
        return {"index": 0, "text": text, "finish_reason": finish, "logprobs": None}

    def delta(self, text, finish, first) -> dict:
        return {"index": 0, "text": text or "", "finish_reason": finish, "logprobs": None}
