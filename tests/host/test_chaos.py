"""Chaos: 20% sandbox faults and a host killed at random (seeded) points; the state the host
converges to equals the state of a fault-free run of the same scenario."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from atsbridge.api import Atsbridge
from atsbridge.plugins import PluginRegistry
from atsbridge.store import SyncRun
from atsbridge_sdk.sandbox import Faults
from sandboxes import QUICK, connect, enqueue_lead, start, wait_for
from sqlmodel import select
from test_processes import spawn_host

pytestmark = pytest.mark.slow

ATSS = ["greenhouse", "smartrecruiters", "workday"]
LEADS = 3


def scenario_jobs(sandboxes: dict[str, Any]) -> dict[str, str]:
    """The ATS job each product job links to: the first open one, the same in both runs."""
    return {
        ats: sorted(j.ats_id for j in sandbox.jobs() if j.status == "open")[0]
        for ats, sandbox in sandboxes.items()
    }


def final_state(app: Atsbridge, sandboxes: dict[str, Any]) -> dict[str, Any]:
    mirror = {
        ats: sorted(
            (j.ats_id, j.title, j.status)
            for j in app.jobs.search("acme", None, ats=ats, limit=100).items
        )
        for ats in ATSS
    }
    links = sorted((v.product_job_id, v.ats_job_id, v.state) for v in app.jobs.list("acme"))
    cnts = {
        ats: sorted(e.name or "" for e in app.cnts.list_entries("acme", f"pj-{ats}").entries)
        for ats in ATSS
    }
    leads = sorted((v.lead_id, v.state) for v in app.leads.list("acme"))
    people = {
        ats: sorted(len(sandbox.people(f"lead-acme-{ats}-{n}@example.org")) for n in range(LEADS))
        for ats, sandbox in sandboxes.items()
    }
    return {"mirror": mirror, "links": links, "cnts": cnts, "leads": leads, "people": people}


def reference_state(tmp_path: Path) -> dict[str, Any]:
    """The same scenario with no faults and no host: services called in order."""
    registry = PluginRegistry.discover()
    sandboxes = {ats: start(registry, ats, seed=21) for ats in ATSS}
    app = Atsbridge(db=f"sqlite:///{tmp_path / 'reference.db'}", registry=registry)
    try:
        jobs = scenario_jobs(sandboxes)
        for ats, sandbox in sandboxes.items():
            connect(app, "acme", ats, sandbox, QUICK)
            app.jobs.sync("acme", ats)
            app.jobs.import_job("acme", ats, jobs[ats], f"pj-{ats}")
            for n in range(LEADS):
                enqueue_lead(app, "acme", f"pj-{ats}", ats, n)
            app.leads.drain("acme", ats)
            app.cnts.sync("acme", ats)
        return final_state(app, sandboxes)
    finally:
        app.close()
        for sandbox in sandboxes.values():
            sandbox.stop()


def test_faults_and_random_host_kills_converge_to_the_fault_free_state(tmp_path: Path) -> None:
    expected = reference_state(tmp_path)
    rng = random.Random(1234)
    registry = PluginRegistry.discover()
    sandboxes = {ats: start(registry, ats, seed=21) for ats in ATSS}
    db = f"sqlite:///{tmp_path / 'chaos.db'}"
    app = Atsbridge(db=db, registry=registry)
    host = None
    try:
        for i, (ats, sandbox) in enumerate(sandboxes.items()):
            connect(app, "acme", ats, sandbox, QUICK)
            sandbox.set_faults(Faults.mixed(0.2, seed=100 + i))
        jobs = scenario_jobs(sandboxes)
        imported: set[str] = set()
        for round_ in range(6):
            log = tmp_path / f"host-{round_}.log"
            host = spawn_host(db, "chaos", log)
            # Kill points count from when the host is up (its start-up time varies with load).
            wait_for(lambda p=log: "host chaos started" in p.read_text(), 60, "host started")
            deadline = time.monotonic() + rng.uniform(0.3, 2.5)
            while time.monotonic() < deadline:
                # The product acts while hosts come and go: import once mirrored, then leads.
                _import_rest(app, jobs, imported)
                time.sleep(0.1)
            host.send_signal(signal.SIGKILL if rng.random() < 0.8 else signal.SIGTERM)
            host.wait(timeout=30)
        for sandbox in sandboxes.values():
            sandbox.set_faults(Faults())
        final_log = tmp_path / "host-final.log"
        host = spawn_host(db, "chaos", final_log)
        # The killed hosts may have converged everything already: without this wait the
        # SIGTERM below could land before the host installs its handler (exit -15, not 0).
        wait_for(lambda: "host chaos started" in final_log.read_text(), 60, "host started")
        wait_for(lambda: imported == set(ATSS) or _import_rest(app, jobs, imported), 30)

        def converged() -> bool:
            return final_state(app, sandboxes) == expected

        wait_for(converged, timeout=45, what="the fault-free state")
        host.send_signal(signal.SIGTERM)
        assert host.wait(timeout=30) == 0
        assert final_state(app, sandboxes) == expected
        # The chaos did bite: faults were served and runs were cut short or failed.
        assert sum(1 for s in sandboxes.values() for r in s.request_log if r.fault) > 0
        with app.store.system_session() as session:
            statuses = {r.status for r in session.exec(select(SyncRun)).all()}
        assert statuses & {"failed", "interrupted"}, statuses
    finally:
        if host is not None and host.poll() is None:
            host.kill()
        app.close()
        for sandbox in sandboxes.values():
            sandbox.stop()


def _import_rest(app: Atsbridge, jobs: dict[str, str], imported: set[str]) -> bool:
    for ats in ATSS:
        if ats in imported:
            continue
        if jobs[ats] in {j.ats_id for j in app.jobs.search("acme", None, ats=ats).items}:
            app.jobs.import_job("acme", ats, jobs[ats], f"pj-{ats}")
            for n in range(LEADS):
                enqueue_lead(app, "acme", f"pj-{ats}", ats, n)
            imported.add(ats)
    return imported == set(ATSS)
