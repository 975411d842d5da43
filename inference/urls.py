"""Server-rendered pages of the inference app."""
from django.urls import path  # noqa: F401

app_name = "inference"
urlpatterns: list = []
