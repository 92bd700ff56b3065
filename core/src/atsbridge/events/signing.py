"""Standard Webhooks signatures (https://www.standardwebhooks.com), both ends.

The secret is ``whsec_`` + base64 of random bytes; the signature of a delivery is
``v1,`` + base64(HMAC-SHA256(secret bytes, "{webhook-id}.{webhook-timestamp}.{body}")).
``verify`` is what a receiver runs (the tests' receiver uses it); it accepts any of several
space-separated signatures, compares in constant time and refuses stale timestamps.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

__all__ = ["PREFIX", "SignatureError", "new_secret", "sign", "verify"]

PREFIX = "whsec_"
SECRET_BYTES = 32
TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """A delivery's signature or timestamp does not check out."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    raw = secret[len(PREFIX) :] if secret.startswith(PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("secret: not whsec_ + base64") from None


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one delivery."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    secret: str,
    headers: dict[str, str],
    body: bytes,
    *,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> str:
    """Check a received delivery; return its ``webhook-id``. Raises ``SignatureError``.

    ``headers`` keys are lower-case header names; ``now`` is the receiver's Unix time.
    """
    webhook_id = headers.get("webhook-id", "")
    raw_timestamp = headers.get("webhook-timestamp", "")
    if not webhook_id or not raw_timestamp.isdigit():
        raise SignatureError("missing webhook-id or webhook-timestamp")
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > tolerance:
        raise SignatureError("webhook-timestamp outside the tolerance")
    expected = sign(secret, webhook_id, timestamp, body)
    for candidate in headers.get("webhook-signature", "").split():
        if hmac.compare_digest(candidate, expected):
            return webhook_id
    raise SignatureError("no matching v1 signature")
