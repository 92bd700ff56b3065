"""Printing helpers shared by command modules: JSON for machines, rich tables for people."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

import click
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def console() -> Console:
    # Created per call so it writes to the current sys.stdout (click's runner swaps it);
    # wide when not a terminal so piped tables are not squeezed to 80 columns.
    tty = sys.stdout.isatty()
    return Console(file=sys.stdout, width=None if tty else 160, soft_wrap=not tty)


class _Table(Table):
    """A table whose id columns are as wide as their longest value: an id never wraps."""

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*renderables, **kwargs)
        for column, value in zip(self.columns, renderables, strict=False):
            if column.no_wrap and isinstance(value, str):
                column.min_width = max(column.min_width or 0, cell_len(value))


def table(*columns: str, title: str | None = None, ids: Collection[str] = ()) -> Table:
    """A table for people; the columns named in ``ids`` never wrap (ids must stay copyable).

    Other columns fold when the terminal is narrow.
    """
    t = _Table(title=title, show_lines=False, header_style="bold")
    for c in columns:
        if c in ids:
            t.add_column(c, no_wrap=True, overflow="ignore")
        else:
            t.add_column(c, overflow="fold")
    return t


def echo_ids(ids: Iterable[str]) -> None:
    """``-q/--ids`` output: one id per line, nothing else (for ``xargs`` and scripts)."""
    for value in ids:
        click.echo(value)


def hint(command: str, why: str = "") -> None:
    """Print the next command a person would likely run, on stderr (stdout stays data).

    Off under ``--json``/``-q`` (callers do not call it then) and with ATSBRIDGE_NO_HINTS.
    """
    if os.environ.get("ATSBRIDGE_NO_HINTS"):
        return
    click.echo(f"next: {command}" + (f"  ({why})" if why else ""), err=True)


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"
