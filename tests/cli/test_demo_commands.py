"""The demo prints the CLI command behind each step; --keep prints how to look at the database."""

from __future__ import annotations

import json
import shlex
import shutil
import warnings
from pathlib import Path

import click
from atsbridge.cli import cli
from click.testing import CliRunner


def _rest(ctx: click.Context) -> list[str]:
    with warnings.catch_warnings():  # protected_args: click 8's name for a group's rest
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*ctx.protected_args, *ctx.args]


def _parses(words: list[str], tmp_path: Path) -> None:
    """The command names real subcommands and options (click parses it without running)."""
    stand_in = tmp_path / "stand-in.json"
    stand_in.write_text("{}")
    words = [str(stand_in) if w.startswith("<") else w for w in words]
    ctx = cli.make_context("atsbridge", list(words), resilient_parsing=False)
    group: click.Group = cli
    rest = _rest(ctx)
    while rest:
        name, *rest = rest
        command = group.get_command(ctx, name)
        assert command is not None, f"no command {name!r} in {words}"
        ctx = command.make_context(name, list(rest), parent=ctx)
        if not isinstance(command, click.Group):
            return
        group, rest = command, _rest(ctx)


def test_each_step_is_followed_by_its_cli_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    commands = [
        shlex.split(line.split("$ ", 1)[1]) for line in lines if "      $ atsbridge" in line
    ]
    verbs = [" ".join(c[1:3]) for c in commands]
    for expected in (
        "sandbox lever",
        "connect demo",
        "sync demo",
        "jobs search",
        "jobs import",
        "cnts sync",
        "cnts list",
        "leads push",
        "leads funnel",
    ):
        assert expected in verbs, expected
    for words in commands:
        assert words[0] == "atsbridge"
        _parses(words[1:], tmp_path)
    # every told step (a line starting with a capital after the start) has its command next
    for i, line in enumerate(lines):
        if line.startswith(("Connected ", "Searched ", "Do-not-source ", "Exported ", "Closed ")):
            assert lines[i + 1].startswith("      $ atsbridge "), line
    assert "look at it with" not in result.stdout  # nothing kept, nothing to look at


def test_keep_prints_commands_that_read_the_kept_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--keep", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    kept = data["kept_db"]
    assert data["ok"] and kept.startswith("sqlite:///")
    db_file = Path(kept.removeprefix("sqlite:///"))
    try:
        assert db_file.exists()
        assert any(line.startswith("The database is kept at") for line in data["lines"])
        outputs = []
        for words in data["look"]:
            assert words[:3] == ["atsbridge", "--db", kept]
            ran = CliRunner().invoke(cli, words[1:])  # a fresh process state: key beside the db
            assert ran.exit_code == 0, (words, ran.output)
            outputs.append(ran.stdout)
        joined = "\n".join(outputs)
        assert "demo-greenhouse" in joined and "lever" in joined
        assert "interviewing" in joined  # the funnel the demo moved Ada into
    finally:
        shutil.rmtree(db_file.parent, ignore_errors=True)
