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
from atsbridge.model import SandboxOptions
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
