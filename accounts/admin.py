"""Admin for people, API keys, notifications and the audit log. Every write goes through a service."""
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import MODERATORS_GROUP, ApiKey, AuditLog, Invitation, Membership, Notification, Organisation, User
from .services import api_key_revoke, user_make_moderator, user_remove_moderator

admin.site.site_header = _("ModelMarket administration")
admin.site.site_title = _("ModelMarket admin")
admin.site.index_title = _("Moderation and operations")


class UserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta(auth_forms.AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "username")


class UserChangeForm(auth_forms.UserChangeForm):
    is_moderator = forms.BooleanField(
        label=_("Moderator"), required=False,
        help_text=_("Moderators review apps in the admin queue and see the audit log. Also grants staff status."),
    )

    class Meta(auth_forms.UserChangeForm.Meta):
        model = User

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["is_moderator"].initial = self.instance.is_moderator


@admin.register(User)
class UserAdmin(auth_admin.UserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = ("email", "username", "is_developer", "moderator", "is_staff", "is_active", "date_joined")
    list_filter = ("is_developer", "is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "username")
    fieldsets = (
        (None, {"fields": ("email", "username", "password")}),
        (_("ModelMarket"), {"fields": ("is_developer", "developer_terms_accepted_at", "is_moderator", "bio",
                                       "website")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",),
                "fields": ("email", "username", "usable_password", "password1", "password2")}),
    )
    actions = ["make_moderators", "remove_moderators"]

    def get_queryset(self, request):
        # One EXISTS per row instead of a group query per row for the Moderator column.
        in_group = User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name=MODERATORS_GROUP)
        return super().get_queryset(request).annotate(in_moderators=Exists(in_group))

    @admin.display(boolean=True, description=_("Moderator"))
    def moderator(self, obj: User) -> bool:
        return obj.is_superuser or getattr(obj, "in_moderators", False)

    def save_related(self, request, form, formsets, change):
        # After the form has set the groups, so the toggle is not undone by the groups field.
        super().save_related(request, form, formsets, change)
        if "is_moderator" in getattr(form, "changed_data", []):
            user = form.instance
            if form.cleaned_data["is_moderator"]:
                user_make_moderator(user=user)
            else:
                user_remove_moderator(user=user)

    @admin.action(description=_("Make the selected users moderators"), permissions=["change"])
    def make_moderators(self, request, queryset):
        for user in queryset:
            user_make_moderator(user=user)
        self.message_user(request, ngettext("%d user is now a moderator.", "%d users are now moderators.",
                                            len(queryset)) % len(queryset), messages.SUCCESS)

    @admin.action(description=_("Remove the selected users from the moderators"), permissions=["change"])
    def remove_moderators(self, request, queryset):
        for user in queryset:
            user_remove_moderator(user=user)
        self.message_user(request, _("Done."), messages.SUCCESS)


class ActiveKeyFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("revoked", _("Revoked"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created by their owners; here they can be looked at, revoked and given their own rate limit.

    No hash is ever shown."""

    list_display = ("name", "user", "masked_key", "scopes", "rate_limit", "created_at", "last_used_at", "active")
    list_filter = (ActiveKeyFilter,)
    search_fields = ("name", "prefix", "user__email", "user__username")
    list_select_related = ("user",)
    fields = ("user", "name", "masked_key", "scopes", "spend_cap", "rate_limit", "created_at", "last_used_at",
              "revoked_at")
    readonly_fields = tuple(field for field in fields if field != "rate_limit")
    actions = ["revoke"]

    @admin.display(description=_("key"))
    def masked_key(self, obj: ApiKey) -> str:
        return f"mm_{obj.prefix}_…"

    @admin.display(boolean=True, description=_("active"))
    def active(self, obj: ApiKey) -> bool:
        return obj.is_active

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        keys = list(queryset.filter(revoked_at__isnull=True))
        for api_key in keys:
            api_key_revoke(api_key=api_key)
        self.message_user(request, ngettext("%d key revoked.", "%d keys revoked.", len(keys)) % len(keys),
                          messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "message", "read_at")
    list_filter = ("kind",)
    search_fields = ("user__email", "message")
    list_select_related = ("user",)
    readonly_fields = ("user", "kind", "message", "url", "dedupe_key", "created_at", "read_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read-only: the audit log is written by services, never edited."""

    list_display = ("created_at", "actor", "action", "target", "short_reason")
    list_filter = ("action", "target_type")
    search_fields = ("target_repr", "reason", "actor__email", "actor__username", "target_id")
    date_hierarchy = "created_at"
    list_select_related = ("actor",)
    fields = ("created_at", "actor", "action", "target_type", "target_id", "target_repr", "reason", "data")
    readonly_fields = fields

    @admin.display(description=_("target"))
    def target(self, obj: AuditLog) -> str:
        return f"{obj.target_repr} ({obj.target_type} #{obj.target_id})"

    @admin.display(description=_("why"))
    def short_reason(self, obj: AuditLog) -> str:
        return obj.reason if len(obj.reason) <= 80 else f"{obj.reason[:79]}…"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["org", "user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["org__name", "org__slug", "user__email", "user__username"]
    raw_id_fields = ["org", "user"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["org", "email", "role", "created_at", "expires", "accepted_at"]
    search_fields = ["org__name", "email"]
    readonly_fields = ["token", "accepted_at"]
    raw_id_fields = ["org", "invited_by"]
