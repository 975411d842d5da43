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

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiKey):
            ident = f"key-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
