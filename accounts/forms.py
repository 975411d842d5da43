"""Account forms. They validate input shape; the services decide and raise field errors we show inline."""
from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from config.money import StrictDecimalFormField

from .models import ApiKeyScope


def add_service_errors(form: forms.Form, error: Exception, field_map: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError/PermissionDenied/APIException next to the matching fields, or above the form.

    Services name fields as the API does (`pricing.max_price`); forms name them flat (`max_price`).
    """
    from rest_framework.exceptions import APIException

    from config.errors import DomainError
    from config.web_errors import form_add_error

    field_map = field_map or {}
    if isinstance(error, DomainError):  # config/errors.py: mapped once, in config/web_errors.py
        form_add_error(form, error)
        return
    if isinstance(error, PermissionDenied):
        form.add_error(None, str(error) or _("You are not allowed to do that."))
        return
    if isinstance(error, APIException):  # e.g. config.api.ApiError / Conflict raised by a service
        form.add_error(None, str(error.detail))
        return
    if not isinstance(error, ValidationError):
        raise error
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, messages in error.message_dict.items():
        name = field_map.get(key, key.rsplit(".", 1)[-1])
        form.add_error(name if name in form.fields else None, messages)


class ProfileForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150,
                               help_text=_("Your public handle: letters, digits and @/./+/-/_ only."))
    bio = forms.CharField(label=_("Bio"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 5}),
                          help_text=_("Markdown. Shown on your public profile."))
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")


class BecomeDeveloperForm(forms.Form):
    accept_terms = forms.BooleanField(
        label=_("I have read and accept the developer terms."), required=False,
    )


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, required=False,
                           widget=forms.TextInput(attrs={"placeholder": _("e.g. production server")}))
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=ApiKeyScope.choices, required=False, widget=forms.CheckboxSelectMultiple,
        initial=[ApiKeyScope.READ, ApiKeyScope.PREDICT],
        help_text=_("read: browse and read your data · predict: run apps and spend · publish: manage your apps"),
    )
    spend_cap = StrictDecimalFormField(
        label=_("Monthly spend cap"), required=False, min_value=0, max_digits=18, decimal_places=6,
        help_text=_("Optional. Calls that would take this key past the amount in a calendar month are refused."),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not (user and user.is_moderator):  # the moderate scope is offered to moderators only
            self.fields["scopes"].choices = [c for c in ApiKeyScope.choices if c[0] != ApiKeyScope.MODERATE]
