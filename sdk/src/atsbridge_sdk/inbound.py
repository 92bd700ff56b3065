"""Helpers for a plugin's webhook receiver (``atsbridge_webhook_receive``).

Pure functions: HMAC signatures compared in constant time, and JSON field access that
raises ``PayloadError`` naming the field (``payload.application.candidate.id``), so a
malformed delivery is answered 400 with one clear line instead of a ``KeyError``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from typing import Any

from atsbridge.errors import PayloadError

__all__ = [
    "hmac_sha256_hex",
    "json_object",
    "matches_any",
    "opt_field",
    "req_id",
    "req_str",
]


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of ``message`` keyed with ``secret`` (UTF-8)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def matches_any(expected: Iterable[str], offered: Iterable[str]) -> bool:
    """True when any offered value equals any expected one, each compared in constant
    time (every pair is compared, so timing says nothing about which one matched)."""
    found = False
    wanted = [e.lower().encode() for e in expected]
    for value in offered:
        candidate = value.strip().lower().encode()
        for digest in wanted:
            found |= hmac.compare_digest(digest, candidate)
    return found


def json_object(body: bytes, record: str) -> dict[str, Any]:
    """The body parsed as a JSON object, else ``PayloadError`` on field ``(body)``."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(record, "(body)", f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise PayloadError(record, "(body)", f"a JSON object expected, got {_kind(value)}")
    return value


def opt_field(obj: Mapping[str, Any], path: str, record: str) -> Any:
    """The value at dotted ``path`` (None when a step is absent or null); a step through
    something that is not an object is a ``PayloadError`` naming that step."""
    current: Any = obj
    walked: list[str] = []
    for step in path.split("."):
        if current is None:
            return None
        if not isinstance(current, Mapping):
            where = ".".join(walked) or "(body)"
            raise PayloadError(record, where, f"an object expected, got {_kind(current)}")
        current = current.get(step)
        walked.append(step)
    return current


def req_id(obj: Mapping[str, Any], path: str, record: str) -> str:
    """An id at ``path``: a non-empty string or an integer (not a bool), as a string."""
    value = opt_field(obj, path, record)
    if value is None:
        raise PayloadError(record, path, "missing")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PayloadError(record, path, f"an id expected, got {_kind(value)}")
    text = str(value).strip()
    if not text:
        raise PayloadError(record, path, "empty")
    return text


def req_str(obj: Mapping[str, Any], path: str, record: str) -> str:
    """A non-empty string at ``path``."""
    value = opt_field(obj, path, record)
    if value is None:
        raise PayloadError(record, path, "missing")
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(record, path, f"a non-empty string expected, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
