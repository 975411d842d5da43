"""Reads for billing: balances, spending, the books' checks, the economics report and the wallet statement.

Money figures are sums over ledger entries (or, for spending, over Charge rows, which are the admission
records), except a user's wallet: its running balance and held amount are stored on the Wallet row and
`ledger_check` proves them equal to the entries and the open charges. Demand n, which prices count, is in
services/pricing.py with the prices.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Case, CharField, Count, Max, Min, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Cast, Concat, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiKey, User
from marketplace.models import App

from .ledger import kind_balance, money, platform_balance
from .models import (
    ZERO,
    AccountKind,
    Charge,
    ChargeStatus,
    Entry,
    OrgWallet,
    Payout,
    Transaction,
    TransactionKind,
    Wallet,
)

UserRef = User | int  # a user or their id: the wallet figures need only the id


def month_start(now: dt.datetime | None = None) -> dt.datetime:
    now = timezone.localtime(now or timezone.now())
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _wallet_figures(user: UserRef) -> tuple[Decimal, Decimal]:
    row = Wallet.objects.filter(user_id=getattr(user, "pk", user)).values_list("balance", "held").first()
    return (money(row[0]), money(row[1])) if row else (ZERO, ZERO)


def user_balance(*, user: UserRef) -> Decimal:
    """The user's available wallet balance (credits minus debits minus holds), from the running balance."""
    balance, held = _wallet_figures(user)
    return money(balance - held)


def user_held(*, user: UserRef) -> Decimal:
    """What is held for the user's open calls."""
    return _wallet_figures(user)[1]


def developer_earnings(*, user: UserRef) -> Decimal:
    """Accrued earnings not yet paid out."""
    return kind_balance(AccountKind.EARNINGS, user)


def user_monthly_budget(*, user: User) -> Decimal | None:
    return Wallet.objects.filter(user=user).values_list("monthly_budget", flat=True).first()


def _live_charges() -> QuerySet[Charge]:
    return Charge.objects.filter(status__in=[ChargeStatus.HELD, ChargeStatus.SETTLED])


def user_spent_this_month(*, user: User, now: dt.datetime | None = None) -> Decimal:
    """Held plus settled charges since the first of the month: what the budget is measured against."""
    total = (_live_charges().filter(user=user, org__isnull=True, created_at__gte=month_start(now))
             .aggregate(s=Sum("price"))["s"])
    return money(total or ZERO)


def api_key_spent_this_month(*, api_key: ApiKey, now: dt.datetime | None = None) -> Decimal:
    total = _live_charges().filter(api_key=api_key, created_at__gte=month_start(now)).aggregate(s=Sum("price"))["s"]
    return money(total or ZERO)


def free_calls_used(*, user: User, app: App, now: dt.datetime | None = None) -> int:
    return Charge.objects.filter(user=user, app=app, free_tier=True, created_at__gte=month_start(now)).exclude(
        status=ChargeStatus.RELEASED).count()


def user_ledger(*, user: User) -> QuerySet[Entry]:
    """The user's own lines: their wallet and holds (amounts signed from the user's side)."""
    return (Entry.objects.filter(account__user=user, account__kind__in=[AccountKind.WALLET, AccountKind.HOLDS])
            .select_related("transaction", "account").order_by("-transaction__created_at", "-id"))


def user_facing_amount(entry: Entry) -> Decimal:
    """Credit-normal accounts: a credit (negative entry) is money in for the user."""
    return money(-entry.amount)


def wallet_of(*, user: User) -> Wallet | None:
    """The user's billing settings row; None until a service first needs one."""
    return Wallet.objects.filter(user=user).first()


def payouts_of(*, user: User) -> QuerySet[Payout]:
    return Payout.objects.filter(developer=user)


# --- Checks -------------------------------------------------------------------------------------

@dataclass
class LedgerReport:
    transactions: int
    entries: int
    total: Decimal
    problems: list[str] = field(default_factory=list)
    balances: dict[str, Decimal] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def ledger_check() -> LedgerReport:
    """Proof that the books balance: per transaction, overall, and no negative user-side balance."""
    problems: list[str] = []
    # Exact on PostgreSQL; SQLite sums decimals as floats, so anything below half a micro-unit is zero.
    noise = Decimal("0.0000005")
    unbalanced = (Transaction.objects.annotate(total=Sum("entries__amount"), n=Count("entries"))
                  .filter(Q(n=0) | Q(total__gt=noise) | Q(total__lt=-noise)).values_list("pk", "total")[:50])
    for pk, total in unbalanced:
        problems.append(f"transaction {pk} does not balance (sum {total})")
    total = money(Entry.objects.aggregate(s=Sum("amount"))["s"] or ZERO)
    if total != 0:
        problems.append(f"the sum of all entries is {total}, not 0")
    per_account = (Entry.objects.values("account_id", "account__kind", "account__user_id")
                   .annotate(s=Sum("amount")))
    from .models import CREDIT_NORMAL

    for row in per_account:
        balance = money(-row["s"] if row["account__kind"] in CREDIT_NORMAL else row["s"])
        if balance < 0:
            problems.append(f"account {row['account_id']} ({row['account__kind']}, user {row['account__user_id']}) "
                            f"is negative: {balance}")
    problems += _wallet_problems()
    balances = {kind: platform_balance(kind) for kind in AccountKind.values}
    return LedgerReport(transactions=Transaction.objects.count(), entries=Entry.objects.count(), total=money(total),
                        problems=problems, balances=balances)


def _wallet_problems() -> list[str]:
    """Each wallet's running balance equals its entries, `held` equals its open charges, none is negative."""
    problems: list[str] = []
    by_entries: defaultdict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in (Entry.objects.filter(account__kind=AccountKind.WALLET, account__org__isnull=True)
                .values("account__user_id").annotate(s=Sum("amount")).order_by()):
        by_entries[row["account__user_id"]] = money(-(row["s"] or ZERO))
    by_charges: defaultdict[int, Decimal] = defaultdict(lambda: ZERO)
    for held_row in (Charge.objects.filter(status=ChargeStatus.HELD, org__isnull=True).values("user_id")
                     .annotate(s=Sum("price")).order_by()):
        by_charges[held_row["user_id"]] = money(held_row["s"] or ZERO)
    wallets = {row[0]: (money(row[1]), money(row[2]))
               for row in Wallet.objects.values_list("user_id", "balance", "held")}
    for user_id in set(wallets) | set(by_entries) | set(by_charges):
        balance, held = wallets.get(user_id, (ZERO, ZERO))
        if balance != by_entries[user_id]:
            problems.append(f"wallet of user {user_id}: running balance {balance}, entries say {by_entries[user_id]}")
        if held != by_charges[user_id]:
            problems.append(f"wallet of user {user_id}: held {held}, open charges say {by_charges[user_id]}")
        if held < 0 or balance - held < 0:
            problems.append(f"wallet of user {user_id}: held {held} of balance {balance}")
    problems += _org_wallet_problems()
    stray = (Entry.objects.filter(account__kind=AccountKind.HOLDS).values("account__user_id")
             .annotate(s=Sum("amount")).exclude(s=0).order_by())
    for row in stray:
        problems.append(f"holds account of user {row['account__user_id']} is {row['s']}, expected 0")
    return problems


def _org_wallet_problems() -> list[str]:
    """The same checks for organisations' wallets (issue 14): entries, open charges, never negative."""
    problems: list[str] = []
    by_entries: defaultdict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in (Entry.objects.filter(account__kind=AccountKind.WALLET, account__org__isnull=False)
                .values("account__org_id").annotate(s=Sum("amount")).order_by()):
        by_entries[row["account__org_id"]] = money(-(row["s"] or ZERO))
    by_charges: defaultdict[int, Decimal] = defaultdict(lambda: ZERO)
    for held_row in (Charge.objects.filter(status=ChargeStatus.HELD, org__isnull=False).values("org_id")
                     .annotate(s=Sum("price")).order_by()):
        by_charges[held_row["org_id"]] = money(held_row["s"] or ZERO)
    wallets = {row[0]: (money(row[1]), money(row[2]))
               for row in OrgWallet.objects.values_list("org_id", "balance", "held")}
    for org_id in set(wallets) | set(by_entries) | set(by_charges):
        balance, held = wallets.get(org_id, (ZERO, ZERO))
        if balance != by_entries[org_id]:
            problems.append(f"wallet of org {org_id}: running balance {balance}, entries say {by_entries[org_id]}")
        if held != by_charges[org_id]:
            problems.append(f"wallet of org {org_id}: held {held}, open charges say {by_charges[org_id]}")
        if held < 0 or balance - held < 0:
            problems.append(f"wallet of org {org_id}: held {held} of balance {balance}")
    return problems


def org_balance(*, org: object) -> tuple[Decimal, Decimal]:
    """(available, held) of an organisation's wallet."""
    row = OrgWallet.objects.filter(org_id=getattr(org, "pk", org)).values_list("balance", "held").first()
    balance, held = (money(row[0]), money(row[1])) if row else (ZERO, ZERO)
    return money(balance - held), held


def org_earnings(*, org: object) -> Decimal:
    """The org's apps' accrued developer share (issue 14)."""
    total = Entry.objects.filter(account__org_id=getattr(org, "pk", org), account__kind=AccountKind.EARNINGS).aggregate(
        s=Sum("amount"))["s"]
    return money(-(total or ZERO))


def org_spent_this_month(*, org: object, user: object = None, now: dt.datetime | None = None) -> Decimal:
    """Held plus settled charges on the org's wallet since the first of the month (one member's, given `user`)."""
    charges = _live_charges().filter(org_id=getattr(org, "pk", org), created_at__gte=month_start(now))
    if user is not None:
        charges = charges.filter(user_id=getattr(user, "pk", user))
    return money(charges.aggregate(s=Sum("price"))["s"] or ZERO)


def org_wallet_of(*, org: object) -> OrgWallet | None:
    """The org's wallet row (budget, Connect account); None until a service first needs one."""
    return OrgWallet.objects.filter(org_id=getattr(org, "pk", org)).first()


def org_payouts(*, org: object) -> QuerySet[Payout]:
    return Payout.objects.filter(org_id=getattr(org, "pk", org))
def org_spent_this_month_by_member(*, org: object, now: dt.datetime | None = None) -> dict[int, Decimal]:
    """`org_spent_this_month` for every member at once: {user id: amount}; members who spent nothing are absent."""
    rows = (_live_charges().filter(org_id=getattr(org, "pk", org), created_at__gte=month_start(now))
            .values("user_id").annotate(s=Sum("price")).values_list("user_id", "s"))
    return {user_id: money(total or ZERO) for user_id, total in rows}


def org_ledger(*, org: object) -> QuerySet[Entry]:
    """The org wallet's lines, newest first."""
    return (Entry.objects.filter(account__org_id=getattr(org, "pk", org), account__kind=AccountKind.WALLET)
            .select_related("transaction", "account").order_by("-transaction__created_at", "-id"))


# --- Economics ------------------------------------------------------------------------------------

@dataclass
class EconomicsRow:
    day: dt.date | None
    app_id: int | None
    app_name: str
    calls: int = 0
    revenue: Decimal = ZERO
    cost: Decimal = ZERO
    developer_share: Decimal = ZERO
    platform_fee: Decimal = ZERO

    @property
    def profit(self) -> Decimal:
        """P = R − C."""
        return money(self.revenue - self.cost)

    @property
    def platform_net(self) -> Decimal:
        return money(self.platform_fee - self.cost)


def economics(*, start: dt.date | None = None, end: dt.date | None = None,
              app_ids: Iterable[int] | None = None) -> list[EconomicsRow]:
    """R, C, developer share and platform fee per app and day, from ledger entries alone.

    R is what users paid for the app (its developer share plus the platform fee, net of refunds);
    C is the booked inference cost.
    """
    entries = Entry.objects.filter(transaction__app__isnull=False, account__kind__in=[
        AccountKind.EARNINGS, AccountKind.PLATFORM_FEES, AccountKind.INFERENCE_COST])
    if start:
        entries = entries.filter(transaction__created_at__date__gte=start)
    if end:
        entries = entries.filter(transaction__created_at__date__lte=end)
    if app_ids is not None:
        entries = entries.filter(transaction__app_id__in=list(app_ids))
    rows: dict[tuple[dt.date | None, int | None], EconomicsRow] = {}
    grouped = (entries.annotate(day=TruncDate("transaction__created_at"))
               .values("day", "transaction__app_id", "transaction__app__name", "account__kind")
               .annotate(s=Sum("amount")))
    for item in grouped:
        key = (item["day"], item["transaction__app_id"])
        row = rows.setdefault(key, EconomicsRow(day=item["day"], app_id=item["transaction__app_id"],
                                                app_name=item["transaction__app__name"]))
        amount = money(item["s"] or ZERO)
        if item["account__kind"] == AccountKind.EARNINGS:
            row.developer_share += -amount
        elif item["account__kind"] == AccountKind.PLATFORM_FEES:
            row.platform_fee += -amount
        else:
            row.cost += amount
    calls = (Transaction.objects.filter(kind=TransactionKind.SETTLE, app__isnull=False)
             .annotate(day=TruncDate("created_at")).values("day", "app_id").annotate(n=Count("id")))
    if app_ids is not None:
        calls = calls.filter(app_id__in=list(app_ids))
    for call in calls:
        counted = rows.get((call["day"], call["app_id"]))
        if counted:
            counted.calls = call["n"]
    for row in rows.values():
        row.revenue = money(row.developer_share + row.platform_fee)
    return sorted(rows.values(), key=lambda r: (r.day or dt.date.min, r.app_name), reverse=True)


def economics_totals(rows: list[EconomicsRow]) -> EconomicsRow:
    total = EconomicsRow(day=None, app_id=None, app_name="")
    for row in rows:
        total.calls += row.calls
        total.revenue += row.revenue
        total.cost += row.cost
        total.developer_share += row.developer_share
        total.platform_fee += row.platform_fee
    return total


def economics_by_day(rows: list[EconomicsRow]) -> list[EconomicsRow]:
    by_day: dict[dt.date | None, EconomicsRow] = {}
    for row in rows:
        day = by_day.setdefault(row.day, EconomicsRow(day=row.day, app_id=None, app_name=""))
        day.calls += row.calls
        day.revenue += row.revenue
        day.cost += row.cost
        day.developer_share += row.developer_share
        day.platform_fee += row.platform_fee
    return sorted(by_day.values(), key=lambda r: r.day or dt.date.min)


def developer_app_stats(*, user: User, days: int = 30) -> dict[str, Any]:
    """Calls, revenue and earnings per app and day for the developer console's charts."""
    apps = list(App.objects.filter(owner=user).order_by("name"))
    since = timezone.localdate() - dt.timedelta(days=days - 1)
    rows = economics(start=since, app_ids=[a.pk for a in apps])
    calls = (Charge.objects.filter(app__in=apps, created_at__date__gte=since).exclude(status=ChargeStatus.RELEASED)
             .annotate(day=TruncDate("created_at")).values("app_id", "day").annotate(n=Count("id")))
    series: dict[int | None, dict[dt.date | None, dict[str, Any]]] = {a.pk: {} for a in apps}
    for item in calls:
        series[item["app_id"]].setdefault(item["day"], {"calls": 0, "revenue": ZERO, "earnings": ZERO})
        series[item["app_id"]][item["day"]]["calls"] = item["n"]
    for row in rows:
        point = series[row.app_id].setdefault(row.day, {"calls": 0, "revenue": ZERO, "earnings": ZERO})
        point["revenue"] = row.revenue
        point["earnings"] = row.developer_share
    return {"apps": apps, "since": since, "days": days, "series": series}


def owner_allowance_left(*, app: App, now: dt.datetime | None = None) -> Decimal:
    """How much of this month's cost C the platform still covers for the owner's own calls of `app`."""
    allowance = app.owner_allowance
    if allowance is None:
        allowance = settings.BILLING_OWNER_MONTHLY_ALLOWANCE
    used = (Charge.objects.filter(user_id=app.owner_id, app=app, created_at__gte=month_start(now))
            .aggregate(total=Sum("cost"))["total"]) or Decimal("0")
    return max(Decimal("0"), allowance - used)


@dataclass
class StatementLine:
    """One line of a user's wallet statement: one per call (its hold, charge and release netted), else one per
    transaction (top-up, grant, purchase, refund)."""

    at: dt.datetime
    kind: str
    label: str
    amount: Decimal
    memo: str = ""
    app_name: str = ""
    prediction_id: str = ""
    pending: Decimal = ZERO  # still on hold (the call is running)


def user_statement_groups(*, user: User) -> QuerySet[Any, Any]:
    """Grouped rows (a per-call key or a transaction id) with the net amount, newest first: what is paginated."""
    group = Case(
        When(transaction__prediction_id="", then=Concat(Value("t:"), Cast("transaction_id", CharField()))),
        default=Concat(Value("p:"), "transaction__prediction_id"), output_field=CharField())
    return (Entry.objects.filter(account__user=user, account__kind__in=[AccountKind.WALLET, AccountKind.HOLDS])
            .annotate(group=group).values("group")
            .annotate(net=Sum("amount"), held=Sum("amount", filter=Q(account__kind=AccountKind.HOLDS)),
                      at=Max("transaction__created_at"), first=Min("transaction_id"))
            .order_by("-at", "-first"))


def user_running_calls(*, user: User) -> list[StatementLine]:
    """Calls still running, with the price on hold: holds are not ledger postings, so they come from charges.

    A failed or canceled call moved no money, so it has no line at all.
    """
    held = (Charge.objects.filter(user=user, status=ChargeStatus.HELD, price__gt=0)
            .select_related("app").order_by("-created_at"))
    return [StatementLine(at=charge.created_at, kind="call", label=str(_("Call")), amount=ZERO,
                          app_name=charge.app.name if charge.app else "",
                          prediction_id=charge.subject.removeprefix("prediction:"), pending=money(charge.price))
            for charge in held]


def user_statement_lines(*, groups: Iterable[dict[str, Any]]) -> list[StatementLine]:
    """Turn a page of `user_statement_groups` into readable lines (a constant number of queries)."""
    firsts = Transaction.objects.in_bulk([row["first"] for row in groups])
    apps = {t.pk: t.app for t in Transaction.objects.filter(pk__in=firsts).select_related("app")}
    call_keys = [row["group"][2:] for row in groups if row["group"].startswith("p:")]
    settled = set(Transaction.objects.filter(prediction_id__in=call_keys, kind=TransactionKind.SETTLE)
                  .values_list("prediction_id", flat=True))
    lines = []
    for row in groups:
        first = firsts[row["first"]]
        app = apps.get(first.pk)
        amount = money(-(row["net"] or ZERO))  # credit-normal accounts: a credit is money in for the user
        if row["group"].startswith("p:"):
            prediction_id = row["group"][2:]
            held = money(-(row["held"] or ZERO))  # what still sits in holds for this call
            lines.append(StatementLine(
                at=row["at"], kind="call", label=str(_("Call")), amount=amount, app_name=app.name if app else "",
                prediction_id=prediction_id, pending=held if held > 0 and prediction_id not in settled else ZERO))
        else:
            lines.append(StatementLine(at=row["at"], kind=first.kind, label=first.get_kind_display(), amount=amount,
                                       memo=first.memo, app_name=app.name if app else ""))
    return lines
