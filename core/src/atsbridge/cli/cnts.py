"""``atsbridge cnts ...``: a product job's Candidates Not To Source list."""

from __future__ import annotations

from pathlib import Path

import click

from atsbridge.api import Atsbridge
from atsbridge.cli._output import console, emit_json, table, when
from atsbridge.cli._root import pass_app
from atsbridge.errors import BadInput
from atsbridge.services.cnts import SOURCES, Person


@click.group()
def cnts() -> None:
    """Candidates Not To Source: list, import and check a product job's list."""


@cnts.command("list")
@click.argument("tenant")
@click.argument("product_job_id")
@click.option("--search", "-s", metavar="Q", help="Part of a name, email, LinkedIn URL or phone.")
@click.option("--source", type=click.Choice(SOURCES), help="Only entries from this source.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def list_entries(
    app: Atsbridge,
    tenant: str,
    product_job_id: str,
    search: str | None,
    source: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """Show PRODUCT_JOB_ID's do-not-source entries, newest first."""
    found = app.cnts.list_entries(
        tenant, product_job_id, search=search, source=source, limit=limit, offset=offset
    )
    if as_json:
        emit_json({"total": found.total, "entries": [e.to_json() for e in found.entries]})
        return
    if not found.entries:
        click.echo("no entries" if found.total == 0 else f"no entries past {offset}")
        return
    t = table("name", "emails", "linkedin", "phones", "company", "city", "source", "added")
    for e in found.entries:
        t.add_row(
            e.name or "-",
            "\n".join(e.emails) or "-",
            e.linkedin or "-",
            "\n".join(e.phones) or "-",
            e.company or "-",
            e.city or "-",
            e.source + (f" ({e.ats_candidate_id})" if e.ats_candidate_id else ""),
            when(e.added_at),
        )
    console().print(t)
    shown = f"{offset + 1}-{offset + len(found.entries)} of {found.total}"
    click.echo(f"{shown} entries" if found.total > len(found.entries) else f"{found.total} entries")


@cnts.command("import")
@click.argument("tenant")
@click.argument("product_job_id")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--sheet", metavar="NAME", help="Worksheet of an .xlsx file (default: the first).")
@click.option(
    "--default-country",
    metavar="CC",
    help="Country (ISO code) of phone numbers written without +; default: the connection's.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def import_file(
    app: Atsbridge,
    tenant: str,
    product_job_id: str,
    file: Path,
    sheet: str | None,
    default_country: str | None,
    as_json: bool,
) -> None:
    """Add the people of a CSV or .xlsx FILE to PRODUCT_JOB_ID's list (source "file").

    Rows that cannot be read are listed with their row number and left out; a file that
    cannot be read at all imports nothing.
    """
    report = app.cnts.import_file(
        tenant, product_job_id, file, sheet=sheet, default_country=default_country
    )
    if as_json:
        emit_json(report.to_json())
        return
    for problem in report.problems:
        click.echo(f"skipped {problem}", err=True)
    columns = ", ".join(f"{k} -> {v}" for k, v in report.columns.items())
    click.echo(f"columns: {columns}")
    if report.ignored_columns:
        click.echo(f"ignored columns: {', '.join(report.ignored_columns)}")
    parts = [f"added {report.added}"]
    if report.already_listed:
        parts.append(f"{report.already_listed} already listed")
    if report.duplicates_in_file:
        parts.append(f"{report.duplicates_in_file} duplicate rows")
    if report.problems:
        parts.append(f"{len(report.problems)} rows skipped")
    click.echo(f"{tenant}/{product_job_id}: " + ", ".join(parts))


@cnts.command("check")
@click.argument("tenant")
@click.argument("product_job_id")
@click.option("--email", "emails", multiple=True, metavar="E", help="Repeatable.")
@click.option("--linkedin", metavar="URL")
@click.option("--phone", "phones", multiple=True, metavar="P", help="Repeatable.")
@click.option("--name", metavar="N", help="Full name (matches only with --company or --city).")
@click.option("--company", metavar="C")
@click.option("--city", metavar="C")
@click.option("--default-country", metavar="CC", help="Country of phones written without +.")
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit 1 when the person is excluded (0 when not), for scripts.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def check(
    app: Atsbridge,
    tenant: str,
    product_job_id: str,
    emails: tuple[str, ...],
    linkedin: str | None,
    phones: tuple[str, ...],
    name: str | None,
    company: str | None,
    city: str | None,
    default_country: str | None,
    exit_code: bool,
    as_json: bool,
) -> int:
    """Is this person on PRODUCT_JOB_ID's do-not-source list? Says which rule matched."""
    if not (emails or linkedin or phones or name):
        raise BadInput("give at least one of --email, --linkedin, --phone, --name")
    person = Person(
        emails=emails, linkedin=linkedin, phones=phones, name=name, company=company, city=city
    )
    (result,) = app.cnts.check_batch(
        tenant, product_job_id, [person], default_country=default_country
    )
    if result.problems:
        raise BadInput("; ".join(result.problems))
    code = 1 if exit_code and result.excluded else 0
    if as_json:
        emit_json(result.to_json())
        return code
    if not result.excluded:
        click.echo("not excluded: no entry matches")
        return code
    best = result.matches[0]
    who = best.name or best.value
    click.echo(f"excluded: {best.rule} matches {who} ({best.source}, added {when(best.added_at)})")
    for other in result.matches[1:]:
        click.echo(f"  also {other.rule}: {other.name or other.value} ({other.source})")
    return code


@cnts.command("sync")
@click.argument("tenant")
@click.argument("ats")
@click.option("--job", "product_job_id", metavar="PRODUCT_JOB_ID", help="Only this job.")
@click.option("--full", is_flag=True, help="Full listing now (also removes who left).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def sync(
    app: Atsbridge, tenant: str, ats: str, product_job_id: str | None, full: bool, as_json: bool
) -> int:
    """Refresh the lists of TENANT's jobs linked in ATS from their pipelines."""
    reports = app.cnts.sync(tenant, ats, full=full, product_job_id=product_job_id)
    failed = 1 if any(r.status != "succeeded" for r in reports) else 0
    if as_json:
        emit_json([r.to_json() for r in reports])
        return failed
    if not reports:
        click.echo("no linked jobs to sync")
    for r in reports:
        c = r.counts
        click.echo(
            f"{r.scope}: {r.status} ({r.progress.get('mode', '?')}) added {c['added']}, "
            f"updated {c['updated']}, removed {c['removed']}, pages {r.pages}"
        )
        for error in r.errors:
            click.echo(f"  {error}", err=True)
    return failed


def register(root: click.Group) -> None:
    root.add_command(cnts)
