"""Fixtures of the console tests: the HTTP tests' world (two tenants, keys), a staff user,
and TestClients over ``create_app`` (https, so the embedded session's Secure cookie is
sent back as a browser would)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from atsbridge.console.users import ConsoleUserService
from atsbridge.http.app import create_app
from fastapi import FastAPI
from fastapi.testclient import TestClient

sys.path.append(str(Path(__file__).resolve().parents[1] / "http"))
sys.path.append(str(Path(__file__).resolve().parent))

from consoleworld import PASSWORD, sign_in
from httpworld import World, make_world


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    w = make_world(db_url)
    ConsoleUserService(w.app).create("staff", PASSWORD)
    try:
        yield w
    finally:
        w.app.close()


@pytest.fixture
def api(world: World) -> Iterator[FastAPI]:
    app = create_app(world.app, console_frame_ancestors="https://product.example")
    yield app
    # A sync a page started must end before the database goes (PostgreSQL's DROP SCHEMA
    # would deadlock with its writes); the server itself does not wait for it on shutdown.
    app.state.sync_pool.shutdown(wait=True)


@pytest.fixture
def anon(api: FastAPI) -> Iterator[TestClient]:
    with TestClient(api, base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def staff(anon: TestClient) -> TestClient:
    anon.headers["x-test-csrf"] = sign_in(anon)
    return anon
