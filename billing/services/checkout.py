"""Stripe Checkout: wallet top-ups and app purchases (an app can also be bought from the wallet).

No Stripe call runs inside a DB transaction (see `stripe_api`): starting a checkout commits a pending row
first, then opens the Checkout Session (its idempotency key is the row's, so a retried call is one session),
then records the session id with one UPDATE. Completion comes from the webhook (`stripe_events`) or from the
success page re-checking its session, whichever is first; both re-fetch the session from Stripe before they
take any lock, and each payment is credited exactly once.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import org_permissions
from accounts.models import Organisation, User
from accounts.services import audit_log_record, notification_send
from config.errors import PermissionDenied
from marketplace.models import App, AppStatus, LibraryEntry, LibrarySource
from marketplace.services import app_acquire

from .. import selectors
from ..ledger import account_get, book, earnings_account_of, from_minor_units, money, to_minor_units, wallet_lock
from ..models import Account, AccountKind, Purchase, TopUp, TopUpStatus, TransactionKind
from . import pricing
from .admission import refuse
from .stripe_api import expandable_id, site_url, stripe_client, stripe_configured
from .wallet import invalid, parse_amount, topup_wallet_lock

if TYPE_CHECKING:
    from stripe.checkout import Session as StripeSession

Payment = TypeVar("Payment", TopUp, Purchase)
KINDS: dict[str, type[TopUp] | type[Purchase]] = {"topup": TopUp, "purchase": Purchase}


def _checkout_open(payment: Payment, *, user: User, name: str, success_url: str, cancel_url: str,
                   metadata: dict[str, str]) -> Payment:
    """Open the Stripe Checkout Session of a pending payment row that is already committed; record its id."""
    kind = payment._meta.model_name or ""
    try:
        session = stripe_client().v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "client_reference_id": str(user.pk),
                "customer_email": user.email,
                "line_items": [{"quantity": 1, "price_data": {
                    "currency": payment.currency, "unit_amount": to_minor_units(payment.amount, payment.currency),
                    "product_data": {"name": name}}}],
                "metadata": {"kind": kind, f"{kind}_id": str(payment.pk), **metadata},
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            options={"idempotency_key": f"{kind}-{payment.pk}"},
        )
    except Exception:
        # Nobody was given a way to pay it: the pending row goes, as if the transaction had rolled back.
        type(payment).objects.filter(pk=payment.pk, status=TopUpStatus.PENDING, session_id__isnull=True).delete()
        raise
    type(payment).objects.filter(pk=payment.pk).update(session_id=session.id)
    payment.session_id = session.id
    payment.checkout_url = session.url or ""
    return payment


# --- Top-ups ---------------------------------------------------------------------------------------------------

def topup_amount_validate(amount: object) -> Decimal:
    value = parse_amount(amount)
    if from_minor_units(to_minor_units(value)) != value:
        raise invalid(_("Use whole cents, e.g. 10.00."), field="amount")
    minimum, maximum = settings.BILLING_TOPUP_MINIMUM, settings.BILLING_TOPUP_MAXIMUM
    if value < minimum:
        raise invalid(_("The minimum top-up is %(min)s %(currency)s.")
                      % {"min": minimum, "currency": pricing.currency().upper()}, field="amount")
    if value > maximum:
        raise invalid(_("The maximum top-up is %(max)s %(currency)s.")
                      % {"max": maximum, "currency": pricing.currency().upper()}, field="amount")
    return value


def topup_start(*, user: User, amount: object, org: Organisation | None = None, success_url: str | None = None,
                cancel_url: str | None = None) -> TopUp:
    """Open a Stripe Checkout Session for a wallet top-up; the webhook credits it once paid.

    With `org`, the organisation's wallet is topped up (roles with `wallet.topup`; others `PermissionDenied`):
    `user` pays, the org's wallet is credited.
    """
    value = topup_amount_validate(amount)
    if org is not None and not org_permissions.org_can(user, org, org_permissions.WALLET_TOPUP):
        raise PermissionDenied(_("Your role in this organisation does not allow this."))
    stripe_client()  # payments must be configured before anything is written
    with transaction.atomic(durable=True):
        topup = TopUp.objects.create(user=user, org=org, amount=value, currency=pricing.currency())
    wallet = reverse("billing:org_wallet", kwargs={"slug": org.slug}) if org else reverse("billing:wallet")
    metadata = {"user_id": str(user.pk), **({"org": org.slug} if org else {})}
    name = _("ModelMarket credits for %(org)s") % {"org": org.name} if org else _("ModelMarket credits")
    return _checkout_open(topup, user=user, name=name, metadata=metadata,
                          success_url=success_url or site_url(wallet + "?topup=success"),
                          cancel_url=cancel_url or site_url(wallet + "?topup=canceled"))


@transaction.atomic
def topup_complete(*, topup_id: int, amount_minor: int, currency: str, payment_intent: str = "") -> bool:
    """Credit a paid top-up exactly once (row lock plus the ledger's unique key), to the org's wallet when it
    names an org, else to the user's."""
    found = TopUp.objects.filter(pk=topup_id).only("pk", "user_id", "org_id").first()
    if found is None:
        return False
    wallet_account = topup_wallet_lock(found)
    topup = TopUp.objects.select_for_update().get(pk=topup_id)
    if topup.status != TopUpStatus.PENDING:
        return False
    amount = from_minor_units(amount_minor, currency)
    # The payer is the transaction's user (no name in the memo: memos outlive an account's deletion).
    book(kind=TransactionKind.TOPUP, key=f"topup:{topup.pk}", user=topup.user, memo=_("Card top-up"),
         lines=[(account_get(AccountKind.STRIPE_CLEARING), amount), (wallet_account, -amount)])
    topup.mark_paid(amount=amount, payment_intent=payment_intent)
    return True


# --- Purchases -----------------------------------------------------------------------------------------------

def app_needs_purchase(*, user: Any, app: App) -> bool:
    if not app.purchase_price or app.purchase_price <= 0 or not user.is_authenticated:
        return False
    if app.owner_id == user.pk:
        return False
    return not LibraryEntry.objects.filter(user=user, app=app).exists()


def purchase_checkout_url(*, user: User, app: App) -> str:
    """Where to buy the app: Stripe Checkout when cards work, else our page (pay from the wallet)."""
    if stripe_configured():
        return purchase_start(user=user, app=app).checkout_url
    return site_url(reverse("billing:purchase", kwargs={"slug": app.slug}))


def purchase_start(*, user: User, app: App) -> Purchase:
    """Open a Stripe Checkout Session to buy `app`; the webhook books it and adds the app to the library."""
    stripe_client()
    with transaction.atomic(durable=True):
        purchase = Purchase.objects.create(user=user, app=app, amount=money(app.purchase_price or 0))
    return _checkout_open(purchase, user=user, name=app.name, metadata={"app": app.slug},
                          success_url=site_url(app.get_absolute_url() + "?purchase=success"),
                          cancel_url=site_url(app.get_absolute_url()))


def _purchase_book(purchase: Purchase, *, source_account: Account) -> None:
    share, fee = pricing.fee_split(purchase.amount)
    book(kind=TransactionKind.PURCHASE, key=f"purchase:{purchase.pk}", user=purchase.user, app=purchase.app,
         memo=_("Purchase of %(app)s") % {"app": purchase.app.name},
         lines=[(source_account, purchase.amount), (earnings_account_of(purchase.app), -share),
                (account_get(AccountKind.PLATFORM_FEES), -fee)])


@transaction.atomic
def purchase_complete(*, purchase_id: int, amount_minor: int, currency: str, payment_intent: str = "") -> bool:
    purchase = (Purchase.objects.select_for_update(of=("self",)).select_related("app", "user")
                .filter(pk=purchase_id).first())
    if purchase is None or purchase.status != TopUpStatus.PENDING:
        return False
    purchase.amount = from_minor_units(amount_minor, currency)
    _purchase_book(purchase, source_account=account_get(AccountKind.STRIPE_CLEARING))
    purchase.mark_paid(amount=purchase.amount, payment_intent=payment_intent)
    if purchase.app.status != AppStatus.PUBLISHED and purchase.app.owner_id != purchase.user_id:
        # Paid on Stripe while the app was suspended or withdrawn: the money is real, so the purchase is
        # recorded (and the app is theirs if it comes back); moderators decide on a refund.
        LibraryEntry.objects.get_or_create(user=purchase.user, app=purchase.app,
                                           defaults={"source": LibrarySource.PURCHASE})
        _purchase_unavailable_flag(purchase)
        return True
    app_acquire(user=purchase.user, app=purchase.app, source=LibrarySource.PURCHASE)
    return True


def _purchase_unavailable_flag(purchase: Purchase) -> None:
    audit_log_record(actor=None, action="billing.purchase_unavailable_app", target=purchase,
                     reason=_("Paid while the app was %(status)s.") % {"status": purchase.app.status},
                     data={"app": purchase.app_id, "amount": str(purchase.amount), "user": purchase.user_id})
    message = _("%(user)s paid %(amount)s %(currency)s for “%(app)s” while it was %(status)s; decide on a refund.") % {
        "user": purchase.user.email, "amount": purchase.amount, "currency": pricing.currency().upper(),
        "app": purchase.app.name, "status": purchase.app.status}
    for moderator in User.objects.moderators():
        notification_send(user=moderator, kind="billing.purchase_unavailable", message=message,
                          url=reverse("admin:marketplace_app_change", args=[purchase.app_id]),
                          dedupe_key=f"purchase-unavailable:{purchase.pk}")


@transaction.atomic
def purchase_with_wallet(*, user: User, app: App) -> Purchase:
    """Buy an app from wallet credits (works without Stripe)."""
    if not app_needs_purchase(user=user, app=app):
        raise invalid(_("You already have this app."))
    wallet_lock(user)
    price = money(app.purchase_price or 0)
    available = selectors.user_balance(user=user)
    if available < price:
        raise refuse(_("Insufficient funds: the app costs %(price)s and your balance is %(balance)s.")
                     % {"price": price, "balance": available}, code="insufficient_funds", price=price)
    purchase = Purchase.objects.create(user=user, app=app, amount=price, status=TopUpStatus.PAID,
                                       paid_at=timezone.now())
    _purchase_book(purchase, source_account=account_get(AccountKind.WALLET, user))
    app_acquire(user=user, app=app, source=LibrarySource.PURCHASE)
    return purchase


# --- A session's outcome -----------------------------------------------------------------------------------

def checkout_session_apply(session: StripeSession) -> None:
    """Apply a Checkout Session as Stripe has it now (fetched again, never the webhook's copy): credit or expire."""
    metadata = session.metadata.to_dict() if session.metadata else {}
    kind = metadata.get("kind", "")
    model = KINDS.get(kind)
    if model is None:
        return
    pk = int(metadata[f"{kind}_id"])
    paid = session.status == "complete" and session.payment_status in ("paid", "no_payment_required")
    if paid:
        intent = expandable_id(session.payment_intent)
        if model is TopUp:
            topup_complete(topup_id=pk, amount_minor=session.amount_total or 0, currency=session.currency or "",
                           payment_intent=intent)
        else:
            purchase_complete(purchase_id=pk, amount_minor=session.amount_total or 0,
                              currency=session.currency or "", payment_intent=intent)
    elif session.status == "expired":
        model.objects.filter(pk=pk, status=TopUpStatus.PENDING).update(status=TopUpStatus.EXPIRED)


def checkout_session_sync(*, session_id: str) -> None:
    """The success page re-checks its session, so the wallet is right even before the webhook."""
    session = stripe_client().v1.checkout.sessions.retrieve(session_id)  # before any lock is taken
    with transaction.atomic():
        checkout_session_apply(session)
