"""Payouts: Stripe Connect onboarding, and accrued earnings sent as transfers, to developers and to organisations
(the earnings of the apps an org owns go to the org's own Connect account).

Earnings move into a pending Payout in one transaction; the transfer is sent afterwards, outside any
transaction, with the payout's idempotency key (a retried send is one transfer); Stripe's refusal gives the
earnings back. Connect accounts are re-read from Stripe (events may come late or out of order) before anything
is locked.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import org_permissions
from accounts.models import Organisation, User
from config.errors import PermissionDenied

from .. import selectors
from ..ledger import account_get, book, floor_to_minor, org_account_get, org_wallet_lock, to_minor_units, wallet_lock
from ..models import Account, AccountKind, OrgWallet, Payout, PayoutStatus, TransactionKind, Wallet
from . import pricing
from .stripe_api import stripe_client, stripe_configured

if TYPE_CHECKING:
    from stripe import Account as StripeAccount

UserRef = User | int | None  # a user or their pk
OrgRef = Organisation | int | None  # an organisation or its pk


# --- Connect onboarding ---------------------------------------------------------------------------------

def connect_account_apply(account: StripeAccount) -> None:
    """Record what Stripe says of a Connect account now: can it receive payouts (a developer's or an org's)."""
    enabled = bool(account.payouts_enabled)
    Wallet.objects.filter(stripe_account_id=account.id).update(payouts_enabled=enabled)
    OrgWallet.objects.filter(stripe_account_id=account.id).update(payouts_enabled=enabled)


def connect_account_sync(*, account_id: str) -> None:
    """Re-read the Connect account from Stripe: events may come late or out of order."""
    connect_account_apply(stripe_client().v1.accounts.retrieve(account_id))


def connect_onboarding_link(*, user: User, return_url: str, refresh_url: str,
                            org: Organisation | None = None) -> str:
    """Create (once) the payee's Express account and an onboarding link to it: the developer's own, or with `org`
    the organisation's (roles with `payouts.manage`; others `PermissionDenied`), where its apps' earnings go.

    The account is created outside any transaction; its idempotency key makes two concurrent first clicks
    one account, and the wallet keeps the first id it is given.
    """
    if org is not None and not org_permissions.org_can(user, org, org_permissions.PAYOUTS_MANAGE):
        raise PermissionDenied(_("Your role in this organisation does not allow this."))
    client = stripe_client()
    account_id = _payee_wallets(developer=None if org else user, org=org).values_list(
        "stripe_account_id", flat=True).first()
    if not account_id:
        owner = {"org_id": str(org.pk)} if org else {"user_id": str(user.pk)}
        account = client.v1.accounts.create(
            params={"type": "express", "email": user.email, "metadata": owner,
                    "capabilities": {"transfers": {"requested": True}}},
            options={"idempotency_key": f"connect-account-org-{org.pk}" if org else f"connect-account-{user.pk}"})
        with transaction.atomic():
            wallet = _payee_lock(developer=None if org else user, org=org)
            if not wallet.stripe_account_id:
                wallet.stripe_account_id = account.id
                wallet.save(update_fields=["stripe_account_id"])
            account_id = wallet.stripe_account_id
    link = client.v1.account_links.create(params={"account": account_id, "type": "account_onboarding",
                                                  "return_url": return_url, "refresh_url": refresh_url})
    return link.url


# --- Payouts ---------------------------------------------------------------------------------------------------
# A payee is a developer (their earnings account and Wallet row) or an organisation (the earnings of the apps it
# owns, and its OrgWallet row): the same create / send / fail path serves both.

def _payee_wallets(*, developer: UserRef, org: OrgRef) -> QuerySet[Any]:
    if org is not None:
        return OrgWallet.objects.filter(org_id=getattr(org, "pk", org))
    if developer is None:
        raise ValueError("A payee is a developer or an org")
    return Wallet.objects.filter(user_id=getattr(developer, "pk", developer))


def _payee_lock(*, developer: UserRef, org: OrgRef) -> Wallet | OrgWallet:
    """The payee's wallet row, locked: payouts of one payee are serialised on it."""
    return org_wallet_lock(org) if org is not None else wallet_lock(developer)


def _earnings_account(*, developer: UserRef, org: OrgRef) -> Account:
    return org_account_get(AccountKind.EARNINGS, org) if org is not None else account_get(AccountKind.EARNINGS,
                                                                                           developer)


@transaction.atomic
def payout_create(*, developer: User | None = None, org: Organisation | None = None) -> Payout | None:
    """Move a payee's accrued earnings (whole cents, above the threshold) into a pending payout: a developer's,
    or with `org` an organisation's (the earnings of the apps it owns)."""
    if (developer is None) == (org is None):
        raise ValueError("payout_create takes a developer or an org")
    wallet = _payee_lock(developer=developer, org=org)
    if not wallet.stripe_account_id or not wallet.payouts_enabled:
        return None
    if org is not None:
        earned = selectors.org_earnings(org=org)
    else:
        assert developer is not None
        earned = selectors.developer_earnings(user=developer)
    amount = floor_to_minor(earned)
    if amount <= 0 or amount < settings.BILLING_PAYOUT_THRESHOLD:
        return None
    payout = Payout.objects.create(developer=developer, org=org, amount=amount, currency=pricing.currency(),
                                   destination=wallet.stripe_account_id)
    book(kind=TransactionKind.PAYOUT, key=f"payout:{payout.pk}", user=developer,
         memo=_("Payout to %(org)s") % {"org": org.name} if org is not None else _("Payout"),
         lines=[(_earnings_account(developer=developer, org=org), amount),
                (account_get(AccountKind.STRIPE_PAYOUTS), -amount)])
    return payout


def payout_send(*, payout_id: int) -> Payout:
    """Transfer a pending payout; the idempotency key makes a retried send one transfer."""
    import stripe

    payout = Payout.objects.get(pk=payout_id)
    if payout.status != PayoutStatus.PENDING:
        return payout
    try:
        transfer = stripe_client().v1.transfers.create(
            params={"amount": to_minor_units(payout.amount, payout.currency), "currency": payout.currency,
                    "destination": payout.destination, "transfer_group": payout.transfer_group,
                    "metadata": {"payout_id": str(payout.pk)}},
            options={"idempotency_key": f"payout-{payout.pk}"})
    except (stripe.InvalidRequestError, stripe.PermissionError) as exc:
        return payout_fail(payout_id=payout.pk, error=str(exc))
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout.pk)
        if payout.status == PayoutStatus.PENDING:
            payout.status = PayoutStatus.PAID
            payout.transfer_id = transfer.id
            payout.completed_at = timezone.now()
            payout.save(update_fields=["status", "transfer_id", "completed_at"])
    return payout


@transaction.atomic
def payout_fail(*, payout_id: int, error: str) -> Payout:
    """Stripe refused the transfer: give the earnings back to the payee's balance (the developer's or the org's)."""
    payout = Payout.objects.select_for_update().get(pk=payout_id)
    if payout.status != PayoutStatus.PENDING:
        return payout
    earnings = _earnings_account(developer=payout.developer_id, org=payout.org_id)
    book(kind=TransactionKind.PAYOUT_REVERSAL, key=f"payout-fail:{payout.pk}", user=payout.developer,
         memo=_("Payout failed"), lines=[(account_get(AccountKind.STRIPE_PAYOUTS), payout.amount),
                                         (earnings, -payout.amount)])
    payout.status = PayoutStatus.FAILED
    payout.error = error[:500]
    payout.completed_at = timezone.now()
    payout.save(update_fields=["status", "error", "completed_at"])
    return payout


def payouts_run() -> list[Payout]:
    """The scheduled job: create payouts above the threshold (developers', then organisations'), then send every
    pending one."""
    if not stripe_configured():
        return []
    for wallet in Wallet.objects.filter(payouts_enabled=True).exclude(stripe_account_id="").select_related("user"):
        payout_create(developer=wallet.user)
    for org_wallet in (OrgWallet.objects.filter(payouts_enabled=True).exclude(stripe_account_id="")
                       .select_related("org")):
        payout_create(org=org_wallet.org)
    return [payout_send(payout_id=pk) for pk in
            Payout.objects.filter(status=PayoutStatus.PENDING).values_list("pk", flat=True)]
