"""Fixtures shared by the cross-package tests.

* every test runs with its own ATSBRIDGE_HOME (data dir, key file) and without any
  ATSBRIDGE_* variable from the caller's environment;
* ``db_url`` runs a test once on SQLite and once on PostgreSQL (own schema, dropped after);
  when no PostgreSQL server answers, the PostgreSQL tests skip with the reason, except
  under CI (``CI=true``), where they fail: CI must not go green without them;
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


_pg_probe: list[str | None] = []  # the probe's outcome, once per test process


def pg_unavailable() -> str | None:
    """Why the test PostgreSQL server cannot be used (None: it answers). Probed once."""
    if not _pg_probe:
        url = sa.make_url(PG_ADMIN_URL)
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            _pg_probe.append(None)
        except Exception as exc:  # any failure to reach it is "not available", with why
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            shown = url.render_as_string(hide_password=True)
            _pg_probe.append(f"no PostgreSQL server answers at {shown}: {first}")
        finally:
            engine.dispose()
    return _pg_probe[0]


def require_pg() -> None:
    """Skip (or, under CI=true, fail) the calling test when PostgreSQL does not answer."""
    reason = pg_unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)", pytrace=False)
    pytest.skip(f"{reason}; start it (see README) or deselect with -m 'not postgres'")


def pytest_configure(config: pytest.Config) -> None:
    # tests/console/browser marks its tests; `-m "not browser"` leaves out Chromium.
    config.addinivalue_line("markers", "browser: drives Debian's Chromium (/usr/bin/chromium)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Every test marked postgres (db_url's postgres half included) needs the server.
    if item.get_closest_marker("postgres") is not None:
        require_pg()


@pytest.fixture
def pg_schema_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards.

    Sets ATSBRIDGE_SECRET_KEY too: with PostgreSQL the key must be configured (never minted).
    """
    require_pg()
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
