"""Forms for the forum pages; validation of content rules happens in services."""
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import FlagReason, ThreadKind, WatchLevel


class ThreadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ThreadKind.choices, initial=ThreadKind.QUESTION,
                             widget=forms.RadioSelect)
    title = forms.CharField(label=_("Title"), max_length=200,
                            widget=forms.TextInput(attrs={"placeholder": _("What is it about, in one line?")}))
    body = forms.CharField(label=_("Message"), max_length=20000,
                           widget=forms.Textarea(attrs={"rows": 10, "placeholder": _("Markdown works here.")}))


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Your reply"), max_length=20000,
                           widget=forms.Textarea(attrs={"rows": 6, "placeholder": _("Write a reply… Markdown works, "
                                                                                    "@name mentions someone.")}))


class EditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    body = forms.CharField(label=_("Message"), max_length=20000, widget=forms.Textarea(attrs={"rows": 12}))


class FlagForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=FlagReason.choices)


class WatchForm(forms.Form):
    level = forms.ChoiceField(label=_("Notifications"), choices=WatchLevel.choices)
