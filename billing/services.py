"""Billing's writes, and its contract with inference and training.

Inference calls `prediction_admit` inside the transaction that creates a Prediction (a raised
PaymentRequired rolls the prediction back, so nothing is queued), `prediction_settle` inside the
transaction that marks it succeeded, and `prediction_release` when it fails or is canceled.
Training does the same with the `training_*` functions. Each is idempotent per object: a Charge
row (unique per subject) is locked and moves held -> settled/released exactly once.

Every money movement of one user is serialised on their Wallet row. A paid call's hold is one
conditional UPDATE of that row (`held = held + price WHERE balance - held >= price`), so the available
balance can never go below zero however many admissions race, and admission does not read the
history; the ledger books the settlement (wallet -> developer and platform) when the call succeeds.
"""
import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from config.api import ApiError, PaymentRequired, ServiceUnavailable
from config.money import parse_decimal_strict
from marketplace.models import App, AppStatus, LibraryEntry, LibrarySource, PricingModel
from marketplace.selectors import app_current_price

from . import selectors
from .ledger import (
    account_get,
    accounts_get,
    book,
    floor_to_minor,
    from_minor_units,
    money,
    to_minor_units,
    wallet_lock,
)
from .models import (
    ZERO,
    AccountKind,
    Charge,
    ChargeStatus,
    CreditGrant,
    Entry,
    Payout,
    PayoutStatus,
    Purchase,
    Quote,
    StripeEvent,
    TopUp,
    TopUpStatus,
    Transaction,
    TransactionKind,
    Wallet,
)

logger = logging.getLogger(__name__)
ALERT_THRESHOLDS = (50, 80, 100)


@dataclass(frozen=True)
class Admission:
    price: Decimal
    currency: str


def _currency() -> str:
    return settings.MODELMARKET["CURRENCY"]


def _fee_split(price: Decimal) -> tuple[Decimal, Decimal]:
    """(developer share, platform fee); the fee takes the rounding remainder so they sum to price."""
    share = money(price * (Decimal("1") - settings.MODELMARKET["PLATFORM_FEE"]))
    return share, money(price - share)


def parse_amount(value, *, field: str = "amount") -> Decimal:
    """A positive decimal with at most six places, or a field error."""
    try:
        amount = parse_decimal_strict(value)
    except ValueError:
        raise ValidationError({field: [_("Enter an amount such as 10.00.")]}) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError({field: [_("The amount must be greater than zero.")]})
    if amount.as_tuple().exponent < -6:
        raise ValidationError({field: [_("Use at most six decimal places.")]})
    if amount >= Decimal("1000000000"):
        raise ValidationError({field: [_("The amount is too large.")]})
    return money(amount)


# --- Quotes and admission -----------------------------------------------------------------------

def _free_call_available(*, user, app: App) -> bool:
    return bool(app.free_calls_per_month) and selectors.free_calls_used(user=user, app=app) < app.free_calls_per_month


@transaction.atomic
def quote_create(*, user, app: App) -> Quote:
    """A price for this user's next call, held for BILLING['QUOTE_TTL_SECONDS']."""
    if app.pricing_model == PricingModel.FREE or app.owner_id == user.pk or _free_call_available(user=user, app=app):
        price = ZERO
    else:
        price = app_current_price(app=app)
    expires_at = timezone.now() + dt.timedelta(seconds=settings.BILLING["QUOTE_TTL_SECONDS"])
    return Quote.objects.create(user=user, app=app, price=price, expires_at=expires_at)


def _refuse(message: str, *, code: str, price: Decimal, **extra) -> PaymentRequired:
    return PaymentRequired(message, code=code, extra={"price": str(money(price)), "currency": _currency(),
                                                      **{k: str(v) for k, v in extra.items()}})


def _owner_hold(*, app: App, prediction) -> Decimal:
    """The owner runs their own app at cost C: free within the monthly allowance, else a hold of the most
    the call can cost (its hardware's rate × the version's hard time limit); settlement charges the real C."""
    if selectors.owner_allowance_left(app=app) > 0 or prediction is None:
        return ZERO
    version = getattr(prediction, "version", None)
    seconds = Decimal(getattr(version, "time_limit", 0) or 90)
    return money(selectors.cost_rate(getattr(prediction, "hardware", "") or "cpu") * seconds)


def _quote_use(*, user, app: App, quote_id, now) -> Decimal | None:
    """Consume a good quote in ONE conditional UPDATE; None when it expired or was used; 400 when unknown."""
    try:
        quote_pk = uuid.UUID(str(quote_id))
    except ValueError:
        quote_pk = None
    if quote_pk is not None:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE billing_quote SET used_at = %s WHERE id = %s AND user_id = %s AND app_id = %s "
                "AND used_at IS NULL AND expires_at > %s RETURNING price",
                [now, Quote._meta.pk.get_db_prep_value(quote_pk, connection), user.pk, app.pk, now])
            row = cursor.fetchone()
        if row:
            return money(row[0])
    if quote_pk is None or not Quote.objects.filter(pk=quote_pk, user=user, app=app).exists():
        raise ApiError(_("Unknown quote."), code="invalid", fields={"quote_id": [_("This quote does not exist.")]})
    return None


def _wallet_serialise(user) -> None:
    """Take the user's wallet row lock with one UPDATE (creating the row if needed)."""
    if not Wallet.objects.filter(user_id=user.pk).update(held=F("held")):
        wallet_lock(user)


def _free_tier_and_demand(*, user, app: App, now) -> tuple[bool, int]:
    """(a free call is left, the app's demand n), one grouped query; the free call is re-checked under the lock."""
    since = now - dt.timedelta(seconds=app.window_seconds)
    month = selectors.month_start(now)
    counts = (Charge.objects.filter(app=app, created_at__gte=min(since, month))
              .exclude(status=ChargeStatus.RELEASED)
              .aggregate(n=Count("id", filter=Q(created_at__gte=since) & ~Q(user_id=app.owner_id)),
                         free=Count("id", filter=Q(user=user, free_tier=True, created_at__gte=month))))
    if counts["free"] >= app.free_calls_per_month:
        return False, counts["n"]
    # Serialise free calls per user (two racing calls must not both take the last one), then count again.
    _wallet_serialise(user)
    return _free_call_available(user=user, app=app), counts["n"]


def _admission_price(*, user, app: App, quote_id, max_price, now, prediction=None,
                     review_run: bool = False) -> tuple[Decimal, bool]:
    """(price, free_tier): the quote if still good, else the current price within max_price."""
    if review_run:  # a moderator's test run from the admin: the platform's cost, nobody is charged
        return ZERO, False
    if app.owner_id == user.pk:  # owners test their own app at cost, drafts and GPU included
        return _owner_hold(app=app, prediction=prediction), False
    if app.pricing_model == PricingModel.FREE:
        return ZERO, False
    demand = None
    if app.free_calls_per_month:
        free, demand = _free_tier_and_demand(user=user, app=app, now=now)
        if free:
            return ZERO, True
    if max_price not in (None, ""):
        try:
            max_price = money(parse_decimal_strict(max_price))
        except (InvalidOperation, ValueError):
            raise ApiError(_("max_price must be a decimal string."), code="invalid",
                           fields={"max_price": [_("Enter a decimal such as 0.05.")]}) from None
    else:
        max_price = None
    if quote_id:
        quoted = _quote_use(user=user, app=app, quote_id=quote_id, now=now)
        # A zero quote on a paid app was a free call; free calls were offered above, so none is left now
        # and the quote is not honoured: each free call pays for at most one run.
        if quoted is not None and not (quoted <= 0 and app.pricing_model != PricingModel.FREE):
            return quoted, False
    current = app_current_price(app=app, recent_calls=demand)
    if max_price is not None and current > max_price:
        raise _refuse(_("The price is now %(price)s, above your max_price.") % {"price": current},
                      code="price_changed", price=current)
    if quote_id and max_price is None and current > 0:
        raise _refuse(_("Your quote expired; the price is now %(price)s.") % {"price": current},
                      code="quote_expired", price=current)
    return current, False


def _check_caps(*, monthly_budget, user, api_key, price: Decimal) -> None:
    if monthly_budget is not None:
        spent = selectors.user_spent_this_month(user=user)
        if spent + price > monthly_budget:
            raise _refuse(_("This call would exceed your monthly budget of %(budget)s.")
                          % {"budget": monthly_budget}, code="budget_exceeded", price=price,
                          monthly_budget=monthly_budget, spent_this_month=spent)
    if api_key is not None and api_key.spend_cap is not None:
        spent = selectors.api_key_spent_this_month(api_key=api_key)
        if spent + price > api_key.spend_cap:
            raise _refuse(_("This API key reached its monthly spend cap of %(cap)s.") % {"cap": api_key.spend_cap},
                          code="spend_cap_reached", price=price, spend_cap=api_key.spend_cap)


def _alert(*, user, scope: str, limit: Decimal, spent: Decimal, next_price: Decimal, label: str) -> None:
    """Alerts at 50/80/100% of a budget or cap; 100% also when the next call would not fit."""
    if not limit or limit <= 0:
        return
    month = selectors.month_start().strftime("%Y-%m")
    for pct in ALERT_THRESHOLDS:
        reached = spent >= limit * pct / 100 or (pct == 100 and spent + next_price > limit)
        if not reached:
            continue
        from accounts.services import notification_send

        message = _("%(label)s: %(pct)s%% used (%(spent)s of %(limit)s %(currency)s this month).") % {
            "label": label, "pct": pct, "spent": spent, "limit": limit, "currency": _currency().upper()}
        notification_send(user=user, kind="billing.budget", message=message, url=reverse("billing:wallet"),
                          dedupe_key=f"{scope}:{month}:{pct}", email_subject=message)


def _spend_alerts(*, monthly_budget, user, api_key, price: Decimal) -> None:
    if monthly_budget is not None:
        _alert(user=user, scope="budget", limit=monthly_budget, label=_("Monthly budget"),
               spent=selectors.user_spent_this_month(user=user), next_price=price)
    if api_key is not None and api_key.spend_cap is not None:
        _alert(user=user, scope=f"key{api_key.pk}", limit=api_key.spend_cap,
               label=_("API key “%(name)s”") % {"name": api_key.name},
               spent=selectors.api_key_spent_this_month(api_key=api_key), next_price=price)


def _hold(*, user, price: Decimal):
    """Hold `price` with ONE conditional UPDATE (available >= price); answers the monthly budget, or raises 402.

    The UPDATE also takes the wallet row's lock, so the cap checks that may follow are serialised per user.
    """
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_wallet SET held = held + CAST(%s AS NUMERIC) "
                       "WHERE user_id = %s AND balance - held >= CAST(%s AS NUMERIC) RETURNING monthly_budget",
                       [str(price), user.pk, str(price)])
        row = cursor.fetchone()
    if row is None:
        available = selectors.user_balance(user=user)
        raise _refuse(_("Insufficient funds: this call costs %(price)s and your balance is %(balance)s.")
                      % {"price": price, "balance": available}, code="insufficient_funds", price=price,
                      balance=available)
    return None if row[0] is None else money(row[0])


@transaction.atomic(savepoint=False)
def charge_admit(*, subject: str, user, app: App | None, price: Decimal, api_key=None, free_tier: bool = False,
                 prediction_id: str = "", hardware: str = "", fresh: bool = False) -> Charge:
    """Hold `price` on the user's wallet and record the Charge, or raise 402 (rolling the caller back).

    A paid call is one conditional UPDATE of the wallet plus the Charge INSERT; budgets and key caps,
    when set, are checked under the row lock that UPDATE took. `fresh` skips the look-up for an
    existing charge (the subject was just made, e.g. a new prediction id).
    """
    if not fresh:
        existing = Charge.objects.filter(subject=subject).first()
        if existing:
            return existing
    price = money(price)
    monthly_budget = None
    if price > 0:
        monthly_budget = _hold(user=user, price=price)
        if monthly_budget is not None or (api_key is not None and api_key.spend_cap is not None):
            _check_caps(monthly_budget=monthly_budget, user=user, api_key=api_key, price=price)
    charge = Charge.objects.create(subject=subject, user=user, app=app, api_key=api_key, price=price,
                                   free_tier=free_tier, hardware=hardware)
    if price > 0 and (monthly_budget is not None or (api_key is not None and api_key.spend_cap is not None)):
        _spend_alerts(monthly_budget=monthly_budget, user=user, api_key=api_key, price=price)
    return charge


@transaction.atomic(savepoint=False)
def prediction_admit(*, prediction, quote_id: str | None = None, max_price: Decimal | None = None,
                     fresh: bool = False, review_run: bool = False) -> Admission:
    """Fix the prediction's price and hold it. Raises config.api.PaymentRequired (402) to refuse.

    `fresh=True` says the prediction row is being created in this transaction (no charge can exist yet).
    `review_run=True` (a moderator's test run from the admin) admits it at price 0: no hold is taken.
    """
    subject = f"prediction:{prediction.pk}"
    if not fresh:
        existing = Charge.objects.filter(subject=subject).first()
        if existing:
            return Admission(price=existing.price, currency=_currency())
    user, app = prediction.user, prediction.app
    price, free_tier = _admission_price(user=user, app=app, quote_id=quote_id, max_price=max_price,
                                        now=timezone.now(), prediction=prediction, review_run=review_run)
    charge = charge_admit(subject=subject, user=user, app=app, price=price, free_tier=free_tier,
                          api_key=prediction.api_key if getattr(prediction, "api_key_id", None) else None,
                          prediction_id=str(prediction.pk), hardware=getattr(prediction, "hardware", "") or "",
                          fresh=True)
    return Admission(price=charge.price, currency=_currency())


def _book_cost(*, charge: Charge, compute_seconds, hardware: str, prediction_id: str = "") -> Decimal:
    """Inference cost C = compute seconds × the hardware class's rate, booked once per charge."""
    seconds = Decimal(str(compute_seconds or 0))
    cost = money(seconds * selectors.cost_rate(hardware))
    charge.compute_seconds = seconds
    charge.hardware = hardware or charge.hardware
    charge.cost = cost
    if cost > 0:
        book(kind=TransactionKind.COST, key=f"cost:{charge.subject}", app=charge.app, user=charge.user,
             prediction_id=prediction_id, memo=_("%(s)s s on %(hw)s") % {"s": seconds, "hw": hardware},
             lines=list(zip(accounts_get((AccountKind.INFERENCE_COST, None), (AccountKind.COMPUTE_PAYABLE, None)),
                            (cost, -cost), strict=True)))
    return cost


def _charge_locked(subject: str) -> Charge | None:
    return Charge.objects.select_for_update(of=("self",)).select_related("app", "user").filter(subject=subject).first()


def _unhold(*, user_id: int, amount: Decimal) -> None:
    Wallet.objects.filter(user_id=user_id).update(held=F("held") - amount)


def _settle(charge: Charge, *, amount: Decimal, revenue_to_developer: bool, prediction_id: str = "") -> None:
    """The hold ends; `amount` (at most the price) is debited from the wallet to the developer and the platform."""
    user = charge.user
    if charge.price <= 0:
        return
    _unhold(user_id=charge.user_id, amount=charge.price)
    if amount <= 0:
        return
    lines = [(account_get(AccountKind.WALLET, user), amount)]
    if revenue_to_developer and charge.app is not None:
        share, fee = _fee_split(amount)
        earnings, fees = accounts_get((AccountKind.EARNINGS, charge.app.owner_id),
                                      (AccountKind.PLATFORM_FEES, None))
        lines += [(earnings, -share), (fees, -fee)]
    else:
        lines.append((account_get(AccountKind.PLATFORM_FEES), -amount))
    book(kind=TransactionKind.SETTLE, key=f"settle:{charge.subject}", user=user, app=charge.app,
         prediction_id=prediction_id, lines=lines, memo=charge.app.name if charge.app else charge.subject)


@transaction.atomic
def prediction_settle(*, prediction) -> None:
    """Once per prediction: the hold becomes a debit, a developer earning, a platform fee; cost C is booked."""
    charge = _charge_locked(f"prediction:{prediction.pk}")
    if charge is None or charge.status != ChargeStatus.HELD:
        return
    if charge.app is not None and charge.user_id == charge.app.owner_id and charge.price > 0:
        # The owner past their allowance pays the compute the call used (cost C), to the platform.
        cost = _book_cost(charge=charge, compute_seconds=getattr(prediction, "compute_seconds", 0),
                          hardware=getattr(prediction, "hardware", "") or "cpu", prediction_id=str(prediction.pk))
        _settle(charge, amount=min(charge.price, cost), revenue_to_developer=False, prediction_id=str(prediction.pk))
    else:
        _settle(charge, amount=charge.price, revenue_to_developer=True, prediction_id=str(prediction.pk))
        _book_cost(charge=charge, compute_seconds=getattr(prediction, "compute_seconds", 0),
                   hardware=getattr(prediction, "hardware", "") or "cpu", prediction_id=str(prediction.pk))
    charge.status = ChargeStatus.SETTLED
    charge.settled_at = timezone.now()
    charge.save(update_fields=["status", "settled_at", "compute_seconds", "hardware", "cost"])


def _release(charge: Charge, *, prediction_id: str = "") -> None:
    """The hold ends and nothing is charged: no money moved, so the ledger books nothing."""
    if charge.price > 0:
        _unhold(user_id=charge.user_id, amount=charge.price)
    charge.status = ChargeStatus.RELEASED
    charge.settled_at = timezone.now()


@transaction.atomic
def prediction_release(*, prediction) -> None:
    """The prediction failed or was canceled: release its hold. Users never pay for failures.

    The compute it burned is still the platform's cost C, so that is booked.
    """
    charge = _charge_locked(f"prediction:{prediction.pk}")
    if charge is None or charge.status != ChargeStatus.HELD:
        return
    _release(charge, prediction_id=str(prediction.pk))
    _book_cost(charge=charge, compute_seconds=getattr(prediction, "compute_seconds", 0),
               hardware=getattr(prediction, "hardware", "") or "cpu", prediction_id=str(prediction.pk))
    charge.save(update_fields=["status", "settled_at", "compute_seconds", "hardware", "cost"])


@transaction.atomic
def prediction_settle_partial(*, prediction, fraction: Decimal) -> Decimal:
    """A canceled stream keeps the text it produced, so it pays that share of its price (the rest goes back).

    Answers the amount charged. Nothing produced (fraction 0) is a plain release.
    """
    charge = _charge_locked(f"prediction:{prediction.pk}")
    if charge is None or charge.status != ChargeStatus.HELD:
        return ZERO
    amount = money(charge.price * min(max(Decimal(fraction), ZERO), Decimal("1")))
    if amount <= 0:
        _release(charge, prediction_id=str(prediction.pk))
    else:
        _settle(charge, amount=amount, revenue_to_developer=True, prediction_id=str(prediction.pk))
        charge.status = ChargeStatus.SETTLED
        charge.settled_at = timezone.now()
    _book_cost(charge=charge, compute_seconds=getattr(prediction, "compute_seconds", 0),
               hardware=getattr(prediction, "hardware", "") or "cpu", prediction_id=str(prediction.pk))
    charge.save(update_fields=["status", "settled_at", "compute_seconds", "hardware", "cost"])
    return amount


def predictions_finish_batch(*, succeeded: list, failed: list) -> None:
    """Settle the succeeded and release the failed predictions of one worker batch, in the caller's transaction.

    Set-based: one locking read of the held charges, one INSERT of the ledger transactions, one of their
    entries, one UPDATE of the charges and one wallet UPDATE per distinct user, however many calls the
    batch holds. Exactly once: only charges still `held` are touched, under their row locks.
    """
    by_subject = {f"prediction:{p.pk}": (p, True) for p in succeeded}
    by_subject.update({f"prediction:{p.pk}": (p, False) for p in failed})
    if not by_subject:
        return
    charges = list(Charge.objects.select_for_update(of=("self",)).select_related("app")
                   .filter(subject__in=list(by_subject), status=ChargeStatus.HELD).order_by("pk"))
    if not charges:
        return
    pairs = {(AccountKind.PLATFORM_FEES, None), (AccountKind.INFERENCE_COST, None), (AccountKind.COMPUTE_PAYABLE, None)}
    for charge in charges:
        if charge.price > 0 and by_subject[charge.subject][1]:
            pairs.add((AccountKind.WALLET, charge.user_id))
            if charge.app is not None:
                pairs.add((AccountKind.EARNINGS, charge.app.owner_id))
    pairs = sorted(pairs, key=lambda pair: (pair[0], pair[1] or 0))
    accounts = dict(zip(pairs, accounts_get(*pairs), strict=True))
    now = timezone.now()
    postings: list[tuple[Transaction, list]] = []
    wallet_changes: dict[int, list[Decimal]] = {}  # user -> [held change, balance change]
    for charge in charges:
        prediction, ok = by_subject[charge.subject]
        prediction_id = str(prediction.pk)
        seconds = Decimal(str(getattr(prediction, "compute_seconds", 0) or 0))
        hardware = getattr(prediction, "hardware", "") or "cpu"
        cost = money(seconds * selectors.cost_rate(hardware))
        if charge.price > 0:
            change = wallet_changes.setdefault(charge.user_id, [ZERO, ZERO])
            change[0] -= charge.price
            # The owner past their allowance pays only the compute the call used (cost C), to the platform.
            owner_call = charge.app is not None and charge.user_id == charge.app.owner_id
            amount = min(charge.price, cost) if owner_call else charge.price
            if ok and amount > 0:
                change[1] -= amount
                lines = [(accounts[(AccountKind.WALLET, charge.user_id)], amount)]
                if charge.app is not None and not owner_call:
                    share, fee = _fee_split(amount)
                    lines += [(accounts[(AccountKind.EARNINGS, charge.app.owner_id)], -share),
                              (accounts[(AccountKind.PLATFORM_FEES, None)], -fee)]
                else:
                    lines.append((accounts[(AccountKind.PLATFORM_FEES, None)], -amount))
                postings.append((Transaction(kind=TransactionKind.SETTLE, idempotency_key=f"settle:{charge.subject}",
                                             user_id=charge.user_id, app=charge.app, prediction_id=prediction_id,
                                             memo=(charge.app.name if charge.app else charge.subject)[:300]), lines))
        if cost > 0:
            postings.append((Transaction(kind=TransactionKind.COST, idempotency_key=f"cost:{charge.subject}",
                                         user_id=charge.user_id, app=charge.app, prediction_id=prediction_id,
                                         memo=_("%(s)s s on %(hw)s") % {"s": seconds, "hw": hardware}),
                             [(accounts[(AccountKind.INFERENCE_COST, None)], cost),
                              (accounts[(AccountKind.COMPUTE_PAYABLE, None)], -cost)]))
        charge.compute_seconds, charge.hardware, charge.cost = seconds, hardware, cost
        charge.status = ChargeStatus.SETTLED if ok else ChargeStatus.RELEASED
        charge.settled_at = now
    for _txn, lines in postings:
        if sum((amount for _account, amount in lines), ZERO) != ZERO:
            raise ValueError(f"Unbalanced batch posting: {lines}")
    if postings:
        created = Transaction.objects.bulk_create([txn for txn, _lines in postings])
        Entry.objects.bulk_create([Entry(transaction=txn, account=account, amount=money(amount))
                                   for txn, (_t, lines) in zip(created, postings, strict=True)
                                   for account, amount in lines])
    for user_id in sorted(wallet_changes):  # a fixed order: two batches never wait on each other in a cycle
        held, balance = wallet_changes[user_id]
        Wallet.objects.filter(user_id=user_id).update(held=F("held") + held, balance=F("balance") + balance)
    Charge.objects.bulk_update(charges, ["status", "settled_at", "compute_seconds", "hardware", "cost"])


def _training_rate(hardware: str) -> Decimal:
    rates = settings.BILLING["TRAINING_PRICE_PER_SECOND"]
    return rates.get(hardware or "cpu", rates["cpu"])


def _job_hardware(job) -> str:
    return getattr(job, "hardware", "") or "cpu"


@transaction.atomic
def training_admit(*, job, estimated_seconds: Decimal) -> Admission:
    """Hold the estimated price of a fine-tuning job (per compute second at the hardware rate)."""
    price = money(Decimal(str(estimated_seconds)) * _training_rate(_job_hardware(job)))
    charge = charge_admit(subject=f"training:{job.pk}", user=getattr(job, "user", None) or job.owner, app=None,
                          price=price,
                          hardware=_job_hardware(job))
    return Admission(price=charge.price, currency=_currency())


@transaction.atomic
def training_settle(*, job, compute_seconds: Decimal) -> None:
    """Settle a finished job at the hardware rate per compute second, never above what was held."""
    charge = _charge_locked(f"training:{job.pk}")
    if charge is None or charge.status != ChargeStatus.HELD:
        return
    amount = min(charge.price, money(Decimal(str(compute_seconds)) * _training_rate(_job_hardware(job))))
    _settle(charge, amount=amount, revenue_to_developer=False)
    _book_cost(charge=charge, compute_seconds=compute_seconds, hardware=_job_hardware(job))
    charge.status = ChargeStatus.SETTLED
    charge.settled_at = timezone.now()
    charge.save(update_fields=["status", "settled_at", "compute_seconds", "hardware", "cost"])


@transaction.atomic
def training_release(*, job) -> None:
    """Release a failed or canceled job's hold: users never pay for failures."""
    charge = _charge_locked(f"training:{job.pk}")
    if charge is None or charge.status != ChargeStatus.HELD:
        return
    _release(charge)
    charge.save(update_fields=["status", "settled_at"])


# --- Budgets and grants ----------------------------------------------------------------------------

@transaction.atomic
def wallet_set_budget(*, user, monthly_budget: Decimal | None) -> None:
    if monthly_budget is not None:
        monthly_budget = money(monthly_budget)
        if monthly_budget < 0:
            raise ValidationError({"monthly_budget": [_("The budget cannot be negative.")]})
    wallet = wallet_lock(user)
    wallet.monthly_budget = monthly_budget
    wallet.save(update_fields=["monthly_budget"])


@transaction.atomic
def credit_grant(*, user, amount, memo: str, granted_by) -> CreditGrant:
    """Moderators credit a wallet for support or promotions; the grant is a ledger transaction."""
    from accounts.services import audit_log_record, notification_send

    amount = parse_amount(amount)
    memo = (memo or "").strip()
    if not memo:
        raise ValidationError({"memo": [_("Say why these credits are granted.")]})
    if granted_by is not None and granted_by.pk == user.pk:
        raise PermissionDenied(_("Moderators cannot grant credits to themselves."))
    wallet_lock(user)
    grant = CreditGrant.objects.create(user=user, amount=amount, memo=memo[:300], granted_by=granted_by)
    grant.transaction = book(
        kind=TransactionKind.GRANT, key=f"grant:{grant.pk}", user=user, created_by=granted_by, memo=memo,
        lines=[(account_get(AccountKind.PROMOTIONS), amount), (account_get(AccountKind.WALLET, user), -amount)])
    grant.save(update_fields=["transaction"])
    if granted_by is not None:
        audit_log_record(actor=granted_by, action="billing.grant", target=user, reason=memo,
                         data={"amount": str(amount), "grant": grant.pk})
    notification_send(user=user, kind="billing.grant", url=reverse("billing:wallet"),
                      template=gettext_noop("You received %(amount)s %(currency)s in credits: %(memo)s"),
                      params={"amount": str(amount), "currency": _currency().upper(), "memo": memo})
    return grant


# --- Refunds ------------------------------------------------------------------------------------------

def _reverse(txn: Transaction, *, memo: str, actor, remap: dict | None = None) -> Transaction:
    """Book the exact opposite of `txn` once (reverses is one-to-one), refusing negative balances.

    `remap` swaps an account for another (a settled hold is refunded to the wallet, not to holds).
    """
    if Transaction.objects.filter(reverses=txn).exists():
        raise ValidationError(_("This transaction was already refunded."))
    remap = remap or {}
    lines = [(remap.get(entry.account_id, entry.account), -entry.amount)
             for entry in txn.entries.select_related("account")]
    for account, amount in lines:
        from .ledger import account_balance
        from .models import CREDIT_NORMAL

        after = account_balance(account) + (-amount if account.kind in CREDIT_NORMAL else amount)
        if account.kind == AccountKind.WALLET and account.user_id is not None:
            after -= selectors.user_held(user=account.user_id)  # what open calls hold is not refundable
        if after < 0:
            raise ValidationError(_("Cannot refund: %(account)s would go below zero (the money was already "
                                    "spent or paid out).") % {"account": account})
    reversal = book(kind=TransactionKind.REFUND, key=f"refund:{txn.pk}", user=txn.user, app=txn.app,
                    prediction_id=txn.prediction_id, created_by=actor, reverses=txn, lines=lines,
                    memo=memo or _("Refund of #%(id)s") % {"id": txn.pk})
    if reversal is None:
        raise ValidationError(_("This transaction was already refunded."))
    return reversal


@transaction.atomic
def topup_refund(*, topup: TopUp, actor, memo: str = "") -> Transaction:
    """Give a top-up back through Stripe and reverse its ledger entries (only what is unspent)."""
    wallet_lock(topup.user)
    topup = TopUp.objects.select_for_update().get(pk=topup.pk)
    if topup.status != TopUpStatus.PAID:
        raise ValidationError(_("Only paid top-ups can be refunded."))
    if _stripe_refunded_minor(topup):
        raise ValidationError(_("This top-up was partly refunded on Stripe; review it there."))
    txn = Transaction.objects.get(idempotency_key=f"topup:{topup.pk}")
    reversal = _reverse(txn, memo=memo or _("Top-up refunded"), actor=actor)
    if topup.payment_intent and stripe_configured():
        stripe_client().v1.refunds.create(
            params={"payment_intent": topup.payment_intent, "amount": to_minor_units(topup.amount, topup.currency),
                    "metadata": {"topup_id": str(topup.pk)}},
            options={"idempotency_key": f"refund-topup-{topup.pk}"})
    topup.status = TopUpStatus.REFUNDED
    topup.save(update_fields=["status"])
    return reversal


@transaction.atomic
def charge_refund(*, charge: Charge, actor, memo: str = "") -> Transaction:
    """Give a user back a settled call: reverse the debit, the developer share and the fee."""
    for user_id in sorted({charge.user_id, charge.app.owner_id if charge.app else charge.user_id}):
        wallet_lock(user_id)
    charge = Charge.objects.select_for_update().get(pk=charge.pk)
    if charge.status != ChargeStatus.SETTLED or charge.price <= 0:
        raise ValidationError(_("Only settled, paid calls can be refunded."))
    txn = Transaction.objects.get(idempotency_key=f"settle:{charge.subject}")
    holds = account_get(AccountKind.HOLDS, charge.user_id)
    reversal = _reverse(txn, memo=memo or _("Call refunded"), actor=actor,
                        remap={holds.pk: account_get(AccountKind.WALLET, charge.user_id)})
    charge.status = ChargeStatus.REFUNDED
    charge.save(update_fields=["status"])
    return reversal


# --- Stripe ------------------------------------------------------------------------------------------

def stripe_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def stripe_client():
    """The official SDK's client; STRIPE_API_BASE points it at the fake server in tests."""
    import stripe

    if not stripe_configured():
        raise ServiceUnavailable(_("Card payments are not configured on this site."), code="payments_not_configured")
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": base, "connect": base,
                                                                           "files": base, "meter_events": base},
                               max_network_retries=2)


def site_url(path: str) -> str:
    """An absolute URL on this site from SITE_URL (never from the request's Host header)."""
    return settings.SITE_URL.rstrip("/") + path


_absolute = site_url


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


def stripe_event_receive(*, payload: bytes, signature: str) -> StripeEvent | None:
    """Verify the signature on the raw body and store the event id once; process after commit."""
    import stripe

    from . import tasks

    if not settings.STRIPE_WEBHOOK_SECRET:
        raise ServiceUnavailable(_("Stripe webhooks are not configured."), code="payments_not_configured")
    try:
        event = stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except (ValueError, stripe.SignatureVerificationError):
        raise ApiError(_("Invalid Stripe signature or payload."), code="invalid_signature") from None
    data = json.loads(payload)  # verified above; stored as Stripe sent it
    del event
    with transaction.atomic():
        stored, created = StripeEvent.objects.get_or_create(
            event_id=data["id"], defaults={"type": data.get("type", ""), "payload": data})
        if created:
            transaction.on_commit(lambda: tasks.stripe_event_process.delay(stored.pk))
    return stored if created else None


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
def connect_account_sync(*, account_id: str) -> None:
    """Re-read the Connect account from Stripe: events may come late or out of order."""
    from .models import Wallet

    account = stripe_client().v1.accounts.retrieve(account_id)
    Wallet.objects.filter(stripe_account_id=account_id).update(payouts_enabled=bool(account.payouts_enabled))


@transaction.atomic
def stripe_event_process(*, event_pk: int) -> None:
    """Handle one stored event once; the object is fetched again so late or repeated events are harmless."""
    event = StripeEvent.objects.select_for_update().get(pk=event_pk)
    if event.processed_at:
        return
    obj = (event.payload.get("data") or {}).get("object") or {}
    if event.type.startswith("checkout.session.") and obj.get("id"):
        _sync_checkout_session(stripe_client().v1.checkout.sessions.retrieve(obj["id"]))
    elif event.type == "account.updated" and obj.get("id"):
        connect_account_sync(account_id=obj["id"])
    elif event.type == "charge.refunded" and obj.get("id"):
        charge_refunds_sync(charge=stripe_client().v1.charges.retrieve(obj["id"]))
    elif event.type in ("refund.created", "refund.updated") and obj.get("id"):
        refund = stripe_client().v1.refunds.retrieve(obj["id"])
        charge_id = refund.charge if isinstance(refund.charge, str) else getattr(refund.charge, "id", "")
        if refund.status == "succeeded" and charge_id:
            charge_refunds_sync(charge=stripe_client().v1.charges.retrieve(charge_id))
    event.processed_at = timezone.now()
    event.save(update_fields=["processed_at"])


def _stripe_refund_key(obj: TopUp | Purchase) -> str:
    return f"stripe-refund:{obj._meta.model_name}:{obj.pk}:"


REFUND_SHORTFALL_ACTION = "billing.stripe_refund_shortfall"


def _stripe_refunded_minor(obj: TopUp | Purchase) -> int:
    """How much of Stripe's refunded total is accounted for: each booking's key (and shortfall log) holds it."""
    from accounts.models import AuditLog

    prefix = _stripe_refund_key(obj)
    keys = Transaction.objects.filter(idempotency_key__startswith=prefix).values_list("idempotency_key", flat=True)
    logged = AuditLog.objects.filter(action=REFUND_SHORTFALL_ACTION, target_type=obj._meta.label_lower,
                                     target_id=str(obj.pk)).values_list("data", flat=True)
    return max([int(key[len(prefix):]) for key in keys] + [int(d.get("refunded_minor", 0)) for d in logged],
               default=0)


@transaction.atomic
def charge_refunds_sync(*, charge) -> Transaction | None:
    """Book a refund made on Stripe's side (dashboard) for a top-up or purchase, once per newly refunded amount.

    `charge` was fetched again from Stripe, so its `amount_refunded` (a running total) is the truth:
    only the part beyond what was already booked is reversed, which makes repeated and out-of-order
    events harmless. Stripe has already returned the money, so unlike an admin refund this cannot be
    refused: the wallet (or, for a purchase, the developer's earnings) gives back what it still has, never
    going negative, and the rest, already spent or paid out, is left to a moderator as a debt (audit log
    entry and notifications).
    """
    intent = charge.payment_intent if isinstance(charge.payment_intent, str) else getattr(
        charge.payment_intent, "id", "") or ""
    if not intent:
        return None
    user_id = TopUp.objects.filter(payment_intent=intent).values_list("user_id", flat=True).first()
    if user_id is not None:
        return _topup_stripe_refund(charge=charge, intent=intent, user_id=user_id)
    owner_id = Purchase.objects.filter(payment_intent=intent).values_list("app__owner_id", flat=True).first()
    if owner_id is not None:
        return _purchase_stripe_refund(charge=charge, intent=intent, owner_id=owner_id)
    return None


def _topup_stripe_refund(*, charge, intent: str, user_id: int) -> Transaction | None:
    from .ledger import account_balance

    wallet_lock(user_id)  # the same lock order as topup_complete and topup_refund
    topup = TopUp.objects.select_for_update().get(payment_intent=intent)
    if Transaction.objects.filter(reverses__idempotency_key=f"topup:{topup.pk}").exists():
        return None  # refunded from our admin, which reversed the whole top-up already
    total_minor = to_minor_units(topup.amount, topup.currency)
    refunded_minor = min(int(charge.amount_refunded or 0), total_minor)
    booked_minor = _stripe_refunded_minor(topup)
    if refunded_minor <= booked_minor:
        return None
    due = from_minor_units(refunded_minor - booked_minor, topup.currency)
    wallet = account_get(AccountKind.WALLET, user_id)
    covered = min(due, max(account_balance(wallet), ZERO))
    shortfall = money(due - covered)
    txn = None
    if covered:
        txn = book(kind=TransactionKind.REFUND, key=f"{_stripe_refund_key(topup)}{refunded_minor}",
                   user=topup.user, memo=_refund_memo(shortfall),
                   lines=[(wallet, covered), (account_get(AccountKind.STRIPE_CLEARING), -covered)])
    if refunded_minor >= total_minor:
        topup.status = TopUpStatus.REFUNDED
        topup.save(update_fields=["status"])
    if shortfall:
        _refund_shortfall_flag(obj=topup, charge=charge, refunded_minor=refunded_minor, due=due, booked=covered,
                               shortfall=shortfall, currency=topup.currency,
                               what=_("%(user)s's top-up #%(id)s") % {"user": topup.user, "id": topup.pk})
    return txn


def _purchase_stripe_refund(*, charge, intent: str, owner_id: int) -> Transaction | None:
    """Reverse the newly refunded part of a card purchase: developer share and platform fee, pro rata."""
    from .ledger import account_balance

    wallet_lock(owner_id)  # the developer's earnings are serialised on their wallet, as payouts do
    purchase = (Purchase.objects.select_for_update(of=("self",)).select_related("app", "user")
                .get(payment_intent=intent))
    if purchase.status not in (TopUpStatus.PAID, TopUpStatus.REFUNDED):
        return None
    currency = _currency()
    total_minor = to_minor_units(purchase.amount, currency)
    refunded_minor = min(int(charge.amount_refunded or 0), total_minor)
    booked_minor = _stripe_refunded_minor(purchase)
    if refunded_minor <= booked_minor:
        return None
    due = from_minor_units(refunded_minor - booked_minor, currency)
    share, fee = _fee_split(due)
    earnings = account_get(AccountKind.EARNINGS, owner_id)
    covered_share = min(share, max(account_balance(earnings), ZERO))
    shortfall = money(share - covered_share)
    covered = money(covered_share + fee)
    txn = book(kind=TransactionKind.REFUND, key=f"{_stripe_refund_key(purchase)}{refunded_minor}",
               user=purchase.user, app=purchase.app, memo=_refund_memo(shortfall),
               lines=[(earnings, covered_share), (account_get(AccountKind.PLATFORM_FEES), fee),
                      (account_get(AccountKind.STRIPE_CLEARING), -covered)])
    if refunded_minor >= total_minor:
        purchase.status = TopUpStatus.REFUNDED
        purchase.save(update_fields=["status"])
    if shortfall:
        _refund_shortfall_flag(obj=purchase, charge=charge, refunded_minor=refunded_minor, due=due,
                               booked=covered, shortfall=shortfall, currency=currency,
                               what=_("%(user)s's purchase of %(app)s") % {"user": purchase.user,
                                                                           "app": purchase.app.name})
    return txn


def _refund_memo(shortfall: Decimal) -> str:
    if shortfall:
        return _("Card refund made on Stripe (%(shortfall)s already spent, left for review)") % {
            "shortfall": shortfall}
    return _("Card refund made on Stripe")


def _refund_shortfall_flag(*, obj: TopUp | Purchase, charge, refunded_minor: int, due: Decimal, booked: Decimal,
                           shortfall: Decimal, currency: str, what: str) -> None:
    """Stripe refunded money that was already spent: tell the moderators, once per refunded total."""
    from accounts.models import User
    from accounts.services import audit_log_record, notification_send

    # Also the record that this refunded total is accounted for when nothing could be booked.
    audit_log_record(actor=None, action=REFUND_SHORTFALL_ACTION, target=obj,
                     reason=_("Refunded on Stripe after the money was spent or paid out."),
                     data={"charge": charge.id, "refunded_minor": refunded_minor, "refunded": str(due),
                           "booked": str(booked), "shortfall": str(shortfall), "currency": currency})
    message = _("A Stripe refund of %(due)s %(currency)s for %(what)s exceeded what was left: %(shortfall)s "
                "was already spent or paid out and needs review.") % {
        "due": due, "currency": currency.upper(), "what": what, "shortfall": shortfall}
    try:
        url = reverse(f"admin:billing_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:  # not every billing model has an admin page
        url = ""
    for moderator in User.objects.moderators():
        notification_send(user=moderator, kind="billing.refund_shortfall", message=message, url=url,
                          dedupe_key=f"refund-shortfall:{obj._meta.model_name}:{obj.pk}:{refunded_minor}")


@transaction.atomic
def checkout_session_sync(*, session_id: str) -> None:
    """The success page re-checks its session, so the wallet is right even before the webhook."""
    _sync_checkout_session(stripe_client().v1.checkout.sessions.retrieve(session_id))


# --- Connect payouts ------------------------------------------------------------------------------------

def connect_onboarding_link(*, user, return_url: str, refresh_url: str) -> str:
    """Create (once) the developer's Express account and an onboarding link to it."""
    client = stripe_client()
    with transaction.atomic():
        wallet = wallet_lock(user)
        if not wallet.stripe_account_id:
            account = client.v1.accounts.create(
                params={"type": "express", "email": user.email, "metadata": {"user_id": str(user.pk)},
                        "capabilities": {"transfers": {"requested": True}}},
                options={"idempotency_key": f"connect-account-{user.pk}"})
            wallet.stripe_account_id = account.id
            wallet.save(update_fields=["stripe_account_id"])
    link = client.v1.account_links.create(params={"account": wallet.stripe_account_id, "type": "account_onboarding",
                                                  "return_url": return_url, "refresh_url": refresh_url})
    return link.url


@transaction.atomic
def payout_create(*, developer) -> Payout | None:
    """Move accrued earnings (whole cents, above the threshold) into a pending payout."""
    wallet = wallet_lock(developer)
    if not wallet.stripe_account_id or not wallet.payouts_enabled:
        return None
    amount = floor_to_minor(selectors.developer_earnings(user=developer))
    if amount <= 0 or amount < settings.BILLING["PAYOUT_THRESHOLD"]:
        return None
    payout = Payout.objects.create(developer=developer, amount=amount, currency=_currency(),
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
    from .models import Wallet

    if not stripe_configured():
        return []
    for wallet in Wallet.objects.filter(payouts_enabled=True).exclude(stripe_account_id="").select_related("user"):
        payout_create(developer=wallet.user)
    return [payout_send(payout_id=pk) for pk in
            Payout.objects.filter(status=PayoutStatus.PENDING).values_list("pk", flat=True)]
