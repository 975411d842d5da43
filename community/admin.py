"""Moderation in the Django admin: the review queue (approve, hide, delete, suspend) plus forum objects.

Moderators (`user.is_moderator`) get full access here without per-model permissions; every action
goes through a service that writes the shared audit log.
"""
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.web_errors import WebError, error_messages

from . import services
from .models import Flag, FlagStatus, ForumCategory, ForumProfile, Post, PostRevision, ReviewQueueItem, Thread


class ModeratorAccess:
    """Moderators manage the forum; superusers already can."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_moderator

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_moderator

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_moderator

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting goes through the "delete" action, which soft-deletes and writes the audit log.
        return False


def _run(modeladmin, request, queryset, action, done: str) -> None:
    count = 0
    for post in queryset:
        try:
            action(post=post, moderator=request.user, reason=_("Review queue"))
        except WebError as error:
            modeladmin.message_user(request, f"{post}: {' '.join(error_messages(error))}", messages.ERROR)
        else:
            count += 1
    if count:
        modeladmin.message_user(request, done % {"count": count}, messages.SUCCESS)


@admin.action(description=_("Approve: the post is fine, dismiss the flags"))
def approve(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, services.review_approve, _("%(count)d post(s) approved."))


@admin.action(description=_("Hide the post"))
def hide(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, services.review_hide, _("%(count)d post(s) hidden."))


@admin.action(description=_("Delete the post"))
def delete(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, services.review_delete, _("%(count)d post(s) deleted."))


@admin.action(description=_("Hide the post and suspend its author"))
def suspend_author(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, services.review_suspend_author,
         _("%(count)d post(s) hidden and their authors suspended."))


class FlagInline(admin.TabularInline):
    model = Flag
    fk_name = "post"
    extra = 0
    fields = ["user", "reason", "score", "status", "created_at", "resolved_by"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_moderator


class RevisionInline(admin.TabularInline):
    model = PostRevision
    extra = 0
    fields = ["number", "editor", "created_at", "body"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_moderator


class PostAdminBase(ModeratorAccess, admin.ModelAdmin):
    list_select_related = ["thread", "author"]
    readonly_fields = ["thread", "number", "author", "body", "rendered", "created_at", "edited_at", "likes_count",
                       "flag_score", "hidden", "hidden_reason", "deleted_at"]
    fields = readonly_fields
    inlines = [FlagInline, RevisionInline]
    actions = [approve, hide, delete, suspend_author]
    search_fields = ["body", "thread__title", "author__username", "author__email"]

    @admin.display(description=_("Post"))
    def excerpt(self, obj):
        text = obj.body if len(obj.body) < 120 else obj.body[:117] + "…"
        return text

    @admin.display(description=_("Thread"))
    def thread_link(self, obj):
        return format_html('<a href="{}" target="_blank">{}</a>', obj.get_absolute_url(), obj.thread.title[:60])

    @admin.display(description=_("Rendered"))
    def rendered(self, obj):
        return format_html('<div class="forum-rendered">{}</div>', obj.body_html and _safe(obj.body_html))

    @admin.display(description=_("State"))
    def state(self, obj):
        if obj.deleted_at:
            return _("deleted")
        return _("hidden") if obj.hidden else _("visible")


def _safe(html: str):
    from django.utils.safestring import mark_safe

    return mark_safe(html)  # noqa: S308 - body_html is produced by render_markdown (nh3 allow-list)


@admin.register(ReviewQueueItem)
class ReviewQueueAdmin(PostAdminBase):
    """Posts with flags still to review, highest score first."""

    list_display = ["excerpt", "author", "thread_link", "flag_score", "flags_pending", "reasons", "state",
                    "created_at"]
    list_filter = ["hidden"]

    def get_queryset(self, request):
        return (
            super().get_queryset(request)
            .filter(flags__status=FlagStatus.PENDING)
            .annotate(pending=Count("flags", filter=Q(flags__status=FlagStatus.PENDING), distinct=True))
            .order_by("-flag_score", "-created_at")
            .distinct()
        )

    @admin.display(description=_("Flags"), ordering="pending")
    def flags_pending(self, obj):
        return obj.pending

    @admin.display(description=_("Reasons"))
    def reasons(self, obj):
        return ", ".join(sorted({f.get_reason_display() for f in obj.flags.filter(status=FlagStatus.PENDING)}))


@admin.register(Post)
class PostAdmin(PostAdminBase):
    list_display = ["excerpt", "author", "thread_link", "likes_count", "flag_score", "state", "created_at"]
    list_filter = ["hidden", ("deleted_at", admin.EmptyFieldListFilter)]


@admin.action(description=_("Pin"))
def pin(modeladmin, request, queryset):
    for thread in queryset:
        services.thread_set_pinned(thread=thread, actor=request.user, pinned=True)


@admin.action(description=_("Unpin"))
def unpin(modeladmin, request, queryset):
    for thread in queryset:
        services.thread_set_pinned(thread=thread, actor=request.user, pinned=False)


@admin.action(description=_("Lock"))
def lock(modeladmin, request, queryset):
    for thread in queryset:
        services.thread_set_locked(thread=thread, actor=request.user, locked=True)


@admin.action(description=_("Unlock"))
def unlock(modeladmin, request, queryset):
    for thread in queryset:
        services.thread_set_locked(thread=thread, actor=request.user, locked=False)


@admin.register(Thread)
class ThreadAdmin(ModeratorAccess, admin.ModelAdmin):
    list_display = ["title", "category", "author", "kind", "posts_count", "pinned", "locked", "hidden",
                    "last_posted_at"]
    list_filter = ["kind", "pinned", "locked", "hidden", "category"]
    search_fields = ["title", "author__username"]
    list_select_related = ["category", "author"]
    readonly_fields = ["category", "author", "title", "kind", "pinned", "locked", "hidden", "deleted_at",
                       "accepted_post", "posts_count", "created_at", "last_posted_at"]
    fields = readonly_fields
    actions = [pin, unpin, lock, unlock]


@admin.register(ForumCategory)
class ForumCategoryAdmin(ModeratorAccess, admin.ModelAdmin):
    list_display = ["name", "slug", "app", "position", "moderators_only"]
    list_select_related = ["app"]
    fields = ["name", "description", "position", "moderators_only"]


@admin.action(description=_("Lift the forum suspension"))
def unsuspend(modeladmin, request, queryset):
    for profile in queryset.filter(suspended_until__isnull=False).select_related("user"):
        services.user_forum_unsuspend(user=profile.user, moderator=request.user)


@admin.register(ForumProfile)
class ForumProfileAdmin(ModeratorAccess, admin.ModelAdmin):
    list_display = ["user", "trust_level", "days_visited", "posts_read", "likes_received", "suspended_until"]
    list_filter = ["trust_level"]
    search_fields = ["user__username", "user__email"]
    readonly_fields = ["user", "trust_level", "days_visited", "posts_read", "likes_received", "suspended_until",
                       "suspended_reason"]
    fields = readonly_fields
    actions = [unsuspend]
