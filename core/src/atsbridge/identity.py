"""Normalised identities of people: the keys the do-not-source list matches on.

Two spellings of the same identifier must normalise to the same string, and the function
must refuse (``InvalidIdentifier``, with a reason a user can act on) anything that is not
that kind of identifier at all, so that a bad value never matches by accident.

* email: trimmed, ``mailto:``/angle brackets dropped, Unicode case-folded (NFKC, casefold,
  NFKC); on Gmail (gmail.com,
  googlemail.com) dots and ``+tag`` of the local part are folded, because Gmail delivers
  all those spellings to one inbox. Other providers are left alone: folding ``+tags``
  there could merge two real people.
* LinkedIn: ``linkedin.com/in/<slug>`` from any spelling of a public profile URL (scheme or
  none, www/country/mobile subdomain, trailing slash, query, fragment, extra path segments
  such as ``/en``, percent-encoding, case). Legacy ``/pub/`` URLs keep their path.
* phone: E.164 through ``phonenumbers``; ``00`` is read as ``+``; a number without either
  is read in ``default_country`` (an ISO 3166 alpha-2 code, or a name or alias such as "UK",
  see ``atsbridge.countries.country_of``) and refused without one.
* names, companies, cities: accents, case, punctuation and whitespace folded. Company names
  also drop a trailing legal form ("Ltd", "GmbH", ...), so "Northwind Ltd" is "northwind".
"""

from __future__ import annotations

import functools
import re
import unicodedata
from urllib.parse import unquote, urlsplit

import phonenumbers

from atsbridge.errors import BadInput


class InvalidIdentifier(BadInput):
    """A value is not a usable email, LinkedIn profile URL or phone number."""


MAX_LENGTH = 512  # nothing legitimate is longer; refuse before doing any work on it

_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_EMAIL_LOCAL_BAD = re.compile(r"[\s,;<>()\[\]\\\"]")
_DOMAIN_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def normalize_email(value: str) -> str:
    text = value.strip()
    if text.lower().startswith("mailto:"):
        text = text[7:].split("?", 1)[0]
    text = text.strip().strip("<>").strip()
    if not text:
        raise InvalidIdentifier("email is empty")
    if len(text) > MAX_LENGTH:
        raise InvalidIdentifier("email is too long")
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise InvalidIdentifier(f"email {_show(value)} has no local@domain form")
    if _EMAIL_LOCAL_BAD.search(local) or "@" in local:
        raise InvalidIdentifier(f"email {_show(value)} has invalid characters before the @")
    domain = _normalize_domain(domain, value)
    local = _fold_case(local)
    if domain in _GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
        if not local:
            raise InvalidIdentifier(f"email {_show(value)} has an empty Gmail address")
    return f"{local}@{domain}"


def _fold_case(text: str) -> str:
    """Full Unicode case folding between two compatibility normalisations (NFKC): every
    spelling of a letter (composed or not, fullwidth, a ligature, any case) folds to one
    string, and folding that string again changes nothing."""
    if text.isascii():  # the common case
        return text.lower()
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _normalize_domain(domain: str, original: str) -> str:
    ascii_domain = _ascii_domain(domain)
    if ascii_domain is None:
        raise InvalidIdentifier(f"email {_show(original)} has an invalid domain")
    return ascii_domain


@functools.lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str | None:
    # Cached: a pipeline holds hundreds of thousands of addresses at a few hundred domains,
    # and the IDNA codec was the costliest step of normalising one.
    domain = unicodedata.normalize("NFC", domain).casefold().rstrip(".")
    try:
        # Internationalised domains match their punycode spelling.
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        return None
    return ascii_domain


_LINKEDIN_HOST = re.compile(r"^(?:[a-z0-9-]+\.)*linkedin\.com$")
_SLUG_BAD = re.compile(r"[\s/?#]")


# The spelling almost every ATS stores: plain ASCII, ``/in/<slug>``, nothing to decode.
_PLAIN_LINKEDIN = re.compile(
    r"(https?://)?(?:[a-z0-9-]+\.)*linkedin\.com/in/([a-z0-9_.~-]+)/?(?:[?#]\S*)?",
    re.ASCII | re.IGNORECASE,
)


def normalize_linkedin(value: str) -> str:
    text = value.strip()
    plain = _PLAIN_LINKEDIN.fullmatch(text) if len(text) <= MAX_LENGTH else None
    # Without a scheme, a "://" further on makes the full parse read no host at all.
    if plain is not None and (plain.group(1) or "://" not in text):
        # What the full parse gives for these (a pipeline sync normalises hundreds of
        # thousands; urlsplit was the costliest step): no percent-decoding to do, and
        # casefolding ASCII is lowercasing.
        return f"linkedin.com/in/{plain.group(2).lower()}"
    return _parse_linkedin(value)


def _parse_linkedin(value: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidIdentifier("LinkedIn URL is empty")
    if len(text) > MAX_LENGTH:
        raise InvalidIdentifier("LinkedIn URL is too long")
    if "://" not in text:
        text = "https://" + text.lstrip("/")
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        raise InvalidIdentifier(f"LinkedIn URL {_show(value)} is not a URL") from None
    if parts.scheme.lower() not in ("http", "https") or not _LINKEDIN_HOST.match(host):
        raise InvalidIdentifier(f"{_show(value)} is not a linkedin.com URL")
    segments = [s for s in parts.path.split("/") if s]
    kind = segments[0].lower() if segments else ""
    if kind == "in" and len(segments) >= 2:
        slug = _decode_slug(segments[1], value)
        return f"linkedin.com/in/{slug}"
    if kind == "pub" and len(segments) >= 2:
        rest = "/".join(_decode_slug(s, value) for s in segments[1:])
        return f"linkedin.com/pub/{rest}"
    raise InvalidIdentifier(f"{_show(value)} is not a LinkedIn profile URL (expected /in/NAME)")


def _decode_slug(segment: str, original: str) -> str:
    slug = segment
    # Profiles pasted from some tools are encoded twice; a slug never holds a literal '%'.
    for _ in range(3):
        decoded = unquote(slug)
        if decoded == slug:
            break
        slug = decoded
    slug = unicodedata.normalize("NFC", slug).casefold()
    if not slug or _SLUG_BAD.search(slug) or "%" in slug:
        raise InvalidIdentifier(f"LinkedIn URL {_show(original)} has an invalid profile name")
    return slug


def normalize_phone(value: str, default_country: str | None = None) -> str:
    text = value.strip()
    if not text:
        raise InvalidIdentifier("phone is empty")
    if len(text) > 64:
        raise InvalidIdentifier("phone is too long")
    if text.lower().startswith("tel:"):
        text = text[4:]
    if text.startswith("00"):
        # 00 is the international call prefix nearly everywhere (ITU E.164): 0033... is +33...
        text = "+" + text[2:]
    fast = _fast_e164(text)
    if fast is not None:
        return fast
    region = _region(default_country)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise InvalidIdentifier(
                f"phone {_show(value)} has no country code and no default country is set"
            ) from None
        raise InvalidIdentifier(f"phone {_show(value)} is not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidIdentifier(f"phone {_show(value)} has the wrong number of digits")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_numeric_phone(digits: str, default_country: str | None = None) -> str:
    """A phone that was stored as a number (an Excel cell): its ``+`` and leading zeros are
    gone, so ``46701234567`` may be +46 70 123 45 67 or a national number.

    Read in ``default_country`` first when that gives a valid number, else as international
    digits (the lost ``+``); refused when neither reading is a valid number.
    """
    text = digits.strip()
    if not text.isdigit():
        return normalize_phone(text, default_country)
    region = _region(default_country)
    readings: list[tuple[str, str | None]] = [(text, region)] if region else []
    readings.append(("+" + text, None))
    for candidate, where in readings:
        try:
            number = phonenumbers.parse(candidate, where)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return normalize_phone(text, default_country)


@functools.lru_cache(maxsize=256)
def _region(default_country: str | None) -> str | None:
    """The phonenumbers region of a default country: an ISO code or a name/alias ("UK")."""
    if not default_country:
        return None
    from atsbridge.countries import country_of

    code = country_of(default_country)
    if code is None:
        raise InvalidIdentifier(f"default country {_show(default_country)} is not a country")
    return code


_SEPARATORS = re.compile(r"[\s\-./()]+")
_PLUS_DIGITS = re.compile(r"^\+[1-9][0-9]{6,16}$")


def _fast_e164(text: str) -> str | None:
    """E.164 without a full ``phonenumbers.parse`` for a number already written as +CC...

    A pipeline sync normalises hundreds of thousands of numbers and the full parser costs
    ~30 us each. This path gives the same answer the parser would, or None to defer to it:
    it only accepts a number whose national part the parser would keep as it is (no
    national prefix or carrier code to strip) and whose length the country allows.
    """
    digits = _SEPARATORS.sub("", text)
    if not _PLUS_DIGITS.match(digits):
        return None
    digits = digits[1:]
    for size in (1, 2, 3):  # the parser's order: the first known calling code wins
        rules = _calling_code_rules(digits[:size])
        if rules is not None:
            break
    else:
        return None
    national = digits[size:]
    strip, lengths = rules
    if strip is not None and strip.match(national):
        return None
    if len(national) not in lengths:
        return None
    return "+" + digits


_NO_RULES = (None, frozenset[int]())


@functools.lru_cache(maxsize=1024)
def _calling_code_rules(code_text: str) -> tuple[re.Pattern[str] | None, frozenset[int]] | None:
    """For a known calling code: its national-prefix pattern and possible national lengths.

    None when the code is not a calling code. Cached: the metadata lookups cost more than
    the rest of ``_fast_e164``.
    """
    code = int(code_text)
    if code not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        return None
    region = phonenumbers.region_code_for_country_code(code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    if metadata is None or metadata.general_desc is None:
        return _NO_RULES  # known code, but nothing to check against: defer to the parser
    strip = metadata.national_prefix_for_parsing
    return (re.compile(strip) if strip else None), frozenset(metadata.general_desc.possible_length)


# Letters that NFKD does not split into a base letter plus a mark.
_FOLD = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "ı": "i",
        "ŀ": "l",
    }
)


_ASCII_WORDS = re.compile(r"[a-z0-9]+")
_WORDS = re.compile(r"[^\W_]+")


def normalize_name(value: str) -> str:
    """Fold accents, case, punctuation and whitespace.

    "  Léa  O'Brien-Dubois" becomes "lea o brien dubois"; a value with no letters or digits
    becomes "".
    """
    value = value[:MAX_LENGTH]
    if value.isascii():  # the common case, a hundred times cheaper than the Unicode path
        return " ".join(_ASCII_WORDS.findall(value.lower()))
    # Compatibility forms (fullwidth, math letters) decompose before casefolding so that the
    # result is stable: folding it again changes nothing.
    text = unicodedata.normalize("NFKD", value)
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(_FOLD)
    return " ".join(_WORDS.findall(text))


_LEGAL_FORMS = frozenset(
    {"inc", "incorporated", "ltd", "limited", "llc", "llp", "plc", "corp", "corporation"}
    | {"co", "company", "gmbh", "ag", "sa", "sas", "sarl", "bv", "nv", "srl", "spa", "oy"}
    | {"ab", "as", "aps", "kk", "pty", "pvt"}
)


def normalize_company(value: str) -> str:
    words = normalize_name(value).split()
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def normalize_city(value: str) -> str:
    return normalize_name(value)


def _show(value: str) -> str:
    text = value.strip()
    return repr(text if len(text) <= 60 else text[:57] + "...")
