"""Billing's Celery tasks: thin, idempotent, given ids."""
from celery import shared_task

from . import services


@shared_task(bind=True, max_retries=8, default_retry_delay=10)
def stripe_event_process(self, event_pk: int) -> None:
    """Process a stored Stripe event; retried when Stripe cannot be reached for the re-fetch."""
    import stripe

    try:
        services.stripe_event_process(event_pk=event_pk)
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        raise self.retry(exc=exc, countdown=min(600, 10 * 2 ** self.request.retries)) from exc


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def payouts_run(self) -> int:
    """Scheduled by django-celery-beat: transfer developers' accrued earnings above the threshold."""
    import stripe

    try:
        return len(services.payouts_run())
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        raise self.retry(exc=exc, countdown=min(3600, 60 * 2 ** self.request.retries)) from exc
