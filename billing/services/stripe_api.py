"""The Stripe SDK client every billing call goes through, and the rule that no Stripe call runs in a DB transaction.

A network call inside a transaction keeps its row locks (a user's wallet, a stored event) for as long as Stripe
takes to answer, and a rollback after Stripe acted forgets what Stripe did. So each flow writes what it needs
first and commits, then calls Stripe, then records the answer in a second short transaction (checkout), or
fetches from Stripe before it takes any lock (events, Connect). The client's HTTP layer checks the rule at every
request: with STRIPE_CALLS_IN_TRANSACTION = "raise" (development and tests) a call inside a transaction raises
`StripeCallInTransaction`; with "warn" (production) it is logged as an error and goes ahead.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

from config.errors import Unavailable

if TYPE_CHECKING:
    import stripe

logger = logging.getLogger(__name__)
_allowed: ContextVar[bool] = ContextVar("stripe_call_in_transaction_allowed", default=False)


class StripeCallInTransaction(RuntimeError):
    """A Stripe request was made inside a database transaction (see the module's docstring)."""


def in_transaction(using: str = DEFAULT_DB_ALIAS) -> bool:
    """True inside a real transaction; the block a test case wraps each test in does not count."""
    return any(not getattr(block, "_from_testcase", False) for block in connections[using].atomic_blocks)


@contextmanager
def stripe_call_in_transaction_allowed() -> Iterator[None]:
    """The one documented exception (an admin refund that must stand or fall with the Stripe refund)."""
    token = _allowed.set(True)
    try:
        yield
    finally:
        _allowed.reset(token)


def _check_outside_transaction(method: str, url: str) -> None:
    if _allowed.get() or not in_transaction():
        return
    message = f"Stripe request {method.upper()} {url} made inside a database transaction"
    if settings.STRIPE_CALLS_IN_TRANSACTION == "raise":
        raise StripeCallInTransaction(message)
    logger.error(message, stack_info=True)


def _guarded(http_client: Any) -> Any:
    """Wrap the SDK's HTTP client so that every request (plain or streamed) checks the rule first."""
    for name in ("request_with_retries", "request_stream_with_retries"):
        original: Callable[..., Any] = getattr(http_client, name)

        def request(method: str, url: str, *args: Any, _original: Callable[..., Any] = original,
                    **kwargs: Any) -> Any:
            _check_outside_transaction(method, url)
            return _original(method, url, *args, **kwargs)

        setattr(http_client, name, request)
    return http_client


def stripe_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def stripe_client() -> stripe.StripeClient:
    """The official SDK's client; STRIPE_API_BASE points it at the fake server in tests."""
    import stripe

    if not stripe_configured():
        raise Unavailable(_("Card payments are not configured on this site."), code="payments_not_configured")
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": base, "connect": base,
                                                                           "files": base, "meter_events": base},
                               max_network_retries=2, http_client=_guarded(stripe.new_default_http_client()))


class HasId(Protocol):
    @property
    def id(self) -> str: ...


def expandable_id(value: str | HasId | None) -> str:
    """The id of a field Stripe sends as an id or, when expanded, as the object itself."""
    if value is None or isinstance(value, str):
        return value or ""
    return value.id or ""


def site_url(path: str) -> str:
    """An absolute URL on this site from SITE_URL (never from the request's Host header)."""
    return str(settings.SITE_URL).rstrip("/") + path
