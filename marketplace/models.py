"""Apps, their versions, reviews and who has them."""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from config.storage import private_storage


class Category(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class AppStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    REJECTED = "rejected", _("Rejected")
    SUSPENDED = "suspended", _("Suspended")


class PricingModel(models.TextChoices):
    FREE = "free", _("Free")
    PER_CALL = "per_call", _("Per call")


class AppQuerySet(models.QuerySet):
    """The one place that decides who may see which app."""

    def published(self) -> "AppQuerySet":
        return self.filter(status=AppStatus.PUBLISHED)

    def runnable(self) -> "AppQuerySet":
        """Apps with a version that passed validation: the only ones the store lists."""
        ready = AppVersion.objects.filter(app=models.OuterRef("pk"), status=VersionStatus.READY)
        return self.filter(models.Exists(ready))

    def visible_to(self, user) -> "AppQuerySet":
        if user is None or not user.is_authenticated:
            return self.published()
        if user.is_moderator:
            return self.filter(Q(status__in=[s for s in AppStatus.values if s != AppStatus.DRAFT]) | _managed(user))
        return self.filter(Q(status=AppStatus.PUBLISHED) | _managed(user))

    def owned_by(self, user) -> "AppQuerySet":
        return self.filter(owner=user)

    def managed_by(self, user) -> "AppQuerySet":
        """Apps `user` may manage in the console: their own, and their orgs' where their role may publish."""
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(_managed(user))


def _managed(user) -> Q:
    """Owned by `user`, or an app of an org where `user`'s role has `apps.publish` (accounts/org_permissions.py)."""
    from accounts import org_permissions

    return Q(owner=user) | Q(org__in=org_permissions.orgs_where(user, org_permissions.APPS_PUBLISH).values("pk"))


MONEY = {"max_digits": 18, "decimal_places": 6}


class App(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="apps")
    # An organisation's app (issue 14): its earnings go to the org's earnings account, not the owner's.
    org = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                            related_name="apps")
    slug = models.SlugField(unique=True, max_length=80)
    name = models.CharField(_("name"), max_length=80)
    tagline = models.CharField(_("tagline"), max_length=140)
    description = models.TextField(_("description"), blank=True, help_text=_("Markdown."))
    icon = models.ImageField(_("icon"), upload_to="icons/", blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="apps")
    tags = models.ManyToManyField(Tag, blank=True, related_name="apps")
    status = models.CharField(max_length=20, choices=AppStatus.choices, default=AppStatus.DRAFT, db_index=True)
    status_reason = models.TextField(_("reason"), blank=True)
    featured = models.BooleanField(default=False)

    pricing_model = models.CharField(max_length=20, choices=PricingModel.choices, default=PricingModel.FREE)
    base_price = models.DecimalField(default=Decimal("0"), validators=[MinValueValidator(0)], **MONEY)
    k = models.DecimalField(default=Decimal("0"), validators=[MinValueValidator(0)], **MONEY)
    window_seconds = models.PositiveIntegerField(default=3600)
    max_price = models.DecimalField(default=Decimal("0"), validators=[MinValueValidator(0)], **MONEY)
    free_calls_per_month = models.PositiveIntegerField(default=0)
    purchase_price = models.DecimalField(null=True, blank=True, validators=[MinValueValidator(0)], **MONEY)
    # A pricing change to a published app waits here until a moderator approves it (`app_review`).
    pending_pricing = models.JSONField(null=True, blank=True)
    # The owner's own calls are metered at cost C; this much cost per month is on the platform (set by
    # moderators; empty means settings.BILLING_OWNER_MONTHLY_ALLOWANCE).
    owner_allowance = models.DecimalField(_("owner allowance per month"), null=True, blank=True,
                                          validators=[MinValueValidator(0)], **MONEY)

    # Data protection: inputs and outputs of this app's predictions are erased this long after completion
    # (privacy.tasks.retention_purge); prices, metrics and the ledger stay.
    retention_days = models.PositiveSmallIntegerField(
        _("retention (days)"), default=30, validators=[MaxValueValidator(365)],
        help_text=_("Inputs and outputs of predictions are erased this many days after they finish (0-365)."))

    runs_count = models.PositiveBigIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    reviews_count = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = AppQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("app")
        verbose_name_plural = _("apps")
        indexes = [models.Index(fields=["status", "-runs_count"]), models.Index(fields=["status", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(rating_sum__lte=models.F("reviews_count") * 5), name="rating_in_range"),
        ]
        permissions = [("review_app", _("Can approve, reject and suspend apps"))]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("marketplace:app_detail", kwargs={"slug": self.slug})

    def is_managed_by(self, user) -> bool:
        """`user` may manage this app (edit, add versions, submit, see usage): its owner, or for an org's app a
        member whose role may publish (`apps.publish`). The row-level twin of `App.objects.managed_by`."""
        if user is None or not user.is_authenticated:
            return False
        if self.owner_id == user.pk:
            return True
        if self.org_id is None:
            return False
        from accounts import org_permissions

        return org_permissions.org_can(user, self.org, org_permissions.APPS_PUBLISH)

    @property
    def rating(self) -> Decimal:
        """The mean star rating, derived from exact integer counters."""
        if not self.reviews_count:
            return Decimal("0.00")
        return (Decimal(self.rating_sum) / Decimal(self.reviews_count)).quantize(Decimal("0.01"))


class AppReviewQueue(App):
    """The moderators' queue in the admin: the same rows as App, listed apart so the queue has its own page."""

    class Meta:
        proxy = True
        verbose_name = _("app awaiting review")
        verbose_name_plural = _("apps awaiting review")


class VersionStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    VALIDATING = "validating", _("Validating")
    READY = "ready", _("Ready")
    INVALID = "invalid", _("Invalid")


class Task(models.TextChoices):
    TEXT_CLASSIFICATION = "text-classification", _("Text classification")
    FEATURE_EXTRACTION = "feature-extraction", _("Feature extraction")
    TEXT_GENERATION = "text-generation", _("Text generation")
    IMAGE_CLASSIFICATION = "image-classification", _("Image classification")
    # {answer, reference} -> {score, grade}: a sentence encoder and calibrated thresholds (inference/grading.py).
    ANSWER_GRADING = "answer-grading", _("Answer grading")


class Framework(models.TextChoices):
    TRANSFORMERS = "transformers", _("Transformers")
    KERAS = "keras", _("Keras")


class Hardware(models.TextChoices):
    CPU = "cpu", _("CPU")
    GPU = "gpu", _("GPU")


def artifact_upload_to(instance: "AppVersion", filename: str) -> str:
    return f"artifacts/{instance.app_id}/{instance.version}/{filename}"


class AppVersion(models.Model):
    """A released model of an app. Artifacts live in the private storage, never under /media/."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(_("version"), max_length=40)
    changelog = models.TextField(_("changelog"), blank=True)
    status = models.CharField(max_length=20, choices=VersionStatus.choices, default=VersionStatus.UPLOADED)
    error = models.TextField(blank=True)

    task = models.CharField(max_length=40, choices=Task.choices, default=Task.TEXT_CLASSIFICATION)
    framework = models.CharField(max_length=20, choices=Framework.choices, default=Framework.TRANSFORMERS)
    hardware = models.CharField(max_length=10, choices=Hardware.choices, default=Hardware.CPU)
    artifact = models.FileField(storage=private_storage, upload_to=artifact_upload_to, blank=True, max_length=300)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    input_schema = models.JSONField(default=dict, blank=True)
    output_schema = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    model_card = models.JSONField(default=dict, blank=True)
    # The model card a buyer reads (marketplace/model_cards.py): filled by fine-tuning, edited by the owner.
    base_model = models.CharField(_("base model"), max_length=200, blank=True)
    training_data = models.TextField(_("training data"), max_length=4000, blank=True)
    evaluation_metrics = models.JSONField(_("evaluation metrics"), default=dict, blank=True)
    intended_use = models.TextField(_("intended use"), max_length=4000, blank=True)
    limitations = models.TextField(_("limitations"), max_length=4000, blank=True)
    license = models.CharField(_("licence"), max_length=100, blank=True)

    max_batch_size = models.PositiveSmallIntegerField(default=32, validators=[MinValueValidator(1),
                                                                             MaxValueValidator(256)])
    max_wait_ms = models.PositiveIntegerField(default=10, validators=[MaxValueValidator(1000)])
    soft_time_limit = models.PositiveIntegerField(default=60)
    time_limit = models.PositiveIntegerField(default=90)
    # A version added to a published app runs for its owner only until a moderator approves it.
    held_for_review = models.BooleanField(default=False)

    created_at = models.DateTimeField(auto_now_add=True)
    validated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["app", "version"], name="unique_app_version")]
        verbose_name = _("app version")
        verbose_name_plural = _("app versions")

    def __str__(self) -> str:
        return f"{self.app.slug}@{self.version}"


class Review(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews")
    rating = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    text = models.TextField(_("review"), blank=True, max_length=5000)
    developer_reply = models.TextField(_("developer reply"), blank=True, max_length=5000)
    replied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["app", "user"], name="one_review_per_user"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="rating_1_to_5"),
        ]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")

    def __str__(self) -> str:
        return f"{self.user} → {self.app}: {self.rating}"


class LibrarySource(models.TextChoices):
    FREE = "free", _("Free")
    PURCHASE = "purchase", _("Purchase")
    OWNER = "owner", _("Owner")
    GRANT = "grant", _("Grant")


class LibraryEntry(models.Model):
    """A user has the app: they may run and review it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="library")
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="library_entries")
    source = models.CharField(max_length=20, choices=LibrarySource.choices, default=LibrarySource.FREE)
    acquired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-acquired_at"]
        constraints = [models.UniqueConstraint(fields=["user", "app"], name="one_library_entry")]
        verbose_name_plural = _("library entries")
        verbose_name = _("library entry")

    def __str__(self) -> str:
        return f"{self.user} has {self.app}"
