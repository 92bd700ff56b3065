"""The host's scheduling: intervals, reconcile, isolation, no overlap, stop (in process)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from atsbridge.api import Atsbridge
from atsbridge.errors import BadInput
from atsbridge.host import Host, HostConfig, HostError
from atsbridge.host.tasks import TASKS_BY_NAME, interval, intervals_for, parse_overrides
from atsbridge.store import SyncRun
from hoststub import Behaviour, stub_config
from sqlmodel import select

FAST = {"jobs": 0.005, "links": 60, "candidates": 60, "statuses": 60}  # jobs every 0.3 s


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def fast_config(**kwargs: object) -> HostConfig:
    defaults: dict = {
        "intervals": dict(FAST),
        "reconcile_seconds": 0.2,
        "outbox_poll_seconds": 0.2,
        "lease_seconds": 3,
        "first_run_spread_seconds": 0.05,
        "workers": 4,
        "seed": 7,
    }
    defaults.update(kwargs)
    return HostConfig(**defaults)  # type: ignore[arg-type]


@pytest.fixture
def host_factory(sqlite_app: Atsbridge) -> Iterator[Callable[..., Host]]:
    hosts: list[Host] = []

    def make(**kwargs: object) -> Host:
        host = Host(sqlite_app, fast_config(**kwargs))
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.stop()


# --- intervals --------------------------------------------------------------------------------


def test_interval_precedence_and_errors() -> None:
    jobs, cands, leads = (TASKS_BY_NAME[n] for n in ("jobs", "candidates", "leads"))
    assert interval(jobs, {}, {}) == 30
    assert interval(jobs, {}, {"jobs": 10}) == 10
    assert interval(jobs, {"intervals": {"jobs": 5}}, {"jobs": 10}) == 5
    assert interval(cands, {}, {}) == 180
    assert interval(cands, {"cnts_refresh_minutes": 60}, {}) == 60
    assert interval(cands, {"intervals": {"candidates": 20}, "cnts_refresh_minutes": 60}, {}) == 20
    assert interval(leads, {"intervals": {"leads": 0}}, {}) == 0
    with pytest.raises(BadInput, match=r"setting intervals\.jobs: must be a positive"):
        interval(jobs, {"intervals": {"jobs": 0}}, {})
    with pytest.raises(BadInput, match=r"setting intervals\.bogus: unknown task"):
        interval(jobs, {"intervals": {"bogus": 1}}, {})
    with pytest.raises(BadInput, match="setting intervals must be an object"):
        interval(jobs, {"intervals": 5}, {})
    values, problems = intervals_for({"intervals": {"jobs": "soon"}}, {"jobs": 7})
    assert values["jobs"] == timedelta(minutes=7) and problems


def test_full_pass_intervals_sit_beside_the_task_intervals(sqlite_app, host_factory) -> None:
    jobs = TASKS_BY_NAME["jobs"]
    settings = {"intervals": {"jobs": 5, "jobs_full": 720, "candidates_full": 60}}
    assert interval(jobs, settings, {}) == 5  # known keys: the jobs interval still applies
    values, problems = intervals_for(settings, {})
    assert values["jobs"] == timedelta(minutes=5) and problems == []
    # No timer of their own: the kinds make their own runs full when due.
    assert "jobs_full" not in values
    _, problems = intervals_for({"intervals": {"jobs_full": 0}}, {})
    assert problems == ["setting intervals.jobs_full must be a positive number, not 0"]
    assert parse_overrides("jobs=15,jobs_full=720") == {"jobs": 15.0, "jobs_full": 720.0}
    with pytest.raises(BadInput, match=r"--interval jobs_full: must be a positive"):
        parse_overrides("jobs_full=0")
    host_factory(intervals={**FAST, "jobs_full": 720, "candidates_full": 90})
    assert sqlite_app.full_pass_overrides == {"jobs_full": 720, "candidates_full": 90}


def test_global_overrides_parse() -> None:
    assert parse_overrides("jobs=15, leads=0.5") == {"jobs": 15.0, "leads": 0.5}
    assert parse_overrides(["links=1"]) == {"links": 1.0}
    with pytest.raises(BadInput, match="expected TASK=MINUTES"):
        parse_overrides(["jobs"])
    with pytest.raises(BadInput, match="unknown task 'nope'"):
        parse_overrides(["nope=1"])
    with pytest.raises(BadInput, match="--interval jobs: 'x' is not a number"):
        parse_overrides(["jobs=x"])


# --- reconcile --------------------------------------------------------------------------------


def _job_ids(host: Host) -> set[str]:
    return {job.id for job in host.scheduler.get_jobs() if not job.id.startswith("host:")}


def test_reconcile_adds_reschedules_and_removes_connections(sqlite_app, host_factory) -> None:
    app = sqlite_app
    app.connections.connect("t1", "stub", stub_config("a1"), check=False)
    host = host_factory(intervals={}, reconcile_seconds=60)  # long: nothing fires by itself
    host.start()
    assert len(host.connections) == 1
    (cid1,) = host.connections
    assert _job_ids(host) == {f"{cid1}:{t}" for t in ("jobs", "links", "candidates", "statuses")}

    app.connections.connect("t2", "stub", stub_config("a2"), check=False)
    result = host.reconcile()
    (cid2,) = result.added
    assert result.removed == [] and len(_job_ids(host)) == 8

    app.connections.update_settings("t2", "stub", intervals={"jobs": 5})
    result = host.reconcile()
    assert result.changed == [cid2]
    trigger = host.scheduler.get_job(f"{cid2}:jobs").trigger
    assert trigger.interval == timedelta(minutes=5)

    app.connections.disconnect("t1", "stub")
    result = host.reconcile()
    assert result.removed == [cid1]
    assert _job_ids(host) == {f"{cid2}:{t}" for t in ("jobs", "links", "candidates", "statuses")}
    assert host.reconcile() == type(result)([], [], [])  # nothing changed: nothing done


def test_a_running_host_picks_up_new_connections_by_itself(sqlite_app, stub, host_factory):
    host = host_factory()
    host.start()
    sqlite_app.connections.connect("late", "stub", stub_config("late"), check=False)
    wait_for(lambda: stub.count("late") >= 2)


def test_first_fire_follows_the_last_run_recorded_in_the_database(sqlite_app, host_factory):
    sqlite_app.connections.connect("t1", "stub", stub_config("a1"), check=False)
    # Nothing fires by itself within the test (never-run tasks start within 30 s).
    first = host_factory(intervals={"jobs": 60}, first_run_spread_seconds=30)
    first.start()
    (cid,) = first.connections
    assert first.run_task(cid, "jobs", force=True) == "succeeded"
    first.stop()
    second = host_factory(intervals={"jobs": 60}, first_run_spread_seconds=30)
    second.start()
    fire = second.scheduler.get_job(f"{cid}:jobs").next_run_time
    last = second.leases.last_runs()[(cid, "jobs")]
    # Not "now + spread": another run is due an interval after the last one.
    assert abs((fire - last).total_seconds() - 3600) < 2
    assert second.run_task(cid, "jobs") == "not_due"


# --- isolation and exclusion --------------------------------------------------------------------


def test_one_failing_or_slow_connection_does_not_hold_up_the_others(sqlite_app, stub, host_factory):
    accounts = ["ok1", "ok2", "ok3", "down", "slow"]
    for account in accounts:
        sqlite_app.connections.connect(account, "stub", stub_config(account), check=False)
    stub.behaviour["down"] = Behaviour(fail=True)
    stub.behaviour["slow"] = Behaviour(delay=60.0)
    host = host_factory(workers=3, shutdown_grace_seconds=0.5)
    host.start()
    wait_for(lambda: all(stub.count(a) >= 4 for a in ("ok1", "ok2", "ok3")), timeout=30)
    assert stub.count("down") >= 2  # it keeps failing on schedule, and keeps being retried
    assert stub.count("slow") == 1  # still on its first page, never started twice
    failures = host.metrics.failures.labels("stub", "jobs")._value.get()
    assert failures >= 2
    stub.release.set()


def test_a_task_never_runs_twice_at_once_for_a_connection(sqlite_app, stub, host_factory):
    for account in ("a1", "a2"):
        sqlite_app.connections.connect(account, "stub", stub_config(account), check=False)
        stub.behaviour[account] = Behaviour(delay=0.4)  # longer than the 0.3 s interval
    host = host_factory(workers=6)
    host.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # hammer it with out-of-schedule triggers too
        if stub.count("a1") >= 4 and stub.count("a2") >= 4:
            break
        for cid in list(host.connections):
            host.trigger(cid, "jobs")
        time.sleep(0.05)
    assert stub.count("a1") >= 4 and stub.count("a2") >= 4
    assert stub.max_overlap[("a1", "search")] == 1
    assert stub.max_overlap[("a2", "search")] == 1


def test_stop_lets_tasks_checkpoint_and_releases_everything(sqlite_app, stub, host_factory):
    sqlite_app.connections.connect("t1", "stub", stub_config("a1"), check=False)
    stub.behaviour["a1"] = Behaviour(delay=0.5)
    host = host_factory()
    host.start()
    wait_for(lambda: stub.count("a1") == 1)  # inside the first page request
    assert host.stop() is True
    assert host.running == 0
    with sqlite_app.store.system_session() as session:
        runs = {(r.kind, r.status) for r in session.exec(select(SyncRun)).all()}
    # The one-page job sync finished its page, or stopped at its checkpoint: none is left
    # "running" for the next host to wait on.
    assert ("jobs", "running") not in runs and runs, runs
    assert {status for _, status in runs} <= {"succeeded", "interrupted"}, runs
    assert host.leases.abandoned() == []
    # The lock file is gone with it: another host may start on the file now.
    other = Host(sqlite_app, fast_config())
    other.start()
    other.stop()


def test_second_host_on_one_sqlite_file_is_refused(sqlite_app, host_factory) -> None:
    host_factory().start()
    with pytest.raises(HostError, match="SQLite mode runs one host"):
        host_factory().start()


def test_json_logs_carry_the_task_context(sqlite_app, stub, host_factory, caplog) -> None:
    from atsbridge.host import logs

    sqlite_app.connections.connect("t1", "stub", stub_config("a1"), check=False)
    stub.behaviour["a1"] = Behaviour(fail=True)
    host = host_factory()
    handler = logging.StreamHandler()
    import io
    import json

    stream = io.StringIO()
    handler.stream = stream
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logs.configure("json", logging.INFO, host.host_id)
        host.start()
        wait_for(lambda: "jobs failed" in stream.getvalue())
    finally:
        root.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    failed = next(entry for entry in lines if "jobs failed" in entry["message"])
    assert failed["tenant"] == "t1" and failed["ats"] == "stub" and failed["task"] == "jobs"
    assert failed["host"] == host.host_id and failed["level"] == "warning"
    assert set(failed) >= {"time", "logger", "message"}
    assert stub_config("a1")["api_key"] not in stream.getvalue()
