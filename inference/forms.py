"""Form pieces of inference: the artifact file input with an upload progress bar."""
from django import forms


class ArtifactUploadWidget(forms.ClearableFileInput):
    """A file input that posts its form with XHR and shows the upload's progress (models are large)."""

    template_name = "inference/widgets/artifact_upload.html"

    def __init__(self, attrs=None):
        super().__init__(attrs={"accept": ".zip,.keras", "data-artifact-upload": "1", **(attrs or {})})
