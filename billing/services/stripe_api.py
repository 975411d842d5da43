"""stripe_api"""
from django.conf import settings
from django.utils.translation import gettext as _

from config.api import ServiceUnavailable

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
