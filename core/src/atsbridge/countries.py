"""Country codes from what people and ATSs write: ISO 3166 alpha-2 codes and common aliases.

Job search (a location word ``UK`` finds GB jobs) and do-not-source identity (a file's
``England`` is GB) read countries through this one table, so the two never disagree.
"""

from __future__ import annotations

import functools
import unicodedata

import phonenumbers

__all__ = ["ALIASES", "country_code", "country_of"]

# Names that are not an ISO code but are used as one. "UK" is the one that matters most:
# ISO reserves it, yet people and several ATSs write it for GB.
ALIASES: dict[str, str] = {
    "uk": "GB",
    "u.k.": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states": "US",
    "united states of america": "US",
    "america": "US",
    "el": "GR",  # the EU's code for Greece
}

# Every region phonenumbers knows is an ISO 3166 alpha-2 code ("001" is its non-geographic one).
_CODES = frozenset(r for r in phonenumbers.SUPPORTED_REGIONS if r.isalpha())


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def country_code(text: str | None) -> str | None:
    """The ISO 3166 alpha-2 code ``text`` names, or None when it names no country we know.

    Accepts a code in any case (``fr``), an alias (``UK``, ``England`` -> ``GB``) and
    surrounding white space; a code is returned upper-case.
    """
    if not text:
        return None
    folded = _fold(text)
    if folded in ALIASES:
        return ALIASES[folded]
    code = folded.upper()
    return code if len(code) == 2 and code in _CODES else None


# Languages whose country names ``country_of`` reads (phonenumbers' locale table; "aa" is its
# English default): the languages of the customer files the do-not-source import takes.
NAME_LANGUAGES = ("aa", "fr", "de", "es", "pt", "it", "nl")


@functools.cache
def _names() -> dict[str, str]:
    from phonenumbers.geodata.locale import LOCALE_DATA

    names: dict[str, str] = {}
    for code, by_language in LOCALE_DATA.items():
        if code not in _CODES:
            continue
        for language in NAME_LANGUAGES:
            name = by_language.get(language)
            while name is not None and name.startswith("*"):  # "*aa": same as language aa
                name = by_language.get(name[1:])
            if name:
                names.setdefault(_fold(name).replace("-", " "), code)
    return names


def country_of(text: str | None) -> str | None:
    """Like ``country_code``, and also a country's name in English, French, German, Spanish,
    Portuguese, Italian or Dutch (``Allemagne``, ``Royaume-Uni``, ``Espana`` with or without
    accents). For identity data (a file's country column, a default country), not for job
    search words, where a name like "Jersey" or "Georgia" is too often something else.
    """
    code = country_code(text)
    if code is not None or not text:
        return code
    return _names().get(_fold(text).replace("-", " "))
