"""Privacy pages in account settings: export your data, delete your account. Views call one service each."""
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import DomainError
from config.web_errors import errors_as_messages, form_add_error

from . import selectors, services
from .forms import AccountDeleteForm


def _page(request: HttpRequest, form: AccountDeleteForm, status: int = 200) -> HttpResponse:
    export = selectors.export_latest_for(user=request.user)
    return render(request, "privacy/settings.html", {
        "section": "privacy", "form": form, "export": export,
        "export_info": selectors.export_payload(export=export) if export else None,
    }, status=status)


@login_required
def privacy_settings(request: HttpRequest) -> HttpResponse:
    return _page(request, AccountDeleteForm())


@require_POST
@login_required
def export_start(request: HttpRequest) -> HttpResponse:
    with errors_as_messages(request) as outcome:
        services.export_request(user=request.user)
    if not outcome["failed"]:
        messages.success(request, _("Your export is being prepared. This page shows the download link when it is "
                                    "ready."))
    return redirect("privacy:settings")


@require_POST
@login_required
def account_delete(request: HttpRequest) -> HttpResponse:
    form = AccountDeleteForm(request.POST)
    if form.is_valid():
        try:
            services.account_delete(user=request.user, password=form.cleaned_data["password"])
        except DomainError as error:
            form_add_error(form, error)
        else:
            logout(request)
            messages.success(request, _("Your account was deleted. Thank you for having been with us."))
            return redirect("marketplace:home")
    return _page(request, form, status=400)
