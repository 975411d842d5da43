"""Server-rendered pages of the community app."""
from django.urls import path  # noqa: F401

app_name = "community"
urlpatterns: list = []
