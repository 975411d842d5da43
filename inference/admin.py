"""Moderators' view of inference: predictions (read-only), webhook deliveries (redeliver), workers alive."""
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Prediction, WebhookDelivery, WorkerHeartbeat


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ("id", "app", "version", "user", "status", "price", "hardware", "device", "created_at")
    list_filter = ("status", "hardware", "app")
    search_fields = ("id", "app__slug", "user__email")
    date_hierarchy = "created_at"
    list_select_related = ("app", "version", "user")
    readonly_fields = [field.name for field in Prediction._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("message_id", "event", "url", "status", "attempts", "response_status", "created_at")
    list_filter = ("status", "event")
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]
    actions = ["redeliver"]

    @admin.action(description=_("Redeliver the selected webhooks"))
    def redeliver(self, request, queryset):
        for delivery in queryset.select_related("prediction"):
            services.webhook_redeliver(delivery=delivery, actor=delivery.prediction.user)
        self.message_user(request, _("Queued again."), messages.SUCCESS)

    def has_add_permission(self, request):
        return False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("hostname", "queues", "devices", "last_seen")
    readonly_fields = ("hostname", "queues", "devices", "last_seen")
