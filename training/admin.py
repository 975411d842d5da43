"""Moderators and staff see datasets and jobs read-only, and can cancel a job or run the reaper."""
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Dataset, JobStatus, TrainingJob


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "status", "rows", "format", "size", "created_at"]
    list_filter = ["status", "format"]
    search_fields = ["name", "owner__email", "sha256"]
    readonly_fields = [field.name for field in Dataset._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "base_version", "status", "progress", "epoch", "heartbeat_at", "created_at"]
    list_filter = ["status", "framework", "hardware"]
    search_fields = ["owner__email", "base_version__app__slug"]
    readonly_fields = [field.name for field in TrainingJob._meta.fields]
    actions = ["cancel_jobs", "reap_stale"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Cancel the selected jobs"))
    def cancel_jobs(self, request, queryset):
        count = 0
        for job in queryset.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]):
            services.training_job_cancel(job=job, actor=job.owner)
            count += 1
        self.message_user(request, _("%(n)d jobs asked to stop.") % {"n": count}, messages.SUCCESS)

    @admin.action(description=_("Fail stale jobs now (the reaper)"))
    def reap_stale(self, request, queryset):
        count = services.training_jobs_reap_stale()
        self.message_user(request, _("%(n)d stale jobs failed.") % {"n": count}, messages.SUCCESS)
