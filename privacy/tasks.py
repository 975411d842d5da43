"""Celery tasks of privacy: thin wrappers that take ids and call one service (acks_late, as elsewhere)."""
from celery import shared_task


@shared_task(name="privacy.tasks.retention_purge", bind=True, acks_late=True, reject_on_worker_lost=True,
             ignore_result=True)
def retention_purge(self) -> int:
    """Beat, hourly: erase inputs and outputs past each app's retention (idempotent: erased rows are skipped)."""
    from .services import retention_purge as purge

    return purge()


@shared_task(name="privacy.tasks.export_build", bind=True, acks_late=True, reject_on_worker_lost=True,
             ignore_result=True, max_retries=0)
def export_build(self, export_id: str) -> None:
    from .services import export_build as build

    build(export_id=export_id)
