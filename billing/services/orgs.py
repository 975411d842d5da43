"""Organisations' wallets (issue 14): moderator grants to an org, the org's monthly budget. Admission against an
org wallet is in `admission` (the payer of a call made with an org key is the org's wallet)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts import org_permissions
from accounts.models import ApiKey, Membership, Organisation, User
from accounts.services import audit_log_record
from config.errors import PermissionDenied

from .. import selectors
from ..ledger import account_get, accounts_get, book, money, org_account_get, org_wallet_lock
from ..models import Account, AccountKind, Charge, CreditGrant, OrgWallet, TransactionKind, Wallet
from .pricing import refuse
from .wallet import invalid, parse_amount


@transaction.atomic
def org_credit_grant(*, org: Organisation, amount: object, memo: str, granted_by: User | None) -> CreditGrant:
    """Moderators credit an organisation's wallet; booked like a user's grant (promotions -> org wallet)."""
    value = parse_amount(amount)
    memo = (memo or "").strip()
    if not memo:
        raise invalid(_("Say why these credits are granted."), field="memo")
    org_wallet_lock(org)
    grant = CreditGrant.objects.create(org=org, amount=value, memo=memo[:300], granted_by=granted_by)
    grant.transaction = book(
        kind=TransactionKind.GRANT, key=f"grant:{grant.pk}", created_by=granted_by, memo=memo,
        lines=[(account_get(AccountKind.PROMOTIONS), value), (org_account_get(AccountKind.WALLET, org), -value)])
    grant.save(update_fields=["transaction"])
    if granted_by is not None:
        audit_log_record(actor=granted_by, action="billing.grant", target=org, reason=memo,
                         data={"amount": str(value), "grant": grant.pk})
    return grant


@transaction.atomic
def org_budget_set(*, actor: User, org: Organisation, monthly_budget: Decimal | None) -> OrgWallet:
    """The most the org's wallet may spend per calendar month (None: no budget); roles with `budget.set`.
    Admission (`org_hold`) refuses a call that would go over it with 402 `budget_exceeded`."""
    if not org_permissions.org_can(actor, org, org_permissions.BUDGET_SET):
        raise PermissionDenied(_("Your role in this organisation does not allow this."))
    if monthly_budget is not None:
        monthly_budget = money(monthly_budget)
        if monthly_budget < 0:
            raise invalid(_("The budget cannot be negative."), field="monthly_budget")
    wallet = org_wallet_lock(org)
    previous = wallet.monthly_budget
    wallet.monthly_budget = monthly_budget
    wallet.save(update_fields=["monthly_budget"])
    audit_log_record(actor=actor, action="billing.org_budget", target=org,
                     data={"from": None if previous is None else str(previous),
                           "to": None if monthly_budget is None else str(monthly_budget)})
    return wallet


# --- Admission against an org's wallet (calls made with an org key) -------------------------------------------

ORG_WALLET = "org_wallet"  # the payer key of an org's wallet account in settlement account maps
ORG_EARNINGS = "org_earnings"  # the earner key of an org's earnings account (the org's apps)
ORG_KINDS = {ORG_WALLET: AccountKind.WALLET, ORG_EARNINGS: AccountKind.EARNINGS}


def payer_key(charge: Charge) -> tuple[str, int | None]:
    """Who pays a charge: the org's wallet for calls made with an org key, else the user's wallet."""
    return (ORG_WALLET, charge.org_id) if charge.org_id else (AccountKind.WALLET, charge.user_id)


def earner_key(app: Any) -> tuple[str, int | None]:
    """Who earns a developer share: an org's app earns for the org, any other app for its owner."""
    return (ORG_EARNINGS, app.org_id) if app.org_id else (AccountKind.EARNINGS, app.owner_id)


def payer_rows(key: tuple[str, int | None]) -> QuerySet[Any]:
    """The wallet row (user's or org's) that a payer key names, for one UPDATE of `held` and `balance`."""
    kind, pk = key
    if kind == ORG_WALLET:
        return OrgWallet.objects.filter(org_id=pk)
    return Wallet.objects.filter(user_id=pk or 0)


def payer_accounts(pairs: Iterable[tuple[str, int | None]]) -> dict[tuple[str, int | None], Account]:
    """Ledger accounts for settlement pairs; org wallets by org, the rest as `ledger.accounts_get` does."""
    pairs = list(pairs)
    plain = [pair for pair in pairs if pair[0] not in ORG_KINDS]
    found = dict(zip(plain, accounts_get(*plain), strict=True)) if plain else {}
    for kind, pk in pairs:
        if kind in ORG_KINDS:
            found[(kind, pk)] = org_account_get(ORG_KINDS[kind], pk)
    return found


def org_hold(*, org_id: int, user: User, api_key: ApiKey, price: Decimal) -> None:
    """Admit a call made with an org key: the key's user must still be allowed to run on the org's wallet; a paid
    call holds `price` with ONE conditional UPDATE of the org's wallet row (available >= price, so concurrent
    calls never take it below zero), then the org's monthly budget, the member's cap and the key's cap are
    checked under that row lock. Raises 403 (no longer a member) or 402."""
    member = Membership.objects.filter(org_id=org_id, user_id=user.pk).values_list("role", "spend_cap").first()
    if member is None or not org_permissions.role_can(member[0], org_permissions.RUN):
        raise PermissionDenied(_("This API key's organisation no longer lets you run apps on its wallet."),
                               code="not_org_member")
    if price <= 0:
        return
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_orgwallet SET held = held + CAST(%s AS NUMERIC) "
                       "WHERE org_id = %s AND balance - held >= CAST(%s AS NUMERIC) RETURNING monthly_budget",
                       [str(price), org_id, str(price)])
        row = cursor.fetchone()
    if row is None:
        available = selectors.org_balance(org=org_id)[0]
        raise refuse(_("Insufficient funds: this call costs %(price)s and the organisation's balance is "
                       "%(balance)s.") % {"price": price, "balance": available}, code="insufficient_funds",
                     price=price, balance=available)
    caps: list[tuple[Decimal | None, Callable[[], Decimal], str, str]] = [
        (row[0], lambda: selectors.org_spent_this_month(org=org_id), "budget_exceeded",
         _("This call would exceed the organisation's monthly budget of %(cap)s.")),
        (member[1], lambda: selectors.org_spent_this_month(org=org_id, user=user.pk), "member_cap_reached",
         _("You reached your monthly spend cap of %(cap)s in this organisation.")),
        (api_key.spend_cap, lambda: selectors.api_key_spent_this_month(api_key=api_key), "spend_cap_reached",
         _("This API key reached its monthly spend cap of %(cap)s."))]
    for cap, spent_of, code, message in caps:
        if cap is not None:
            spent = spent_of()
            if spent + price > cap:
                raise refuse(message % {"cap": cap}, code=code, price=price, spend_cap=cap, spent_this_month=spent)
