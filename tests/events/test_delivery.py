"""Signed deliveries to a loopback receiver: signatures, order, retries, leases, health."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from atsbridge.api import Atsbridge
from atsbridge.events import record, sequencer, types
from atsbridge.events.delivery import DELIVERING, Deliverer, Outcome
from atsbridge.model import JobStatus
from atsbridge.store.tables import WebhookDeliveryRow
from evclock import SteppingClock
from jobfake import JobFake
from receiver import Receiver

D = WebhookDeliveryRow.__table__  # type: ignore[attr-defined]


@pytest.fixture
def receiver(clock: SteppingClock) -> Iterator[Receiver]:
    r = Receiver(now=lambda: clock.now.timestamp()).start()
    yield r
    r.stop()


@pytest.fixture
def deliverer(app: Atsbridge, clock: SteppingClock) -> Iterator[Deliverer]:
    d = Deliverer(app.store, clock, app.secret_box)
    yield d
    d.close()


def _endpoint(app: Atsbridge, receiver: Receiver, **kwargs: object) -> str:
    arguments: dict = {"tenant": "acme", "url": receiver.url, "event_types": None, **kwargs}
    view, secret = app.webhooks.create(**arguments)
    receiver.secret = secret
    return str(view["id"])


def _events(app: Atsbridge, n: int, tenant: str = "acme") -> list[str]:
    with app.store.tenant(tenant) as repo:
        ids = [
            record(repo, tenant=tenant, type=types.SYNC_FINISHED, data={"n": i}) for i in range(n)
        ]
    sequencer.sequence(app.store)  # queues the deliveries, as the deliverer does first
    return ids


def _states(app: Atsbridge, endpoint_id: str) -> list[str]:
    with app.store.system_session() as session:
        return list(
            session.connection()
            .execute(sa.select(D.c.state).where(D.c.endpoint_id == endpoint_id).order_by(D.c.seq))
            .scalars()
        )


def _head_due(app: Atsbridge, endpoint_id: str) -> datetime:
    health = app.webhooks.health(endpoint_id, tenants=None)
    assert health is not None and health["next_attempt_at"] is not None
    return datetime.fromisoformat(health["next_attempt_at"].replace("Z", "+00:00"))


def test_a_closed_job_arrives_signed_with_its_event_id(
    linked: Atsbridge, ats: JobFake, receiver: Receiver, deliverer: Deliverer
) -> None:
    endpoint = _endpoint(linked, receiver, event_types=[types.JOB_CLOSED])
    ats.edit("A1", status=JobStatus.CLOSED, status_raw="filled")
    linked.jobs.sync("acme", "jobfake")
    assert deliverer.deliver_due(host_id="h1") == 1
    [event], _ = linked.events.feed(
        tenants=["acme"], after=None, limit=10, types=[types.JOB_CLOSED]
    )
    assert receiver.accepted == [(event["id"], event)]
    assert receiver.refused == []
    health = linked.webhooks.health(endpoint, tenants=["acme"])
    assert health is not None
    assert health["last_success_at"] is not None and health["backlog"] == 0
    assert health["delivered"] == 1
    assert deliverer.deliver_due(host_id="h1") == 0  # delivered once


def test_a_receiver_with_another_secret_refuses_and_the_delivery_retries(
    app: Atsbridge, receiver: Receiver, deliverer: Deliverer
) -> None:
    endpoint = _endpoint(app, receiver)
    receiver.secret = "whsec_" + "A" * 44
    _events(app, 1)
    assert deliverer.deliver_due(host_id="h1") == 1
    assert len(receiver.refused) == 1 and receiver.accepted == []
    health = app.webhooks.health(endpoint, tenants=None)
    assert health is not None
    assert health["last_error"] == "HTTP 401" and health["consecutive_failures"] == 1
    assert health["backlog"] == 1


def test_while_the_receiver_is_down_nothing_is_lost_and_order_holds(
    app: Atsbridge, receiver: Receiver, deliverer: Deliverer, clock: SteppingClock
) -> None:
    endpoint = _endpoint(app, receiver)
    ids = _events(app, 5)
    receiver.status = 503
    for _ in range(4):
        # Only the head is tried: the others wait behind it, in order.
        assert deliverer.deliver_due(host_id="h1") == 1
        assert deliverer.deliver_due(host_id="h1") == 0  # not due again before its backoff
        clock.now = _head_due(app, endpoint)
    assert receiver.arrived == [ids[0]] * 4
    health = app.webhooks.health(endpoint, tenants=None)
    assert health is not None
    assert health["consecutive_failures"] == 4 and health["backlog"] == 5
    assert health["last_error"] == "HTTP 503" and health["last_success_at"] is None
    receiver.status = 200
    assert deliverer.deliver_due(host_id="h1") == 5
    assert receiver.ids() == ids
    health = app.webhooks.health(endpoint, tenants=None)
    assert health is not None
    assert health["consecutive_failures"] == 0 and health["backlog"] == 0


def test_retries_back_off_exponentially_for_more_than_a_day(
    app: Atsbridge, receiver: Receiver, deliverer: Deliverer, clock: SteppingClock
) -> None:
    endpoint = _endpoint(app, receiver)
    first, second = _events(app, 2)
    receiver.status = 500
    attempts: list[datetime] = []
    while _states(app, endpoint)[0] != "dead":
        attempts.append(clock.now)
        assert deliverer.deliver_due(host_id="h1", limit=1) == 1
        if _states(app, endpoint)[0] != "dead":
            clock.now = _head_due(app, endpoint)
    waits = [b - a for a, b in itertools.pairwise(attempts)]
    assert attempts[-1] - attempts[0] >= timedelta(hours=24)
    assert timedelta(seconds=5) <= waits[0] < timedelta(seconds=7)
    assert all(w <= timedelta(hours=1, minutes=13) for w in waits)
    assert waits[5] > 16 * waits[0]  # exponential until the cap
    assert set(receiver.arrived) == {first}
    # The next event gets its own attempt (it waited the window out behind the first).
    receiver.status = 200
    assert deliverer.deliver_due(host_id="h1") == 1
    assert receiver.ids() == [second]
    health = app.webhooks.health(endpoint, tenants=None)
    assert health is not None and health["dead"] == 1 and health["delivered"] == 1
    # A replay sends the dead one again.
    assert app.webhooks.replay(endpoint, tenants=None, after=None) == 2
    assert deliverer.deliver_due(host_id="h1") == 2
    assert receiver.ids() == [second, first, second]


def test_a_sender_presumed_dead_is_taken_over_after_its_lease(
    app: Atsbridge, receiver: Receiver, clock: SteppingClock
) -> None:
    _endpoint(app, receiver)
    ids = _events(app, 2)
    crashed = Deliverer(app.store, clock, app.secret_box)
    other = Deliverer(app.store, clock, app.secret_box)
    try:
        claim = crashed._claim("host-a")
        assert claim is not None and claim.event["id"] == ids[0]
        # While the lease holds nobody sends it, nor what comes after it.
        assert other.deliver_due(host_id="host-b") == 0
        clock.advance(crashed.policy.lease + timedelta(seconds=1))
        assert other.deliver_due(host_id="host-b") == 2
        assert receiver.ids() == ids
        # The first sender's late outcome changes nothing.
        crashed._record(claim, Outcome(False, 500, "HTTP 500"))
        with app.store.system_session() as session:
            rows = session.connection().execute(sa.select(D.c.state, D.c.claimed_by)).all()
        assert [tuple(r) for r in rows] == [("delivered", "host-b")] * 2
    finally:
        crashed.close()
        other.close()


def test_a_disabled_endpoint_waits_and_another_tenants_events_never_come(
    app: Atsbridge, receiver: Receiver, deliverer: Deliverer
) -> None:
    endpoint = _endpoint(app, receiver)
    ids = _events(app, 1)
    _events(app, 2, tenant="globex")
    app.webhooks.update(endpoint, tenants=None, enabled=False)
    assert deliverer.deliver_due(host_id="h1") == 0
    app.webhooks.update(endpoint, tenants=None, enabled=True)
    assert deliverer.deliver_due(host_id="h1") == 1
    assert receiver.ids() == ids


def test_a_ping_is_delivered(app: Atsbridge, receiver: Receiver, deliverer: Deliverer) -> None:
    endpoint = _endpoint(app, receiver)
    event_id = app.webhooks.ping(endpoint, tenants=["acme"])
    assert deliverer.deliver_due(host_id="h1") == 1
    [(webhook_id, body)] = receiver.accepted
    assert webhook_id == event_id and body["type"] == types.WEBHOOK_PING
    assert body["data"]["endpoint_id"] == endpoint


def test_an_unreachable_receiver_is_a_failure_with_a_reason(
    app: Atsbridge, receiver: Receiver, deliverer: Deliverer
) -> None:
    endpoint = _endpoint(app, receiver)
    receiver.stop()
    _events(app, 1)
    assert deliverer.deliver_due(host_id="h1") == 1
    health = app.webhooks.health(endpoint, tenants=None)
    assert health is not None and health["last_error"].startswith("ConnectError")
    assert _states(app, endpoint) == ["failed"]
    assert DELIVERING not in _states(app, endpoint)
