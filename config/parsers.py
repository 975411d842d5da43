"""The API's JSON parser: bounded, strict and PostgreSQL-safe before any view sees the data.

One place refuses what would otherwise surface later as a 500: nesting deep enough to hit Python's recursion
limit, numbers too big for `int()`/`float()`, lone surrogates and NUL characters (PostgreSQL stores neither),
bodies over DATA_UPLOAD_MAX_MEMORY_SIZE, and charsets other than UTF-8.
"""
import json
import math

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 64
MAX_NUMBER_DIGITS = 40


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "too_large"
    default_detail = gettext_lazy("The request body is too large.")


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Scan brackets outside strings without recursion: linear in the body, stops at the first excess."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ValueError("number too large")
    return int(text)


def _finite_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS * 2:
        raise ValueError("number too long")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def unstorable_text(value, *, root: str = "") -> tuple[str, str] | None:
    """(where, reason) for the first string PostgreSQL cannot store (NUL, lone surrogate), or None.

    `where` is a dotted path such as `input.text` (keys are checked too); iterative, so depth costs nothing.
    """
    stack: list[tuple[str, object]] = [(root, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return where or "non_field_errors", _("NUL (\\u0000) characters are not allowed.")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return (where or "non_field_errors",
                        _("Unpaired surrogate characters (\\ud800–\\udfff) are not allowed."))
        elif isinstance(item, dict):
            for key, child in item.items():
                path = f"{where}.{key}" if where else str(key)
                stack.append((path, key))
                stack.append((path, child))
        elif isinstance(item, list):
            stack.extend((f"{where}.{index}" if where else str(index), child) for index, child in enumerate(item))
    return None


def loads_strict(raw: bytes | str):
    """json.loads with the API's bounds; raises ValueError with a readable reason."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if json_depth_exceeds(raw, MAX_JSON_DEPTH):
        raise ValueError(_("JSON is nested more than %(limit)d levels deep.") % {"limit": MAX_JSON_DEPTH})
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(_("The body is not valid UTF-8.")) from None
    try:
        data = json.loads(text, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_refuse_constant)
    except RecursionError:  # pragma: no cover - the depth scan above comes first
        raise ValueError(_("JSON is nested too deeply.")) from None
    except ValueError as exc:
        raise ValueError(_("JSON parse error: %(error)s") % {"error": exc}) from None
    return data


class StrictJSONParser(JSONParser):
    """DRF's default parser (settings.REST_FRAMEWORK): refuses, as a 400 or 413, what would crash later."""

    def parse(self, stream, media_type=None, parser_context=None):
        charset = ""
        if media_type and "charset=" in media_type:
            charset = media_type.split("charset=", 1)[1].split(";")[0].strip().strip('"').lower()
        if charset and charset not in ("utf-8", "utf8"):
            raise exceptions.UnsupportedMediaType(media_type, _("Send JSON as UTF-8 (charset=utf-8)."))
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        read_size = -1 if limit is None else limit + 1
        raw = b"" if stream is None else stream.read(read_size)
        if limit is not None and len(raw) > limit:
            raise RequestTooLarge(_("The request body is larger than %(limit)d bytes.") % {"limit": limit})
        if not raw.strip():
            raise exceptions.ParseError(_("The request body is empty; send a JSON object."))
        try:
            data = loads_strict(raw)
        except ValueError as exc:
            raise exceptions.ParseError(str(exc)) from None
        problem = unstorable_text(data)
        if problem:
            where, reason = problem
            raise exceptions.ValidationError({where: [reason]})
        return data
