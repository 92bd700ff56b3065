"""The pipeline sync's worker processes (services/cnts_processes): same lists, same reports.

These apps run on the system clock and a database file, as worker processes need; the fake
ATS stays in this process, where the session lives and every page is fetched.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from atsbridge.api import Atsbridge
from atsbridge.errors import AtsbridgeError, AtsError, AtsUnavailable, BadInput
from atsbridge.plugins import PluginRegistry
from atsbridge.services import cnts as cnts_module
from atsbridge.services import cnts_processes
from atsbridge.services.sync import FetchedPage, RunReport, SyncRunner
from atsbridge.store import SyncRun
from cntsfake import Clock, PipelineAts, connect, link
from sqlalchemy.engine import make_url


@pytest.fixture
def pipe() -> PipelineAts:
    return PipelineAts(Clock())


@pytest.fixture
def app(db_url: str, pipe: PipelineAts) -> Iterator[Atsbridge]:
    registry = PluginRegistry()
    registry.register(pipe, pipe.name)
    with Atsbridge(db=db_url, registry=registry) as a:
        yield a


def listed(app: Atsbridge, job: str) -> set[str]:
    entries = app.cnts.list_entries("acme", job, source="ats", limit=10_000).entries
    return {e.ats_candidate_id or "" for e in entries}


def seed(app: Atsbridge, pipe: PipelineAts, jobs: int, **settings: object) -> None:
    connect(app, "acme", **settings)
    for j in range(jobs):
        link(app, "acme", f"P{j}", f"J{j}")
        for i in range(j % 4 * 3 + 1):
            pipe.put(f"J{j}", f"c{j}-{i}", emails=(f"c{j}.{i}@example.org",))


def hosts(app: Atsbridge) -> set[str]:
    with app.store.tenant("acme") as repo:
        return {run.host or "" for run in repo.all(repo.select(SyncRun))}


def test_workers_store_every_pipeline_and_report_in_job_order(
    app: Atsbridge, pipe: PipelineAts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cnts_module, "PAGE_SIZE", 4)  # jobs of one to three pages
    seed(app, pipe, 9, cnts_sync_processes=2)
    progress: list[RunReport] = []
    frozen: list[int] = []

    def report(run: RunReport) -> None:
        progress.append(run)
        frozen.append(gc.get_freeze_count())

    with app.open_session("acme", "pipeats") as session:
        reports = cnts_module.sync_candidates(app, session, on_progress=report)
    assert [(r.scope, r.status) for r in reports] == [(f"J{j}", "succeeded") for j in range(9)]
    for j in range(9):
        assert listed(app, f"P{j}") == set(pipe.pipelines[f"J{j}"])
    # Stored by the workers (however the jobs fell between them), not by this process;
    # their progress came back here.
    assert hosts(app) and all(not h.endswith(f":{os.getpid()}") for h in hosts(app))
    assert {r.scope for r in progress} == {f"J{j}" for j in range(9)}
    # What was alive at the start stayed out of collections while the walk ran, not after.
    assert min(frozen) > 0 and gc.get_freeze_count() == 0
    assert app.cnts.check("acme", "P8", cnts_module.Person(emails=["C8.0@example.org"])).excluded


def test_a_failing_job_is_reported_and_the_others_stored(app: Atsbridge, pipe: PipelineAts) -> None:
    seed(app, pipe, 6, cnts_sync_processes=2)
    pipe.fail_jobs["J3"] = AtsError("job J3 not found", status_code=404)
    with app.open_session("acme", "pipeats") as session:
        reports = cnts_module.sync_candidates(app, session)
    assert [(r.scope, r.status) for r in reports] == [
        (f"J{j}", "failed" if j == 3 else "succeeded") for j in range(6)
    ]
    assert "job J3 not found" in reports[3].errors[-1]
    assert listed(app, "P3") == set()
    assert listed(app, "P5") == set(pipe.pipelines["J5"])


def test_an_unreachable_ats_stops_the_walk_and_is_raised(
    app: Atsbridge, pipe: PipelineAts, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(app, pipe, 12, cnts_sync_processes=2)
    pipe.fail_jobs["J1"] = AtsUnavailable("ATS down")
    # Jobs after J1 are answered only once the walk has been halted: without the halt this
    # test hangs until the wait times out and then sees all twelve jobs listed.
    halted = threading.Event()
    real_halt = cnts_processes._Walk.halt

    def halt(walk: cnts_processes._Walk, exc: BaseException) -> None:
        real_halt(walk, exc)
        halted.set()

    monkeypatch.setattr(cnts_processes._Walk, "halt", halt)
    pipe.before_listing = lambda q: q.job_ats_id in ("J0", "J1") or halted.wait(timeout=30)
    with (
        app.open_session("acme", "pipeats") as session,
        pytest.raises(AtsUnavailable, match="ATS down"),
    ):
        cnts_module.sync_candidates(app, session)
    # J0 and J1, and at most one job per feeder that was already waiting for its page.
    assert len({q.job_ats_id for q in pipe.queries}) <= 4


def test_a_worker_whose_pass_starts_elsewhere_asks_for_its_pages(
    app: Atsbridge, pipe: PipelineAts, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(app, pipe, 4, cnts_sync_processes=2)
    real = SyncRunner.pass_starts

    def wrong_guess(self, session, kind, plans):  # type: ignore[no-untyped-def]
        starts = real(self, session, kind, plans)
        return {scope: (scope, "2", None) for scope in starts}  # every guess off

    monkeypatch.setattr(SyncRunner, "pass_starts", wrong_guess)
    with app.open_session("acme", "pipeats") as session:
        reports = cnts_module.sync_candidates(app, session)
    assert [r.status for r in reports] == ["succeeded"] * 4
    for j in range(4):
        assert listed(app, f"P{j}") == set(pipe.pipelines[f"J{j}"])
    # Each job's guessed page was fetched and thrown away, then fetched from the start.
    assert [q.cursor for q in pipe.queries].count(None) == 4


def test_a_worker_that_dies_fails_the_task(
    app: Atsbridge, pipe: PipelineAts, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seed(app, pipe, 3, cnts_sync_processes=2)
    # The workers are sent to an empty database: their first write fails, unexpectedly.
    monkeypatch.setattr(app.store, "url", make_url(f"sqlite:///{tmp_path}/empty.db"))
    with (
        app.open_session("acme", "pipeats") as session,
        pytest.raises(AtsbridgeError, match=r"candidate sync worker \d failed"),
    ):
        cnts_module.sync_candidates(app, session)


def test_small_tasks_fake_clocks_and_memory_databases_stay_in_process(
    app: Atsbridge, pipe: PipelineAts, tmp_path: Path
) -> None:
    plans = [(f"J{j}", True) for j in range(cnts_module.PROCESSES_FROM)]
    cores = os.cpu_count() or 1
    assert cnts_module.worker_processes(app, {}, plans[:-1]) == 0
    assert cnts_module.worker_processes(app, {}, plans) == max(1, min(cores - 1, 4))
    assert cnts_module.worker_processes(app, {}, [(s, False) for s, _ in plans]) == 0
    assert cnts_module.worker_processes(app, {"cnts_sync_processes": 3}, plans[:2]) == 2
    assert cnts_module.worker_processes(app, {"cnts_sync_processes": 0}, plans) == 0
    for bad in (-1, "2", True, 1.5):
        with pytest.raises(BadInput, match="cnts_sync_processes must be a whole number"):
            cnts_module.worker_processes(app, {"cnts_sync_processes": bad}, plans)
    with Atsbridge(db="sqlite://", registry=PluginRegistry()) as memory:
        assert "in-memory" in (cnts_processes.usable(memory) or "")
        assert cnts_module.worker_processes(memory, {"cnts_sync_processes": 2}, plans) == 0
    with Atsbridge(db=f"sqlite:///{tmp_path}/c.db", registry=PluginRegistry(), clock=Clock()) as c:
        assert "clock" in (cnts_processes.usable(c) or "")


class Stop(BaseException):
    """What the host raises from on_progress to stop a task (HostStopping, LeaseLost...)."""


def test_a_task_stopped_from_on_progress_leaves_interrupted_runs_and_no_workers(
    app: Atsbridge, pipe: PipelineAts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cnts_module, "PAGE_SIZE", 2)
    seed(app, pipe, 12, cnts_sync_processes=2)
    for j in range(12):  # every job several pages long
        for i in range(8):
            pipe.put(f"J{j}", f"more{j}-{i}")
    # Every job's first page comes at once, the later ones only once the walk has stopped:
    # each worker is mid-job when the stop comes, however fast or slow this machine is.
    walks: list[cnts_processes._Walk] = []
    real_init = cnts_processes._Walk.__init__

    def init(walk: cnts_processes._Walk, *args: Any, **kwargs: Any) -> None:
        real_init(walk, *args, **kwargs)
        walks.append(walk)

    def after_the_stop(query: Any) -> None:
        deadline = time.monotonic() + 30
        while query.cursor is not None and not walks[0].stop and time.monotonic() < deadline:
            time.sleep(0.005)

    monkeypatch.setattr(cnts_processes._Walk, "__init__", init)
    pipe.before_listing = after_the_stop
    seen: list[RunReport] = []

    def stop_at_the_first_report(report: RunReport) -> None:
        seen.append(report)
        raise Stop()

    with app.open_session("acme", "pipeats") as session, pytest.raises(Stop):
        cnts_module.sync_candidates(app, session, on_progress=stop_at_the_first_report)
    assert multiprocessing.active_children() == []
    with app.store.tenant("acme") as repo:
        runs = repo.all(repo.select(SyncRun))
    assert runs and "running" not in {run.status for run in runs}
    assert "succeeded" not in {run.status for run in runs}
    assert "interrupted" in {run.status for run in runs}
    # The next sync resumes each interrupted pass at its checkpoint and completes them all.
    pipe.before_listing = None
    with app.open_session("acme", "pipeats") as session:
        reports = cnts_module.sync_candidates(app, session)
    assert {r.status for r in reports} == {"succeeded"}
    for j in range(12):
        assert listed(app, f"P{j}") == set(pipe.pipelines[f"J{j}"])


def test_a_stop_while_the_ats_is_slow_leaves_interrupted_runs_and_waits_for_the_call(
    app: Atsbridge, pipe: PipelineAts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cnts_module, "PAGE_SIZE", 2)
    monkeypatch.setattr(cnts_processes, "_GRACE", 2.0)
    seed(app, pipe, 4, cnts_sync_processes=2)
    for j in range(4):
        for i in range(8):
            pipe.put(f"J{j}", f"more{j}-{i}")
    # Each job's later pages take longer than the grace the workers get to stop in: a
    # worker waiting for one must stop on its own, not be killed with its run "running".
    calls: list[str] = []

    def slow(query: Any) -> None:
        if query.cursor is not None:
            calls.append("started")
            time.sleep(4.0)
            calls.append("returned")

    pipe.before_listing = slow

    def stop(report: RunReport) -> None:
        raise Stop()

    with app.open_session("acme", "pipeats") as session, pytest.raises(Stop):
        cnts_module.sync_candidates(app, session, on_progress=stop)
    # The feeders' calls had returned before the session could be closed.
    assert calls and calls.count("started") == calls.count("returned")
    assert multiprocessing.active_children() == []
    with app.store.tenant("acme") as repo:
        statuses = {run.status for run in repo.all(repo.select(SyncRun))}
    assert "running" not in statuses and "interrupted" in statuses


def _inbox(*items: tuple[object, ...]) -> cnts_processes._Inbox:
    ours, theirs = multiprocessing.Pipe()
    for item in items:
        theirs.send(item)
    return cnts_processes._Inbox(ours, None, lambda page: len(page), threading.Event())


def _page(items: list[str], next_cursor: str | None) -> FetchedPage:
    return FetchedPage(items=items, next_cursor=next_cursor)


def test_a_worker_stores_the_pages_of_a_job_at_hand_together() -> None:
    inbox = _inbox(
        ("job", 0, "J0", True),
        ("page", ("J0", None, None), _page(["a", "b"], "2")),
        ("page", ("J0", "2", None), _page(["c", "d"], "4")),
        ("page", ("J0", "4", None), _page(["e"], None)),
        ("job", 1, "J1", True),
    )
    assert inbox.next_job() == (0, "J0", True)
    page = inbox.take("J0", None, None)
    # One page for the runner, its cursor that of the last: the checkpoint resumes after it.
    assert page is not None and list(page.items) == ["a", "b", "c", "d", "e"]
    assert page.next_cursor is None and page.prepared == 5
    assert inbox.next_job() == (1, "J1", True)


def test_pages_are_stored_together_only_up_to_the_batch_and_never_across_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cnts_processes, "BATCH_ITEMS", 3)
    inbox = _inbox(
        ("page", ("J0", None, None), _page(["a", "b"], "2")),
        ("page", ("J0", "2", None), _page(["c", "d"], "4")),
        ("page", ("J0", "4", None), _page(["e"], "5")),
        ("error", ("J0", "5", None), False, "job J0 not found"),
    )
    first = inbox.take("J0", None, None)
    assert first is not None and list(first.items) == ["a", "b", "c", "d"]
    assert first.next_cursor == "4"
    second = inbox.take("J0", "4", None)
    assert second is not None and list(second.items) == ["e"] and second.next_cursor == "5"
    with pytest.raises(AtsError, match="job J0 not found"):
        inbox.take("J0", "5", None)


def test_a_workers_first_page_at_hand_is_normalised_before_the_run_takes_it() -> None:
    inbox = _inbox(
        ("page", ("J0", None, None), _page(["a", "b"], "2")),
        ("page", ("J0", "2", None), _page(["c"], None)),
        ("job", 1, "J1", True),
    )
    assert inbox.at_hand("J1") is None  # another job's page is not this run's
    assert inbox.at_hand("J0") == ("J0", None, None)
    prepared = inbox.held[0][2].prepared
    assert prepared == 3  # both pages at hand, normalised once, outside any transaction
    page = inbox.take("J0", None, None)
    assert page is not None and list(page.items) == ["a", "b", "c"] and page.prepared == 3
    assert inbox.at_hand("J1") is None  # a job, not a page
    assert inbox.next_job() == (1, "J1", True)
    assert inbox.at_hand("J1") is None  # nothing in the pipe: never waits


def test_an_error_is_never_at_hand() -> None:
    inbox = _inbox(("error", ("J0", None, None), True, "ATS down"))
    assert inbox.at_hand("J0") is None
    with pytest.raises(AtsUnavailable, match="ATS down"):
        inbox.take("J0", None, None)
