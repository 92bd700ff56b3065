"""The inbox processor: each event costs its targeted read, not a sync."""

from __future__ import annotations

import sqlalchemy as sa
from atsbridge.model import JobStatus
from atsbridge.store.tables import EventRow, table
from conftest import HookWorld


def _types(world: HookWorld) -> list[str]:
    E = table(EventRow)
    with world.app.store.engine.connect() as db:
        return [t for (t,) in db.execute(sa.select(E.c.type).order_by(E.c.id))]


def test_a_job_closed_event_closes_the_link_with_one_status_read(world: HookWorld) -> None:
    world.fake.set_status("J1", JobStatus.CLOSED)
    assert world.post({"kind": "job", "job": "J1"}).status_code == 200
    assert world.process() == 1
    assert "job.closed" in _types(world)
    assert world.fake.calls["job_statuses"] == 1 and world.fake.calls["search_jobs"] == 0
    assert world.process() == 0  # done, not processed twice


def test_an_unrelated_job_costs_no_request(world: HookWorld) -> None:
    assert world.post({"kind": "job", "job": "J-unknown"}).status_code == 200
    assert world.process() == 1
    assert world.fake.calls["job_statuses"] == 0
