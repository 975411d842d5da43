"""API views of inference: versions (artifact upload), predictions, streaming, webhook deliveries."""
import json
import re
import time

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from accounts.permissions import ScopePermission
from config.api import ApiError, error_responses
from config.errors import Conflict
from config.parsers import StrictJSONParser
from marketplace.models import App

from . import selectors, services
from .erasure import prediction_answer_once
from .models import Prediction, PredictionStatus
from .serializers import (
    DeliveryOutputSerializer,
    PredictionCreateInputSerializer,
    PredictionOutputSerializer,
    VersionOutputSerializer,
    VersionUploadInputSerializer,
    WebhookSecretOutputSerializer,
)

PREFER_WAIT = re.compile(r"\bwait(?:=(\d+))?")
MAX_WAIT_SECONDS = 60


def _app_or_404(request, slug: str) -> App:
    """The app if the caller may see it (the marketplace's own rule), without the listing's extra columns."""
    try:
        return App.objects.visible_to(request.user).get(slug=slug)
    except ObjectDoesNotExist:
        raise Http404 from None


# --- Versions ---------------------------------------------------------------------------------------------

class VersionListCreateApi(APIView):
    """List an app's versions; the owner uploads a new one (multipart)."""

    permission_classes = [ScopePermission]
    required_scope = "publish"
    parser_classes = [MultiPartParser, FormParser, StrictJSONParser]

    @extend_schema(operation_id="apps_versions_list", tags=["versions"],
                   responses={200: VersionOutputSerializer(many=True), **error_responses(404)})
    def get(self, request, slug: str):
        app = _app_or_404(request, slug)
        versions = selectors.versions_visible(app=app, user=request.user)
        return Response(VersionOutputSerializer(versions, many=True).data)

    @extend_schema(operation_id="apps_versions_create", tags=["versions"],
                   request={"multipart/form-data": VersionUploadInputSerializer},
                   responses={201: VersionOutputSerializer, **error_responses(400, 401, 403, 404, 413)})
    def post(self, request, slug: str):
        if not request.user.is_authenticated:
            raise ApiError(_("Log in or use an API key."), code="not_authenticated", status_code=401)
        limit = settings.MAX_ARTIFACT_BYTES
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > limit + 64 * 1024:
            raise ApiError(_("The upload is %(size)d bytes; the limit is %(limit)d.") % {"size": declared,
                           "limit": limit}, code="too_large", status_code=413)
        app = _app_or_404(request, slug)
        if not app.is_managed_by(request.user):
            raise Http404
        serializer = VersionUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        labels = [label.strip() for label in data.pop("labels", "").split(",") if label.strip()]
        version = services.version_upload(app=app, actor=request.user, labels=labels or None, **data)
        return Response(VersionOutputSerializer(version).data, status=status.HTTP_201_CREATED)


class VersionDetailApi(APIView):
    permission_classes = [ScopePermission]

    @extend_schema(operation_id="apps_versions_retrieve", tags=["versions"],
                   responses={200: VersionOutputSerializer, **error_responses(404)})
    def get(self, request, slug: str, version: str):
        app = _app_or_404(request, slug)
        found = selectors.versions_visible(app=app, user=request.user).filter(version=version).first()
        if found is None:
            raise Http404
        return Response(VersionOutputSerializer(found).data)


# --- Predictions ------------------------------------------------------------------------------------------

def _wait_seconds(request) -> float:
    match = PREFER_WAIT.search(request.headers.get("Prefer", ""))
    if not match:
        return 0
    return min(int(match.group(1)) if match.group(1) else MAX_WAIT_SECONDS, MAX_WAIT_SECONDS)


SLOT_TTL_SECONDS = 900  # longer than any wait or stream; a crashed process's slots expire on their own


def wait_slot_take(*, user_id: int, kind: str) -> str:
    """Count one open wait or stream of this user (shared cache); 429 past the configured cap."""
    from django.core.cache import cache

    cap = settings.MAX_WAITS_PER_USER if kind == "wait" else settings.MAX_STREAMS_PER_USER
    key = f"mm:open-{kind}s:{user_id}"
    try:
        count = cache.incr(key)  # one round trip while the user's counter exists (it outlives each wait)
    except ValueError:  # the first wait or stream of this user in a while
        cache.add(key, 0, timeout=SLOT_TTL_SECONDS)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=SLOT_TTL_SECONDS)
            count = 1
    if count > cap:
        wait_slot_release(key)
        message = (_("Too many waiting requests open at once (at most %(n)d); poll instead or try again shortly.")
                   if kind == "wait" else _("Too many streams open at once (at most %(n)d); close one first."))
        raise ApiError(message % {"n": cap}, code="too_many_open", status_code=429, headers={"Retry-After": "1"})
    return key


def wait_slot_release(key: str) -> None:
    import contextlib

    from django.core.cache import cache

    with contextlib.suppress(ValueError):  # expired already
        cache.decr(key)


def _wait_for(prediction: Prediction, seconds: float) -> Prediction:
    return services.prediction_wait(prediction=prediction, seconds=seconds)


def _payload(prediction: Prediction) -> dict:
    """The prediction JSON of an answer; a `store: false` prediction is answered once (inference/erasure.py)."""
    return selectors.prediction_payload(prediction=prediction_answer_once(prediction=prediction))


def _answer(prediction: Prediction, *, replayed: bool = False) -> Response:
    code = status.HTTP_201_CREATED if prediction.is_terminal else status.HTTP_202_ACCEPTED
    payload = _payload(prediction)
    response = Response(payload, status=code, headers={"Location": payload["urls"]["get"]})
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _schemas_description() -> str:
    from .schemas import INPUT_SCHEMAS, output_schema

    parts = ["Run an app: admitted and priced by billing, then queued for a worker of the version's hardware. "
             "`Prefer: wait=N` waits up to N seconds (201 when finished, else 202). `stream: true` with a "
             "text-generation app streams tokens at `urls.stream` (Server-Sent Events).\n\nInput and output per task "
             "(each version also shows its own under `/versions/{version}/`):"]
    for task, schema in INPUT_SCHEMAS.items():
        parts.append(f"\n\n**{task}** input: `{json.dumps(schema)}`\n\noutput: `{json.dumps(output_schema(task))}`")
    return "".join(parts)


class PredictionCreateApi(APIView):
    """Run an app: admitted and priced by billing, queued for a worker. `Prefer: wait=N` waits up to N s."""

    permission_classes = [IsAuthenticated, ScopePermission]
    required_scope = "predict"

    @extend_schema(
        operation_id="apps_predictions_create", tags=["predictions"],
        description=_schemas_description(),
        request=PredictionCreateInputSerializer,
        parameters=[OpenApiParameter("Prefer", str, OpenApiParameter.HEADER, description="wait=N (N <= 60)"),
                    OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={201: PredictionOutputSerializer, 202: PredictionOutputSerializer,
                   **error_responses(400, 401, 402, 403, 404, 409, 413, 503)},
    )
    def post(self, request, slug: str):
        serializer = PredictionCreateInputSerializer(data=request.data)
        target = selectors.prediction_target(user=request.user, slug=slug, version=request.data.get("version")
                                             if isinstance(request.data, dict) else None)
        app = target.app if target is not None else _app_or_404(request, slug)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = request.headers.get("Idempotency-Key", "").strip()[:200]
        prediction, created = services.prediction_create(
            user=request.user, app=app, input=data["input"], version=data["version"] or None, app_version=target,
            api_key=request.auth if isinstance(request.auth, ApiKey) else None, quote_id=data["quote_id"] or None,
            max_price=data["max_price"], webhook=data["webhook"], webhook_events_filter=data["webhook_events_filter"],
            stream=data["stream"], idempotency_key=key, store=data["store"],
        )
        if not created and (prediction.app_id != app.pk or (not prediction.data_removed
                                                            and prediction.input != data["input"])):
            raise Conflict(_("This Idempotency-Key was already used for a different request."),
                           code="idempotency_key_reused")
        wait = _wait_seconds(request)
        if wait and not prediction.is_terminal:
            slot = wait_slot_take(user_id=request.user.pk, kind="wait")
            try:
                prediction = _wait_for(prediction, wait)
            finally:
                wait_slot_release(slot)
        return _answer(prediction, replayed=not created)


@extend_schema_view(get=extend_schema(operation_id="predictions_list", tags=["predictions"]))
class PredictionListApi(ListAPIView):
    permission_classes = [IsAuthenticated, ScopePermission]
    serializer_class = PredictionOutputSerializer

    def get_queryset(self):
        app_slug = self.request.query_params.get("app")
        queryset = selectors.prediction_list_for(user=self.request.user)
        return queryset.filter(app__slug=app_slug) if app_slug else queryset

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([_payload(p) for p in page])


class PredictionDetailApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]

    @extend_schema(operation_id="predictions_retrieve", tags=["predictions"],
                   responses={200: PredictionOutputSerializer, **error_responses(401, 404)})
    def get(self, request, prediction_id):
        prediction = selectors.prediction_get_for(user=request.user, prediction_id=prediction_id)
        return Response(_payload(prediction))


class PredictionCancelApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]
    required_scope = "predict"

    @extend_schema(operation_id="predictions_cancel_create", tags=["predictions"], request=None,
                   responses={200: PredictionOutputSerializer, **error_responses(401, 404)})
    def post(self, request, prediction_id):
        prediction = selectors.prediction_get_for(user=request.user, prediction_id=prediction_id)
        prediction = services.prediction_cancel(prediction=prediction, actor=request.user)
        return Response(_payload(prediction))


class EventStreamRenderer(BaseRenderer):
    media_type = "text/event-stream"
    format = "sse"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode()


SSE_RETRY_MS = 1000


def _sse(event: str, data, *, event_id: int | None = None) -> bytes:
    """One event; `id:` is how many characters of text the client has had, so a reconnect can resume."""
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return f"{head}data: {json.dumps(data, default=str)}\n\n".encode()


def _resume_offset(last_event_id: str | None) -> int:
    try:
        return max(0, int((last_event_id or "").strip()))
    except ValueError:
        return 0


def prediction_events(prediction_id, *, poll: float = 0.05, limit_seconds: float = 600, resume_from: int = 0):
    """`output` events as the text grows (or once with the full output), then `done` with the prediction.

    Each event has an `id:` (characters of text sent so far) and the stream opens with `retry:`, so a
    client that reconnects with `Last-Event-ID` gets only the text it has not seen yet.
    """
    sent_length = resume_from
    deadline = time.monotonic() + limit_seconds
    yield f": stream open\nretry: {SSE_RETRY_MS}\n\n".encode()
    while time.monotonic() < deadline:
        prediction = Prediction.objects.select_related("app", "version").get(pk=prediction_id)
        output = prediction.output
        if isinstance(output, dict) and isinstance(output.get("text"), str):
            text = output["text"]
            if len(text) > sent_length:
                yield _sse("output", text[sent_length:], event_id=len(text))
                sent_length = len(text)
        if prediction.is_terminal:
            if output is not None and not (isinstance(output, dict) and isinstance(output.get("text"), str)):
                yield _sse("output", output, event_id=sent_length)
            if prediction.status != PredictionStatus.SUCCEEDED:
                yield _sse("error", {"status": prediction.status, "error": prediction.error}, event_id=sent_length)
            yield _sse("done", _payload(prediction), event_id=sent_length)
            return
        time.sleep(poll)
    yield _sse("error", {"error": _("The stream timed out.")}, event_id=sent_length)


class _SlotStream:
    """The events, holding the user's stream slot until the server closes the response (done or gone)."""

    def __init__(self, events, slot: str):
        self.events, self.slot, self.open = events, slot, True

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        return next(self.events)

    def close(self) -> None:
        if self.open:
            self.open = False
            wait_slot_release(self.slot)
            self.events.close()


class PredictionStreamApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]
    renderer_classes = [EventStreamRenderer, JSONRenderer]

    @extend_schema(operation_id="predictions_stream_retrieve", tags=["predictions"],
                   responses={(200, "text/event-stream"): str, **error_responses(401, 404)})
    def get(self, request, prediction_id):
        prediction = selectors.prediction_get_for(user=request.user, prediction_id=prediction_id)
        resume_from = _resume_offset(request.headers.get("Last-Event-ID"))
        slot = wait_slot_take(user_id=request.user.pk, kind="stream")
        response = StreamingHttpResponse(_SlotStream(prediction_events(prediction.pk, resume_from=resume_from), slot),
                                         content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response


# --- Webhook deliveries -----------------------------------------------------------------------------------

@extend_schema_view(get=extend_schema(operation_id="webhook_deliveries_list", tags=["webhooks"]))
class DeliveryListApi(ListAPIView):
    """The caller's webhook deliveries (`?prediction=<id>` to filter)."""

    permission_classes = [IsAuthenticated, ScopePermission]
    serializer_class = DeliveryOutputSerializer

    def get_queryset(self):
        queryset = selectors.deliveries_for(user=self.request.user)
        prediction = self.request.query_params.get("prediction")
        return queryset.filter(prediction_id=prediction) if prediction else queryset


class DeliveryRedeliverApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]
    required_scope = "predict"

    @extend_schema(operation_id="webhook_deliveries_redeliver_create", tags=["webhooks"], request=None,
                   responses={201: DeliveryOutputSerializer, **error_responses(401, 404)})
    def post(self, request, delivery_id: int):
        delivery = selectors.deliveries_for(user=request.user).filter(pk=delivery_id).first()
        if delivery is None:
            raise Http404
        copy = services.webhook_redeliver(delivery=delivery, actor=request.user)
        return Response(DeliveryOutputSerializer(copy).data, status=status.HTTP_201_CREATED)


class WebhookSecretApi(APIView):
    """The secret that verifies our webhook signatures (Standard Webhooks `whsec_...`)."""

    permission_classes = [IsAuthenticated, ScopePermission]
    # The secret forges our signatures: reading it takes the scope that sets webhooks, not just `read`.
    read_scope = "predict"
    required_scope = "predict"

    @extend_schema(operation_id="webhooks_secret_retrieve", tags=["webhooks"],
                   responses={200: WebhookSecretOutputSerializer})
    def get(self, request):
        return Response({"secret": services.webhook_secret_for(user=request.user).secret})

    @extend_schema(operation_id="webhooks_secret_create", tags=["webhooks"], request=None,
                   responses={200: WebhookSecretOutputSerializer})
    def post(self, request):
        return Response({"secret": services.webhook_secret_rotate(user=request.user).secret})
