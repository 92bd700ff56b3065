"""Fixtures shared by the cross-package tests.

* every test runs with its own ATSBRIDGE_HOME (data dir, key file) and without any
  ATSBRIDGE_* variable from the caller's environment;
* ``db_url`` runs a test once on SQLite and once on PostgreSQL (own schema, dropped after);
* ``fake`` / ``registry`` give an in-process fake ATS plugin (tests/fakeats.py).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from atsbridge.plugins import PluginRegistry
from cryptography.fernet import Fernet

# Helper modules beside this file (fakeats) are imported by name from the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakeats import FakeAts

PG_ADMIN_URL = os.environ.get(
    "ATSBRIDGE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in list(os.environ):
        if var.startswith("ATSBRIDGE_") and var != "ATSBRIDGE_TEST_PG":
            monkeypatch.delenv(var)
    home = tmp_path / "home"
    monkeypatch.setenv("ATSBRIDGE_HOME", str(home))
    return home


@pytest.fixture
def pg_schema_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards.

    Sets ATSBRIDGE_SECRET_KEY too: with PostgreSQL the key must be configured (never minted).
    """
    monkeypatch.setenv("ATSBRIDGE_SECRET_KEY", Fernet.generate_key().decode())
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    base = sa.make_url(PG_ADMIN_URL)
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def fake() -> FakeAts:
    return FakeAts()


@pytest.fixture
def registry(fake: FakeAts) -> PluginRegistry:
    reg = PluginRegistry()
    reg.register(fake, "fakeats", "atsbridge-fakeats")
    assert reg.statuses[-1].ok, reg.statuses[-1].error
    return reg


@pytest.fixture
def config_file(tmp_path: Path):
    """Write a connection config as JSON under tmp_path; returns its path."""

    def write(config: object, name: str = "config.json") -> str:
        path = tmp_path / name
        path.write_text(json.dumps(config))
        return str(path)

    return write
