"""``atsbridge sync TENANT ATS [--jobs|--links|...]``: run syncs now, with a progress bar.

The flags come from the registry of sync kinds (``atsbridge.services.sync.KINDS``): a
service that registers a kind gets its flag here without editing this module.
"""

from __future__ import annotations

from typing import Any

import click

from atsbridge.api import Atsbridge
from atsbridge.cli._output import console, emit_json, hint, table, when
from atsbridge.cli._progress import progress_option, run_progress
from atsbridge.cli._root import pass_app
from atsbridge.errors import AtsbridgeError
from atsbridge.services import removals
from atsbridge.services.sync import RunReport, load_kinds

KIND_SPECS = load_kinds()


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def _with_kind_flags(command: Any) -> Any:
    for spec in reversed(KIND_SPECS):
        command = click.option(
            spec.flag, f"kind_{spec.name}", is_flag=True, help=_sentence(spec.help)
        )(command)
    return command


@click.command()
@click.argument("tenant")
@click.argument("ats")
@click.option("--full", is_flag=True, help="Page through everything, ignoring the high-water mark.")
@click.option("--history", is_flag=True, help="Show the recent runs instead of running.")
@click.option(
    "--confirm-removals",
    is_flag=True,
    help="Let a full pass remove more than half of a mirror or list (held otherwise).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@progress_option
@_with_kind_flags
@pass_app
def sync(
    app: Atsbridge,
    tenant: str,
    ats: str,
    full: bool,
    history: bool,
    confirm_removals: bool,
    as_json: bool,
    show_progress: bool | None,
    **flags: bool,
) -> None:
    """Sync TENANT's ATS connection now (every kind unless flags pick some).

    Progress (stderr) shows pages, items of the ATS's total where it gives one, the rate
    and the time left; counts read + added, ~ updated, - removed, = unchanged.
    """
    chosen = [spec.name for spec in KIND_SPECS if flags.get(f"kind_{spec.name}")]
    if history:
        _show(app.sync.runs(tenant, ats, limit=20), as_json)
        return
    kinds = chosen or None
    run_ids: list[int] = []
    if as_json and show_progress is None:
        show_progress = False

    try:
        with run_progress(show_progress) as progress, removals.confirmed(confirm_removals):

            def on_progress(report: RunReport) -> None:
                if report.id not in run_ids:
                    run_ids.append(report.id)
                progress(report)

            reports = app.sync.run(tenant, ats, kinds, full=full, on_progress=on_progress)
    except AtsbridgeError:
        # Show what the runs recorded (the failed one included) before the error line.
        recorded = [r for r in app.sync.runs(tenant, ats, limit=50) if r.id in run_ids]
        _show(sorted(recorded, key=lambda r: r.id), as_json)
        raise
    _show(reports, as_json)
    if not as_json and any(r.kind == "jobs" and r.status == "succeeded" for r in reports):
        hint(f'atsbridge jobs search {tenant} "TEXT" --ats {ats}', "find a job to import")


def _show(reports: list[RunReport], as_json: bool) -> None:
    if as_json:
        emit_json([r.to_json() for r in reports])
        return
    t = table("run", "kind", "status", "pages", "added", "updated", "removed", "started", "ended")
    for r in reports:
        c = r.counts
        t.add_row(
            str(r.id),
            r.kind + (f"/{r.scope}" if r.scope else ""),
            r.status,
            str(r.pages),
            str(c.get("added", 0)),
            str(c.get("updated", 0)),
            str(c.get("removed", 0)),
            when(r.started_at),
            when(r.ended_at),
        )
    console().print(t)
    for r in reports:
        for error in r.errors:
            click.echo(f"run {r.id} {r.kind}: {error}", err=True)


def register(root: click.Group) -> None:
    root.add_command(sync)
