"""Ledger primitives: accounts, balanced bookings, balances, and the per-user lock row.

Kept apart from `services.py` so that every writer (admission, Stripe, payouts, grants) books
through one function that enforces the double-entry rule.
"""
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum

from config.metrics import record_ledger_posting

from .models import CREDIT_NORMAL, ZERO, Account, AccountKind, Entry, OrgWallet, Transaction, Wallet

SIX = Decimal("0.000001")
# ISO 4217 exponents that differ from 2 (Stripe's zero-decimal currencies we might meet).
ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "pyg", "ugx", "xaf", "xof", "isk"}


def money(value) -> Decimal:
    """Six decimal places, half-up: the platform's unit of account."""
    return Decimal(value).quantize(SIX, rounding=ROUND_HALF_UP)


def currency() -> str:
    return settings.CURRENCY


def to_minor_units(amount: Decimal, currency_code: str | None = None, *, rounding=ROUND_HALF_UP) -> int:
    """Stripe wants integers in the currency's minor unit; round once, here."""
    exponent = 0 if (currency_code or currency()).lower() in ZERO_DECIMAL else 2
    return int((Decimal(amount) * (10 ** exponent)).quantize(Decimal("1"), rounding=rounding))


def from_minor_units(value: int, currency_code: str | None = None) -> Decimal:
    exponent = 0 if (currency_code or currency()).lower() in ZERO_DECIMAL else 2
    return money(Decimal(int(value)) / (10 ** exponent))


def floor_to_minor(amount: Decimal, currency_code: str | None = None) -> Decimal:
    """What can actually be paid out: never round a payout up."""
    return from_minor_units(to_minor_units(amount, currency_code, rounding=ROUND_DOWN), currency_code)


def account_get(kind: str, user=None) -> Account:
    user_id = getattr(user, "pk", user)
    lookup = {"user_id": user_id} if user_id is not None else {"user__isnull": True}
    for _attempt in range(3):
        account = Account.objects.filter(kind=kind, **lookup).first()
        if account:
            return account
        try:
            with transaction.atomic():
                return Account.objects.create(kind=kind, user_id=user_id)
        except IntegrityError:
            continue
    return Account.objects.get(kind=kind, **lookup)


def org_account_get(kind: str, org) -> Account:
    """An organisation's ledger account (its wallet), created on first use."""
    org_id = getattr(org, "pk", org)
    for _attempt in range(3):
        account = Account.objects.filter(kind=kind, org_id=org_id).first()
        if account:
            return account
        try:
            with transaction.atomic():
                return Account.objects.create(kind=kind, org_id=org_id)
        except IntegrityError:
            continue
    return Account.objects.get(kind=kind, org_id=org_id)


def earnings_account_of(app) -> Account:
    """Where a developer share of `app` is booked: the org's earnings for an app an org owns, else its owner's
    (the same rule as `services.orgs.earner_key`, which settlement uses)."""
    if getattr(app, "org_id", None):
        return org_account_get(AccountKind.EARNINGS, app.org_id)
    return account_get(AccountKind.EARNINGS, app.owner_id)


def earner_lock(app) -> None:
    """Lock the row that serialises changes to `app`'s earnings (payouts take the same): the org's wallet for an
    org's app, else the owner's wallet."""
    if getattr(app, "org_id", None):
        org_wallet_lock(app.org_id)
    else:
        wallet_lock(app.owner_id)


def org_wallet_lock(org) -> OrgWallet:
    """The org's wallet row, locked FOR UPDATE: every change to the org's money is serialised on it."""
    org_id = getattr(org, "pk", org)
    wallet = OrgWallet.objects.select_for_update().filter(org_id=org_id).first()
    if wallet is not None:
        return wallet
    try:
        with transaction.atomic():
            OrgWallet.objects.create(org_id=org_id)
    except IntegrityError:
        pass
    return OrgWallet.objects.select_for_update().get(org_id=org_id)


def wallet_lock(user) -> Wallet:
    """The user's Wallet row, locked FOR UPDATE: every change to their money is serialised on it."""
    user_id = getattr(user, "pk", user)
    wallet = Wallet.objects.select_for_update().filter(user_id=user_id).first()
    if wallet is not None:
        return wallet
    try:
        with transaction.atomic():
            Wallet.objects.create(user_id=user_id)
    except IntegrityError:
        pass
    return Wallet.objects.select_for_update().get(user_id=user_id)


def accounts_get(*pairs: tuple[str, object]) -> list[Account]:
    """Several accounts in one query (creating any that are missing), in the order asked."""
    wanted = [(kind, getattr(user, "pk", user)) for kind, user in pairs]
    condition = Q()
    for kind, user_id in wanted:
        condition |= Q(kind=kind, user_id=user_id) if user_id is not None else Q(kind=kind, user__isnull=True)
    found = {(a.kind, a.user_id): a for a in Account.objects.filter(condition)}
    return [found.get(key) or account_get(*key) for key in wanted]


def book(*, kind: str, key: str, lines: list[tuple[Account, Decimal]], memo: str = "", user=None, app=None,
         prediction_id: str = "", created_by=None, reverses: Transaction | None = None) -> Transaction | None:
    """Book one balanced transaction; None when `key` was already booked (idempotent)."""
    lines = [(account, money(amount)) for account, amount in lines if money(amount) != ZERO]
    if sum((amount for _account, amount in lines), ZERO) != ZERO:
        raise ValueError(f"Unbalanced transaction {key}: {lines}")
    try:
        with transaction.atomic():
            txn = Transaction.objects.create(
                kind=kind, idempotency_key=key, memo=memo[:300], user=user, app=app,
                prediction_id=prediction_id, created_by=created_by, reverses=reverses,
            )
            Entry.objects.bulk_create([Entry(transaction=txn, account=account, amount=amount)
                                       for account, amount in lines])
            wallet_postings_apply(lines)
    except IntegrityError:
        return None
    transaction.on_commit(lambda: record_ledger_posting(kind=kind))
    return txn


def wallet_postings_apply(lines) -> None:
    """Keep each wallet's running balance in step with postings to its wallet account (same transaction).

    Called right after the entries are written; a wallet row that does not exist yet is created with the
    balance read from the ledger, which then already holds these entries.
    """
    changes: dict[int, Decimal] = {}
    for account, amount in lines:
        if account.kind == AccountKind.WALLET and account.user_id is not None:
            changes[account.user_id] = changes.get(account.user_id, ZERO) - amount  # credit-normal
    org_changes: dict[int, Decimal] = {}
    for account, amount in lines:
        if account.kind == AccountKind.WALLET and account.org_id is not None:
            org_changes[account.org_id] = org_changes.get(account.org_id, ZERO) - amount
    for org_id, change in org_changes.items():
        if not OrgWallet.objects.filter(org_id=org_id).update(balance=F("balance") + change):
            org_wallet_lock(org_id)  # created at zero, then moved: org wallets start before their first entry
            OrgWallet.objects.filter(org_id=org_id).update(balance=F("balance") + change)
    for user_id, change in changes.items():
        if Wallet.objects.filter(user_id=user_id).update(balance=F("balance") + change):
            continue
        total = Entry.objects.filter(account__kind=AccountKind.WALLET, account__user_id=user_id).aggregate(
            s=Sum("amount"))["s"]
        try:
            with transaction.atomic():
                Wallet.objects.create(user_id=user_id, balance=normal_balance(AccountKind.WALLET, total))
        except IntegrityError:  # created concurrently: it did not see our entries yet
            Wallet.objects.filter(user_id=user_id).update(balance=F("balance") + change)


def normal_balance(kind: str, entries_total: Decimal | None) -> Decimal:
    """A sum of signed entries, shown on the account kind's normal side (credit-normal kinds flip sign)."""
    total = entries_total or ZERO
    return money(-total if kind in CREDIT_NORMAL else total)


def account_balance(account: Account | None) -> Decimal:
    """The balance on the account's normal side: a sum of its entries, nothing stored."""
    if account is None:
        return ZERO
    return normal_balance(account.kind, Entry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"])


def kind_balance(kind: str, user=None) -> Decimal:
    user_id = getattr(user, "pk", user)
    return normal_balance(kind, Entry.objects.filter(account__kind=kind, account__user_id=user_id).aggregate(
        total=Sum("amount"))["total"])


def platform_balance(kind: str) -> Decimal:
    """Sum over every account of a kind (e.g. all wallets together)."""
    return normal_balance(kind, Entry.objects.filter(account__kind=kind).aggregate(total=Sum("amount"))["total"])


__all__ = [
    "AccountKind", "account_balance", "account_get", "book", "earner_lock", "earnings_account_of", "floor_to_minor",
    "from_minor_units",
    "kind_balance", "money", "normal_balance", "org_account_get", "org_wallet_lock", "platform_balance",
    "to_minor_units", "wallet_lock",
]
