"""The dashboards' date-range picker: a GET form with `from` and `to` (both optional, last 30 days by default)."""
import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .selectors import DEFAULT_DAYS, MAX_DAYS, days_range

PRESETS = (7, 30, 90, 365)


class DateRangeForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # `from` is a Python keyword, so the fields are added here rather than declared on the class.
        self.fields["from"] = forms.DateField(label=_("From"), required=False,
                                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
        self.fields["to"] = forms.DateField(label=_("To"), required=False,
                                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self):
        data = super().clean()
        default_start, default_end = days_range(days=DEFAULT_DAYS)
        end = data.get("to") or timezone.localdate()
        start = data.get("from") or (end - (default_end - default_start))
        if start > end:
            raise forms.ValidationError(_("The start date must not be after the end date."), code="order")
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(_("Choose at most %(n)d days.") % {"n": MAX_DAYS}, code="too_long")
        data["start"], data["end"] = start, end
        return data

    def shown(self) -> "DateRangeForm":
        """The form to show: a valid one filled in with the dates actually used (the defaults included)."""
        if not self.is_valid():
            return self
        start, end = self.cleaned_data["start"], self.cleaned_data["end"]
        return DateRangeForm({"from": start.isoformat(), "to": end.isoformat()})

    def date_range(self) -> tuple[dt.date, dt.date]:
        """The chosen range, or the default (last 30 days) when the form is invalid."""
        if self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"]
        return days_range(days=DEFAULT_DAYS)


def presets(today: dt.date | None = None) -> list[dict]:
    """Quick ranges (last 7/30/90/365 days) as ready-made from/to pairs."""
    choices = []
    for n in PRESETS:
        start, end = days_range(days=n, today=today)
        choices.append({"days": n, "from": start.isoformat(), "to": end.isoformat()})
    return choices
