"""Leads are never stranded by a disconnect and reconnect (#20 item 5).

Through the Greenhouse sandbox: a lead queued for an imported job, the connection
disconnected (asked first, saying how many leads wait), reconnected, the job re-imported,
and the lead then exported. Retry and re-push adopt such a lead too, or say what is missing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.errors import Conflict
from atsbridge.model import SandboxOptions
from atsbridge.services.lead_orphans import DISCONNECTED
from click.testing import CliRunner, Result

sys.path.append(str(Path(__file__).resolve().parents[1] / "leads"))

from sandboxed import EAGER, registry_for

ATS = "greenhouse"


def _doc(lead_id: str) -> dict[str, Any]:
    from atsbridge import leaddoc

    doc = json.loads(json.dumps(leaddoc.EXAMPLE))
    doc.update(id=lead_id, emails=[f"{lead_id}@example.org"])
    doc.pop("attachments", None)
    return doc


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Atsbridge, Any, str, Any]]:
    registry = registry_for(ATS)
    sandbox = registry.get(ATS).module.atsbridge_sandbox(
        options=SandboxOptions(seed=3, jobs=6, candidates_per_job=0)
    )
    sandbox.start()
    db = f"sqlite:///{tmp_path / 'leads.db'}"
    app = Atsbridge(db=db, registry=registry)
    app.leads.policy = EAGER

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", db, *args], obj=CliState(registry))

    try:
        app.connections.connect("acme", ATS, sandbox.connection_config())
        app.jobs.sync("acme", ATS, full=True)
        job = next(j for j in sorted(sandbox.jobs(), key=lambda j: j.ats_id) if j.status == "open")
        app.jobs.import_job("acme", ATS, job.ats_id, "P1")
        yield app, sandbox, job.ats_id, run
    finally:
        app.session_pool.close()
        app.close()
        sandbox.stop()


def _reconnect(app: Atsbridge, sandbox: Any) -> None:
    app.connections.connect("acme", ATS, sandbox.connection_config())
    app.jobs.sync("acme", ATS, full=True)


def _exported(sandbox: Any, email: str) -> bool:
    return bool(sandbox.people(email=email))


def test_disconnect_reconnect_reimport_exports_the_lead(world) -> None:
    app, sandbox, ats_job, run = world
    queued = app.leads.push("acme", "P1", _doc("lead-a"), export=False)
    assert queued.lead.state == "pending"

    refused = run("disconnect", "acme", ATS)
    assert refused.exit_code == 2
    assert "1 lead not exported yet will be marked failed" in refused.stderr
    done = run("disconnect", "acme", ATS, "--yes", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["leads_waiting"] == 1

    (lead,) = app.leads.list("acme")
    assert lead.state == "failed" and lead.last_error == DISCONNECTED
    assert app.leads.drain("acme").claimed == 0  # nothing to export it with
    with pytest.raises(Conflict, match="waits for product job 'P1' to be imported again"):
        app.leads.retry("acme", "lead-a")

    _reconnect(app, sandbox)
    imported = run("jobs", "import", "acme", ATS, ats_job, "--job", "P1")
    assert imported.exit_code == 0, imported.output
    assert "queued again: 1 lead left waiting by a disconnect" in imported.stdout
    (lead,) = app.leads.list("acme")
    assert lead.state == "pending" and lead.ats == ATS and lead.last_error is None

    report = app.leads.drain("acme")
    assert report.claimed == 1
    (lead,) = app.leads.list("acme")
    assert lead.state == "exported" and lead.candidate_id
    assert _exported(sandbox, "lead-a@example.org")


def test_retry_and_repush_adopt_an_orphaned_lead(world) -> None:
    app, sandbox, ats_job, run = world
    app.leads.push("acme", "P1", _doc("lead-b"), export=False)
    app.leads.push("acme", "P1", _doc("lead-c"), export=False)
    assert app.connections.queued_leads("acme", ATS) == 2
    assert run("disconnect", "acme", ATS, "--yes").exit_code == 0
    _reconnect(app, sandbox)
    # Re-imported as another ATS job: not adopted on their own (a person's decision)...
    other = next(
        j.ats_id for j in sorted(sandbox.jobs(), key=lambda j: j.ats_id) if j.ats_id != ats_job
    )
    assert app.jobs.import_job("acme", ATS, other, "P1").adopted_leads == 0
    # ...but retry puts one there, and pushing the other again exports it at once.
    (retried,) = app.leads.retry("acme", "lead-b")
    assert retried.state == "pending" and retried.ats == ATS
    again = app.leads.push("acme", "P1", _doc("lead-c"))
    assert not again.already_queued and again.lead.state == "exported"
    assert app.leads.drain("acme").claimed == 1
    states = {lead.lead_id: lead.state for lead in app.leads.list("acme")}
    assert states == {"lead-b": "exported", "lead-c": "exported"}


def test_http_disconnect_asks_with_the_count(world, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    app, _sandbox, _ats_job, _run = world
    app.leads.push("acme", "P1", _doc("lead-d"), export=False)
    from atsbridge.http.app import create_app

    key = app.api_keys.create("admin", scope="admin")[1]
    client = TestClient(create_app(app))
    headers = {"Authorization": f"Bearer {key}"}
    url = f"/v1/tenants/acme/connections/{ATS}"
    asked = client.delete(url, headers=headers)
    assert asked.status_code == 409
    assert "1 lead not exported yet" in asked.json()["detail"]
    assert "leads_waiting=1" in asked.json()["detail"]
    assert client.delete(url, params={"leads_waiting": 2}, headers=headers).status_code == 409
    assert client.delete(url, params={"leads_waiting": 1}, headers=headers).status_code == 204
    (lead,) = app.leads.list("acme")
    assert lead.state == "failed" and lead.last_error == DISCONNECTED
