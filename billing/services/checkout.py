"""checkout"""
import logging
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.models import App, AppStatus, LibraryEntry, LibrarySource

from .. import selectors
from ..ledger import (
    account_get,
    book,
    from_minor_units,
    money,
    to_minor_units,
    wallet_lock,
)
from ..models import (
    AccountKind,
    Purchase,
    TopUp,
    TopUpStatus,
    TransactionKind,
)
from .admission import _refuse
from .pricing import _currency, _fee_split
from .stripe_api import _absolute, stripe_client, stripe_configured
from .wallet import parse_amount

logger = logging.getLogger(__name__)





def topup_amount_validate(amount) -> Decimal:
    amount = parse_amount(amount)
    if from_minor_units(to_minor_units(amount)) != amount:
        raise ValidationError({"amount": [_("Use whole cents, e.g. 10.00.")]})
    minimum, maximum = settings.BILLING["TOPUP_MINIMUM"], settings.BILLING["TOPUP_MAXIMUM"]
    if amount < minimum:
        raise ValidationError({"amount": [_("The minimum top-up is %(min)s %(currency)s.")
                                          % {"min": minimum, "currency": _currency().upper()}]})
    if amount > maximum:
        raise ValidationError({"amount": [_("The maximum top-up is %(max)s %(currency)s.")
                                          % {"max": maximum, "currency": _currency().upper()}]})
    return amount


@transaction.atomic
def topup_start(*, user, amount, success_url: str | None = None, cancel_url: str | None = None) -> TopUp:
    """Open a Stripe Checkout Session for a wallet top-up; the webhook credits it once paid."""
    amount = topup_amount_validate(amount)
    client = stripe_client()
    topup = TopUp.objects.create(user=user, amount=amount, currency=_currency())
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "client_reference_id": str(user.pk),
            "customer_email": user.email,
            "line_items": [{"quantity": 1, "price_data": {
                "currency": topup.currency, "unit_amount": to_minor_units(amount, topup.currency),
                "product_data": {"name": _("ModelMarket credits")}}}],
            "metadata": {"kind": "topup", "topup_id": str(topup.pk), "user_id": str(user.pk)},
            "success_url": success_url or _absolute(reverse("billing:wallet") + "?topup=success"),
            "cancel_url": cancel_url or _absolute(reverse("billing:wallet") + "?topup=canceled"),
        },
        options={"idempotency_key": f"topup-{topup.pk}"},
    )
    topup.session_id = session.id
    topup.checkout_url = session.url
    TopUp.objects.filter(pk=topup.pk).update(session_id=session.id)
    return topup


@transaction.atomic
def topup_complete(*, topup_id: int, amount_minor: int, currency: str, payment_intent: str = "") -> bool:
    """Credit a paid top-up exactly once (row lock plus the ledger's unique key)."""
    user_id = TopUp.objects.filter(pk=topup_id).values_list("user_id", flat=True).first()
    if user_id is None:
        return False
    wallet_lock(user_id)  # wallet first, then the top-up: the same order as refunds, so no deadlock
    topup = TopUp.objects.select_for_update().get(pk=topup_id)
    if topup.status != TopUpStatus.PENDING:
        return False
    amount = from_minor_units(amount_minor, currency)
    book(kind=TransactionKind.TOPUP, key=f"topup:{topup.pk}", user=topup.user, memo=_("Card top-up"),
         lines=[(account_get(AccountKind.STRIPE_CLEARING), amount),
                (account_get(AccountKind.WALLET, topup.user_id), -amount)])
    topup.amount = amount
    topup.status = TopUpStatus.PAID
    topup.paid_at = timezone.now()
    topup.payment_intent = payment_intent or ""
    topup.save(update_fields=["amount", "status", "paid_at", "payment_intent"])
    return True


def app_needs_purchase(*, user, app: App) -> bool:
    if not app.purchase_price or app.purchase_price <= 0 or not user.is_authenticated:
        return False
    if app.owner_id == user.pk:
        return False
    return not LibraryEntry.objects.filter(user=user, app=app).exists()


def purchase_checkout_url(*, user, app: App) -> str:
    """Where to buy the app: Stripe Checkout when cards work, else our page (pay from the wallet)."""
    if stripe_configured():
        return purchase_start(user=user, app=app).checkout_url
    return _absolute(reverse("billing:purchase", kwargs={"slug": app.slug}))


@transaction.atomic
def purchase_start(*, user, app: App) -> Purchase:
    client = stripe_client()
    purchase = Purchase.objects.create(user=user, app=app, amount=money(app.purchase_price))
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "client_reference_id": str(user.pk),
            "customer_email": user.email,
            "line_items": [{"quantity": 1, "price_data": {
                "currency": _currency(), "unit_amount": to_minor_units(purchase.amount),
                "product_data": {"name": app.name}}}],
            "metadata": {"kind": "purchase", "purchase_id": str(purchase.pk), "app": app.slug},
            "success_url": _absolute(app.get_absolute_url() + "?purchase=success"),
            "cancel_url": _absolute(app.get_absolute_url()),
        },
        options={"idempotency_key": f"purchase-{purchase.pk}"},
    )
    Purchase.objects.filter(pk=purchase.pk).update(session_id=session.id)
    purchase.session_id = session.id
    purchase.checkout_url = session.url
    return purchase


def _purchase_book(purchase: Purchase, *, source_account) -> None:
    share, fee = _fee_split(purchase.amount)
    book(kind=TransactionKind.PURCHASE, key=f"purchase:{purchase.pk}", user=purchase.user, app=purchase.app,
         memo=_("Purchase of %(app)s") % {"app": purchase.app.name},
         lines=[(source_account, purchase.amount), (account_get(AccountKind.EARNINGS, purchase.app.owner_id), -share),
                (account_get(AccountKind.PLATFORM_FEES), -fee)])


@transaction.atomic
def purchase_complete(*, purchase_id: int, amount_minor: int, currency: str, payment_intent: str = "") -> bool:
    from marketplace.services import app_acquire

    purchase = (Purchase.objects.select_for_update(of=("self",)).select_related("app", "user")
                .filter(pk=purchase_id).first())
    if purchase is None or purchase.status != TopUpStatus.PENDING:
        return False
    purchase.amount = from_minor_units(amount_minor, currency)
    _purchase_book(purchase, source_account=account_get(AccountKind.STRIPE_CLEARING))
    purchase.status = TopUpStatus.PAID
    purchase.paid_at = timezone.now()
    purchase.payment_intent = payment_intent or ""
    purchase.save(update_fields=["amount", "status", "paid_at", "payment_intent"])
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
    from accounts.models import User
    from accounts.services import audit_log_record, notification_send

    audit_log_record(actor=None, action="billing.purchase_unavailable_app", target=purchase,
                     reason=_("Paid while the app was %(status)s.") % {"status": purchase.app.status},
                     data={"app": purchase.app_id, "amount": str(purchase.amount), "user": purchase.user_id})
    message = _("%(user)s paid %(amount)s %(currency)s for “%(app)s” while it was %(status)s; decide on a refund.") % {
        "user": purchase.user.email, "amount": purchase.amount, "currency": _currency().upper(),
        "app": purchase.app.name, "status": purchase.app.status}
    for moderator in User.objects.moderators():
        notification_send(user=moderator, kind="billing.purchase_unavailable", message=message,
                          url=reverse("admin:marketplace_app_change", args=[purchase.app_id]),
                          dedupe_key=f"purchase-unavailable:{purchase.pk}")


@transaction.atomic
def purchase_with_wallet(*, user, app: App) -> Purchase:
    """Buy an app from wallet credits (works without Stripe)."""
    from marketplace.services import app_acquire

    if not app_needs_purchase(user=user, app=app):
        raise ValidationError(_("You already have this app."))
    wallet_lock(user)
    price = money(app.purchase_price)
    available = selectors.user_balance(user=user)
    if available < price:
        raise _refuse(_("Insufficient funds: the app costs %(price)s and your balance is %(balance)s.")
                      % {"price": price, "balance": available}, code="insufficient_funds", price=price)
    purchase = Purchase.objects.create(user=user, app=app, amount=price, status=TopUpStatus.PAID,
                                       paid_at=timezone.now())
    _purchase_book(purchase, source_account=account_get(AccountKind.WALLET, user))
    app_acquire(user=user, app=app, source=LibrarySource.PURCHASE)
    return purchase



def _sync_checkout_session(session) -> None:
    metadata = session.metadata.to_dict() if session.metadata else {}
    paid = session.status == "complete" and session.payment_status in ("paid", "no_payment_required")
    intent = session.payment_intent if isinstance(session.payment_intent, str) else getattr(
        session.payment_intent, "id", "") or ""
    kind = metadata.get("kind")
    if kind == "topup":
        if paid:
            topup_complete(topup_id=int(metadata["topup_id"]), amount_minor=session.amount_total,
                           currency=session.currency, payment_intent=intent)
        elif session.status == "expired":
            TopUp.objects.filter(pk=int(metadata["topup_id"]), status=TopUpStatus.PENDING).update(
                status=TopUpStatus.EXPIRED)
    elif kind == "purchase":
        if paid:
            purchase_complete(purchase_id=int(metadata["purchase_id"]), amount_minor=session.amount_total,
                              currency=session.currency, payment_intent=intent)
        elif session.status == "expired":
            Purchase.objects.filter(pk=int(metadata["purchase_id"]), status=TopUpStatus.PENDING).update(
                status=TopUpStatus.EXPIRED)



@transaction.atomic
def checkout_session_sync(*, session_id: str) -> None:
    """The success page re-checks its session, so the wallet is right even before the webhook."""
    _sync_checkout_session(stripe_client().v1.checkout.sessions.retrieve(session_id))


