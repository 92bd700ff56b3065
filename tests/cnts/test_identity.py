"""Normalisation of emails, LinkedIn URLs, phones and names, with hypothesis properties."""

from __future__ import annotations

import phonenumbers
import pytest
from atsbridge.identity import (
    InvalidIdentifier,
    normalize_city,
    normalize_company,
    normalize_email,
    normalize_linkedin,
    normalize_name,
    normalize_phone,
)
from cntsstrategies import (
    domains,
    email_spelling,
    linkedin_spelling,
    locals_,
    phone_numbers,
    phone_spelling,
    slugs,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# --- examples ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "ada@example.org",
        "  Ada@Example.ORG ",
        "ADA@EXAMPLE.ORG",
        "mailto:ada@example.org",
        "<ada@example.org>",
        "ada@example.org.",
    ],
)
def test_email_spellings_fold_to_one(spelling: str) -> None:
    assert normalize_email(spelling) == "ada@example.org"


@pytest.mark.parametrize(
    "spelling",
    ["a.d.a@gmail.com", "ADA+jobs@gmail.com", "ada@googlemail.com", "A.da+x+y@GoogleMail.com"],
)
def test_gmail_dots_and_tags_fold(spelling: str) -> None:
    assert normalize_email(spelling) == "ada@gmail.com"


def test_plus_tags_kept_outside_gmail() -> None:
    # Folding them elsewhere could merge two different people of one company.
    assert normalize_email("ada+x@example.org") == "ada+x@example.org"
    assert normalize_email("a.da@example.org") == "a.da@example.org"


def test_internationalised_domain_matches_punycode() -> None:
    assert normalize_email("x@münchen.de") == normalize_email("x@xn--mnchen-3ya.de")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("ada", "local@domain"),
        ("ada@", "local@domain"),
        ("@example.org", "local@domain"),
        ("ada@localhost", "invalid domain"),
        ("ada smith@example.org", "invalid characters"),
        ("ada@exa mple.org", "invalid domain"),
        ("+tag@gmail.com", "empty Gmail"),
        ("a" * 600 + "@example.org", "too long"),
    ],
)
def test_bad_emails_are_refused_with_reason(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        normalize_email(value)


@pytest.mark.parametrize(
    "spelling",
    [
        "https://www.linkedin.com/in/ada-quinton/",
        "http://linkedin.com/in/ada-quinton",
        "linkedin.com/in/ada-quinton",
        "www.linkedin.com/in/Ada-Quinton/",
        "HTTPS://WWW.LINKEDIN.COM/IN/ADA-QUINTON",
        "https://fr.linkedin.com/in/ada-quinton?originalSubdomain=fr",
        "https://m.linkedin.com/in/ada-quinton#about",
        "https://touch.www.linkedin.com/in/ada-quinton/en",
        "https://www.linkedin.com/in/ada-quinton/details/experience/",
        "https://www.linkedin.com/in/%61da-quinton",
        "https://www.linkedin.com/in/ada%252Dquinton",
        " https://www.linkedin.com:443/in/ada-quinton ",
    ],
)
def test_linkedin_spellings_fold_to_one(spelling: str) -> None:
    assert normalize_linkedin(spelling) == "linkedin.com/in/ada-quinton"


def test_linkedin_unicode_slug_encoded_or_not() -> None:
    assert normalize_linkedin("linkedin.com/in/andr%C3%A9-l") == normalize_linkedin(
        "https://www.linkedin.com/in/André-L/"
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "ada-quinton",
        "https://example.com/in/ada",
        "https://linkedin.com.evil.org/in/ada",
        "https://www.linkedin.com/company/globex",
        "https://www.linkedin.com/in/",
        "ftp://linkedin.com/in/ada",
        "https://www.linkedin.com/in/a%2Fb",
    ],
)
def test_non_profile_urls_are_refused(value: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_linkedin(value)


@pytest.mark.parametrize(
    ("value", "country"),
    [
        ("+33 6 12 34 56 78", None),
        ("+33612345678", None),
        ("06 12 34 56 78", "FR"),
        ("06.12.34.56.78", "fr"),
        ("0033 6 12 34 56 78", "FR"),
        ("(+33) 6-12-34-56-78", "US"),
        ("tel:+33-6-12-34-56-78", None),
    ],
)
def test_phone_spellings_fold_to_e164(value: str, country: str | None) -> None:
    assert normalize_phone(value, country) == "+33612345678"


def test_phone_needs_a_country() -> None:
    with pytest.raises(InvalidIdentifier, match="no default country"):
        normalize_phone("06 12 34 56 78")


@pytest.mark.parametrize("value", ["", "123", "hello", "+33 6", "+999 123 456 789"])
def test_bad_phones_are_refused(value: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_phone(value, "FR")


def test_names_fold_accents_case_punctuation_space() -> None:
    assert normalize_name("  Léa   O'Brien-Dubois ") == "lea o brien dubois"
    assert normalize_name("LÉA O BRIEN DUBOIS") == "lea o brien dubois"
    assert normalize_name("Łukasz Wójcik") == normalize_name("lukasz wojcik")
    assert normalize_name("Björn Nyström") == "bjorn nystrom"
    assert normalize_name("Ørsted Æbelø") == "orsted aebelo"
    assert normalize_name("-- ") == ""


def test_company_drops_legal_form_and_city_folds() -> None:
    assert normalize_company("Northwind Ltd.") == normalize_company("northwind")
    assert normalize_company("Globex GmbH & Co. KG") == "globex gmbh co kg"
    assert normalize_company("Company") == "company"  # never folds to nothing
    assert normalize_city("São Paulo") == normalize_city("sao  paulo")


# --- properties ----------------------------------------------------------------------------


@given(st.data(), slugs)
@settings(max_examples=300)
def test_every_linkedin_spelling_matches_its_original(data: st.DataObject, slug: str) -> None:
    original = f"https://www.linkedin.com/in/{slug}"
    assert normalize_linkedin(data.draw(linkedin_spelling(slug))) == normalize_linkedin(original)


@given(slugs, slugs)
def test_unrelated_linkedin_profiles_never_match(a: str, b: str) -> None:
    if a.casefold() != b.casefold():
        assert normalize_linkedin(f"linkedin.com/in/{a}") != normalize_linkedin(
            f"linkedin.com/in/{b}"
        )


@given(st.data(), locals_, domains)
@settings(max_examples=300)
def test_every_email_spelling_matches_its_original(
    data: st.DataObject, local: str, domain: str
) -> None:
    original = f"{local}@{domain}"
    assert normalize_email(data.draw(email_spelling(local, domain))) == normalize_email(original)


@given(locals_, locals_, domains, domains)
def test_unrelated_emails_never_match(a: str, b: str, da: str, db: str) -> None:
    same_gmail = da == db == "gmail.com" and a.replace(".", "") == b.replace(".", "")
    if (a, da) != (b, db) and not same_gmail:
        assert normalize_email(f"{a}@{da}") != normalize_email(f"{b}@{db}")


@given(st.data(), phone_numbers())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_every_phone_spelling_matches_its_original(
    data: st.DataObject, number: phonenumbers.PhoneNumber
) -> None:
    original = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    text, country = data.draw(phone_spelling(number))
    assert normalize_phone(text, country) == normalize_phone(original)


@given(phone_numbers(), phone_numbers())
def test_unrelated_phones_never_match(a: phonenumbers.PhoneNumber, b: phonenumbers.PhoneNumber):
    if (a.country_code, a.national_number) != (b.country_code, b.national_number):
        fa = phonenumbers.format_number(a, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        fb = phonenumbers.format_number(b, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        assert normalize_phone(fa) != normalize_phone(fb)


@given(st.text(max_size=80))
def test_normalisers_only_ever_raise_invalid_identifier(text: str) -> None:
    for fn in (normalize_email, normalize_linkedin, lambda t: normalize_phone(t, "FR")):
        try:
            out = fn(text)
        except InvalidIdentifier:
            continue
        assert fn(out) == out or fn is normalize_linkedin  # idempotent where it is a spelling
    assert normalize_name(normalize_name(text)) == normalize_name(text)


def _full_parse(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@given(
    st.one_of(
        st.from_regex(r"\A\+[1-9][0-9]{6,16}\Z"),
        st.from_regex(r"\A\+(1|7|33|44|39|49|55|61|81|86|91|234|351|880)[ 0-9().\-]{6,18}\Z"),
        phone_numbers().map(
            lambda n: phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        ),
    )
)
@settings(max_examples=600)
def test_fast_e164_path_agrees_with_the_full_parser(text: str) -> None:
    from atsbridge.identity import _fast_e164

    fast = _fast_e164(text)
    if fast is not None:
        assert fast == _full_parse(text), text


def test_fast_path_defers_national_prefix_and_bad_lengths() -> None:
    from atsbridge.identity import _fast_e164

    assert _fast_e164("+44 (0)20 7946 0102") is None  # the parser strips that 0
    assert normalize_phone("+44 (0)20 7946 0102") == "+442079460102"
    assert _fast_e164("+33 6 12") is None
    assert _fast_e164("+33 6 12 34 56 78") == "+33612345678"
