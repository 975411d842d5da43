"""The platform-wide usage dashboard for moderators, in the admin next to billing's economics report."""
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from billing.admin import ReadOnlyAdmin

from . import dashboard
from .forms import DateRangeForm, presets
from .models import PlatformUsageReport
from .selectors import platform_usage


@admin.register(PlatformUsageReport)
class PlatformUsageReportAdmin(ReadOnlyAdmin):
    """Every app together, per day: calls, errors, callers, latency, revenue, cost and margin (+ CSV)."""

    def has_view_permission(self, request, obj=None):
        user = request.user
        return user.is_active and user.is_staff and (
            user.is_superuser or user.is_moderator or user.has_perm("billing.view_transaction"))

    has_module_permission = has_view_permission

    def get_urls(self):
        return [path("csv/", self.admin_site.admin_view(self.csv_view), name="analytics_platformusagereport_csv"),
                *super().get_urls()]

    def _report(self, request: HttpRequest):
        form = DateRangeForm(request.GET)
        start, end = form.date_range()
        return form, platform_usage(start=start, end=end)

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form, report = self._report(request)
        context = {
            **self.admin_site.each_context(request), "title": _("Platform usage"), "form": form.shown(),
            "report": report,
            "presets": presets(), "opts": self.model._meta,
            **dashboard.context(report), **(extra_context or {}),
        }
        return TemplateResponse(request, "analytics/admin/platform_usage.html", context,
                                status=400 if form.errors else 200)

    def csv_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form, report = self._report(request)
        if form.errors:
            return HttpResponse(" ".join(str(e) for errors in form.errors.values() for e in errors), status=400,
                                content_type="text/plain; charset=utf-8")
        return dashboard.csv_response(report, name="platform")
