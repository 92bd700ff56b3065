"""Fixtures for the event log and webhook tests: an app over ``db_url`` with the job fake."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from atsbridge.api import Atsbridge
from atsbridge.plugins import PluginRegistry

sys.path.append(str(Path(__file__).resolve().parent.parent / "jobs"))
sys.path.append(str(Path(__file__).resolve().parent))

from evclock import SteppingClock
from jobfake import CONFIG, JobFake, Observer


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def ats() -> JobFake:
    return JobFake()


@pytest.fixture
def observer() -> Observer:
    return Observer()


@pytest.fixture
def registry(ats: JobFake, observer: Observer) -> PluginRegistry:
    registry = PluginRegistry()
    registry.register(ats, "jobfake")
    assert registry.statuses[-1].ok, registry.statuses[-1].error
    registry.pm.register(observer, name="observer")
    return registry


@pytest.fixture
def app(db_url: str, registry: PluginRegistry, clock: SteppingClock) -> Iterator[Atsbridge]:
    with Atsbridge(db=db_url, registry=registry, clock=clock) as app:
        app.connections.connect("acme", "jobfake", dict(CONFIG))
        app.connections.connect("globex", "jobfake", dict(CONFIG))
        yield app


@pytest.fixture
def linked(app: Atsbridge, ats: JobFake) -> Atsbridge:
    """acme's A1 linked to product job P-1, globex's A2 to P-2 (same fake ATS behind both)."""
    ats.add("A1", "Backend Engineer")
    ats.add("A2", "Nurse")
    for tenant in ("acme", "globex"):
        app.jobs.sync(tenant, "jobfake")
    app.jobs.import_job("acme", "jobfake", "A1", "P-1")
    app.jobs.import_job("globex", "jobfake", "A2", "P-2")
    return app
