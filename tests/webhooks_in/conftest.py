"""The inbound-webhook tests' world: the ``hookfake`` ATS connected for tenant acme, jobs
synced, one job linked, a receiver set up, a fake clock, and the API app over it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from atsbridge.api import Atsbridge
from atsbridge.plugins import PluginRegistry
from atsbridge.webhooks.endpoints import SetupResult
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hookfake import HookFake, body, config, sign

PUBLIC = "https://bridge.example.com"


class Clock:
    """A fake clock the tests move by hand (nothing here reads the wall clock)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@attrs.define
class HookWorld:
    app: Atsbridge
    fake: HookFake
    clock: Clock
    setup: SetupResult
    client: TestClient
    counter: int = 0

    @property
    def path(self) -> str:
        return self.setup.url.removeprefix(PUBLIC)

    def post(
        self,
        *events: dict[str, str],
        delivery: str | None = None,
        secret: str | None = None,
        at: datetime | None = None,
        raw: bytes | None = None,
    ) -> Any:
        """Deliver ``events`` as the ATS would (signed with the receiver's secret)."""
        self.counter += 1
        payload = raw if raw is not None else body(*events)
        headers = sign(
            secret or self.setup.secret or "",
            payload,
            delivery=delivery or f"d-{self.counter}",
            at=at or self.clock(),
        )
        return self.client.post(self.path, content=payload, headers=headers)

    def process(self) -> int:
        from atsbridge.webhooks.processor import InboxProcessor

        return InboxProcessor(self.app).process_due(host_id="test-host")


def make_world(db_url: str, *, subscribes: bool = False) -> tuple[Atsbridge, HookFake, Clock]:
    fake = HookFake(subscribes=subscribes)
    fake.add_job("J1", "Backend Engineer")
    fake.add_job("J2", "Data Analyst")
    fake.add_job("J3", "Not linked")
    registry = PluginRegistry()
    registry.register(fake, "hookfake")
    assert registry.statuses[-1].ok, registry.statuses[-1].error
    clock = Clock()
    app = Atsbridge(db=db_url, registry=registry, clock=clock)
    app.connections.connect("acme", "hookfake", config())
    app.jobs.sync("acme", "hookfake")
    app.jobs.import_job("acme", "hookfake", "J1", "pj-1")
    app.jobs.import_job("acme", "hookfake", "J2", "pj-2")
    return app, fake, clock


@pytest.fixture
def world(db_url: str) -> Iterator[HookWorld]:
    from atsbridge.http.app import create_app

    app, fake, clock = make_world(db_url)
    setup = app.ats_hooks.setup("acme", "hookfake", base_url=PUBLIC)
    fake.calls.clear()
    with TestClient(create_app(app)) as client:
        yield HookWorld(app, fake, clock, setup, client)
    app.close()
