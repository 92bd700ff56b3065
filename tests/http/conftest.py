"""Fixtures of the HTTP API tests (see ``httpworld``): ``world`` over ``db_url`` and
``client``, a Starlette TestClient over ``create_app``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from atsbridge.http.app import create_app
from fastapi.testclient import TestClient

sys.path.append(str(Path(__file__).resolve().parent))

from httpworld import World, make_world


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    w = make_world(db_url)
    try:
        yield w
    finally:
        w.app.close()


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.app), raise_server_exceptions=False) as c:
        yield c
