"""A secret an ATS echoes back is masked in the forms it comes back in: JSON-escaped (a
``"`` or ``\\`` in it, a non-ASCII letter), escaped twice, or URL-encoded."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote, quote_plus

from atsbridge.secrets import MASK, SecretRedactor
from atsbridge_sdk.redact import forms, redact, register_secret

SECRET = 'pa"ss\\wörd/1 2'


def _echoes(secret: str) -> list[str]:
    body = json.dumps({"error": "bad client_id", "client": {"echo": secret}})
    return [
        body,
        json.dumps(body),  # that body quoted in a JSON log line or run record
        json.dumps({"echo": secret}, ensure_ascii=False),
        f"GET /token?client_secret={quote_plus(secret)}",
        f"GET /x?s={quote(secret, safe='')}&t=1",
        f"https://ats.example/{quote(secret)}/jobs",
        f"plain {secret} text",
    ]


def test_the_sdk_redactor_masks_escaped_and_url_encoded_forms() -> None:
    register_secret(SECRET)
    for text in _echoes(SECRET):
        masked = redact(text)
        assert all(form not in masked for form in forms(SECRET)), masked
        assert "w\\u00f6rd" not in masked and "w%C3%B6rd" not in masked and "wörd" not in masked


def test_the_cli_redactor_masks_them_in_messages_and_logs(caplog) -> None:
    redactor = SecretRedactor()
    redactor.register(SECRET)
    for text in _echoes(SECRET):
        assert MASK in redactor.redact(text)
        assert "ss\\\\w" not in redactor.redact(text) and "ss%5Cw" not in redactor.redact(text)
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "ATS said %s", (_echoes(SECRET)[0],), None
    )
    redactor.filter(record)
    assert "ss\\\\w" not in record.getMessage() and MASK in record.getMessage()


def test_short_forms_are_not_masked() -> None:
    assert forms("ab") == set()
