"""The host on SQLite with every plugin's sandbox: everything converges on its own.

Nothing here runs a sync or a drain by hand: the product's actions (import a job, enqueue a
lead) and the recruiters' (close a job, move a candidate) happen, and the host's schedule
brings jobs, do-not-source lists, leads and statuses to where they should be.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from atsbridge.api import Atsbridge
from atsbridge.host import Host, HostConfig
from atsbridge.model import CandidateStatus, JobStatus
from sandboxes import (
    PLUGINS,
    QUICK,
    connect,
    enqueue_lead,
    fast_registry,
    import_first_open_job,
    start,
    wait_for,
)

pytestmark = pytest.mark.slow


def test_host_converges_jobs_lists_leads_and_statuses(tmp_path: Path) -> None:
    registry = fast_registry()
    sandboxes = {ats: start(registry, ats) for ats in PLUGINS}
    app = Atsbridge(db=f"sqlite:///{tmp_path / 'e2e.db'}", registry=registry)
    host = Host(
        app,
        HostConfig(
            reconcile_seconds=0.3,
            outbox_poll_seconds=0.2,
            lease_seconds=5,
            first_run_spread_seconds=0.2,
            lead_retry_seconds=0.2,
            workers=8,
        ),
    )
    try:
        host.start()
        for ats, sandbox in sandboxes.items():  # connected while the host runs
            connect(app, "acme", ats, sandbox, QUICK)
        jobs = {ats: import_first_open_job(app, "acme", ats, f"pj-{ats}") for ats in PLUGINS}
        emails = {ats: enqueue_lead(app, "acme", f"pj-{ats}", ats) for ats in PLUGINS}

        # Do-not-source lists fill from the linked jobs' pipelines.
        for ats in PLUGINS:
            wait_for(lambda a=ats: app.cnts.list_entries("acme", f"pj-{a}").total > 0, what=ats)
        # Leads are exported exactly once.
        wait_for(
            lambda: (
                all(v.state == "exported" for v in app.leads.list("acme"))
                and len(app.leads.list("acme")) == len(PLUGINS)
            ),
            what="every lead exported",
        )
        for ats, sandbox in sandboxes.items():
            assert len(sandbox.people(emails[ats])) == 1, ats

        # A recruiter moves each lead and closes each job: both arrive by themselves.
        for ats, sandbox in sandboxes.items():
            lead = app.leads.get("acme", f"pj-{ats}", f"lead-{ats}-0")
            assert lead.candidate_id is not None
            sandbox.move_candidate(jobs[ats], lead.candidate_id, CandidateStatus.INTERVIEWING)
            sandbox.set_job_status(jobs[ats], JobStatus.CLOSED)
        wait_for(
            lambda: all(
                app.leads.get("acme", f"pj-{a}", f"lead-{a}-0").status == "interviewing"
                for a in PLUGINS
            ),
            what="statuses flowed back",
        )
        wait_for(
            lambda: all(link.state == "closed" for link in app.jobs.list("acme")),
            what="closures arrived",
        )
        for ats in PLUGINS:
            assert app.leads.funnel("acme", f"pj-{ats}").statuses["interviewing"] == 1
        assert host.metrics.requests.labels(PLUGINS[0], "200")._value.get() > 0
    finally:
        assert host.stop()
        app.close()
        for sandbox in sandboxes.values():
            sandbox.stop()
