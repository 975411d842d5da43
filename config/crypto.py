"""Encryption at rest for prediction inputs and outputs: Fernet tokens with key rotation (MultiFernet).

`settings.PREDICTION_ENCRYPTION_KEYS` lists Fernet keys: the first encrypts, every one decrypts. To rotate,
put a new key first, run `manage.py rotate_prediction_key` (re-encrypts every row with the new key), then drop
the old key. Production refuses to start without the setting (config/settings.py); development derives a key
from SECRET_KEY.

The model field that uses these is `config.fields.EncryptedJSONField`. This module imports no Django model code:
config/settings.py uses `derive_key` and `parse_keys`.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

TOKEN_PREFIX = "gAAAAA"  # noqa: S105 - not a secret: every Fernet token (version byte 0x80, then a 64-bit timestamp) starts like this
_lock = threading.Lock()
_cache: dict[tuple[str, ...], MultiFernet] = {}


class EncryptionKeyError(RuntimeError):
    """A stored value could not be decrypted with any configured key."""


def derive_key(secret: str) -> str:
    """A Fernet key derived from a secret string (development and tests only; production sets real keys)."""
    digest = hashlib.sha256(b"modelmarket prediction encryption:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def generate_key() -> str:
    return Fernet.generate_key().decode()


def parse_keys(raw: str | list[str] | tuple[str, ...]) -> list[str]:
    """The keys from a comma-separated string (or a list), each checked to be a Fernet key."""
    keys = [key.strip() for key in (raw.split(",") if isinstance(raw, str) else raw) if key and key.strip()]
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ValueError("Each PREDICTION_ENCRYPTION_KEYS entry must be a Fernet key (32 url-safe base64 "
                             "bytes, e.g. from `manage.py rotate_prediction_key --new-key`).") from exc
    return keys


def _keys() -> tuple[str, ...]:
    keys = tuple(parse_keys(settings.PREDICTION_ENCRYPTION_KEYS))
    if not keys:
        raise EncryptionKeyError("PREDICTION_ENCRYPTION_KEYS is empty.")
    return keys


def multi_fernet() -> MultiFernet:
    """The MultiFernet for the keys configured now (cached per key list, so tests can swap keys)."""
    keys = _keys()
    found = _cache.get(keys)
    if found is None:
        with _lock:
            found = _cache.setdefault(keys, MultiFernet([Fernet(key) for key in keys]))
    return found


def primary_fernet() -> Fernet:
    return Fernet(_keys()[0])


def is_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def encrypt_json(value: Any) -> str:
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except ValueError as exc:  # NaN/Infinity: PostgreSQL's jsonb refused them too; callers catch DatabaseError
        from django.db import DataError

        raise DataError(f"The value cannot be stored as JSON: {exc}") from exc
    return multi_fernet().encrypt(text.encode()).decode()


def decrypt_json(token: str) -> Any:
    try:
        return json.loads(multi_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise EncryptionKeyError("A stored prediction value could not be decrypted with any configured key "
                                 "(PREDICTION_ENCRYPTION_KEYS).") from exc


def rotate_token(token: str) -> str | None:
    """The token re-encrypted with the first key, or None when it already is."""
    try:
        primary_fernet().decrypt(token.encode())
        return None
    except InvalidToken:
        pass
    try:
        return multi_fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise EncryptionKeyError("A stored prediction value could not be decrypted with any configured key.") from exc

