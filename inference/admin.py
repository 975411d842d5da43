"""Moderators' view of inference: predictions (read-only), webhook deliveries (redeliver), workers alive, and the
test run of an app under review (added to marketplace's app admin pages, which know nothing of running models).
"""
import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from config.api import ApiError
from config.errors import DomainError
from marketplace.admin import AppAdmin, AppReviewQueueAdmin
from marketplace.models import App, AppReviewQueue, AppVersion, VersionStatus

from . import schemas, services
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


# --- The moderators' test run, on marketplace's app pages --------------------------------------------------

class TestRunForm(forms.Form):
    """A moderator's test run: one of the app's ready versions (held ones included) and its input as JSON."""

    version = forms.ModelChoiceField(label=_("Version"), queryset=AppVersion.objects.none(), empty_label=None)
    input = forms.CharField(  # noqa: A003
        label=_("Input (JSON)"), widget=forms.Textarea(attrs={"rows": 8, "cols": 80, "spellcheck": "false"}),
        help_text=_("Prefilled with the version's example input. The run is free and not added to your library."),
    )

    def __init__(self, *args: Any, app: App, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = app.versions.filter(status=VersionStatus.READY).order_by(
            "-validated_at", "-created_at")

    def clean_input(self) -> dict:
        try:
            value = json.loads(self.cleaned_data["input"])
        except ValueError as error:
            raise ValidationError(_("This is not valid JSON: %(error)s") % {"error": error}) from None
        if not isinstance(value, dict):
            raise ValidationError(_("The input must be a JSON object."))
        return value


def _error_text(problem: Exception) -> str:
    if isinstance(problem, DomainError):
        return str(problem.message)
    if isinstance(problem, ValidationError):
        return "; ".join(problem.messages)
    detail = getattr(problem, "detail", None)
    if isinstance(detail, dict):
        return str(detail.get("detail") or detail.get("message") or problem)
    return str(detail if detail is not None else problem) or str(_("Not allowed."))


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) if value is not None else ""


def _label_rows(prediction: Prediction | None) -> list[dict]:
    """Classification labels as bars: label, score and its width in percent."""
    labels = (prediction.output or {}).get("labels") if prediction and isinstance(prediction.output, dict) else None
    if not isinstance(labels, list):
        return []
    rows = []
    for item in labels:
        if isinstance(item, dict) and "label" in item and isinstance(item.get("score"), int | float):
            rows.append({"label": item["label"], "score": item["score"],
                         "percent": round(max(0.0, min(1.0, float(item["score"]))) * 100, 1)})
    return rows


class TestRunMixin:
    """Adds `<app>/test-run/` to an app admin: run one of the app's ready versions as the moderator, for free."""

    def can_test_run(self, request: HttpRequest) -> bool:
        return bool(request.user.is_moderator)

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/test-run/", self.admin_site.admin_view(self.test_run_view),
                 name=f"{info[0]}_{info[1]}_test_run"),
            *super().get_urls(),
        ]

    def test_run_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Run one of the app's ready versions as the moderator, for free, and show the answer here."""
        if not request.user.is_moderator:
            raise PermissionDenied
        app = App.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if app is None:
            raise Http404
        prediction = error = None
        if request.method == "POST" and "_example" not in request.POST:
            form = TestRunForm(request.POST, app=app)
            if form.is_valid():
                version = form.cleaned_data["version"]
                try:
                    prediction, _created = services.prediction_create(
                        user=request.user, app=app, input=form.cleaned_data["input"], app_version=version,
                        review_run=True)
                    prediction = services.prediction_wait(prediction=prediction, seconds=30)
                except (DomainError, ValidationError, PermissionDenied, ApiError) as problem:
                    error = _error_text(problem)
        else:
            versions = TestRunForm(app=app).fields["version"].queryset
            chosen = request.POST.get("version") or request.GET.get("version")
            version = (versions.filter(pk=chosen).first() if str(chosen or "").isdigit() else None) or versions.first()
            example = schemas.version_example_input(version) if version else {}
            form = TestRunForm(app=app, initial={"version": version, "input": json.dumps(example, indent=2,
                                                                                          ensure_ascii=False)})
        context = {
            **self.admin_site.each_context(request),
            "title": _("Test run: %(app)s") % {"app": app.name}, "original": app, "app": app, "form": form,
            "prediction": prediction, "error": error, "opts": self.opts,
            "media": self.media + form.media,
            "labels": _label_rows(prediction), "output_json": _pretty(prediction.output) if prediction else "",
            "has_versions": form.fields["version"].queryset.exists(),
        }
        return TemplateResponse(request, "admin/marketplace/app_test_run.html", context)


class AppTestRunAdmin(TestRunMixin, AppAdmin):
    pass


class AppReviewQueueTestRunAdmin(TestRunMixin, AppReviewQueueAdmin):
    pass


admin.site.unregister(App)
admin.site.register(App, AppTestRunAdmin)
admin.site.unregister(AppReviewQueue)
admin.site.register(AppReviewQueue, AppReviewQueueTestRunAdmin)
