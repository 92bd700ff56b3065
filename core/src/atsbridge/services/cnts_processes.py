"""Worker processes for big do-not-source syncs: this process talks to the ATS, they store.

A pipeline sync spends most of its CPU on storing people (normalising identifiers, writing
rows, checkpoints and run records), and one Python process runs that on one core however
many threads it has. For a task with many full passes (an initial sync, the daily
reconciliation of a big connection) ``sync_candidates`` hands the storing to worker
processes:

* **This process** keeps the plugin session, so the ATS sees one client: one pacer, one
  token (a rotating refresh token is never used twice), the plugin's own one-at-a-time
  rules. It walks the task's jobs in order, gives each to the worker with the fewest jobs
  outstanding, and sends it the job's pages as the plugin returns them, from where the
  job's checkpoint says its pass starts (``SyncRunner.pass_starts``). Each worker buffers
  a bounded number of pages: one that falls behind slows the walk, never fills memory.
* **Each worker** runs the ordinary ``SyncRunner`` with the ordinary ``CandidatesKind`` on
  its own database connection: the page normalised, then one transaction per page with its
  checkpoint, run records, full-pass removals (the pages of a job already at hand count as
  one page: a transaction and its bookkeeping cost as much as a page of people). Should
  its checkpoint say a pass starts elsewhere than this process guessed, it asks for the
  pages it needs itself. Status changes of exported leads, progress and run reports come
  back here, and are fired and reported from this process as they would be without workers.

A worker killed mid-job leaves what the runner leaves after any crash: committed pages
with their checkpoint, and a run presumed dead once its process is gone. Workers need the
database itself (a file or PostgreSQL, not an in-memory SQLite) and read the system clock;
otherwise, and for small tasks, the sync stays in this process.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing as mp
import queue
import sys
import threading
import time
import traceback
import types
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn, cast

import attrs

from atsbridge.errors import AtsbridgeError, AtsError, AtsUnavailable, AuthError
from atsbridge.plugins import AtsPlugin
from atsbridge.services.leads import StatusChanges
from atsbridge.services.sync import FetchedPage, PageKey, ProgressCallback, RunReport, SyncRunner
from atsbridge.sessions import PluginSession
from atsbridge.store import Store
from atsbridge.store.repository import utcnow

if TYPE_CHECKING:
    from atsbridge.api import Atsbridge
    from atsbridge.services.cnts import CandidatesKind

log = logging.getLogger(__name__)

# How long stopping workers may take to record where they stopped before they are killed.
_GRACE = 10.0
# How often a wait for workers checks that they are still alive.
_PATIENCE = 1.0
# The most people a worker stores in one transaction when several pages of a job are at
# hand (``_Inbox._with_pages_at_hand``).
BATCH_ITEMS = 1000

Plan = tuple[str, bool]  # ATS job id (the scope), full pass?


@attrs.frozen
class WorkerSetup:
    """Everything a worker needs, sent to it when it starts (it holds no secrets)."""

    db_url: str
    tenant: str
    ats: str
    connection_id: int
    settings: dict[str, Any]
    default_country: str | None
    page_size: int
    report_progress: bool


def usable(app: Atsbridge) -> str | None:
    """Why worker processes cannot serve this app, or None when they can."""
    if app.store.dialect == "sqlite" and app.store.sqlite_file is None:
        return "an in-memory SQLite database is not shared with other processes"
    if app.clock is not utcnow:
        return "the app runs on its own clock, which other processes cannot read"
    return None


def sync_in_processes(
    app: Atsbridge,
    session: PluginSession,
    kind: CandidatesKind,
    plans: Sequence[Plan],
    starts: dict[str, PageKey],
    processes: int,
    on_progress: ProgressCallback | None = None,
) -> list[RunReport]:
    """Run ``plans`` on ``processes`` workers; reports in plan order (see the module doc).

    Raises what stopped the task (credentials refused, ATS down) once the workers have
    stored the jobs already fetched, as the in-process sync does.
    """
    context = mp.get_context("spawn")  # never fork a process that has threads
    setup = WorkerSetup(
        db_url=app.store.url.render_as_string(hide_password=False),
        tenant=session.tenant,
        ats=session.ats,
        connection_id=session.connection_id,
        settings=dict(session.settings),
        default_country=kind.default_country,
        page_size=kind.page_size,
        report_progress=on_progress is not None,
    )
    results: Any = context.Queue()
    # SQLite has one writer at a time: the workers take turns through this lock rather than
    # through SQLite's busy handler, which waits by sleeping (see Store.write_gate).
    gate = context.Lock() if app.store.dialect == "sqlite" else None
    stopping = context.Event()
    workers: list[_Worker] = []
    walk = _Walk(app, session, kind, workers, plans, starts, on_progress)
    feeders: list[threading.Thread] = []
    answerers: list[threading.Thread] = []
    try:
        for number in range(processes):
            pages, pages_there = context.Pipe()
            asks, asks_there = context.Pipe()
            process = context.Process(
                target=_work,
                args=(setup, number, pages_there, asks_there, results, gate, stopping),
                name=f"atsbridge-cnts-{number}",
                daemon=True,
            )
            with _caller_script_hidden():
                process.start()
            pages_there.close()
            asks_there.close()
            workers.append(_Worker(number, process, pages, asks))
        answerers += [threading.Thread(target=walk.answer, args=(w,), daemon=True) for w in workers]
        feeders += [threading.Thread(target=walk.feed, args=(w,), daemon=True) for w in workers]
        for thread in [*answerers, *feeders]:
            thread.start()
        walk.collect(results)
    finally:
        # Normally every worker has exited by now. If not (an on_progress callback stopped
        # the task: the host shutting down, a lease lost, a timeout), each worker stops
        # before its next page and records its run as interrupted at the last checkpoint,
        # as a run in this process would be.
        walk.stop = True
        stopping.set()
        walk.drain(results, deadline=time.monotonic() + _GRACE)
        for worker in workers:
            if worker.process.is_alive():
                worker.process.terminate()
            worker.process.join(timeout=_PATIENCE)
        # A feeder may still be in a plugin call (a slow ATS): the caller closes the session
        # once this returns, so wait for it, as PageAhead.close does. Its worker is gone, so
        # it sends nothing more; the pipes close after it, never under it.
        for thread in feeders:
            thread.join()
        for worker in workers:
            worker.pages.close()
            worker.asks.close()
        for thread in answerers:
            thread.join(timeout=_PATIENCE)
    if walk.fatal:
        raise walk.fatal[0]
    if walk.crashed:
        raise AtsbridgeError(walk.crashed[0])
    return [walk.reports[i] for i in sorted(walk.reports)]


_MAIN_SWAP = threading.Lock()


@contextmanager
def _caller_script_hidden() -> Iterator[None]:
    """Start a worker without the caller's script: spawn would run it again in the worker
    (a script without an ``if __name__ == "__main__":`` guard would start its sync again,
    and so on). Workers need nothing but atsbridge's own modules."""
    with _MAIN_SWAP:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


@attrs.define
class _Worker:
    number: int
    process: Any
    pages: Any  # Connection: jobs and their pages, to the worker
    asks: Any  # Connection: pages the worker asks for itself, and the answers
    exited: bool = False


class _Walk:
    """This process's side: feeding the workers their jobs, and what comes back."""

    def __init__(
        self,
        app: Atsbridge,
        session: PluginSession,
        kind: CandidatesKind,
        workers: list[_Worker],
        plans: Sequence[Plan],
        starts: dict[str, PageKey],
        on_progress: ProgressCallback | None,
    ):
        self.app = app
        self.session = session
        self.kind = kind
        self.workers = workers
        self.plans = iter(list(enumerate(plans)))
        self.starts = starts
        self.on_progress = on_progress
        self.lock = threading.Lock()
        self.reports: dict[int, RunReport] = {}
        self.fatal: list[BaseException] = []
        self.crashed: list[str] = []
        self.stop = False

    def feed(self, worker: _Worker) -> None:
        """Give ``worker`` the task's next job and its pages, until no job is left.

        One feeder per worker, each waiting on its own worker only: the pipe holds a page
        or two, so the feeder fetches the next page while its worker stores the last one.
        """
        while not (self.stop or self.fatal or self.crashed or worker.exited):
            with self.lock:
                numbered = next(self.plans, None)
            if numbered is None:
                break
            index, (scope, full) = numbered
            self._send(worker, ("job", index, scope, full))
            self._pages(worker, scope)
        self._send(worker, ("end",))

    def _pages(self, worker: _Worker, scope: str) -> None:
        _, cursor, since = self.starts[scope]
        while not worker.exited:
            if self.stop:
                return  # ``feed`` sends "end" next: the worker stops at this page
            item = self._fetch((scope, cursor, since))
            self._send(worker, item)
            if item[0] == "error" or item[2].next_cursor is None:
                return
            cursor = item[2].next_cursor

    def _fetch(self, key: PageKey) -> tuple[Any, ...]:
        """One page as a worker gets it: ("page", key, page) or ("error", key, stops the
        task?, message); an error that stops the task halts the walk."""
        try:
            return ("page", key, self.kind.list_page(self.session, *key))
        except (AuthError, AtsUnavailable) as exc:
            self.halt(exc)
            return ("error", key, True, str(exc))
        except AtsbridgeError as exc:
            return ("error", key, False, str(exc))

    def halt(self, exc: BaseException) -> None:
        """Stop the walk for ``exc`` (credentials refused, ATS down): no feeder starts
        another job, and ``sync_in_processes`` raises it once the workers are done."""
        self.fatal.append(exc)

    @staticmethod
    def _send(worker: _Worker, item: tuple[Any, ...]) -> None:
        try:
            worker.pages.send(item)
        except OSError:  # the worker is gone; ``collect`` reports it
            worker.exited = True

    def answer(self, worker: _Worker) -> None:
        """Fetch the pages ``worker`` asks for itself (its pass started elsewhere)."""
        while True:
            try:
                key = worker.asks.recv()
            except (EOFError, OSError):
                return
            answer = self._fetch(key)
            try:
                worker.asks.send(answer)
            except OSError:
                return

    def drain(self, results: Any, deadline: float) -> None:
        """Read what stopping workers still send (so none blocks on a full pipe) until
        they have all exited or ``deadline`` (monotonic) has passed."""
        while any(w.process.is_alive() for w in self.workers) and time.monotonic() < deadline:
            try:
                results.get(timeout=0.1)
            except queue.Empty:
                pass

    def collect(self, results: Any) -> None:
        """Handle what the workers send back until every one of them has exited."""
        running = {worker.number: worker for worker in self.workers}
        while running:
            try:
                message = results.get(timeout=_PATIENCE)
            except queue.Empty:
                for number, worker in list(running.items()):
                    if not worker.process.is_alive():
                        worker.exited = True
                        del running[number]
                        self.crashed.append(
                            f"candidate sync worker {number} died "
                            f"(exit code {worker.process.exitcode})"
                        )
                continue
            what = message[0]
            if what == "done":
                if message[2] is not None:
                    self.reports[message[1]] = message[2]
            elif what == "events":
                StatusChanges(events=message[1]).fire(self.app.registry)
            elif what == "progress" and self.on_progress is not None:
                self.on_progress(message[1])
            elif what == "crashed":
                self.crashed.append(message[1])
            elif what == "exit":
                running.pop(message[1], None)


# --- the worker process ----------------------------------------------------------------------


class _Inbox:
    """A worker's jobs and pages, off its pipe, as the runner's ``PageSource``."""

    def __init__(
        self, pages: Any, asks: Any, prepare: Callable[[Sequence[Any]], Any], stopping: Any
    ):
        self.pages = pages
        self.asks = asks
        self.stopping = stopping
        self.prepare = prepare
        # Items read off the pipe and not yet used, in order (a page looked at, and an item
        # read past the pages it was stored together with).
        self.held: deque[tuple[Any, ...]] = deque()

    def _next(self) -> tuple[Any, ...]:
        if self.held:
            return self.held.popleft()
        # A feeder can be stuck in a slow ATS call when the task stops: the worker does not
        # wait for it, it records its run as interrupted within the grace period.
        while not self.pages.poll(_PATIENCE / 10):
            if self.stopping.is_set():
                return ("end",)
        try:
            return cast(tuple[Any, ...], self.pages.recv())
        except (EOFError, OSError):  # the feeding process is gone
            return ("end",)

    def next_job(self) -> tuple[int, str, bool] | None:
        """The next job, skipping pages left over from a job whose run stopped early."""
        while True:
            item = self._next()
            if item[0] == "job":
                return item[1], item[2], item[3]
            if item[0] == "end":
                return None

    def request(self, scope: str, cursor: str | None, since: datetime | None) -> None:
        pass  # every page of the job comes anyway

    def at_hand(self, scope: str) -> PageKey | None:
        if not self.held:
            if self.stopping.is_set() or not self.pages.poll():
                return None
            self.held.append(self._next())
        item = self.held[0]
        if item[0] != "page" or item[1][0] != scope:
            return None
        if item[2].prepared is None:
            # Normalised now, before the runner opens the transaction it stores it in.
            self.held.popleft()
            page = self._prepared(self._with_pages_at_hand(scope, item[1][2], item[2]))
            self.held.appendleft(("page", item[1], page))
        return cast(PageKey, item[1])

    def take(self, scope: str, cursor: str | None, since: datetime | None) -> FetchedPage | None:
        item = self._next()
        if item[0] == "end" or self.stopping.is_set():  # the task stopped mid-job
            raise _Stopped()
        if item[0] in ("page", "error") and item[1] == (scope, cursor, since):
            if item[0] == "error":
                _raise(item)
            page: FetchedPage = item[2]
            if page.prepared is not None:  # by ``at_hand``
                return page
            return self._prepared(self._with_pages_at_hand(scope, since, page))
        # Not the page this run needs (its pass starts elsewhere): ``next_job`` skips it
        # later, and the runner fetches through ``fetch``.
        self.held.appendleft(item)
        return None

    def _with_pages_at_hand(
        self, scope: str, since: datetime | None, page: FetchedPage
    ) -> FetchedPage:
        """``page`` and the job's following pages already in the pipe, as one page.

        The runner stores a page per transaction, with its checkpoint and run record: for
        the common pipeline of a page or two, those writes and the commit cost as much
        again as the people. Pages at hand are stored together instead (never waited for,
        up to BATCH_ITEMS people); the checkpoint then names the page after the last one,
        so a crash still resumes at the first page not stored.
        """
        items = list(page.items)
        while (
            page.next_cursor is not None
            and len(items) < BATCH_ITEMS
            and not self.held
            and self.pages.poll()
        ):
            item = self._next()
            if item[0] != "page" or item[1] != (scope, page.next_cursor, since):
                self.held.append(item)  # an error, or another job: taken as it comes
                break
            page = item[2]
            items.extend(page.items)
        return FetchedPage(items=items, next_cursor=page.next_cursor)

    def fetch(
        self, session: PluginSession, scope: str, cursor: str | None, since: datetime | None
    ) -> FetchedPage:
        self.asks.send((scope, cursor, since))
        answer = self.asks.recv()
        if answer[0] == "error":
            _raise(answer)
        return self._prepared(answer[2])

    def _prepared(self, page: FetchedPage) -> FetchedPage:
        # Normalised here, before the runner takes the write lock for the page: workers
        # share one database, and only the writing itself has to take turns.
        return attrs.evolve(page, prepared=self.prepare(page.items))


def _raise(error: tuple[Any, ...]) -> NoReturn:
    """Raise a fetch error (``_Walk._fetch``) in the worker, as the plugin raised it there."""
    raise (AtsUnavailable if error[2] else AtsError)(error[3])


class _Stopped(BaseException):
    """Raised into a run whose task stopped: the runner records it as interrupted."""


def _work(
    setup: WorkerSetup,
    number: int,
    pages: Any,
    asks: Any,
    results: Any,
    gate: Any,
    stopping: Any,
) -> None:
    """A worker's life: store job after job until told to end."""
    from atsbridge.services.cnts import CandidatesKind, last_run, run_job

    store = Store(setup.db_url, migrate_now=False)
    store.write_gate = gate
    # Everything imported so far lives as long as the worker: keep the collector off it
    # (the pages' objects are short-lived; full collections walked the whole import heap).
    gc.freeze()
    try:
        kind = CandidatesKind(
            default_country=setup.default_country,
            page_size=setup.page_size,
            fire=lambda changes: results.put(("events", changes.events)),
        )
        inbox = _Inbox(pages, asks, kind.prepare, stopping)
        kind.fetch = inbox.fetch  # type: ignore[method-assign]
        # No plugin here: every page comes from the process that holds the session.
        session = PluginSession(
            setup.tenant,
            setup.ats,
            setup.connection_id,
            setup.settings,
            cast(AtsPlugin, None),
            None,
        )
        # What a run logs goes to the parent, which fires the plugins' hooks.
        runner = SyncRunner(
            store, clock=utcnow, on_events=lambda events: results.put(("events", events))
        )
        progress: Callable[[RunReport], None] | None = None
        if setup.report_progress:

            def progress(report: RunReport) -> None:
                results.put(("progress", report))

        while (job := inbox.next_job()) is not None:
            index, scope, full = job
            try:
                report = run_job(
                    runner, session, kind, scope, full=full, on_progress=progress, ahead=inbox
                )
            except _Stopped:
                break
            except (AuthError, AtsUnavailable):
                # The task is stopping (the feeder saw it first and raises it); this run is
                # recorded as failed, the jobs already queued here are still stored.
                report = last_run(store, session, scope)
            results.put(("done", index, report))
    except BaseException:
        results.put(("crashed", f"candidate sync worker {number} failed: {traceback.format_exc()}"))
        raise
    finally:
        store.close()
        results.put(("exit", number))
