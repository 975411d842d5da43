"""API routes of the inference app (under /api/v1/)."""
from django.urls import include, path

from . import api

inference_api = ([
    path("apps/<slug:slug>/versions/", api.VersionListCreateApi.as_view(), name="versions"),
    path("apps/<slug:slug>/versions/<str:version>/", api.VersionDetailApi.as_view(), name="version-detail"),
    path("apps/<slug:slug>/predictions/", api.PredictionCreateApi.as_view(), name="prediction-create"),
    path("predictions/", api.PredictionListApi.as_view(), name="predictions"),
    path("predictions/<uuid:prediction_id>/", api.PredictionDetailApi.as_view(), name="prediction-detail"),
    path("predictions/<uuid:prediction_id>/cancel/", api.PredictionCancelApi.as_view(), name="prediction-cancel"),
    path("predictions/<uuid:prediction_id>/stream/", api.PredictionStreamApi.as_view(), name="prediction-stream"),
    path("webhook-deliveries/", api.DeliveryListApi.as_view(), name="deliveries"),
    path("webhook-deliveries/<int:delivery_id>/redeliver/", api.DeliveryRedeliverApi.as_view(), name="redeliver"),
    path("webhooks/secret/", api.WebhookSecretApi.as_view(), name="webhook-secret"),
], "inference-api")

urlpatterns = [path("", include(inference_api))]
