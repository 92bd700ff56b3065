from __future__ import annotations

import hashlib
import hmac

from atsbridge_smartrecruiters.webhook import verify_signature

SECRET = "whsec-demo-0123456789"
BODY = b'{"job_id":"2f6c1d84","candidate_id":"b41e0c2a"}'
NOW = 1_795_000_000.0


def headers(signature: str, ts: str = str(int(NOW))) -> dict[str, str]:
    return {
        "smartrecruiters-timestamp": ts,
        "smartrecruiters-signature": signature,
        "Event-Id": "evt-1",
        "event-name": "application.status.updated",
        "event-version": "v1",
    }


def digest(message: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_signature_over_timestamp_body_and_event_headers():
    # Written out by hand so the test states the scheme rather than re-using the code's.
    ts = str(int(NOW))
    message = ts.encode() + b"." + BODY + b".evt-1.application.status.updated.v1."
    good = digest(message)
    assert verify_signature(SECRET, headers(f"v1={good}"), BODY, now=NOW)
    assert verify_signature(SECRET, headers(f"v1={'0' * 64};v1={good}"), BODY, now=NOW)
    assert not verify_signature(SECRET, headers(f"v1={good}"), BODY + b" ", now=NOW)
    assert not verify_signature("other-secret-xyz", headers(f"v1={good}"), BODY, now=NOW)
    assert not verify_signature(SECRET, headers(good), BODY, now=NOW)  # no v1= prefix


def test_stale_or_missing_timestamp_is_refused():
    ts = str(int(NOW - 3600))
    message = ts.encode() + b"." + BODY + b".evt-1.application.status.updated.v1."
    sig = f"v1={digest(message)}"
    assert not verify_signature(SECRET, headers(sig, ts), BODY, now=NOW)
    assert verify_signature(SECRET, headers(sig, ts), BODY, now=NOW, tolerance=7200)
    ms = str(int(NOW * 1000))
    message = ms.encode() + b"." + BODY + b".evt-1.application.status.updated.v1."
    assert verify_signature(SECRET, headers(f"v1={digest(message)}", ms), BODY, now=NOW)
    assert not verify_signature(SECRET, headers(sig, ""), BODY, now=NOW)
