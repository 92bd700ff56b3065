"""End to end per installed ATS plugin: its sandbox's pipelines become the do-not-source lists,
after the initial run, an incremental run and a removal in the sandbox."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from atsbridge.api import Atsbridge
from atsbridge.model import Capability, SandboxOptions
from atsbridge.plugins import PluginRegistry
from atsbridge.services.cnts import Person
from atsbridge_sdk.sandbox.seed import make_person

REGISTRY = PluginRegistry.discover()
PLUGINS = sorted(
    name
    for name, plugin in REGISTRY.plugins.items()
    if Capability.CANDIDATES in plugin.info.capabilities
)


class ShiftedClock:
    """Real time plus an offset, so a test can jump past the reconciliation period."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture(params=PLUGINS)
def world(request: pytest.FixtureRequest, tmp_path) -> Iterator[tuple[Atsbridge, object, str]]:
    name = request.param
    plugin = REGISTRY.get(name)
    options = SandboxOptions(seed=11, jobs=4, candidates_per_job=6, rate_limited=False)
    sandbox = plugin.call("atsbridge_sandbox", options=options)
    sandbox.start()
    clock = ShiftedClock()
    try:
        with Atsbridge(db=f"sqlite:///{tmp_path / 's.db'}", registry=REGISTRY, clock=clock) as app:
            app.connections.connect("acme", name, sandbox.connection_config())
            app.__dict__["test_clock"] = clock
            yield app, sandbox, name
    finally:
        sandbox.stop()


def _listed(app: Atsbridge, job: str) -> set[str]:
    found = app.cnts.list_entries("acme", job, source="ats", limit=10_000)
    return {e.ats_candidate_id or "" for e in found.entries}


def test_lists_follow_the_sandbox_pipelines(world) -> None:
    app, sandbox, name = world
    clock: ShiftedClock = app.__dict__["test_clock"]
    app.jobs.sync("acme", name)
    jobs = [j.ats_id for j in sandbox.jobs() if j.status.value == "open"][:2]
    assert len(jobs) == 2
    for i, job in enumerate(jobs):
        app.jobs.import_job("acme", name, job, f"P{i}")

    reports = app.cnts.sync("acme", name)
    # Both jobs linked out of a small mirror: one account-wide walk or one run per job.
    assert reports and {r.status for r in reports} == {"succeeded"}, [r.errors for r in reports]
    for i, job in enumerate(jobs):
        assert _listed(app, f"P{i}") == set(sandbox.pipeline(job)), name

    # Incremental: a person joins the first job's pipeline.
    person = make_person(random.Random(5), 9001, datetime.now(UTC))
    new_id = sandbox.add_candidate(jobs[0], person)
    reports = app.cnts.sync("acme", name)
    assert {r.progress.get("mode") for r in reports} == {"incremental"}
    assert _listed(app, "P0") == set(sandbox.pipeline(jobs[0]))
    assert new_id in _listed(app, "P0")
    check = app.cnts.check("acme", "P0", Person(emails=[person.email.upper()]))
    assert (check.excluded, check.rule) == (True, "email")

    # Removal: picked up by the periodic full pass.
    gone = sorted(sandbox.pipeline(jobs[1]))[0]
    sandbox.remove_candidate(jobs[1], gone)
    clock.offset += timedelta(hours=25)
    reports = app.cnts.sync("acme", name)
    assert {r.progress.get("mode") for r in reports} == {"full"}
    for i, job in enumerate(jobs):
        assert _listed(app, f"P{i}") == set(sandbox.pipeline(job)), name
    assert gone not in _listed(app, "P1")
