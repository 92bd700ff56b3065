"""The event feed and webhook endpoints through HTTP, with tenant isolation."""

from __future__ import annotations

from atsbridge.model import JobStatus
from fastapi.testclient import TestClient
from httpworld import World, problem


def _globex_event(client: TestClient, world: World) -> dict:
    """Close globex's linked job in the ATS and sync: a job.closed event of globex."""
    job = world.fake.jobs["globex"]["G1"]
    world.fake.add_job("globex", "G1", job.title, status=JobStatus.CLOSED)
    world.app.sync.run("globex", "httpfake", ["links"])
    items = client.get("/v1/events", headers=world.auth("globex_write")).json()["items"]
    closed = [e for e in items if e["type"] == "job.closed"]
    assert closed and closed[0]["tenant"] == "globex", items
    world.app.sync.run("acme", "httpfake", ["links"])  # nothing closes in acme
    return closed[0]


def test_feed_pages_after_a_cursor_and_hides_other_tenants(
    client: TestClient, world: World
) -> None:
    event = _globex_event(client, world)
    mine = client.get("/v1/events", headers=world.auth("acme_write")).json()["items"]
    assert all(e["tenant"] == "acme" for e in mine)
    problem(
        client.get(f"/v1/events/{event['id']}", headers=world.auth("acme_write")), 404, "not_found"
    )
    problem(
        client.get("/v1/events?tenant=globex", headers=world.auth("acme_write")), 404, "not_found"
    )
    got = client.get(f"/v1/events/{event['id']}", headers=world.auth("globex_write")).json()
    assert got == event
    # Besides the syncs' own sync.finished events, the close is the only change.
    closes = {"limit": 1, "types": "job.closed"}
    everything = client.get("/v1/events", params=closes, headers=world.auth("admin")).json()
    assert [e["id"] for e in everything["items"]] == [event["id"]]
    rest = client.get(
        "/v1/events", params={**closes, "after": event["id"]}, headers=world.auth("admin")
    )
    assert rest.json()["items"] == []
    typed = client.get(
        "/v1/events", params={"types": "job.closed"}, headers=world.auth("admin")
    ).json()
    assert {e["type"] for e in typed["items"]} == {"job.closed"}
    problem(client.get("/v1/events?after=zzz", headers=world.auth("admin")), 422, "input.invalid")


def test_webhook_crud_ping_replay_health(client: TestClient, world: World) -> None:
    h = world.auth("acme_write")
    body = {"url": "http://127.0.0.1:9/hook", "tenant": "acme", "event_types": ["job.closed"]}
    r = client.post("/v1/webhooks", json=body, headers=h)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["secret"].startswith("whsec_") and made["tenant"] == "acme"
    wid = made["id"]
    listed = client.get("/v1/webhooks", headers=h).json()["items"]
    assert [w["id"] for w in listed] == [wid] and "secret" not in listed[0]
    assert client.get(f"/v1/webhooks/{wid}", headers=h).json()["url"] == body["url"]
    ping = client.post(f"/v1/webhooks/{wid}/ping", headers=h)
    assert ping.status_code == 202 and ping.json()["event_id"].startswith("evt_")
    patched = client.patch(f"/v1/webhooks/{wid}", json={"enabled": False}, headers=h).json()
    assert patched["enabled"] is False
    problem(client.post(f"/v1/webhooks/{wid}/ping", headers=h), 409, "conflict")
    health = client.get(f"/v1/webhooks/{wid}/health", headers=h).json()
    assert health["backlog"] >= 1 and health["consecutive_failures"] == 0
    replay = client.post(f"/v1/webhooks/{wid}/replay", json={}, headers=h)
    assert replay.status_code == 202 and replay.json()["queued"] >= 0
    other = world.auth("globex_write")
    for call in (
        client.get(f"/v1/webhooks/{wid}", headers=other),
        client.patch(f"/v1/webhooks/{wid}", json={"enabled": True}, headers=other),
        client.post(f"/v1/webhooks/{wid}/ping", headers=other),
        client.post(f"/v1/webhooks/{wid}/replay", json={}, headers=other),
        client.get(f"/v1/webhooks/{wid}/health", headers=other),
        client.delete(f"/v1/webhooks/{wid}", headers=other),
    ):
        problem(call, 404, "not_found")
    assert client.get("/v1/webhooks", headers=other).json()["items"] == []
    problem(
        client.post("/v1/webhooks", json={"url": body["url"]}, headers=h), 403, "auth.forbidden"
    )
    problem(
        client.post("/v1/webhooks", json={**body, "tenant": "globex"}, headers=h), 404, "not_found"
    )
    bad = client.post("/v1/webhooks", json={**body, "event_types": ["nope"]}, headers=h)
    problem(bad, 422, "input.invalid")
    everywhere = client.post("/v1/webhooks", json={"url": body["url"]}, headers=world.auth("admin"))
    assert everywhere.status_code == 201 and everywhere.json()["tenant"] is None
    assert client.delete(f"/v1/webhooks/{wid}", headers=h).status_code == 204
    problem(client.get(f"/v1/webhooks/{wid}", headers=h), 404, "not_found")
