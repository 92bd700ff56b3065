"""Fixtures for the job mirror tests: an app over ``db_url`` with the in-memory ``JobFake``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from atsbridge.api import Atsbridge
from atsbridge.plugins import PluginRegistry

# Appended, not put first: tests/leads imports its helpers as ``conftest``, and this
# directory ahead of it on sys.path would hand it this file when both run in one session.
sys.path.append(str(Path(__file__).resolve().parent))

from jobfake import CONFIG, JobFake, Observer


class TickingClock:
    """Each reading is one second after the previous one: deterministic and strictly rising."""

    def __init__(self, start: datetime = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def ats() -> JobFake:
    return JobFake()


@pytest.fixture
def observer() -> Observer:
    return Observer()


@pytest.fixture
def job_registry(ats: JobFake, observer: Observer) -> PluginRegistry:
    registry = PluginRegistry()
    registry.register(ats, "jobfake")
    assert registry.statuses[-1].ok, registry.statuses[-1].error
    registry.pm.register(observer, name="observer")
    return registry


@pytest.fixture
def app(db_url: str, job_registry: PluginRegistry) -> Iterator[Atsbridge]:
    with Atsbridge(db=db_url, registry=job_registry, clock=TickingClock()) as app:
        app.connections.connect("acme", "jobfake", dict(CONFIG))
        yield app
