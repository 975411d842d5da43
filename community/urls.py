"""Server-rendered pages of the community app."""
from django.urls import path

from . import views

app_name = "community"
urlpatterns = [
    path("forum/", views.index, name="index"),
    path("forum/search/", views.search, name="search"),
    path("forum/new/", views.thread_new, name="thread_new"),
    path("forum/c/<slug:slug>/", views.category, name="category"),
    path("forum/c/<slug:slug>/watch/", views.category_watch, name="category_watch"),
    path("forum/t/<int:pk>/", views.thread, name="thread_short"),
    path("forum/t/<slug:slug>/<int:pk>/", views.thread, name="thread"),
    path("forum/t/<int:pk>/reply/", views.reply, name="reply"),
    path("forum/t/<int:pk>/moderate/", views.thread_moderate, name="thread_moderate"),
    path("forum/t/<int:pk>/watch/", views.thread_watch, name="thread_watch"),
    path("forum/p/<int:pk>/edit/", views.post_edit, name="post_edit"),
    path("forum/p/<int:pk>/history/", views.post_history, name="post_history"),
    path("forum/p/<int:pk>/like/", views.post_like, name="post_like"),
    path("forum/p/<int:pk>/flag/", views.post_flag, name="post_flag"),
    path("forum/p/<int:pk>/accept/", views.post_accept, name="post_accept"),
    path("forum/p/<int:pk>/hide/", views.post_hide, name="post_hide"),
    path("forum/p/<int:pk>/delete/", views.post_delete, name="post_delete"),
]
