"""Developer payouts: Stripe Connect onboarding, and accrued earnings sent as transfers.

Earnings move into a pending Payout in one transaction; the transfer is sent afterwards, outside any
transaction, with the payout's idempotency key (a retried send is one transfer); Stripe's refusal gives the
earnings back. Connect accounts are re-read from Stripe (events may come late or out of order) before anything
is locked.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .. import selectors
from ..ledger import account_get, book, floor_to_minor, to_minor_units, wallet_lock
from ..models import AccountKind, Payout, PayoutStatus, TransactionKind, Wallet
from . import pricing
from .stripe_api import stripe_client, stripe_configured

if TYPE_CHECKING:
    from stripe import Account as StripeAccount


# --- Connect onboarding ---------------------------------------------------------------------------------

def connect_account_apply(account: StripeAccount) -> None:
    """Record what Stripe says of a Connect account now: can it receive payouts."""
    Wallet.objects.filter(stripe_account_id=account.id).update(payouts_enabled=bool(account.payouts_enabled))


def connect_account_sync(*, account_id: str) -> None:
    """Re-read the Connect account from Stripe: events may come late or out of order."""
    connect_account_apply(stripe_client().v1.accounts.retrieve(account_id))


def connect_onboarding_link(*, user: User, return_url: str, refresh_url: str) -> str:
    """Create (once) the developer's Express account and an onboarding link to it.

    The account is created outside any transaction; its idempotency key makes two concurrent first clicks
    one account, and the wallet keeps the first id it is given.
    """
    client = stripe_client()
    account_id = Wallet.objects.filter(user=user).values_list("stripe_account_id", flat=True).first()
    if not account_id:
        account = client.v1.accounts.create(
            params={"type": "express", "email": user.email, "metadata": {"user_id": str(user.pk)},
                    "capabilities": {"transfers": {"requested": True}}},
            options={"idempotency_key": f"connect-account-{user.pk}"})
        with transaction.atomic():
            wallet = wallet_lock(user)
            if not wallet.stripe_account_id:
                wallet.stripe_account_id = account.id
                wallet.save(update_fields=["stripe_account_id"])
            account_id = wallet.stripe_account_id
    link = client.v1.account_links.create(params={"account": account_id, "type": "account_onboarding",
                                                  "return_url": return_url, "refresh_url": refresh_url})
    return link.url


# --- Payouts ---------------------------------------------------------------------------------------------------

@transaction.atomic
def payout_create(*, developer: User) -> Payout | None:
    """Move accrued earnings (whole cents, above the threshold) into a pending payout."""
    wallet = wallet_lock(developer)
    if not wallet.stripe_account_id or not wallet.payouts_enabled:
        return None
    amount = floor_to_minor(selectors.developer_earnings(user=developer))
    if amount <= 0 or amount < settings.BILLING_PAYOUT_THRESHOLD:
        return None
    payout = Payout.objects.create(developer=developer, amount=amount, currency=pricing.currency(),
                                   destination=wallet.stripe_account_id)
    book(kind=TransactionKind.PAYOUT, key=f"payout:{payout.pk}", user=developer, memo=_("Payout"),
         lines=[(account_get(AccountKind.EARNINGS, developer), amount),
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
    """Stripe refused the transfer: give the earnings back to the developer's balance."""
    payout = Payout.objects.select_for_update().get(pk=payout_id)
    if payout.status != PayoutStatus.PENDING:
        return payout
    book(kind=TransactionKind.PAYOUT_REVERSAL, key=f"payout-fail:{payout.pk}", user=payout.developer,
         memo=_("Payout failed"), lines=[(account_get(AccountKind.STRIPE_PAYOUTS), payout.amount),
                                         (account_get(AccountKind.EARNINGS, payout.developer_id), -payout.amount)])
    payout.status = PayoutStatus.FAILED
    payout.error = error[:500]
    payout.completed_at = timezone.now()
    payout.save(update_fields=["status", "error", "completed_at"])
    return payout


def payouts_run() -> list[Payout]:
    """The scheduled job: create payouts above the threshold, then send every pending one."""
    if not stripe_configured():
        return []
    for wallet in Wallet.objects.filter(payouts_enabled=True).exclude(stripe_account_id="").select_related("user"):
        payout_create(developer=wallet.user)
    return [payout_send(payout_id=pk) for pk in
            Payout.objects.filter(status=PayoutStatus.PENDING).values_list("pk", flat=True)]
