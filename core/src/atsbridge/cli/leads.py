"""Lead export commands: ``leads schema|push|list|funnel|retry|drain|sync-statuses``."""

from __future__ import annotations

import json

import click

from atsbridge import leaddoc
from atsbridge.api import Atsbridge
from atsbridge.cli._output import console, echo_ids, emit_json, table, when
from atsbridge.cli._root import pass_app
from atsbridge.services.leads import DEAD, STATES, DrainReport, LeadView
from atsbridge.services.pipeline_plan import ACCOUNT_SCOPE


@click.group()
def leads() -> None:
    """Export leads to linked ATS jobs and follow their status (the funnel)."""


@leads.command()
@click.option("--json", "as_json", is_flag=True, help="The same: the output is JSON already.")
def schema(as_json: bool) -> None:
    """Print the JSON Schema of the lead document that ``leads push`` takes."""
    click.echo(json.dumps(leaddoc.schema(), indent=2, ensure_ascii=False))


@leads.command()
@click.argument("tenant")
@click.argument("product_job_id")
@click.argument("lead_file", metavar="LEAD.json")
@click.option("--resume", "resume_file", metavar="FILE", help="PDF, DOC, DOCX, RTF or TXT.")
@click.option("--no-export", is_flag=True, help="Only queue it; the next drain exports it.")
@click.option(
    "--allow-excluded",
    is_flag=True,
    help="Export even if the person is on the job's do-not-source list.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def push(
    app: Atsbridge,
    tenant: str,
    product_job_id: str,
    lead_file: str,
    resume_file: str | None,
    no_export: bool,
    allow_excluded: bool,
    as_json: bool,
) -> int:
    """Queue a lead for PRODUCT_JOB_ID's ATS job and export it now when possible.

    Exit 0 when the lead is exported or safely queued for a retry, 1 when the ATS refused
    it for good (state dead), 2 when the document or the job is wrong.
    """
    document = leaddoc.load(lead_file)
    resume = leaddoc.resume_from_file(resume_file) if resume_file else None
    outcome = app.leads.push(
        tenant,
        product_job_id,
        document,
        resume,
        export=not no_export,
        allow_excluded=allow_excluded,
    )
    view = outcome.lead
    if as_json:
        emit_json(outcome.to_json())
    else:
        prefix = "already queued: " if outcome.already_queued else ""
        click.echo(f"{prefix}lead {view.lead_id} -> {_describe(view)}")
        if view.unsupported:
            click.echo(f"  the ATS could not take: {', '.join(view.unsupported)}")
        if outcome.deferred:
            click.echo(f"  export deferred to the next drain: {outcome.deferred}")
    return 1 if view.state == DEAD else 0


def _describe(view: LeadView) -> str:
    if view.state == "exported":
        where = f"{view.ats} candidate {view.candidate_id}"
        if view.application_id:
            where += f", application {view.application_id}"
        found = " (found existing)" if view.already_existed else ""
        return f"exported to {where}{found}"
    if view.state in ("failed", "pending"):
        retry = f", next attempt {when(view.next_attempt_at)}" if view.next_attempt_at else ""
        error = f": {view.last_error}" if view.last_error else ""
        return f"{view.state} (attempt {view.attempts}{retry}){error}"
    if view.reason:
        return f"{view.state}: {view.reason}"
    return view.state


@leads.command("list")
@click.argument("tenant")
@click.argument("product_job_id", required=False)
@click.option("--state", type=click.Choice(STATES), help="Only leads in this state.")
@click.option("-q", "--ids", "ids_only", is_flag=True, help="Print only the lead ids.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def list_leads(
    app: Atsbridge,
    tenant: str,
    product_job_id: str | None,
    state: str | None,
    ids_only: bool,
    as_json: bool,
) -> None:
    """Leads of TENANT (or one product job): export state, ATS ids, current ATS status."""
    views = app.leads.list(tenant, product_job_id, state=state)
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    if ids_only:
        echo_ids(v.lead_id for v in views)
        return
    if not views:
        click.echo("no leads")
        return
    t = table(
        "job", "lead", "name", "state", "tries", "ats", "candidate", "application", "status",
        "stage", "not taken", "error / reason",
        ids=("job", "lead", "candidate", "application"),
    )  # fmt: skip
    for v in views:
        t.add_row(
            v.product_job_id,
            v.lead_id,
            v.name,
            v.state,
            str(v.attempts),
            f"{v.ats or '-'} {v.ats_job_id or ''}".strip(),
            v.candidate_id or "-",
            v.application_id or "-",
            v.status or "-",
            v.stage or "-",
            ", ".join(v.unsupported) or "-",
            v.last_error or "-",
        )
    console().print(t)


@leads.command()
@click.argument("tenant")
@click.argument("product_job_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def funnel(app: Atsbridge, tenant: str, product_job_id: str, as_json: bool) -> None:
    """Counts of PRODUCT_JOB_ID's exported leads per ATS status, and per outbox state."""
    result = app.leads.funnel(tenant, product_job_id)
    if as_json:
        emit_json(result.to_json())
        return
    t = table("status", "leads", title=f"funnel of {product_job_id}")
    for status, count in result.statuses.items():
        t.add_row(status, str(count))
    console().print(t)
    states = ", ".join(f"{k} {v}" for k, v in result.states.items() if v)
    click.echo(f"outbox: {states or 'empty'}")


@leads.command()
@click.argument("tenant")
@click.argument("lead_id", required=False)
@click.option("--all-dead", is_flag=True, help="Retry every dead lead of TENANT.")
@click.option("--job", "product_job_id", metavar="PRODUCT_JOB_ID", help="Only this job's lead.")
@click.option("--no-export", is_flag=True, help="Only re-queue; the next drain exports.")
@click.option(
    "--allow-excluded",
    is_flag=True,
    help="Export even if the person is on the job's do-not-source list.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def retry(
    app: Atsbridge,
    tenant: str,
    lead_id: str | None,
    all_dead: bool,
    product_job_id: str | None,
    no_export: bool,
    allow_excluded: bool,
    as_json: bool,
) -> None:
    """Queue a failed, dead or skipped lead (or --all-dead) again with fresh attempts."""
    views = app.leads.retry(
        tenant,
        lead_id,
        all_dead=all_dead,
        product_job_id=product_job_id,
        allow_excluded=allow_excluded,
    )
    report = None
    if views and not no_export:
        report = app.leads.drain(tenant)
    if as_json:
        emit_json(
            {
                "requeued": [v.to_json() for v in views],
                "drain": report.to_json() if report else None,
            }
        )
        return
    click.echo(f"requeued {len(views)} lead(s)")
    if report is not None:
        _echo_drain(report)


@leads.command()
@click.argument("tenant", required=False)
@click.option("--ats", help="Only this ATS's connections.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def drain(app: Atsbridge, tenant: str | None, ats: str | None, as_json: bool) -> int:
    """Export every due lead now (what the host does every minute)."""
    report = app.leads.drain(tenant, ats)
    if as_json:
        emit_json(report.to_json())
    else:
        _echo_drain(report)
    return 1 if report.errors else 0


def _echo_drain(report: DrainReport) -> None:
    click.echo(", ".join(f"{k} {v}" for k, v in report.counts().items()))
    for error in report.errors:
        click.echo(f"error: {error}", err=True)


@leads.command("sync-statuses")
@click.argument("tenant", required=False)
@click.option("--ats", help="Only this ATS's connections.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def sync_statuses(app: Atsbridge, tenant: str | None, ats: str | None, as_json: bool) -> None:
    """Refresh exported leads' ATS status now (what the host does every hour)."""
    reports = app.leads.sync_statuses(tenant, ats)
    if as_json:
        emit_json([r.to_json() for r in reports])
        return
    for r in reports:
        where = "account-wide" if r.scope == ACCOUNT_SCOPE else f"job {r.scope}"
        click.echo(f"{r.tenant}/{r.ats} {where}: {r.status}, {r.counts.get('moved', 0)} moved")
    if not reports:
        click.echo("no exported leads to follow")


def register(root: click.Group) -> None:
    root.add_command(leads)
