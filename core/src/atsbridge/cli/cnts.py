"""``atsbridge cnts ...``: a product job's Candidates Not To Source list."""

from __future__ import annotations

from pathlib import Path

import click

from atsbridge.api import Atsbridge
from atsbridge.cli._output import console, emit_json, table, when
from atsbridge.cli._progress import progress_option, run_progress
from atsbridge.cli._root import pass_app
from atsbridge.errors import BadInput
from atsbridge.services.cnts import MAX_INT64, SOURCES, Person


@click.group()
def cnts() -> None:
    """Candidates Not To Source: list, import and check a product job's list."""


@cnts.command("list")
@click.argument("tenant")
@click.argument("product_job_id")
@click.option("--search", "-s", metavar="Q", help="Part of a name, email, LinkedIn URL or phone.")
@click.option("--source", type=click.Choice(SOURCES), help="Only entries from this source.")
@click.option("--limit", type=click.IntRange(1, MAX_INT64), default=100, show_default=True)
@click.option("--offset", type=click.IntRange(0, MAX_INT64), default=0, show_default=True)
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
    help="Country (ISO code or name) of phone numbers written without +; default: the "
    "connection's.",
)
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="HEADER=FIELD",
    help="Read column HEADER as FIELD (email, linkedin, phone, first_name, last_name, "
    "full_name, company, city, country, or ignore). Repeatable.",
)
@click.option("--create", is_flag=True, help="Create the list of a job that has no ATS link.")
@click.option("--dry-run", is_flag=True, help="Show the mapping, counts and errors; store nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def import_file(
    app: Atsbridge,
    tenant: str,
    product_job_id: str,
    file: Path,
    sheet: str | None,
    default_country: str | None,
    mappings: tuple[str, ...],
    create: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Add the people of a CSV or .xlsx FILE to PRODUCT_JOB_ID's list (source "file").

    A person already listed from a file is updated, not added twice. A value that cannot
    be read is left out with a warning naming its row and column; a row with nothing usable
    is skipped; a file that cannot be read at all imports nothing.
    """
    report = app.cnts.import_file(
        tenant,
        product_job_id,
        file,
        sheet=sheet,
        default_country=default_country,
        column_map=_column_map(mappings),
        create=create,
        dry_run=dry_run,
    )
    if as_json:
        emit_json(report.to_json())
        return
    notes = [f"skipped {p}" for p in report.problems] + [f"warning: {w}" for w in report.warnings]
    notes += [f"warning: {f}" for f in report.formulas]
    shown = notes[:DRY_RUN_ERRORS] if dry_run else notes
    for note in shown:
        click.echo(note, err=True)
    if len(shown) < len(notes):
        click.echo(f"... and {len(notes) - len(shown)} more", err=True)
    columns = ", ".join(f"{k} -> {v}" for k, v in report.columns.items())
    click.echo(f"columns: {columns}")
    if report.ignored_columns:
        click.echo(f"ignored columns: {', '.join(report.ignored_columns)}")
    parts = [f"added {report.added}"]
    if report.updated:
        parts.append(f"updated {report.updated}")
    if report.unchanged:
        parts.append(f"{report.unchanged} unchanged")
    if report.duplicates_in_file:
        parts.append(f"{report.duplicates_in_file} duplicate rows")
    if report.problems:
        parts.append(f"{len(report.problems)} rows skipped")
    if report.warnings:
        parts.append(f"{len(report.warnings)} values left out")
    where = f"{tenant}/{product_job_id}"
    if dry_run:
        click.echo(f"dry run, nothing stored: {where} would be " + ", ".join(parts))
    else:
        click.echo(f"{where}: " + ", ".join(parts) + f" (import {report.import_id})")


DRY_RUN_ERRORS = 20  # row errors a dry run shows; the JSON output has them all


def _column_map(mappings: tuple[str, ...]) -> dict[str, str]:
    column_map: dict[str, str] = {}
    for mapping in mappings:
        header, sep, field = mapping.rpartition("=")
        if not sep or not header.strip() or not field.strip():
            raise BadInput(f"--map: expected HEADER=FIELD, not {mapping!r}")
        column_map[header.strip()] = field.strip()
    return column_map


@cnts.command("imports")
@click.argument("tenant")
@click.argument("product_job_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def list_imports(app: Atsbridge, tenant: str, product_job_id: str, as_json: bool) -> None:
    """The files imported into PRODUCT_JOB_ID's list, newest first."""
    found = app.cnts.imports(tenant, product_job_id)
    if as_json:
        emit_json([i.to_json() for i in found])
        return
    if not found:
        click.echo("no imports")
        return
    t = table("id", "file", "imported", "added", "updated", "unchanged", "skipped", "entries")
    for i in found:
        t.add_row(
            str(i.id),
            i.file_name,
            when(i.imported_at),
            str(i.added),
            str(i.updated),
            str(i.unchanged),
            str(i.skipped),
            str(i.entries),
        )
    console().print(t)


@cnts.command("remove")
@click.argument("tenant")
@click.argument("product_job_id")
@click.option(
    "--import",
    "import_id",
    type=click.IntRange(1, MAX_INT64),
    metavar="ID",
    help="Undo this import.",
)
@click.option("--email", metavar="E", help="Remove the file entries with this email.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def remove(
    app: Atsbridge,
    tenant: str,
    product_job_id: str,
    import_id: int | None,
    email: str | None,
    as_json: bool,
) -> None:
    """Remove an import (--import ID) or a person (--email E) from PRODUCT_JOB_ID's list.

    Removing an import keeps the people another import also lists. Entries from the ATS
    pipeline are never removed here.
    """
    if (import_id is None) == (email is None):
        raise BadInput("give one of --import ID or --email E")
    if import_id is not None:
        report = app.cnts.remove_import(tenant, product_job_id, import_id)
    else:
        assert email is not None
        report = app.cnts.remove_email(tenant, product_job_id, email)
    if as_json:
        emit_json(report.to_json())
        return
    kept = f", kept {report.kept} another import lists" if report.kept else ""
    click.echo(f"{tenant}/{product_job_id}: removed {report.removed} entries{kept}")


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
@progress_option
@pass_app
def sync(
    app: Atsbridge,
    tenant: str,
    ats: str,
    product_job_id: str | None,
    full: bool,
    as_json: bool,
    show_progress: bool | None,
) -> int:
    """Refresh the lists of TENANT's jobs linked in ATS from their pipelines."""
    with run_progress(False if as_json and show_progress is None else show_progress) as bar:
        reports = app.cnts.sync(
            tenant, ats, full=full, product_job_id=product_job_id, on_progress=bar
        )
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
