"""Fixtures for the lead outbox tests: an app over ``db_url`` with the in-memory ``LeadFake``,
a manual clock, and jobs J1 (product job ``pj-1``) and J2 (``pj-2``) linked through the
job service, the way a product imports them.
"""

from __future__ import annotations

import base64
import copy
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from atsbridge import leaddoc
from atsbridge.api import Atsbridge
from atsbridge.plugins import PluginRegistry

sys.path.insert(0, str(Path(__file__).resolve().parent))

from leadfake import CONFIG, LeadFake, Observer

PDF = b"%PDF-1.4\n% a tiny resume\n"


class ManualClock:
    """Stands still until ``advance``d, so backoff arithmetic can be asserted exactly."""

    def __init__(self, start: datetime = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


def lead_doc(lead_id: str = "lead-1", email: str | None = None, **extra: Any) -> dict[str, Any]:
    """A complete lead document (every field of the contract), resume included."""
    doc: dict[str, Any] = {
        **copy.deepcopy(leaddoc.EXAMPLE),
        "id": lead_id,
        "emails": [email or f"{lead_id}@example.org"],
        "attachments": [
            {
                "filename": "ada.pdf",
                "content_type": "application/pdf",
                "content": base64.b64encode(PDF).decode(),
            }
        ],
    }
    doc.update(extra)
    return doc


@pytest.fixture
def ats() -> LeadFake:
    return LeadFake()


@pytest.fixture
def observer() -> Observer:
    return Observer()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def lead_registry(ats: LeadFake, observer: Observer) -> PluginRegistry:
    registry = PluginRegistry()
    registry.register(ats, "leadfake")
    assert registry.statuses[-1].ok, registry.statuses[-1].error
    registry.pm.register(observer, name="observer")
    return registry


@pytest.fixture
def app(db_url: str, lead_registry: PluginRegistry, clock: ManualClock) -> Iterator[Atsbridge]:
    with Atsbridge(db=db_url, registry=lead_registry, clock=clock) as app:
        app.connections.connect("acme", "leadfake", dict(CONFIG))
        app.jobs.sync("acme", "leadfake")
        app.jobs.import_job("acme", "leadfake", "J1", "pj-1")
        app.jobs.import_job("acme", "leadfake", "J2", "pj-2")
        yield app
