"""Candidates Not To Source: each product job's list of people the product must not source.

Two sources feed a job's list:

* **ats**: the pipeline of the linked ATS job, every stage (rejected and hired included),
  synced by the ``candidates`` sync kind through the generic ``SyncRunner``: the first pass
  lists everything; later passes ask for ``updated_since`` (incremental). The walk reads
  the account-wide listing (scope ``*``; people of jobs not linked dropped here) or each
  linked job's, whichever ``pipeline_plan`` estimates cheaper for the pass.
* **file**: people imported from a CSV/xlsx file (``import_file``), atomically.

**Removals.** An incremental listing only shows what changed, never what was deleted, so a
person taken out of the ATS pipeline is only noticed by a *full* pass: every row the pass
confirms gets ``updated_at`` = the time it was seen, and when a full pass completes the
job's ``ats`` rows older than the pass's start are deleted (``file`` rows are never touched).
A job gets a full pass on its first sync, on ``full=True``, and automatically when its last
full pass is older than the connection's ``candidates_full`` interval (settings
``{"intervals": {"candidates_full": 1440}}`` in minutes, or the older ``cnts_reconcile_hours``;
default a day), the same way as the job mirror's (see ``fullpass``); the time of that last
full pass is kept as a ``SyncCheckpoint`` of kind ``candidates.full``. So a removal shows
within one reconciliation period, and never makes a pass slower.
A candidate whose page shifted during a full pass (offset paging while the ATS changes) can
be dropped by mistake; the next run puts it back, since the change that moved it also bumps
its ``updated_at``.

**Status flow-back.** The pages listed here are the same pipelines the lead status sync
walks, so each page also updates the exported leads it shows (``leads.record_candidates``,
in the page's transaction; the status-changed events fire after the commit): a stage moved
in the ATS reaches the funnel with the next refresh, without one extra request.

**Refresh.** The host runs the kind every ``cnts_refresh_minutes`` (default 180) per
connection; ``refresh_interval`` reads the setting.

**Matching** (``check``/``check_batch``): a person is excluded when any strong identifier
(email, LinkedIn, phone; normalised by ``atsbridge.identity``) equals one on the list, or
when the exact normalised full name matches together with the company or the city. The
answer names the rule. An entry's first email, its LinkedIn profile and its first phone are
indexed columns of the entry row itself; only further emails and phones (a minority of
people) get ``cnts_keys`` rows. So storing a person is one row and its indexes, not one row
per identifier, and a batch is a handful of ``IN`` probes per identifier kind.

Every query here filters on ``tenant_id`` explicitly: the reads go through Core statements
on the session's connection (fast, but outside the repository's ORM tenant hook).
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs
import sqlalchemy as sa

from atsbridge import countries, filereader, identity, storable
from atsbridge.errors import (
    AtsbridgeError,
    AtsUnavailable,
    AuthError,
    BadInput,
    Conflict,
    NotFound,
)
from atsbridge.events import hooks, records
from atsbridge.model import Candidate, CandidateQuery, Capability
from atsbridge.services import fullpass, removals
from atsbridge.services.base import Service
from atsbridge.services.leads import EXPORTED, StatusChanges, record_candidates
from atsbridge.services.pipeline_plan import ACCOUNT_SCOPE, JobFacts, PipelinePlan, choose_plan
from atsbridge.services.sync import (
    FetchedPage,
    KindSpec,
    PageAhead,
    PageKey,
    PageOutcome,
    PassInfo,
    ProgressCallback,
    RunReport,
    SyncRunner,
    register_kind,
)
from atsbridge.sessions import PluginSession
from atsbridge.store import (
    CntsEntry,
    CntsList,
    Connection,
    JobLink,
    LeadRow,
    Store,
    SyncCheckpoint,
    SyncRun,
    TenantRepo,
)
from atsbridge.store import Job as JobRow
from atsbridge.store.tables import CntsKey, table

if TYPE_CHECKING:
    from atsbridge.api import Atsbridge

log = logging.getLogger(__name__)

KIND = "candidates"
FULL_MARK_KIND = fullpass.mark_kind(KIND)
SOURCES = ("ats", "file")
MAX_SEARCH = 512  # characters of a list search
MAX_INT64 = 2**63 - 1  # the largest LIMIT/OFFSET the databases take
STRONG_KINDS = ("email", "linkedin", "phone")
RULES = ("email", "linkedin", "phone", "name+company", "name+city")

DEFAULT_REFRESH = timedelta(hours=3)
DEFAULT_RECONCILE = fullpass.DEFAULT_EVERY
PAGE_SIZE = 100
_CHUNK = 500  # values per IN (...): well under every database's parameter limit

E = table(CntsEntry)
K = table(CntsKey)

# The pipeline sync's statements, built once (``ids`` expands to the chunk's values):
# building and cache-keying a statement per page cost about as much as running it.
_bp = sa.bindparam
_JOB_ROWS = (
    E.c.tenant_id == _bp("tid"),
    E.c.product_job_id == _bp("job"),
    E.c.source == _bp("source"),
    E.c.ats_candidate_id.in_(_bp("ids", expanding=True)),
)
_LISTED = sa.select(E.c.ats_candidate_id, E.c.id, E.c.raw["sig"].as_string()).where(*_JOB_ROWS)
_IDS_OF = sa.select(E.c.ats_candidate_id, E.c.id).where(*_JOB_ROWS)
_L = table(JobLink)
_LINKS = sa.select(_L.c.ats_job_id, _L.c.product_job_id).where(
    _L.c.tenant_id == _bp("tid"), _L.c.connection_id == _bp("cid")
)
_SEEN = (
    sa.update(E)
    .where(E.c.tenant_id == _bp("tid"), E.c.id.in_(_bp("ids", expanding=True)))
    .values(updated_at=_bp("b_now"))
)


def refresh_interval(settings: dict) -> timedelta:
    """How often the host refreshes a connection's pipelines (setting cnts_refresh_minutes)."""
    return _minutes(settings, "cnts_refresh_minutes", DEFAULT_REFRESH)


def reconcile_interval(settings: dict, overrides: dict[str, float] | None = None) -> timedelta:
    """How old a job's last full pass may get before the next run is full again."""
    return fullpass.interval(settings, KIND, overrides, legacy_hours="cnts_reconcile_hours")


def _minutes(settings: dict, key: str, default: timedelta) -> timedelta:
    value = settings.get(key)
    if value is None:
        return default
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise BadInput(f"setting {key} must be a positive number of minutes, not {value!r}")
    return timedelta(minutes=value)


# --- what callers see ----------------------------------------------------------------------


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):  # one value given where a list was meant
        return (values,)
    return tuple(values)


@attrs.frozen
class Person:
    """Someone the product is about to source, as ``check`` takes it."""

    emails: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    linkedin: str | None = None
    phones: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    name: str | None = None
    company: str | None = None
    city: str | None = None


@attrs.frozen
class Match:
    rule: str  # one of RULES
    value: str  # the normalised value that matched
    entry_id: int
    source: str
    name: str | None
    added_at: datetime
    ats_candidate_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "value": self.value,
            "entry_id": self.entry_id,
            "source": self.source,
            "name": self.name,
            "added_at": self.added_at.isoformat(),
            "ats_candidate_id": self.ats_candidate_id if self.source == "ats" else None,
        }


@attrs.frozen
class CheckResult:
    """``excluded`` with the strongest ``rule`` that matched; ``problems`` lists input values
    that could not be read (they were left out of the check, never guessed)."""

    excluded: bool
    rule: str | None
    matches: tuple[Match, ...] = ()
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "excluded": self.excluded,
            "rule": self.rule,
            "matches": [m.to_json() for m in self.matches],
            "problems": list(self.problems),
        }


@attrs.frozen
class EntryView:
    id: int
    source: str
    name: str | None
    emails: tuple[str, ...]
    linkedin: str | None
    phones: tuple[str, ...]
    company: str | None
    city: str | None
    added_at: datetime
    updated_at: datetime
    ats_candidate_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "name": self.name,
            "emails": list(self.emails),
            "linkedin": self.linkedin,
            "phones": list(self.phones),
            "company": self.company,
            "city": self.city,
            "added_at": self.added_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "ats_candidate_id": self.ats_candidate_id,
        }


@attrs.frozen
class EntryList:
    total: int
    entries: tuple[EntryView, ...]


@attrs.frozen
class ImportReport:
    """What an import did (or, with ``dry_run``, would do: nothing was stored)."""

    import_id: int | None  # the recorded import (None on a dry run)
    dry_run: bool
    added: int  # people new to the list
    updated: int  # people already listed from a file whose identifiers changed
    unchanged: int  # people already listed from a file exactly like this
    duplicates_in_file: int  # rows that are a person another row of the file already gave
    problems: tuple[filereader.RowProblem, ...]  # rows skipped: nothing usable in them
    warnings: tuple[filereader.FieldWarning, ...]  # values left out of rows that were kept
    columns: dict[str, str]
    ignored_columns: tuple[str, ...]
    file_format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    # Values stored as text that a spreadsheet would run as formulas if exported into one.
    formulas: tuple[filereader.FormulaCell, ...] = ()

    @property
    def skipped(self) -> int:
        return len(self.problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "dry_run": self.dry_run,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicates_in_file": self.duplicates_in_file,
            "skipped": self.skipped,
            "problems": [{"row": p.row, "reason": p.reason} for p in self.problems],
            "warnings": [
                {"row": w.row, "column": w.column, "reason": w.reason} for w in self.warnings
            ],
            "columns": self.columns,
            "ignored_columns": list(self.ignored_columns),
            "format": self.file_format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.sheet,
            "formula_cells": [{"row": f.row, "column": f.column} for f in self.formulas],
        }


@attrs.frozen
class ImportView:
    """One recorded import of a job's list (``cnts imports``)."""

    id: int
    file_name: str
    imported_at: datetime
    added: int
    updated: int
    unchanged: int
    skipped: int
    warnings: int
    entries: int  # entries this import lists now

    def to_json(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["imported_at"] = self.imported_at.isoformat()
        return out


@attrs.frozen
class RemoveReport:
    """What a removal deleted: ``removed`` entries; ``kept`` ones another import still lists."""

    removed: int
    kept: int = 0

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


# --- normalised people ----------------------------------------------------------------------


@attrs.define
class _Keys:
    """A person's normalised identifiers, as stored and as probed."""

    emails: list[str] = attrs.Factory(list)
    linkedin: str | None = None
    phones: list[str] = attrs.Factory(list)
    name_norm: str = ""
    company_norm: str = ""
    city_norm: str = ""
    problems: list[str] = attrs.Factory(list)

    def strong(self) -> Iterator[tuple[str, str]]:
        for email in self.emails:
            yield "email", email
        if self.linkedin:
            yield "linkedin", self.linkedin
        for phone in self.phones:
            yield "phone", phone

    def extra(self) -> Iterator[tuple[str, str]]:
        """The identifiers beyond the entry row's own columns: the 2nd email on, 2nd phone on."""
        for email in self.emails[1:]:
            yield "email", email
        for phone in self.phones[1:]:
            yield "phone", phone


def _normalize_many(
    values: Iterable[str | None], fn: Callable[[str], str], problems: list[str]
) -> list[str]:
    out: list[str] = []
    for value in values:
        if value is None or not value.strip():
            continue
        try:
            normalized = fn(value)
        except identity.InvalidIdentifier as exc:
            problems.append(str(exc))
            continue
        if normalized not in out:
            out.append(normalized)
    return out


def person_keys(
    *,
    emails: Iterable[str | None] = (),
    linkedin: str | None = None,
    phones: Iterable[str | None] = (),
    name: str | None = None,
    company: str | None = None,
    city: str | None = None,
    default_country: str | None = None,
) -> _Keys:
    problems: list[str] = []
    linkedins = _normalize_many([linkedin], identity.normalize_linkedin, problems)
    phone = partial(identity.normalize_phone, default_country=default_country)
    return _Keys(
        emails=_normalize_many(emails, identity.normalize_email, problems),
        linkedin=linkedins[0] if linkedins else None,
        phones=_normalize_many(phones, phone, problems),
        name_norm=identity.normalize_name(name) if name else "",
        company_norm=identity.normalize_company(company) if company else "",
        city_norm=identity.normalize_city(city) if city else "",
        problems=problems,
    )


# --- matching --------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def match_batch(
    conn: sa.Connection, tenant_id: int, product_job_id: str, probes: Sequence[_Keys]
) -> list[CheckResult]:
    """Check every probe against one job's list in a few indexed queries.

    Every lookup is one ``IN`` probe of an index; the lookups go out as ``UNION ALL`` groups
    so a single check costs one round trip and a batch of 10,000 a few dozen. The SQL is
    written out here and run through the driver: building SQLAlchemy statements cost ten
    times more than SQLite spent answering them.
    """
    wanted: dict[tuple[str, str], list[int]] = defaultdict(list)
    names: dict[str, list[int]] = defaultdict(list)
    for i, probe in enumerate(probes):
        for key in probe.strong():
            wanted[key].append(i)
        if probe.name_norm and (probe.company_norm or probe.city_norm):
            names[probe.name_norm].append(i)
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, value in wanted:
        by_kind[kind].append(value)
    lookups: list[tuple[str, list[Any]]] = []
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    for kind, values in by_kind.items():
        for chunk in _chunks(values):
            marks = ", ".join([mark] * len(chunk))
            for template in (_COLUMN_SQL, _KEY_SQL):
                sql = template.format(kind=kind, marks=marks, p=mark)
                lookups.append((sql, [tenant_id, product_job_id, *chunk]))
    for chunk in _chunks(list(names)):
        sql = _NAME_SQL.format(marks=", ".join([mark] * len(chunk)), p=mark)
        lookups.append((sql, [tenant_id, product_job_id, *chunk]))
    found: list[list[Match]] = [[] for _ in probes]
    times: dict[Any, datetime] = {}  # entries added together share their timestamp
    # The DBAPI cursor itself: SQLAlchemy's result rows cost more than SQLite's lookups.
    cursor = conn.connection.cursor()
    for group in _chunks(lookups, _UNION):
        sql = " UNION ALL ".join(part for part, _ in group)
        cursor.execute(sql, tuple(v for _, values in group for v in values))
        for row in cursor.fetchall():
            hit_kind: str = row[0]
            hit: str = row[1]
            added = times.get(row[5])
            if added is None:
                added = times[row[5]] = _utc(row[5])
            listed = (row[2], row[3], row[4], added, row[6])
            if hit_kind != "name":
                for i in wanted[(hit_kind, hit)]:
                    found[i].append(_match(hit_kind, hit, listed))
                continue
            company: str | None = row[7]
            city: str | None = row[8]
            company_norm = identity.normalize_company(company) if company else ""
            city_norm = identity.normalize_city(city) if city else ""
            for i in names[hit]:
                probe = probes[i]
                if probe.company_norm and probe.company_norm == company_norm:
                    found[i].append(_match("name+company", hit, listed))
                elif probe.city_norm and probe.city_norm == city_norm:
                    found[i].append(_match("name+city", hit, listed))
    cursor.close()
    results = []
    for probe, matches in zip(probes, found, strict=True):
        if len(matches) > 1:
            matches.sort(key=lambda m: (RULES.index(m.rule), m.entry_id))
        results.append(
            CheckResult(
                excluded=bool(matches),
                rule=matches[0].rule if matches else None,
                matches=tuple(matches),
                problems=tuple(probe.problems),
            )
        )
    return results


_UNION = 8  # lookups per statement
# ``kind`` is one of STRONG_KINDS (our constant, never user input); values are parameters.
# An identifier is either the entry's own ``<kind>_norm`` column or one of its extra keys.
_COLUMN_SQL = (
    "SELECT '{kind}', e.{kind}_norm, e.id, e.source, e.name, e.added_at, e.ats_candidate_id, "
    "NULL, NULL FROM cnts_entries e "
    "WHERE e.tenant_id = {p} AND e.product_job_id = {p} AND e.{kind}_norm IN ({marks})"
)
_KEY_SQL = (
    "SELECT '{kind}', k.value, e.id, e.source, e.name, e.added_at, e.ats_candidate_id, "
    "NULL, NULL FROM cnts_keys k JOIN cnts_entries e ON e.id = k.entry_id "
    "WHERE k.tenant_id = {p} AND k.product_job_id = {p} AND k.kind = '{kind}' "
    "AND k.value IN ({marks})"
)
_NAME_SQL = (
    "SELECT 'name', e.name_norm, e.id, e.source, e.name, e.added_at, e.ats_candidate_id, "
    "e.company, e.city FROM cnts_entries e "
    "WHERE e.tenant_id = {p} AND e.product_job_id = {p} AND e.name_norm IN ({marks})"
)


def _utc(value: Any) -> datetime:
    # The driver hands back what the database stores: aware datetimes from PostgreSQL,
    # naive UTC text from SQLite (see store.types.UTCDateTime).
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _match(rule: str, value: str, entry: Sequence[Any]) -> Match:
    entry_id, source, name, added_at, ats_candidate_id = entry
    return Match(rule, value, entry_id, source, name, added_at, ats_candidate_id)


# --- writing entries ----------------------------------------------------------------------


class _Row(NamedTuple):
    """One person ready to store: what the entry row holds, identifiers normalised.

    A plain tuple of strings, so a page of them is cheap to hand to a worker process.
    """

    # Stored as they are, in _ENTRY_COLUMNS order:
    name: str | None
    email: str | None  # the first email; further ones are ``extra``
    linkedin: str | None
    phone: str | None  # the first phone; further ones are ``extra``
    name_norm: str | None
    company: str | None
    city: str | None
    raw: str  # JSON text; its "sig" is the row's signature
    # Then:
    external_id: str  # ATS candidate id, or the fingerprint of a file row
    sig: str
    extra: tuple[tuple[str, str], ...]  # (kind, value): cnts_keys rows


_CANDIDATE_TEXT = (
    "stage",
    "status_raw",
    "application_id",
    "first_name",
    "last_name",
    "linkedin_url",
    "company",
    "city",
)


def _unstorable(candidate: Candidate) -> str | None:
    """Why the store cannot hold ``candidate`` (the field, never its value), or None."""
    ats_id = candidate.ats_id
    if isinstance(ats_id, str) and (
        reason := storable.text_problem(ats_id, max_length=storable.MAX_ID)
    ):
        return f"ats_id {reason}"
    for name in _CANDIDATE_TEXT:
        value = getattr(candidate, name, None)
        if isinstance(value, str) and (reason := storable.text_problem(value)):
            return f"{name} {reason}"
    for name in ("emails", "phones"):
        for value in getattr(candidate, name, ()) or ():
            if isinstance(value, str) and (reason := storable.text_problem(value)):
                return f"{name} {reason}"
    return None


def _row(
    external_id: str,
    keys: _Keys,
    name: str | None,
    company: str | None,
    city: str | None,
    raw: dict[str, Any],
) -> _Row:
    return _Row(
        name,
        keys.emails[0] if keys.emails else None,
        keys.linkedin,
        keys.phones[0] if keys.phones else None,
        keys.name_norm or None,
        company,
        city,
        json.dumps(raw),
        external_id,
        raw["sig"],
        tuple(keys.extra()),
    )


@attrs.frozen
class PreparedPage:
    """A pipeline page normalised off the database path (``CandidatesKind.fetch``)."""

    rows: tuple[_Row, ...]  # the latest row per candidate id, in page order
    high_water: datetime | None
    errors: tuple[str, ...]


@attrs.frozen
class AccountPage:
    """A page of the account-wide listing, split by job; people of other jobs dropped."""

    by_job: dict[str, PreparedPage]  # ATS job id -> its people on this page
    candidates: dict[str, list[Candidate]]  # the same, as listed (for the flow-back)
    high_water: datetime | None
    dropped: int  # people on jobs that are not linked (or closed)


def _entry_values(
    tenant_id: int,
    product_job_id: str,
    source: str,
    connection_id: int | None,
    row: _Row,
    now: datetime,
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "product_job_id": product_job_id,
        "source": source,
        "connection_id": connection_id,
        "name": row.name,
        "email_norm": row.email,
        "linkedin_norm": row.linkedin,
        "phone_norm": row.phone,
        "name_norm": row.name_norm,
        "raw": json.loads(row.raw),
        "company": row.company,
        "city": row.city,
        "ats_candidate_id": row.external_id,
        "added_at": now,
        "updated_at": now,
    }


def _insert_entries(
    conn: sa.Connection,
    tenant_id: int,
    product_job_id: str,
    source: str,
    connection_id: int | None,
    rows: Sequence[_Row],
    now: datetime,
) -> None:
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        # Straight to sqlite3, with what the columns' bind processing would make of the
        # values (the JSON is already text): building a dict per row for SQLAlchemy cost as
        # much as SQLite's inserts.
        to_stored = E.c.added_at.type.bind_processor(conn.dialect)
        stamp: Any = to_stored(now) if to_stored is not None else now
        if isinstance(stamp, datetime):
            # What sqlite3's own datetime adapter would make of it, once instead of per row.
            stamp = stamp.isoformat(" ")
        head = (tenant_id, product_job_id, source, connection_id)
        conn.exec_driver_sql(
            _SQLITE_INSERT_ENTRY,
            [(*head, *r[:_STORED], r.external_id, stamp, stamp) for r in rows],
        )
    else:
        conn.execute(
            sa.insert(E),
            [_entry_values(tenant_id, product_job_id, source, connection_id, r, now) for r in rows],
        )
    # Only people with a second email or phone need their entry id, for their extra keys: a
    # plain executemany, then the ids back through the unique (job, source, external id)
    # index, is cheaper than INSERT ... RETURNING with guaranteed ordering on either database.
    extras = [r for r in rows if r.extra]
    ids: dict[str, int] = {}
    key = {"tid": tenant_id, "job": product_job_id, "source": source}
    for chunk in _chunks([r.external_id for r in extras]):
        ids.update(conn.execute(_IDS_OF, {**key, "ids": list(chunk)}).all())
    _insert_keys(conn, tenant_id, product_job_id, ((ids[r.external_id], r.extra) for r in extras))


def rewrite_entries(
    conn: sa.Connection,
    tenant_id: int,
    product_job_id: str,
    changed: Sequence[tuple[int, _Row]],
    now: datetime,
) -> None:
    """Overwrite existing entries (by id) with new rows: identifiers, name, raw, keys.

    The entry keeps its id, source, external id and ``added_at``; ``updated_at`` is now.
    """
    ids = [entry_id for entry_id, _ in changed]
    for chunk in _chunks(ids):
        conn.execute(sa.delete(K).where(K.c.tenant_id == tenant_id, K.c.entry_id.in_(chunk)))
    for entry_id, entry in changed:
        values = _entry_values(tenant_id, product_job_id, "ats", None, entry, now)
        for column in (
            "tenant_id",
            "product_job_id",
            "source",
            "connection_id",
            "added_at",
            "ats_candidate_id",
        ):
            values.pop(column)
        conn.execute(
            sa.update(E).where(E.c.tenant_id == tenant_id, E.c.id == entry_id).values(**values)
        )
    _insert_keys(conn, tenant_id, product_job_id, ((i, row.extra) for i, row in changed))


def _insert_keys(
    conn: sa.Connection,
    tenant_id: int,
    product_job_id: str,
    pairs: Iterable[tuple[int, tuple[tuple[str, str], ...]]],
) -> None:
    rows = [
        {
            "tenant_id": tenant_id,
            "entry_id": entry_id,
            "product_job_id": product_job_id,
            "kind": kind,
            "value": value,
        }
        for entry_id, extra in pairs
        for kind, value in extra
    ]
    if rows and conn.dialect.name == "sqlite":
        _sqlite_executemany(conn, K, rows)
    elif rows:
        conn.execute(sa.insert(K), rows)


_ENTRY_COLUMNS = (
    "tenant_id, product_job_id, source, connection_id, name, email_norm, linkedin_norm, "
    "phone_norm, name_norm, company, city, raw, ats_candidate_id, added_at, updated_at"
)
_STORED = 8  # _Row's leading fields, name to raw
_SQLITE_INSERT_ENTRY = (
    f"INSERT INTO cnts_entries ({_ENTRY_COLUMNS}) VALUES ({', '.join(['?'] * 15)})"
)


def _sqlite_executemany(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """sqlite3's own executemany with the columns' bind processing done here, once per value.

    SQLAlchemy's per-row parameter handling cost more than SQLite's inserts on a pipeline
    sync; the values still go through each column type's processor (UTC datetimes, JSON),
    so what lands in the database is exactly what ``conn.execute(insert(...))`` would write.
    """
    columns = list(rows[0])
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    # Only the columns whose type converts anything (UTC datetimes, JSON) are touched, and
    # a datetime shared by the page's rows (its ``now``) is converted once.
    convert = [
        (i, proc)
        for i, name in enumerate(columns)
        if (proc := table.c[name].type.bind_processor(conn.dialect)) is not None
    ]
    done: dict[int, Any] = {}
    params = []
    for row in rows:
        values = [row[name] for name in columns]
        for i, proc in convert:
            value = values[i]
            if value is None:
                continue
            if isinstance(value, datetime):
                key = id(value)
                if key not in done:
                    done[key] = proc(value)
                values[i] = done[key]
            else:
                values[i] = proc(value)
        params.append(tuple(values))
    conn.exec_driver_sql(sql, params)


def _signature(
    emails: Sequence[str],
    linkedin: str | None,
    phones: Sequence[str],
    name: str | None,
    company: str | None,
    city: str | None,
) -> str:
    """What a pipeline row's matching depends on; a listed row with the same one is unchanged."""
    # Unit and record separators cannot occur in a normalised identifier or a trimmed name.
    data = "\x1e".join(
        (
            "\x1f".join(emails),
            linkedin or "",
            "\x1f".join(phones),
            name or "",
            company or "",
            city or "",
        )
    )
    return hashlib.blake2b(data.encode(), digest_size=16).hexdigest()


# A str as JSON text (quoted, escaped, ASCII), as json.dumps writes it, without its dispatch.
_json_string = json.encoder.encode_basestring_ascii


# --- pipeline sync ------------------------------------------------------------------------


class CandidatesKind:
    """The ``candidates`` sync kind: one scope per linked ATS job (scope = ATS job id)."""

    name = KIND
    # fetch() only calls the plugin, so the runner may request the next page while this
    # one is stored (see SyncKind).
    prefetch = True

    def __init__(
        self,
        default_country: str | None = None,
        page_size: int = PAGE_SIZE,
        fire: Callable[[StatusChanges], None] | None = None,
    ):
        self.default_country = default_country
        self._normalize_phone = partial(identity.normalize_phone, default_country=default_country)
        self.page_size = page_size
        # Where status-changed events go; None: leave exported leads to the status sync.
        self.fire = fire
        self._links: dict[int, dict[str, str]] = {}
        self._lead_jobs: dict[int, frozenset[str]] = {}
        # ATS job id -> product job id of the open links an account-wide walk keeps (the
        # task sets it from the links it planned with); None: every link of the connection.
        self.open_jobs: dict[str, str] | None = None
        # Jobs with exported leads an account-wide walk keeps for the flow-back alone.
        self.lead_jobs_kept: frozenset[str] = frozenset()
        # One kind serves every worker thread of a task; each thread fires what its own
        # page recorded, once that page's transaction has committed.
        self._changes = threading.local()

    def fetch(
        self, session: PluginSession, scope: str, cursor: str | None, since: datetime | None
    ) -> FetchedPage:
        page = self.list_page(session, scope, cursor, since)
        if scope == ACCOUNT_SCOPE:
            return attrs.evolve(page, prepared=self.prepare_account(page.items))
        return attrs.evolve(page, prepared=self.prepare(page.items))

    def list_page(
        self, session: PluginSession, scope: str, cursor: str | None, since: datetime | None
    ) -> FetchedPage:
        """The plugin's page as it is, not yet normalised (``apply`` prepares it then)."""
        query = CandidateQuery(
            job_ats_id=None if scope == ACCOUNT_SCOPE else scope,
            updated_since=since,
            cursor=cursor,
            page_size=self.page_size,
        )
        page = session.call("atsbridge_list_candidates", query=query)
        total = getattr(page, "total", None)
        return FetchedPage(items=page.items, next_cursor=page.next_cursor, total=total)

    def prepare_account(self, candidates: Iterable[Candidate]) -> AccountPage:
        """Split an account-wide page by job, dropping people of jobs not open and linked.

        ``open_jobs`` (set by the task before the walk) names the jobs kept; a person who
        applied to two linked jobs is kept on both.
        """
        keep = None if self.open_jobs is None else {*self.open_jobs, *self.lead_jobs_kept}
        grouped: dict[str, list[Candidate]] = defaultdict(list)
        dropped = 0
        for candidate in candidates:
            job = getattr(candidate, "job_ats_id", None)
            if not job or (keep is not None and job not in keep):
                dropped += 1
                continue
            grouped[job].append(candidate)
        by_job = {job: self.prepare(people) for job, people in grouped.items()}
        high_water = max(
            (p.high_water for p in by_job.values() if p.high_water is not None), default=None
        )
        return AccountPage(by_job, dict(grouped), high_water, dropped)

    def prepare(self, candidates: Iterable[Candidate]) -> PreparedPage:
        """Normalise a page (CPU only, no database): done where the page was fetched."""
        latest: dict[str, Candidate] = {}
        high_water: datetime | None = None
        errors: list[str] = []
        for candidate in candidates:
            unstorable = _unstorable(candidate)
            if unstorable is not None:
                # One record the store cannot hold must not fail its page on every run.
                errors.append(f"warning: skipped a candidate: {unstorable}")
                continue
            latest[candidate.ats_id] = candidate
            if candidate.updated_at is not None and (
                high_water is None or candidate.updated_at > high_water
            ):
                high_water = candidate.updated_at
        rows = tuple(self._row(candidate, errors) for candidate in latest.values())
        return PreparedPage(rows, high_water, tuple(errors))

    def _product_job(self, repo: TenantRepo, connection_id: int, scope: str) -> str | None:
        # Every link of the connection, read once per task run: a link dropped meanwhile is
        # cleaned up by whoever drops it, and a query per job cost more than its writes.
        if connection_id not in self._links:
            rows = repo.session.connection().execute(
                _LINKS, {"tid": repo.tenant_id, "cid": connection_id}
            )
            self._links[connection_id] = {ats_job_id: job for ats_job_id, job in rows}
        return self._links[connection_id].get(scope)

    def _has_exported_leads(self, repo: TenantRepo, connection_id: int, scope: str) -> bool:
        return scope in self.jobs_with_exported_leads(repo, connection_id)

    def jobs_with_exported_leads(self, repo: TenantRepo, connection_id: int) -> frozenset[str]:
        """ATS jobs whose pages also update exported leads (``record_candidates``)."""
        # Read once per task run: a lead exported meanwhile is the status sync's to follow.
        if connection_id not in self._lead_jobs:
            LR = table(LeadRow)
            self._lead_jobs[connection_id] = frozenset(
                repo.session.connection()
                .execute(
                    sa.select(LR.c.ats_job_id)
                    .where(
                        LR.c.tenant_id == repo.tenant_id,
                        LR.c.connection_id == connection_id,
                        LR.c.state == EXPORTED,
                        LR.c.ats_job_id.is_not(None),
                    )
                    .distinct()
                )
                .scalars()
            )
        return self._lead_jobs[connection_id]

    def apply(
        self, repo: TenantRepo, connection_id: int, scope: str, page: FetchedPage, now: datetime
    ) -> PageOutcome:
        # A page whose transaction rolled back must not fire what it recorded.
        self._changes.pending = None
        if scope == ACCOUNT_SCOPE:
            return self._apply_account(repo, connection_id, page, now)
        moved = None
        if self.fire is not None and self._has_exported_leads(repo, connection_id, scope):
            self._changes.pending = record_candidates(repo, connection_id, scope, page.items, now)
            moved = self._changes.pending.changed
        prepared = page.prepared
        if not isinstance(prepared, PreparedPage):  # a page fetched without ``fetch``
            prepared = self.prepare(page.items)
        outcome = PageOutcome(
            high_water=prepared.high_water, errors=list(prepared.errors), moved=moved
        )
        if self.open_jobs is not None:  # a closed job's walk only feeds the flow-back
            product_job_id = self.open_jobs.get(scope)
        else:
            product_job_id = self._product_job(repo, connection_id, scope)
        if product_job_id is None:  # unlinked while syncing: nothing to keep
            outcome.unchanged = len(prepared.rows)
            return outcome
        self._store(repo, connection_id, product_job_id, prepared, now, outcome)
        return outcome

    def _apply_account(
        self, repo: TenantRepo, connection_id: int, page: FetchedPage, now: datetime
    ) -> PageOutcome:
        """An account-wide page: each linked job's people stored as its own page would be,
        and exported leads moved from the same page (the one walk feeds both)."""
        prepared = page.prepared
        if not isinstance(prepared, AccountPage):
            prepared = self.prepare_account(page.items)
        outcome = PageOutcome(high_water=prepared.high_water)
        outcome.unchanged = prepared.dropped
        links = self.open_jobs
        changes = StatusChanges()
        lead_jobs = self.jobs_with_exported_leads(repo, connection_id) if self.fire else ()
        for job, rows in prepared.by_job.items():
            if job in lead_jobs:
                moved = record_candidates(repo, connection_id, job, prepared.candidates[job], now)
                changes.events.extend(moved.events)
                changes.matched += moved.matched
                changes.changed += moved.changed
            product_job_id = (
                links.get(job) if links is not None else self._product_job(repo, connection_id, job)
            )
            if product_job_id is None:  # not linked, or closed: never stored
                outcome.unchanged += len(rows.rows)
                continue
            outcome.errors.extend(rows.errors)
            self._store(repo, connection_id, product_job_id, rows, now, outcome)
        if changes.matched:
            self._changes.pending = changes
            outcome.moved = changes.changed
        return outcome

    def _store(
        self,
        repo: TenantRepo,
        connection_id: int,
        product_job_id: str,
        prepared: PreparedPage,
        now: datetime,
        outcome: PageOutcome,
    ) -> None:
        """Insert, confirm or rewrite one job's rows of a page; counts added to ``outcome``."""
        conn = repo.session.connection()
        tenant_id = repo.tenant_id
        existing: dict[str, tuple[int, str | None]] = {}
        key = {"tid": tenant_id, "job": product_job_id, "source": "ats"}
        for chunk in _chunks([row.external_id for row in prepared.rows]):
            listed = conn.execute(_LISTED, {**key, "ids": list(chunk)})
            existing.update((ats_id, (entry_id, sig)) for ats_id, entry_id, sig in listed)
        new: list[_Row] = []
        seen: list[int] = []
        changed: list[tuple[int, _Row]] = []
        for row in prepared.rows:
            current = existing.get(row.external_id)
            if current is None:
                new.append(row)
            elif current[1] == row.sig:
                seen.append(current[0])
            else:
                changed.append((current[0], row))
        _insert_entries(conn, tenant_id, product_job_id, "ats", connection_id, new, now)
        for chunk in _chunks(seen):
            conn.execute(_SEEN, {"tid": tenant_id, "ids": list(chunk), "b_now": now})
        if changed:
            self._rewrite(conn, tenant_id, product_job_id, changed, now)
        outcome.added += len(new)
        outcome.updated += len(changed)
        outcome.unchanged += len(seen)

    def _rewrite(
        self,
        conn: sa.Connection,
        tenant_id: int,
        product_job_id: str,
        changed: list[tuple[int, _Row]],
        now: datetime,
    ) -> None:
        rewrite_entries(conn, tenant_id, product_job_id, changed, now)

    def _row(self, candidate: Candidate, errors: list[str]) -> _Row:
        # ``person_keys`` and ``_row`` spelled out for one candidate: a sync normalises
        # every person of every pipeline, and the general path's intermediate objects cost
        # a fifth of it. tests/cnts/test_pipeline_rows.py holds both paths to one result.
        first, last = candidate.first_name, candidate.last_name
        name = (f"{first} {last}" if last else first) if first else (last or None)
        problems: list[str] = []
        linkedin = None
        url = candidate.linkedin_url
        if url is not None and url.strip():
            try:
                linkedin = identity.normalize_linkedin(url)
            except identity.InvalidIdentifier as exc:
                problems.append(str(exc))
        emails = (
            _normalize_many(candidate.emails, identity.normalize_email, problems)
            if candidate.emails
            else []
        )
        phones = (
            _normalize_many(candidate.phones, self._normalize_phone, problems)
            if candidate.phones
            else []
        )
        for problem in problems[:3]:
            errors.append(f"candidate {candidate.ats_id}: {problem} (value left out)")
        company, city, stage = candidate.company, candidate.city, candidate.stage
        sig = _signature(emails, linkedin, phones, name, company, city)
        # The identifiers as the ATS spells them stay in the ATS; the row keeps what it
        # matches on (columns) and where the person stood when last listed: the JSON of
        # {"sig", "status", "stage"}, written as json.dumps would write it.
        raw = (
            f'{{"sig": "{sig}", "status": {_json_string(candidate.status.value)}, '
            f'"stage": {"null" if stage is None else _json_string(stage)}}}'
        )
        extra: tuple[tuple[str, str], ...] = ()
        if len(emails) > 1 or len(phones) > 1:
            extra = (*(("email", e) for e in emails[1:]), *(("phone", p) for p in phones[1:]))
        return _Row(
            name,
            emails[0] if emails else None,
            linkedin,
            phones[0] if phones else None,
            identity.normalize_name(name) or None if name else None,
            company,
            city,
            raw,
            candidate.ats_id,
            sig,
            extra,
        )

    def finish(
        self, repo: TenantRepo, connection_id: int, scope: str, info: PassInfo, now: datetime
    ) -> PageOutcome:
        outcome = PageOutcome()
        if not info.full:
            return outcome
        if scope == ACCOUNT_SCOPE:
            return self._finish_account(repo, connection_id, info, now)
        if self.open_jobs is not None:  # a closed job's list was not refreshed: keep it
            product_job_id = self.open_jobs.get(scope)
        else:
            product_job_id = self._product_job(repo, connection_id, scope)
        if product_job_id is not None:
            # Rows a complete listing did not confirm have left the pipeline.
            ours = sa.and_(
                E.c.tenant_id == repo.tenant_id,
                E.c.product_job_id == product_job_id,
                E.c.source == "ats",
            )
            conn = repo.session.connection()
            gone = [
                str(key)
                for (key,) in conn.execute(
                    sa.select(E.c.ats_candidate_id).where(ours, E.c.updated_at < info.started_at)
                )
            ]
            total = conn.execute(sa.select(sa.func.count()).where(ours)).scalar_one() if gone else 0
            warning = removals.hold(
                repo,
                connection_id,
                KIND,
                scope,
                total=int(total),
                gone=gone,
                what=f"do-not-source entries of job {product_job_id}",
                now=now,
            )
            if warning is not None:
                # Kept, and the pass not recorded as full: the next run is full again.
                outcome.errors.append(warning)
                return outcome
            if gone:
                result = conn.execute(sa.delete(E).where(ours, E.c.updated_at < info.started_at))
                outcome.removed = result.rowcount or 0
        fullpass.record(repo, connection_id, KIND, scope, info.started_at, now)
        return outcome

    def _finish_account(
        self, repo: TenantRepo, connection_id: int, info: PassInfo, now: datetime
    ) -> PageOutcome:
        """A complete account listing: every linked job's rows it did not confirm have left
        its pipeline, and every linked job counts as covered by a full pass."""
        outcome = PageOutcome()
        links = self.open_jobs
        if links is None:
            self._product_job(repo, connection_id, ACCOUNT_SCOPE)  # loads the links
            links = self._links[connection_id]
        conn = repo.session.connection()
        tid = repo.tenant_id
        products = sorted(set(links.values()))
        gone: dict[str, list[str]] = defaultdict(list)
        totals: dict[str, int] = {}
        for chunk in _chunks(products):
            ours = sa.and_(
                E.c.tenant_id == tid, E.c.product_job_id.in_(list(chunk)), E.c.source == "ats"
            )
            stale = sa.select(E.c.product_job_id, E.c.ats_candidate_id).where(
                ours, E.c.updated_at < info.started_at
            )
            for product, key in conn.execute(stale):
                gone[product].append(str(key))
            counted = sa.select(E.c.product_job_id, sa.func.count()).where(ours)
            for product, count in conn.execute(counted.group_by(E.c.product_job_id)):
                totals[product] = int(count)
        held = False
        for job, product in sorted(links.items()):
            # The same guard as a job's own full pass (``removals``): a pass that would
            # empty most of a list keeps it until a second agreeing pass.
            warning = removals.hold(
                repo,
                connection_id,
                KIND,
                job,
                total=int(totals.get(product, 0)),
                gone=gone.get(product, ()),
                what=f"do-not-source entries of job {product}",
                now=now,
            )
            if warning is not None:
                outcome.errors.append(warning)
                held = True
                continue
            if gone.get(product):
                result = conn.execute(
                    sa.delete(E).where(
                        E.c.tenant_id == tid,
                        E.c.product_job_id == product,
                        E.c.source == "ats",
                        E.c.updated_at < info.started_at,
                    )
                )
                outcome.removed += result.rowcount or 0
            fullpass.record(repo, connection_id, KIND, job, info.started_at, now)
        if not held:  # else the next account pass is full again (and may confirm)
            fullpass.record(repo, connection_id, KIND, ACCOUNT_SCOPE, info.started_at, now)
        return outcome

    def finished_events(
        self,
        repo: TenantRepo,
        connection_id: int,
        scope: str,
        counts: dict[str, int],
        now: datetime,
    ) -> list[dict[str, Any]]:
        """The runner's call in a run's last transaction: ``donotsource.updated`` when the
        run changed the job's list (one event per run, not per page)."""
        changed = any(counts.get(k) for k in ("added", "updated", "removed"))
        # An account-wide walk changes many jobs' lists at once: one event, no job named.
        account = scope == ACCOUNT_SCOPE
        product_job_id = None if account else self._product_job(repo, connection_id, scope)
        if not changed or (product_job_id is None and not account):
            return []
        return [
            records.donotsource_updated(
                repo,
                product_job_id=product_job_id,
                source="ats",
                change="sync",
                counts=counts,
                now=now,
                connection_id=connection_id,
            )
        ]

    def after_commit(self) -> None:
        changes: StatusChanges | None = getattr(self._changes, "pending", None)
        self._changes.pending = None
        if changes is not None and self.fire is not None:
            self.fire(changes)


def sync_candidates(
    app: Atsbridge,
    session: PluginSession,
    *,
    full: bool = False,
    on_progress: ProgressCallback | None = None,
    product_job_id: str | None = None,
    workers: int | None = None,
    reconcile: bool = True,
    only_jobs: Collection[str] | None = None,
) -> list[RunReport]:
    """Walk the pipelines of the linked (not closed) jobs of the session's connection.

    One walk feeds the do-not-source lists and the status flow-back of exported leads. It
    reads the account-wide listing or each job's, whichever ``pipeline_plan.choose_plan``
    finds cheaper (``product_job_id`` given: that job's listing only). ``reconcile=False``
    never forces a due full pass (the status task leaves those to the candidates task);
    ``only_jobs`` (ATS job ids) limits a per-job walk to those jobs.

    A job whose run fails for a job-specific reason (the ATS refused, a malformed payload) is
    recorded as failed, reported with status "failed", and the others go on; a job whose run
    is already going elsewhere is skipped; a connection-level failure (credentials, ATS down)
    stops the whole task. ``workers`` (default: the connection's ``cnts_sync_workers``
    setting, else 1) jobs are listed at once; the plugin's HTTP client still holds the
    connection to the ATS's published concurrency and rate.
    """
    now = app.clock()
    every = reconcile_interval(session.settings, app.full_pass_overrides)
    workers = workers or _positive_int(session.settings, "cnts_sync_workers", 1)
    with app.store.tenant(session.tenant) as repo:
        statement = repo.select(JobLink).where(JobLink.connection_id == session.connection_id)
        if product_job_id is not None:
            statement = statement.where(JobLink.product_job_id == product_job_id)
        every_link = repo.all(statement)
        links = sorted(
            (link for link in every_link if link.state != "closed"),
            key=lambda link: link.product_job_id,
        )
        passes = fullpass.states(repo, session.connection_id, KIND)
        facts = _plan_facts(repo, session, links) if product_job_id is None else None
    never = fullpass.ScopeState(None, False)

    def due(scope: str) -> bool:
        # A pass in progress (a killed first pass, a full pass stopped at a checkpoint) is
        # resumed, never restarted: the full pass comes on the next run.
        return reconcile and passes.get(scope, never).due(every, now)

    jobs = [
        JobFacts(
            link.ats_job_id,
            facts.people.get(link.product_job_id, 0) if facts else 0,
            passes.get(link.ats_job_id, never).last_full is not None,
            due(link.ats_job_id),
        )
        for link in links
    ]
    account = passes.get(ACCOUNT_SCOPE, never)
    plan = choose_plan(
        jobs,
        account_capable=facts is not None and facts.capable,
        account_started=facts is not None and facts.account_started,
        account_in_progress=account.in_progress,
        account_full_due=due(ACCOUNT_SCOPE) or account.last_full is None,
        mirror_jobs=facts.mirror_jobs if facts else len(jobs),
        last_account_pages=facts.last_account_pages if facts else None,
        page_size=PAGE_SIZE,
        full=full,
    )
    if only_jobs is not None and not plan.account:
        # The flow-back follows exported leads on closed jobs too (their pipelines still
        # move); their do-not-source lists are left alone (see ``open_jobs``).
        wanted = set(only_jobs)
        walked = [p for p in plan.per_job if p[0] in wanted]
        closed = {link.ats_job_id for link in every_link if link.state == "closed"}
        walked += [(job, False) for job in sorted(wanted & closed)]
        plan = attrs.evolve(plan, per_job=tuple(walked))
    log.info("pipeline walk of %s: %s (%s)", session.label, _describe(plan), plan.reason)
    plans = plan.scopes
    kind = CandidatesKind(
        default_country=session.settings.get("default_country"),
        page_size=PAGE_SIZE,
        fire=lambda changes: changes.fire(app.registry),
    )
    kind.open_jobs = {link.ats_job_id: link.product_job_id for link in links}
    if product_job_id is None:
        # An account page keeps these jobs' people too, for the flow-back only.
        kind.lead_jobs_kept = frozenset(only_jobs or ()) | _jobs_with_exported_leads(app, session)
    runner = app.sync.runner()
    starts = runner.pass_starts(session, KIND, plans)
    processes = 0 if plan.account else worker_processes(app, session.settings, plans)
    # What is alive now outlives the task, and a big sync allocates a page of objects after
    # another: the collector's full passes would walk that whole heap again and again
    # (~7% of the fetching process's CPU in bench/cnts_sync.py).
    with _heap_frozen():
        if processes:
            from atsbridge.services.cnts_processes import sync_in_processes

            return sync_in_processes(app, session, kind, plans, starts, processes, on_progress)
        return _sync_here(runner, session, kind, plans, starts, workers, on_progress)


@attrs.frozen
class _PlanFacts:
    capable: bool  # the plugin offers the account-wide listing
    account_started: bool  # the account listing has a high-water mark
    mirror_jobs: int
    last_account_pages: int | None
    people: dict[str, int]  # product job id -> its people from the ATS


_R = table(SyncRun)
_C = table(SyncCheckpoint)
_J = table(JobRow)


def _plan_facts(repo: TenantRepo, session: PluginSession, links: Sequence[JobLink]) -> _PlanFacts:
    """What ``choose_plan`` weighs, in a handful of queries."""
    info = getattr(session.plugin, "info", None)
    capable = Capability.ACCOUNT_CANDIDATES in getattr(info, "capabilities", ())
    if not capable or not links:
        return _PlanFacts(capable, False, len(links), None, {})
    conn = repo.session.connection()
    tid, cid = repo.tenant_id, session.connection_id
    high_water = conn.execute(
        sa.select(_C.c.high_water).where(
            _C.c.tenant_id == tid,
            _C.c.connection_id == cid,
            _C.c.kind == KIND,
            _C.c.scope == ACCOUNT_SCOPE,
        )
    ).scalar()
    mirror_jobs = conn.execute(
        sa.select(sa.func.count()).where(_J.c.tenant_id == tid, _J.c.connection_id == cid)
    ).scalar_one()
    last = conn.execute(
        sa.select(_R.c.progress)
        .where(
            _R.c.tenant_id == tid,
            _R.c.connection_id == cid,
            _R.c.kind == KIND,
            _R.c.status == "succeeded",
            _R.c.progress["scope"].as_string() == ACCOUNT_SCOPE,
            _R.c.progress["mode"].as_string() == "full",
        )
        .order_by(_R.c.id.desc())
        .limit(1)
    ).scalar()
    pages = last.get("pass_pages") if isinstance(last, dict) else None
    people: dict[Any, Any] = dict(
        conn.execute(
            sa.select(E.c.product_job_id, sa.func.count())
            .where(
                E.c.tenant_id == tid,
                E.c.source == "ats",
                E.c.product_job_id.in_(sorted({link.product_job_id for link in links})),
            )
            .group_by(E.c.product_job_id)
        ).all()
    )
    return _PlanFacts(
        True,
        high_water is not None,
        int(mirror_jobs),
        int(pages) if isinstance(pages, int) else None,
        {str(k): int(v) for k, v in people.items()},
    )


def _jobs_with_exported_leads(app: Atsbridge, session: PluginSession) -> frozenset[str]:
    with app.store.tenant(session.tenant) as repo:
        return CandidatesKind().jobs_with_exported_leads(repo, session.connection_id)


def _describe(plan: PipelinePlan) -> str:
    parts = []
    if plan.account:
        parts.append("account-wide " + ("full" if plan.account_full else "incremental"))
    if plan.per_job:
        parts.append(f"{len(plan.per_job)} jobs on their own")
    return ", ".join(parts) or "nothing to list"


def _sync_here(
    runner: SyncRunner,
    session: PluginSession,
    kind: CandidatesKind,
    plans: Sequence[tuple[str, bool]],
    starts: dict[str, PageKey],
    workers: int,
    on_progress: ProgressCallback | None,
) -> list[RunReport]:
    """``sync_candidates`` in this process: jobs in ``workers`` lanes of threads."""
    fatal: list[BaseException] = []

    def one(scope: str, run_full: bool, ahead: PageAhead, then: PageKey | None) -> RunReport | None:
        try:
            return run_job(
                runner,
                session,
                kind,
                scope,
                full=run_full,
                on_progress=on_progress,
                ahead=ahead,
                then=then,
            )
        except (AuthError, AtsUnavailable) as exc:
            fatal.append(exc)
            return None

    def lane(numbered: list[tuple[int, tuple[str, bool]]]) -> list[tuple[int, RunReport]]:
        # Jobs one after another, each one's first page fetched while the previous one's
        # last page is stored (most pipelines are a page or two).
        done: list[tuple[int, RunReport]] = []
        ahead = PageAhead(kind, session)
        try:
            for k, (i, (scope, run_full)) in enumerate(numbered):
                if fatal:
                    break
                following = numbered[k + 1][1][0] if k + 1 < len(numbered) else None
                then = starts[following] if following is not None else None
                report = one(scope, run_full, ahead, then)
                if report is not None:
                    done.append((i, report))
        finally:
            ahead.close()
        return done

    numbered = list(enumerate(plans))
    lanes = [numbered[w::workers] for w in range(min(workers, len(plans)))]
    if len(lanes) <= 1:
        outcomes = lane(numbered)
    else:
        with ThreadPoolExecutor(len(lanes), thread_name_prefix="cnts-sync") as pool:
            outcomes = [done for lane_done in pool.map(lane, lanes) for done in lane_done]
    if fatal:
        raise fatal[0]
    return [report for _, report in sorted(outcomes, key=lambda pair: pair[0])]


# Full passes in one task from which storing goes to worker processes (cnts_processes):
# below it, starting them costs more than they save.
PROCESSES_FROM = 64


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep the objects alive on entry out of garbage collections until exit (gc.freeze)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def worker_processes(app: Atsbridge, settings: dict, plans: Sequence[tuple[str, bool]]) -> int:
    """Worker processes to store this task (0: in this process).

    The ``cnts_sync_processes`` setting, else automatic: for a task of at least
    PROCESSES_FROM full passes, every core but the one this process fetches on, up to four
    (on two cores one worker stored faster than two: they compete with the fetching).
    """
    from atsbridge.services.cnts_processes import usable

    wanted = settings.get("cnts_sync_processes")
    if wanted is not None:
        if not isinstance(wanted, int) or isinstance(wanted, bool) or wanted < 0:
            raise BadInput(
                f"setting cnts_sync_processes must be a whole number, 0 or more, not {wanted!r}"
            )
    elif sum(1 for _, full in plans if full) >= PROCESSES_FROM:
        wanted = max(1, min((os.cpu_count() or 1) - 1, 4))
    else:
        return 0
    if wanted and (why := usable(app)) is not None:
        log.info("candidate sync stays in this process: %s", why)
        return 0
    return min(wanted, len(plans))


def _positive_int(settings: dict, key: str, default: int) -> int:
    value = settings.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadInput(f"setting {key} must be a positive whole number, not {value!r}")
    return value


def run_job(
    runner: SyncRunner,
    session: PluginSession,
    kind: CandidatesKind,
    scope: str,
    **options: Any,
) -> RunReport | None:
    """One job's run as a task reports it: its report; the report of the failed run it
    left (the ATS refused the job, a malformed payload); None when the job was already
    being synced elsewhere. Connection-level failures (AuthError, AtsUnavailable) propagate:
    they stop the whole task."""
    try:
        return runner.run(session, kind, scope, **options)
    except (AuthError, AtsUnavailable):
        raise
    except Conflict as exc:
        log.warning("skipping job %s: %s", scope, exc)
        return None
    except AtsbridgeError as exc:
        log.warning("candidate sync of job %s failed: %s", scope, exc)
        return last_run(runner.store, session, scope)


def last_run(store: Store, session: PluginSession, scope: str) -> RunReport | None:
    """The latest recorded run of job ``scope`` (what a failed run left behind)."""
    with store.tenant(session.tenant) as repo:
        runs = repo.all(
            repo.select(SyncRun)
            .where(SyncRun.connection_id == session.connection_id, SyncRun.kind == KIND)
            .order_by(SyncRun.id.desc())  # type: ignore[union-attr]
            .limit(50)
        )
        for run in runs:
            if run.progress.get("scope") == scope:
                return RunReport.from_row(session.tenant, session.ats, run)
    return None


register_kind(
    KindSpec(
        name=KIND,
        flag="--candidates",
        help="Sync the pipelines of linked jobs into their do-not-source lists.",
        task=sync_candidates,
        order=20,
    )
)


# --- the service ----------------------------------------------------------------------------

_PHONEISH = re.compile(r"^[\s\d+().\-/]+$")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class CntsService(Service):
    """``app.cnts``: sync, import, list/search and check a product job's do-not-source list."""

    def sync(
        self,
        tenant: str,
        ats: str,
        *,
        full: bool = False,
        product_job_id: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[RunReport]:
        with self.app.open_session(tenant, ats) as session:
            return sync_candidates(
                self.app,
                session,
                full=full,
                on_progress=on_progress,
                product_job_id=product_job_id,
            )

    # --- import --------------------------------------------------------------------------

    def import_file(
        self,
        tenant: str,
        product_job_id: str,
        path: str | Path,
        *,
        sheet: str | None = None,
        default_country: str | None = None,
        column_map: Mapping[str, str] | None = None,
        create: bool = False,
        dry_run: bool = False,
        max_rows: int = filereader.MAX_ROWS,
        max_bytes: int = filereader.MAX_BYTES,
    ) -> ImportReport:
        """Add or update a file's people in the job's list (source "file"), in one
        transaction, and record the import (see ``cnts_import``).

        The job must be linked to an ATS job or have a list already; ``create`` makes one
        for a job without a link. ``default_country`` (else the connection's) reads phones
        written without a country code. ``dry_run`` reads and counts, and stores nothing.
        Raises NotFound for an unknown job, FileRejected for an unreadable file.
        """
        from atsbridge.services import cnts_import

        _check_job_id(product_job_id)
        if default_country is not None:
            country: str | None = _country(default_country, "--default-country")
        else:
            country = self.default_country(tenant, product_job_id)
        with self.store.tenant(tenant) as repo:
            conn = repo.session.connection()
            if not create:
                _require_job(conn, repo.tenant_id, product_job_id)
        read = filereader.read_people(
            path,
            sheet=sheet,
            default_country=country,
            max_rows=max_rows,
            max_bytes=max_bytes,
            column_map=column_map,
        )
        with self.store.tenant(tenant, immediate=not dry_run) as repo:
            conn = repo.session.connection()
            if not _job_known(conn, repo.tenant_id, product_job_id):
                if not create:
                    _require_job(conn, repo.tenant_id, product_job_id)
                if not dry_run:
                    repo.add(CntsList(product_job_id=product_job_id, created_at=self.now()))
                    repo.flush()
            report = cnts_import.import_rows(
                repo, product_job_id, read, Path(path).name, self.now(), dry_run=dry_run
            )
            event = None
            if not dry_run and (report.added or report.updated):
                event = records.donotsource_updated(
                    repo,
                    product_job_id=product_job_id,
                    source="file",
                    change="import",
                    counts={"added": report.added, "updated": report.updated},
                    now=self.now(),
                    import_id=report.import_id,
                )
        self._fire(event)
        return report

    def _fire(self, event: dict[str, Any] | None) -> None:
        if event is not None:
            hooks.fire(self.app.registry, [event])

    def _removed(
        self, repo: TenantRepo, product_job_id: str, change: str, report: RemoveReport, **extra: Any
    ) -> dict[str, Any] | None:
        if not report.removed:
            return None
        return records.donotsource_updated(
            repo,
            product_job_id=product_job_id,
            source="file",
            change=change,
            counts={"removed": report.removed},
            now=self.now(),
            **extra,
        )

    def imports(self, tenant: str, product_job_id: str) -> list[ImportView]:
        """The job's recorded file imports, newest first (NotFound for an unknown job)."""
        from atsbridge.services import cnts_import

        with self.store.tenant(tenant) as repo:
            _require_job(repo.session.connection(), repo.tenant_id, product_job_id)
            return cnts_import.list_imports(repo, product_job_id)

    def remove_import(self, tenant: str, product_job_id: str, import_id: int) -> RemoveReport:
        """Undo an import: its record goes, and the entries no other import lists."""
        from atsbridge.services import cnts_import

        with self.store.tenant(tenant, immediate=True) as repo:
            _require_job(repo.session.connection(), repo.tenant_id, product_job_id)
            report = cnts_import.remove_import(repo, product_job_id, import_id)
            event = self._removed(
                repo, product_job_id, "import_removed", report, import_id=import_id
            )
        self._fire(event)
        return report

    def remove_email(self, tenant: str, product_job_id: str, email: str) -> RemoveReport:
        """Take a person off the job's file entries by email (any spelling of it).

        Entries from the ATS pipeline stay: they leave when the person leaves the pipeline.
        """
        from atsbridge.services import cnts_import

        with self.store.tenant(tenant, immediate=True) as repo:
            _require_job(repo.session.connection(), repo.tenant_id, product_job_id)
            report = cnts_import.remove_email(repo, product_job_id, email)
            event = self._removed(repo, product_job_id, "email_removed", report)
        self._fire(event)
        return report

    def default_country(self, tenant: str, product_job_id: str) -> str | None:
        """The linked connection's default_country; else the tenant's only connection's."""
        with self.store.tenant(tenant) as repo:
            return _default_country(repo.session.connection(), repo.tenant_id, product_job_id)

    # --- list and search -------------------------------------------------------------------

    def list_entries(
        self,
        tenant: str,
        product_job_id: str,
        *,
        search: str | None = None,
        source: str | None = None,
        limit: int = 100,
        offset: int = 0,
        updated_after: datetime | None = None,
    ) -> EntryList:
        """The job's entries, newest first; ``search`` matches any part of a name, email,
        LinkedIn URL or phone, ignoring case and accents. ``updated_after`` keeps entries
        added or changed (for pipeline entries: also confirmed by a full pass) after it."""
        if source is not None and source not in SOURCES:
            raise BadInput(f"--source must be one of {', '.join(SOURCES)}, not {source!r}")
        if not (1 <= limit <= MAX_INT64 and 0 <= offset <= MAX_INT64):
            raise BadInput(
                f"--limit must be 1 to {MAX_INT64} and --offset 0 to {MAX_INT64} "
                "(a database integer)"
            )
        if search is not None and len(search) > MAX_SEARCH:
            # A LIKE pattern that long is refused by SQLite ("too complex"); no name, email
            # or URL is that long anyway.
            raise BadInput(f"--search: longer than {MAX_SEARCH} characters")
        with self.store.tenant(tenant) as repo:
            conn = repo.session.connection()
            tid = repo.tenant_id
            _require_job(conn, tid, product_job_id)
            where = [E.c.tenant_id == tid, E.c.product_job_id == product_job_id]
            if source is not None:
                where.append(E.c.source == source)
            if updated_after is not None:
                where.append(E.c.updated_at > updated_after)
            if search is not None and search.strip():
                where.append(self._search_clause(tid, product_job_id, search))
            total = conn.execute(sa.select(sa.func.count()).select_from(E).where(*where)).scalar()
            rows = conn.execute(
                sa.select(
                    E.c.id,
                    E.c.source,
                    E.c.name,
                    E.c.email_norm,
                    E.c.linkedin_norm,
                    E.c.phone_norm,
                    E.c.company,
                    E.c.city,
                    E.c.added_at,
                    E.c.updated_at,
                    E.c.ats_candidate_id,
                )
                .where(*where)
                .order_by(E.c.added_at.desc(), E.c.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            keys: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
            for chunk in _chunks([r.id for r in rows]):
                for entry_id, kind, value in conn.execute(
                    sa.select(K.c.entry_id, K.c.kind, K.c.value)
                    .where(K.c.tenant_id == tid, K.c.entry_id.in_(chunk))
                    .order_by(K.c.id)
                ):
                    keys[entry_id][kind].append(value)
        views = tuple(
            EntryView(
                id=r.id,
                source=r.source,
                name=r.name,
                emails=_first_and_extra(r.email_norm, keys[r.id]["email"]),
                linkedin=r.linkedin_norm,
                phones=_first_and_extra(r.phone_norm, keys[r.id]["phone"]),
                company=r.company,
                city=r.city,
                added_at=r.added_at,
                updated_at=r.updated_at,
                ats_candidate_id=r.ats_candidate_id if r.source == "ats" else None,
            )
            for r in rows
        )
        return EntryList(total=int(total or 0), entries=views)

    def _search_clause(self, tenant_id: int, product_job_id: str, search: str) -> Any:
        text = search.strip()
        like = _like(text.casefold())
        strong = (E.c.email_norm, E.c.linkedin_norm, E.c.phone_norm)
        terms: list[Any] = [column.like(like, escape="\\") for column in strong]
        key_terms: list[Any] = [K.c.value.like(like, escape="\\")]
        if _PHONEISH.match(text):
            digits = re.sub(r"\D", "", text).lstrip("0")
            if len(digits) >= 3:
                terms.append(E.c.phone_norm.like(f"%{digits}%"))
                key_terms.append(sa.and_(K.c.kind == "phone", K.c.value.like(f"%{digits}%")))
        try:
            terms.append(E.c.linkedin_norm == identity.normalize_linkedin(text))
        except identity.InvalidIdentifier:
            pass
        keyed = sa.select(K.c.entry_id).where(
            K.c.tenant_id == tenant_id, K.c.product_job_id == product_job_id, sa.or_(*key_terms)
        )
        terms.append(E.c.id.in_(keyed))
        name = identity.normalize_name(text)
        if name:
            terms.append(E.c.name_norm.like(_like(name), escape="\\"))
        return sa.or_(*terms)

    # --- check -----------------------------------------------------------------------------

    def check(self, tenant: str, product_job_id: str, person: Person) -> CheckResult:
        return self.check_batch(tenant, product_job_id, [person])[0]

    def check_batch(
        self,
        tenant: str,
        product_job_id: str,
        people: Sequence[Person],
        *,
        default_country: str | None = None,
    ) -> list[CheckResult]:
        """One ``CheckResult`` per person, in order. Unreadable values are reported in each
        result's ``problems`` and left out, so one bad value never fails a batch."""
        with self.store.engine.connect() as conn:
            # Plain Core reads on one connection: a check is on the product's hot path, and
            # every statement here filters on the tenant itself.
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            tenant_id = conn.exec_driver_sql(
                f"SELECT id FROM tenants WHERE key = {mark}", (tenant,)
            ).scalar()
            if tenant_id is None:
                raise NotFound(f"no tenant {tenant!r}")
            _require_job(conn, tenant_id, product_job_id)
            country = _country(default_country, "--default-country") if default_country else None
            if country is None and any(
                _needs_country(p) for person in people for p in person.phones
            ):
                country = _default_country(conn, tenant_id, product_job_id)
            probes = [
                person_keys(
                    emails=p.emails,
                    linkedin=p.linkedin,
                    phones=p.phones,
                    name=p.name,
                    company=p.company,
                    city=p.city,
                    default_country=country,
                )
                for p in people
            ]
            return match_batch(conn, tenant_id, product_job_id, probes)


def file_exclusion(
    conn: sa.Connection, tenant_id: int, product_job_id: str, person: Person
) -> Match | None:
    """The strongest match of ``person`` among the job's entries from files (the customer's
    own list), or None. Pipeline entries do not count here: see ``leads``."""
    country = None
    if any(_needs_country(p) for p in person.phones):
        country = _default_country(conn, tenant_id, product_job_id)
    keys = person_keys(
        emails=person.emails,
        linkedin=person.linkedin,
        phones=person.phones,
        name=person.name,
        company=person.company,
        city=person.city,
        default_country=country,
    )
    (result,) = match_batch(conn, tenant_id, product_job_id, [keys])
    return next((m for m in result.matches if m.source == "file"), None)


def _first_and_extra(first: str | None, extra: list[str]) -> tuple[str, ...]:
    return (first, *extra) if first else tuple(extra)


def _needs_country(phone: str) -> bool:
    text = phone.strip()
    return not (text.startswith("+") or text.lower().startswith("tel:+"))


def _default_country(conn: sa.Connection, tenant_id: int, product_job_id: str) -> str | None:
    C = table(Connection)
    L = table(JobLink)
    linked = conn.execute(
        sa.select(C.c.settings)
        .select_from(L.join(C, C.c.id == L.c.connection_id))
        .where(L.c.tenant_id == tenant_id, L.c.product_job_id == product_job_id)
    ).first()
    if linked is None:
        rows = conn.execute(
            sa.select(C.c.settings).where(C.c.tenant_id == tenant_id).limit(2)
        ).all()
        linked = rows[0] if len(rows) == 1 else None
    if linked is None:
        return None
    country = (linked[0] or {}).get("default_country")
    return country if isinstance(country, str) else None


def _job_known(conn: sa.Connection, tenant_id: int, product_job_id: str) -> bool:
    """Whether the job is linked to an ATS job or has a list created for it."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"SELECT 1 FROM job_links WHERE tenant_id = {mark} AND product_job_id = {mark} "
        f"UNION ALL SELECT 1 FROM cnts_lists WHERE tenant_id = {mark} "
        f"AND product_job_id = {mark}"
    )
    args = (tenant_id, product_job_id, tenant_id, product_job_id)
    return conn.exec_driver_sql(sql, args).first() is not None


def _require_job(conn: sa.Connection, tenant_id: int, product_job_id: str) -> None:
    """NotFound unless the job is known: an unknown job has no list to answer from, and an
    empty answer would read as "nobody is excluded"."""
    if not _job_known(conn, tenant_id, product_job_id):
        raise NotFound(
            f"product job {product_job_id!r} is not linked; import it first "
            "(atsbridge jobs import), or create a list for it from a file with "
            "cnts import --create"
        )


def _country(value: str, what: str) -> str:
    """The ISO code a default country names (a code, a name, an alias such as "UK")."""
    code = countries.country_of(value)
    if code is None:
        raise BadInput(f"{what}: {value!r} is not a country (an ISO code such as GB, or a name)")
    return code


def _check_job_id(product_job_id: str) -> None:
    if not product_job_id or not product_job_id.strip() or len(product_job_id) > 255:
        raise BadInput("PRODUCT_JOB_ID must be 1 to 255 characters")
