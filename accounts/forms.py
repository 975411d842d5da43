"""Account forms. They validate input shape; the services decide and raise field errors we show inline."""
from django import forms
from django.utils.translation import gettext_lazy as _

from config.money import StrictDecimalFormField

from .models import ApiKeyScope


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

    org = forms.ChoiceField(
        label=_("Charged to"), required=False, choices=[],
        help_text=_("An organisation's key is charged to the organisation's wallet."),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        from .org_selectors import orgs_for

        orgs = list(orgs_for(user=user)) if user is not None and user.is_authenticated else []
        if orgs:
            self.fields["org"].choices = [("", _("My own wallet"))] + [(org.slug, org.name) for org in orgs]
        else:
            del self.fields["org"]
        if not (user and user.is_moderator):  # the moderate scope is offered to moderators only
            self.fields["scopes"].choices = [c for c in ApiKeyScope.choices if c[0] != ApiKeyScope.MODERATE]


class MemberCapForm(forms.Form):
    """A member's monthly cap on the org's wallet; empty clears it (no cap)."""

    spend_cap = StrictDecimalFormField(
        label=_("Monthly cap"), required=False, min_value=0, max_digits=18, decimal_places=6,
        help_text=_("The most this member may spend of the organisation's wallet per calendar month. Empty means "
                    "no cap."),
    )
