"""Form pieces of inference: the artifact file input with an upload progress bar, and the console's version form.

`VersionUploadForm` is marketplace's `AppVersionForm` with the model itself; inference registers it with
marketplace in `InferenceConfig.ready()` (marketplace, the lower layer, never imports inference).
"""
from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.forms import AppVersionForm
from marketplace.models import App, AppVersion, Framework, Hardware, Task

from .services import version_upload


class ArtifactUploadWidget(forms.ClearableFileInput):
    """A file input that posts its form with XHR and shows the upload's progress (models are large)."""

    template_name = "inference/widgets/artifact_upload.html"

    def __init__(self, attrs=None):
        super().__init__(attrs={"accept": ".zip,.keras", "data-artifact-upload": "1", **(attrs or {})})


class VersionUploadForm(AppVersionForm):
    """A new version with its model: the artifact, its task, framework and hardware (and Keras class names)."""

    # The model itself. The widget shows an upload progress bar (inference/templates/inference/widgets).
    artifact = forms.FileField(
        label=_("Model file"), widget=ArtifactUploadWidget,
        help_text=_("A .zip of a transformers model folder (safetensors) or a Keras 3 .keras "
                    "file. Pickle formats (.bin, .pt, .pkl, .h5) and custom code are refused."))
    task = forms.ChoiceField(label=_("Task"), choices=Task.choices)
    framework = forms.ChoiceField(label=_("Framework"), choices=Framework.choices)
    hardware = forms.ChoiceField(label=_("Hardware"), choices=Hardware.choices, initial=Hardware.CPU)
    labels = forms.CharField(label=_("Class names (Keras classifiers)"), required=False, max_length=2000,
                             help_text=_("Comma-separated, in the order of the model's outputs."))

    def save(self, *, app: App, actor) -> AppVersion:
        data = self.cleaned_data
        labels = [label.strip() for label in data.get("labels", "").split(",") if label.strip()]
        return version_upload(app=app, actor=actor, artifact=data["artifact"], version=data["version"].strip(),
                              changelog=data["changelog"], task=data["task"], framework=data["framework"],
                              hardware=data["hardware"], labels=labels or None)
