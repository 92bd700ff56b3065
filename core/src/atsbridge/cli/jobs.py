"""``atsbridge jobs search|import|list``: the mirrored ATS jobs and their links."""

from __future__ import annotations

import click

from atsbridge.api import Atsbridge
from atsbridge.cli._output import console, echo_ids, emit_json, hint, table, when
from atsbridge.cli._root import pass_app
from atsbridge.services.jobs import MAX_SEARCH_LIMIT


@click.group()
def jobs() -> None:
    """Search the ATS job mirror, import (link) jobs, list the links."""


@jobs.command()
@click.argument("tenant")
@click.argument("query", required=False)
@click.option("--ats", help="Only this ATS connection's jobs.")
@click.option("--status", help="Only these statuses (comma-separated: open,closed,draft,on_hold).")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_SEARCH_LIMIT),
    default=20,
    show_default=True,
    help="Jobs per page.",
)
@click.option(
    "--offset", type=click.IntRange(0, 2**63 - 1), default=0, help="Skip this many (paging)."
)
@click.option("-q", "--ids", "ids_only", is_flag=True, help="Print only the ATS job ids.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def search(
    app: Atsbridge,
    tenant: str,
    query: str | None,
    ats: str | None,
    status: str | None,
    limit: int,
    offset: int,
    ids_only: bool,
    as_json: bool,
) -> None:
    """Find TENANT's ATS jobs by title, location, reference or id (none: most recent)."""
    page = app.jobs.search(tenant, query, ats=ats, status=status, limit=limit, offset=offset)
    if as_json:
        emit_json(page.to_json())
        return
    if ids_only:
        echo_ids(j.ats_id for j in page.items)
        return
    if not page.items:
        click.echo("no jobs found")
        return
    t = table(
        "ats", "id", "reference", "title", "location", "status", "updated", "imported as",
        ids=("id", "reference", "imported as"),
    )  # fmt: skip
    for j in page.items:
        t.add_row(
            j.ats,
            j.ats_id,
            j.reference or "-",
            j.title,
            j.location or "-",
            j.status,
            when(j.updated_at),
            j.linked_to or "-",
        )
    console().print(t)
    if page.next_offset is not None:
        click.echo(f"more: --offset {page.next_offset}")
    first = next((j for j in page.items if not j.linked_to), None)
    if first is not None:
        hint(
            f"atsbridge jobs import {tenant} {first.ats} {first.reference or first.ats_id} "
            "--job PRODUCT_JOB_ID",
            "link one to your product's job",
        )


@jobs.command("import")
@click.argument("tenant")
@click.argument("ats")
@click.argument("ats_job_id", metavar="JOB")
@click.option("--job", "product_job_id", required=True, help="The product's job id to link.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def import_job(
    app: Atsbridge, tenant: str, ats: str, ats_job_id: str, product_job_id: str, as_json: bool
) -> None:
    """Link ATS job JOB to the product job --job; prints the prefilled fields.

    JOB is the ATS job's id, its reference (ENG-1007) or a unique prefix of its id (at
    least 4 characters), as `jobs search` shows them.
    """
    result = app.jobs.import_job(tenant, ats, ats_job_id, product_job_id)
    if as_json:
        emit_json(result.to_json())
        return
    ats_job_id = result.ats_job_id
    click.echo(f"imported {ats} job {ats_job_id} as product job {product_job_id} ({result.state})")
    t = table("field", "value")
    for name, value in result.prefilled.items():
        if isinstance(value, dict):
            value = value.get("text")
        t.add_row(name, "-" if value in (None, "") else str(value)[:200])
    console().print(t)
    if result.missing:
        click.echo(f"still to fill in: {', '.join(result.missing)}")
    if result.adopted_leads:
        n = result.adopted_leads
        click.echo(f"queued again: {n} lead{'' if n == 1 else 's'} left waiting by a disconnect")
    hint(
        f"atsbridge cnts sync {tenant} {ats} --job {product_job_id}",
        "fill its do-not-source list from the ATS pipeline",
    )


@jobs.command("list")
@click.argument("tenant")
@click.option("-q", "--ids", "ids_only", is_flag=True, help="Print only the product job ids.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def list_links(app: Atsbridge, tenant: str, ids_only: bool, as_json: bool) -> None:
    """TENANT's imported jobs: link state (open/closed) and how fresh the mirror is."""
    links = app.jobs.list(tenant)
    if as_json:
        emit_json([link.to_json() for link in links])
        return
    if ids_only:
        echo_ids(link.product_job_id for link in links)
        return
    if not links:
        click.echo("no imported jobs")
        return
    t = table(
        "product job", "ats", "ats job", "state", "title (imported)", "now", "synced",
        ids=("product job", "ats job"),
    )  # fmt: skip
    for link in links:
        now = link.current_title if link.in_mirror else "(gone from the ATS)"
        t.add_row(
            link.product_job_id,
            link.ats,
            link.ats_job_id,
            link.state + (f" ({link.status_raw})" if link.status_raw != link.state else ""),
            link.title,
            "same" if now == link.title else (now or "-"),
            when(link.mirror_synced_at),
        )
    console().print(t)


def register(root: click.Group) -> None:
    root.add_command(jobs)
