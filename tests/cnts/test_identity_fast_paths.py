"""normalize_linkedin's shortcut for plain ASCII profile URLs answers exactly as the full parse.

The shortcut must never change an answer: for every input, ``normalize_linkedin`` and the
full parse (``_parse_linkedin``) return the same value or refuse with the same message.
"""

from __future__ import annotations

import pytest
from atsbridge import identity
from hypothesis import given, settings
from hypothesis import strategies as st


def _answer(fn, value: str) -> tuple[str, str]:
    try:
        return ("ok", fn(value))
    except identity.InvalidIdentifier as exc:
        return ("refused", str(exc))


def _same(value: str) -> None:
    assert _answer(identity.normalize_linkedin, value) == _answer(
        identity._parse_linkedin, value
    ), value


TRICKY = [
    "https://www.linkedin.com/in/ada-quinton/",
    "HTTPS://WWW.LINKEDIN.COM/IN/Ada-Quinton",
    "http://fr.linkedin.com/in/ada?trk=x#y",
    "linkedin.com/in/ada",
    "  linkedin.com/in/ada/  ",
    "linkedin.com/in/ada?next=https://example.org",  # no scheme, "://" later on
    "https://linkedin.com/in/ada?next=https://example.org",
    "//linkedin.com/in/ada",
    "ftp://linkedin.com/in/ada",
    "https://linkedin.com:443/in/ada",
    "https://user@linkedin.com/in/ada",
    "https://www..linkedin.com/in/ada",
    "https://notlinkedin.com/in/ada",
    "https://linkedin.com.evil.org/in/ada",
    "https://linkedin.com/in/ada/en",
    "https://linkedin.com/in/",
    "https://linkedin.com/in/a%C3%A9",
    "https://linkedin.com/in/a b",
    "https://linkedin.com/in/a\tb",
    "https://linkedin.com/in/ada?q=\x00",
    "https://linkedin.com/in/ada?q=é",
    "https://linkedin.com/pub/ada/1/2/3",
    "https://linkedin.com/in/..",
    "https://linkedin.com/in/~x_y.z-1",
    "https://linkédin.com/in/ada",
    "https://linkedin.com/in/" + "a" * 600,
    "https://linkedin.com/in/ada?" + "x" * 600,
    "",
    "   ",
]


@pytest.mark.parametrize("value", TRICKY)
def test_tricky_spellings(value: str) -> None:
    _same(value)


PIECES = st.sampled_from(
    [
        "",
        "http://",
        "https://",
        "HTTPS://",
        "ftp://",
        "//",
        "/",
        "www.",
        "fr.",
        "m.",
        "LinkedIn.com",
        "linkedin.com",
        "linkedin.com.",
        ":8080",
        "@",
        "/in/",
        "/IN/",
        "/pub/",
        "/",
        "?",
        "#",
        "://",
        "%20",
        "%41",
        "%",
        " ",
        "\t",
        "é",
        "-",
        "_",
        ".",
        "~",
        "ada",
        "Quinton",
        "42",
    ]
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(PIECES, max_size=9).map("".join))
def test_built_spellings(value: str) -> None:
    _same(value)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["", "http://", "https://www.", "linkedin.com"]),
    st.text(alphabet=st.characters(max_codepoint=0x17F), max_size=12),
    st.text(max_size=8),
)
def test_profile_urls_with_any_slug_and_tail(prefix: str, slug: str, tail: str) -> None:
    host = "" if prefix == "linkedin.com" else "linkedin.com"
    _same(f"{prefix}{host}/in/{slug}{tail}")
