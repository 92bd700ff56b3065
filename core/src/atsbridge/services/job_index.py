"""The job mirror's search index: folded words, index upkeep and the ranked search SQL.

Every mirrored job gets three lists of folded words (case- and accent-free): its title, its
places (city, region, country names and ISO code, free text) and its identifiers (reference
and ATS id). ``jobs.search_text`` keeps them as ``"title | places | identifiers"``.

* PostgreSQL indexes that column directly: a GIN index over a weighted ``tsvector`` (title
  A, places B, identifiers C) plus trigram indexes on the lower-cased reference and ATS id
  for substring matches (migration ``0002_job_search``).
* SQLite feeds an FTS5 table ``job_search`` written here, in the same transaction as the
  job row. Its words are prefixed with the tenant id (``t12x`` + word), so a tenant's
  search only walks that tenant's postings: without it a common word in a database of a
  million jobs would match every tenant's rows and the tenant filter would come too late.
  Its rowid is a *recency key*, ``updated_at`` seconds * 2**30 + ``jobs.id`` mod 2**30: FTS5
  returns matches in rowid order, so "newest first" streams straight out of the index and
  a page stops after ``limit`` rows instead of sorting every match (the difference between
  milliseconds and a quarter second for a word found in a third of 100,000 jobs). The job
  id is the key's low bits. A trigger drops the FTS row when a job row is deleted
  (connection removed, job deleted in the ATS).

Ranking (both databases): exact reference or ATS id, then all words in the title, then
words spread over title and places, then all words in the places, then reference or ATS id
partially (a prefix of one of its parts; on PostgreSQL also any 3+ character substring).
Within a tier the most recently updated job comes first.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa
from sqlmodel import Session

SEPARATOR = " | "
# Letters that Unicode does not decompose into base letter + accent.
_SPECIAL = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th"}
)
_WORD = re.compile(r"[^\W_]+")
_COUNTRY_LANGUAGES = ("en", "fr", "de", "es")

# Must stay textually identical to the expression indexed by migration 0002_job_search,
# or PostgreSQL will not use the index.
PG_TSVECTOR = (
    "(setweight(to_tsvector('simple'::regconfig, split_part(search_text, '|', 1)), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, split_part(search_text, '|', 2)), 'B') || "
    "setweight(to_tsvector('simple'::regconfig, split_part(search_text, '|', 3)), 'C'))"
)


def fold(text: str) -> str:
    """Case- and accent-free form of ``text`` ("Kraków" -> "krakow", "Straße" -> "strasse")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.translate(_SPECIAL)


def words(text: str | None) -> list[str]:
    return _WORD.findall(fold(text)) if text else []


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

    def text(self) -> str:
        return SEPARATOR.join(" ".join(p) for p in (self.title, self.places, self.idents))


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
            for name in country_names(code):
                places.extend(words(name))
    return SearchWords(
        title=_dedupe(words(title)),
        places=_dedupe(places),
        idents=_dedupe([*words(reference), *words(ats_id)]),
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


def _scoped(tenant_id: int, items: Iterable[str]) -> str:
    tag = tenant_tag(tenant_id)
    return " ".join(tag + w for w in items)


def sqlite_index(
    session: Session,
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
                "idents": _scoped(tenant_id, w.idents),
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

TIER_NAMES = ("reference", "title", "title+location", "location", "identifier")


@attrs.frozen
class ParsedQuery:
    exact: str
    tokens: tuple[str, ...]

    @classmethod
    def parse(cls, raw: str) -> ParsedQuery:
        return cls(exact=raw.strip().lower(), tokens=tuple(words(raw)))


def _fts_all(tenant_id: int, tokens: Sequence[str], columns: str) -> str:
    tag = tenant_tag(tenant_id)
    terms = [f'"{tag}{t}"' for t in tokens]
    terms[-1] += "*"
    return f"{{{columns}}} : ({' AND '.join(terms)})"


def _fts_phrase(tenant_id: int, tokens: Sequence[str], column: str) -> str:
    tag = tenant_tag(tenant_id)
    phrase = " + ".join(f'"{tag}{t}"' for t in tokens)
    return f"{{{column}}} : ({phrase}*)"


def _ts_all(tokens: Sequence[str], weights: str) -> str:
    parts = [f"{t}:{weights}" for t in tokens]
    parts[-1] = f"{tokens[-1]}:*{weights}"
    return " & ".join(parts)


def _ts_phrase(tokens: Sequence[str]) -> str:
    parts = [f"{t}:C" for t in tokens]
    parts[-1] = f"{tokens[-1]}:*C"
    return " <-> ".join(parts)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filters(params: dict[str, Any], connection_id: int | None, statuses: Sequence[str]) -> str:
    sql = ""
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
) -> list[tuple[int, int | None]]:
    """Ranked (jobs.id, tier) of one tenant's jobs; tier is None when there is no query.

    Raw SQL, so the tenant filter is written out here (the session hook only covers ORM
    statements): every statement filters on ``tenant_id``.
    """
    params: dict[str, Any] = {"tenant_id": tenant_id, "limit": limit, "offset": offset}
    filters = _filters(params, connection_id, statuses)
    parsed = ParsedQuery.parse(query) if query is not None else None
    nulls = " NULLS LAST" if dialect == "postgresql" else ""
    if parsed is None or not parsed.exact:
        sql = (
            f"SELECT j.id FROM jobs j WHERE j.tenant_id = :tenant_id{filters} "
            f"ORDER BY j.updated_at DESC{nulls}, j.id DESC LIMIT :limit OFFSET :offset"
        )
        return [(row[0], None) for row in session.execute(sa.text(sql), params)]
    params["exact"] = parsed.exact
    exact = (
        "SELECT j.id FROM jobs j WHERE j.tenant_id = :tenant_id "
        f"AND (lower(j.reference) = :exact OR lower(j.ats_id) = :exact){filters}"
    )
    if dialect != "postgresql":
        return _sqlite_search(session, params, filters, exact, tenant_id, parsed.tokens)
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


def _sqlite_search(
    session: Session,
    params: dict[str, Any],
    filters: str,
    exact_sql: str,
    tenant_id: int,
    tokens: Sequence[str],
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
    if not tokens:
        return out
    places = _fts_all(tenant_id, tokens, "places")
    tiers = [(1, _fts_all(tenant_id, tokens, "title"))]
    if len(tokens) > 1:
        # Words spread over title and places; all of them in the places is the places tier.
        mixed = _fts_all(tenant_id, tokens, "title places")
        tiers.append((2, f"({mixed}) NOT ({places})"))
    tiers.append((3, places))
    tiers.append((4, _fts_phrase(tenant_id, tokens, "idents")))
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
    for tier, expression in tiers:
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
    params["q_title"] = _ts_all(tokens, "A")
    params["q_places"] = _ts_all(tokens, "B")
    params["q_idents"] = _ts_phrase(tokens)
    out = [ts.format(tier=1, name="q_title")]
    if len(tokens) > 1:
        # Words spread over title and places; all of them in the places is the places tier.
        params["q_mixed"] = f"({_ts_all(tokens, 'AB')}) & !({_ts_all(tokens, 'B')})"
        out.append(ts.format(tier=2, name="q_mixed"))
    out.append(ts.format(tier=3, name="q_places"))
    out.append(ts.format(tier=4, name="q_idents"))
    if len(parsed.exact) >= 3:
        # Substrings anywhere in a reference or id, through the trigram indexes.
        params["like"] = _like(parsed.exact)
        out.append(
            "SELECT id, 4 AS tier FROM jobs WHERE tenant_id = :tenant_id AND "
            "(lower(reference) LIKE :like ESCAPE '\\' OR lower(ats_id) LIKE :like ESCAPE '\\')"
        )
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
    }
)
