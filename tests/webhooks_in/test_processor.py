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


def test_a_candidate_added_to_a_linked_pipeline_is_on_its_do_not_source_list(
    world: HookWorld,
) -> None:
    from atsbridge.services.cnts import Person

    world.fake.apply("c-7", "J1", "Ada Quinton", "ada@example.org")
    person = Person(emails=("ada@example.org",))
    assert not world.app.cnts.check("acme", "pj-1", person).excluded
    assert world.post({"kind": "candidate", "candidate": "c-7"}).status_code == 200
    assert world.process() == 1
    assert world.app.cnts.check("acme", "pj-1", person).excluded
    assert world.fake.calls["read_candidate"] == 1 and world.fake.calls["list_candidates"] == 0
    assert world.post({"kind": "deleted", "candidate": "c-7"}).status_code == 200
    assert world.process() == 1
    assert not world.app.cnts.check("acme", "pj-1", person).excluded


def test_a_failed_read_is_retried_after_its_backoff(world: HookWorld) -> None:
    world.fake.set_status("J1", JobStatus.CLOSED)
    assert world.post({"kind": "job", "job": "J1"}).status_code == 200
    world.fake.down = True
    assert world.process() == 1
    assert "job.closed" not in _types(world)
    world.fake.down = False
    assert world.process() == 0  # not due yet: backoff
    world.clock.advance(minutes=1)
    assert world.process() == 1
    assert "job.closed" in _types(world)
    (status,) = world.app.ats_hooks.status("acme")
    assert status.backlog == 0
