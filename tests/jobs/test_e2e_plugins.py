"""End to end, once per installed ATS plugin, through the fake ATS its sandbox hook serves.

Sync (initial, incremental, a change in the ATS), search, import, close propagation with
its event, and a sync killed mid-run, all through the public facade over a SQLite store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from atsbridge.api import Atsbridge
from atsbridge.model import JobStatus, SandboxOptions
from atsbridge.plugins import PluginRegistry
from atsbridge.services import jobs as jobs_module
from atsbridge.store import Job as JobRow
from jobfake import Observer
from sqlmodel import select

DISCOVERED = PluginRegistry.discover()
PLUGINS = sorted(DISCOVERED.plugins)
PAGE = 7  # small pages so 25 jobs take several, like a real first sync
OPTIONS = SandboxOptions(seed=11, jobs=25, candidates_per_job=1)


def test_every_installed_plugin_loaded() -> None:
    # A plugin that failed to load would silently drop out of the parametrized tests below.
    failed = {s.name: s.error for s in DISCOVERED.statuses if not s.ok}
    assert failed == {}
    assert PLUGINS, "no ATS plugin is installed: run python3 dev.py setup"


@pytest.fixture(params=PLUGINS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Atsbridge, Any, str]]:
    name = request.param
    registry = PluginRegistry.discover()
    observer = Observer()
    registry.pm.register(observer, name="observer")
    sandbox = registry.get(name).module.atsbridge_sandbox(options=OPTIONS)
    sandbox.start()
    app = Atsbridge(db=f"sqlite:///{tmp_path / 'e2e.db'}", registry=registry)
    try:
        app.connections.connect("acme", name, sandbox.connection_config())
        app.observer = observer  # type: ignore[attr-defined]
        yield app, sandbox, name
    finally:
        app.close()
        sandbox.stop()


def _mirror(app: Atsbridge, tenant: str = "acme") -> dict[str, tuple]:
    with app.store.tenant(tenant) as repo:
        return {
            r.ats_id: (r.title, r.status, r.reference, r.city) for r in repo.all(select(JobRow))
        }


def _truth(sandbox: Any) -> dict[str, tuple]:
    return {j.ats_id: (j.title, j.status.value, j.reference, j.city) for j in sandbox.jobs()}


def _sync(app: Atsbridge, ats: str, tenant: str = "acme"):
    with app.open_session(tenant, ats) as session:
        return app.jobs.sync_session(session, page_size=PAGE)


@pytest.mark.slow
def test_sync_search_import_and_close_through_the_sandbox(world) -> None:
    app, sandbox, ats = world
    first = _sync(app, ats)
    assert first.status == "succeeded" and first.pages >= 3
    assert _mirror(app) == _truth(sandbox)

    quiet = _sync(app, ats)
    assert quiet.counts["added"] == 0 and quiet.counts["updated"] == 0
    assert quiet.progress["mode"] == "incremental"

    open_jobs = [j for j in sandbox.jobs() if j.status == JobStatus.OPEN]
    renamed, closing = open_jobs[0], open_jobs[1]
    sandbox.rename_job(renamed.ats_id, "Zebra Wrangler")
    _sync(app, ats)
    assert _mirror(app) == _truth(sandbox)
    hits = app.jobs.search("acme", "zebra wrang").items
    assert [h.ats_id for h in hits] == [renamed.ats_id]
    if closing.reference:
        assert app.jobs.search("acme", closing.reference).items[0].ats_id == closing.ats_id

    result = app.jobs.import_job("acme", ats, closing.ats_id, "P-1")
    assert result.prefilled["title"] == closing.title
    sandbox.close_job(closing.ats_id)
    _sync(app, ats)
    _sync(app, ats)
    closed = app.observer.closed  # type: ignore[attr-defined]
    assert [(e.ats, e.ats_job_id, e.product_job_id) for e in closed] == [
        (ats, closing.ats_id, "P-1")
    ]
    [link] = app.jobs.list("acme")
    assert link.state == "closed" and link.title == closing.title
    assert _mirror(app) == _truth(sandbox)


@pytest.mark.slow
def test_a_run_without_changes_costs_one_request(world) -> None:
    app, sandbox, ats = world
    _sync(app, ats)
    with app.open_session("acme", ats) as session:
        sandbox.clear_log()  # after the session's own authentication request
        app.jobs.sync_session(session, page_size=PAGE)
        made = [f"{r.method} {r.path}" for r in sandbox.request_log]
    assert len(made) == 1, made


@pytest.mark.slow
def test_killed_sync_resumes_without_refetching(world, monkeypatch) -> None:
    app, sandbox, ats = world
    real_fetch = jobs_module.JobsKind.fetch
    cursors: list[str | None] = []

    def fetch(self, session, scope, cursor, since):
        if len(cursors) == 2 and kill["armed"]:
            raise KeyboardInterrupt  # killed between page 2 and page 3
        cursors.append(cursor)
        return real_fetch(self, session, scope, cursor, since)

    kill = {"armed": True}
    monkeypatch.setattr(jobs_module.JobsKind, "fetch", fetch)
    with pytest.raises(KeyboardInterrupt):
        _sync(app, ats)
    assert len(_mirror(app)) == 2 * PAGE
    kill["armed"] = False
    done_before = list(cursors)
    report = _sync(app, ats)
    resumed = cursors[len(done_before) :]
    assert resumed[0] is not None and resumed[0] not in done_before
    assert report.progress["resumed_after_pages"] == 2
    assert _mirror(app) == _truth(sandbox)
