"""Billing in the Django admin: read-only books, refunds, credit grants and the economics report."""
import datetime as dt

from django.contrib import admin, messages
from django.db.models import Sum
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError
from config.web_errors import error_messages

from . import charts, selectors, services
from .currency import currency_rate_set, money_text_in, rate_is_stale
from .forms import CreditGrantForm
from .models import (
    Account,
    Charge,
    ChargeStatus,
    CreditGrant,
    CurrencyRate,
    EconomicsReport,
    Entry,
    Payout,
    StripeEvent,
    TopUp,
    TopUpStatus,
    Transaction,
    Wallet,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger is append-only: nothing here is added, changed or deleted by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EntryInline(admin.TabularInline):
    model = Entry
    extra = 0
    can_delete = False
    readonly_fields = ["account", "amount"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "kind", "user", "app", "memo", "created_by"]
    list_filter = ["kind", "created_at"]
    search_fields = ["memo", "user__email", "prediction_id", "idempotency_key"]
    inlines = [EntryInline]
    list_select_related = ["user", "app", "created_by"]


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "user", "balance"]
    list_filter = ["kind"]
    search_fields = ["user__email"]

    list_select_related = ["user"]

    def get_queryset(self, request):
        """Sum every row's entries in the list query itself, not one query per row."""
        return super().get_queryset(request).annotate(entries_total=Sum("entries__amount"))

    @admin.display(description=_("balance"))
    def balance(self, obj):
        from .ledger import normal_balance

        return normal_balance(obj.kind, obj.entries_total)


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    list_display = ["subject", "created_at", "user", "app", "price", "free_tier", "status", "cost"]
    list_select_related = ["user", "app"]  # app is nullable, so Django's automatic join skips it
    list_filter = ["status", "free_tier"]
    search_fields = ["subject", "user__email"]
    actions = ["refund"]

    @admin.action(description=_("Refund the selected calls to their users"))
    def refund(self, request, queryset):
        self._refund(request, queryset.filter(status=ChargeStatus.SETTLED),
                     lambda charge: services.charge_refund(charge=charge, actor=request.user))

    def _refund(self, request, queryset, refund):
        done = 0
        for obj in queryset:
            try:
                refund(obj)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{obj}: {' '.join(error_messages(exc))}", messages.ERROR)
        if done:
            self.message_user(request, _("%(n)d refunded; the ledger entries were reversed.") % {"n": done},
                              messages.SUCCESS)

    def has_change_permission(self, request, obj=None):
        # Needed for the admin action; every field stays read-only.
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(TopUp)
class TopUpAdmin(ChargeAdmin):
    list_display = ["id", "created_at", "user", "org", "amount", "currency", "status", "session_id"]
    list_select_related = ["user", "org"]
    list_filter = ["status"]
    search_fields = ["user__email", "org__slug", "session_id", "payment_intent"]
    actions = ["refund_topups"]

    @admin.action(description=_("Refund the selected top-ups (through Stripe)"))
    def refund_topups(self, request, queryset):
        self._refund(request, queryset.filter(status=TopUpStatus.PAID),
                     lambda topup: services.topup_refund(topup=topup, actor=request.user))


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "developer", "org", "amount", "currency", "status", "transfer_id",
                    "destination"]
    list_select_related = ["developer", "org"]
    list_filter = ["status"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "status", "received_at", "processed_at"]
    list_filter = ["status", "type"]
    search_fields = ["event_id", "type", "error"]


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = ["user", "monthly_budget", "stripe_account_id", "payouts_enabled"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "stripe_account_id", "payouts_enabled"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        services.wallet_set_budget(user=obj.user, monthly_budget=obj.monthly_budget)


@admin.register(CreditGrant)
class CreditGrantAdmin(admin.ModelAdmin):
    """Moderators grant credits here; the service books the ledger transaction and the audit entry."""

    form = CreditGrantForm
    list_display = ["created_at", "user", "amount", "memo", "granted_by"]
    list_select_related = ["user", "granted_by"]
    search_fields = ["user__email", "memo"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_moderator

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_moderator

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_moderator

    def save_model(self, request, obj, form, change):
        grant = services.credit_grant(user=obj.user, amount=obj.amount, memo=obj.memo, granted_by=request.user)
        obj.pk, obj.granted_by, obj.transaction, obj.created_at = grant.pk, grant.granted_by, grant.transaction, \
            grant.created_at


@admin.register(EconomicsReport)
class EconomicsReportAdmin(ReadOnlyAdmin):
    """Revenue R, inference cost C, developer share, platform fee and P = R − C per app and day."""

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and (
            request.user.is_superuser or request.user.has_perm("billing.view_transaction"))

    has_module_permission = has_view_permission

    def changelist_view(self, request, extra_context=None):
        today = timezone.localdate()
        try:
            days = max(1, min(366, int(request.GET.get("days", 30))))
        except ValueError:
            days = 30
        start = today - dt.timedelta(days=days - 1)
        rows = selectors.economics(start=start, end=today)
        by_day = {row.day: row for row in selectors.economics_by_day(rows)}
        all_days = [start + dt.timedelta(days=i) for i in range(days)]

        def values(attr):
            return [getattr(by_day[d], attr) if d in by_day else selectors.ZERO for d in all_days]

        chart = charts.line_chart(all_days, [
            (str(_("Revenue R")), "#5b4cf0", values("revenue")),
            (str(_("Inference cost C")), "#ef4444", values("cost")),
            (str(_("Profit P = R − C")), "#16a34a", [r - c for r, c in zip(values("revenue"), values("cost"),
                                                                             strict=True)]),
        ], label=str(_("Economics per day")))
        check = selectors.ledger_check()
        context = {
            **self.admin_site.each_context(request), "title": _("Economics report"), "rows": rows,
            "totals": selectors.economics_totals(rows), "chart": chart, "days": days, "start": start, "end": today,
            "check": check, "all_time": selectors.economics_totals(selectors.economics()),
            "opts": self.model._meta, **(extra_context or {}),
        }
        return TemplateResponse(request, "billing/admin/economics.html", context)


@admin.register(CurrencyRate)
class CurrencyRateAdmin(admin.ModelAdmin):
    """The display-currency rate table moderators keep (billing/currency.py): shown prices only, never charges."""

    list_display = ["code", "per_settlement_unit", "example", "updated_at", "stale"]
    list_editable = ["per_settlement_unit"]
    fields = ["code", "per_settlement_unit", "updated_at"]
    readonly_fields = ["updated_at"]

    def _moderator(self, request) -> bool:
        return request.user.is_active and request.user.is_moderator

    def has_module_permission(self, request):
        return self._moderator(request)

    def has_view_permission(self, request, obj=None):
        return self._moderator(request)

    def has_add_permission(self, request):
        return self._moderator(request)

    def has_change_permission(self, request, obj=None):
        return self._moderator(request)

    def has_delete_permission(self, request, obj=None):
        return self._moderator(request)

    @admin.display(description=_("1 unit of the settlement currency shows as"))
    def example(self, obj: CurrencyRate) -> str:
        return money_text_in(amount=obj.per_settlement_unit, currency=obj.code)

    @admin.display(description=_("stale"), boolean=True)
    def stale(self, obj: CurrencyRate) -> bool:
        return rate_is_stale(rate=obj)

    def save_model(self, request, obj, form, change):
        saved = currency_rate_set(code=obj.code, per_settlement_unit=obj.per_settlement_unit)
        obj.pk, obj.updated_at = saved.pk, saved.updated_at
