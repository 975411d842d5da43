"""The display-currency form on the settings page (posted to its own URL, so the profile form stays as it is)."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import DomainError
from config.web_errors import message_error

from .models import DisplayCurrency
from .preferences import display_currency_default, user_set_display_currency


class DisplayCurrencyForm(forms.Form):
    display_currency = forms.ChoiceField(
        label=gettext_lazy("Show prices in"), required=False,
        help_text=gettext_lazy("Shown next to the price, converted at the platform's rates, so approximate. You are "
                               "always charged in the settlement currency shown beside it."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        language_default = display_currency_default(language=get_language()).upper()
        self.fields["display_currency"].choices = [
            ("", _("By language (now %(code)s)") % {"code": language_default}), *DisplayCurrency.choices]


@require_POST
@login_required
def display_currency_update(request: HttpRequest) -> HttpResponse:
    form = DisplayCurrencyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the currencies offered."))
        return redirect("accounts:settings")
    try:
        user_set_display_currency(user=request.user, currency=form.cleaned_data["display_currency"])
    except DomainError as error:
        message_error(request, error)
    else:
        messages.success(request, _("Display currency saved."))
    return redirect("accounts:settings")
