"""A generic checkpointed, resumable, paged sync runner, and the registry of sync kinds.

A *kind* (jobs, candidates, statuses...) knows how to fetch one page from the ATS and how to
apply it to the store. The runner owns everything else, the same way for every kind:

* one ``SyncRun`` row per run, created before the first request and updated after every
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
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import attrs
from sqlmodel import col

from atsbridge.errors import AtsbridgeError, Conflict, NotFound
from atsbridge.sessions import PluginSession
from atsbridge.store import Connection, Store, SyncCheckpoint, SyncRun, TenantRepo

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


@attrs.define
class PageOutcome:
    """What applying one page did. ``high_water`` is the largest ``updated_at`` in it."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    high_water: datetime | None = None
    errors: list[str] = attrs.Factory(list)

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in COUNT_KEYS}


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
    ):
        self.store = store
        self.clock = clock
        self.overlap = overlap
        self.stale_after = stale_after
        self.holder = holder or _holder()

    def run(
        self,
        session: PluginSession,
        kind: SyncKind,
        scope: str = "",
        *,
        full: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> RunReport:
        """Run (or resume) a pass to its end. Records the failure and re-raises on error."""
        run_id, state, resumed = self._begin(session, kind, scope, full)
        try:
            # Inside the try: a callback that raises at the first report (a host stopping)
            # must still record the run as failed or interrupted, never leave it "running".
            if on_progress:
                on_progress(self._report(session, run_id))
            while True:
                page = kind.fetch(session, scope, state.cursor, state.since)
                report = self._apply(session, kind, scope, run_id, state, page, resumed)
                kind.after_commit()
                if on_progress:
                    on_progress(report)
                if report.status != "running":
                    return report
        except BaseException as exc:
            self._fail(session, run_id, exc)
            raise

    # --- steps, each its own transaction ---------------------------------------------------

    def _begin(
        self, session: PluginSession, kind: SyncKind, scope: str, full: bool
    ) -> tuple[int, _Pass, int]:
        now = self.clock()
        with self.store.tenant(session.tenant, immediate=True) as repo:
            connection = repo.get(Connection, session.connection_id)
            if connection is None:
                raise NotFound(f"connection {session.label} no longer exists")
            self._claim(repo, session, kind.name, scope, now)
            checkpoint = self._checkpoint(repo, session.connection_id, kind.name, scope, now)
            state = _Pass.load(checkpoint.cursor) if checkpoint.cursor else None
            resumed = 0
            if state is not None and not full:
                resumed = state.pages
            else:
                since = None
                if not full and checkpoint.high_water is not None:
                    since = checkpoint.high_water - self.overlap
                state = _Pass(cursor=None, since=since, started_at=now)
            run = repo.add(
                SyncRun(
                    connection_id=session.connection_id,
                    kind=kind.name,
                    started_at=now,
                    status="running",
                    counts=dict.fromkeys(COUNT_KEYS, 0),
                    progress=self._progress(scope, state, 0, resumed, now),
                    host=self.holder,
                )
            )
            repo.flush()
            assert run.id is not None
            checkpoint.cursor = state.dump()
            checkpoint.run_id = run.id
            checkpoint.updated_at = now
            return run.id, state, resumed

    def _claim(
        self, repo: TenantRepo, session: PluginSession, kind: str, scope: str, now: datetime
    ) -> None:
        """Refuse to run beside a live run of the same checkpoint; retire dead ones."""
        running = repo.all(
            repo.select(SyncRun).where(
                SyncRun.connection_id == session.connection_id,
                SyncRun.kind == kind,
                SyncRun.status == "running",
            )
        )
        for other in running:
            if str(other.progress.get("scope", "")) != scope:
                continue
            if self._alive(other, now):
                raise Conflict(
                    f"a {kind} sync of {session.label} is already running "
                    f"(run {other.id} on {other.host}, started {other.started_at:%Y-%m-%d %H:%M})"
                )
            other.status = "interrupted"
            other.ended_at = now
            other.errors = [*other.errors, "presumed dead: no heartbeat (killed or crashed)"]

    def _alive(self, run: SyncRun, now: datetime) -> bool:
        host, _, pid = (run.host or "").rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)):
            # Same machine: the process table answers at once, no need to wait for staleness.
            return False
        beat = run.progress.get("heartbeat")
        last = datetime.fromisoformat(beat) if beat else run.started_at
        return now - last < self.stale_after

    def _checkpoint(
        self, repo: TenantRepo, connection_id: int, kind: str, scope: str, now: datetime
    ) -> SyncCheckpoint:
        checkpoint = repo.first(
            repo.select(SyncCheckpoint).where(
                SyncCheckpoint.connection_id == connection_id,
                SyncCheckpoint.kind == kind,
                SyncCheckpoint.scope == scope,
            )
        )
        if checkpoint is None:
            checkpoint = repo.add(
                SyncCheckpoint(connection_id=connection_id, kind=kind, scope=scope, updated_at=now)
            )
            repo.flush()
        return checkpoint

    def _apply(
        self,
        session: PluginSession,
        kind: SyncKind,
        scope: str,
        run_id: int,
        state: _Pass,
        page: FetchedPage,
        resumed: int,
    ) -> RunReport:
        # Rows seen by this pass must read as seen after its start, even when a resumed pass
        # runs on a host whose clock lags the one that started it.
        now = max(self.clock(), state.started_at + timedelta(microseconds=1))
        with self.store.tenant(session.tenant, immediate=True) as repo:
            run = repo.get(SyncRun, run_id)
            checkpoint = self._checkpoint(repo, session.connection_id, kind.name, scope, now)
            assert run is not None
            if run.status != "running" or checkpoint.run_id != run_id:
                # Another run took this checkpoint over (we were presumed dead): stop here
                # rather than write a cursor that no longer belongs to us.
                raise Conflict(f"{kind.name} sync run {run_id} of {session.label} was taken over")
            outcome = kind.apply(repo, session.connection_id, scope, page, now)
            state.high_water = _later(state.high_water, outcome.high_water)
            state.cursor = page.next_cursor
            state.pages += 1
            done = page.next_cursor is None
            if done:
                info = PassInfo(
                    full=state.since is None, started_at=state.started_at, since=state.since
                )
                final = kind.finish(repo, session.connection_id, scope, info, now)
                outcome.removed += final.removed
                outcome.updated += final.updated
                outcome.errors.extend(final.errors)
                high_water = state.high_water
                if high_water is None and getattr(kind, "clock_high_water", False):
                    # The ATS reported no update times (Workday requisitions carry none):
                    # the pass saw the ATS as of its start, so that is where the next one
                    # begins, less the overlap that also absorbs clock skew.
                    high_water = state.started_at
                checkpoint.high_water = _later(checkpoint.high_water, high_water)
                checkpoint.cursor = None
            else:
                checkpoint.cursor = state.dump()
            checkpoint.updated_at = now
            run.pages += 1
            run.counts = {k: run.counts.get(k, 0) + v for k, v in outcome.counts().items()}
            if outcome.errors:
                run.errors = [*run.errors, *outcome.errors][-100:]
            run.progress = self._progress(scope, state, run.pages, resumed, now)
            if done:
                run.status = "succeeded"
                run.ended_at = now
                run.progress = {**run.progress, "phase": "done"}
            return RunReport.from_row(session.tenant, session.ats, run)

    def _fail(self, session: PluginSession, run_id: int, exc: BaseException) -> None:
        interrupted = not isinstance(exc, Exception)  # KeyboardInterrupt, SystemExit
        message = str(exc) if isinstance(exc, AtsbridgeError) else f"{type(exc).__name__}: {exc}"
        try:
            # Immediate, like every other write here: a deferred read-then-write transaction
            # on SQLite fails with "database is locked" at once under concurrent writers
            # (it cannot wait for the lock it would upgrade to), leaving the run "running".
            with self.store.tenant(session.tenant, immediate=True) as repo:
                run = repo.get(SyncRun, run_id)
                if run is None or run.status != "running":
                    return
                run.status = "interrupted" if interrupted else "failed"
                run.ended_at = self.clock()
                run.errors = [*run.errors, message][-100:]
                run.progress = {**run.progress, "phase": run.status}
        except Exception:
            # Recording must never hide the original error, which the caller re-raises; but
            # the run stays "running" until presumed dead, so say why.
            log.exception(
                "could not record the failure of sync run %s of %s (%s)",
                run_id,
                session.label,
                message,
            )

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

    def _report(self, session: PluginSession, run_id: int) -> RunReport:
        with self.store.tenant(session.tenant) as repo:
            run = repo.get(SyncRun, run_id)
            assert run is not None
            return RunReport.from_row(session.tenant, session.ats, run)

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
        return SyncRunner(self.app.store, clock=self.app.clock)

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
