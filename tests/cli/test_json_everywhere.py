"""Every command takes --json (the exceptions are listed, with why), and the new ones work."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from atsbridge.cli import cli
from click.testing import CliRunner

# Long-running servers: what they print is their log, machine-readable with --log-format json;
# there is no single result to print as JSON.
WITHOUT_JSON = {
    "host run": "a daemon: its output is its log (--log-format json)",
    "serve": "the HTTP API server: its output is its log (--log-format json)",
}


def _leaves(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        here = (*path, name)
        if isinstance(command, click.Group):
            if command.invoke_without_command:  # `connections`, `plugins` list things themselves
                yield " ".join(here), command
            yield from _leaves(command, here)
        else:
            yield " ".join(here), command


def test_every_command_has_json_except_the_listed_servers() -> None:
    lacking = []
    for name, command in _leaves(cli):
        has = any("--json" in p.opts for p in command.params if isinstance(p, click.Option))
        if not has and name not in WITHOUT_JSON:
            lacking.append(name)
        if has:
            assert name not in WITHOUT_JSON, f"{name} has --json: take it off the list"
    assert lacking == []
    names = {name for name, _ in _leaves(cli)}
    assert set(WITHOUT_JSON) <= names  # the exceptions are real commands


def test_db_current_and_upgrade_json(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'j.db'}"
    for verb in ("upgrade", "current"):
        result = CliRunner().invoke(cli, ["--db", db, "db", verb, "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["url"] == db and isinstance(data["revision"], str) and data["revision"]


def test_plugin_new_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["plugin", "new", "jsonats", "--dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["name"] == "jsonats" and Path(data["path"]).is_dir()
    assert data["next"][0].startswith(f"{sys.executable} -m pip install -e ")


def test_leads_schema_json_is_the_schema() -> None:
    plain = CliRunner().invoke(cli, ["leads", "schema"])
    as_json = CliRunner().invoke(cli, ["leads", "schema", "--json"])
    assert as_json.exit_code == 0 and json.loads(as_json.stdout) == json.loads(plain.stdout)
