"""Fixtures of the CLI tests: a runner over the fake ATS on a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.plugins import PluginRegistry
from click.testing import CliRunner, Result
from fakeats import GOOD_KEY

GOOD = {"api_key": GOOD_KEY, "account": "acme-co"}


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def run(registry: PluginRegistry, db: str):
    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["--db", db, *args], obj=CliState(registry), input=input)

    return invoke
