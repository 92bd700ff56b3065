"""Keeping secrets out of logs, errors and reprs.

Every credential the SDK handles is registered here; ``redact`` scrubs registered values
(and common credential shapes in headers and URLs) from any text before it is logged or put
into an exception message.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

MASK = "***"
_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()

_PATTERNS = (
    re.compile(r"(?i)(authorization:\s*)(\w+\s+)?[^\s,;]+"),
    re.compile(r"(?i)(x-smarttoken:\s*)[^\s,;]+"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|password|api_key)[\"']?\s*[:=]\s*[\"']?)[^\s&\"',;]+"
    ),
)


def register_secret(*values: str | None) -> None:
    """Remember secret values so that ``redact`` and ``RedactingFilter`` mask them."""
    with _lock:
        for v in values:
            if v and len(v) >= _MIN_SECRET_LEN:
                _secrets.add(v)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    with _lock:
        known = sorted(
            {*_secrets, *(e for e in extra if e and len(e) >= _MIN_SECRET_LEN)},
            key=len,
            reverse=True,
        )
    for secret in known:
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets in every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
