"""The pipeline walk's plan (#15 items 2 and 4), through the SDK example plugin's sandbox.

The example plugin declares ``Capability.ACCOUNT_CANDIDATES`` (``GET /v1/applications``
account-wide, ``GET /v1/jobs/{id}/applications`` per job), so these tests see which
listing each pass reads, and how many requests it costs, in the sandbox's request log.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from atsbridge.api import Atsbridge
from atsbridge.model import CandidateStatus, SandboxOptions
from atsbridge.plugins import PluginRegistry
from atsbridge.services.sync import KINDS, load_kinds
from atsbridge_sdk.contract.example import plugin as example_plugin

TENANT = "acme"
ATS = "example"


def _world(tmp_path: Path, options: SandboxOptions, linked: int) -> Any:
    registry = PluginRegistry()
    registry.register(example_plugin, ATS, "atsbridge-example")
    assert registry.statuses[-1].ok, registry.statuses[-1].error
    sandbox = registry.get(ATS).call("atsbridge_sandbox", options=options)
    sandbox.start()
    app = Atsbridge(db=f"sqlite:///{tmp_path / 'plans.db'}", registry=registry)
    app.connections.connect(TENANT, ATS, sandbox.connection_config())
    load_kinds()
    host_run(app, "jobs")
    jobs = sorted(j.ats_id for j in sandbox.jobs() if j.status.value != "closed")
    for n, job in enumerate(jobs[:linked]):
        app.jobs.import_job(TENANT, ATS, job, f"p-{n}")
    return app, sandbox, jobs


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Atsbridge, Any, list[str]]]:
    # 8 jobs of 30 people: an account listing of 240 people is 3 pages of 100.
    app, sandbox, jobs = _world(tmp_path, SandboxOptions(seed=3, jobs=8, candidates_per_job=30), 6)
    try:
        yield app, sandbox, jobs
    finally:
        app.close()
        sandbox.stop()


def host_run(app: Atsbridge, kind: str, *, full: bool = False) -> list[Any]:
    """One task run as the host runs it: a pooled session and the kind's task."""
    with app.open_session(TENANT, ATS) as session:
        return KINDS[kind].task(app, session, full=full, on_progress=None)


def listings(sandbox: Any, app: Atsbridge, kind: str, *, full: bool = False) -> list[str]:
    """The paths of the requests one run of ``kind`` made."""
    sandbox.clear_log()
    host_run(app, kind, full=full)
    return [r.path for r in sandbox.request_log]


def linked_people(app: Atsbridge) -> dict[str, int]:
    return {
        link.product_job_id: app.cnts.list_entries(TENANT, link.product_job_id, source="ats").total
        for link in app.jobs.list(TENANT)
    }


def test_most_jobs_linked_reads_the_account_listing_once(world) -> None:
    app, sandbox, jobs = world
    paths = listings(sandbox, app, "candidates")
    # Every application of the account, 100 a page: 8 x 30 = 240 people, 3 pages; no job's
    # own listing. People of the two jobs not linked are dropped locally.
    assert paths == ["/v1/applications"] * 3
    people = linked_people(app)
    assert len(people) == 6
    for n, job in enumerate(jobs[:6]):
        assert people[f"p-{n}"] == len(sandbox.pipeline(job))


def test_a_no_change_pass_costs_one_request_per_listing(world) -> None:
    app, sandbox, _ = world
    host_run(app, "candidates")
    assert listings(sandbox, app, "candidates") == ["/v1/applications"]
    assert listings(sandbox, app, "candidates") == ["/v1/applications"]


def test_the_flow_back_is_fed_by_the_same_walk(world) -> None:
    app, sandbox, jobs = world
    host_run(app, "candidates")
    doc = {"id": "lead-1", "first_name": "Ada", "last_name": "Q", "emails": ["ada@ex.org"]}
    app.leads.push(TENANT, "p-0", doc)
    [lead] = app.leads.list(TENANT, "p-0")
    candidate = lead.candidate_id
    assert candidate is not None
    sandbox.move_candidate(jobs[0], candidate, CandidateStatus.INTERVIEWING)
    # The do-not-source task's walk moves the lead: one incremental account page.
    assert listings(sandbox, app, "candidates") == ["/v1/applications"]
    assert app.leads.get(TENANT, "p-0", "lead-1").status == "interviewing"
    # The status task walks nothing of its own: the same listing, one request, found nothing
    # left to move.
    assert listings(sandbox, app, "statuses") == ["/v1/applications"]
    sandbox.move_candidate(jobs[0], candidate, CandidateStatus.OFFERED)
    [report] = host_run(app, "statuses")
    assert (report.kind, report.scope, report.counts["moved"]) == ("candidates", "*", 1)
    assert app.leads.get(TENANT, "p-0", "lead-1").status == "offered"
    assert listings(sandbox, app, "candidates") == ["/v1/applications"]


def test_a_job_just_linked_is_listed_on_its_own_once(world) -> None:
    app, sandbox, jobs = world
    host_run(app, "candidates")
    app.jobs.import_job(TENANT, ATS, jobs[6], "p-new")
    # The incremental account listing would never show its older people: its own full
    # listing, then it is covered like the others.
    paths = listings(sandbox, app, "candidates")
    assert paths == ["/v1/applications", f"/v1/jobs/{jobs[6]}/applications"]
    assert linked_people(app)["p-new"] == len(sandbox.pipeline(jobs[6]))
    assert listings(sandbox, app, "candidates") == ["/v1/applications"]


def test_a_full_account_pass_drops_people_who_left(world) -> None:
    app, sandbox, jobs = world
    host_run(app, "candidates")
    gone = sandbox.pipeline(jobs[1])[0]
    sandbox.remove_candidate(jobs[1], gone)
    assert listings(sandbox, app, "candidates", full=True) == ["/v1/applications"] * 3
    assert linked_people(app)["p-1"] == len(sandbox.pipeline(jobs[1]))


def test_few_jobs_linked_are_listed_job_by_job(tmp_path: Path) -> None:
    # 2 of 40 jobs: the account listing (12 pages) costs more over a reconciliation cycle
    # than two listings per walk.
    options = SandboxOptions(seed=3, jobs=40, candidates_per_job=30)
    app, sandbox, jobs = _world(tmp_path, options, 2)
    try:
        paths = listings(sandbox, app, "candidates")
        assert sorted(paths) == sorted(f"/v1/jobs/{job}/applications" for job in jobs[:2])
        # Per job, a no-change pass is still one request per listing.
        assert len(listings(sandbox, app, "candidates")) == 2
        assert len(listings(sandbox, app, "candidates")) == 2
    finally:
        app.close()
        sandbox.stop()


def test_no_task_run_opens_a_session_while_one_is_open(world) -> None:
    app, sandbox, _ = world
    opened = app.session_pool.opened
    sandbox.clear_log()
    with app.open_session(TENANT, ATS):  # held open, as a long task would
        for kind in ("jobs", "links", "candidates", "statuses", "leads"):
            host_run(app, kind)
    assert app.session_pool.opened == opened  # proven once, on first use
    assert "/v1/me" not in [r.path for r in sandbox.request_log]  # the credential probe


def test_concurrent_tasks_share_one_pacer_and_get_no_429(tmp_path: Path) -> None:
    # The sandbox enforces its limit (20/s, burst 10); two tasks of the connection at once,
    # together well over the burst (a 30-page account listing), share the pacer.
    options = SandboxOptions(seed=4, jobs=60, candidates_per_job=50, rate_limited=True)
    app, sandbox, _ = _world(tmp_path, options, 60)
    try:
        sandbox.clear_log()
        errors: list[BaseException] = []

        def run(kind: str, full: bool) -> None:
            try:
                host_run(app, kind, full=full)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [
            threading.Thread(target=run, args=("candidates", True)),
            threading.Thread(target=run, args=("links", True)),  # its mirror pass too
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(sandbox.request_log) >= 30
        assert sandbox.rate_limit_violations == 0
    finally:
        app.close()
        sandbox.stop()
