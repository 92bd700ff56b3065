"""``atsbridge users create/list/delete``: passwords never on the command line or shown."""

from __future__ import annotations

import json
from pathlib import Path

from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from click.testing import CliRunner


def run(db: str, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["--db", db, "users", *args], obj=CliState(), input=input)


def test_create_list_delete(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'u.db'}"
    made = run(db, "create", "ops", "--password-stdin", input="a long secret pw\n")
    assert made.exit_code == 0, made.output
    assert "created console user ops" in made.output
    assert "a long secret pw" not in made.output
    prompted = run(db, "create", "ana", input="another long pw\nanother long pw\n")
    assert prompted.exit_code == 0, prompted.output
    listed = run(db, "list", "--json")
    assert [u["username"] for u in json.loads(listed.stdout)] == ["ana", "ops"]
    assert "long" not in listed.stdout
    assert "ops" in run(db, "list").output
    gone = run(db, "delete", "ops")
    assert gone.exit_code == 0 and "deleted console user ops" in gone.output
    assert run(db, "delete", "ops").exit_code == 2


def test_bad_input_exits_2_naming_the_field(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'u.db'}"
    short = run(db, "create", "ops", "--password-stdin", input="short\n")
    assert short.exit_code == 2
    assert "password: must be 10 to 1024 characters" in short.output
    bad = run(db, "create", "no spaces", "--password-stdin", input="a long secret pw\n")
    assert bad.exit_code == 2 and "username:" in bad.output
    run(db, "create", "ops", "--password-stdin", input="a long secret pw\n")
    dup = run(db, "create", "ops", "--password-stdin", input="a long secret pw\n")
    assert dup.exit_code == 2 and "username: 'ops' already exists" in dup.output
    assert "no console users" not in run(db, "list").output
