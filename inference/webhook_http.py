"""Sending one webhook POST safely: resolve once, check the address, connect to that very address.

`urllib.request.urlopen` follows redirects (a 302 turns the POST into a GET to any host) and resolves the
name again when it connects, so a check made before could be undone by DNS rebinding. Here the name is
resolved once, every answer is checked, and the socket connects to the checked address while the Host
header and TLS SNI/certificate check keep the name. A 3xx is an answer like any other: never followed.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.parse
from dataclasses import dataclass

from django.utils.translation import gettext as _

# What the delivery log keeps of a receiver's answer: a few printable characters, never a page.
EXCERPT_CHARS = 64


@dataclass(frozen=True)
class WebhookTarget:
    """A webhook URL with the one address it was checked against."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


class WebhookRefused(Exception):
    """The URL may not be called; the message says why (shown in the delivery log)."""


def webhook_target_resolve(url: str, *, allow_private: bool) -> WebhookTarget:
    """Resolve `url`'s host once and pick an address that passes the SSRF guard, or raise WebhookRefused."""
    parsed = urllib.parse.urlsplit(url or "")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise WebhookRefused(_("Webhook URLs must be absolute http(s) URLs."))
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookRefused(_("Webhook URLs must be absolute http(s) URLs.")) from exc
    try:
        infos = socket.getaddrinfo(parsed.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise WebhookRefused(_("The webhook host %(host)s cannot be resolved.") % {"host": parsed.hostname}) from exc
    addresses = [info[4][0].split("%")[0] for info in infos]
    if not addresses:
        raise WebhookRefused(_("The webhook host %(host)s cannot be resolved.") % {"host": parsed.hostname})
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if not ip.is_global or ip.is_multicast:
                raise WebhookRefused(_("Webhooks cannot be sent to internal or reserved addresses."))
    path = parsed.path or "/"
    if parsed.query:
        path += "?" + parsed.query
    return WebhookTarget(scheme=parsed.scheme, host=parsed.hostname, port=port, path=path, address=addresses[0])


def _pinned_connection(target: WebhookTarget, timeout: float) -> http.client.HTTPConnection:
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(target.host, target.port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)

    def create_connection(address, timeout=None, source_address=None):
        # Connect to the checked address, not to whatever the name resolves to now.
        return socket.create_connection((target.address, address[1]), timeout, source_address)

    connection._create_connection = create_connection
    return connection


def excerpt(data: bytes) -> str:
    """A short, single-line, printable excerpt of a receiver's answer (no echo of whole pages)."""
    text = data[:EXCERPT_CHARS * 4].decode(errors="replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())[:EXCERPT_CHARS]


def webhook_post(target: WebhookTarget, *, body: bytes, headers: dict, timeout: float) -> tuple[int, str]:
    """POST `body` to the pinned target once. Returns (status, short excerpt); redirects are not followed."""
    connection = _pinned_connection(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, excerpt(response.read(EXCERPT_CHARS * 4))
    finally:
        connection.close()
