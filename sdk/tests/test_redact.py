from __future__ import annotations

import logging

from atsbridge_sdk.redact import MASK, RedactingFilter, redact, register_secret
from hypothesis import given
from hypothesis import strategies as st


def test_registered_secret_is_masked():
    register_secret("zz-registered-9876")
    assert redact("token zz-registered-9876 here") == f"token {MASK} here"


def test_short_values_are_not_treated_as_secrets():
    register_secret("ab")
    assert redact("ab cab") == "ab cab"


def test_extra_secrets_and_longest_first():
    assert redact("x=abcdefgh12", extra=["abcdefgh", "abcdefgh12"]) == f"x={MASK}"


def test_credential_shapes_are_masked_without_registration():
    text = (
        "Authorization: Bearer eyJhbGciOi.payload.sig, "
        "X-SmartToken: DCRA1-abc; url?access_token=t0k3n&client_secret=s3cr&page=2 "
        '{"refresh_token": "r-123"} password=hunter2'
    )
    out = redact(text)
    for leaked in ("eyJhbGciOi", "DCRA1-abc", "t0k3n", "s3cr", "r-123", "hunter2"):
        assert leaked not in out
    assert "page=2" in out


@given(
    secret=st.text(
        alphabet=st.characters(codec="ascii", categories=["L", "N"]), min_size=8, max_size=40
    ),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
)
def test_a_known_secret_never_survives(secret, before, after):
    # Passed as ``extra`` rather than registered: random registered values would leak into
    # the process-wide registry and mask text in unrelated tests.
    assert secret not in redact(before + secret + after, extra=[secret])


def test_redacting_filter_masks_log_records(caplog):
    register_secret("filter-secret-4242")
    logger = logging.getLogger("atsbridge.test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("using %s", "filter-secret-4242")
    assert "filter-secret-4242" not in caplog.text
    assert MASK in caplog.text
