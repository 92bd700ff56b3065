"""The job mirror: sync from the ATS, search, import (link to a product job), close propagation.

Two sync kinds are registered:

* ``jobs`` pages through the ATS's jobs with the checkpointed runner (first run: all of
  them; later runs: what changed since the high-water mark minus the overlap). A full pass
  also drops mirror rows the ATS no longer lists, and refreshes edits an incremental listing
  cannot show (a job-post edit that leaves the job's ``updated_at`` alone): one runs by
  itself once the last is older than the ``jobs_full`` interval (a day; see ``fullpass``).
* ``links`` is close propagation (``propagate_links``): the mirror's incremental listing
  shows a linked job whose status changed (closed, reopened), so it reads that listing
  unless a mirror pass already started since its last run, and asks the job status hook
  only about open links whose job the mirror does not hold. ``--full`` asks about every
  open link, which notices a *deleted* job at once (a deletion never shows up among
  "updated since" results; the mirror's daily full pass notices it too).

A linked job's state follows its ATS job: closing (or deleting) it closes the link and
records ``job.closed`` once (and ``job.deleted`` for a deletion), reopening records
``job.reopened``, in the event log in the page's own transaction; the plugins'
``atsbridge_job_closed`` / ``_reopened`` hooks fire from those events after the transaction
has committed, so a rolled-back page records and fires nothing and a rerun does not fire
twice (the link already holds the new state).
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import object_session
from sqlmodel import col, select

from atsbridge import model, storable
from atsbridge.errors import BadInput, Conflict, NotFound, PayloadError
from atsbridge.events import hooks, record_event
from atsbridge.events.types import JOB_CLOSED, JOB_DELETED, JOB_REOPENED
from atsbridge.model import JobQuery, JobState, JobStatus, Page
from atsbridge.services import fullpass, job_index, lead_orphans, removals
from atsbridge.services.base import Service
from atsbridge.services.sync import (
    FetchedPage,
    KindSpec,
    PageOutcome,
    PassInfo,
    ProgressCallback,
    RunReport,
    SyncRunner,
    register_kind,
)
from atsbridge.sessions import PluginSession
from atsbridge.store import Connection, JobLink, SyncRun, TenantRepo
from atsbridge.store import Job as JobRow
from atsbridge.store.tables import table

if TYPE_CHECKING:
    from atsbridge.api import Atsbridge

log = logging.getLogger(__name__)

_JOBS: sa.Table = table(JobRow)
_LINKS: sa.Table = table(JobLink)
_CONNECTIONS: sa.Table = table(Connection)
# What a search result shows; the description (often kilobytes) stays on disk.
_VIEW_COLUMNS = [
    _JOBS.c[name]
    for name in (
        "id",
        "connection_id",
        "ats_id",
        "title",
        "status",
        "status_raw",
        "reference",
        "locations",
        "department",
        "employment_type",
        "url",
        "created_at",
        "updated_at",
    )
]

PAGE_SIZE = 100
STATUS_BATCH = 100
MIRROR_READ_BATCH = 500  # ids per IN (...) when a plugin asks for the mirror's copies
MAX_SEARCH_LIMIT = 500
# Shortest id prefix `jobs import` accepts for a job id (a UUID's first block is 8).
MIN_ID_PREFIX = 4
# Fields the product's job form takes from an import, in the order they are shown.
IMPORT_FIELDS = ("title", "description", "location", "department", "employment_type", "reference")
CLOSED = "closed"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _location_dict(loc: model.Location) -> dict[str, Any]:
    return {
        "city": loc.city,
        "region": loc.region,
        "country_code": loc.country_code.upper() if loc.country_code else None,
        "raw": loc.raw,
    }


def _row_values(job: model.Job) -> dict[str, Any]:
    """The mirror columns for one ATS job (everything the ATS said, nothing of ours)."""
    locations = [_location_dict(loc) for loc in job.locations]
    first = locations[0] if locations else {}
    country = first.get("country_code")
    words = job_index.search_words(job.title, locations, job.reference, job.ats_id)
    return {
        "title": job.title,
        "status": JobStatus(job.status).value,
        "status_raw": job.status_raw or "",
        "reference": job.reference,
        "locations": locations,
        "city": first.get("city"),
        "region": first.get("region"),
        "country": country if country and len(country) == 2 else None,
        "department": job.department,
        "employment_type": job.employment_type,
        "description": job.description,
        "url": job.url,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "search_text": words.text(),
        "search_refs": words.refs_text(),
    }


def _mirrored_job(row: JobRow) -> model.Job:
    """A mirror row as the ``Job`` it was stored from (what ``JobQuery.mirrored`` offers)."""
    return model.Job(
        ats_id=row.ats_id,
        title=row.title,
        status=JobStatus(row.status),
        status_raw=row.status_raw,
        reference=row.reference,
        locations=tuple(
            model.Location(
                city=loc.get("city"),
                region=loc.get("region"),
                country_code=loc.get("country_code"),
                raw=loc.get("raw"),
            )
            for loc in row.locations or ()
        ),
        department=row.department,
        employment_type=row.employment_type,
        description=row.description,
        url=row.url,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _check_job(item: Any, position: int) -> model.Job:
    record = f"job #{position} of the page"
    if not isinstance(item, model.Job):
        raise PayloadError(record, "type", f"expected a Job, got {type(item).__name__}")
    if not item.ats_id or not isinstance(item.ats_id, str):
        raise PayloadError(record, "ats_id", "is empty")
    record = f"job {item.ats_id}"
    if not isinstance(item.title, str):
        raise PayloadError(record, "title", "is not text")
    try:
        JobStatus(item.status)
    except ValueError:
        raise PayloadError(record, "status", f"unknown status {item.status!r}") from None
    for name in ("created_at", "updated_at"):
        value = getattr(item, name)
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise PayloadError(record, name, "must be a timezone-aware datetime")
    return item


def _unstorable(job: model.Job) -> str | None:
    """Why the store cannot hold ``job`` (the field, never its value), or None."""
    reason = storable.text_problem(job.ats_id, max_length=storable.MAX_ID)
    if reason:
        return f"ats_id {reason}"
    for name, value in _row_values(job).items():
        if isinstance(value, str):
            limit = storable.MAX_ID if name == "reference" else None
            reason = storable.text_problem(value, max_length=limit)
            if reason:
                return f"{name} {reason}"
        elif isinstance(value, dict | list) and (found := storable.tree_problems(value, name)):
            return found[0]
    return None


def _check_page(result: Any, hook: str) -> Page:
    if not isinstance(result, Page):
        raise PayloadError(hook, "return value", f"expected a Page, got {type(result).__name__}")
    return result


def format_location(loc: dict[str, Any]) -> str | None:
    parts = [p for p in (loc.get("city"), loc.get("region")) if p]
    code = loc.get("country_code")
    if code:
        names = job_index.country_names(code)
        parts.append(names[0] if names else code)
    if not parts and loc.get("raw"):
        return str(loc["raw"])
    return ", ".join(parts) or None


# --- views ----------------------------------------------------------------------------------


@attrs.frozen
class JobView:
    """A mirrored job as search and the CLI show it."""

    ats: str
    ats_id: str
    title: str
    status: str
    status_raw: str
    reference: str | None
    location: str | None
    locations: list[dict[str, Any]]
    department: str | None
    employment_type: str | None
    url: str | None
    created_at: datetime | None
    updated_at: datetime | None
    match: str | None  # which rule matched: reference, title, location... (None: no query)
    linked_to: str | None  # the product job it is imported as, if any

    def to_json(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["created_at"] = _iso(self.created_at)
        out["updated_at"] = _iso(self.updated_at)
        return out


@attrs.frozen
class SearchPage:
    items: list[JobView]
    offset: int
    limit: int
    next_offset: int | None  # None on the last page

    def to_json(self) -> dict[str, Any]:
        return {
            "items": [j.to_json() for j in self.items],
            "offset": self.offset,
            "limit": self.limit,
            "next_offset": self.next_offset,
        }


@attrs.frozen
class ImportResult:
    """What an import returns: the product job's prefilled fields and what is left to fill."""

    tenant: str
    ats: str
    ats_job_id: str
    product_job_id: str
    state: str
    prefilled: dict[str, Any]
    missing: list[str]
    # Leads left waiting by a disconnect that this import queued again (lead_orphans).
    adopted_leads: int = 0

    def to_json(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        if not self.adopted_leads:
            # Only when it happened: a replayed import (HTTP idempotency) reports none.
            del out["adopted_leads"]
        return out


@attrs.frozen
class LinkView:
    """A linked (imported) job: the import snapshot, its state and how fresh the mirror is."""

    product_job_id: str
    ats: str
    ats_job_id: str
    state: str  # open | closed | draft | on_hold
    status_raw: str
    title: str  # as imported (the snapshot), never rewritten by ATS edits
    current_title: str | None  # the mirror's title now; None once the ATS job is gone
    in_mirror: bool
    mirror_synced_at: datetime | None
    closed_at: datetime | None
    imported_at: datetime
    snapshot: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        for key in ("mirror_synced_at", "closed_at", "imported_at"):
            out[key] = _iso(getattr(self, key))
        return out


# --- close propagation ------------------------------------------------------------------------


class _Events:
    """Link state changes of one transaction: recorded in the event log as they happen,
    handed to the plugins' hooks (``events.hooks``) after the transaction commits."""

    def __init__(self, app: Atsbridge, tenant: str, ats: str):
        self.app = app
        self.tenant = tenant
        self.ats = ats
        self.pending: list[dict[str, Any]] = []

    def propagate(
        self, link: JobLink, status: str, status_raw: str, exists: bool, now: datetime
    ) -> bool:
        """Move ``link`` to the ATS job's state; True when it changed."""
        new_state = CLOSED if (not exists or status == CLOSED) else status
        old_state = link.state
        if new_state == old_state and link.status_raw == status_raw:
            return False
        link.state = new_state
        link.status_raw = status_raw
        link.updated_at = now
        data = {
            "ats": self.ats,
            "ats_job_id": link.ats_job_id,
            "product_job_id": link.product_job_id,
            "status_raw": status_raw,
        }
        if new_state == CLOSED and old_state != CLOSED:
            link.closed_at = now
            self._record(
                link, JOB_CLOSED, {**data, "reason": "closed" if exists else "deleted"}, now
            )
        elif old_state == CLOSED and new_state != CLOSED:
            link.closed_at = None
            self._record(link, JOB_REOPENED, data, now)
        if not exists:
            self._record(link, JOB_DELETED, data, now)
        return True

    def _record(self, link: JobLink, kind: str, data: dict[str, Any], now: datetime) -> None:
        session = object_session(link)
        assert session is not None, "a link being propagated belongs to the page's session"
        self.pending.append(
            record_event(
                session,  # type: ignore[arg-type]
                tenant=self.tenant,
                type=kind,
                data=data,
                connection_id=link.connection_id,
                now=now,
            )
        )

    def discard(self) -> None:
        self.pending = []

    def fire(self) -> None:
        pending, self.pending = self.pending, []
        hooks.fire(self.app.registry, pending)


def _links_for(repo: TenantRepo, connection_id: int, ats_ids: Sequence[str]) -> dict[str, JobLink]:
    if not ats_ids:
        return {}
    rows = repo.all(
        select(JobLink).where(
            JobLink.connection_id == connection_id, col(JobLink.ats_job_id).in_(ats_ids)
        )
    )
    return {row.ats_job_id: row for row in rows}


# --- sync kinds -------------------------------------------------------------------------------


class JobsKind:
    """Pages of ``atsbridge_search_jobs`` into the mirror."""

    name = "jobs"
    clock_high_water = True

    def __init__(self, app: Atsbridge, session: PluginSession, page_size: int = PAGE_SIZE):
        self.app = app
        self.page_size = page_size
        self.events = _Events(app, session.tenant, session.ats)

    def fetch(
        self, session: PluginSession, scope: str, cursor: str | None, since: datetime | None
    ) -> FetchedPage:
        # Only incremental passes offer the mirror's copy: a full pass is how a plugin that
        # reuses copies gets to refresh everything (see JobQuery.mirrored).
        mirrored = self._mirror_reader(session) if since is not None else None
        query = JobQuery(
            updated_since=since, cursor=cursor, page_size=self.page_size, mirrored=mirrored
        )
        page = _check_page(session.call("atsbridge_search_jobs", query=query), "search_jobs")
        total = getattr(page, "total", None)
        return FetchedPage(items=page.items, next_cursor=page.next_cursor, total=total)

    def _mirror_reader(self, session: PluginSession) -> Callable[[Sequence[str]], dict]:
        def mirrored(ats_ids: Sequence[str]) -> dict[str, model.Job]:
            wanted = sorted({str(i) for i in ats_ids})
            out: dict[str, model.Job] = {}
            try:
                with self.app.store.tenant(session.tenant) as repo:
                    for start in range(0, len(wanted), MIRROR_READ_BATCH):
                        batch = wanted[start : start + MIRROR_READ_BATCH]
                        statement = select(JobRow).where(
                            JobRow.connection_id == session.connection_id,
                            col(JobRow.ats_id).in_(batch),
                        )
                        out.update((row.ats_id, _mirrored_job(row)) for row in repo.all(statement))
            except (sa.exc.SQLAlchemyError, ValueError):
                # The copy only saves requests: without it the plugin fetches everything,
                # and a store that is really down fails the page's own transaction anyway.
                log.warning("reading mirrored jobs of %s failed", session.label, exc_info=True)
                return {}
            return out

        return mirrored

    def apply(
        self, repo: TenantRepo, connection_id: int, scope: str, page: FetchedPage, now: datetime
    ) -> PageOutcome:
        self.events.discard()
        outcome = PageOutcome()
        jobs: dict[str, model.Job] = {}
        for position, item in enumerate(page.items, 1):
            job = _check_job(item, position)
            unstorable = _unstorable(job)
            if unstorable is not None:
                # One record the store cannot hold must not fail its page on every run.
                outcome.errors.append(f"warning: skipped job #{position} of a page: {unstorable}")
                continue
            jobs[job.ats_id] = job  # a repeated id within a page: the last one wins
        ids = list(jobs)
        existing = {
            row.ats_id: row
            for row in repo.all(
                select(JobRow).where(
                    JobRow.connection_id == connection_id, col(JobRow.ats_id).in_(ids)
                )
            )
        } if ids else {}  # fmt: skip
        links = _links_for(repo, connection_id, ids)
        changed: list[tuple[JobRow, int | None]] = []  # (row, its index key before the change)
        for ats_id, job in jobs.items():
            values = _row_values(job)
            row = existing.get(ats_id)
            if row is None:
                row = repo.add(
                    JobRow(connection_id=connection_id, ats_id=ats_id, synced_at=now, **values)
                )
                outcome.added += 1
                changed.append((row, None))
            elif any(getattr(row, k) != v for k, v in values.items()):
                changed.append((row, _key(row)))
                for key, value in values.items():
                    setattr(row, key, value)
                outcome.updated += 1
            else:
                outcome.unchanged += 1
            row.synced_at = now  # "seen in this pass": a full pass drops the rows it did not see
            if job.updated_at is not None:
                outcome.high_water = max(outcome.high_water or job.updated_at, job.updated_at)
            link = links.get(ats_id)
            if link is not None:
                self.events.propagate(link, values["status"], values["status_raw"], True, now)
        repo.flush()
        _reindex(repo, changed)
        return outcome

    def finish(
        self, repo: TenantRepo, connection_id: int, scope: str, info: PassInfo, now: datetime
    ) -> PageOutcome:
        outcome = PageOutcome()
        if not info.full:
            return outcome
        gone = repo.all(
            select(JobRow).where(
                JobRow.connection_id == connection_id, col(JobRow.synced_at) < info.started_at
            )
        )
        # Counted only when there is something to remove; hold() also forgets a past hold.
        total = (
            repo.session.exec(
                select(sa.func.count()).where(JobRow.connection_id == connection_id)
            ).one()
            if gone
            else 0
        )
        warning = removals.hold(
            repo,
            connection_id,
            self.name,
            scope,
            total=int(total),
            gone=[row.ats_id for row in gone],
            what="mirrored jobs",
            now=now,
        )
        if warning is not None:
            # Kept, and the pass not recorded as full: the next run is full again.
            outcome.errors.append(warning)
            return outcome
        fullpass.record(repo, connection_id, self.name, scope, info.started_at, now)
        links = _links_for(repo, connection_id, [row.ats_id for row in gone])
        for row in gone:
            link = links.get(row.ats_id)
            if link is not None:
                self.events.propagate(link, CLOSED, "deleted", False, now)
            repo.delete(row)
            outcome.removed += 1
        return outcome

    def after_commit(self) -> None:
        self.events.fire()


def _key(row: JobRow) -> int:
    assert row.id is not None
    return job_index.recency_key(row.id, row.updated_at, row.created_at)


def _reindex(repo: TenantRepo, rows: Sequence[tuple[JobRow, int | None]]) -> None:
    if not rows or repo.session.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL indexes jobs.search_text itself
    entries = [
        (
            _key(row),
            old_key,
            job_index.search_words(row.title, row.locations, row.reference, row.ats_id),
        )
        for row, old_key in rows
    ]
    job_index.sqlite_index(repo.session, repo.tenant_id, entries)


class LinksKind:
    """Asks the job status hook about linked jobs not yet closed (finds deleted jobs)."""

    name = "links"

    def __init__(
        self,
        app: Atsbridge,
        session: PluginSession,
        batch: int = STATUS_BATCH,
        *,
        unlisted_only: bool = False,
    ):
        self.app = app
        self.batch = batch
        # Only the open links whose job the mirror does not hold (the listing cannot show
        # them); the others follow the mirror's listing.
        self.unlisted_only = unlisted_only
        self.events = _Events(app, session.tenant, session.ats)

    def fetch(
        self, session: PluginSession, scope: str, cursor: str | None, since: datetime | None
    ) -> FetchedPage:
        with self.app.store.tenant(session.tenant) as repo:
            statement = select(JobLink.ats_job_id).where(
                JobLink.connection_id == session.connection_id, JobLink.state != CLOSED
            )
            if cursor is not None:
                statement = statement.where(JobLink.ats_job_id > cursor)
            if self.unlisted_only:
                mirrored = select(JobRow.id).where(
                    JobRow.connection_id == session.connection_id,
                    JobRow.ats_id == JobLink.ats_job_id,
                )
                statement = statement.where(~mirrored.exists())
            ids = list(repo.all(statement.order_by(JobLink.ats_job_id).limit(self.batch)))
        if not ids:
            return FetchedPage(items=(), next_cursor=None)
        result = session.call("atsbridge_job_statuses", job_ids=ids)
        if not isinstance(result, list | tuple):
            raise PayloadError("job_statuses", "return value", "expected a list of JobState")
        states = {}
        for item in result:
            if not isinstance(item, JobState):
                raise PayloadError("job_statuses", "item", f"expected a JobState, got {item!r}")
            states[item.ats_id] = item
        missing = [i for i in ids if i not in states]
        if missing:
            raise PayloadError("job_statuses", "ats_id", f"no state reported for {missing[0]}")
        more = len(ids) == self.batch
        return FetchedPage(items=[states[i] for i in ids], next_cursor=ids[-1] if more else None)

    def apply(
        self, repo: TenantRepo, connection_id: int, scope: str, page: FetchedPage, now: datetime
    ) -> PageOutcome:
        self.events.discard()
        outcome = PageOutcome()
        states: list[JobState] = list(page.items)
        links = _links_for(repo, connection_id, [s.ats_id for s in states])
        mirror = {
            row.ats_id: row
            for row in repo.all(
                select(JobRow).where(
                    JobRow.connection_id == connection_id,
                    col(JobRow.ats_id).in_([s.ats_id for s in states]),
                )
            )
        }
        for state in states:
            status = JobStatus(state.status).value
            row = mirror.get(state.ats_id)
            if not state.exists:
                if row is not None:
                    repo.delete(row)
                    outcome.removed += 1
            elif row is not None and (row.status, row.status_raw) != (status, state.status_raw):
                row.status, row.status_raw = status, state.status_raw
                outcome.updated += 1
            else:
                outcome.unchanged += 1
            link = links.get(state.ats_id)
            if link is not None:
                self.events.propagate(link, status, state.status_raw, state.exists, now)
        return outcome

    def finish(
        self, repo: TenantRepo, connection_id: int, scope: str, info: PassInfo, now: datetime
    ) -> PageOutcome:
        return PageOutcome()

    def after_commit(self) -> None:
        self.events.fire()


def _run_jobs(
    app: Atsbridge, session: PluginSession, *, full: bool, on_progress: ProgressCallback | None
) -> list[RunReport]:
    return [app.jobs.sync_session(session, full=full, on_progress=on_progress)]


def _run_links(
    app: Atsbridge, session: PluginSession, *, full: bool, on_progress: ProgressCallback | None
) -> list[RunReport]:
    return app.jobs.propagate_links(session, full=full, on_progress=on_progress)


register_kind(KindSpec("jobs", "--jobs", "mirror the ATS's jobs (search, import)", _run_jobs, 10))
register_kind(
    KindSpec(
        "links",
        "--links",
        "close propagation: the mirror's listing, status reads of unlisted linked jobs "
        "(--full: of every linked job, which notices a deletion at once)",
        _run_links,
        11,
    )
)


# --- the service ----------------------------------------------------------------------------


class JobService(Service):
    """``app.jobs``: sync the mirror, search it, import (link) jobs and list the links."""

    def runner(self) -> SyncRunner:
        return self.app.sync.runner()

    def sync(
        self,
        tenant: str,
        ats: str,
        *,
        full: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> RunReport:
        with self.app.open_session(tenant, ats) as session:
            return self.sync_session(session, full=full, on_progress=on_progress)

    def sync_session(
        self,
        session: PluginSession,
        *,
        full: bool = False,
        on_progress: ProgressCallback | None = None,
        page_size: int = PAGE_SIZE,
    ) -> RunReport:
        kind = JobsKind(self.app, session, page_size)
        if not full:
            every = fullpass.interval(session.settings, kind.name, self.app.full_pass_overrides)
            with self.store.tenant(session.tenant) as repo:
                last = fullpass.state(repo, session.connection_id, kind.name)
            full = last.due(every, self.now())
        return self.runner().run(session, kind, full=full, on_progress=on_progress)

    def check_links(
        self, session: PluginSession, *, on_progress: ProgressCallback | None = None
    ) -> RunReport:
        """Ask the ATS about every open link (``sync --links --full``): finds deletions now."""
        return self.runner().run(
            session, LinksKind(self.app, session), full=True, on_progress=on_progress
        )

    def propagate_links(
        self,
        session: PluginSession,
        *,
        full: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> list[RunReport]:
        """Close propagation as the ``links`` task runs it (#15 item 3).

        The job mirror's incremental listing already shows a linked job whose status
        changed (closed or reopened: ``JobsKind.apply`` propagates it), so that listing is
        read, unless a mirror pass started since this task last ran (the host runs both
        every half hour: then it has read it already). Job status reads only cover the
        open links the listing cannot show (no mirror row: not listed, confidential);
        ``full`` reads every open link, which is how a deletion is noticed before the
        mirror's next full pass (that notices it too).
        """
        reports = []
        if not self._mirror_read_since_links(session):
            try:
                reports.append(self.sync_session(session, on_progress=on_progress))
            except Conflict as exc:
                # The jobs task is reading that listing right now: it propagates.
                log.info("links of %s: %s", session.label, exc)
        kind = LinksKind(self.app, session, unlisted_only=not full)
        reports.append(self.runner().run(session, kind, full=True, on_progress=on_progress))
        return reports

    def _mirror_read_since_links(self, session: PluginSession) -> bool:
        """Whether a whole mirror pass started after the last ``links`` run started (or,
        before the first, after the newest link was made)."""
        runs = table(SyncRun)
        where = (
            runs.c.tenant_id == sa.bindparam("tid"),
            runs.c.connection_id == session.connection_id,
        )
        with self.store.tenant(session.tenant) as repo:
            conn = repo.session.connection()
            params = {"tid": repo.tenant_id}
            last_links = conn.execute(
                sa.select(sa.func.max(runs.c.started_at)).where(
                    *where, runs.c.kind == "links", runs.c.status == "succeeded"
                ),
                params,
            ).scalar()
            if last_links is None:
                # Never ran: the mirror pass must have started after the newest link was
                # made (an import copies the mirror's state as of its last pass).
                links = table(JobLink)
                last_links = conn.execute(
                    sa.select(sa.func.max(links.c.created_at)).where(
                        links.c.tenant_id == sa.bindparam("tid"),
                        links.c.connection_id == session.connection_id,
                    ),
                    params,
                ).scalar()
                if last_links is None:
                    return True  # no links: nothing to propagate
            passes = conn.execute(
                sa.select(runs.c.progress).where(
                    *where,
                    runs.c.kind == "jobs",
                    runs.c.status == "succeeded",
                    runs.c.started_at > last_links,
                ),
                params,
            ).scalars()
            # A resumed run read only the rest of a pass begun earlier.
            return any(not (p or {}).get("resumed_after_pages") for p in passes)

    # --- search -------------------------------------------------------------------------------

    def search(
        self,
        tenant: str,
        query: str | None = None,
        *,
        ats: str | None = None,
        status: str | Sequence[str] | None = None,
        limit: int = 20,
        offset: int = 0,
        updated_after: datetime | None = None,
    ) -> SearchPage:
        """Ranked search (see ``job_index``); no query = most recently updated first.
        ``updated_after`` keeps jobs updated (else created) after it."""
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise BadInput(f"--limit: must be between 1 and {MAX_SEARCH_LIMIT}, got {limit}")
        if not 0 <= offset <= 2**63 - 1:  # beyond, no database takes it as an OFFSET
            raise BadInput(f"--offset: must be 0 to {2**63 - 1}, got {offset}")
        statuses = _statuses(status)
        with self.store.tenant(tenant) as repo:
            # Core statements on the session's connection, not ORM loads: the import window
            # calls this on every keystroke, and the ORM's per-statement work (entity loading,
            # tenant criteria options) cost more than the index query itself. Each statement
            # therefore filters on tenant_id explicitly.
            conn = repo.session.connection()
            tenant_id = repo.tenant_id
            names: dict[int, str] = {
                row.id: row.ats
                for row in conn.execute(
                    sa.select(_CONNECTIONS.c.id, _CONNECTIONS.c.ats).where(
                        _CONNECTIONS.c.tenant_id == tenant_id
                    )
                )
            }
            connection_id = None
            if ats is not None:
                connection_id = next((i for i, name in names.items() if name == ats), None)
                if connection_id is None:
                    raise NotFound(f"tenant {tenant!r} has no {ats} connection")
            ranked = job_index.search_ids(
                repo.session,
                self.store.dialect,
                tenant_id,
                query,
                connection_id=connection_id,
                statuses=statuses,
                limit=limit + 1,
                offset=offset,
                updated_after=updated_after,
            )
            more = len(ranked) > limit
            ranked = ranked[:limit]
            rows = {}
            if ranked:
                statement = sa.select(*_VIEW_COLUMNS).where(
                    _JOBS.c.tenant_id == tenant_id, _JOBS.c.id.in_([i for i, _ in ranked])
                )
                rows = {row.id: row for row in conn.execute(statement)}
            linked: dict[tuple[int, str], str] = {}
            if rows:
                statement = sa.select(
                    _LINKS.c.connection_id, _LINKS.c.ats_job_id, _LINKS.c.product_job_id
                ).where(
                    _LINKS.c.tenant_id == tenant_id,
                    _LINKS.c.ats_job_id.in_([r.ats_id for r in rows.values()]),
                )
                linked = {(r[0], r[1]): r[2] for r in conn.execute(statement)}
            items = []
            for job_id, tier in ranked:
                row = rows.get(job_id)
                if row is None:  # the raw SQL filters the tenant; this is belt and braces
                    continue
                items.append(
                    _job_view(
                        row,
                        names.get(row.connection_id, "?"),
                        job_index.TIER_NAMES[tier] if tier is not None else None,
                        linked.get((row.connection_id, row.ats_id)),
                    )
                )
        return SearchPage(items, offset, limit, offset + limit if more else None)

    def get(self, tenant: str, ats: str, ats_job_id: str) -> JobView:
        with self.store.tenant(tenant) as repo:
            connection = repo.require_connection(ats)
            row = self._mirror_row(repo, connection, ats_job_id)
            return _job_view(row, ats, None, None)

    # --- import ---------------------------------------------------------------------------

    def import_job(
        self, tenant: str, ats: str, ats_job_id: str, product_job_id: str
    ) -> ImportResult:
        """Link ATS job -> product job; returns the prefilled fields and what is missing."""
        ats_job_id = ats_job_id.strip()
        product_job_id = product_job_id.strip()
        if not ats_job_id:
            raise BadInput("ATS_JOB_ID: must not be empty")
        if not product_job_id:
            raise BadInput("--job: the product job id must not be empty")
        if len(product_job_id) > 255:
            raise BadInput("--job: the product job id is longer than 255 characters")
        for where, text in (("ATS_JOB_ID", ats_job_id), ("--job", product_job_id)):
            if reason := storable.text_problem(text, max_length=storable.MAX_ID):
                raise BadInput(f"{where}: {reason}")
        now = self.now()
        try:
            with self.store.tenant(tenant, immediate=True) as repo:
                connection = repo.require_connection(ats)
                row = self._mirror_row(repo, connection, ats_job_id)
                ats_job_id = row.ats_id  # a reference or an id prefix names this job
                self._refuse_duplicates(repo, connection, ats_job_id, product_job_id)
                prefilled = _prefilled(row)
                state = CLOSED if row.status == CLOSED else row.status
                link = repo.add(
                    JobLink(
                        connection_id=_id(connection),
                        product_job_id=product_job_id,
                        ats_job_id=ats_job_id,
                        snapshot={
                            **prefilled,
                            "ats_id": row.ats_id,
                            "url": row.url,
                            "status": row.status,
                            "status_raw": row.status_raw,
                            "ats_updated_at": _iso(row.updated_at),
                            "imported_at": now.isoformat(),
                        },
                        state=state,
                        status_raw=row.status_raw,
                        closed_at=now if state == CLOSED else None,
                        created_at=now,
                        updated_at=now,
                    )
                )
                repo.flush()
                # Leads a disconnect left waiting for this job are queued here again.
                adopted = lead_orphans.adopt(repo, link, now)
        except IntegrityError:
            # Lost a race with a concurrent import: report it like the checks above would.
            with self.store.tenant(tenant) as repo:
                connection = repo.require_connection(ats)
                self._refuse_duplicates(repo, connection, ats_job_id, product_job_id)
            raise
        missing = [name for name in IMPORT_FIELDS if prefilled.get(name) in (None, "", {})]
        return ImportResult(
            tenant=tenant,
            ats=ats,
            ats_job_id=ats_job_id,
            product_job_id=product_job_id,
            state=state,
            prefilled=prefilled,
            missing=missing,
            adopted_leads=adopted,
        )

    def _mirror_row(self, repo: TenantRepo, connection: Connection, ats_job_id: str) -> JobRow:
        """The mirrored job ``ats_job_id`` names: its id, its reference, or a unique id prefix.

        Ids are tried first, then references (``ENG-1007``), then id prefixes of at least
        MIN_ID_PREFIX characters (long UUIDs are copied in part); two matches are refused,
        naming them.
        """
        mine = select(JobRow).where(JobRow.connection_id == connection.id)
        row = repo.first(mine.where(JobRow.ats_id == ats_job_id))
        if row is not None:
            return row
        for where in (
            JobRow.reference == ats_job_id,
            sa.func.lower(JobRow.reference) == ats_job_id.lower(),
        ):
            found = repo.all(mine.where(where).limit(3))
            if len(found) == 1:
                return found[0]
            if found:
                raise BadInput(_ambiguous(connection.ats, ats_job_id, "reference", found))
        if len(ats_job_id) >= MIN_ID_PREFIX:
            prefix = col(JobRow.ats_id).startswith(ats_job_id, autoescape=True)
            found = repo.all(mine.where(prefix).order_by(JobRow.ats_id).limit(3))
            if len(found) == 1:
                return found[0]
            if found:
                raise BadInput(_ambiguous(connection.ats, ats_job_id, "id prefix", found))
        tenant, ats = repo.tenant_key, connection.ats
        if repo.first(select(JobRow.id).where(JobRow.connection_id == connection.id)) is None:
            hint = f"the mirror is empty: run `atsbridge sync {tenant} {ats} --jobs` first"
        else:
            hint = f"find it with `atsbridge jobs search {tenant} TEXT --ats {ats}`"
        raise NotFound(
            f"{ats} job {ats_job_id!r} is not in tenant {tenant!r}'s mirror as an id, "
            f"a reference or an id prefix ({hint})"
        )

    def _refuse_duplicates(
        self, repo: TenantRepo, connection: Connection, ats_job_id: str, product_job_id: str
    ) -> None:
        by_ats = repo.first(
            select(JobLink).where(
                JobLink.connection_id == connection.id, JobLink.ats_job_id == ats_job_id
            )
        )
        if by_ats is not None:
            raise Conflict(
                f"{connection.ats} job {ats_job_id} is already imported as product job "
                f"{by_ats.product_job_id!r}"
            )
        by_product = repo.first(select(JobLink).where(JobLink.product_job_id == product_job_id))
        if by_product is not None:
            other = repo.get(Connection, by_product.connection_id)
            where = other.ats if other else "an ATS"
            raise Conflict(
                f"product job {product_job_id!r} is already linked to {where} job "
                f"{by_product.ats_job_id}"
            )

    # --- links ------------------------------------------------------------------------------

    def list(self, tenant: str) -> list[LinkView]:
        """Every linked job of the tenant, newest import first."""
        return self._links(tenant, None)

    def link(self, tenant: str, product_job_id: str) -> LinkView:
        """The link of one product job. Raises NotFound when it is not linked."""
        found = self._links(tenant, product_job_id)
        if not found:
            raise NotFound(f"product job {product_job_id!r} is not linked in tenant {tenant!r}")
        return found[0]

    def existing_import(
        self, tenant: str, product_job_id: str, ats: str, ats_job_id: str
    ) -> ImportResult | None:
        """What the first import answered, when exactly this link exists already; else None.

        Importing the same ATS job as the same product job again is not a conflict: the API
        (``PUT .../link``) and the console answer it with this instead of a 409.
        Called by: those two after ``import_job`` raised Conflict.
        """
        found = self._links(tenant, product_job_id)
        if not found or found[0].ats != ats or found[0].ats_job_id != ats_job_id:
            return None
        view = found[0]
        prefilled = {name: view.snapshot.get(name) for name in IMPORT_FIELDS}
        return ImportResult(
            tenant=tenant,
            ats=ats,
            ats_job_id=ats_job_id,
            product_job_id=product_job_id,
            state=view.state,
            prefilled=prefilled,
            missing=[n for n in IMPORT_FIELDS if prefilled.get(n) in (None, "", {})],
        )

    def _links(self, tenant: str, product_job_id: str | None) -> builtins.list[LinkView]:
        with self.store.tenant(tenant) as repo:
            names = {c.id: c.ats for c in repo.connections()}
            statement = select(JobLink)
            if product_job_id is not None:
                statement = statement.where(JobLink.product_job_id == product_job_id)
            links = repo.all(
                statement.order_by(col(JobLink.created_at).desc(), col(JobLink.id).desc())
            )
            mirror: dict[tuple[int, str], JobRow] = {}
            if links:
                rows = repo.all(
                    select(JobRow).where(col(JobRow.ats_id).in_([lk.ats_job_id for lk in links]))
                )
                mirror = {(r.connection_id, r.ats_id): r for r in rows}
            out = []
            for link in links:
                row = mirror.get((link.connection_id, link.ats_job_id))
                out.append(
                    LinkView(
                        product_job_id=link.product_job_id,
                        ats=names.get(link.connection_id, "?"),
                        ats_job_id=link.ats_job_id,
                        state=link.state,
                        status_raw=link.status_raw,
                        title=str(link.snapshot.get("title", "")),
                        current_title=row.title if row else None,
                        in_mirror=row is not None,
                        mirror_synced_at=row.synced_at if row else None,
                        closed_at=link.closed_at,
                        imported_at=link.created_at,
                        snapshot=dict(link.snapshot),
                    )
                )
            return out


def _ambiguous(ats: str, given: str, what: str, rows: Sequence[JobRow]) -> str:
    shown = ", ".join(f"{r.ats_id} ({r.title})" for r in rows[:2])
    more = " and more" if len(rows) > 2 else ""
    return f"ATS_JOB_ID: {given!r} is the {what} of several {ats} jobs: {shown}{more}; give the id"


def _id(connection: Connection) -> int:
    assert connection.id is not None
    return connection.id


def _statuses(status: str | Sequence[str] | None) -> list[str]:
    if status is None:
        return []
    raw = status.split(",") if isinstance(status, str) else list(status)
    out = []
    for item in raw:
        name = item.strip().lower().replace("-", "_")
        if not name:
            continue
        try:
            out.append(JobStatus(name).value)
        except ValueError:
            known = ", ".join(s.value for s in JobStatus)
            raise BadInput(f"--status: unknown job status {item!r} (one of {known})") from None
    return out


def _job_view(row: Any, ats: str, match: str | None, linked_to: str | None) -> JobView:
    first = row.locations[0] if row.locations else {}
    return JobView(
        ats=ats,
        ats_id=row.ats_id,
        title=row.title,
        status=row.status,
        status_raw=row.status_raw,
        reference=row.reference,
        location=format_location(first) if first else None,
        locations=list(row.locations),
        department=row.department,
        employment_type=row.employment_type,
        url=row.url,
        created_at=row.created_at,
        updated_at=row.updated_at,
        match=match,
        linked_to=linked_to,
    )


def _prefilled(row: JobRow) -> dict[str, Any]:
    first = row.locations[0] if row.locations else None
    location = None
    if first:
        location = {**first, "text": format_location(first)}
    return {
        "title": row.title or None,
        "description": row.description or None,
        "location": location,
        "department": row.department or None,
        "employment_type": row.employment_type or None,
        "reference": row.reference or None,
    }
