"""Embedded sessions: a one-time URL from the API, bound to one tenant, views and scope."""

from __future__ import annotations

from consoleworld import embedded
from fastapi.testclient import TestClient
from httpworld import World, problem


def test_a_console_url_opens_once_into_a_session_of_that_tenant(
    world: World, anon: TestClient
) -> None:
    grant = anon.post(
        "/v1/tenants/acme/console-sessions",
        json={"views": ["connections"], "ttl_seconds": 60},
        headers=world.auth("acme_write"),
    )
    assert grant.status_code == 201, grant.text
    body = grant.json()
    assert body["url"].startswith("/console/embed/")
    assert body["tenant"] == "acme" and body["views"] == ["connections"]
    assert body["scope"] == "write"
    opened = anon.get(body["url"], follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"] == "/console/t/acme/connections"
    cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=none" in cookie and "Secure" in cookie
    page = anon.get("/console/t/acme/connections")
    assert page.status_code == 200 and "Connections of acme" in page.text
    assert "frame-ancestors https://product.example" in page.headers["content-security-policy"]
    again = TestClient(anon.app, base_url="https://testserver").get(body["url"])
    assert again.status_code == 404
    assert "already used or expired" in again.text


def test_an_embedded_session_never_reaches_another_tenant(world: World, anon: TestClient) -> None:
    embedded(anon, world, "acme_write", "acme")
    other = anon.get("/console/t/globex/connections")
    assert other.status_code == 404
    assert "no tenant &#39;globex&#39;" in other.text
    assert "globex" not in anon.get("/console/", follow_redirects=True).text.split("<main")[1]
    refused = anon.post("/console/t/globex/connections/httpfake/sync", data={"csrf": "x"})
    assert refused.status_code == 404


def test_an_embedded_session_opens_only_its_views(world: World, anon: TestClient) -> None:
    grant = anon.post(
        "/v1/tenants/acme/console-sessions",
        json={"views": ["jobs"]},
        headers=world.auth("acme_write"),
    ).json()
    opened = anon.get(grant["url"], follow_redirects=False)
    assert opened.headers["location"] == "/console/t/acme/jobs"
    assert anon.get("/console/t/acme/connections").status_code == 404


def test_a_key_cannot_grant_more_than_it_has_or_another_tenant(
    world: World, anon: TestClient
) -> None:
    too_much = anon.post(
        "/v1/tenants/acme/console-sessions",
        json={"scope": "admin"},
        headers=world.auth("acme_write"),
    )
    problem(too_much, 403, "auth.forbidden")
    other = anon.post("/v1/tenants/globex/console-sessions", headers=world.auth("acme_write"))
    problem(other, 404, "not_found")
    bad = anon.post(
        "/v1/tenants/acme/console-sessions",
        json={"views": ["secrets"]},
        headers=world.auth("acme_write"),
    )
    assert problem(bad, 422, "input.invalid")["errors"][0]["field"] == "body.views[0]"
    keyless = anon.post("/v1/tenants/acme/console-sessions")
    problem(keyless, 401, "auth.missing_key")


def test_a_read_session_cannot_act(world: World, anon: TestClient) -> None:
    csrf = embedded(anon, world, "acme_read", "acme")
    page = anon.get("/console/t/acme/connections")
    assert "Sync now" not in page.text and "Connect httpfake" not in page.text
    refused = anon.post("/console/t/acme/connections/httpfake/sync", data={"csrf": csrf})
    assert refused.status_code == 403
    assert "scope is read; this needs write" in refused.text
    assert anon.get("/console/t/acme/connect/httpfake").status_code == 403


def test_an_expired_grant_does_not_open(world: World, anon: TestClient) -> None:
    grant = anon.post(
        "/v1/tenants/acme/console-sessions",
        json={"ttl_seconds": 10},
        headers=world.auth("acme_write"),
    ).json()
    world.app.clock.now += __import__("datetime").timedelta(seconds=11)  # type: ignore[attr-defined]
    assert anon.get(grant["url"]).status_code == 404
