"""Forum background work: notification fan-out after a post is committed."""
from celery import shared_task


@shared_task(bind=True, max_retries=5, default_retry_delay=10, queue="default")
def post_notify_task(self, post_id: int) -> int:
    """Idempotent: notification dedupe keys make a retry or a second run notify nobody twice."""
    from .services import post_notify

    try:
        return post_notify(post_id=post_id)
    except Exception as exc:  # noqa: BLE001 - retried, then surfaced by Celery
        raise self.retry(exc=exc, countdown=min(600, 10 * 2 ** self.request.retries)) from exc
