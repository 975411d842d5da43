"""Store and console forms. Services decide; forms check shape and show service errors inline."""
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from config.money import StrictDecimalFormField

from .model_card_forms import ModelCardFields
from .models import App, AppVersion, PricingModel, Task
from .selectors import categories_all
from .services import app_version_create

ICON_MAX_BYTES = 1024 * 1024
ICON_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
ICON_MIN_SIDE = 32
ICON_MAX_SIDE = 2048


def validate_icon(upload) -> None:
    """A real, small, square-ish image in a web format; Pillow reads the header, never decodes a bomb."""
    if upload.size > ICON_MAX_BYTES:
        raise forms.ValidationError(_("The icon must be 1 MB or smaller."), code="icon_too_big")
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise forms.ValidationError(_("Upload a valid image: PNG, JPEG, WebP or GIF."), code="icon_invalid") from None
    finally:
        upload.seek(0)
    if image_format not in ICON_FORMATS:
        raise forms.ValidationError(_("Upload a valid image: PNG, JPEG, WebP or GIF."), code="icon_format")
    if min(width, height) < ICON_MIN_SIDE or max(width, height) > ICON_MAX_SIDE:
        raise forms.ValidationError(
            _("The icon must be between %(min)d and %(max)d pixels on each side.")
            % {"min": ICON_MIN_SIDE, "max": ICON_MAX_SIDE}, code="icon_size",
        )


def _money_field(label, **kwargs) -> forms.DecimalField:
    return StrictDecimalFormField(label=label, max_digits=18, decimal_places=6, min_value=Decimal("0"), **kwargs)


class AppForm(forms.Form):
    """Create and edit a listing; pricing goes to the service as the API's `pricing` object."""

    name = forms.CharField(label=_("Name"), max_length=80)
    tagline = forms.CharField(label=_("Tagline"), max_length=140,
                              help_text=_("One line that says what the app does."))
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("Markdown: headings, lists, links, code and tables. Rendered safely."),
    )
    category = forms.ModelChoiceField(label=_("Category"), queryset=categories_all(), empty_label=None)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=500,
                           help_text=_("Comma separated, up to 10, e.g. nlp, sentiment, english."))
    icon = forms.FileField(
        label=_("Icon"), required=False, validators=[validate_icon],
        widget=forms.ClearableFileInput(
            attrs={"accept": ",".join(ICON_FORMATS.values()), "data-preview": "#icon-preview"}
        ),
        help_text=_("PNG, JPEG, WebP or GIF, at most 1 MB, 32–2048 px. Square works best."),
    )
    pricing_model = forms.ChoiceField(label=_("Pricing model"), choices=PricingModel.choices, initial=PricingModel.FREE)
    base_price = _money_field(_("Base price per call"), required=False, initial=Decimal("0"))
    k = _money_field(_("Price increase per recent call (k)"), required=False, initial=Decimal("0"),
                     help_text=_("Price = min(max price, base + k × calls in the window)."))
    window_seconds = forms.IntegerField(label=_("Window (seconds)"), min_value=1, required=False, initial=3600)
    max_price = _money_field(_("Maximum price per call"), required=False, initial=Decimal("0"))
    free_calls_per_month = forms.IntegerField(label=_("Free calls per month"), min_value=0, required=False,
                                              initial=0)
    purchase_price = _money_field(_("One-time purchase price"), required=False,
                                  help_text=_("Optional. Leave empty for no purchase step."))

    retention_days = forms.IntegerField(
        label=_("Keep inputs and outputs (days)"), min_value=0, max_value=365, required=False, initial=30,
        help_text=_("Predictions' inputs and outputs are erased this many days after they finish (0-365)."))

    PER_CALL_FIELDS = ("base_price", "k", "window_seconds", "max_price", "free_calls_per_month")

    @classmethod
    def initial_for(cls, app: App) -> dict:
        return {
            "name": app.name, "tagline": app.tagline, "description": app.description, "category": app.category_id,
            "tags": ", ".join(tag.name for tag in app.tags.all()), "pricing_model": app.pricing_model,
            "base_price": app.base_price, "k": app.k, "window_seconds": app.window_seconds,
            "max_price": app.max_price, "free_calls_per_month": app.free_calls_per_month,
            "purchase_price": app.purchase_price, "retention_days": app.retention_days,
        }

    def tag_list(self) -> list[str]:
        return [tag.strip() for tag in self.cleaned_data.get("tags", "").split(",") if tag.strip()]

    def pricing(self) -> dict:
        data = self.cleaned_data
        pricing: dict = {"model": data["pricing_model"], "purchase_price": data.get("purchase_price")}
        if data["pricing_model"] == PricingModel.PER_CALL:
            for field in self.PER_CALL_FIELDS:
                if data.get(field) is not None:
                    pricing[field] = data[field]
        return pricing

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        kwargs = {"name": data["name"], "tagline": data["tagline"], "description": data["description"],
                  "category": data["category"], "pricing": self.pricing(), "tags": self.tag_list()}
        if data.get("retention_days") is not None:
            kwargs["retention_days"] = data["retention_days"]
        return kwargs


class AppVersionForm(ModelCardFields):
    """A new version of an app: its number, changelog and model card (see model_card_forms.py).

    EXTENSION POINT: the app that stores the model itself (inference) subclasses this form with the artifact
    upload and the task/framework/hardware fields, and registers it with `version_form_register()` (in its
    AppConfig.ready()); the console view asks `version_form_class()`. The view posts `request.FILES`, renders
    every field of the form generically and shows service errors next to the field they name.
    """

    version = forms.CharField(label=_("Version"), max_length=40, help_text=_("Semantic version, e.g. 1.0.0."),
                              widget=forms.TextInput(attrs={"placeholder": "1.0.0"}))
    changelog = forms.CharField(label=_("Changelog"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                                help_text=_("What changed in this version (Markdown)."))

    def service_kwargs(self) -> dict:
        """Extra keyword arguments for the version service (artifact, task, framework...)."""
        return {}

    def save(self, *, app: App, actor) -> AppVersion:
        data = self.cleaned_data
        return app_version_create(app=app, actor=actor, version=data["version"].strip(), changelog=data["changelog"],
                                  **self.service_kwargs())


_version_form: type[AppVersionForm] = AppVersionForm


def version_form_register(form_class: type[AppVersionForm]) -> None:
    """Called by the app that stores models (inference) in its AppConfig.ready(): the form the console uses."""
    global _version_form
    _version_form = form_class


def version_form_class() -> type[AppVersionForm]:
    return _version_form


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(label=_("Rating"), coerce=int, choices=[(i, str(i)) for i in range(5, 0, -1)],
                                    widget=forms.RadioSelect)
    text = forms.CharField(label=_("Your review"), required=False, max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("What worked, what didn't?")}))


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("Reply"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


SORTS = [
    ("-runs", _("Popular")),
    ("-rating", _("Top rated")),
    ("-created", _("Newest")),
    ("price", _("Price")),
]


class StoreFilterForm(forms.Form):
    """The store's filters (all optional); bad values are ignored rather than failing the page."""

    pricing = forms.ChoiceField(required=False, label=_("Price"),
                                choices=[("", _("Free and paid")), ("free", _("Free")), ("paid", _("Paid"))])
    price_min = forms.DecimalField(required=False, min_value=Decimal("0"), max_digits=12, decimal_places=6,
                                   label=_("Min $/call"))
    price_max = forms.DecimalField(required=False, min_value=Decimal("0"), max_digits=12, decimal_places=6,
                                   label=_("Max $/call"))
    task = forms.ChoiceField(required=False, label=_("Task"), choices=[("", _("Any task")), *Task.choices])

    def filters(self) -> dict:
        self.is_valid()  # fills cleaned_data with the fields that are valid
        return {key: value for key, value in self.cleaned_data.items() if value not in ("", None)}
