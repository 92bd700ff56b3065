"""A generic checkpointed, resumable, paged sync runner, and the registry of sync kinds.

A *kind* (jobs, candidates, statuses...) knows how to fetch one page from the ATS and how to
apply it to the store. The runner owns everything else, the same way for every kind:

* one ``SyncRun`` row per run, created before the first request (or, when a page source
  already holds the first page, in the transaction that stores it) and updated after every
  page (pages, counts, progress, heartbeat), so another process can watch it run;
* a *pass* is the walk from the first page to the last. Every page is applied in one
  transaction together with the checkpoint of the next page's cursor, so a run killed
  anywhere resumes at the first page it had not committed, and never fetches a committed
  page again;
* the high-water mark (largest ``updated_at`` seen) only becomes the checkpoint's
  ``high_water`` when a pass completes, because ATSs serve pages newest first: a pass
  killed after its first page must not make the next run skip what it never reached;
* an incremental pass asks for ``updated_since = high_water - overlap``, so a record
  updated at the boundary (or committed late by the ATS) is seen again rather than missed.

The checkpoint's ``cursor`` column holds the runner's *pass envelope* (JSON): the ATS cursor
of the next page plus the pass's ``since``, pending high-water, start time and page count.
Those must survive a crash together with the cursor, and one column written in the same
transaction as the page is the simplest way to guarantee that.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import sqlalchemy as sa
from sqlmodel import col

from atsbridge.errors import AtsbridgeError, AuthError, Conflict, NotFound
from atsbridge.events import records
from atsbridge.sessions import PluginSession
from atsbridge.store import Connection, Store, SyncCheckpoint, SyncRun, TenantRepo
from atsbridge.store.tables import table

if TYPE_CHECKING:
    from atsbridge.api import Atsbridge

log = logging.getLogger(__name__)

DEFAULT_OVERLAP = timedelta(minutes=5)
# A run whose heartbeat is older than this is presumed dead (its host crashed or was killed).
DEFAULT_STALE_AFTER = timedelta(minutes=15)
COUNT_KEYS = ("added", "updated", "unchanged", "removed")


@attrs.frozen
class FetchedPage:
    """One page as a kind fetched it: the items and the ATS cursor of the next page."""

    items: Sequence[Any]
    next_cursor: str | None
    # Work the kind's ``fetch`` did for its ``apply`` off the database path (normalising,
    # say): fetches run ahead on a helper thread, or in another process than the writes.
    prepared: Any = None
    # How many items the whole listing holds, when the ATS says (progress only).
    total: int | None = None


@attrs.define
class PageOutcome:
    """What applying one page did. ``high_water`` is the largest ``updated_at`` in it."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    high_water: datetime | None = None
    errors: list[str] = attrs.Factory(list)
    # Exported leads whose ATS status this page moved (the flow-back), when it fed any.
    moved: int | None = None

    def counts(self) -> dict[str, int]:
        counts = {k: getattr(self, k) for k in COUNT_KEYS}
        if self.moved is not None:
            counts["moved"] = self.moved
        return counts


@attrs.frozen
class PassInfo:
    """What ``finish`` learns about the pass that just completed."""

    full: bool  # True when the pass started without updated_since (saw everything)
    started_at: datetime  # when the pass's first page was requested
    since: datetime | None


class SyncKind(Protocol):
    """One kind of data a connection syncs. ``name`` keys its checkpoints and runs.

    A kind may set ``clock_high_water = True``: when a completed pass saw no ``updated_at``
    at all, the pass's start time becomes the high-water mark instead of none (which would
    make every later run a full pass).

    A kind may set ``prefetch = True`` when its ``fetch`` only talks to the ATS (no store
    access, nothing shared with ``apply``): the runner then requests the next page on a
    helper thread while the current one is being stored, so the ATS's response time and
    the database writes overlap. One request at a time still; the cursor only advances in
    the page's transaction, so a crash still resumes at the first page not committed.
    """

    name: str

    def fetch(
        self, session: PluginSession, scope: str, cursor: str | None, since: datetime | None
    ) -> FetchedPage: ...

    def apply(
        self, repo: TenantRepo, connection_id: int, scope: str, page: FetchedPage, now: datetime
    ) -> PageOutcome: ...

    def finish(
        self, repo: TenantRepo, connection_id: int, scope: str, info: PassInfo, now: datetime
    ) -> PageOutcome:
        """Called in the last page's transaction; e.g. drop what a full pass did not see."""
        ...

    def after_commit(self) -> None:
        """Called after each page's transaction committed (fire events exactly once)."""
        ...


@attrs.frozen
class RunReport:
    """A sync run as people and ``--json`` see it."""

    id: int
    tenant: str
    ats: str
    kind: str
    scope: str
    status: str  # running | succeeded | failed | interrupted
    started_at: datetime
    ended_at: datetime | None
    pages: int
    counts: dict[str, int]
    errors: list[str]
    progress: dict[str, Any]

    @classmethod
    def from_row(cls, tenant: str, ats: str, row: SyncRun) -> RunReport:
        assert row.id is not None
        return cls(
            id=row.id,
            tenant=tenant,
            ats=ats,
            kind=row.kind,
            scope=str(row.progress.get("scope", "")),
            status=row.status,
            started_at=row.started_at,
            ended_at=row.ended_at,
            pages=row.pages,
            counts=dict(row.counts),
            errors=list(row.errors),
            progress=dict(row.progress),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "ats": self.ats,
            "kind": self.kind,
            "scope": self.scope,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "pages": self.pages,
            "counts": self.counts,
            "errors": self.errors,
            "progress": self.progress,
        }


@attrs.define
class _Pass:
    """The pass envelope kept in ``SyncCheckpoint.cursor`` (see the module docstring)."""

    cursor: str | None
    since: datetime | None
    started_at: datetime
    high_water: datetime | None = None
    pages: int = 0

    def dump(self) -> str:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return json.dumps(
            {
                "v": 1,
                "cursor": self.cursor,
                "since": iso(self.since),
                "started_at": self.started_at.isoformat(),
                "high_water": iso(self.high_water),
                "pages": self.pages,
            }
        )

    @classmethod
    def load(cls, raw: str) -> _Pass | None:
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("v") != 1:
                return None

            def dt(v: Any) -> datetime | None:
                return datetime.fromisoformat(v) if v else None

            started = dt(data["started_at"])
            assert started is not None
            return cls(
                cursor=data["cursor"],
                since=dt(data["since"]),
                started_at=started,
                high_water=dt(data["high_water"]),
                pages=int(data["pages"]),
            )
        except (ValueError, KeyError, TypeError, AssertionError):
            return None  # unreadable: the runner starts a fresh pass instead


# The runner's statements, built once: building and cache-keying a statement cost more than
# SQLite took to run it, once per page. Each filters on tenant_id itself (Core statements
# bypass the repository's ORM tenant criteria).
_RUNS = table(SyncRun)
_CHECKPOINTS = table(SyncCheckpoint)
_CONNECTIONS = table(Connection)
_bp = sa.bindparam
# Locked while a run is claimed: two runs of one connection starting at once (the links task
# reads the mirror's listing beside the jobs task) then see each other on PostgreSQL, whose
# read-committed transactions would otherwise both find no live run and both start.
_CONNECTION_EXISTS = (
    sa.select(_CONNECTIONS.c.id)
    .where(_CONNECTIONS.c.tenant_id == _bp("tid"), _CONNECTIONS.c.id == _bp("cid"))
    .with_for_update()
)
_RUNNING = sa.select(
    _RUNS.c.id, _RUNS.c.host, _RUNS.c.started_at, _RUNS.c.progress, _RUNS.c.errors
).where(
    _RUNS.c.tenant_id == _bp("tid"),
    _RUNS.c.connection_id == _bp("cid"),
    _RUNS.c.kind == _bp("kind"),
    _RUNS.c.status == "running",
)
_RETIRE = (
    sa.update(_RUNS)
    .where(_RUNS.c.tenant_id == _bp("tid"), _RUNS.c.id == _bp("rid"))
    .values(status="interrupted", ended_at=_bp("b_now"), errors=_bp("b_errors"))
)
_NEW_RUN = sa.insert(_RUNS)
_CHECKPOINT_ROW = sa.select(
    _CHECKPOINTS.c.id, _CHECKPOINTS.c.cursor, _CHECKPOINTS.c.high_water
).where(
    _CHECKPOINTS.c.tenant_id == _bp("tid"),
    _CHECKPOINTS.c.connection_id == _bp("cid"),
    _CHECKPOINTS.c.kind == _bp("kind"),
    _CHECKPOINTS.c.scope == _bp("scope"),
)
_NEW_CHECKPOINT = sa.insert(_CHECKPOINTS)
_CHECKPOINTS_OF_KIND = sa.select(
    _CHECKPOINTS.c.scope, _CHECKPOINTS.c.cursor, _CHECKPOINTS.c.high_water
).where(
    _CHECKPOINTS.c.tenant_id == _bp("tid"),
    _CHECKPOINTS.c.connection_id == _bp("cid"),
    _CHECKPOINTS.c.kind == _bp("kind"),
)
_TAKE_CHECKPOINT = (
    sa.update(_CHECKPOINTS)
    .where(_CHECKPOINTS.c.tenant_id == _bp("tid"), _CHECKPOINTS.c.id == _bp("cpid"))
    .values(cursor=_bp("b_cursor"), run_id=_bp("b_run"), updated_at=_bp("b_now"))
)
# Per page. Both writes name this run as the owner (see ``_apply``).
_OWNED_CHECKPOINT = sa.update(_CHECKPOINTS).where(
    _CHECKPOINTS.c.tenant_id == _bp("tid"),
    _CHECKPOINTS.c.id == _bp("cpid"),
    _CHECKPOINTS.c.run_id == _bp("rid"),
)
_NEXT_PAGE = _OWNED_CHECKPOINT.values(cursor=_bp("b_cursor"), updated_at=_bp("b_now"))
_PASS_DONE = _OWNED_CHECKPOINT.values(
    cursor=None, high_water=_bp("b_high_water"), updated_at=_bp("b_now")
)
_RUNNING_RUN = sa.update(_RUNS).where(
    _RUNS.c.tenant_id == _bp("tid"), _RUNS.c.id == _bp("rid"), _RUNS.c.status == "running"
)
_RUN_PAGE = _RUNNING_RUN.values(
    pages=_bp("b_pages"), counts=_bp("b_counts"), errors=_bp("b_errors"), progress=_bp("b_progress")
)
_RUN_DONE = _RUNNING_RUN.values(
    pages=_bp("b_pages"),
    counts=_bp("b_counts"),
    errors=_bp("b_errors"),
    progress=_bp("b_progress"),
    status="succeeded",
    ended_at=_bp("b_now"),
)


@attrs.define
class _Run:
    """The run's row as this runner last wrote it. While a run owns its checkpoint nothing
    else writes the row, so pages update it from this copy instead of reading it back."""

    id: int
    checkpoint_id: int
    checkpoint_high_water: datetime | None
    started_at: datetime
    resumed: int
    counts: dict[str, int]
    progress: dict[str, Any]
    errors: list[str] = attrs.Factory(list)
    pages: int = 0
    status: str = "running"
    ended_at: datetime | None = None
    # Events the run's last transaction logged (sync.finished...), fired after its commit.
    events: list[dict[str, Any]] = attrs.Factory(list)

    def report(self, session: PluginSession, kind: str) -> RunReport:
        return RunReport(
            id=self.id,
            tenant=session.tenant,
            ats=session.ats,
            kind=kind,
            scope=str(self.progress.get("scope", "")),
            status=self.status,
            started_at=self.started_at,
            ended_at=self.ended_at,
            pages=self.pages,
            counts=dict(self.counts),
            errors=list(self.errors),
            progress=dict(self.progress),
        )


PageKey = tuple[str, str | None, datetime | None]  # scope, cursor, since: what a fetch asks


class PageSource(Protocol):
    """Where a run gets pages before it fetches one itself (``SyncRunner.run(ahead=...)``)."""

    def request(self, scope: str, cursor: str | None, since: datetime | None) -> None:
        """The run will want this page next (fetch it now, or ignore the hint)."""
        ...

    def take(self, scope: str, cursor: str | None, since: datetime | None) -> FetchedPage | None:
        """That page if this source has it (its fetch error re-raised), else None."""
        ...

    def at_hand(self, scope: str) -> PageKey | None:
        """The request of ``scope`` whose page (not an error) is here now, else None.

        The run then stores that page in its first transaction, with the run's record.
        """
        ...


class PageAhead:
    """At most one ``kind.fetch`` in flight on a helper thread (see ``SyncKind.prefetch``).

    Within a pass it holds the next page while the current one is stored. Given to several
    runs of one task in turn (``SyncRunner.run(ahead=..., then=...)``), it also fetches the
    first page of the next scope while the last page of this one is stored, so a task of
    many small scopes (a job's pipeline is often one or two pages) keeps the ATS and the
    database busy at once. A page is only used for exactly the (scope, cursor, since) it was
    fetched for; a guess that turned out wrong (the checkpoint moved meanwhile) costs one
    request and is thrown away.
    """

    def __init__(self, kind: SyncKind, session: PluginSession):
        self.kind, self.session = kind, session
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="sync-prefetch")
        self.pending: tuple[PageKey, Future[FetchedPage]] | None = None

    def request(self, scope: str, cursor: str | None, since: datetime | None) -> None:
        self.discard()
        future = self.pool.submit(self.kind.fetch, self.session, scope, cursor, since)
        self.pending = ((scope, cursor, since), future)

    def take(self, scope: str, cursor: str | None, since: datetime | None) -> FetchedPage | None:
        """The page fetched for exactly this request (its error re-raised), else None."""
        if self.pending is None or self.pending[0] != (scope, cursor, since):
            self.discard()
            return None
        future = self.pending[1]
        self.pending = None
        return future.result()

    def at_hand(self, scope: str) -> PageKey | None:
        if self.pending is None:
            return None
        key, future = self.pending
        if key[0] != scope or not future.done() or future.exception() is not None:
            return None
        return key

    def discard(self) -> None:
        if self.pending is not None:
            # Wait for it: one request at a time per session, whatever became of the guess.
            self.pending[1].exception()
            self.pending = None

    def close(self) -> None:
        # Waits for a request still in flight (the run failed while it was out): nothing
        # may use the session after the run returns, since the caller closes it next.
        self.pending = None
        self.pool.shutdown(wait=True)


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


ProgressCallback = Callable[[RunReport], None]


@attrs.frozen
class _Written:
    """What storing a page changed, applied to the run and its pass once committed."""

    high_water: datetime | None
    pass_pages: int
    counts: dict[str, int]
    errors: list[str]
    progress: dict[str, Any]
    events: list[dict[str, Any]] = attrs.Factory(list)


class _FirstPageFailed(Exception):
    """Storing the first page failed in the run's first transaction (``SyncRunner._run``)."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


@attrs.frozen
class _NewCheckpoint:
    """A checkpoint row just created, shaped like a ``_CHECKPOINT_ROW`` result."""

    id: int
    cursor: str | None
    high_water: datetime | None


class SyncRunner:
    """Runs one kind for one connection and scope; see the module docstring."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime],
        overlap: timedelta = DEFAULT_OVERLAP,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
        holder: str | None = None,
        on_events: Callable[[list[dict[str, Any]]], None] | None = None,
    ):
        self.store = store
        # Gets the events a run logged (sync.finished, credentials failing, the kind's own
        # ``finished_events``) once they have committed: the plugins' event hooks.
        self.on_events = on_events
        self.clock = clock
        self.overlap = overlap
        self.stale_after = stale_after
        self.holder = holder or _holder()
        # A runner serves one task (all the scopes of one kind and connection): the tenant's
        # id is looked up by its first transaction and reused by the others.
        self._tenant_ids: dict[str, int] = {}

    def _transaction(self, tenant: str) -> Any:
        """The tenant's transaction, immediate like every write here (see ``_fail``)."""
        return self.store.tenant(tenant, immediate=True, known_id=self._tenant_ids.get(tenant))

    def run(
        self,
        session: PluginSession,
        kind: SyncKind,
        scope: str = "",
        *,
        full: bool = False,
        on_progress: ProgressCallback | None = None,
        ahead: PageSource | None = None,
        then: PageKey | None = None,
    ) -> RunReport:
        """Run (or resume) a pass to its end. Records the failure and re-raises on error.

        A task running many scopes passes one ``ahead`` to each run and, as ``then``, the
        first request of the scope it runs next (``pass_starts``); without ``ahead``, a
        kind that allows prefetching gets one for this run.
        """
        own = None
        if ahead is None and getattr(kind, "prefetch", False):
            ahead = own = PageAhead(kind, session)
        try:
            return self._run(session, kind, scope, full, on_progress, ahead, then)
        finally:
            if own is not None:
                own.close()

    def _run(
        self,
        session: PluginSession,
        kind: SyncKind,
        scope: str,
        full: bool,
        on_progress: ProgressCallback | None,
        ahead: PageSource | None,
        then: PageKey | None,
    ) -> RunReport:
        try:
            run, state, report = self._begin(session, kind, scope, full, ahead, then)
        except _FirstPageFailed as failed:
            # The page failed in the run's first transaction and took the run with it:
            # record both as a run begun and then failed, as if apart.
            run, state, _ = self._begin(session, kind, scope, full)
            self._fail(session, run.id, failed.error, kind)
            raise failed.error from None
        try:
            # Inside the try: a callback that raises at the first report (a host stopping)
            # must still record the run as failed or interrupted, never leave it "running".
            if report is not None:
                self._after_commit(kind, run)
            if on_progress:
                on_progress(report or run.report(session, kind.name))
            if report is not None and report.status != "running":
                return report
            page = self._page(session, kind, scope, state, ahead)
            while True:
                if ahead is not None:
                    self._request_next(ahead, scope, page, state.since, then)
                report = self._apply(session, kind, scope, run, state, page)
                self._after_commit(kind, run)
                if on_progress:
                    on_progress(report)
                if report.status != "running":
                    return report
                page = self._page(session, kind, scope, state, ahead)
        except BaseException as exc:
            self._fail(session, run.id, exc, kind)
            raise

    def _after_commit(self, kind: SyncKind, run: _Run) -> None:
        kind.after_commit()
        self._emit(run.events)
        run.events = []

    def _emit(self, events: list[dict[str, Any]]) -> None:
        if events and self.on_events is not None:
            try:
                self.on_events(events)
            except Exception:  # an observer's failure must not fail a committed run
                log.exception("firing the events of a sync run failed")

    def _finished_events(
        self,
        repo: TenantRepo,
        session: PluginSession,
        kind: SyncKind | None,
        kind_name: str,
        scope: str,
        run_id: int,
        status: str,
        counts: dict[str, int],
        errors: list[str],
        started_at: datetime,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Log the events of a run's end in its last transaction: the kind's own (e.g. the
        do-not-source list changed), then ``sync.finished``."""
        events = []
        extra = getattr(kind, "finished_events", None)
        if extra is not None:
            if status == "succeeded":
                events.extend(extra(repo, session.connection_id, scope, counts, now))
            else:
                # A failing run records its end whatever the kind's own events do (the
                # kind may be what failed).
                try:
                    with repo.session.begin_nested():
                        events.extend(extra(repo, session.connection_id, scope, counts, now))
                except Exception:
                    log.exception("the %s kind's end-of-run events failed", kind_name)
        events.append(
            records.sync_finished(
                repo,
                ats=session.ats,
                connection_id=session.connection_id,
                run_id=run_id,
                kind=kind_name,
                scope=scope,
                status=status,
                counts=counts,
                errors=errors,
                started_at=started_at,
                now=now,
            )
        )
        return events

    @staticmethod
    def _request_next(
        ahead: PageSource,
        scope: str,
        page: FetchedPage,
        since: datetime | None,
        then: PageKey | None,
    ) -> None:
        if page.next_cursor is not None:
            ahead.request(scope, page.next_cursor, since)
        elif then is not None:
            ahead.request(*then)

    @staticmethod
    def _page(
        session: PluginSession, kind: SyncKind, scope: str, state: _Pass, ahead: PageSource | None
    ) -> FetchedPage:
        page = ahead.take(scope, state.cursor, state.since) if ahead is not None else None
        return page if page is not None else kind.fetch(session, scope, state.cursor, state.since)

    def pass_starts(
        self, session: PluginSession, kind: str, plans: Iterable[tuple[str, bool]]
    ) -> dict[str, PageKey]:
        """Where each (scope, full) of a task will most likely start: its first request.

        Read from the checkpoints in one query, the same way ``_begin`` decides; only a
        guess for ``PageAhead`` (another host may move a checkpoint meanwhile).
        """
        with self.store.tenant(
            session.tenant, known_id=self._tenant_ids.get(session.tenant)
        ) as repo:
            tid = self._tenant_ids[session.tenant] = repo.tenant_id
            rows = repo.session.connection().execute(
                _CHECKPOINTS_OF_KIND, {"tid": tid, "cid": session.connection_id, "kind": kind}
            )
            found = {row.scope: (row.cursor, row.high_water) for row in rows}
        now = self.clock()
        starts = {}
        for scope, full in plans:
            cursor, high_water = found.get(scope, (None, None))
            state, _ = self._pass_start(cursor, high_water, full, now)
            starts[scope] = (scope, state.cursor, state.since)
        return starts

    def _pass_start(
        self, envelope: str | None, high_water: datetime | None, full: bool, now: datetime
    ) -> tuple[_Pass, int]:
        """The pass a run continues (with its pages done) or starts, from its checkpoint."""
        state = _Pass.load(envelope) if envelope else None
        if state is not None and not full:
            return state, state.pages
        since = None
        if not full and high_water is not None:
            since = high_water - self.overlap
        return _Pass(cursor=None, since=since, started_at=now), 0

    # --- steps, each its own transaction ---------------------------------------------------
    #
    # Written as Core statements that filter on tenant_id themselves: the ORM's per-statement
    # tenant criteria and unit of work cost more than a page of candidates took to store.

    def _begin(
        self,
        session: PluginSession,
        kind: SyncKind,
        scope: str,
        full: bool,
        ahead: PageSource | None = None,
        then: PageKey | None = None,
    ) -> tuple[_Run, _Pass, RunReport | None]:
        """Claim the checkpoint and record the run. When ``ahead`` already holds the page
        the pass starts with (fetched while the last scope was stored), store it too, one
        transaction and commit fewer for a scope of one page; its report then, else None."""
        # Asked before the transaction: the source may still have to normalise the page.
        at_hand = ahead.at_hand(scope) if ahead is not None else None
        with self._transaction(session.tenant) as repo:
            conn = repo.session.connection()
            tid = self._tenant_ids[session.tenant] = repo.tenant_id
            found = conn.execute(_CONNECTION_EXISTS, {"tid": tid, "cid": session.connection_id})
            if found.first() is None:
                raise NotFound(f"connection {session.label} no longer exists")
            # Read once the lock is held: a run that ended while this one waited for it
            # must read as ended before this one started.
            now = self.clock()
            self._claim(conn, tid, session, kind.name, scope, now)
            checkpoint = self._checkpoint(conn, tid, session.connection_id, kind.name, scope, now)
            state, resumed = self._pass_start(checkpoint.cursor, checkpoint.high_water, full, now)
            run = _Run(
                id=0,
                checkpoint_id=checkpoint.id,
                checkpoint_high_water=checkpoint.high_water,
                started_at=now,
                resumed=resumed,
                counts=dict.fromkeys(COUNT_KEYS, 0),
                progress=self._progress(scope, state, 0, resumed, now),
            )
            inserted = conn.execute(
                _NEW_RUN,
                {
                    "tenant_id": tid,
                    "connection_id": session.connection_id,
                    "kind": kind.name,
                    "started_at": now,
                    "status": "running",
                    "pages": 0,
                    "counts": run.counts,
                    "errors": [],
                    "progress": run.progress,
                    "host": self.holder,
                },
            ).inserted_primary_key
            assert inserted is not None
            run.id = inserted[0]
            conn.execute(
                _TAKE_CHECKPOINT,
                {
                    "tid": tid,
                    "cpid": checkpoint.id,
                    "b_cursor": state.dump(),
                    "b_run": run.id,
                    "b_now": now,
                },
            )
            if ahead is None or at_hand != (scope, state.cursor, state.since):
                return run, state, None  # another page, or none yet: ``_page`` gets it
            page = ahead.take(*at_hand)
            if page is None:
                return run, state, None
            self._request_next(ahead, scope, page, state.since, then)  # fetched meanwhile
            page_now = self._page_time(state)
            try:
                written = self._write(repo, session, kind, scope, run, state, page, page_now)
            except Exception as exc:
                raise _FirstPageFailed(exc) from exc
        return run, state, self._written(session, kind, run, state, page, written, page_now)

    def _claim(
        self,
        conn: sa.Connection,
        tenant_id: int,
        session: PluginSession,
        kind: str,
        scope: str,
        now: datetime,
    ) -> None:
        """Refuse to run beside a live run of the same checkpoint; retire dead ones."""
        running = conn.execute(
            _RUNNING, {"tid": tenant_id, "cid": session.connection_id, "kind": kind}
        ).all()
        for other in running:
            if str(other.progress.get("scope", "")) != scope:
                continue
            if self._alive(other.host, other.progress, other.started_at, now):
                raise Conflict(
                    f"a {kind} sync of {session.label} is already running "
                    f"(run {other.id} on {other.host}, started {other.started_at:%Y-%m-%d %H:%M})"
                )
            errors = [*other.errors, "presumed dead: no heartbeat (killed or crashed)"]
            conn.execute(
                _RETIRE, {"tid": tenant_id, "rid": other.id, "b_now": now, "b_errors": errors}
            )

    def _alive(
        self, holder: str | None, progress: dict[str, Any], started_at: datetime, now: datetime
    ) -> bool:
        host, _, pid = (holder or "").rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)):
            # Same machine: the process table answers at once, no need to wait for staleness.
            return False
        beat = progress.get("heartbeat")
        last = datetime.fromisoformat(beat) if beat else started_at
        return now - last < self.stale_after

    def _checkpoint(
        self,
        conn: sa.Connection,
        tenant_id: int,
        connection_id: int,
        kind: str,
        scope: str,
        now: datetime,
    ) -> Any:
        """The checkpoint row (id, cursor, high_water), created when missing."""
        key = {"tid": tenant_id, "cid": connection_id, "kind": kind, "scope": scope}
        row = conn.execute(_CHECKPOINT_ROW, key).first()
        if row is None:
            inserted = conn.execute(
                _NEW_CHECKPOINT,
                {
                    "tenant_id": tenant_id,
                    "connection_id": connection_id,
                    "kind": kind,
                    "scope": scope,
                    "updated_at": now,
                },
            ).inserted_primary_key
            assert inserted is not None
            return _NewCheckpoint(id=inserted[0], cursor=None, high_water=None)
        return row

    def _page_time(self, state: _Pass) -> datetime:
        # Rows seen by this pass must read as seen after its start, even when a resumed pass
        # runs on a host whose clock lags the one that started it.
        return max(self.clock(), state.started_at + timedelta(microseconds=1))

    def _apply(
        self,
        session: PluginSession,
        kind: SyncKind,
        scope: str,
        run: _Run,
        state: _Pass,
        page: FetchedPage,
    ) -> RunReport:
        now = self._page_time(state)
        with self._transaction(session.tenant) as repo:
            written = self._write(repo, session, kind, scope, run, state, page, now)
        return self._written(session, kind, run, state, page, written, now)

    def _write(
        self,
        repo: TenantRepo,
        session: PluginSession,
        kind: SyncKind,
        scope: str,
        run: _Run,
        state: _Pass,
        page: FetchedPage,
        now: datetime,
    ) -> _Written:
        """Store ``page`` with the checkpoint and run record it leads to (not yet committed)."""
        outcome = kind.apply(repo, session.connection_id, scope, page, now)
        high_water = _later(state.high_water, outcome.high_water)
        done = page.next_cursor is None
        if done:
            info = PassInfo(
                full=state.since is None, started_at=state.started_at, since=state.since
            )
            final = kind.finish(repo, session.connection_id, scope, info, now)
            outcome.removed += final.removed
            outcome.updated += final.updated
            outcome.errors.extend(final.errors)
            mark = high_water
            if mark is None and getattr(kind, "clock_high_water", False):
                # The ATS reported no update times (Workday requisitions carry none):
                # the pass saw the ATS as of its start, so that is where the next one
                # begins, less the overlap that also absorbs clock skew.
                mark = state.started_at
        following = attrs.evolve(
            state, cursor=page.next_cursor, high_water=high_water, pages=state.pages + 1
        )
        owner = {"tid": repo.tenant_id, "rid": run.id, "b_now": now}
        conn = repo.session.connection()
        # Both writes name this run as the owner: a run taken over meanwhile (presumed
        # dead by another host) matches no row and stops here, its page rolled back,
        # rather than write a cursor that no longer belongs to it.
        if done:
            mark = _later(run.checkpoint_high_water, mark)
            checkpoint = conn.execute(
                _PASS_DONE, {**owner, "cpid": run.checkpoint_id, "b_high_water": mark}
            )
        else:
            checkpoint = conn.execute(
                _NEXT_PAGE, {**owner, "cpid": run.checkpoint_id, "b_cursor": following.dump()}
            )
        counts = dict(run.counts)
        for k, v in outcome.counts().items():
            counts[k] = counts.get(k, 0) + v
        errors = [*run.errors, *outcome.errors][-100:] if outcome.errors else run.errors
        progress = self._progress(scope, following, run.pages + 1, run.resumed, now)
        if done:
            progress["phase"] = "done"
        if isinstance(page.total, int) and page.total >= 0:
            progress["total"] = page.total  # the CLI shows "n of total" and time left
        written = conn.execute(
            _RUN_DONE if done else _RUN_PAGE,
            {
                **owner,
                "b_pages": run.pages + 1,
                "b_counts": counts,
                "b_errors": errors,
                "b_progress": progress,
            },
        )
        if checkpoint.rowcount != 1 or written.rowcount != 1:
            raise Conflict(f"{kind.name} sync run {run.id} of {session.label} was taken over")
        events = []
        if done:
            events = self._finished_events(
                repo,
                session,
                kind,
                kind.name,
                scope,
                run.id,
                "succeeded",
                counts,
                errors,
                run.started_at,
                now,
            )
        return _Written(high_water, following.pages, counts, errors, progress, events)

    @staticmethod
    def _written(
        session: PluginSession,
        kind: SyncKind,
        run: _Run,
        state: _Pass,
        page: FetchedPage,
        written: _Written,
        now: datetime,
    ) -> RunReport:
        """The run and its pass once ``page`` has committed; its report."""
        state.high_water, state.cursor, state.pages = (
            written.high_water,
            page.next_cursor,
            written.pass_pages,
        )
        run.pages, run.counts, run.errors = run.pages + 1, written.counts, written.errors
        run.progress = written.progress
        run.events = list(written.events)
        if page.next_cursor is None:
            run.status, run.ended_at = "succeeded", now
        return run.report(session, kind.name)

    def _fail(
        self, session: PluginSession, run_id: int, exc: BaseException, kind: SyncKind | None = None
    ) -> None:
        interrupted = not isinstance(exc, Exception)  # KeyboardInterrupt, SystemExit
        message = str(exc) if isinstance(exc, AtsbridgeError) else f"{type(exc).__name__}: {exc}"
        events: list[dict[str, Any]] = []
        try:
            # Immediate, like every other write here: a deferred read-then-write transaction
            # on SQLite fails with "database is locked" at once under concurrent writers
            # (it cannot wait for the lock it would upgrade to), leaving the run "running".
            with self._transaction(session.tenant) as repo:
                run = repo.get(SyncRun, run_id)
                if run is None or run.status != "running":
                    return
                run.status = "interrupted" if interrupted else "failed"
                run.ended_at = self.clock()
                run.errors = [*run.errors, message][-100:]
                run.progress = {**run.progress, "phase": run.status}
                scope = str(run.progress.get("scope", ""))
                events = self._finished_events(
                    repo,
                    session,
                    kind,
                    run.kind,
                    scope,
                    run_id,
                    run.status,
                    dict(run.counts),
                    list(run.errors),
                    run.started_at,
                    run.ended_at,
                )
                if isinstance(exc, AuthError):
                    events.append(
                        records.credentials_failing(
                            repo,
                            ats=session.ats,
                            connection_id=session.connection_id,
                            during="sync",
                            error=message,
                            now=run.ended_at,
                        )
                    )
        except Exception:
            # Recording must never hide the original error, which the caller re-raises; but
            # the run stays "running" until presumed dead, so say why.
            log.exception(
                "could not record the failure of sync run %s of %s (%s)",
                run_id,
                session.label,
                message,
            )
        self._emit(events)

    def _progress(
        self, scope: str, state: _Pass, pages: int, resumed: int, now: datetime
    ) -> dict[str, Any]:
        return {
            "scope": scope,
            "phase": "paging",
            "mode": "incremental" if state.since else "full",
            "since": state.since.isoformat() if state.since else None,
            "pass_pages": state.pages,
            "resumed_after_pages": resumed,
            "heartbeat": now.isoformat(),
        }

    # --- reading runs ---------------------------------------------------------------------

    def runs(
        self, tenant: str, ats: str, kind: str | None = None, limit: int = 20
    ) -> list[RunReport]:
        """Recent runs of one connection, newest first (running ones included)."""
        with self.store.tenant(tenant) as repo:
            connection = repo.require_connection(ats)
            statement = repo.select(SyncRun).where(SyncRun.connection_id == connection.id)
            if kind is not None:
                statement = statement.where(SyncRun.kind == kind)
            statement = statement.order_by(col(SyncRun.started_at).desc(), col(SyncRun.id).desc())
            return [RunReport.from_row(tenant, ats, r) for r in repo.all(statement.limit(limit))]


# --- the registry of kinds ----------------------------------------------------------------


class KindTask(Protocol):
    """Runs every scope of one kind for one open session (e.g. candidates: one per job)."""

    def __call__(
        self,
        app: Atsbridge,
        session: PluginSession,
        *,
        full: bool,
        on_progress: ProgressCallback | None,
    ) -> list[RunReport]: ...


@attrs.frozen
class KindSpec:
    """A registered sync kind: ``atsbridge sync TENANT ATS --<flag>`` runs ``task``."""

    name: str
    flag: str
    help: str
    task: KindTask
    order: int = 100  # run order when several kinds run (jobs before what depends on them)


KINDS: dict[str, KindSpec] = {}

# Modules that register kinds on import. Add yours here so the CLI and the host find it.
KIND_MODULES: tuple[str, ...] = ("atsbridge.services.jobs", "atsbridge.services.cnts")


def register_kind(spec: KindSpec) -> KindSpec:
    KINDS[spec.name] = spec
    return spec


def load_kinds() -> list[KindSpec]:
    """Every registered kind, in run order (imports the modules that register them)."""
    for module in KIND_MODULES:
        importlib.import_module(module)
    return sorted(KINDS.values(), key=lambda s: (s.order, s.name))


class SyncService:
    """``app.sync``: run kinds for a connection now, and read their runs."""

    def __init__(self, app: Atsbridge):
        self.app = app

    def runner(self) -> SyncRunner:
        from atsbridge.events import hooks

        registry = self.app.registry
        return SyncRunner(
            self.app.store,
            clock=self.app.clock,
            on_events=lambda events: hooks.fire(registry, events),
        )

    def run(
        self,
        tenant: str,
        ats: str,
        kinds: Iterable[str] | None = None,
        *,
        full: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> list[RunReport]:
        specs = load_kinds()
        wanted = list(kinds) if kinds is not None else [s.name for s in specs]
        unknown = [k for k in wanted if k not in KINDS]
        if unknown:
            known = ", ".join(s.name for s in specs)
            raise NotFound(f"unknown sync kind {unknown[0]!r} (known: {known})")
        reports: list[RunReport] = []
        with self.app.open_session(tenant, ats) as session:
            for spec in specs:
                if spec.name in wanted:
                    reports.extend(spec.task(self.app, session, full=full, on_progress=on_progress))
        return reports

    def runs(
        self, tenant: str, ats: str, kind: str | None = None, limit: int = 20
    ) -> list[RunReport]:
        return self.runner().runs(tenant, ats, kind, limit)
