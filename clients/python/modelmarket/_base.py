"""What the sync and async clients share: configuration, retries, idempotency keys, SSE parsing."""
from __future__ import annotations

import json
import os
import random
import sys
import tomllib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ._errors import APIError, error_from_response

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
TERMINAL = frozenset({"succeeded", "failed", "canceled"})
USER_AGENT = "modelmarket-python/0.1.0"


def config_path() -> Path:
    """Where `modelmarket login` keeps the key: $XDG_CONFIG_HOME/modelmarket/config.toml (~/.config by default)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "modelmarket" / "config.toml"


def read_config() -> dict[str, Any]:
    path = config_path()
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def resolve(api_key: str | None, base_url: str | None) -> tuple[str | None, str]:
    """Arguments first, then the environment, then the file `modelmarket login` wrote."""
    stored = read_config()
    key = api_key or os.environ.get("MODELMARKET_API_KEY") or stored.get("api_key")
    url = base_url or os.environ.get("MODELMARKET_BASE_URL") or stored.get("base_url") or DEFAULT_BASE_URL
    return key, url.rstrip("/")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter; a server's Retry-After wins when it is longer."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 20.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        backoff = min(self.max_delay, self.base_delay * (2 ** attempt))
        delay = random.uniform(backoff / 2, backoff)
        if response is not None:
            header = response.headers.get("retry-after")
            try:
                if header is not None:
                    delay = max(delay, min(float(header), self.max_delay * 3))
            except ValueError:
                pass
        return delay

    def should_retry(self, attempt: int, response: httpx.Response | None) -> bool:
        if attempt >= self.max_retries:
            return False
        return response is None or response.status_code in RETRY_STATUSES


def headers_for(api_key: str | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def new_idempotency_key() -> str:
    return f"mm-py-{uuid.uuid4()}"


def decode(response: httpx.Response) -> Any:
    """The JSON body, or raise the typed error for a non-2xx answer."""
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        raise error_from_response(response.status_code, body, {k.lower(): v for k, v in response.headers.items()})
    return body


def clean(params: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}


def prediction_body(*, input: dict[str, Any], version: str | None, quote_id: str | None,  # noqa: A002
                    max_price: Any, webhook: str | None, webhook_events_filter: list[str] | None,
                    stream: bool, store: bool | None) -> dict[str, Any]:
    body: dict[str, Any] = {"input": input}
    body.update(clean({"version": version, "quote_id": quote_id, "webhook": webhook,
                       "webhook_events_filter": webhook_events_filter, "store": store}))
    if max_price is not None:
        body["max_price"] = str(max_price)
    if stream:
        body["stream"] = True
    return body


@dataclass
class ServerSentEvent:
    event: str
    data: str
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


class SSEDecoder:
    """Server-Sent Events per the HTML spec: `event:`, `data:` (joined by newlines), `id:`, comments, `retry:`."""

    def __init__(self) -> None:
        self.event, self.data, self.id = "", [], None  # type: ignore[var-annotated]

    def feed(self, line: str) -> ServerSentEvent | None:
        if line == "":
            if not self.data and not self.event:
                return None
            sse = ServerSentEvent(self.event or "message", "\n".join(self.data), self.id)
            self.event, self.data = "", []
            return sse
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        elif name == "id":
            self.id = value
        return None

    def iter(self, lines: Iterable[str]) -> Iterator[ServerSentEvent]:
        for line in lines:
            sse = self.feed(line.rstrip("\r"))
            if sse is not None:
                yield sse


def stream_piece(sse: ServerSentEvent) -> tuple[str, Any]:
    """What a prediction stream's event means: ('output', piece) | ('error', dict) | ('done', dict) | ('', None)."""
    if sse.event in ("output", "error", "done"):
        try:
            return sse.event, sse.json()
        except ValueError:
            return sse.event, sse.data
    return "", None


def is_tty() -> bool:
    return sys.stderr.isatty()


def raise_for_error_event(data: Any) -> None:
    if isinstance(data, dict) and data.get("status") not in ("failed", "canceled"):
        message = str(data.get("error") or "The stream ended with an error.")
        raise APIError(message, status=200, code="stream_error", body={"error": data})
