"""Admin for the store, with the moderators' review queue.

Status never changes through a form: approve / reject / suspend are actions that call
`marketplace.services.app_review`, which notifies the developer and writes the audit log.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.markdown import render_markdown
from config.web_errors import WebError, error_messages

from .models import App, AppReviewQueue, AppStatus, AppVersion, Category, LibraryEntry, Review, Tag
from .services import app_review, review_delete


class ModerationReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 5, "cols": 80}), max_length=5000,
        help_text=_("Sent to the developer by email and on the site, and kept in the audit log."),
    )


def _human_size(obj: AppVersion) -> str:
    return filesizeformat(obj.size) if obj.size else "—"


class AppVersionInline(admin.TabularInline):
    model = AppVersion
    fields = ("version", "status", "task", "framework", "hardware", "artifact_size", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("size"))
    def artifact_size(self, obj: AppVersion) -> str:
        return _human_size(obj)


@admin.register(App)
class AppAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "owner", "category", "status", "pricing_model", "rating", "reviews_count",
                    "runs_count", "updated_at")
    list_filter = ("status", "category", "pricing_model", "featured")
    search_fields = ("name", "slug", "tagline", "owner__email", "owner__username")
    list_select_related = ("owner", "category")
    autocomplete_fields = ("owner",)
    filter_horizontal = ("tags",)
    readonly_fields = ("status", "status_reason", "rating", "runs_count", "rating_sum", "reviews_count",
                       "created_at", "updated_at", "published_at", "description_preview")
    fieldsets = (
        (None, {"fields": ("name", "slug", "owner", "tagline", "description", "description_preview", "category",
                           "tags", "icon", "featured")}),
        (_("Moderation"), {"fields": ("status", "status_reason", "published_at")}),
        (_("Pricing"), {"fields": ("pricing_model", "base_price", "k", "window_seconds", "max_price",
                                   "free_calls_per_month", "purchase_price", "owner_allowance")}),
        (_("Counters"), {"fields": ("runs_count", "reviews_count", "rating_sum", "rating", "created_at",
                                    "updated_at")}),
    )
    inlines = [AppVersionInline]
    actions = ["approve", "reject", "suspend"]
    reason_template = "admin/marketplace/moderation_reason.html"
    change_form_template = "admin/marketplace/app_change_form.html"

    @admin.display(description=_("Description as shown"))
    def description_preview(self, obj: App) -> str:
        """The Markdown rendered and sanitised, as people see it in the store."""
        return mark_safe(f'<div class="markdown-preview">{render_markdown(obj.description or "")}</div>')  # noqa: S308

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Approve / Reject buttons on the app's page (same services as the list actions)."""
        if request.method == "POST" and object_id and self.has_review_permission(request):
            decision = request.POST.get("_review") or (
                request.POST.get("action") if "apply" in request.POST else "")
            if decision in ("approve", "reject"):
                queryset = App.objects.filter(pk=object_id)
                if decision == "approve":
                    self._decide(request, queryset, "approve", reason="")
                    return HttpResponseRedirect(reverse("admin:marketplace_appreviewqueue_changelist"))
                response = self._ask_reason_then_decide(request, queryset, "reject", _("Reject apps"))
                if response is None:
                    return HttpResponseRedirect(reverse("admin:marketplace_appreviewqueue_changelist"))
                return response
        extra_context = {**(extra_context or {}), "can_review": self.has_review_permission(request),
                         "can_test_run": self.can_test_run(request)}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("marketplace.review_app")

    def can_test_run(self, request) -> bool:
        """Whether the page offers a test run; inference's admin adds the view (see `inference/admin.py`)."""
        return False

    def has_add_permission(self, request) -> bool:
        # Apps are created by developers on the site or through the API, never by staff.
        return False

    @admin.action(description=_("Approve and publish the selected apps"), permissions=["review"])
    def approve(self, request, queryset):
        return self._decide(request, queryset, "approve", reason="")

    @admin.action(description=_("Reject the selected apps (asks for a reason)"), permissions=["review"])
    def reject(self, request, queryset):
        return self._ask_reason_then_decide(request, queryset, "reject", _("Reject apps"))

    @admin.action(description=_("Suspend the selected apps (asks for a reason)"), permissions=["review"])
    def suspend(self, request, queryset):
        return self._ask_reason_then_decide(request, queryset, "suspend", _("Suspend apps"))

    def _ask_reason_then_decide(self, request, queryset, decision: str, title: str):
        """An intermediate page with the reason; its POST comes back to this action with `apply`."""
        if "apply" in request.POST:
            form = ModerationReasonForm(request.POST)
            if form.is_valid():
                return self._decide(request, queryset, decision, reason=form.cleaned_data["reason"])
        else:
            form = ModerationReasonForm()
        context = {
            **self.admin_site.each_context(request),
            "title": title, "form": form, "apps": queryset.select_related("owner"), "decision": decision,
            "action_name": decision, "opts": self.model._meta, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, self.reason_template, context)

    def _decide(self, request, queryset, decision: str, reason: str) -> None:
        done = 0
        for app in queryset:
            try:
                app_review(app=app, moderator=request.user, decision=decision, reason=reason)
                done += 1
            except WebError as error:
                self.message_user(request, f"{app.name}: {'; '.join(error_messages(error))}", messages.ERROR)
        if done:
            texts = {
                "approve": ngettext("%(count)d app approved and published; its developer was notified.",
                                    "%(count)d apps approved and published; their developers were notified.", done),
                "reject": ngettext("%(count)d app rejected; its developer was notified.",
                                   "%(count)d apps rejected; their developers were notified.", done),
                "suspend": ngettext("%(count)d app suspended; its developer was notified.",
                                    "%(count)d apps suspended; their developers were notified.", done),
            }
            self.message_user(request, texts[decision] % {"count": done}, messages.SUCCESS)
        return None


@admin.register(AppReviewQueue)
class AppReviewQueueAdmin(AppAdmin):
    """Apps waiting for a moderator, oldest first."""

    list_display = ("name", "owner", "category", "pricing_model", "versions_count", "updated_at")
    list_filter = ("category", "pricing_model")
    ordering = ("updated_at",)
    actions = ["approve", "reject"]

    def get_queryset(self, request):
        # New apps, and published apps whose new version or pricing change is held for review.
        waiting = (Q(status=AppStatus.IN_REVIEW) | Q(status=AppStatus.PUBLISHED, pending_pricing__isnull=False)
                   | Q(status=AppStatus.PUBLISHED, versions__held_for_review=True))
        return super().get_queryset(request).filter(waiting).distinct().prefetch_related("versions")

    @admin.display(description=_("versions"))
    def versions_count(self, obj: App) -> int:
        return len(obj.versions.all())


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position")
    list_editable = ("position",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(AppVersion)
class AppVersionAdmin(admin.ModelAdmin):
    """Versions are uploaded and validated by the platform; here they are looked at."""

    list_display = ("app", "version", "status", "task", "framework", "hardware", "artifact_size", "created_at")
    list_filter = ("status", "task", "framework", "hardware")
    search_fields = ("app__name", "app__slug", "version")
    list_select_related = ("app",)
    exclude = ("artifact",)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in AppVersion._meta.fields if field.name != "artifact"] + ["artifact_size"]

    @admin.display(description=_("size"))
    def artifact_size(self, obj: AppVersion) -> str:
        return _human_size(obj)

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """Moderators read reviews and remove abusive ones; removal keeps the app's rating exact."""

    list_display = ("app", "user", "rating", "short_text", "created_at", "replied_at")
    list_filter = ("rating",)
    search_fields = ("app__name", "user__email", "text")
    list_select_related = ("app", "user")
    readonly_fields = ("app", "user", "rating", "text", "developer_reply", "replied_at", "created_at", "updated_at")

    @admin.display(description=_("review"))
    def short_text(self, obj: Review) -> str:
        return obj.text if len(obj.text) <= 80 else f"{obj.text[:79]}…"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj: Review) -> None:
        review_delete(review=obj, actor=request.user, reason=str(_("Removed in the admin.")))

    def delete_queryset(self, request, queryset) -> None:
        for review in queryset:
            review_delete(review=review, actor=request.user, reason=str(_("Removed in the admin.")))


@admin.register(LibraryEntry)
class LibraryEntryAdmin(admin.ModelAdmin):
    list_display = ("user", "app", "source", "acquired_at")
    list_filter = ("source",)
    search_fields = ("user__email", "app__name")
    list_select_related = ("user", "app")
    readonly_fields = ("user", "app", "source", "acquired_at")

    def has_add_permission(self, request) -> bool:
        return False
