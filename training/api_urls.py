"""API routes of training (under /api/v1/), as in shared/API.md "Training"."""
from django.urls import path

from . import api

app_name = "training-api"
urlpatterns = [
    path("datasets/", api.DatasetListApi.as_view(), name="dataset-list"),
    path("datasets/<int:pk>/", api.DatasetDetailApi.as_view(), name="dataset-detail"),
    path("training-jobs/", api.JobListApi.as_view(), name="job-list"),
    path("training-jobs/estimate/", api.JobEstimateApi.as_view(), name="job-estimate"),
    path("training-jobs/<int:pk>/", api.JobDetailApi.as_view(), name="job-detail"),
    path("training-jobs/<int:pk>/cancel/", api.JobCancelApi.as_view(), name="job-cancel"),
    path("training-jobs/<int:pk>/publish/", api.JobPublishApi.as_view(), name="job-publish"),
    path("training-jobs/<int:pk>/artifact/", api.JobArtifactApi.as_view(), name="job-artifact"),
]
