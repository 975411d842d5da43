"""Console pages of training."""
from django.urls import path

from . import views

app_name = "training"
urlpatterns = [
    path("console/training/", views.home, name="home"),
    path("console/training/datasets/<int:pk>/", views.dataset_detail, name="dataset_detail"),
    path("console/training/jobs/new/", views.job_new, name="job_new"),
    path("console/training/jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("console/training/jobs/<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("console/training/jobs/<int:pk>/publish/", views.job_publish, name="job_publish"),
]
