"""Input and output shapes of the forum API. No logic here: views call services and selectors."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from . import selectors
from .models import FlagReason, ForumCategory, Post, Thread, ThreadKind

# --- inputs ---------------------------------------------------------------------------------------------


class ThreadCreateInputSerializer(serializers.Serializer):
    category = serializers.CharField(help_text=_("Category slug or id."))
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20000)
    kind = serializers.ChoiceField(choices=ThreadKind.choices, default=ThreadKind.DISCUSSION)


class PostCreateInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)


class FlagInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=FlagReason.choices)


# --- outputs --------------------------------------------------------------------------------------------


class ForumCategoryOutputSerializer(serializers.ModelSerializer):
    app = serializers.SerializerMethodField(help_text=_("The app's slug for an app's category, else null."))
    app_name = serializers.SerializerMethodField()
    app_url = serializers.SerializerMethodField()
    threads_count = serializers.IntegerField(source="threads_total", read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = ForumCategory
        fields = ["id", "slug", "name", "description", "app", "app_name", "app_url", "threads_count", "url"]

    def get_app(self, obj: ForumCategory) -> str | None:
        app = obj.app if obj.app_id else None
        return app.slug if app else None

    def get_app_name(self, obj: ForumCategory) -> str | None:
        app = obj.app if obj.app_id else None
        return app.name if app else None

    def get_app_url(self, obj: ForumCategory) -> str | None:
        app = obj.app if obj.app_id else None
        return app.get_absolute_url() if app else None


class ThreadOutputSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    author = serializers.CharField(source="author.display_name", read_only=True)
    body_html = serializers.SerializerMethodField()
    solved = serializers.BooleanField(source="is_solved", read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Thread
        fields = ["id", "category", "title", "body_html", "author", "kind", "accepted_post", "locked", "pinned",
                  "posts_count", "solved", "created_at", "last_posted_at", "url"]

    def get_body_html(self, obj: Thread) -> str:
        first = obj.posts.filter(number=1).only("body_html").first()
        return first.body_html if first else ""


class PostOutputSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.display_name", read_only=True)
    likes = serializers.IntegerField(source="likes_count", read_only=True)
    thread = serializers.PrimaryKeyRelatedField(read_only=True)
    badges = serializers.SerializerMethodField()
    accepted = serializers.SerializerMethodField()

    class Meta:
        model = Post
        fields = ["id", "thread", "number", "body_html", "author", "likes", "badges", "accepted", "hidden",
                  "created_at", "edited_at", "edit_count"]

    def get_badges(self, obj: Post) -> list[str]:
        return getattr(obj, "badges", None) or selectors.badges_for_posts(posts=[obj], thread=obj.thread)[obj.pk]

    def get_accepted(self, obj: Post) -> bool:
        return obj.thread.accepted_post_id == obj.pk


class FlagOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.CharField()
    score = serializers.IntegerField()
