"""API routes of the marketplace app (under /api/v1/)."""
from django.urls import path

from . import api, model_card_api

urlpatterns = [
    path("categories/", api.CategoryListApi.as_view(), name="api-categories"),
    path("apps/", api.AppListCreateApi.as_view(), name="api-apps"),
    path("apps/<slug:slug>/", api.AppDetailApi.as_view(), name="api-app-detail"),
    path("apps/<slug:slug>/submit/", api.AppSubmitApi.as_view(), name="api-app-submit"),
    path("apps/<slug:slug>/review/", api.AppModerationApi.as_view(), name="api-app-review"),
    path("apps/<slug:slug>/acquire/", api.AppAcquireApi.as_view(), name="api-app-acquire"),
    path("apps/<slug:slug>/reviews/", api.AppReviewListCreateApi.as_view(), name="api-app-reviews"),
    path("apps/<slug:slug>/versions/<str:version>/card/", model_card_api.VersionModelCardApi.as_view(),
         name="api-version-card"),
]
