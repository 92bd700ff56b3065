"""The secret key is never replaced silently: no new key beside sealed secrets, none minted
for a shared PostgreSQL database."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.errors import BadInput
from atsbridge.secrets import KEY_FILE_NAME
from click.testing import CliRunner
from fakeats import GOOD_KEY

GOOD = {"api_key": GOOD_KEY, "account": "acme-co"}


def test_a_missing_key_file_is_not_replaced_while_sealed_secrets_exist(
    registry, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    key_file = tmp_path / KEY_FILE_NAME
    with Atsbridge(db=db, registry=registry) as app:
        app.connections.connect("acme", "fakeats", GOOD)
    saved = key_file.read_bytes()
    key_file.unlink()
    with Atsbridge(db=db, registry=registry) as app:
        with pytest.raises(BadInput, match="restore that key") as exc:
            app.connections.connect("beta", "fakeats", GOOD)
        assert str(exc.value).startswith("ATSBRIDGE_SECRET_KEY: not set and the key file")
    assert not key_file.exists()
    result = CliRunner().invoke(
        cli,
        ["--db", db, "connect", "beta", "fakeats", "--config", "-"],
        obj=CliState(registry),
        input=json.dumps({**GOOD, "account": "b"}),
    )
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1 and "restore that key" in result.stderr
    assert not key_file.exists()
    key_file.write_bytes(saved)  # the restored key opens what was sealed with it
    with Atsbridge(db=db, registry=registry) as app, app.open_session("acme", "fakeats"):
        pass


def test_a_fresh_sqlite_store_still_creates_its_key(registry, tmp_path: Path) -> None:
    with Atsbridge(db=f"sqlite:///{tmp_path / 'store.db'}", registry=registry) as app:
        app.connections.connect("acme", "fakeats", GOOD)
    assert (tmp_path / KEY_FILE_NAME).exists()


@pytest.mark.postgres
def test_postgres_requires_a_configured_key(
    registry, pg_schema_url: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = os.environ["ATSBRIDGE_SECRET_KEY"]  # set by the pg_schema_url fixture
    monkeypatch.delenv("ATSBRIDGE_SECRET_KEY")
    with Atsbridge(db=pg_schema_url, registry=registry) as app:
        with pytest.raises(BadInput) as exc:
            app.connections.connect("acme", "fakeats", GOOD)
        assert str(exc.value) == (
            "ATSBRIDGE_SECRET_KEY: required with PostgreSQL (set the same key on every host); "
            "atsbridge does not create a key for a shared database"
        )
        assert app.connections.list() == []
    assert not (isolated_env / KEY_FILE_NAME).exists()
    monkeypatch.setenv("ATSBRIDGE_SECRET_KEY", configured)
    with Atsbridge(db=pg_schema_url, registry=registry) as app:
        app.connections.connect("acme", "fakeats", GOOD)
    assert not (isolated_env / KEY_FILE_NAME).exists()
