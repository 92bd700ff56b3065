"""Verifying SmartRecruiters webhook signatures, for a future receiver.

The plugin itself polls; this is here so whoever adds a webhook endpoint checks deliveries
the way SmartRecruiters signs them (see the README's Webhooks section).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SIGNED_HEADERS = ("event-id", "event-name", "event-version", "link")


def signed_message(timestamp: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    """Timestamp, raw body and the event headers, joined with "." (absent header = "")."""
    pieces = [timestamp.encode(), body]
    pieces += [_header(headers, name).encode() for name in SIGNED_HEADERS]
    return b".".join(pieces)


def sign(secret: str, timestamp: str, body: bytes, headers: Mapping[str, str]) -> str:
    message = signed_message(timestamp, body, headers)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """True when a ``v1=`` value of ``smartrecruiters-signature`` matches and is fresh."""
    timestamp = _header(headers, "smartrecruiters-timestamp")
    if not timestamp or not _fresh(timestamp, tolerance, time.time() if now is None else now):
        return False
    expected = sign(secret, timestamp, body, headers)
    offered = [
        part.strip()[3:]
        for part in _header(headers, "smartrecruiters-signature").split(";")
        if part.strip().startswith("v1=")
    ]
    # Compare against every value: during a key rotation both old and new are sent.
    return any(hmac.compare_digest(expected, value) for value in offered)


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def _fresh(timestamp: str, tolerance: float, now: float) -> bool:
    try:
        value = float(timestamp)
    except ValueError:
        return False
    seconds = value / 1000 if value > 10**11 else value  # epoch milliseconds or seconds
    return abs(now - seconds) <= tolerance
