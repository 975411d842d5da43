"""Server-rendered store pages."""
from django.urls import path

from . import views

app_name = "marketplace"
urlpatterns = [
    path("", views.home, name="home"),
    path("apps/", views.browse, name="browse"),
    path("search/", views.search, name="search"),
    path("c/<slug:slug>/", views.category, name="category"),
    path("apps/<slug:slug>/", views.app_detail, name="app_detail"),
    path("library/", views.library, name="library"),
    path("console/", views.console, name="console"),
]
