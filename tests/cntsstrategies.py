"""Hypothesis strategies for people's identifiers and their equivalent spellings, shared by
the normalisation and matcher property tests (tests/cnts)."""

from __future__ import annotations

import string
from urllib.parse import quote

import phonenumbers
from hypothesis import strategies as st

SLUG_CHARS = string.ascii_lowercase + string.digits + "-éüñåç"
slugs = st.text(SLUG_CHARS, min_size=3, max_size=30).filter(lambda s: s.strip("-"))


@st.composite
def linkedin_spelling(draw: st.DrawFn, slug: str) -> str:
    scheme = draw(st.sampled_from(["https://", "http://", "HTTPS://", "", "//"]))
    host = draw(st.sampled_from(["www.", "", "fr.", "uk.", "m.", "touch.www.", "de."]))
    host += draw(st.sampled_from(["linkedin.com", "LinkedIn.com", "LINKEDIN.COM"]))
    in_ = draw(st.sampled_from(["in", "IN", "In"]))
    spelled = "".join(c.upper() if draw(st.booleans()) else c for c in slug)
    if draw(st.booleans()):
        spelled = quote(spelled, safe=draw(st.sampled_from(["", "-", string.ascii_letters])))
    tail = draw(st.sampled_from(["", "/", "/en", "/en/", "/details/skills/"]))
    query = draw(st.sampled_from(["", "?trk=abc", "?originalSubdomain=fr&x=1"]))
    fragment = draw(st.sampled_from(["", "#top"]))
    pad = draw(st.sampled_from(["", " ", "\t"]))
    return f"{pad}{scheme}{host}/{in_}/{spelled}{tail}{query}{fragment}{pad}"


locals_ = st.text(string.ascii_lowercase + string.digits + "_-", min_size=1, max_size=20)
domains = st.sampled_from(["example.org", "globex.co.uk", "mail.example.com", "gmail.com"])


@st.composite
def email_spelling(draw: st.DrawFn, local: str, domain: str) -> str:
    spelled_local = "".join(c.upper() if draw(st.booleans()) else c for c in local)
    spelled_domain = domain.upper() if draw(st.booleans()) else domain
    if domain == "gmail.com":
        # Gmail ignores dots and everything after a +.
        spelled_local = ".".join(spelled_local) if draw(st.booleans()) else spelled_local
        spelled_local += draw(st.sampled_from(["", "+jobs", "+a.b+c"]))
        spelled_domain = draw(st.sampled_from([spelled_domain, "googlemail.com"]))
    text = f"{spelled_local}@{spelled_domain}"
    wrap = draw(st.sampled_from(["{}", " {} ", "<{}>", "mailto:{}", "MAILTO:{}", "\t{}\n"]))
    return wrap.format(text)


REGIONS = ["FR", "DE", "GB", "US", "BR", "JP", "NG", "PT", "PL", "CA", "IN", "AU"]


@st.composite
def phone_numbers(draw: st.DrawFn) -> phonenumbers.PhoneNumber:
    region = draw(st.sampled_from(REGIONS))
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    tail = draw(st.text(string.digits, min_size=4, max_size=4))
    number = phonenumbers.parse(f"+{example.country_code}{national[:-4]}{tail}")
    return number


@st.composite
def phone_spelling(draw: st.DrawFn, number: phonenumbers.PhoneNumber) -> tuple[str, str | None]:
    region = phonenumbers.region_code_for_number(number)
    fmt = draw(st.sampled_from(["e164", "intl", "national", "rfc3966", "intl_dots", "idd"]))
    if fmt == "e164":
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None
    if fmt == "intl":
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        return text, draw(st.sampled_from([None, "FR", "US"]))
    if fmt == "intl_dots":
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        return text.replace(" ", draw(st.sampled_from([".", "-", "  ", ""]))), None
    if fmt == "rfc3966":
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.RFC3966), None
    if fmt == "idd":
        # Dialled from France: 00 + country code.
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return "00 " + e164[1:], "FR"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL), region
