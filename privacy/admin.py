"""Moderators' view of data exports: who asked, when, and whether it is ready (never the file itself)."""
from django.contrib import admin

from .models import DataExport


@admin.register(DataExport)
class DataExportAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "status", "size", "created_at", "finished_at", "expires_at")
    list_filter = ("status",)
    search_fields = ("id",)
    list_select_related = ("user",)
    readonly_fields = ("id", "user", "status", "size", "error", "created_at", "finished_at", "expires_at")
    exclude = ("file",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
