"""The books: an append-only double-entry ledger, and the records that explain its transactions.

Every entry is signed: debits positive, credits negative, and each transaction's entries sum to
zero. A balance is the sum of an account's entries, read on the account's normal side (credit-normal
accounts such as wallets are shown as `-sum`). Wallets also keep that sum as a running balance (plus
what is held for open calls), updated with each posting and checked against the entries.
"""
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import DisplayCurrency

MONEY = {"max_digits": 18, "decimal_places": 6}
ZERO = Decimal("0.000000")


class AccountKind(models.TextChoices):
    WALLET = "wallet", _("User wallet")
    HOLDS = "holds", _("User holds")
    EARNINGS = "earnings", _("Developer earnings")
    PLATFORM_FEES = "platform_fees", _("Platform fees")
    INFERENCE_COST = "inference_cost", _("Inference cost")
    COMPUTE_PAYABLE = "compute_payable", _("Compute payable")
    STRIPE_CLEARING = "stripe_clearing", _("Stripe clearing")
    STRIPE_PAYOUTS = "stripe_payouts", _("Stripe payouts")
    PROMOTIONS = "promotions", _("Promotions and support credits")


# Accounts whose natural balance is a credit (what the platform owes or earned): shown as -sum.
CREDIT_NORMAL = {
    AccountKind.WALLET, AccountKind.HOLDS, AccountKind.EARNINGS, AccountKind.PLATFORM_FEES,
    AccountKind.COMPUTE_PAYABLE, AccountKind.STRIPE_PAYOUTS,
}
PER_USER = {AccountKind.WALLET, AccountKind.HOLDS, AccountKind.EARNINGS}


class Account(models.Model):
    """A ledger account; per-user kinds carry a user, platform kinds do not."""

    kind = models.CharField(max_length=30, choices=AccountKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="ledger_accounts")
    # An organisation's wallet (issue 14): org accounts carry an org and no user.
    org = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                            related_name="ledger_accounts")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "user"], name="one_account_per_kind_user"),
            models.UniqueConstraint(fields=["kind", "org"], name="one_account_per_kind_org"),
            models.UniqueConstraint(fields=["kind"], condition=Q(user__isnull=True, org__isnull=True),
                                    name="one_platform_account"),
            models.CheckConstraint(condition=Q(user__isnull=True) | Q(org__isnull=True),
                                   name="account_user_or_org"),
        ]
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")

    def __str__(self) -> str:
        if self.org_id:
            return f"{self.get_kind_display()} · {self.org}"
        return f"{self.get_kind_display()} · {self.user}" if self.user_id else self.get_kind_display()


class TransactionKind(models.TextChoices):
    TOPUP = "topup", _("Top-up")
    GRANT = "grant", _("Credit grant")
    HOLD = "hold", _("Hold")
    RELEASE = "release", _("Release")
    SETTLE = "settle", _("Charge")
    COST = "cost", _("Inference cost")
    PURCHASE = "purchase", _("App purchase")
    PAYOUT = "payout", _("Payout")
    PAYOUT_REVERSAL = "payout_reversal", _("Failed payout reversal")
    REFUND = "refund", _("Refund")


class Transaction(models.Model):
    """One balanced movement of money. `idempotency_key` makes each business event book once."""

    kind = models.CharField(max_length=30, choices=TransactionKind.choices, db_index=True)
    memo = models.CharField(_("memo"), max_length=300, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="ledger_transactions")
    app = models.ForeignKey("marketplace.App", on_delete=models.PROTECT, null=True, blank=True,
                            related_name="ledger_transactions")
    prediction_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="reversed_by")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["app", "created_at"])]
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.memo}".strip()


class Entry(models.Model):
    """A signed line of a transaction: debit > 0, credit < 0. Never updated or deleted."""

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "transaction"])]
        verbose_name_plural = _("entries")
        verbose_name = _("ledger entry")

    def __str__(self) -> str:
        return f"{self.account}: {self.amount}"


class Wallet(models.Model):
    """Per-user billing settings and running balances, and the row that serialises a user's money movements.

    `balance` is the wallet account's ledger balance, kept up to date by `ledger.book` in the same
    transaction as each posting (and checked against the entries by `check_ledger`); `held` is the sum
    of the user's open (held) charges. A paid call is admitted by one conditional UPDATE on this row
    (`held = held + price WHERE balance - held >= price`), so admission costs the same whatever the history.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallet")
    balance = models.DecimalField(_("balance"), default=ZERO, **MONEY)
    held = models.DecimalField(_("held"), default=ZERO, **MONEY)
    monthly_budget = models.DecimalField(_("monthly budget"), null=True, blank=True, **MONEY,
                                         help_text=_("The most you want to spend per calendar month."))
    stripe_account_id = models.CharField(max_length=100, blank=True)
    payouts_enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")

    def __str__(self) -> str:
        return str(self.user)

    @property
    def available(self) -> Decimal:
        return self.balance - self.held


class OrgWallet(models.Model):
    """An organisation's wallet (issue 14): like `Wallet`, the running balance of the org's wallet account and
    what is held for open calls made with the org's keys. Admission holds on it with one conditional UPDATE."""

    org = models.OneToOneField("accounts.Organisation", on_delete=models.CASCADE, related_name="wallet")
    balance = models.DecimalField(_("balance"), default=ZERO, **MONEY)
    held = models.DecimalField(_("held"), default=ZERO, **MONEY)
    monthly_budget = models.DecimalField(_("monthly budget"), null=True, blank=True, **MONEY)
    # The org's own Stripe Connect account: the earnings of the apps it owns are paid out there.
    stripe_account_id = models.CharField(max_length=100, blank=True)
    payouts_enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation wallet")
        verbose_name_plural = _("organisation wallets")

    def __str__(self) -> str:
        return str(self.org)

    @property
    def available(self) -> Decimal:
        return self.balance - self.held


class Quote(models.Model):
    """A price promised to one user for one call of one app, for a short while."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quotes")
    app = models.ForeignKey("marketplace.App", on_delete=models.CASCADE, related_name="quotes")
    price = models.DecimalField(**MONEY)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("price quote")
        verbose_name_plural = _("price quotes")

    def __str__(self) -> str:
        return f"{self.app} {self.price} until {self.expires_at:%H:%M:%S}"


class ChargeStatus(models.TextChoices):
    HELD = "held", _("Held")
    SETTLED = "settled", _("Settled")
    RELEASED = "released", _("Released")
    REFUNDED = "refunded", _("Refunded")


class Charge(models.Model):
    """One admitted call (prediction or training job): its price, hold and settlement.

    These rows are also the demand record that the dynamic price counts.
    """

    subject = models.CharField(max_length=80, unique=True, help_text="prediction:<id> or training:<id>")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="charges")
    app = models.ForeignKey("marketplace.App", on_delete=models.PROTECT, null=True, blank=True,
                            related_name="charges")
    api_key = models.ForeignKey("accounts.ApiKey", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="charges")
    # Set when an org key made the call: the org's wallet pays (issue 14); else the user's wallet does.
    org = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                            related_name="charges")
    price = models.DecimalField(**MONEY)
    free_tier = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=ChargeStatus.choices, default=ChargeStatus.HELD)
    hardware = models.CharField(max_length=10, blank=True)
    compute_seconds = models.DecimalField(null=True, blank=True, max_digits=18, decimal_places=6)
    cost = models.DecimalField(default=ZERO, **MONEY)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["app", "created_at"]),
            models.Index(fields=["user", "created_at"]),
            models.Index(fields=["api_key", "created_at"]),
        ]
        verbose_name = _("charge")
        verbose_name_plural = _("charges")

    def __str__(self) -> str:
        return f"{self.subject} {self.price} {self.status}"


class TopUpStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    REFUNDED = "refunded", _("Refunded")
    EXPIRED = "expired", _("Expired")


class CheckoutPayment(models.Model):
    """What a top-up and a purchase share: an amount paid once through Stripe Checkout (or, for a purchase, from
    the wallet), its session and payment intent, and the pending -> paid -> refunded | expired lifecycle."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="%(class)ss")
    amount = models.DecimalField(**MONEY)
    session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    payment_intent = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=TopUpStatus.choices, default=TopUpStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    # Set by checkout when a session is opened (not stored): where to send the payer.
    checkout_url: str = ""

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    currency: str  # a field on TopUp, the site's currency on Purchase

    def mark_paid(self, *, amount: Decimal, payment_intent: str = "") -> None:
        """Paid: the amount Stripe (or the wallet) took, when, and the payment intent refunds will name."""
        self.amount = amount
        self.status = TopUpStatus.PAID
        self.paid_at = timezone.now()
        self.payment_intent = payment_intent or ""
        self.save(update_fields=["amount", "status", "paid_at", "payment_intent"])


class TopUp(CheckoutPayment):
    """A wallet top-up paid through Stripe Checkout: `user` paid it; `org` set means the org's wallet is credited."""

    currency = models.CharField(max_length=3)  # type: ignore[assignment]
    org = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                            related_name="topups")

    class Meta(CheckoutPayment.Meta):
        verbose_name = _("top-up")

    def __str__(self) -> str:
        return f"{self.user} +{self.amount} {self.status}"


class Purchase(CheckoutPayment):
    """A one-time app purchase, paid by Stripe Checkout or from the wallet."""

    app = models.ForeignKey("marketplace.App", on_delete=models.PROTECT, related_name="purchases")

    class Meta(CheckoutPayment.Meta):
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")

    def __str__(self) -> str:
        return f"{self.user} bought {self.app}"

    @property  # type: ignore[override]
    def currency(self) -> str:
        return settings.CURRENCY


class PayoutStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")


class Payout(models.Model):
    """Accrued earnings sent to a Stripe Connect account: a developer's, or an organisation's (its apps' earnings)."""

    developer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="payouts")
    org = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                            related_name="payouts")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    destination = models.CharField(max_length=100)
    transfer_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=PayoutStatus.choices, default=PayoutStatus.PENDING)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(developer__isnull=True) ^ Q(org__isnull=True),
                                              name="payout_developer_or_org")]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")

    def __str__(self) -> str:
        return f"{self.developer or self.org} {self.amount} {self.status}"

    @property
    def transfer_group(self) -> str:
        return f"payout_{self.pk}"


class CreditGrant(models.Model):
    """Credits a moderator gave a user (support, promotions); booked as a ledger transaction."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="credit_grants")
    org = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                            related_name="credit_grants")
    amount = models.DecimalField(_("amount"), **MONEY)
    memo = models.CharField(_("memo"), max_length=300)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   related_name="credit_grants_given")
    transaction = models.OneToOneField(Transaction, on_delete=models.PROTECT, null=True, related_name="grant")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("credit grant")

    def __str__(self) -> str:
        return f"{self.amount} to {self.user or self.org}: {self.memo}"


class StripeEventStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    IGNORED = "ignored", _("Ignored")


class StripeEvent(models.Model):
    """Each Stripe event id stored once; processed in a task after commit, with its handler's status.

    received -> processing -> succeeded | failed (with the error; a retry processes it again) | ignored (a type
    or object we do not handle).
    """

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=20, choices=StripeEventStatus.choices, default=StripeEventStatus.RECEIVED,
                              db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class EconomicsReport(Transaction):
    """Admin-only proxy: the per-app, per-day economics report lives on its changelist."""

    class Meta:
        proxy = True
        verbose_name = _("economics report")
        verbose_name_plural = _("economics report")


class CurrencyRate(models.Model):
    """A display currency's rate, kept by moderators in the admin (billing/currency.py).

    Pages may show prices in it, marked approximate; the ledger, quotes and charges stay in the settlement
    currency (settings.CURRENCY). `per_settlement_unit`: what one settlement unit is worth in it.
    """

    code = models.CharField(_("currency"), max_length=3, unique=True, choices=DisplayCurrency.choices)
    per_settlement_unit = models.DecimalField(
        _("units per settlement unit"), max_digits=18, decimal_places=8,
        validators=[MinValueValidator(Decimal("0.00000001"))],
        help_text=_("How much one unit of the settlement currency is worth in this currency, e.g. 7.10 yuan."))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("currency rate")
        verbose_name_plural = _("currency rates")

    def __str__(self) -> str:
        return f"1 {settings.CURRENCY.upper()} = {self.per_settlement_unit} {self.code.upper()}"
