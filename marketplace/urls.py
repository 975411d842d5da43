"""Server-rendered store and console pages."""
from django.urls import path

from . import model_card_views, views

app_name = "marketplace"
urlpatterns = [
    path("", views.home, name="home"),
    path("apps/", views.browse, name="browse"),
    path("search/", views.search, name="search"),
    path("c/<slug:slug>/", views.category, name="category"),
    path("apps/<slug:slug>/", views.app_detail, name="app_detail"),
    path("apps/<slug:slug>/get/", views.app_get, name="app_get"),
    path("apps/<slug:slug>/review/", views.app_review, name="app_review"),
    path("apps/<slug:slug>/reviews/<int:review_id>/reply/", views.review_reply_view, name="review_reply"),
    path("library/", views.library, name="library"),
    path("console/", views.console, name="console"),
    path("console/apps/new/", views.console_app_new, name="console_app_new"),
    path("console/apps/<slug:slug>/", views.console_app, name="console_app"),
    path("console/apps/<slug:slug>/versions/new/", views.console_version_new, name="console_version_new"),
    path("console/apps/<slug:slug>/submit/", views.console_app_submit, name="console_app_submit"),
    path("console/apps/<slug:slug>/versions/<str:version>/card/", model_card_views.console_version_card,
         name="console_version_card"),
]
