"""Writes for data protection: erasing predictions' data, retention, key rotation, exports, account deletion.

What is kept on deletion and why (docs/privacy/index.md says the same to users): the user row stays, anonymised,
because the double-entry ledger, charges, payouts and other users' records point at it (PROTECT); the wallet and
every posting stay as they are, so `check_ledger` balances before and after.
"""
from __future__ import annotations

import datetime as dt
import logging
import tempfile
import uuid
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import ApiKey, AuditLog, Notification, Organisation, User
from accounts.org_selectors import orgs_last_owned_by, orgs_only_member
from accounts.org_services import memberships_end
from billing.models import Wallet
from billing.selectors import org_balance
from community.models import CategoryWatch, ThreadRead, ThreadWatch
from config.crypto import rotate_token
from config.errors import Conflict, InvalidInput
from inference.erasure import prediction_data_erase
from inference.models import TERMINAL_STATUSES, Prediction, PredictionStatus, WebhookDelivery, WebhookSecret
from inference.services import prediction_cancel
from marketplace.models import App, AppStatus

from .models import DataExport, ExportStatus

logger = logging.getLogger(__name__)
LIVE_STATUSES = (PredictionStatus.QUEUED, PredictionStatus.STARTING, PredictionStatus.PROCESSING)


# --- Predictions' data -----------------------------------------------------------------------------------

def prediction_forget(*, prediction_id: Any) -> bool:
    """Erase one prediction's input and output now (retention, `store: false`, deletion). True if it had any."""
    return prediction_data_erase(prediction_ids=[prediction_id]) > 0


def _erase_in_batches(queryset: Any, *, batch: int) -> int:
    erased = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch])
        if not ids:
            return erased
        erased += prediction_data_erase(prediction_ids=ids)


def retention_purge(*, now: dt.datetime | None = None) -> int:
    """Erase inputs and outputs past each app's retention, and `store: false` answers nobody collected.

    One short UPDATE per batch (settings.PRIVACY_PURGE_BATCH_SIZE), per distinct retention period in use, so no
    long-held locks. Prices, metrics and the ledger stay. Answers how many predictions were erased.
    """
    now = now or timezone.now()
    batch = settings.PRIVACY_PURGE_BATCH_SIZE
    finished = Prediction.objects.filter(data_removed=False, status__in=TERMINAL_STATUSES, completed_at__isnull=False)
    erased = 0
    for days in sorted(set(App.objects.values_list("retention_days", flat=True))):
        expired = finished.filter(app__retention_days=days, completed_at__lte=now - dt.timedelta(days=days))
        erased += _erase_in_batches(expired, batch=batch)
    unstored = finished.filter(store=False, completed_at__lte=now - dt.timedelta(
        seconds=settings.PRIVACY_UNSTORED_MAX_SECONDS))
    erased += _erase_in_batches(unstored, batch=batch)
    exports_expire(now=now)
    return erased


def prediction_keys_rotate(*, batch_size: int = 500) -> int:
    """Re-encrypt every stored input and output with the first key of PREDICTION_ENCRYPTION_KEYS.

    Raw SQL in primary-key batches (the ciphertext itself is read and written, never the plain value);
    resumable: rows already on the first key are left alone. Answers how many rows were rewritten.
    """
    table = connection.ops.quote_name(Prediction._meta.db_table)
    pk_field = Prediction._meta.pk
    assert pk_field is not None
    last: Any = None
    rewritten = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            where, params = ("", []) if last is None else ("WHERE id > %s", [last])
            cursor.execute(f"SELECT id, input, output FROM {table} {where} ORDER BY id LIMIT %s",  # noqa: S608
                           [*params, batch_size])
            rows = cursor.fetchall()
            if not rows:
                return rewritten
            updates = []
            for pk, raw_input, raw_output in rows:
                new_input = rotate_token(raw_input) if raw_input else None
                new_output = rotate_token(raw_output) if raw_output else None
                if new_input or new_output:
                    updates.append((new_input or raw_input, new_output or raw_output, pk))
            if updates:
                cursor.executemany(f"UPDATE {table} SET input = %s, output = %s WHERE id = %s", updates)  # noqa: S608
            rewritten += len(updates)
            last = rows[-1][0]


# --- Data export -----------------------------------------------------------------------------------------

@transaction.atomic
def export_request(*, user: User) -> DataExport:
    """Start an export of everything the user owns (a Celery job); one still in progress is answered instead."""
    User.objects.select_for_update().filter(pk=user.pk).first()  # two clicks at once make one export
    pending = DataExport.objects.filter(user=user, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]).first()
    if pending is not None:
        return pending
    export = DataExport.objects.create(user=user)
    export_id = str(export.pk)
    transaction.on_commit(lambda: _enqueue_export(export_id))
    return export


def _enqueue_export(export_id: str) -> None:
    from .tasks import export_build as task

    task.apply_async(args=(export_id,), queue="default")


def export_build(*, export_id: str) -> DataExport | None:
    """Worker side: write the zip to private storage and mark the export ready (idempotent on redelivery)."""
    from .exporter import export_write

    with transaction.atomic():
        export = DataExport.objects.select_for_update().select_related("user").filter(pk=export_id).first()
        if export is None or export.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
            return export
        export.status = ExportStatus.RUNNING
        export.save(update_fields=["status"])
    try:
        with tempfile.TemporaryFile() as target:
            export_write(user=export.user, target=target)
            size = target.tell()
            target.seek(0)
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            name = export.file.field.generate_filename(export, f"modelmarket-export-{stamp}-{uuid.uuid4().hex[:8]}.zip")
            stored = export.file.storage.save(name, File(target))
    except Exception as exc:
        logger.exception("data export %s failed", export_id)
        DataExport.objects.filter(pk=export_id).update(status=ExportStatus.FAILED, finished_at=timezone.now(),
                                                       error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    now = timezone.now()
    DataExport.objects.filter(pk=export_id).update(
        status=ExportStatus.READY, file=stored, size=size, finished_at=now,
        expires_at=now + dt.timedelta(hours=settings.PRIVACY_EXPORT_TTL_HOURS))
    export.refresh_from_db()
    return export


def _export_discard(export: DataExport) -> None:
    name = export.file.name if export.file else None
    if name:
        try:
            export.file.storage.delete(name)
        except OSError:
            logger.warning("could not delete export file %s", export.file.name, exc_info=True)


def _exports_discard(exports: list[DataExport]) -> None:
    for export in exports:
        _export_discard(export)


def exports_expire(*, now: dt.datetime | None = None) -> int:
    """Delete the files of exports past their expiry; the rows stay, marked `expired`."""
    now = now or timezone.now()
    expired = list(DataExport.objects.filter(status=ExportStatus.READY, expires_at__lte=now))
    _exports_discard(expired)
    DataExport.objects.filter(pk__in=[e.pk for e in expired]).update(status=ExportStatus.EXPIRED, file="")
    return len(expired)


# --- Account deletion ------------------------------------------------------------------------------------

def account_delete(*, user: User, password: str) -> User:
    """Delete the account: personal data erased, the user row kept anonymised for the ledger.

    - Checked with the password (400 `wrong_password` otherwise); accounts without one set a password first.
    - Running predictions are canceled (their holds released), then every prediction's input and output erased.
    - Email, names, username, bio and website replaced; the password made unusable and the account inactive (so
      every session and login stops working); email addresses and connected accounts deleted; API keys revoked;
      notifications, watches, the webhook secret, webhook deliveries and data exports deleted; dataset files deleted.
    - Kept: the wallet, every ledger posting, charges and payouts (balanced books; amounts belong to the platform's
      accounting), reviews and forum posts (shown by "deleted user"). Published apps are suspended (no owner can
      maintain them); their history stays.
    - Organisations: the account leaves every org (memberships removed, its org API keys revoked), except that
      deletion is refused (409) while it would strand an org: as its last owner while others are members
      (`last_owner`: make another member owner first), or as its only member while the org's wallet holds money
      (`org_wallet_not_empty`: spend it first; nobody could ever reach it). An org left without members stays,
      empty, with its books and apps (its accrued earnings stay on its books; orgs have no payouts yet), and its
      pending invitations are deleted so nobody joins an org nobody manages.
    """
    if not password or not user.has_usable_password() or not user.check_password(password):
        message = _("The password is not correct.")
        raise InvalidInput(message, code="wrong_password", fields={"password": [message]})
    if user.deleted_at is not None:
        raise Conflict(_("This account was deleted already."), code="already_deleted")
    _orgs_departure_check(user)  # before anything changes (running calls are canceled next)
    for prediction in Prediction.objects.filter(user=user, status__in=LIVE_STATUSES):
        prediction_cancel(prediction=prediction, actor=user)
    exports = list(DataExport.objects.filter(user=user))
    with transaction.atomic():
        # Again under the orgs' row locks (what role changes take), so no owner change slips in between.
        list(Organisation.objects.select_for_update().filter(memberships__user=user).order_by("pk"))
        _orgs_departure_check(user)
        memberships_end(user=user)
        _anonymise(user)
        prediction_ids = Prediction.objects.filter(user=user, data_removed=False).values_list("pk", flat=True)
        prediction_data_erase(prediction_ids=list(prediction_ids))
        Prediction.objects.filter(user=user).exclude(webhook="").update(webhook="")
        WebhookDelivery.objects.filter(prediction__user=user).delete()
        App.objects.filter(owner=user, status__in=[AppStatus.PUBLISHED, AppStatus.IN_REVIEW]).update(
            status=AppStatus.SUSPENDED, status_reason=gettext_noop("The developer deleted their account."))
        DataExport.objects.filter(user=user).delete()
        transaction.on_commit(lambda: _exports_discard(exports))
        _datasets_erase(user)
        AuditLog.objects.create(actor=None, action="account_deleted", target_type="accounts.user",
                                target_id=str(user.pk), target_repr=user.username)
    return user


def _orgs_departure_check(user: User) -> None:
    """Refuse (409) to delete an account whose departure would strand an org (see `account_delete`)."""
    last_owned = orgs_last_owned_by(user=user)
    if last_owned:
        raise Conflict(
            _("You are the last owner of %(orgs)s, which has other members: make one of them owner (on the "
              "organisation's Members page) or remove them, then delete your account.")
            % {"orgs": ", ".join(org.name for org in last_owned)},
            code="last_owner", extra={"orgs": [org.slug for org in last_owned]})
    funded = [org for org in orgs_only_member(user=user) if sum(org_balance(org=org)) > 0]
    if funded:
        raise Conflict(
            _("You are the only member of %(orgs)s and its wallet still holds money: spend it, or invite someone and "
              "make them owner, then delete your account.")
            % {"orgs": ", ".join(org.name for org in funded)},
            code="org_wallet_not_empty", extra={"orgs": [org.slug for org in funded]})


def _anonymise(user: User) -> None:
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount

    handle = f"deleted-{uuid.uuid4().hex[:12]}"
    now = timezone.now()
    user.username = handle
    user.email = f"{handle}@deleted.invalid"
    user.first_name = user.last_name = user.bio = user.website = ""
    user.is_active = False
    user.is_staff = user.is_superuser = False
    user.deleted_at = now
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    EmailAddress.objects.filter(user=user).delete()
    SocialAccount.objects.filter(user=user).delete()
    ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    Notification.objects.filter(user=user).delete()
    ThreadWatch.objects.filter(user=user).delete()
    CategoryWatch.objects.filter(user=user).delete()
    ThreadRead.objects.filter(user=user).delete()
    WebhookSecret.objects.filter(user=user).delete()
    Wallet.objects.filter(user=user).update(payouts_enabled=False)
    _sessions_drop(user)


def _sessions_drop(user: User) -> None:
    """Delete the user's stored sessions (database sessions). Any other backend's sessions stop working anyway:
    they are bound to the password hash, which is gone, and the account is inactive."""
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return
    from django.contrib.sessions.models import Session

    mine = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=2000):
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            mine.append(session.session_key)
    Session.objects.filter(session_key__in=mine).delete()


def _datasets_erase(user: User) -> None:
    """Fine-tuning datasets: the uploaded files are deleted, the rows (jobs point at them) keep only figures."""
    model = django_apps.get_model("training", "Dataset")
    files = [(dataset.file.storage, dataset.file.name) for dataset in model.objects.filter(owner=user)
             if dataset.file.name]

    def delete_files() -> None:
        for storage, name in files:
            storage.delete(name)

    transaction.on_commit(delete_files)
    model.objects.filter(owner=user).update(file="", name="", labels={})
