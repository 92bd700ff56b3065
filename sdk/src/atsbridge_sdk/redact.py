"""Keeping secrets out of logs, errors and reprs.

Every credential the SDK handles is registered here; ``redact`` scrubs registered values
(and common credential shapes in headers and URLs) from any text before it is logged or put
into an exception message.

A secret is masked in the forms it travels in, not only as typed: an ATS echoing a password
with a ``"`` or ``\\`` in it back inside a JSON error body shows it JSON-escaped (once, or
twice when that body is quoted in another JSON document), and a query string or form body
shows it URL-encoded. ``forms`` lists them; both redactors (this one and the CLI's) use it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "RedactingFilter", "forms", "redact", "register_secret"]

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


def forms(value: str) -> set[str]:
    """``value`` as written and as it appears JSON-escaped or URL-encoded elsewhere."""
    out = {value}
    for ascii_only in (True, False):
        once = json.dumps(value, ensure_ascii=ascii_only)[1:-1]
        out.add(once)
        out.add(json.dumps(once, ensure_ascii=ascii_only)[1:-1])
    out.add(quote(value, safe=""))
    out.add(quote_plus(value, safe=""))
    out.add(quote(value))  # a path segment's encoding keeps "/"
    return {form for form in out if len(form) >= _MIN_SECRET_LEN}


def register_secret(*values: str | None) -> None:
    """Remember secret values so that ``redact`` and ``RedactingFilter`` mask them."""
    with _lock:
        for v in values:
            if v and len(v) >= _MIN_SECRET_LEN:
                _secrets.update(forms(v))


def redact(text: str, extra: Iterable[str] = ()) -> str:
    with _lock:
        known = sorted(
            {*_secrets, *(f for e in extra if e and len(e) >= _MIN_SECRET_LEN for f in forms(e))},
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
