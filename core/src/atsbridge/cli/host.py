"""``atsbridge host run`` (the daemon) and ``atsbridge runs`` (what it, and everyone, ran)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

import click
from sqlmodel import col, select

from atsbridge.api import Atsbridge
from atsbridge.cli._output import console, emit_json, table, when
from atsbridge.cli._root import app_from
from atsbridge.cli._webhook_options import webhook_delivery_options
from atsbridge.errors import BadInput
from atsbridge.host import Host, HostConfig
from atsbridge.host import logs as host_logs
from atsbridge.host.tasks import INTERVALS_ENV, TASKS, overrides_from_env, parse_overrides
from atsbridge.services import fullpass
from atsbridge.services.sync import RunReport
from atsbridge.store import Connection, SyncRun, Tenant

_FULL_DEFAULT = fullpass.DEFAULT_EVERY.total_seconds() / 60
_TASK_HELP = "; ".join(
    [
        f"{t.name}: {t.help}" + ("" if t.polled else f" (default {t.default_minutes:g})")
        for t in TASKS
    ]
    + [
        f"{key}: most minutes between two full {kind} passes (default {_FULL_DEFAULT:g})"
        for key, kind in fullpass.KEYS.items()
    ]
)


@click.group()
def host() -> None:
    """The host daemon that runs every connection's syncs and exports."""


@host.command("run")
@click.option("--db", metavar="URL", help="Database URL (overrides the global --db).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object per line (time, level, logger, message, host, tenant, ats, task).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    help="Serve /metrics and /healthz on this port.",
)
@click.option(
    "--metrics-host", default="127.0.0.1", show_default=True, help="Address to serve them on."
)
@click.option(
    "--api-port",
    type=click.IntRange(0, 65535),
    help="Also serve the product HTTP API (as `atsbridge serve`) on this port (0: any).",
)
@click.option("--api-host", default="127.0.0.1", show_default=True, help="Address of the API.")
@click.option("--host-id", help="This host's id among the hosts sharing the database.")
@click.option("--workers", type=click.IntRange(1, 512), default=8, show_default=True)
@click.option(
    "--interval",
    "intervals",
    multiple=True,
    metavar="TASK=MINUTES",
    help=f"Global interval of a task (env {INTERVALS_ENV}=jobs=15,...). {_TASK_HELP}.",
)
@click.option(
    "--lease-seconds",
    type=click.FloatRange(0.5),
    default=60.0,
    show_default=True,
    help="How long a dead host's tasks wait before another host takes them.",
)
@click.option("--reconcile-seconds", type=click.FloatRange(0.1), default=30.0, show_default=True)
@click.option(
    "--outbox-poll-seconds",
    type=click.FloatRange(0.1),
    default=5.0,
    show_default=True,
    help="How often to look for leads to export.",
)
@click.option(
    "--task-timeout",
    type=click.FloatRange(1),
    default=3600.0,
    show_default=True,
    help="Seconds after which a task stops at its next checkpoint.",
)
@click.option(
    "--shutdown-grace",
    type=click.FloatRange(0),
    default=60.0,
    show_default=True,
    help="Seconds to let running tasks finish or checkpoint on SIGTERM.",
)
@click.option(
    "--lead-retry-seconds",
    type=click.FloatRange(0),
    help="First retry delay after a failed lead push (doubles each attempt).",
)
@click.option(
    "--lead-claim-seconds",
    type=click.FloatRange(0.1),
    help="How long a lead being pushed is protected before it is presumed lost.",
)
@click.option(
    "--first-run-spread",
    type=click.FloatRange(0),
    default=10.0,
    show_default=True,
    help="Seconds over which never-run tasks start, so a new host does not start all at once.",
)
@webhook_delivery_options
@click.pass_context
def run(
    ctx: click.Context,
    db: str | None,
    log_format: str,
    log_level: str,
    metrics_port: int | None,
    metrics_host: str,
    api_port: int | None,
    api_host: str,
    host_id: str | None,
    workers: int,
    intervals: tuple[str, ...],
    lease_seconds: float,
    reconcile_seconds: float,
    outbox_poll_seconds: float,
    task_timeout: float,
    shutdown_grace: float,
    lead_retry_seconds: float | None,
    lead_claim_seconds: float | None,
    first_run_spread: float,
    deliver_webhooks: bool,
    webhook_claim_seconds: float,
) -> None:
    """Run the daemon until SIGTERM or Ctrl-C (then finish or checkpoint, and exit 0).

    Per connection it runs the job sync, job status (close propagation), do-not-source
    refresh and status flow-back on timers, and exports queued leads within seconds.
    Intervals per connection: settings {"intervals": {"jobs": 15, ...}} (minutes).
    Several hosts may share one PostgreSQL database (same ATSBRIDGE_SECRET_KEY on each);
    SQLite runs one host.
    """
    overrides = {**overrides_from_env(), **parse_overrides(list(intervals))}
    if db:
        from atsbridge.cli._root import CliState

        state = ctx.find_object(CliState)
        assert state is not None
        state.db = db
    app = app_from(ctx)
    config = HostConfig(
        host_id=host_id,
        workers=workers,
        lease_seconds=lease_seconds,
        reconcile_seconds=reconcile_seconds,
        outbox_poll_seconds=outbox_poll_seconds,
        intervals=overrides,
        task_timeout_seconds=task_timeout,
        shutdown_grace_seconds=shutdown_grace,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        lead_retry_seconds=lead_retry_seconds,
        lead_claim_seconds=lead_claim_seconds,
        first_run_spread_seconds=first_run_spread,
        webhook_poll_seconds=1.0 if deliver_webhooks else None,
        webhook_claim_seconds=webhook_claim_seconds,
    )
    daemon = Host(app, config)
    host_logs.configure(log_format, getattr(logging, log_level.upper()), daemon.host_id)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        logging.getLogger("atsbridge.host").info("received %s", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    api = None
    try:
        daemon.start()
        if api_port is not None:
            from atsbridge.http.server import ApiServer

            api = ApiServer(app, api_host, api_port)
            api.start()
            click.echo(f"api: {api.url}", err=True)
        if metrics_port is not None:
            # Tests and scripts learn the port (0 = any free one) from this line.
            click.echo(f"metrics: http://{metrics_host}:{daemon.metrics_port}/metrics", err=True)
        daemon.wait(stop)
    finally:
        if api is not None:
            api.stop()
        clean = daemon.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if not clean:
        # Worker threads cannot be killed: leave now; their leases expire for other hosts.
        logging.shutdown()
        os._exit(0)


@click.command("runs")
@click.option("--tenant", help="Only this tenant's runs.")
@click.option("--ats", help="Only runs against this ATS.")
@click.option("--kind", help="Only this kind (jobs, links, candidates, statuses, leads...).")
@click.option("--status", help="Only runs in this status (running, succeeded, failed...).")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def runs(
    ctx: click.Context,
    tenant: str | None,
    ats: str | None,
    kind: str | None,
    status: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Recent sync runs of every connection, newest first (host, counts, errors)."""
    app = app_from(ctx)
    rows = recent_runs(app, tenant=tenant, ats=ats, kind=kind, status=status, limit=limit)
    if as_json:
        emit_json([{**report.to_json(), "host": host} for report, host in rows])
        return
    if not rows:
        click.echo("no runs")
        return
    t = table("id", "tenant", "ats", "kind", "scope", "status", "started", "took", "counts", "host")
    for report, run_host in rows:
        took = (
            f"{(report.ended_at - report.started_at).total_seconds():.1f}s"
            if report.ended_at
            else "-"
        )
        counts = " ".join(f"{k}={v}" for k, v in report.counts.items() if v)
        status_text = report.status
        if report.errors:
            status_text += f": {report.errors[-1][:80]}"
        t.add_row(
            str(report.id),
            report.tenant,
            report.ats,
            report.kind,
            report.scope or "-",
            status_text,
            when(report.started_at),
            took,
            counts or "-",
            run_host or "-",
        )
    console().print(t)


def recent_runs(
    app: Atsbridge,
    *,
    tenant: str | None = None,
    ats: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[tuple[RunReport, str | None]]:
    """Runs across tenants (an operator's view, hence the system session)."""
    with app.store.system_session() as session:
        statement = (
            select(Tenant.key, Connection.ats, SyncRun)
            .join(Connection, col(Connection.id) == SyncRun.connection_id)
            .join(Tenant, col(Tenant.id) == SyncRun.tenant_id)
        )
        if tenant is not None:
            if session.exec(select(Tenant.id).where(Tenant.key == tenant)).first() is None:
                raise BadInput(f"--tenant: no tenant {tenant!r}")
            statement = statement.where(Tenant.key == tenant)
        if ats is not None:
            statement = statement.where(Connection.ats == ats)
        if kind is not None:
            statement = statement.where(SyncRun.kind == kind)
        if status is not None:
            statement = statement.where(SyncRun.status == status)
        statement = statement.order_by(col(SyncRun.started_at).desc(), col(SyncRun.id).desc())
        rows = session.exec(statement.limit(limit)).all()
        return [(RunReport.from_row(t, a, run), run.host) for t, a, run in rows]


def register(root: click.Group) -> None:
    root.add_command(host)
    root.add_command(runs)
