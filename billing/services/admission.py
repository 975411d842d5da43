"""admission"""
import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from config.api import ApiError, PaymentRequired
from config.money import parse_decimal_strict
from marketplace.models import App, PricingModel
from marketplace.selectors import app_current_price

from .. import selectors
from ..ledger import (
    account_get,
    accounts_get,
    book,
    money,
    wallet_lock,
)
from ..models import (
    ZERO,
    AccountKind,
    Charge,
    ChargeStatus,
    Entry,
    Transaction,
    TransactionKind,
    Wallet,
)
from .pricing import _currency, _fee_split, _free_call_available, _job_hardware, _quote_use, _training_rate
from .wallet import _spend_alerts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Admission:
    price: Decimal
    currency: str



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

