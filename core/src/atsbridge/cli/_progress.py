"""Progress of sync runs for people: pages, items (of the ATS's total), rate, time left.

On a terminal (stderr) it is a live bar per run; ``--progress`` forces one plain line per
page instead (logs, CI), ``--no-progress`` turns it off. The ``+ ~ - =`` counts are
explained once, when progress starts. Everything goes to stderr: stdout stays the result.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from atsbridge.services.sync import RunReport

__all__ = ["LEGEND", "describe", "progress_option", "run_progress"]

LEGEND = "counts: + added  ~ updated  - removed  = unchanged"


def progress_option(command: Any) -> Any:
    """``--progress/--no-progress`` (default: on when stderr is a terminal)."""
    return click.option(
        "--progress/--no-progress",
        "show_progress",
        default=None,
        help="Show progress on stderr (default: when it is a terminal; forced: one line a page).",
    )(command)


def items_seen(counts: Mapping[str, int]) -> int:
    return sum(counts.get(k, 0) for k in ("added", "updated", "unchanged"))


def _duration(left: float) -> str:
    seconds = round(left)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def describe(report: RunReport, elapsed: float) -> str:
    """``3 page(s), 250 of 1,000 items, 50/s, about 15s left, +200 ~50 -0 =0``."""
    c = report.counts
    seen = items_seen(c)
    total = report.progress.get("total")
    total = total if isinstance(total, int) and total >= seen else None
    items = f"{seen:,} of {total:,} items" if total else f"{seen:,} items"
    parts = [f"{report.pages} page(s)", items]
    rate = seen / elapsed if elapsed > 0 else 0.0
    if seen and elapsed > 0:
        parts.append(f"{rate:,.0f}/s" if rate >= 10 else f"{rate:.1f}/s")
    if total and rate > 0 and report.status == "running" and total > seen:
        parts.append(f"about {_duration((total - seen) / rate)} left")
    parts.append(
        f"+{c.get('added', 0)} ~{c.get('updated', 0)} -{c.get('removed', 0)} "
        f"={c.get('unchanged', 0)}"
    )
    return ", ".join(parts)


def _label(report: RunReport) -> str:
    return f"{report.tenant}/{report.ats} {report.kind}" + (
        f"/{report.scope}" if report.scope else ""
    )


@contextmanager
def run_progress(
    show: bool | None, *, clock: Callable[[], float] = time.monotonic
) -> Iterator[Callable[[RunReport], None]]:
    """Yield an ``on_progress`` callback for the sync services; None ``show`` = automatic."""
    live = sys.stderr.isatty()
    if show is None:
        show = live
    if not show:
        yield lambda _report: None
        return
    click.echo(LEGEND, err=True)
    started: dict[int, float] = {}

    def elapsed(report: RunReport) -> float:
        return clock() - started.setdefault(report.id, clock())

    if not live:

        def line(report: RunReport) -> None:
            click.echo(f"{_label(report)}: {describe(report, elapsed(report))}", err=True)

        yield line
        return
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(file=sys.stderr), transient=True) as bar:
        tasks: dict[int, Any] = {}

        def update(report: RunReport) -> None:
            if report.id not in tasks:
                tasks[report.id] = bar.add_task(_label(report), total=None, detail="")
            total = report.progress.get("total")
            bar.update(
                tasks[report.id],
                detail=describe(report, elapsed(report)),
                total=total if isinstance(total, int) and total > 0 else None,
                completed=items_seen(report.counts),
            )

        yield update
