"""The job mirror's search index: folded words, index upkeep and the ranked search SQL.

Every mirrored job gets three lists of folded words (case- and accent-free): its title, its
places (city, region, country names and ISO code, free text, plus a country marker word
``xiso`` + code) and its identifiers (reference and ATS id). ``jobs.search_text`` keeps them
as ``"title | places | identifiers"``; ``jobs.search_refs`` keeps each identifier *compact*
(folded, only letters and digits: ``JR-01206`` -> ``jr01206``) for substring matches.

* PostgreSQL indexes those columns directly: a GIN index over a weighted ``tsvector`` (title
  A, places B, identifiers C; migration ``0002_job_search``) and a trigram index on
  ``search_refs`` (migration ``0011_job_search_substrings``).
* SQLite feeds an FTS5 table ``job_search`` written here, in the same transaction as the
  job row. Its words are prefixed with the tenant id (``t12x`` + word), so a tenant's
  search only walks that tenant's postings: without it a common word in a database of a
  million jobs would match every tenant's rows and the tenant filter would come too late.
  The identifiers column also holds every suffix of 3+ characters of each compact
  identifier under a second tag (``s12x`` + suffix): a substring is a prefix of a suffix,
  so "contains 1206" is a prefix query served by the same index.
  Its rowid is a *recency key*, ``updated_at`` seconds * 2**30 + ``jobs.id`` mod 2**30: FTS5
  returns matches in rowid order, so "newest first" streams straight out of the index and
  a page stops after ``limit`` rows instead of sorting every match (the difference between
  milliseconds and a quarter second for a word found in a third of 100,000 jobs). The job
  id is the key's low bits. A trigger drops the FTS row when a job row is deleted
  (connection removed, job deleted in the ATS).

Ranking (both databases): exact reference or ATS id; then the query (compacted, 3+
characters) anywhere in a reference or ATS id; then, when the whole query names a country
(``DE``, ``UK``, ``Germany``: ``atsbridge.countries``), jobs in that country; then all words
in the title, words spread over title and places, all words in the places (a word that is a
country alias also matches its ISO code: ``nurse uk`` finds GB jobs); last a prefix of the
identifiers' words. Within a tier the most recently updated job comes first.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa
from sqlmodel import Session

from atsbridge.countries import ALIASES, country_code

SEPARATOR = " | "
# Letters that Unicode does not decompose into base letter + accent.
_SPECIAL = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th"}
)
_WORD = re.compile(r"[^\W_]+")
_COUNTRY_LANGUAGES = ("en", "fr", "de", "es")
# A places word naming a job's country exactly; no one types it, so a query word reaches it
# only through the country tier (a plain "de" prefix would also reach "Denver").
COUNTRY_MARK = "xiso"
MIN_SUBSTRING = 3  # shorter substrings of an identifier match too much to rank first

# Must stay textually identical to the expression indexed by migration 0002_job_search,
# or PostgreSQL will not use the index.
PG_TSVECTOR = (
    "(setweight(to_tsvector('simple'::regconfig, split_part(search_text, '|', 1)), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, split_part(search_text, '|', 2)), 'B') || "
    "setweight(to_tsvector('simple'::regconfig, split_part(search_text, '|', 3)), 'C'))"
)


# Must stay textually identical to the expression indexed by migration 0011.
RECENCY = "coalesce(j.updated_at, j.created_at)"


def fold(text: str) -> str:
    """Case- and accent-free form of ``text`` ("Kraków" -> "krakow", "Straße" -> "strasse")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.translate(_SPECIAL)


def words(text: str | None) -> list[str]:
    return _WORD.findall(fold(text)) if text else []


def compact(text: str | None) -> str:
    """``text`` folded with everything but letters and digits dropped ("JR-01206" -> "jr01206")."""
    return "".join(words(text))


@functools.lru_cache(maxsize=512)
def _locale_names(code: str) -> tuple[str, ...]:
    try:
        from phonenumbers.geodata.locale import LOCALE_DATA
    except ImportError:  # pragma: no cover - phonenumbers is a core dependency
        return ()
    names = LOCALE_DATA.get(code.upper())
    if not names:
        return ()
    out = []
    for lang in _COUNTRY_LANGUAGES:
        name = names.get(lang)
        # "*xx" means "same as language xx" in this table.
        while isinstance(name, str) and name.startswith("*"):
            name = names.get(name[1:])
        if name and name not in out:
            out.append(name)
    return tuple(out)


def country_names(code: str | None) -> list[str]:
    """Names of an ISO 3166 country in a few languages ("DE" -> Germany, Allemagne, ...)."""
    if not code or len(code) != 2:
        return []
    return list(_locale_names(code.upper()))


@attrs.frozen
class SearchWords:
    title: tuple[str, ...]
    places: tuple[str, ...]
    idents: tuple[str, ...]
    refs: tuple[str, ...] = ()  # compact reference and ATS id

    def text(self) -> str:
        """``jobs.search_text``: "title | places | identifiers"."""
        return SEPARATOR.join(" ".join(p) for p in (self.title, self.places, self.idents))

    def refs_text(self) -> str:
        """``jobs.search_refs``: the compact identifiers, space separated."""
        return " ".join(self.refs)

    def suffixes(self) -> tuple[str, ...]:
        """Every suffix of 3+ characters of the compact identifiers (the SQLite substring
        index: a substring of an identifier is a prefix of one of these)."""
        return _dedupe(
            ref[i:] for ref in self.refs for i in range(max(0, len(ref) - MIN_SUBSTRING + 1))
        )


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def search_words(
    title: str,
    locations: Sequence[dict[str, Any]],
    reference: str | None,
    ats_id: str,
) -> SearchWords:
    """The words a job is found by; ``locations`` are stored location dicts."""
    places: list[str] = []
    for loc in locations:
        for key in ("city", "region", "raw"):
            places.extend(words(loc.get(key)))
        code = loc.get("country_code")
        if code:
            places.extend(words(code))
            if len(code) == 2 and code.isalpha():
                places.append(COUNTRY_MARK + code.lower())
            for name in country_names(code):
                places.extend(words(name))
    return SearchWords(
        title=_dedupe(words(title)),
        places=_dedupe(places),
        idents=_dedupe([*words(reference), *words(ats_id)]),
        refs=_dedupe(r for r in (compact(reference), compact(ats_id)) if r),
    )


# --- SQLite FTS5 upkeep -------------------------------------------------------------------

KEY_SHIFT = 1 << 30  # job ids must stay below this (a billion jobs) for keys to be unique
_MAX_SECONDS = 8_000_000_000  # keeps the key inside SQLite's 64-bit integers (year 2223)


def recency_key(job_id: int, updated_at: datetime | None, created_at: datetime | None) -> int:
    """The FTS rowid of a job; must match the delete trigger of migration 0002_job_search."""
    when = updated_at or created_at
    seconds = int(when.timestamp()) if when is not None else 0
    return min(_MAX_SECONDS, max(0, seconds)) * KEY_SHIFT + job_id % KEY_SHIFT


def tenant_tag(tenant_id: int) -> str:
    """The prefix scoping a word to a tenant: fixed width (up to a million tenants), so the
    FTS5 prefix indexes on the tag plus 1-3 characters serve short prefix searches."""
    return f"t{tenant_id:06d}x"


def substring_tag(tenant_id: int) -> str:
    """The prefix scoping an identifier suffix to a tenant (same width as ``tenant_tag``,
    so the prefix index on tag + 3 characters serves 3-character substrings)."""
    return f"s{tenant_id:06d}x"


def _scoped(tenant_id: int, items: Iterable[str]) -> str:
    tag = tenant_tag(tenant_id)
    return " ".join(tag + w for w in items)


def fts_idents(tenant_id: int, w: SearchWords) -> str:
    """The FTS ``idents`` column: identifier words, then the tagged identifier suffixes
    (after the words, so the words' phrase positions stay adjacent)."""
    tag = substring_tag(tenant_id)
    return " ".join(filter(None, (_scoped(tenant_id, w.idents), *(tag + x for x in w.suffixes()))))


def sqlite_index(
    session: Session | sa.Connection,
    tenant_id: int,
    rows: Iterable[tuple[int, int | None, SearchWords]],
) -> None:
    """(Re)index jobs on SQLite; ``rows`` are (new key, old key or None, words)."""
    batch, stale = [], []
    for key, old_key, w in rows:
        stale.append({"key": key})
        if old_key is not None and old_key != key:
            stale.append({"key": old_key})
        batch.append(
            {
                "key": key,
                "title": _scoped(tenant_id, w.title),
                "places": _scoped(tenant_id, w.places),
                "idents": fts_idents(tenant_id, w),
            }
        )
    if not batch:
        return
    session.execute(sa.text("DELETE FROM job_search WHERE rowid = :key"), stale)
    session.execute(
        sa.text(
            "INSERT INTO job_search(rowid, title, places, idents) "
            "VALUES (:key, :title, :places, :idents)"
        ),
        batch,
    )


# --- queries ------------------------------------------------------------------------------

TIER_NAMES = (
    "reference",
    "identifier",
    "country",
    "title",
    "title+location",
    "location",
    "identifier",
)
_PARTIAL_REF, _COUNTRY, _TITLE, _MIXED, _PLACES, _IDENT_WORDS = range(1, 7)


@attrs.frozen
class ParsedQuery:
    """A search query: its exact form, words, compact form and the country it names."""

    exact: str
    tokens: tuple[str, ...]
    compact: str = ""
    country: str | None = None  # ISO code when the whole query names a country

    @classmethod
    def parse(cls, raw: str) -> ParsedQuery:
        tokens = tuple(words(raw))
        code = country_code(raw)
        return cls(
            exact=raw.strip().lower(),
            tokens=tokens,
            compact="".join(tokens),
            country=code.lower() if code else None,
        )

    @property
    def substring(self) -> str | None:
        """The compact query when it is long enough to match inside identifiers."""
        return self.compact if len(self.compact) >= MIN_SUBSTRING else None


def _alias(token: str) -> str | None:
    """The ISO code a one-word country alias stands for ("uk" -> "gb"), if any."""
    code = ALIASES.get(token)
    return code.lower() if code and code.lower() != token else None


def _fts_all(tenant_id: int, tokens: Sequence[str], columns: str) -> str:
    tag = tenant_tag(tenant_id)
    terms = []
    for i, t in enumerate(tokens):
        term = f'"{tag}{t}"' + ("*" if i == len(tokens) - 1 else "")
        alias = _alias(t)
        terms.append(f'({term} OR "{tag}{alias}")' if alias else term)
    return f"{{{columns}}} : ({' AND '.join(terms)})"


def _fts_phrase(tenant_id: int, tokens: Sequence[str], column: str) -> str:
    tag = tenant_tag(tenant_id)
    phrase = " + ".join(f'"{tag}{t}"' for t in tokens)
    return f"{{{column}}} : ({phrase}*)"


def _ts_all(tokens: Sequence[str], weights: str) -> str:
    parts = []
    for i, t in enumerate(tokens):
        part = f"{t}:*{weights}" if i == len(tokens) - 1 else f"{t}:{weights}"
        alias = _alias(t)
        parts.append(f"({part} | {alias}:{weights})" if alias else part)
    return " & ".join(parts)


def _ts_phrase(tokens: Sequence[str]) -> str:
    parts = [f"{t}:C" for t in tokens]
    parts[-1] = f"{tokens[-1]}:*C"
    return " <-> ".join(parts)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filters(
    params: dict[str, Any],
    connection_id: int | None,
    statuses: Sequence[str],
    updated_after: datetime | None = None,
    dialect: str = "sqlite",
) -> str:
    sql = ""
    if updated_after is not None:
        sql += f" AND {RECENCY} > :updated_after"
        after = updated_after.astimezone(UTC)
        # Raw SQL binds no column type: on SQLite, the text UTCDateTime stores (sortable).
        params["updated_after"] = (
            after if dialect == "postgresql" else after.strftime("%Y-%m-%d %H:%M:%S.%f")
        )
    if connection_id is not None:
        sql += " AND j.connection_id = :connection_id"
        params["connection_id"] = connection_id
    if statuses:
        names = []
        for i, status in enumerate(statuses):
            params[f"status_{i}"] = status
            names.append(f":status_{i}")
        sql += f" AND j.status IN ({', '.join(names)})"
    return sql


def search_ids(
    session: Session,
    dialect: str,
    tenant_id: int,
    query: str | None,
    *,
    connection_id: int | None = None,
    statuses: Sequence[str] = (),
    limit: int = 20,
    offset: int = 0,
    updated_after: datetime | None = None,
) -> list[tuple[int, int | None]]:
    """Ranked (jobs.id, tier) of one tenant's jobs; tier is None when there is no query.

    Raw SQL, so the tenant filter is written out here (the session hook only covers ORM
    statements): every statement filters on ``tenant_id``.
    """
    params: dict[str, Any] = {"tenant_id": tenant_id, "limit": limit, "offset": offset}
    filters = _filters(params, connection_id, statuses, updated_after, dialect)
    parsed = ParsedQuery.parse(query) if query is not None else None
    nulls = " NULLS LAST" if dialect == "postgresql" else ""
    if parsed is None or not parsed.exact:
        # A job the ATS gives no update time (Workday) is as recent as its creation; the
        # expression is the one indexed by migration 0011_job_search_substrings.
        sql = (
            f"SELECT j.id FROM jobs j WHERE j.tenant_id = :tenant_id{filters} "
            f"ORDER BY {RECENCY} DESC{nulls}, j.id DESC LIMIT :limit OFFSET :offset"
        )
        return [(row[0], None) for row in session.execute(sa.text(sql), params)]
    params["exact"] = parsed.exact
    exact = (
        "SELECT j.id FROM jobs j WHERE j.tenant_id = :tenant_id "
        f"AND (lower(j.reference) = :exact OR lower(j.ats_id) = :exact){filters}"
    )
    if dialect != "postgresql":
        return _sqlite_search(session, params, filters, exact, tenant_id, parsed)
    branches = [exact.replace("SELECT j.id", "SELECT j.id, 0 AS tier")]
    if parsed.tokens:
        branches.extend(_pg_branches(params, parsed))
    sql = (
        "WITH hits AS (" + " UNION ALL ".join(branches) + "), "
        "best AS (SELECT id, min(tier) AS tier FROM hits GROUP BY id) "
        "SELECT j.id, best.tier FROM best JOIN jobs j ON j.id = best.id "
        f"WHERE j.tenant_id = :tenant_id{filters} "
        f"ORDER BY best.tier, j.updated_at DESC{nulls}, j.id DESC LIMIT :limit OFFSET :offset"
    )
    return [(row[0], row[1]) for row in session.execute(sa.text(sql), params)]


def _sqlite_tiers(tenant_id: int, parsed: ParsedQuery) -> list[tuple[int, str]]:
    """(tier, FTS5 expression) in rank order; see the module doc."""
    tokens = parsed.tokens
    tiers = []
    if parsed.substring:
        tiers.append(
            (_PARTIAL_REF, f'{{idents}} : "{substring_tag(tenant_id)}{parsed.substring}"*')
        )
    if parsed.country:
        mark = f"{tenant_tag(tenant_id)}{COUNTRY_MARK}{parsed.country}"
        tiers.append((_COUNTRY, f'{{places}} : "{mark}"'))
    places = _fts_all(tenant_id, tokens, "places")
    tiers.append((_TITLE, _fts_all(tenant_id, tokens, "title")))
    if len(tokens) > 1:
        # Words spread over title and places; all of them in the places is the places tier.
        mixed = _fts_all(tenant_id, tokens, "title places")
        tiers.append((_MIXED, f"({mixed}) NOT ({places})"))
    tiers.append((_PLACES, places))
    tiers.append((_IDENT_WORDS, _fts_phrase(tenant_id, tokens, "idents")))
    return tiers


def _sqlite_search(
    session: Session,
    params: dict[str, Any],
    filters: str,
    exact_sql: str,
    tenant_id: int,
    parsed: ParsedQuery,
) -> list[tuple[int, int | None]]:
    """Tier by tier, each streamed newest first from the FTS index (see the module doc).

    Tier *k* matches its own expression and NOT any earlier tier's, so the tiers are
    disjoint and a page is filled from the first tier onwards; a later tier is only counted
    (never sorted) when the page's offset reaches past an earlier one.
    """
    limit, skip = params["limit"], params["offset"]
    exact_ids = [
        row[0]
        for row in session.execute(
            sa.text(exact_sql + " ORDER BY j.updated_at DESC, j.id DESC"), params
        )
    ]
    out: list[tuple[int, int | None]] = [(i, 0) for i in exact_ids[skip : skip + limit]]
    skip = max(0, skip - len(exact_ids))
    if not parsed.tokens:
        return out
    not_exact = ""
    if exact_ids:
        names = []
        for i, job_id in enumerate(exact_ids):
            params[f"x_{i}"] = job_id
            names.append(f":x_{i}")
        not_exact = f" AND j.id NOT IN ({', '.join(names)})"
    base = (
        f"FROM job_search s JOIN jobs j ON j.id = s.rowid % {KEY_SHIFT} "
        f"WHERE job_search MATCH :match AND j.tenant_id = :tenant_id{filters}{not_exact}"
    )
    earlier: list[str] = []
    for tier, expression in _sqlite_tiers(tenant_id, parsed):
        if len(out) >= limit:
            break
        match = expression
        if earlier:
            match = f"({expression}) NOT ({' OR '.join(f'({e})' for e in earlier)})"
        earlier.append(expression)
        params["match"] = match
        if skip:
            # Counting stops at ``skip``: a deep page costs what it skips, never a full count.
            params["cap"] = skip
            count = (
                session.execute(
                    sa.text(f"SELECT count(*) FROM (SELECT 1 {base} LIMIT :cap)"), params
                ).scalar()
                or 0
            )
            if count < skip:
                skip -= count
                continue
        params["n"], params["skip"] = limit - len(out), skip
        rows = session.execute(
            sa.text(f"SELECT j.id {base} ORDER BY s.rowid DESC LIMIT :n OFFSET :skip"), params
        )
        out.extend((row[0], tier) for row in rows)
        skip = 0
    return out


def _pg_branches(params: dict[str, Any], parsed: ParsedQuery) -> list[str]:
    tokens = parsed.tokens
    ts = (
        "SELECT id, {tier} AS tier FROM jobs j WHERE tenant_id = :tenant_id "
        f"AND {PG_TSVECTOR} @@ to_tsquery('simple', :{{name}})"
    )
    out = []
    if parsed.substring:
        # Substrings anywhere in a compact reference or id, through the trigram index.
        params["like"] = _like(parsed.substring)
        out.append(
            f"SELECT id, {_PARTIAL_REF} AS tier FROM jobs WHERE tenant_id = :tenant_id "
            "AND search_refs LIKE :like ESCAPE '\\'"
        )
    if parsed.country:
        params["q_country"] = f"{COUNTRY_MARK}{parsed.country}:B"
        out.append(ts.format(tier=_COUNTRY, name="q_country"))
    params["q_title"] = _ts_all(tokens, "A")
    params["q_places"] = _ts_all(tokens, "B")
    params["q_idents"] = _ts_phrase(tokens)
    out.append(ts.format(tier=_TITLE, name="q_title"))
    if len(tokens) > 1:
        # Words spread over title and places; all of them in the places is the places tier.
        params["q_mixed"] = f"({_ts_all(tokens, 'AB')}) & !({_ts_all(tokens, 'B')})"
        out.append(ts.format(tier=_MIXED, name="q_mixed"))
    out.append(ts.format(tier=_PLACES, name="q_places"))
    out.append(ts.format(tier=_IDENT_WORDS, name="q_idents"))
    return out


# Schema objects created by migration 0002_job_search outside the SQLModel metadata (the
# FTS5 table and its shadow tables, expression indexes): schema comparisons skip them.
SCHEMA_EXTRAS = frozenset(
    {
        "job_search",
        "job_search_data",
        "job_search_idx",
        "job_search_content",
        "job_search_docsize",
        "job_search_config",
        "ix_jobs_search_ref",
        "ix_jobs_search_ats_id",
        "ix_jobs_search_tsv",
        "ix_jobs_search_ref_trgm",
        "ix_jobs_search_ats_id_trgm",
        "ix_jobs_search_refs_trgm",
        "ix_jobs_recency",
    }
)
