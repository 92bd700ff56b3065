"""The checkpointed sync runner, driven through job sync against the in-memory JobFake."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
from datetime import timedelta
from unittest import mock

import pytest
import sqlalchemy as sa
from atsbridge.errors import AtsUnavailable, BadInput, Conflict, PayloadError
from atsbridge.model import Job, JobStatus, Page
from atsbridge.services.sync import DEFAULT_OVERLAP, SyncRunner
from atsbridge.store import Job as JobRow
from atsbridge.store import SyncCheckpoint, SyncRun
from jobfake import CONFIG, JobFake, place
from sqlmodel import select


def _seed(ats: JobFake, n: int) -> None:
    for i in range(n):
        ats.add(f"J{i:03d}", f"Engineer {i}", reference=f"REF-{i}", locations=[place("Paris")])


def _mirror(app) -> dict[str, tuple[str, str]]:
    with app.store.tenant("acme") as repo:
        return {r.ats_id: (r.title, r.status) for r in repo.all(select(JobRow))}


def _expected(ats: JobFake) -> dict[str, tuple[str, str]]:
    return {j.ats_id: (j.title, j.status.value) for j in ats.jobs.values()}


def _checkpoint(app, kind: str = "jobs") -> SyncCheckpoint:
    with app.store.tenant("acme") as repo:
        return repo.first(select(SyncCheckpoint).where(SyncCheckpoint.kind == kind))


def _sync(app, **kwargs):
    with app.open_session("acme", "jobfake") as session:
        return app.jobs.sync_session(session, page_size=10, **kwargs)


def test_first_run_pages_through_every_job_and_records_the_run(app, ats: JobFake) -> None:
    _seed(ats, 25)
    report = _sync(app)
    assert [q.cursor for q in ats.calls] == [None, "10", "20"]
    assert all(q.updated_since is None for q in ats.calls)
    assert _mirror(app) == _expected(ats)
    assert report.status == "succeeded" and report.pages == 3
    assert report.counts == {"added": 25, "updated": 0, "unchanged": 0, "removed": 0}
    assert report.ended_at is not None and report.ended_at >= report.started_at
    assert report.progress["mode"] == "full" and report.progress["phase"] == "done"
    checkpoint = _checkpoint(app)
    assert checkpoint.cursor is None
    assert checkpoint.high_water == max(j.updated_at for j in ats.jobs.values())
    assert [r.id for r in app.sync.runs("acme", "jobfake")] == [report.id]


def test_incremental_run_without_changes_costs_one_request(app, ats: JobFake) -> None:
    _seed(ats, 25)
    _sync(app)
    high_water = _checkpoint(app).high_water
    ats.calls.clear()
    report = _sync(app)
    assert len(ats.calls) == 1
    # The overlap window re-reads the boundary instead of trusting it.
    assert ats.calls[0].updated_since == high_water - DEFAULT_OVERLAP
    assert report.counts["added"] == report.counts["updated"] == 0
    assert report.progress["mode"] == "incremental"
    assert _mirror(app) == _expected(ats)


def test_incremental_run_picks_up_edits_new_and_closed_jobs(app, ats: JobFake) -> None:
    _seed(ats, 25)
    _sync(app)
    ats.edit("J003", title="Staff Engineer, Payments")
    ats.edit("J004", status=JobStatus.CLOSED)
    ats.add("NEW1", "Data Scientist", locations=[place("Lisbon", country="PT")])
    ats.calls.clear()
    report = _sync(app)
    assert len(ats.calls) == 1  # three changes fit one page
    assert report.counts["added"] == 1 and report.counts["updated"] == 2
    assert _mirror(app) == _expected(ats)
    hits = app.jobs.search("acme", "payments staff").items
    assert [h.ats_id for h in hits] == ["J003"]


def test_boundary_change_inside_the_overlap_is_not_missed(app, ats: JobFake) -> None:
    _seed(ats, 3)
    _sync(app)
    high_water = _checkpoint(app).high_water
    # An ATS that stamps a change with a time just before the last one we saw (clock skew,
    # late commit) is still caught, because the next run asks from high_water - overlap.
    job = ats.edit("J000", title="Late Edit")
    ats.put(job.__class__(**{**_fields(job), "updated_at": high_water - timedelta(seconds=30)}))
    _sync(app)
    assert _mirror(app)["J000"][0] == "Late Edit"


def _fields(job) -> dict:
    return {a.name: getattr(job, a.name) for a in job.__attrs_attrs__}


def test_killed_run_resumes_from_the_last_committed_page(app, ats: JobFake) -> None:
    _seed(ats, 35)
    ats.fail_on_call = 3  # pages 1 and 2 committed, the third request "crashes"
    with pytest.raises(AtsUnavailable):
        _sync(app)
    failed = app.sync.runs("acme", "jobfake")[0]
    assert failed.status == "failed" and failed.pages == 2
    assert "simulated crash" in failed.errors[-1]
    checkpoint = _checkpoint(app)
    assert checkpoint.high_water is None  # not before the pass completes
    assert len(_mirror(app)) == 20

    ats.fail_on_call = None
    ats.calls.clear()
    report = _sync(app)
    # Resumed at page 3: pages 1-2 are never fetched again.
    assert [q.cursor for q in ats.calls] == ["20", "30"]
    assert report.status == "succeeded"
    assert report.progress["resumed_after_pages"] == 2
    assert report.counts["added"] == 15
    assert _mirror(app) == _expected(ats)
    assert _checkpoint(app).high_water == max(j.updated_at for j in ats.jobs.values())


def test_kill_during_apply_rolls_the_page_back_and_refetches_only_it(app, ats, monkeypatch):
    _seed(ats, 25)
    from atsbridge.services import jobs as jobs_module

    real_apply = jobs_module.JobsKind.apply
    applied = []

    def crashing_apply(self, repo, connection_id, scope, page, now):
        applied.append(page.next_cursor)
        outcome = real_apply(self, repo, connection_id, scope, page, now)
        if len(applied) == 2:
            raise KeyboardInterrupt  # killed inside the page's transaction
        return outcome

    monkeypatch.setattr(jobs_module.JobsKind, "apply", crashing_apply)
    with pytest.raises(KeyboardInterrupt):
        _sync(app)
    assert app.sync.runs("acme", "jobfake")[0].status == "interrupted"
    assert len(_mirror(app)) == 10  # page 2's rows were rolled back with its checkpoint
    monkeypatch.setattr(jobs_module.JobsKind, "apply", real_apply)
    ats.calls.clear()
    _sync(app)
    assert [q.cursor for q in ats.calls] == ["10", "20"]
    assert _mirror(app) == _expected(ats)


def test_progress_is_visible_while_the_run_is_going(app, ats: JobFake) -> None:
    _seed(ats, 25)
    seen = []

    def watch(call_number: int) -> None:
        # Another reader (a second Store on the same database) looks at the runs table.
        seen.append(app.sync.runs("acme", "jobfake")[0])

    ats.on_call = watch
    _sync(app)
    assert [(r.status, r.pages) for r in seen] == [("running", 0), ("running", 1), ("running", 2)]
    assert seen[2].counts["added"] == 20


def test_a_live_run_of_the_same_checkpoint_is_refused(app, ats: JobFake) -> None:
    _seed(ats, 3)
    with app.open_session("acme", "jobfake") as session:
        with app.store.tenant("acme") as repo:
            repo.add(
                SyncRun(
                    connection_id=session.connection_id,
                    kind="jobs",
                    started_at=app.clock(),
                    status="running",
                    progress={"scope": "", "heartbeat": app.clock().isoformat()},
                    host=f"{socket.gethostname()}:{os.getpid()}",
                )
            )
        with pytest.raises(Conflict, match="already running"):
            app.jobs.sync_session(session)
    assert ats.calls == []


def test_a_dead_run_is_retired_and_its_checkpoint_resumed(app, ats: JobFake) -> None:
    _seed(ats, 3)
    with app.open_session("acme", "jobfake") as session:
        with app.store.tenant("acme") as repo:
            dead = repo.add(
                SyncRun(
                    connection_id=session.connection_id,
                    kind="jobs",
                    started_at=app.clock() - timedelta(hours=2),
                    status="running",
                    progress={"scope": "", "heartbeat": app.clock().isoformat()},
                    host="elsewhere:1",  # another host, silent for two hours
                )
            )
            repo.flush()
            dead_id = dead.id
        runner = SyncRunner(app.store, clock=lambda: app.clock() + timedelta(hours=2))
        from atsbridge.services.jobs import JobsKind

        report = runner.run(session, JobsKind(app, session))
    assert report.status == "succeeded"
    runs = {r.id: r for r in app.sync.runs("acme", "jobfake")}
    assert runs[dead_id].status == "interrupted"


def test_bad_payload_fails_the_run_naming_the_record(app, ats: JobFake) -> None:
    _seed(ats, 3)
    ats.atsbridge_search_jobs = lambda session, query: Page(items=["not a job"])  # type: ignore[method-assign]
    with pytest.raises(PayloadError, match="job #1 of the page: field type"):
        _sync(app)
    run = app.sync.runs("acme", "jobfake")[0]
    assert run.status == "failed" and "expected a Job" in run.errors[-1]
    assert _mirror(app) == {}


def test_full_pass_drops_jobs_the_ats_no_longer_lists(app, ats: JobFake) -> None:
    _seed(ats, 12)
    _sync(app)
    ats.delete("J005")
    report = _sync(app, full=True)
    assert report.counts["removed"] == 1
    assert "J005" not in _mirror(app)
    assert app.jobs.search("acme", "REF-5").items == []


def test_sync_service_runs_registered_kinds_by_name(app, ats: JobFake) -> None:
    _seed(ats, 3)
    reports = app.sync.run("acme", "jobfake", ["jobs"])
    assert [r.kind for r in reports] == ["jobs"]
    reports = app.sync.run("acme", "jobfake")  # every kind: jobs, then links
    assert [r.kind for r in reports][:2] == ["jobs", "links"]
    with pytest.raises(Exception, match="unknown sync kind 'nope'"):
        app.sync.run("acme", "jobfake", ["nope"])


def test_jobs_without_update_times_still_sync_incrementally(app, ats: JobFake) -> None:
    # Some ATSs (Workday requisitions) report no update time: the pass start stands in.
    for i in range(3):
        ats.put(Job(ats_id=f"N{i}", title=f"No time {i}", status=JobStatus.OPEN, status_raw="o"))
    first = _sync(app)
    assert _checkpoint(app).high_water == first.started_at
    ats.calls.clear()
    second = _sync(app)
    assert ats.calls[0].updated_since == first.started_at - DEFAULT_OVERLAP
    assert second.progress["mode"] == "incremental"


def test_a_callback_that_raises_at_the_first_report_still_ends_the_run(app, ats) -> None:
    _seed(ats, 3)

    def stop_now(report) -> None:
        raise KeyboardInterrupt  # e.g. the host told to stop just as the run began

    with pytest.raises(KeyboardInterrupt):
        _sync(app, on_progress=stop_now)
    run = app.sync.runs("acme", "jobfake")[0]
    assert (run.status, run.pages) == ("interrupted", 0)
    assert ats.calls == []
    assert _sync(app).status == "succeeded"  # nothing left "running" to refuse it


def test_a_failure_is_recorded_while_another_process_writes_to_sqlite(
    tmp_path, job_registry, ats: JobFake
) -> None:
    """A deferred transaction that reads the run and then writes it fails at once when
    another connection commits in between; the failure must wait for the lock instead."""
    from atsbridge.api import Atsbridge

    path = tmp_path / "busy.db"
    _seed(ats, 3)
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        db = sqlite3.connect(path, isolation_level=None, timeout=30)
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE tenants SET key = key")
        holding.set()
        release.wait(10)
        db.execute("COMMIT")
        db.close()

    def down_while_written(number: int) -> None:
        thread.start()
        assert holding.wait(10)
        threading.Timer(0.3, release.set).start()

    thread = threading.Thread(target=writer)
    ats.on_call = down_while_written
    ats.fail_on_call = 1
    with Atsbridge(db=f"sqlite:///{path}", registry=job_registry) as app:
        app.connections.connect("acme", "jobfake", dict(CONFIG))
        with pytest.raises(AtsUnavailable):
            _sync(app)
        thread.join(10)
        run = app.sync.runs("acme", "jobfake")[0]
        assert run.status == "failed" and "simulated crash" in run.errors[-1]


def test_a_failure_to_record_a_failure_is_logged(app, ats: JobFake, caplog) -> None:
    _seed(ats, 3)
    runner = SyncRunner(app.store, clock=app.clock)
    broken = False
    real_tenant = app.store.tenant

    def tenant(key, **kwargs):
        if broken:
            raise sa.exc.OperationalError("UPDATE sync_runs", {}, Exception("database is locked"))
        return real_tenant(key, **kwargs)

    def crash(number: int) -> None:
        nonlocal broken
        broken = True

    ats.on_call = crash
    ats.fail_on_call = 1
    from atsbridge.services.jobs import JobsKind

    with app.open_session("acme", "jobfake") as session:
        runner.store = mock.Mock(wraps=app.store, tenant=tenant)
        with (
            caplog.at_level(logging.ERROR, "atsbridge.services.sync"),
            pytest.raises(AtsUnavailable, match="simulated crash"),  # the original error
        ):
            runner.run(session, JobsKind(app, session))
    (record,) = [r for r in caplog.records if "could not record the failure" in r.message]
    assert "acme/jobfake" in record.message and "simulated crash" in record.message
    assert record.exc_info is not None and "database is locked" in str(record.exc_info[1])


def test_a_daily_full_pass_catches_what_an_incremental_listing_cannot(app, ats: JobFake) -> None:
    _seed(ats, 12)
    _sync(app)
    # A job-post edit that leaves updated_at alone, and a deletion: invisible incrementally.
    quiet = ats.jobs["J003"]
    ats.put(quiet.__class__(**{**_fields(quiet), "title": "Quietly Renamed"}))
    ats.jobs.pop("J007")
    report = _sync(app)
    assert report.progress["mode"] == "incremental"
    assert _mirror(app)["J003"][0] == "Engineer 3" and "J007" in _mirror(app)

    app.clock.now += timedelta(hours=23)
    assert _sync(app).progress["mode"] == "incremental"  # not a day yet
    app.clock.now += timedelta(hours=1)
    report = _sync(app)
    assert report.progress["mode"] == "full"
    assert report.counts["removed"] == 1
    assert _mirror(app) == _expected(ats)
    assert _sync(app).progress["mode"] == "incremental"  # the next day's, now


def test_the_full_pass_interval_is_a_connection_setting_or_a_global_one(app, ats) -> None:
    _seed(ats, 3)
    _sync(app)
    app.connections.update_settings("acme", "jobfake", intervals={"jobs_full": 60})
    app.clock.now += timedelta(minutes=59)
    assert _sync(app).progress["mode"] == "incremental"
    app.clock.now += timedelta(minutes=2)
    assert _sync(app).progress["mode"] == "full"

    app.connections.update_settings("acme", "jobfake", intervals=None)
    app.full_pass_overrides = {"jobs_full": 10}  # what `host run --interval jobs_full=10` sets
    app.clock.now += timedelta(minutes=11)
    assert _sync(app).progress["mode"] == "full"
    app.connections.update_settings("acme", "jobfake", intervals={"jobs_full": -1})
    with pytest.raises(BadInput, match=r"setting intervals\.jobs_full must be a positive"):
        _sync(app)


def test_a_stopped_full_pass_resumes_instead_of_starting_over(app, ats: JobFake) -> None:
    _seed(ats, 35)
    _sync(app)
    app.clock.now += timedelta(days=1)
    ats.calls.clear()
    ats.fail_on_call = 3  # the due full pass stops after two pages (a host timeout, a kill)
    with pytest.raises(AtsUnavailable):
        _sync(app)
    ats.fail_on_call = None
    ats.calls.clear()
    report = _sync(app)
    assert [q.cursor for q in ats.calls] == ["20", "30"]  # resumed, still the full pass
    assert report.progress["mode"] == "full" and report.status == "succeeded"
    assert _sync(app).progress["mode"] == "incremental"
