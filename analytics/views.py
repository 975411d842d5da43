"""The developer console's usage dashboard for one app (owners only; anyone else's app answers 404)."""
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from marketplace.models import App

from . import dashboard
from .forms import DateRangeForm, presets
from .selectors import app_owned_get, app_usage


def _owned_app(request: HttpRequest, slug: str) -> App:
    try:
        return app_owned_get(user=request.user, slug=slug)
    except App.DoesNotExist:
        raise Http404 from None


@login_required
def app_usage_page(request: HttpRequest, slug: str) -> HttpResponse:
    app = _owned_app(request, slug)
    form = DateRangeForm(request.GET)
    start, end = form.date_range()
    report = app_usage(app=app, start=start, end=end)
    context = {"app": app, "form": form.shown(), "report": report, "presets": presets(),
               **dashboard.context(report)}
    return render(request, "analytics/app_usage.html", context, status=400 if form.errors else 200)


@login_required
def app_usage_csv(request: HttpRequest, slug: str) -> HttpResponse:
    app = _owned_app(request, slug)
    form = DateRangeForm(request.GET)
    if not form.is_valid():
        return HttpResponse(" ".join(str(error) for errors in form.errors.values() for error in errors),
                            status=400, content_type="text/plain; charset=utf-8")
    start, end = form.date_range()
    return dashboard.csv_response(app_usage(app=app, start=start, end=end), name=app.slug)
