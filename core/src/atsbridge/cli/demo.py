"""``atsbridge demo``: every installed plugin's sandbox, end to end, told as a story."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from click.core import ParameterSource
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from atsbridge.cli._output import console, emit_json
from atsbridge.cli._root import CliState
from atsbridge.demo import run_demo
from atsbridge.services.sync import RunReport


@contextmanager
def _progress_bar(label: str) -> Iterator[Callable[[RunReport], None]]:
    # Bars only on a terminal: piped output (tests, logs) keeps just the story.
    if not sys.stdout.isatty():
        yield lambda _report: None
        return
    columns = (
        SpinnerColumn(),
        TextColumn(f"  {label}"),
        BarColumn(),
        TextColumn("{task.fields[pages]} page(s)"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console(), transient=True) as bar:
        task = bar.add_task(label, total=None, pages=0)

        def on_progress(report: RunReport) -> None:
            done = report.status != "running"
            bar.update(task, pages=report.pages, total=1 if done else None, completed=int(done))

        yield on_progress


@contextmanager
def _no_bars(_label: str) -> Iterator[Callable[[RunReport], None]]:
    yield lambda _report: None


@click.command()
@click.option(
    "--keep",
    is_flag=True,
    help="Keep the temporary database and key afterwards; prints the commands to look at it.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (at the end).")
@click.pass_context
def demo(ctx: click.Context, keep: bool, as_json: bool) -> None:
    """Run every installed plugin's fake ATS and walk through the whole flow.

    Connect, sync, search, import, do-not-source, lead export with a resume, a job closed
    in the ATS, a stage moved and the funnel: in a temporary SQLite database (or --db),
    cleaned up afterwards. Each step prints the CLI command that does the same.
    """
    state = ctx.find_object(CliState)
    registry = state.registry if state is not None else None
    db = state.db if state is not None else None
    parent = ctx.parent
    if parent is not None and parent.get_parameter_source("db") is not ParameterSource.COMMANDLINE:
        # ATSBRIDGE_DB names the real database: the demo never writes its tenant there
        # unless --db asks for it explicitly.
        db = None
    say = (lambda _line: None) if as_json else click.echo
    bars = _no_bars if as_json else _progress_bar
    story = run_demo(say, db=db, registry=registry, progress=bars, keep=keep)
    if as_json:
        emit_json(
            {
                "ok": not story.problems,
                "lines": story.lines,
                "problems": story.problems,
                "kept_db": story.kept_db,
                "look": [["atsbridge", *words] for words in story.look],
            }
        )
    if story.problems:
        ctx.exit(1)


def register(root: click.Group) -> None:
    root.add_command(demo)
