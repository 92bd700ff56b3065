"""Helpers of the console tests: sign in, open an embedded session, read CSRF tokens."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpworld import World

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"|name="csrf-token" content="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1) or match.group(2)


def sign_in(client: TestClient, username: str = "staff", password: str = PASSWORD) -> str:
    """Sign ``client`` in; returns the session's CSRF token (from the page it lands on)."""
    form = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf": csrf_of(form.text)},
        follow_redirects=True,
    )
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


def embedded(client: TestClient, world: World, key: str, tenant: str, **body: object) -> str:
    """Open an embedded session on ``client`` for ``tenant``; returns its CSRF token."""
    grant = client.post(
        f"/v1/tenants/{tenant}/console-sessions", json=body, headers=world.auth(key)
    )
    assert grant.status_code == 201, grant.text
    page = client.get(grant.json()["url"], follow_redirects=True)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)
