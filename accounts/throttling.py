"""Rate limits per API key (and per user or IP for the browser session and anonymous callers).

Each key has its own budget, so one busy integration cannot starve the owner's other keys. Over the
limit DRF raises `Throttled`, which our exception handler answers as 429 with `Retry-After`.
"""
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self) -> str | None:
        # Read the settings on every request (not once at import) so the rate can change without a restart
        # of the class, e.g. per environment or in tests.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        """A key's own rate (set by moderators in the admin) wins over the default."""
        if isinstance(request.auth, ApiKey) and request.auth.rate_limit:
            self.rate = request.auth.rate_limit
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiKey):
            ident = f"key-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def api_key_rate_and_usage(api_key: ApiKey) -> tuple[str, int]:
    """(the key's rate, requests counted in its current window), read from the throttle's own history."""
    throttle = ApiKeyRateThrottle()
    rate = api_key.rate_limit or throttle.get_rate() or ""
    if not rate:
        return "", 0
    _num, duration = throttle.parse_rate(rate)
    history = throttle.cache.get(throttle.cache_format % {"scope": throttle.scope, "ident": f"key-{api_key.pk}"}) or []
    now = throttle.timer()
    return rate, sum(1 for stamp in history if stamp > now - duration)
