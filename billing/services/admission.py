"""Admission and settlement: holds, budgets and key caps, the free tier, settle and release (one call or a batch).

Inference calls `prediction_admit` inside the transaction that creates a Prediction (a raised
PaymentRequired rolls the prediction back, so nothing is queued), `prediction_settle` inside the
transaction that marks it succeeded, and `prediction_release` when it fails or is canceled.
Training does the same with the `training_*` functions. Both go through `billing.contract`, which says what
billing reads of their objects. Each is idempotent per object: a Charge row (unique per subject) is locked
and moves held -> settled/released exactly once.

Every money movement of one user is serialised on their Wallet row. A paid call's hold is one
conditional UPDATE of that row (`held = held + price WHERE balance - held >= price`), so the available
balance can never go below zero however many admissions race, and admission does not read the
history; the ledger books the settlement (wallet -> developer and platform) when the call succeeds.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiKey, User
from config.errors import InvalidInput
from config.hot_rows import RowShape, bulk_update_rows, fetch_all
from config.money import parse_decimal_strict
from marketplace.models import App, PricingModel

from .. import selectors
from ..ledger import accounts_get, book, money, wallet_lock
from ..models import ZERO, Account, AccountKind, Charge, ChargeStatus, Entry, Transaction, TransactionKind, Wallet
from . import pricing
from .orgs import earner_key, org_hold, payer_accounts, payer_key, payer_rows
from .pricing import refuse
from .wallet import spend_alerts

if TYPE_CHECKING:
    from ..contract import BillableJob, BillablePrediction

CHARGE_CLOSE_FIELDS = ["status", "settled_at", "compute_seconds", "hardware", "cost"]


@dataclass(frozen=True)
class Admission:
    price: Decimal
    currency: str
    # With `defer_write=True`: the Charge row that the caller writes together with its own row, in the same
    # transaction or statement (config.hot_rows.insert_rows).
    unwritten: tuple[Charge, ...] = ()


# --- The price a call is admitted at ---------------------------------------------------------------------

def _wallet_serialise(user: User) -> None:
    """Take the user's wallet row lock with one UPDATE (creating the row if needed)."""
    if not Wallet.objects.filter(user_id=user.pk).update(held=F("held")):
        wallet_lock(user)


def _free_tier_and_demand(*, user: User, app: App, now: dt.datetime) -> tuple[bool, int]:
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
    return pricing.free_call_available(user=user, app=app), counts["n"]


def _parse_max_price(max_price: object) -> Decimal | None:
    if max_price in (None, ""):
        return None
    try:
        return money(parse_decimal_strict(max_price))
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("max_price must be a decimal string."),
                           fields={"max_price": [_("Enter a decimal such as 0.05.")]}) from None


def _admission_price(*, user: User, app: App, quote_id: str | None, max_price: object, now: dt.datetime,
                     prediction: BillablePrediction, review_run: bool = False) -> tuple[Decimal, bool]:
    """(price, free_tier): the quote if still good, else the current price within max_price."""
    if review_run:  # a moderator's test run from the admin: the platform's cost, nobody is charged
        return ZERO, False
    if app.owner_id == user.pk:  # owners test their own app at cost, drafts and GPU included
        return pricing.owner_hold(app=app, hardware=prediction.hardware,
                                  time_limit=prediction.version.time_limit), False
    if app.pricing_model == PricingModel.FREE:
        return ZERO, False
    demand = None
    if app.free_calls_per_month:
        free, demand = _free_tier_and_demand(user=user, app=app, now=now)
        if free:
            return ZERO, True
    limit = _parse_max_price(max_price)
    if quote_id:
        quoted = pricing.quote_use(user=user, app=app, quote_id=quote_id, now=now)
        # A zero quote on a paid app was a free call; free calls were offered above, so none is left now
        # and the quote is not honoured: each free call pays for at most one run.
        if quoted is not None and not (quoted <= 0 and app.pricing_model != PricingModel.FREE):
            return quoted, False
    current = pricing.app_price(app=app, demand=demand)
    if limit is not None and current > limit:
        raise refuse(_("The price is now %(price)s, above your max_price.") % {"price": current},
                     code="price_changed", price=current)
    if quote_id and limit is None and current > 0:
        raise refuse(_("Your quote expired; the price is now %(price)s.") % {"price": current},
                     code="quote_expired", price=current)
    return current, False


# --- Holds, budgets and caps -------------------------------------------------------------------------------

def _check_caps(*, monthly_budget: Decimal | None, user: User, api_key: ApiKey | None, price: Decimal) -> None:
    if monthly_budget is not None:
        spent = selectors.user_spent_this_month(user=user)
        if spent + price > monthly_budget:
            raise refuse(_("This call would exceed your monthly budget of %(budget)s.")
                         % {"budget": monthly_budget}, code="budget_exceeded", price=price,
                         monthly_budget=monthly_budget, spent_this_month=spent)
    if api_key is not None and api_key.spend_cap is not None:
        spent = selectors.api_key_spent_this_month(api_key=api_key)
        if spent + price > api_key.spend_cap:
            raise refuse(_("This API key reached its monthly spend cap of %(cap)s.") % {"cap": api_key.spend_cap},
                         code="spend_cap_reached", price=price, spend_cap=api_key.spend_cap)


def _hold(*, user: User, price: Decimal) -> Decimal | None:
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
        raise refuse(_("Insufficient funds: this call costs %(price)s and your balance is %(balance)s.")
                     % {"price": price, "balance": available}, code="insufficient_funds", price=price,
                     balance=available)
    return None if row[0] is None else money(row[0])


@transaction.atomic(savepoint=False)
def charge_admit(*, subject: str, user: User, app: App | None, price: Decimal, api_key: ApiKey | None = None,
                 free_tier: bool = False, hardware: str = "", fresh: bool = False, defer_write: bool = False) -> Charge:
    """Hold `price` on the user's wallet and record the Charge, or raise 402 (rolling the caller back).

    A paid call is one conditional UPDATE of the wallet plus the Charge INSERT; budgets and key caps,
    when set, are checked under the row lock that UPDATE took. `fresh` skips the look-up for an
    existing charge (the subject was just made, e.g. a new prediction id). `defer_write` answers the Charge
    unsaved, for the caller to write with its own row, unless spend alerts must count it now.
    """
    if not fresh:
        existing = Charge.objects.filter(subject=subject).first()
        if existing:
            return existing
    price = money(price)
    monthly_budget = None
    capped = api_key is not None and api_key.spend_cap is not None
    org_id = api_key.org_id if api_key is not None else None
    if org_id is not None:  # an org key: the org's wallet pays (and its caps apply), not the user's
        org_hold(org_id=org_id, user=user, api_key=api_key, price=price)  # type: ignore[arg-type]
        capped = False
    elif price > 0:
        monthly_budget = _hold(user=user, price=price)
        if monthly_budget is not None or capped:
            _check_caps(monthly_budget=monthly_budget, user=user, api_key=api_key, price=price)
    charge = Charge(subject=subject, user=user, app=app, api_key=api_key, price=price, free_tier=free_tier,
                    hardware=hardware, org_id=org_id)
    alerts = price > 0 and (monthly_budget is not None or capped)
    if not defer_write or alerts:  # the alerts sum this month's charges, this one included
        charge.save(force_insert=True)
    if alerts:
        spend_alerts(monthly_budget=monthly_budget, user=user, api_key=api_key, price=price)
    return charge


@transaction.atomic(savepoint=False)
def prediction_admit(*, prediction: BillablePrediction, quote_id: str | None = None, max_price: object = None,
                     fresh: bool = False, review_run: bool = False, defer_write: bool = False) -> Admission:
    """Fix the prediction's price and hold it. Raises config.errors.PaymentRequired (402) to refuse.

    `fresh=True` says the prediction row is being created in this transaction (no charge can exist yet).
    `review_run=True` (a moderator's test run from the admin) admits it at price 0: no hold is taken.
    `defer_write=True` (with `fresh`): the Charge comes back in `Admission.unwritten`, for the caller to write
    with the prediction in one statement; a free call then needs no transaction at all.
    """
    subject = f"prediction:{prediction.pk}"
    if not fresh:
        existing = Charge.objects.filter(subject=subject).first()
        if existing:
            return Admission(price=existing.price, currency=pricing.currency())
    user, app = prediction.user, prediction.app
    price, free_tier = _admission_price(user=user, app=app, quote_id=quote_id, max_price=max_price,
                                        now=timezone.now(), prediction=prediction, review_run=review_run)
    api_key = prediction.api_key if prediction.api_key_id else None
    charge = charge_admit(subject=subject, user=user, app=app, price=price, free_tier=free_tier, api_key=api_key,
                          hardware=prediction.hardware or "", fresh=True, defer_write=defer_write and fresh)
    return Admission(price=charge.price, currency=pricing.currency(),
                     unwritten=(charge,) if charge._state.adding else ())


@transaction.atomic
def training_admit(*, job: BillableJob, estimated_seconds: Decimal) -> Admission:
    """Hold the estimated price of a fine-tuning job (per compute second at the hardware rate)."""
    hardware = job.hardware or "cpu"
    charge = charge_admit(subject=f"training:{job.pk}", user=job.owner, app=None, hardware=hardware,
                          price=pricing.training_price(seconds=estimated_seconds, hardware=hardware))
    return Admission(price=charge.price, currency=pricing.currency())


# --- Settlement and release: one charge -------------------------------------------------------------------

def _charge_locked(subject: str) -> Charge | None:
    return Charge.objects.select_for_update(of=("self",)).select_related("app", "user").filter(subject=subject).first()


def _owner_call(charge: Charge) -> bool:
    """The app's owner running it: past their allowance they pay only the compute used (cost C), to the platform."""
    return charge.app is not None and charge.user_id == charge.app.owner_id


def _settlement_lines(charge: Charge, amount: Decimal, *, to_developer: bool,
                      account: dict[tuple[str, int | None], Account]) -> list[tuple[Account, Decimal]]:
    """The wallet pays `amount`: to the developer and the platform (fee split), or all to the platform."""
    lines = [(account[payer_key(charge)], amount)]
    if to_developer and charge.app is not None:
        share, fee = pricing.fee_split(amount)
        lines += [(account[earner_key(charge.app)], -share),
                  (account[(AccountKind.PLATFORM_FEES, None)], -fee)]
    else:
        lines.append((account[(AccountKind.PLATFORM_FEES, None)], -amount))
    return lines


def _settle(charge: Charge, *, amount: Decimal, to_developer: bool, prediction_id: str) -> None:
    """The hold ends; `amount` (at most the price) is debited from the wallet to the developer and the platform."""
    if charge.price <= 0:
        return
    payer_rows(payer_key(charge)).update(held=F("held") - charge.price)
    if amount <= 0:
        return
    pairs: list[tuple[str, int | None]] = [payer_key(charge), (AccountKind.PLATFORM_FEES, None)]
    if to_developer and charge.app is not None:
        pairs.append(earner_key(charge.app))
    account = payer_accounts(pairs)
    book(kind=TransactionKind.SETTLE, key=f"settle:{charge.subject}", user=charge.user, app=charge.app,
         prediction_id=prediction_id, lines=_settlement_lines(charge, amount, to_developer=to_developer,
                                                              account=account),
         memo=charge.app.name if charge.app else charge.subject)


def _cost_memo(seconds: Decimal, hardware: str) -> str:
    return _("%(s)s s on %(hw)s") % {"s": seconds, "hw": hardware}


def _book_cost(charge: Charge, *, seconds: Decimal, hardware: str, prediction_id: str) -> None:
    """Inference cost C = compute seconds × the hardware class's rate, booked once per charge."""
    cost = pricing.compute_cost(seconds=seconds, hardware=hardware)
    charge.compute_seconds, charge.hardware, charge.cost = seconds, hardware or charge.hardware, cost
    if cost > 0:
        book(kind=TransactionKind.COST, key=f"cost:{charge.subject}", app=charge.app, user=charge.user,
             prediction_id=prediction_id, memo=_cost_memo(seconds, hardware),
             lines=list(zip(accounts_get((AccountKind.INFERENCE_COST, None), (AccountKind.COMPUTE_PAYABLE, None)),
                            (cost, -cost), strict=True)))


Charged = Callable[[Charge, Decimal], "tuple[Decimal, bool] | None"]


def _release(_charge: Charge, _cost: Decimal) -> None:
    return None


def _close(subject: str, *, charged: Charged, seconds: object = None, hardware: str = "",
           prediction_id: str = "") -> Decimal:
    """Close a held charge exactly once (under its row lock) and answer what the user paid.

    `charged(charge, cost)` says how much of the held price is charged and whether the developer earns it (else
    the platform does); None releases the hold: nothing is charged and no money moves. The compute used, when
    given, is booked as the platform's cost C either way.
    """
    charge = _charge_locked(subject)
    if charge is None or charge.status != ChargeStatus.HELD:
        return ZERO
    hardware = hardware or "cpu"
    used = None if seconds is None else Decimal(str(seconds or 0))
    outcome = charged(charge, pricing.compute_cost(seconds=used, hardware=hardware))
    if outcome is None:
        if charge.price > 0:
            payer_rows(payer_key(charge)).update(held=F("held") - charge.price)
        charge.status = ChargeStatus.RELEASED
    else:
        _settle(charge, amount=outcome[0], to_developer=outcome[1], prediction_id=prediction_id)
        charge.status = ChargeStatus.SETTLED
    charge.settled_at = timezone.now()
    fields = ["status", "settled_at"]
    if used is not None:
        _book_cost(charge, seconds=used, hardware=hardware, prediction_id=prediction_id)
        fields = CHARGE_CLOSE_FIELDS
    charge.save(update_fields=fields)
    return ZERO if outcome is None else outcome[0]


def _call_amount(charge: Charge, cost: Decimal) -> Decimal:
    """What a successful call pays: its price, or for the owner's own call the compute it used (at most the hold)."""
    return min(charge.price, cost) if _owner_call(charge) else charge.price


def _call_charged(charge: Charge, cost: Decimal) -> tuple[Decimal, bool]:
    return _call_amount(charge, cost), not _owner_call(charge)


@transaction.atomic
def prediction_settle(*, prediction: BillablePrediction) -> None:
    """Once per prediction: the hold becomes a debit, a developer earning, a platform fee; cost C is booked."""
    _close(f"prediction:{prediction.pk}", charged=_call_charged, seconds=prediction.compute_seconds,
           hardware=prediction.hardware, prediction_id=str(prediction.pk))


@transaction.atomic
def prediction_release(*, prediction: BillablePrediction) -> None:
    """The prediction failed or was canceled: release its hold. Users never pay for failures.

    The compute it burned is still the platform's cost C, so that is booked.
    """
    _close(f"prediction:{prediction.pk}", charged=_release, seconds=prediction.compute_seconds,
           hardware=prediction.hardware, prediction_id=str(prediction.pk))


@transaction.atomic
def prediction_settle_partial(*, prediction: BillablePrediction, fraction: Decimal) -> Decimal:
    """A canceled stream keeps the text it produced, so it pays that share of its price (the rest goes back).

    Answers the amount charged. Nothing produced (fraction 0) is a plain release.
    """
    def charged(charge: Charge, _cost: Decimal) -> tuple[Decimal, bool] | None:
        amount = money(charge.price * min(max(Decimal(fraction), ZERO), Decimal("1")))
        return (amount, True) if amount > 0 else None

    return _close(f"prediction:{prediction.pk}", charged=charged, seconds=prediction.compute_seconds,
                  hardware=prediction.hardware, prediction_id=str(prediction.pk))


@transaction.atomic
def training_settle(*, job: BillableJob, compute_seconds: Decimal) -> None:
    """Settle a finished job at the hardware rate per compute second, never above what was held."""
    hardware = job.hardware or "cpu"
    price = pricing.training_price(seconds=compute_seconds, hardware=hardware)
    _close(f"training:{job.pk}", charged=lambda charge, _cost: (min(charge.price, price), False),
           seconds=compute_seconds, hardware=hardware)


@transaction.atomic
def training_release(*, job: BillableJob) -> None:
    """Release a failed or canceled job's hold: users never pay for failures."""
    _close(f"training:{job.pk}", charged=_release)


# --- Settlement and release: a worker's batch, set-based ----------------------------------------------------

_CHARGE_ROW = RowShape(Charge, "c")
_CHARGE_APP_ROW = RowShape(App, "a")


@functools.cache
def _held_charges_sql() -> str:
    # Only model metadata is formatted in; the values are parameters.
    return (f"SELECT {_CHARGE_ROW.select}, {_CHARGE_APP_ROW.select} FROM {_CHARGE_ROW.table} c "  # noqa: S608
            f"LEFT JOIN {_CHARGE_APP_ROW.table} a ON a.id = c.app_id "
            "WHERE c.subject = ANY(%s) AND c.status = %s ORDER BY c.id FOR UPDATE OF c")


def _held_charges_locked(subjects: list[str]) -> list[Charge]:
    """The charges of `subjects` still held, locked, in id order, with their apps.

    On PostgreSQL one statement written once per process (`config.hot_rows`): compiling the queryset cost the
    batch runner more CPU than PostgreSQL spent answering it (py-spy of a worker at one caller)."""
    if connection.vendor != "postgresql":
        return list(Charge.objects.select_for_update(of=("self",)).select_related("app")
                    .filter(subject__in=subjects, status=ChargeStatus.HELD).order_by("pk"))
    charges = []
    for row in fetch_all(_held_charges_sql(), [subjects, ChargeStatus.HELD]):
        charge = _CHARGE_ROW.build(row)
        charge.app = (_CHARGE_APP_ROW.build(row, len(_CHARGE_ROW))  # type: ignore[attr-defined]
                      if charge.app_id is not None else None)  # type: ignore[attr-defined]
        charges.append(charge)
    return charges  # type: ignore[return-value]


class _AccountsOnFirstUse(dict[tuple[str, int | None], Account]):
    """A batch's ledger accounts, read in one query when its first posting needs one: a batch of free calls
    without a compute cost posts nothing, so it reads none."""

    def __init__(self, pairs: list[tuple[str, int | None]]):
        super().__init__()
        self._pairs = pairs

    def __missing__(self, key: tuple[str, int | None]) -> Account:
        if self._pairs:
            self.update(payer_accounts(self._pairs))
            self._pairs = []
        return dict.__getitem__(self, key)


def predictions_finish_batch(*, succeeded: Sequence[BillablePrediction], failed: Sequence[BillablePrediction]) -> None:
    """Settle the succeeded and release the failed predictions of one worker batch, in the caller's transaction.

    Set-based: one locking read of the held charges, one INSERT of the ledger transactions, one of their
    entries, one UPDATE of the charges and one wallet UPDATE per distinct user, however many calls the
    batch holds. Exactly once: only charges still `held` are touched, under their row locks. The amounts are
    the ones `prediction_settle` and `prediction_release` would book one by one.
    """
    by_subject = {f"prediction:{p.pk}": (p, True) for p in succeeded}
    by_subject.update({f"prediction:{p.pk}": (p, False) for p in failed})
    if not by_subject:
        return
    charges = _held_charges_locked(list(by_subject))
    if not charges:
        return
    pairs: set[tuple[str, int | None]] = {(AccountKind.PLATFORM_FEES, None), (AccountKind.INFERENCE_COST, None),
                                           (AccountKind.COMPUTE_PAYABLE, None)}
    for charge in charges:
        if charge.price > 0 and by_subject[charge.subject][1]:
            pairs.add(payer_key(charge))
            if charge.app is not None:
                pairs.add(earner_key(charge.app))
    account = _AccountsOnFirstUse(sorted(pairs, key=lambda pair: (pair[0], pair[1] or 0)))
    now = timezone.now()
    postings: list[tuple[Transaction, list[tuple[Account, Decimal]]]] = []
    wallet_changes: dict[tuple[str, int | None], list[Decimal]] = {}  # payer -> [held change, balance change]
    for charge in charges:
        prediction, ok = by_subject[charge.subject]
        prediction_id = str(prediction.pk)
        seconds = Decimal(str(prediction.compute_seconds or 0))
        hardware = prediction.hardware or "cpu"
        cost = pricing.compute_cost(seconds=seconds, hardware=hardware)
        if charge.price > 0:
            change = wallet_changes.setdefault(payer_key(charge), [ZERO, ZERO])
            change[0] -= charge.price
            amount = _call_amount(charge, cost)
            if ok and amount > 0:
                change[1] -= amount
                lines = _settlement_lines(charge, amount, to_developer=not _owner_call(charge), account=account)
                postings.append((Transaction(kind=TransactionKind.SETTLE, idempotency_key=f"settle:{charge.subject}",
                                             user_id=charge.user_id, app=charge.app, prediction_id=prediction_id,
                                             memo=(charge.app.name if charge.app else charge.subject)[:300]), lines))
        if cost > 0:
            postings.append((Transaction(kind=TransactionKind.COST, idempotency_key=f"cost:{charge.subject}",
                                         user_id=charge.user_id, app=charge.app, prediction_id=prediction_id,
                                         memo=_cost_memo(seconds, hardware)),
                             [(account[(AccountKind.INFERENCE_COST, None)], cost),
                              (account[(AccountKind.COMPUTE_PAYABLE, None)], -cost)]))
        charge.compute_seconds, charge.hardware, charge.cost = seconds, hardware, cost
        charge.status = ChargeStatus.SETTLED if ok else ChargeStatus.RELEASED
        charge.settled_at = now
    for _txn, lines in postings:
        if sum((amount for _account, amount in lines), ZERO) != ZERO:
            raise ValueError(f"Unbalanced batch posting: {lines}")
    if postings:
        created = Transaction.objects.bulk_create([txn for txn, _lines in postings])
        Entry.objects.bulk_create([Entry(transaction=txn, account=line_account, amount=money(amount))
                                   for txn, (_t, lines) in zip(created, postings, strict=True)
                                   for line_account, amount in lines])
    for payer in sorted(wallet_changes, key=lambda k: (k[0], k[1] or 0)):  # a fixed order: no lock cycles
        held, balance = wallet_changes[payer]
        payer_rows(payer).update(held=F("held") + held, balance=F("balance") + balance)
    bulk_update_rows(charges, CHARGE_CLOSE_FIELDS)  # one UPDATE … FROM (VALUES …), not a CASE per row and field
