"""``atsbridge cnts check --exit-code``: 1 when the person is excluded, for scripts."""

from __future__ import annotations

import json
from pathlib import Path

from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from click.testing import CliRunner
from cntsfake import connect


def test_exit_code_says_excluded(app: Atsbridge, tmp_path: Path) -> None:
    connect(app, "acme", default_country="GB")
    path = tmp_path / "people.csv"
    path.write_text("Email\nada@example.org\n")

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), obj=CliState(app=app))

    imported = run("cnts", "import", "acme", "P1", str(path), "--create")
    assert imported.exit_code == 0, imported.output
    hit = ["cnts", "check", "acme", "P1", "--email", "ada@example.org"]
    miss = ["cnts", "check", "acme", "P1", "--email", "bob@example.org"]
    assert run(*hit).exit_code == 0  # without the flag: answered, so 0
    excluded = run(*hit, "--exit-code")
    assert excluded.exit_code == 1 and excluded.stdout.startswith("excluded: email matches")
    assert run(*miss, "--exit-code").exit_code == 0
    as_json = run(*hit, "--exit-code", "--json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["excluded"] is True
