"""The model card's fields in the console: on the add-version form and on a version's own card page."""
from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from config.errors import InvalidInput

from .model_cards import CARD_FIELDS, MAX_LENGTHS, metrics_as_text, metrics_parse_text
from .models import AppVersion


class ModelCardFields(forms.Form):
    """Mixed into a form: the six card fields, shown after the form's own fields, all optional."""

    base_model = forms.CharField(label=_("Base model"), required=False, max_length=MAX_LENGTHS["base_model"],
                                 help_text=_("What this model was built from, e.g. all-MiniLM-L6-v2."))
    training_data = forms.CharField(
        label=_("Training data"), required=False, max_length=MAX_LENGTHS["training_data"],
        widget=forms.Textarea(attrs={"rows": 3}), help_text=_("What it learnt from: source, size, languages."))
    evaluation_metrics = forms.CharField(
        label=_("Evaluation metrics"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line as name: value, e.g. accuracy: 0.91."))
    intended_use = forms.CharField(label=_("Intended use"), required=False, max_length=MAX_LENGTHS["intended_use"],
                                   widget=forms.Textarea(attrs={"rows": 3}))
    limitations = forms.CharField(label=_("Limitations"), required=False, max_length=MAX_LENGTHS["limitations"],
                                  widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text=_("Where it is wrong or must not be used."))
    license = forms.CharField(label=_("Licence"), required=False, max_length=MAX_LENGTHS["license"],
                              help_text=_("e.g. Apache-2.0 or MIT."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The card comes last, whatever form it is mixed into.
        self.order_fields([name for name in self.fields if name not in CARD_FIELDS] + list(CARD_FIELDS))

    def clean_evaluation_metrics(self) -> dict:
        try:
            return metrics_parse_text(self.cleaned_data.get("evaluation_metrics") or "")
        except InvalidInput as error:
            raise forms.ValidationError(str(error.message)) from None

    def model_card_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) or ({} if name == "evaluation_metrics" else "")
                for name in CARD_FIELDS}

    @staticmethod
    def model_card_initial(version: AppVersion) -> dict[str, Any]:
        initial: dict[str, Any] = {name: getattr(version, name) for name in CARD_FIELDS}
        initial["evaluation_metrics"] = metrics_as_text(version.evaluation_metrics)
        return initial


class ModelCardForm(ModelCardFields):
    """A version's card on its own page."""
