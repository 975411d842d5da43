"""Console forms for training; the services still check everything (forms only shape input and show errors)."""
from django import forms
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import DatasetStatus
from .spec import HYPERPARAMETERS


class DatasetUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV or JSONL file"),
                           help_text=_("Columns “text” and “label”, UTF-8. One example per row."),
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,.jsonl,.json,.ndjson"}))
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    validation_fraction = forms.DecimalField(label=_("Validation share"), initial="0.2", min_value=0.05,
                                             max_value=0.5, decimal_places=3,
                                             help_text=_("Held out to measure accuracy after each epoch."))
    seed = forms.IntegerField(label=_("Split seed"), initial=42, min_value=0, max_value=2**31 - 1,
                              help_text=_("The same seed always gives the same split."))


class DatasetSplitForm(forms.Form):
    validation_fraction = forms.DecimalField(label=_("Validation share"), min_value=0.05, max_value=0.5,
                                             decimal_places=3)
    seed = forms.IntegerField(label=_("Split seed"), min_value=0, max_value=2**31 - 1)


class BaseVersionField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.app.name} {obj.version} · {obj.get_framework_display()} {obj.get_task_display()}"


class DatasetField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return _("%(name)s · %(rows)d rows, %(labels)d labels") % {"name": obj.name, "rows": obj.rows,
                                                                   "labels": len(obj.labels)}


HELP = {
    "epochs": _("Passes over the training rows."),
    "learning_rate": _("Default 5e-5 for transformers, 1e-3 for Keras."),
    "batch_size": _("Rows per step."),
    "max_length": _("Tokens kept per text (transformers)."),
    "seed": _("Makes the run reproducible."),
}
LABELS = {"epochs": _("Epochs"), "learning_rate": _("Learning rate"), "batch_size": _("Batch size"),
          "max_length": _("Max length"), "seed": _("Seed")}


class JobForm(forms.Form):
    base_version = BaseVersionField(label=_("Base model"), queryset=None, empty_label=None,
                                    help_text=_("A ready version of one of your apps: a transformers encoder gets a "
                                                "new classification head; a Keras text classifier is fine-tuned."))
    dataset = DatasetField(label=_("Dataset"), queryset=None, empty_label=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["base_version"].queryset = selectors.base_versions_for(user=user)
        self.fields["dataset"].queryset = selectors.datasets_for(user=user).filter(status=DatasetStatus.READY)
        for name, (kind, low, high, default, keras_default) in HYPERPARAMETERS.items():
            field_class = forms.FloatField if kind is float else forms.IntegerField
            attrs = {"min": low, "max": high, "placeholder": str(default), "data-hp": name,
                     "data-default-transformers": default, "data-default-keras": keras_default}
            if kind is float:
                attrs["step"] = "any"
            self.fields[name] = field_class(label=LABELS[name], required=False, help_text=HELP[name],
                                            min_value=low, max_value=high, widget=forms.NumberInput(attrs=attrs))

    def hyperparameters(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in HYPERPARAMETERS
                if self.cleaned_data.get(name) is not None}


class PublishForm(forms.Form):
    version = forms.CharField(label=_("Version"), max_length=40, widget=forms.TextInput(attrs={"placeholder": "1.1.0"}),
                              help_text=_("A new semantic version of the app."))
    changelog = forms.CharField(label=_("Changelog"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
