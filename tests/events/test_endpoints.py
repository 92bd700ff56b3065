"""Webhook endpoint CRUD, tenant scoping, the sealed secret, pings, replays and health."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from atsbridge.api import Atsbridge
from atsbridge.errors import BadInput, Conflict, NotFound
from atsbridge.events import record, types
from atsbridge.store.tables import WebhookDeliveryRow, WebhookEndpointRow

URL = "https://product.example/hooks/atsbridge"


def _deliveries(app: Atsbridge, endpoint_id: str) -> list[tuple[int, str]]:
    table = WebhookDeliveryRow.__table__  # type: ignore[attr-defined]
    with app.store.system_session() as session:
        rows = session.connection().execute(
            sa.select(table.c.seq, table.c.state)
            .where(table.c.endpoint_id == endpoint_id)
            .order_by(table.c.seq)
        )
        return [(r.seq, r.state) for r in rows]


def _events(app: Atsbridge, tenant: str, *kinds: str) -> list[str]:
    with app.store.tenant(tenant) as repo:
        return [record(repo, tenant=tenant, type=k, data={"k": k}) for k in kinds]


def test_create_shows_the_secret_once_and_stores_it_sealed(app: Atsbridge) -> None:
    view, secret = app.webhooks.create(
        tenant="acme", url=URL, event_types=[types.JOB_CLOSED], description="prod"
    )
    assert secret.startswith("whsec_") and len(secret) > 40
    assert view["id"].startswith("ep_")
    assert {k: view[k] for k in ("tenant", "url", "event_types", "enabled", "description")} == {
        "tenant": "acme",
        "url": URL,
        "event_types": [types.JOB_CLOSED],
        "enabled": True,
        "description": "prod",
    }
    assert secret not in json.dumps(app.webhooks.list(tenants=None))
    with app.store.system_session() as session:
        row = session.get(WebhookEndpointRow, view["id"])
        assert row is not None and secret not in json.dumps(row.secret)
    assert app.webhooks.secret(view["id"]) == secret


def test_endpoints_are_scoped_to_their_tenant(app: Atsbridge) -> None:
    acme, _ = app.webhooks.create(tenant="acme", url=URL, event_types=None)
    every, _ = app.webhooks.create(tenant=None, url=URL, event_types=None)
    assert [e["id"] for e in app.webhooks.list(tenants=["acme"])] == [acme["id"]]
    assert app.webhooks.list(tenants=["globex"]) == []
    assert [e["id"] for e in app.webhooks.list(tenants=None)] == [acme["id"], every["id"]]
    for call in (
        lambda: app.webhooks.get(acme["id"], tenants=["globex"]),
        lambda: app.webhooks.update(acme["id"], tenants=["globex"], enabled=False),
        lambda: app.webhooks.ping(acme["id"], tenants=["globex"]),
        lambda: app.webhooks.replay(acme["id"], tenants=["globex"], after=None),
        lambda: app.webhooks.health(acme["id"], tenants=["globex"]),
        lambda: app.webhooks.get(every["id"], tenants=["acme"]),
    ):
        assert call() is None
    assert app.webhooks.delete(acme["id"], tenants=["globex"]) is False
    assert app.webhooks.get(acme["id"], tenants=["acme"]) == acme


def test_update_and_delete(app: Atsbridge) -> None:
    view, _ = app.webhooks.create(tenant="acme", url=URL, event_types=None)
    changed = app.webhooks.update(
        view["id"],
        tenants=["acme"],
        url="http://127.0.0.1:9/x",
        event_types=[types.LEAD_EXPORTED, types.JOB_CLOSED],
        enabled=False,
        description="new",
    )
    assert changed is not None
    assert changed["url"] == "http://127.0.0.1:9/x"
    assert changed["event_types"] == [types.JOB_CLOSED, types.LEAD_EXPORTED]
    assert changed["enabled"] is False and changed["description"] == "new"
    everything = app.webhooks.update(view["id"], tenants=None, event_types=[])
    assert everything is not None and everything["event_types"] is None
    assert app.webhooks.delete(view["id"], tenants=["acme"]) is True
    assert app.webhooks.get(view["id"], tenants=None) is None
    assert app.webhooks.delete(view["id"], tenants=None) is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "ftp://x.example/"}, "url: must be an absolute"),
        ({"url": "http://product.example/hook"}, "url: must be https"),
        ({"url": ""}, "url:"),
        ({"url": 5}, "url:"),
        ({"event_types": ["job.closed", "nope"]}, r"event_types\[1\]: unknown event type"),
        ({"event_types": "job.closed"}, "event_types: must be a list"),
        ({"event_types": [types.WEBHOOK_PING]}, r"event_types\[0\]"),
        ({"description": "x" * 501}, "description: longer than 500"),
    ],
)
def test_bad_input_names_the_field(app: Atsbridge, kwargs: dict, message: str) -> None:
    arguments = {"tenant": "acme", "url": URL, "event_types": None, **kwargs}
    with pytest.raises(BadInput, match=message):
        app.webhooks.create(**arguments)
    view, _ = app.webhooks.create(tenant="acme", url=URL, event_types=None)
    update = {k: v for k, v in kwargs.items()}
    with pytest.raises(BadInput, match=message):
        app.webhooks.update(view["id"], tenants=None, **update)
    assert app.webhooks.get(view["id"], tenants=None) == view  # nothing half-changed


def test_an_unknown_tenant_is_not_found(app: Atsbridge) -> None:
    with pytest.raises(NotFound, match="tenant: no tenant 'initech'"):
        app.webhooks.create(tenant="initech", url=URL, event_types=None)


def test_events_fan_out_to_the_endpoints_that_want_them(app: Atsbridge) -> None:
    acme, _ = app.webhooks.create(tenant="acme", url=URL, event_types=[types.JOB_CLOSED])
    every, _ = app.webhooks.create(tenant=None, url=URL, event_types=None)
    off, _ = app.webhooks.create(tenant="acme", url=URL, event_types=None)
    app.webhooks.update(off["id"], tenants=None, enabled=False)
    _events(app, "acme", types.JOB_CLOSED, types.SYNC_FINISHED)
    _events(app, "globex", types.JOB_CLOSED)
    app.events.feed(tenants=None, after=None, limit=10)  # runs the sequencer
    assert _deliveries(app, acme["id"]) == [(1, "pending")]
    assert _deliveries(app, every["id"]) == [(1, "pending"), (2, "pending"), (3, "pending")]
    assert _deliveries(app, off["id"]) == []
    assert app.webhooks.health(every["id"], tenants=None)["backlog"] == 3


def test_ping_goes_to_its_endpoint_only_and_never_into_the_feed(app: Atsbridge) -> None:
    one, _ = app.webhooks.create(tenant="acme", url=URL, event_types=None)
    two, _ = app.webhooks.create(tenant="acme", url=URL, event_types=None)
    event_id = app.webhooks.ping(one["id"], tenants=["acme"])
    assert event_id is not None and event_id.startswith("evt_")
    assert _deliveries(app, one["id"]) == [(1, "pending")]
    assert _deliveries(app, two["id"]) == []
    assert app.events.feed(tenants=None, after=None, limit=10) == ([], None)
    app.webhooks.update(two["id"], tenants=None, enabled=False)
    with pytest.raises(Conflict, match="disabled"):
        app.webhooks.ping(two["id"], tenants=None)


def test_replay_queues_again_what_the_endpoint_wants_after_the_cursor(app: Atsbridge) -> None:
    ids = _events(app, "acme", types.JOB_CLOSED, types.SYNC_FINISHED, types.JOB_CLOSED)
    _events(app, "globex", types.JOB_CLOSED)
    app.events.feed(tenants=None, after=None, limit=10)
    # Created after the events: it gets none of them until a replay.
    view, _ = app.webhooks.create(tenant="acme", url=URL, event_types=[types.JOB_CLOSED])
    assert _deliveries(app, view["id"]) == []
    assert app.webhooks.replay(view["id"], tenants=["acme"], after=None) == 2
    assert _deliveries(app, view["id"]) == [(1, "pending"), (3, "pending")]
    assert app.webhooks.replay(view["id"], tenants=["acme"], after=ids[0]) == 1
    with pytest.raises(BadInput, match="after"):
        app.webhooks.replay(view["id"], tenants=["acme"], after="nonsense")


def test_health_of_a_new_endpoint(app: Atsbridge) -> None:
    view, _ = app.webhooks.create(tenant="acme", url=URL, event_types=None)
    assert app.webhooks.health(view["id"], tenants=["acme"]) == {
        "id": view["id"],
        "enabled": True,
        "last_success_at": None,
        "last_failure_at": None,
        "consecutive_failures": 0,
        "last_error": None,
        "backlog": 0,
        "delivered": 0,
        "dead": 0,
        "next_attempt_at": None,
    }
