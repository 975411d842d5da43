"""Server-rendered pages of the inference app."""
from django.urls import path

from . import views

app_name = "inference"
urlpatterns = [
    path("predictions/", views.prediction_list, name="prediction_list"),
    path("predictions/<uuid:prediction_id>/", views.prediction_detail, name="prediction_detail"),
    path("predictions/<uuid:prediction_id>/cancel/", views.prediction_cancel, name="prediction_cancel"),
    path("webhook-deliveries/<int:delivery_id>/redeliver/", views.delivery_redeliver, name="delivery_redeliver"),
]
