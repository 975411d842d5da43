"""Forum API (shared/API.md "Community"): thin views over selectors and services."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ScopePermission
from config.api import error_responses
from config.errors import InvalidInput

from . import selectors, services
from .models import ForumCategory, Post, Thread
from .serializers import (
    FlagInputSerializer,
    FlagOutputSerializer,
    ForumCategoryOutputSerializer,
    PostCreateInputSerializer,
    PostOutputSerializer,
    ThreadCreateInputSerializer,
    ThreadOutputSerializer,
)

TAGS = ["community"]


def _unknown_category() -> InvalidInput:
    return InvalidInput(_("Unknown category."), fields={"category": [_("Unknown category.")]})


class ForumView:
    """Reads are public (an API key needs `read`); writes need a signed-in user or a `publish` key."""

    permission_classes = [IsAuthenticatedOrReadOnly, ScopePermission]
    required_scope = "publish"


@extend_schema_view(get=extend_schema(
    operation_id="forum_categories_list", tags=TAGS, summary="Forum categories (one per published app)",
    responses={200: ForumCategoryOutputSerializer(many=True), **error_responses(401, 403)},
))
class CategoryList(ForumView, generics.ListAPIView):
    serializer_class = ForumCategoryOutputSerializer

    def get_queryset(self) -> QuerySet[ForumCategory]:
        return selectors.categories_visible(user=self.request.user)


@extend_schema_view(get=extend_schema(
    operation_id="forum_threads_list", tags=TAGS, summary="Forum threads",
    parameters=[
        OpenApiParameter("category", str, description="Category slug or id"),
        OpenApiParameter("search", str, description="Full-text search over titles and posts"),
    ],
    responses={200: ThreadOutputSerializer(many=True), **error_responses(400, 401, 403)},
))
class ThreadListCreate(ForumView, generics.ListCreateAPIView):
    serializer_class = ThreadOutputSerializer

    def get_queryset(self) -> Any:
        user = self.request.user
        category_ref = self.request.query_params.get("category")
        category = None
        if category_ref:
            category = selectors.category_find(user=user, ref=category_ref)
            if category is None:
                raise _unknown_category()
        query = self.request.query_params.get("search", "").strip()
        if query:
            hits = selectors.search(user=user, query=query, category=category, limit=200)
            return [hit.thread for hit in hits]
        if category is not None:
            return selectors.threads_for_category(user=user, category=category)
        return selectors.threads_visible(user=user).order_by("-last_posted_at", "-pk")

    @extend_schema(operation_id="forum_threads_create", tags=TAGS, summary="Start a thread",
                   request=ThreadCreateInputSerializer,
                   responses={201: ThreadOutputSerializer, **error_responses(400, 401, 403)})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ThreadCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        category = selectors.category_find(user=request.user, ref=data.validated_data["category"])
        if category is None:
            raise _unknown_category()
        thread = services.thread_create(
            author=request.user, category=category, title=data.validated_data["title"],
            body=data.validated_data["body"], kind=data.validated_data["kind"],
        )
        return Response(ThreadOutputSerializer(thread, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(
    operation_id="forum_threads_retrieve", tags=TAGS, summary="A thread",
    responses={200: ThreadOutputSerializer, **error_responses(401, 403, 404)},
))
class ThreadDetail(ForumView, generics.RetrieveAPIView):
    serializer_class = ThreadOutputSerializer

    def get_object(self) -> Thread:
        return selectors.thread_get(user=self.request.user, pk=self.kwargs["pk"])


@extend_schema_view(get=extend_schema(
    operation_id="forum_threads_posts_list", tags=TAGS, summary="A thread's posts",
    responses={200: PostOutputSerializer(many=True), **error_responses(401, 403, 404)},
))
class ThreadPosts(ForumView, generics.ListCreateAPIView):
    serializer_class = PostOutputSerializer

    def get_queryset(self) -> QuerySet[Post]:
        thread = selectors.thread_get(user=self.request.user, pk=self.kwargs["pk"])
        return selectors.posts_for_thread(user=self.request.user, thread=thread)

    def paginate_queryset(self, queryset: Any) -> list[Post] | None:
        page = super().paginate_queryset(queryset)
        if page:
            badges = selectors.badges_for_posts(posts=page, thread=page[0].thread)
            for post in page:
                post.badges = badges[post.pk]  # type: ignore[attr-defined]
        return page

    @extend_schema(operation_id="forum_threads_posts_create", tags=TAGS, summary="Reply to a thread",
                   request=PostCreateInputSerializer,
                   responses={201: PostOutputSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        thread = selectors.thread_get(user=request.user, pk=self.kwargs["pk"])
        data = PostCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        post = services.post_create(author=request.user, thread=thread, body=data.validated_data["body"])
        return Response(PostOutputSerializer(post).data, status=status.HTTP_201_CREATED)


class PostAction(ForumView, APIView):
    permission_classes = [IsAuthenticated, ScopePermission]

    def _post(self) -> Post:
        return selectors.post_get(user=self.request.user, pk=self.kwargs["pk"])


class PostLike(PostAction):
    @extend_schema(operation_id="forum_posts_like_create", tags=TAGS, summary="Like a post", request=None,
                   responses={200: PostOutputSerializer, **error_responses(401, 403, 404)})
    def post(self, request: Request, pk: int) -> Response:
        return Response(PostOutputSerializer(services.post_like(post=self._post(), user=request.user)).data)

    @extend_schema(operation_id="forum_posts_like_destroy", tags=TAGS, summary="Remove your like", request=None,
                   responses={200: PostOutputSerializer, **error_responses(401, 403, 404)})
    def delete(self, request: Request, pk: int) -> Response:
        return Response(PostOutputSerializer(services.post_unlike(post=self._post(), user=request.user)).data)


class PostFlag(PostAction):
    @extend_schema(operation_id="forum_posts_flag_create", tags=TAGS, summary="Flag a post for moderators",
                   request=FlagInputSerializer,
                   responses={201: FlagOutputSerializer, **error_responses(400, 401, 403, 404, 409)})
    def post(self, request: Request, pk: int) -> Response:
        data = FlagInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        flag = services.post_flag(post=self._post(), user=request.user, reason=data.validated_data["reason"])
        return Response(FlagOutputSerializer(flag).data, status=status.HTTP_201_CREATED)


class PostAccept(PostAction):
    @extend_schema(operation_id="forum_posts_accept_create", tags=TAGS, summary="Accept a post as the answer",
                   request=None, responses={200: ThreadOutputSerializer, **error_responses(401, 403, 404)})
    def post(self, request: Request, pk: int) -> Response:
        thread = services.post_accept(post=self._post(), actor=request.user)
        return Response(ThreadOutputSerializer(thread).data)

    @extend_schema(operation_id="forum_posts_accept_destroy", tags=TAGS, summary="Withdraw the accepted answer",
                   request=None, responses={200: ThreadOutputSerializer, **error_responses(401, 403, 404)})
    def delete(self, request: Request, pk: int) -> Response:
        post = self._post()
        thread = services.thread_unaccept(thread=post.thread, actor=request.user)
        return Response(ThreadOutputSerializer(thread).data)
