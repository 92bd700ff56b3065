"""``POST /hooks/{ats}/{hook_id}``: verified deliveries stored once, refusals stored never."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
from atsbridge.http.routes.hooks import MAX_BODY
from atsbridge.store.tables import AtsHookInbox, table
from conftest import PUBLIC, HookWorld
from hookfake import sign

I = table(AtsHookInbox)  # noqa: E741


def inbox(world: HookWorld) -> list[sa.Row]:
    with world.app.store.engine.connect() as db:
        return list(db.execute(sa.select(I).order_by(I.c.id)))


def status(world: HookWorld) -> dict:
    (only,) = world.app.ats_hooks.status("acme")
    return only.to_json()


def test_setup_gives_an_unguessable_url_and_a_secret(world: HookWorld) -> None:
    setup = world.setup
    assert setup.url.startswith(f"{PUBLIC}/hooks/hookfake/")
    assert len(setup.url.rsplit("/", 1)[1]) >= 32
    assert setup.secret and len(setup.secret) >= 32
    assert setup.steps.startswith("In Settings > Webhooks")
    assert status(world)["verified"] == 0 and status(world)["backlog"] == 0


def test_a_verified_delivery_is_stored_once_and_answered_without_an_ats_call(
    world: HookWorld,
) -> None:
    first = world.post({"kind": "job", "job": "J1"}, delivery="evt-1")
    again = world.post({"kind": "job", "job": "J1"}, delivery="evt-1")
    assert first.status_code == 200 and first.json() == {"stored": True, "duplicate": False}
    assert again.status_code == 200 and again.json() == {"stored": False, "duplicate": True}
    rows = inbox(world)
    assert [(r.delivery_id, r.state, r.events) for r in rows] == [
        ("evt-1", "pending", [{"kind": "job", "job_ats_id": "J1"}])
    ]
    assert sum(world.fake.calls.values()) == 0  # no ATS request on the request thread
    counted = status(world)
    assert (counted["verified"], counted["duplicates"], counted["refused"]) == (2, 1, 0)
    assert counted["backlog"] == 1 and counted["last_delivery_at"] is not None


@pytest.mark.parametrize(
    "tamper",
    ["wrong_secret", "stale", "unsigned"],
)
def test_a_bad_or_stale_signature_is_401_and_changes_nothing(
    world: HookWorld, tamper: str, caplog: pytest.LogCaptureFixture
) -> None:
    payload = b'{"events": [{"kind": "job", "job": "J1"}]}'
    at = world.clock() - timedelta(minutes=10) if tamper == "stale" else world.clock()
    secret = "not-the-secret-at-all" if tamper == "wrong_secret" else world.setup.secret
    headers = sign(secret or "", payload, delivery="evt-x", at=at)
    if tamper == "unsigned":
        del headers["x-hookfake-signature"]
    with caplog.at_level(logging.WARNING):
        response = world.client.post(world.path, content=payload, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "webhook.refused"
    assert inbox(world) == []
    counted = status(world)
    assert (counted["refused"], counted["verified"]) == (1, 0)
    assert counted["last_refusal"].startswith("hookfake:")
    assert world.setup.secret not in caplog.text and world.setup.hook_id not in caplog.text


def test_a_signed_but_malformed_body_is_400_and_not_stored(world: HookWorld) -> None:
    response = world.post(raw=b"[not json")
    assert response.status_code == 400 and response.json()["code"] == "webhook.bad_payload"
    assert "body" in response.json()["detail"]
    assert inbox(world) == []


def test_unknown_hook_id_or_wrong_ats_is_404(world: HookWorld) -> None:
    hook_id = world.setup.hook_id
    assert world.client.post("/hooks/hookfake/" + "x" * 32, content=b"{}").status_code == 404
    wrong_ats = world.client.post(f"/hooks/greenhouse/{hook_id}", content=b"{}")
    assert wrong_ats.status_code == 404 and wrong_ats.json()["code"] == "not_found"
    assert inbox(world) == [] and status(world)["refused"] == 0


def test_a_body_past_the_limit_is_413_unread(world: HookWorld) -> None:
    response = world.post(raw=b" " * (MAX_BODY + 1))
    assert response.status_code == 413 and response.json()["code"] == "webhook.too_large"
    assert inbox(world) == [] and status(world)["verified"] == 0


def test_the_ping_is_stored_done_and_a_handshake_echoes_its_secret(world: HookWorld) -> None:
    assert world.post(raw=b'{"ping": true}', delivery="ping-1").status_code == 200
    (ping,) = inbox(world)
    assert (ping.state, ping.events) == ("done", [])
    echo = world.client.post(world.path, content=b"{}", headers={"X-Hook-Secret": "abc123"})
    assert echo.status_code == 200 and echo.headers["x-hook-secret"] == "abc123"
    assert status(world)["backlog"] == 0


def test_a_rotated_secret_keeps_the_previous_one_valid(world: HookWorld) -> None:
    old = world.setup.secret
    again = world.app.ats_hooks.setup("acme", "hookfake", base_url=PUBLIC)
    assert again.url == world.setup.url and not again.created and again.secret != old
    assert world.post({"kind": "job", "job": "J1"}, secret=old).status_code == 200
    assert world.post({"kind": "job", "job": "J1"}, secret=again.secret).status_code == 200
    third = world.app.ats_hooks.setup("acme", "hookfake", base_url=PUBLIC)
    assert world.post({"kind": "job", "job": "J1"}, secret=old).status_code == 401
    assert world.post({"kind": "job", "job": "J2"}, secret=third.secret).status_code == 200


def test_given_secrets_replace_the_stored_ones(world: HookWorld) -> None:
    given = world.app.ats_hooks.setup(
        "acme", "hookfake", base_url=PUBLIC, secrets=["lever-token-a", "lever-token-b"]
    )
    assert given.secret is None and given.secrets_stored == 2
    assert world.post({"kind": "job", "job": "J1"}, secret="lever-token-b").status_code == 200
    assert world.post({"kind": "job", "job": "J1"}).status_code == 401  # the generated one


def test_the_secret_is_stored_sealed(world: HookWorld) -> None:
    with world.app.store.engine.connect() as db:
        stored = db.exec_driver_sql("SELECT secrets FROM ats_hook_endpoints").scalar()
    assert world.setup.secret and world.setup.secret not in str(stored)
