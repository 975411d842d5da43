"""Input and output shapes of the marketplace API. No logic here: views call services and selectors."""
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.money import StrictDecimalField

from .models import App, Category, PricingModel, Review, Task
from .selectors import app_current_price, app_latest_version

MONEY = {"max_digits": 18, "decimal_places": 6, "min_value": 0, "coerce_to_string": True}
ORDERING_CHOICES = ["-runs", "-rating", "-created", "price"]


# --- inputs ---------------------------------------------------------------------------------------------

class PricingInputSerializer(serializers.Serializer):
    model = serializers.ChoiceField(choices=PricingModel.choices, required=False)
    base_price = StrictDecimalField(required=False, **MONEY)
    k = StrictDecimalField(required=False, help_text=_("Price increase per recent call."), **MONEY)
    window_seconds = serializers.IntegerField(required=False, min_value=1, max_value=30 * 24 * 3600)
    max_price = StrictDecimalField(required=False, **MONEY)
    free_calls_per_month = serializers.IntegerField(required=False, min_value=0, max_value=10_000_000)
    purchase_price = StrictDecimalField(required=False, allow_null=True, **MONEY)


class AppListQuerySerializer(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=200)
    category = serializers.SlugField(required=False, allow_blank=True)
    tag = serializers.SlugField(required=False, allow_blank=True)
    ordering = serializers.ChoiceField(choices=ORDERING_CHOICES, required=False, allow_blank=True)
    pricing = serializers.ChoiceField(choices=["free", "paid"], required=False, allow_blank=True,
                                      help_text="Only free or only paid apps.")
    price_min = serializers.DecimalField(max_digits=12, decimal_places=6, min_value=0, required=False,
                                         help_text="Lowest listed price per call.")
    price_max = serializers.DecimalField(max_digits=12, decimal_places=6, min_value=0, required=False,
                                         help_text="Highest listed price per call.")
    task = serializers.ChoiceField(choices=Task.choices, required=False, allow_blank=True,
                                   help_text="Apps whose ready version does this task.")

    def validate_category(self, value: str) -> str:
        if value and not Category.objects.filter(slug=value).exists():
            raise serializers.ValidationError(_("Unknown category."))
        return value


class AppCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    tagline = serializers.CharField(max_length=140)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=50_000,
                                        help_text=_("Markdown."))
    category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.all())
    pricing = PricingInputSerializer(required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=10)
    retention_days = serializers.IntegerField(required=False, min_value=0, max_value=365, help_text=_(
        "Days inputs and outputs of this app's predictions are kept after they finish (default 30)."))
    org = serializers.SlugField(required=False, help_text=_(
        "An organisation's slug (you need the developer, admin or owner role): the org owns the app and its "
        "earnings."))


class AppUpdateInputSerializer(AppCreateInputSerializer):
    """PATCH: every field optional; `pricing` may carry only the keys that change."""

    name = serializers.CharField(max_length=80, required=False)
    tagline = serializers.CharField(max_length=140, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=50_000)
    category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.all(), required=False)
    org = None  # set at creation only


class ModerationInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject", "suspend"])
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000,
                                   help_text=_("Required to reject or suspend; sent to the developer."))


class ReviewInputSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


# --- outputs --------------------------------------------------------------------------------------------

class CategoryOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["slug", "name", "description"]


class PricingOutputSerializer(serializers.Serializer):
    model = serializers.CharField(source="pricing_model")
    base_price = serializers.DecimalField(max_digits=18, decimal_places=6)
    k = serializers.DecimalField(max_digits=18, decimal_places=6)
    window_seconds = serializers.IntegerField()
    max_price = serializers.DecimalField(max_digits=18, decimal_places=6)
    free_calls_per_month = serializers.IntegerField()
    purchase_price = serializers.DecimalField(max_digits=18, decimal_places=6, allow_null=True)


class VersionSummarySerializer(serializers.Serializer):
    version = serializers.CharField()
    status = serializers.CharField()
    task = serializers.CharField()
    framework = serializers.CharField()
    hardware = serializers.CharField()
    created_at = serializers.DateTimeField()


class AppOutputSerializer(serializers.ModelSerializer):
    """One app. The view passes `prices` ({id: Decimal}) in the context for a page, to keep queries constant."""

    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)
    rating = serializers.DecimalField(max_digits=3, decimal_places=2, read_only=True)
    runs = serializers.IntegerField(source="runs_count", read_only=True)
    pricing = serializers.SerializerMethodField()
    price = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    icon = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    latest_version = serializers.SerializerMethodField()

    class Meta:
        model = App
        fields = [
            "slug", "name", "tagline", "description", "category", "category_name", "owner", "status",
            "status_reason", "rating", "reviews_count", "runs", "pricing", "price", "currency", "tags", "icon",
            "url", "latest_version", "created_at", "updated_at", "published_at", "retention_days",
        ]
        read_only_fields = fields

    @extend_schema_field(PricingOutputSerializer)
    def get_pricing(self, app: App) -> dict:
        return PricingOutputSerializer(app).data

    @extend_schema_field(serializers.DecimalField(max_digits=18, decimal_places=6))
    def get_price(self, app: App) -> str:
        prices = self.context.get("prices") or {}
        price = prices[app.pk] if app.pk in prices else app_current_price(app=app)
        return f"{price:.6f}"

    def get_currency(self, app: App) -> str:
        return settings.CURRENCY

    @extend_schema_field(serializers.ListField(child=serializers.SlugField()))
    def get_tags(self, app: App) -> list[str]:
        return [tag.slug for tag in app.tags.all()]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_icon(self, app: App) -> str | None:
        return self._absolute(app.icon.url) if app.icon else None

    @extend_schema_field(serializers.URLField())
    def get_url(self, app: App) -> str:
        return self._absolute(app.get_absolute_url())

    @extend_schema_field(VersionSummarySerializer(allow_null=True))
    def get_latest_version(self, app: App) -> dict | None:
        version = app_latest_version(app=app)
        return VersionSummarySerializer(version).data if version else None

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class AcquireOutputSerializer(serializers.Serializer):
    app = serializers.SlugField(source="app.slug")
    source = serializers.CharField()
    acquired_at = serializers.DateTimeField()


class ReviewOutputSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.display_name", read_only=True)

    class Meta:
        model = Review
        fields = ["id", "user", "rating", "text", "developer_reply", "replied_at", "created_at", "updated_at"]
        read_only_fields = fields
