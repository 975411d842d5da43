"""The wallet: amounts, budgets and their alerts, credit grants, and refunds (ours, and those made on Stripe)."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import ApiKey, AuditLog, User
from accounts.services import audit_log_record, notification_send
from config.errors import InvalidInput, PermissionDenied
from config.money import parse_decimal_strict
from marketplace.models import App

from .. import selectors
from ..ledger import (
    account_balance,
    account_get,
    book,
    earner_lock,
    earnings_account_of,
    from_minor_units,
    money,
    org_account_get,
    org_wallet_lock,
    to_minor_units,
    wallet_lock,
)
from ..models import (
    CREDIT_NORMAL,
    ZERO,
    Account,
    AccountKind,
    Charge,
    ChargeStatus,
    CheckoutPayment,
    CreditGrant,
    Purchase,
    TopUp,
    TopUpStatus,
    Transaction,
    TransactionKind,
)
from . import pricing
from .stripe_api import expandable_id, stripe_call_in_transaction_allowed, stripe_client, stripe_configured

if TYPE_CHECKING:
    from stripe import Charge as StripeCharge

ALERT_THRESHOLDS = (50, 80, 100)
REFUND_SHORTFALL_ACTION = "billing.stripe_refund_shortfall"


def invalid(message: str, *, field: str = "") -> InvalidInput:
    """A 400 `invalid` error, on `field` when given (the API answers it as a ValidationError was)."""
    return InvalidInput(message, fields={field or "non_field_errors": [message]})


def parse_amount(value: object, *, field: str = "amount") -> Decimal:
    """A positive decimal with at most six places, or a field error."""
    try:
        amount = parse_decimal_strict(value)
    except ValueError:
        raise invalid(_("Enter an amount such as 10.00."), field=field) from None
    if not amount.is_finite() or amount <= 0:
        raise invalid(_("The amount must be greater than zero."), field=field)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        raise invalid(_("Use at most six decimal places."), field=field)
    if amount >= Decimal("1000000000"):
        raise invalid(_("The amount is too large."), field=field)
    return money(amount)


def topup_wallet_lock(topup: TopUp) -> Account:
    """Lock the wallet a top-up credits (the org's or the user's) and answer its ledger account.

    Wallet first, then the top-up row: completing and refunding take them in this order, so no deadlock."""
    if topup.org_id is not None:
        org_wallet_lock(topup.org_id)
        return org_account_get(AccountKind.WALLET, topup.org_id)
    wallet_lock(topup.user_id)
    return account_get(AccountKind.WALLET, topup.user_id)


# --- Budgets and their alerts ----------------------------------------------------------------------------

@transaction.atomic
def wallet_set_budget(*, user: User, monthly_budget: Decimal | None) -> None:
    if monthly_budget is not None:
        monthly_budget = money(monthly_budget)
        if monthly_budget < 0:
            raise invalid(_("The budget cannot be negative."), field="monthly_budget")
    wallet = wallet_lock(user)
    wallet.monthly_budget = monthly_budget
    wallet.save(update_fields=["monthly_budget"])


def _alert(*, user: User, scope: str, limit: Decimal, spent: Decimal, next_price: Decimal, label: str) -> None:
    """Alerts at 50/80/100% of a budget or cap; 100% also when the next call would not fit."""
    if not limit or limit <= 0:
        return
    month = selectors.month_start().strftime("%Y-%m")
    for pct in ALERT_THRESHOLDS:
        reached = spent >= limit * pct / 100 or (pct == 100 and spent + next_price > limit)
        if not reached:
            continue
        message = _("%(label)s: %(pct)s%% used (%(spent)s of %(limit)s %(currency)s this month).") % {
            "label": label, "pct": pct, "spent": spent, "limit": limit, "currency": pricing.currency().upper()}
        notification_send(user=user, kind="billing.budget", message=message, url=reverse("billing:wallet"),
                          dedupe_key=f"{scope}:{month}:{pct}", email_subject=message)


def spend_alerts(*, monthly_budget: Decimal | None, user: User, api_key: ApiKey | None, price: Decimal) -> None:
    """After a paid admission: tell the user how much of their budget and of the key's cap this month used."""
    if monthly_budget is not None:
        _alert(user=user, scope="budget", limit=monthly_budget, label=_("Monthly budget"),
               spent=selectors.user_spent_this_month(user=user), next_price=price)
    if api_key is not None and api_key.spend_cap is not None:
        _alert(user=user, scope=f"key{api_key.pk}", limit=api_key.spend_cap,
               label=_("API key “%(name)s”") % {"name": api_key.name},
               spent=selectors.api_key_spent_this_month(api_key=api_key), next_price=price)


# --- Grants -------------------------------------------------------------------------------------------------

@transaction.atomic
def credit_grant(*, user: User, amount: object, memo: str, granted_by: User | None) -> CreditGrant:
    """Moderators credit a wallet for support or promotions; the grant is a ledger transaction."""
    value = parse_amount(amount)
    memo = (memo or "").strip()
    if not memo:
        raise invalid(_("Say why these credits are granted."), field="memo")
    if granted_by is not None and granted_by.pk == user.pk:
        raise PermissionDenied(_("Moderators cannot grant credits to themselves."))
    wallet_lock(user)
    grant = CreditGrant.objects.create(user=user, amount=value, memo=memo[:300], granted_by=granted_by)
    grant.transaction = book(
        kind=TransactionKind.GRANT, key=f"grant:{grant.pk}", user=user, created_by=granted_by, memo=memo,
        lines=[(account_get(AccountKind.PROMOTIONS), value), (account_get(AccountKind.WALLET, user), -value)])
    grant.save(update_fields=["transaction"])
    if granted_by is not None:
        audit_log_record(actor=granted_by, action="billing.grant", target=user, reason=memo,
                         data={"amount": str(value), "grant": grant.pk})
    notification_send(user=user, kind="billing.grant", url=reverse("billing:wallet"),
                      template=gettext_noop("You received %(amount)s %(currency)s in credits: %(memo)s"),
                      params={"amount": str(value), "currency": pricing.currency().upper(), "memo": memo})
    return grant


# --- Refunds from our side (the admin) -------------------------------------------------------------------------

def _reverse(txn: Transaction, *, memo: str, actor: User | None,
             remap: dict[int, Account] | None = None) -> Transaction:
    """Book the exact opposite of `txn` once (reverses is one-to-one), refusing negative balances.

    `remap` swaps an account for another (a settled hold is refunded to the wallet, not to holds).
    """
    if Transaction.objects.filter(reverses=txn).exists():
        raise invalid(_("This transaction was already refunded."))
    remap = remap or {}
    lines = [(remap.get(entry.account_id, entry.account), -entry.amount)
             for entry in txn.entries.select_related("account")]
    for account, amount in lines:
        after = account_balance(account) + (-amount if account.kind in CREDIT_NORMAL else amount)
        if account.kind == AccountKind.WALLET and account.user_id is not None:
            after -= selectors.user_held(user=account.user_id)  # what open calls hold is not refundable
        elif account.kind == AccountKind.WALLET and account.org_id is not None:
            after -= selectors.org_balance(org=account.org_id)[1]  # an org's wallet: its holds likewise
        if after < 0:
            raise invalid(_("Cannot refund: %(account)s would go below zero (the money was already "
                            "spent or paid out).") % {"account": account})
    reversal = book(kind=TransactionKind.REFUND, key=f"refund:{txn.pk}", user=txn.user, app=txn.app,
                    prediction_id=txn.prediction_id, created_by=actor, reverses=txn, lines=lines,
                    memo=memo or _("Refund of #%(id)s") % {"id": txn.pk})
    if reversal is None:
        raise invalid(_("This transaction was already refunded."))
    return reversal


@transaction.atomic
def topup_refund(*, topup: TopUp, actor: User | None, memo: str = "") -> Transaction:
    """Give a top-up back through Stripe and reverse its ledger entries (only what is unspent).

    The one Stripe call made inside a transaction, on purpose: the reversal stands only if Stripe refunds (its
    idempotency key makes a retry one refund), and the wallet stays locked so the money cannot be spent meanwhile.
    """
    topup_wallet_lock(topup)  # the org's wallet for an org's top-up: the money goes back from there
    topup = TopUp.objects.select_for_update().get(pk=topup.pk)
    if topup.status != TopUpStatus.PAID:
        raise invalid(_("Only paid top-ups can be refunded."))
    if _stripe_refunded_minor(topup):
        raise invalid(_("This top-up was partly refunded on Stripe; review it there."))
    txn = Transaction.objects.get(idempotency_key=f"topup:{topup.pk}")
    reversal = _reverse(txn, memo=memo or _("Top-up refunded"), actor=actor)
    if topup.payment_intent and stripe_configured():
        with stripe_call_in_transaction_allowed():
            stripe_client().v1.refunds.create(
                params={"payment_intent": topup.payment_intent,
                        "amount": to_minor_units(topup.amount, topup.currency),
                        "metadata": {"topup_id": str(topup.pk)}},
                options={"idempotency_key": f"refund-topup-{topup.pk}"})
    topup.status = TopUpStatus.REFUNDED
    topup.save(update_fields=["status"])
    return reversal


@transaction.atomic
def charge_refund(*, charge: Charge, actor: User | None, memo: str = "") -> Transaction:
    """Give a user back a settled call: reverse the debit, the developer share and the fee."""
    for user_id in sorted({charge.user_id, charge.app.owner_id if charge.app else charge.user_id}):
        wallet_lock(user_id)
    charge = Charge.objects.select_for_update().get(pk=charge.pk)
    if charge.status != ChargeStatus.SETTLED or charge.price <= 0:
        raise invalid(_("Only settled, paid calls can be refunded."))
    txn = Transaction.objects.get(idempotency_key=f"settle:{charge.subject}")
    holds = account_get(AccountKind.HOLDS, charge.user_id)
    reversal = _reverse(txn, memo=memo or _("Call refunded"), actor=actor,
                        remap={holds.pk: account_get(AccountKind.WALLET, charge.user_id)})
    charge.status = ChargeStatus.REFUNDED
    charge.save(update_fields=["status"])
    return reversal


# --- Refunds made on Stripe's side (the dashboard) ----------------------------------------------------------

def _stripe_refund_key(obj: CheckoutPayment) -> str:
    return f"stripe-refund:{obj._meta.model_name}:{obj.pk}:"


def _stripe_refunded_minor(obj: CheckoutPayment) -> int:
    """How much of Stripe's refunded total is accounted for: each booking's key (and shortfall log) holds it."""
    prefix = _stripe_refund_key(obj)
    keys = Transaction.objects.filter(idempotency_key__startswith=prefix).values_list("idempotency_key", flat=True)
    logged = AuditLog.objects.filter(action=REFUND_SHORTFALL_ACTION, target_type=obj._meta.label_lower,
                                     target_id=str(obj.pk)).values_list("data", flat=True)
    return max([int(key[len(prefix):]) for key in keys] + [int(d.get("refunded_minor", 0)) for d in logged],
               default=0)


@transaction.atomic
def charge_refunds_sync(*, charge: StripeCharge) -> Transaction | None:
    """Book a refund made on Stripe's side (dashboard) for a top-up or purchase, once per newly refunded amount.

    `charge` was fetched again from Stripe, so its `amount_refunded` (a running total) is the truth:
    only the part beyond what was already booked is reversed, which makes repeated and out-of-order
    events harmless. Stripe has already returned the money, so unlike an admin refund this cannot be
    refused: whoever got the money (the wallet for a top-up, the developer's earnings and the platform fee for
    a purchase) gives back what it still has, never going negative, and the rest, already spent or paid out,
    is left to a moderator as a debt (audit log entry and notifications).
    """
    intent = expandable_id(charge.payment_intent)
    if not intent:
        return None
    # Lock the wallet of whoever gives the money back first: the same lock order as completing and refunding.
    topup = TopUp.objects.filter(payment_intent=intent).only("pk", "user_id", "org_id").first()
    if topup is not None:
        topup_wallet_lock(topup)
        return _stripe_refund_book(TopUp.objects.select_for_update().get(payment_intent=intent), charge=charge)
    app = App.objects.filter(purchases__payment_intent=intent).only("pk", "owner_id", "org_id").first()
    if app is not None:
        earner_lock(app)  # the earnings (a developer's, or an org's) are serialised on its wallet, as payouts do
        purchase = (Purchase.objects.select_for_update(of=("self",)).select_related("app", "user")
                    .get(payment_intent=intent))
        return _stripe_refund_book(purchase, charge=charge)
    return None


def _stripe_refund_lines(obj: CheckoutPayment, due: Decimal) -> tuple[list[tuple[Account, Decimal]], Decimal, Decimal]:
    """(lines, booked, shortfall): a top-up comes back from the wallet; a purchase from the developer's share,
    pro rata, and the platform fee. Only what the account still has is taken back."""
    clearing = account_get(AccountKind.STRIPE_CLEARING)
    if isinstance(obj, Purchase):
        share, fee = pricing.fee_split(due)
        earnings = earnings_account_of(obj.app)
        covered_share = min(share, max(account_balance(earnings), ZERO))
        booked = money(covered_share + fee)
        return ([(earnings, covered_share), (account_get(AccountKind.PLATFORM_FEES), fee), (clearing, -booked)],
                booked, money(share - covered_share))
    assert isinstance(obj, TopUp)
    wallet = org_account_get(AccountKind.WALLET, obj.org_id) if obj.org_id else account_get(AccountKind.WALLET,
                                                                                             obj.user_id)
    booked = min(due, max(account_balance(wallet), ZERO))
    return [(wallet, booked), (clearing, -booked)], booked, money(due - booked)


def _stripe_refund_book(obj: CheckoutPayment, *, charge: StripeCharge) -> Transaction | None:
    """Reverse the newly refunded part of a paid top-up or purchase (both already locked)."""
    if isinstance(obj, TopUp) and Transaction.objects.filter(reverses__idempotency_key=f"topup:{obj.pk}").exists():
        return None  # refunded from our admin, which reversed the whole top-up already
    if obj.status not in (TopUpStatus.PAID, TopUpStatus.REFUNDED):
        return None
    total_minor = to_minor_units(obj.amount, obj.currency)
    refunded_minor = min(int(charge.amount_refunded or 0), total_minor)
    booked_minor = _stripe_refunded_minor(obj)
    if refunded_minor <= booked_minor:
        return None
    due = from_minor_units(refunded_minor - booked_minor, obj.currency)
    lines, booked, shortfall = _stripe_refund_lines(obj, due)
    txn = None
    if booked:
        txn = book(kind=TransactionKind.REFUND, key=f"{_stripe_refund_key(obj)}{refunded_minor}", user=obj.user,
                   app=obj.app if isinstance(obj, Purchase) else None, memo=_refund_memo(shortfall), lines=lines)
    if refunded_minor >= total_minor:
        obj.status = TopUpStatus.REFUNDED
        obj.save(update_fields=["status"])
    if shortfall:
        _refund_shortfall_flag(obj=obj, charge=charge, refunded_minor=refunded_minor, due=due, booked=booked,
                               shortfall=shortfall)
    return txn


def _refund_memo(shortfall: Decimal) -> str:
    if shortfall:
        return _("Card refund made on Stripe (%(shortfall)s already spent, left for review)") % {
            "shortfall": shortfall}
    return _("Card refund made on Stripe")


def _refund_shortfall_flag(*, obj: CheckoutPayment, charge: StripeCharge, refunded_minor: int, due: Decimal,
                           booked: Decimal, shortfall: Decimal) -> None:
    """Stripe refunded money that was already spent: tell the moderators, once per refunded total."""
    # Also the record that this refunded total is accounted for when nothing could be booked.
    audit_log_record(actor=None, action=REFUND_SHORTFALL_ACTION, target=obj,
                     reason=_("Refunded on Stripe after the money was spent or paid out."),
                     data={"charge": charge.id, "refunded_minor": refunded_minor, "refunded": str(due),
                           "booked": str(booked), "shortfall": str(shortfall), "currency": obj.currency})
    if isinstance(obj, Purchase):
        what = _("%(user)s's purchase of %(app)s") % {"user": obj.user, "app": obj.app.name}
    else:
        what = _("%(user)s's top-up #%(id)s") % {"user": obj.user, "id": obj.pk}
    message = _("A Stripe refund of %(due)s %(currency)s for %(what)s exceeded what was left: %(shortfall)s "
                "was already spent or paid out and needs review.") % {
        "due": due, "currency": obj.currency.upper(), "what": what, "shortfall": shortfall}
    try:
        url = reverse(f"admin:billing_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:  # not every billing model has an admin page
        url = ""
    for moderator in User.objects.moderators():
        notification_send(user=moderator, kind="billing.refund_shortfall", message=message, url=url,
                          dedupe_key=f"refund-shortfall:{obj._meta.model_name}:{obj.pk}:{refunded_minor}")
