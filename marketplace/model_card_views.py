"""The console page where an owner edits a version's model card."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from config.errors import DomainError
from config.web_errors import form_add_error

from .model_card_forms import ModelCardForm
from .model_cards import version_model_card_update
from .models import AppVersion
from .selectors import apps_managed_by


@login_required
def console_version_card(request: HttpRequest, slug: str, version: str) -> HttpResponse:
    app = get_object_or_404(apps_managed_by(user=request.user), slug=slug)  # anyone else's app: 404
    app_version = get_object_or_404(AppVersion, app=app, version=version)
    if request.method == "POST":
        form = ModelCardForm(request.POST)
        if form.is_valid():
            try:
                version_model_card_update(version=app_version, actor=request.user, **form.model_card_values())
            except DomainError as error:
                form_add_error(form, error)
            else:
                messages.success(request, _("Model card of version %(version)s saved.") % {"version": version})
                return redirect("marketplace:console_app", slug=app.slug)
    else:
        form = ModelCardForm(initial=ModelCardForm.model_card_initial(app_version))
    return render(request, "marketplace/console_version_card.html",
                  {"app": app, "version": app_version, "form": form}, status=400 if form.errors else 200)
