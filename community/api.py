"""Forum API (shared/API.md "Community"): thin views over selectors and services."""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ScopePermission
from config.api import ApiError

from . import selectors, services
from .models import FlagReason, ForumCategory, Post, Thread, ThreadKind


class CategorySerializer(serializers.ModelSerializer):
    app = serializers.SerializerMethodField(help_text=_("The app's slug for an app's category, else null."))
    app_name = serializers.SerializerMethodField()
    app_url = serializers.SerializerMethodField()
    threads_count = serializers.IntegerField(source="threads_total", read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = ForumCategory
        fields = ["id", "slug", "name", "description", "app", "app_name", "app_url", "threads_count", "url"]

    def get_app(self, obj) -> str | None:
        return obj.app.slug if obj.app_id else None

    def get_app_name(self, obj) -> str | None:
        return obj.app.name if obj.app_id else None

    def get_app_url(self, obj) -> str | None:
        return obj.app.get_absolute_url() if obj.app_id else None


class ThreadSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    author = serializers.CharField(source="author.display_name", read_only=True)
    body_html = serializers.SerializerMethodField()
    solved = serializers.BooleanField(source="is_solved", read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Thread
        fields = ["id", "category", "title", "body_html", "author", "kind", "accepted_post", "locked", "pinned",
                  "posts_count", "solved", "created_at", "last_posted_at", "url"]

    def get_body_html(self, obj) -> str:
        first = obj.posts.filter(number=1).only("body_html").first()
        return first.body_html if first else ""


class ThreadCreateSerializer(serializers.Serializer):
    category = serializers.CharField(help_text=_("Category slug or id."))
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20000)
    kind = serializers.ChoiceField(choices=ThreadKind.choices, default=ThreadKind.DISCUSSION)


class PostSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.display_name", read_only=True)
    likes = serializers.IntegerField(source="likes_count", read_only=True)
    thread = serializers.PrimaryKeyRelatedField(read_only=True)
    badges = serializers.SerializerMethodField()
    accepted = serializers.SerializerMethodField()

    class Meta:
        model = Post
        fields = ["id", "thread", "number", "body_html", "author", "likes", "badges", "accepted", "hidden",
                  "created_at", "edited_at", "edit_count"]

    def get_badges(self, obj) -> list[str]:
        return getattr(obj, "badges", None) or selectors.badges_for_posts(posts=[obj], thread=obj.thread)[obj.pk]

    def get_accepted(self, obj) -> bool:
        return obj.thread.accepted_post_id == obj.pk


class PostCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)


class FlagSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=FlagReason.choices)


class ForumView:
    """Reads are public (an API key needs `read`); writes need a signed-in user or a `publish` key."""

    permission_classes = [IsAuthenticatedOrReadOnly, ScopePermission]
    required_scope = "publish"


class CategoryList(ForumView, generics.ListAPIView):
    serializer_class = CategorySerializer

    def get_queryset(self):
        return selectors.categories_visible(user=self.request.user)


@extend_schema(parameters=[
    OpenApiParameter("category", str, description="Category slug or id"),
    OpenApiParameter("search", str, description="Full-text search over titles and posts"),
])
class ThreadListCreate(ForumView, generics.ListCreateAPIView):
    serializer_class = ThreadSerializer

    def get_queryset(self):
        user = self.request.user
        category_ref = self.request.query_params.get("category")
        category = None
        if category_ref:
            category = selectors.category_find(user=user, ref=category_ref)
            if category is None:
                raise ApiError(_("Unknown category."), code="invalid", fields={"category": [_("Unknown category.")]})
        query = self.request.query_params.get("search", "").strip()
        if query:
            hits = selectors.search(user=user, query=query, category=category, limit=200)
            return [hit.thread for hit in hits]
        if category is not None:
            return selectors.threads_for_category(user=user, category=category)
        return selectors.threads_visible(user=user).order_by("-last_posted_at", "-pk")

    @extend_schema(request=ThreadCreateSerializer, responses={201: ThreadSerializer})
    def post(self, request, *args, **kwargs):
        data = ThreadCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        category = selectors.category_find(user=request.user, ref=data.validated_data["category"])
        if category is None:
            raise ApiError(_("Unknown category."), code="invalid", fields={"category": [_("Unknown category.")]})
        thread = services.thread_create(
            author=request.user, category=category, title=data.validated_data["title"],
            body=data.validated_data["body"], kind=data.validated_data["kind"],
        )
        return Response(ThreadSerializer(thread, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ThreadDetail(ForumView, generics.RetrieveAPIView):
    serializer_class = ThreadSerializer

    def get_object(self):
        return selectors.thread_get(user=self.request.user, pk=self.kwargs["pk"])


class ThreadPosts(ForumView, generics.ListCreateAPIView):
    serializer_class = PostSerializer

    def get_queryset(self):
        thread = selectors.thread_get(user=self.request.user, pk=self.kwargs["pk"])
        return selectors.posts_for_thread(user=self.request.user, thread=thread)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page:
            badges = selectors.badges_for_posts(posts=page, thread=page[0].thread)
            for post in page:
                post.badges = badges[post.pk]
        return page

    @extend_schema(request=PostCreateSerializer, responses={201: PostSerializer})
    def post(self, request, *args, **kwargs):
        thread = selectors.thread_get(user=request.user, pk=self.kwargs["pk"])
        data = PostCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        post = services.post_create(author=request.user, thread=thread, body=data.validated_data["body"])
        return Response(PostSerializer(post).data, status=status.HTTP_201_CREATED)


class PostAction(ForumView, APIView):
    permission_classes = [IsAuthenticated, ScopePermission]

    def _post(self):
        return selectors.post_get(user=self.request.user, pk=self.kwargs["pk"])


class PostLike(PostAction):
    @extend_schema(request=None, responses={200: PostSerializer})
    def post(self, request, pk: int):
        return Response(PostSerializer(services.post_like(post=self._post(), user=request.user)).data)

    @extend_schema(request=None, responses={200: PostSerializer})
    def delete(self, request, pk: int):
        return Response(PostSerializer(services.post_unlike(post=self._post(), user=request.user)).data)


class PostFlag(PostAction):
    @extend_schema(request=FlagSerializer, responses={201: inline_serializer("FlagResult", {
        "id": serializers.IntegerField(), "reason": serializers.CharField(), "score": serializers.IntegerField(),
    })})
    def post(self, request, pk: int):
        data = FlagSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        flag = services.post_flag(post=self._post(), user=request.user, reason=data.validated_data["reason"])
        return Response({"id": flag.pk, "reason": flag.reason, "score": flag.score}, status=status.HTTP_201_CREATED)


class PostAccept(PostAction):
    @extend_schema(request=None, responses={200: ThreadSerializer})
    def post(self, request, pk: int):
        thread = services.post_accept(post=self._post(), actor=request.user)
        return Response(ThreadSerializer(thread).data)

    @extend_schema(request=None, responses={200: ThreadSerializer})
    def delete(self, request, pk: int):
        post = self._post()
        thread = services.thread_unaccept(thread=post.thread, actor=request.user)
        return Response(ThreadSerializer(thread).data)
