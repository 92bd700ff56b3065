"""Request budgets through every plugin's sandbox: counts from the sandbox's request log.

Each kind runs as the host runs it (``app.open_session`` and the registered kind's task).
A pass that finds nothing changed costs one request per ATS listing it reads, and a task
run never opens (and proves) a new session while the connection has one open.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from atsbridge.api import Atsbridge
from atsbridge.model import Capability, JobStatus, SandboxOptions
from atsbridge.plugins import PluginRegistry
from atsbridge.services.sync import KINDS, load_kinds

DISCOVERED = PluginRegistry.discover()
PLUGINS = sorted(DISCOVERED.plugins)
OPTIONS = SandboxOptions(seed=5, jobs=6, candidates_per_job=3)
TENANT = "acme"


@pytest.fixture(params=PLUGINS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Atsbridge, Any, str]]:
    name = request.param
    registry = PluginRegistry.discover()
    sandbox = registry.get(name).call("atsbridge_sandbox", options=OPTIONS)
    sandbox.start()
    app = Atsbridge(db=f"sqlite:///{tmp_path / 'budget.db'}", registry=registry)
    try:
        app.connections.connect(TENANT, name, sandbox.connection_config())
        load_kinds()
        yield app, sandbox, name
    finally:
        app.close()
        sandbox.stop()


def host_run(app: Atsbridge, ats: str, kind: str) -> list[Any]:
    with app.open_session(TENANT, ats) as session:
        return KINDS[kind].task(app, session, full=False, on_progress=None)


def requests_of(sandbox: Any, app: Atsbridge, ats: str, kind: str) -> list[str]:
    sandbox.clear_log()
    host_run(app, ats, kind)
    return [f"{r.method} {r.path}?{r.query}" for r in sandbox.request_log]


def test_a_no_change_job_sync_is_one_request_in_the_open_session(world) -> None:
    app, sandbox, ats = world
    host_run(app, ats, "jobs")
    # The second task run: no new session (no proof of the credentials), one listing.
    assert len(requests_of(sandbox, app, ats, "jobs")) == 1


def _link_open_jobs(app: Atsbridge, sandbox: Any, ats: str) -> list[str]:
    host_run(app, ats, "jobs")
    jobs = sorted(j.ats_id for j in sandbox.jobs() if j.status != JobStatus.CLOSED)
    for n, job in enumerate(jobs):
        app.jobs.import_job(TENANT, ats, job, f"p-{n}")
    return jobs


def _listings(app: Atsbridge, ats: str, linked: list[str]) -> int:
    """ATS listings one pipeline walk reads: the account's, or each linked job's."""
    info = app.registry.get(ats).info
    return 1 if Capability.ACCOUNT_CANDIDATES in info.capabilities else len(linked)


def test_a_no_change_pipeline_pass_is_one_request_per_listing(world) -> None:
    app, sandbox, ats = world
    linked = _link_open_jobs(app, sandbox, ats)
    host_run(app, ats, "candidates")
    listings = _listings(app, ats, linked)
    # The overlap re-lists the newest applications (sync.DEFAULT_OVERLAP): unchanged, they
    # cost no read of their people either (Greenhouse's rows carry none).
    assert len(requests_of(sandbox, app, ats, "candidates")) == listings


def test_the_status_flow_back_walks_no_pipeline_again(world) -> None:
    app, sandbox, ats = world
    linked = _link_open_jobs(app, sandbox, ats)
    doc = {"id": "lead-1", "first_name": "Budget", "last_name": "Lead", "emails": ["b@ex.org"]}
    app.leads.push(TENANT, "p-0", doc)
    host_run(app, ats, "candidates")
    # The status task reads the same listings on the same checkpoints: with nothing
    # changed since the do-not-source walk, one request per listing, never a second walk
    # of every pipeline.
    # (Per job: only the lead's job's listing.)
    assert _listings(app, ats, linked) in (1, len(linked))
    assert len(requests_of(sandbox, app, ats, "statuses")) == 1


def test_a_reopened_job_is_noticed_by_close_propagation(world) -> None:
    app, sandbox, ats = world
    linked = _link_open_jobs(app, sandbox, ats)
    host_run(app, ats, "links")
    job = linked[0]
    sandbox.set_job_status(job, JobStatus.CLOSED)
    host_run(app, ats, "links")
    states = {link.ats_job_id: link.state for link in app.jobs.list(TENANT)}
    assert states[job] == "closed"
    sandbox.set_job_status(job, JobStatus.OPEN)
    # The links task alone (no jobs task in between) notices the reopening (#18 item 6):
    # the mirror's incremental listing shows it; no status read per linked job.
    paths = requests_of(sandbox, app, ats, "links")
    states = {link.ats_job_id: link.state for link in app.jobs.list(TENANT)}
    assert states[job] == "open"
    # The listing, plus at most one read of the job it shows changed (Greenhouse reads its
    # job posts): nothing per linked job.
    assert len(paths) <= 2, paths
