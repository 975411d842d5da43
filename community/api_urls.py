"""API routes of the community app (under /api/v1/)."""
from django.urls import path

from . import api

urlpatterns = [
    path("forum/categories/", api.CategoryList.as_view(), name="forum-categories"),
    path("forum/threads/", api.ThreadListCreate.as_view(), name="forum-threads"),
    path("forum/threads/<int:pk>/", api.ThreadDetail.as_view(), name="forum-thread"),
    path("forum/threads/<int:pk>/posts/", api.ThreadPosts.as_view(), name="forum-thread-posts"),
    path("forum/posts/<int:pk>/like/", api.PostLike.as_view(), name="forum-post-like"),
    path("forum/posts/<int:pk>/flag/", api.PostFlag.as_view(), name="forum-post-flag"),
    path("forum/posts/<int:pk>/accept/", api.PostAccept.as_view(), name="forum-post-accept"),
]
