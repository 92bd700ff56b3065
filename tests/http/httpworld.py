"""The world of the HTTP API tests: a facade over a database with the ``httpfake`` plugin,
two tenants (acme, globex) connected and synced, one imported job each, and keys.

``World.keys`` names them: ``admin`` (every tenant), ``acme_write``, ``acme_read``,
``globex_write``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from atsbridge.api import Atsbridge
from atsbridge.model import JobStatus, Location
from atsbridge.plugins import PluginRegistry
from httpfake import HttpFake, berlin, config


class TickingClock:
    """Each reading one second after the last: deterministic and strictly rising."""

    def __init__(self, start: datetime = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@attrs.define
class World:
    app: Atsbridge
    fake: HttpFake
    keys: dict[str, str]

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}


def seed(fake: HttpFake) -> None:
    fake.add_job("acme", "A1", "Backend Engineer", reference="REF-100", locations=(berlin(),))
    fake.add_job(
        "acme",
        "A2",
        "Frontend Developer",
        reference="REF-200",
        locations=(Location(city="Paris", country_code="FR"),),
        department="Web",
    )
    fake.add_job("acme", "A3", "Data Analyst", status=JobStatus.CLOSED, reference="REF-300")
    fake.add_job("globex", "G1", "Backend Engineer", reference="GX-1", locations=(berlin(),))
    fake.add_candidate("acme", "A1", "c-1", "Ada Quinton", "ada@example.org")
    fake.add_candidate("globex", "G1", "c-9", "Gus Globex", "gus@example.org")


def make_world(db_url: str) -> World:
    fake = HttpFake()
    seed(fake)
    registry = PluginRegistry()
    registry.register(fake, "httpfake")
    assert registry.statuses[-1].ok, registry.statuses[-1].error
    app = Atsbridge(db=db_url, registry=registry, clock=TickingClock())
    for tenant in ("acme", "globex"):
        app.connections.connect(tenant, "httpfake", config(tenant))
        app.jobs.sync(tenant, "httpfake")
    app.jobs.import_job("acme", "httpfake", "A1", "pj-1")
    app.jobs.import_job("globex", "httpfake", "G1", "pj-g")
    keys = {
        "admin": app.api_keys.create("admin", scope="admin")[1],
        "acme_write": app.api_keys.create("acme w", scope="write", tenants=["acme"])[1],
        "acme_read": app.api_keys.create("acme r", scope="read", tenants=["acme"])[1],
        "globex_write": app.api_keys.create("globex w", scope="write", tenants=["globex"])[1],
    }
    fake.calls.clear()
    return World(app, fake, keys)


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert ``response`` is a problem+json of ``status`` and ``code``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body
