"""People, their API keys and their on-site notifications."""
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

MODERATORS_GROUP = "Moderators"


class DisplayCurrency(models.TextChoices):
    """Currencies prices can be shown in (approximately; billing/currency.py). The ledger keeps one currency."""

    USD = "usd", _("US dollar (USD)")
    CNY = "cny", _("Chinese yuan (CNY)")
    EUR = "eur", _("Euro (EUR)")


class UserQuerySet(models.QuerySet):
    def moderators(self) -> "UserQuerySet":
        return self.filter(models.Q(is_superuser=True) | models.Q(groups__name=MODERATORS_GROUP)).distinct()


class AccountManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """Logged in by email from the first migration on; `username` is the public handle."""

    email = models.EmailField(_("email address"), unique=True)
    is_developer = models.BooleanField(_("developer"), default=False)
    # Prices are shown in this currency too (empty: by language, accounts/preferences.py).
    display_currency = models.CharField(_("display currency"), max_length=3, blank=True,
                                        choices=DisplayCurrency.choices)
    developer_terms_accepted_at = models.DateTimeField(null=True, blank=True)
    bio = models.TextField(_("bio"), blank=True, max_length=4000)
    website = models.URLField(_("website"), blank=True)
    # Set when the account was deleted (privacy app): personal data erased, the row kept for the ledger.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["username"]

    objects = AccountManager()
    # The moderator flag once looked up (or annotated by the API key lookup); None means "ask the database".
    _is_moderator: bool | None

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.username or self.email

    @property
    def display_name(self) -> str:
        """The public handle, or "deleted user" once the account was deleted."""
        return str(_("deleted user")) if self.deleted_at else self.username

    @property
    def is_moderator(self) -> bool:
        if self.is_superuser:
            return True
        cached = getattr(self, "_is_moderator", None)
        if cached is None:
            cached = self.groups.filter(name=MODERATORS_GROUP).exists()
            self._is_moderator = cached
        return cached


class ApiKeyScope(models.TextChoices):
    READ = "read", _("Read")
    PREDICT = "predict", _("Predict")
    PUBLISH = "publish", _("Publish")
    # Moderator actions over the API (credit grants); only moderators' keys may carry it.
    MODERATE = "moderate", _("Moderate")


class ApiKeyQuerySet(models.QuerySet):
    def active(self) -> "ApiKeyQuerySet":
        return self.filter(revoked_at__isnull=True)


RATE_PATTERN = r"^[1-9][0-9]{0,8}/(s|sec|m|min|h|hour|d|day)$"


def validate_rate(value: str) -> None:
    """A DRF throttle rate such as `1200/min` (requests per second, minute, hour or day)."""
    import re

    from django.core.exceptions import ValidationError

    if value and not re.match(RATE_PATTERN, value):
        raise ValidationError(_("Write a rate such as 1200/min (per s, min, hour or day)."))


class ApiKey(models.Model):
    """Only a SHA-256 of the secret is stored; the full key is shown once, at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    # An org key (issue 14): calls made with it are admitted against and charged to the org's wallet.
    org = models.ForeignKey("Organisation", on_delete=models.CASCADE, null=True, blank=True, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    spend_cap = models.DecimalField(
        _("spend cap"), max_digits=18, decimal_places=6, null=True, blank=True,
        help_text=_("The most this key may spend per calendar month. Empty means no cap."),
    )
    rate_limit = models.CharField(
        _("rate limit"), max_length=20, blank=True, validators=[validate_rate],
        help_text=_("Requests per period for this key, e.g. 1200/min. Empty means the platform default."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} (mm_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Notification(models.Model):
    """An on-site notification; `dedupe_key` makes repeated events notify once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=50)
    message = models.CharField(max_length=500)
    # The English message with %(name)s placeholders and its parameters: translated when shown, in the reader's
    # language (`message` keeps the text as first rendered, for emails and older rows).
    template = models.CharField(max_length=500, blank=True)
    params = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=500, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "dedupe_key"], name="notification_once_per_key"),
        ]
        indexes = [models.Index(fields=["user", "read_at"])]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return self.message

    @property
    def text(self) -> str:
        """The message in the active language (from `template` + `params`), else the stored text."""
        if self.template:
            from django.utils.translation import gettext

            try:
                return gettext(self.template) % (self.params or {})
            except (KeyError, TypeError, ValueError):
                return self.message
        return self.message


class AuditLog(models.Model):
    """Who did what to which object, when and why. Written by moderation services only."""

    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="audit_entries")
    action = models.CharField(max_length=50)
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=300, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["target_type", "target_id"])]
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target_repr}"


# --- Organisations (issue 14): shared apps, keys and a wallet. Who may do what: accounts/org_permissions.py ---

class OrgRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    DEVELOPER = "developer", _("Developer")
    BILLING = "billing", _("Billing")
    MEMBER = "member", _("Member")


class OrganisationQuerySet(models.QuerySet):
    def visible_to(self, user) -> "OrganisationQuerySet":
        """The organisations `user` is a member of (anyone else's answers 404)."""
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Organisation(models.Model):
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    org = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="org_memberships")
    role = models.CharField(_("role"), max_length=20, choices=OrgRole.choices, default=OrgRole.MEMBER)
    spend_cap = models.DecimalField(
        _("spend cap"), max_digits=18, decimal_places=6, null=True, blank=True,
        help_text=_("The most this member may spend of the org's wallet per calendar month. Empty means no cap."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["org", "user"], name="one_membership_per_org_user")]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} · {self.org} ({self.get_role_display()})"


class Invitation(models.Model):
    """An emailed link to join an org; the token is secret, accepted once by the invited email's account."""

    org = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=20, choices=OrgRole.choices, default=OrgRole.MEMBER)
    token = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"{self.email} → {self.org}"
