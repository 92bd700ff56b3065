"""Connection commands: ``connect``, ``connections``, ``check``, ``disconnect``."""

from __future__ import annotations

import json

import click

from atsbridge.api import Atsbridge
from atsbridge.cli._output import console, emit_json, table, when
from atsbridge.cli._root import pass_app
from atsbridge.config import load_config
from atsbridge.services.connections import check_tenant_key


@click.command()
@click.argument("tenant")
@click.argument("ats")
@click.option(
    "--config",
    "config_source",
    required=True,
    metavar="FILE|-",
    help=(
        'JSON config ("-" reads stdin). Values may be {"$env": "VAR"} or {"$file": "PATH"} '
        "when ATSBRIDGE_CONFIG_ENV_PREFIX / ATSBRIDGE_CONFIG_FILE_DIR allow them."
    ),
)
@click.option("--no-check", is_flag=True, help="Store without testing the connection.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def connect(
    app: Atsbridge, tenant: str, ats: str, config_source: str, no_check: bool, as_json: bool
) -> None:
    """Validate, test and store TENANT's connection to ATS (re-running updates it)."""
    check_tenant_key(tenant)
    app.plugin(ats)  # an unknown ATS is reported before stdin is read
    config = load_config(config_source)
    view = app.connections.connect(tenant, ats, config, check=not no_check)
    if as_json:
        emit_json(view.to_json())
        return
    how = "stored without testing (--no-check)" if no_check else "authenticated and stored"
    click.echo(f"connected {tenant}/{ats}: {how}")


@click.command("connections")
@click.option("--tenant", help="Only this tenant's connections.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def list_connections(app: Atsbridge, tenant: str | None, as_json: bool) -> None:
    """List stored connections (secrets masked)."""
    views = app.connections.list(tenant)
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    if not views:
        click.echo("no connections")
        return
    t = table("tenant", "ats", "updated", "last check", "config")
    for v in views:
        check = when(v.last_checked_at)
        if v.last_check_error:
            check += f" failed: {v.last_check_error}"
        elif v.last_checked_at:
            check += " ok"
        t.add_row(
            v.tenant, v.ats, when(v.updated_at), check, json.dumps(v.config, ensure_ascii=False)
        )
    console().print(t)


@click.command()
@click.argument("tenant")
@click.argument("ats")
@pass_app
def check(app: Atsbridge, tenant: str, ats: str) -> None:
    """Test TENANT's stored ATS connection (authenticates against the ATS)."""
    app.connections.check(tenant, ats)
    click.echo(f"ok: {tenant}/{ats} authenticated")


@click.command()
@click.argument("tenant")
@click.argument("ats")
@pass_app
def disconnect(app: Atsbridge, tenant: str, ats: str) -> None:
    """Remove TENANT's ATS connection and the data synced through it."""
    app.connections.disconnect(tenant, ats)
    click.echo(f"disconnected {tenant}/{ats}")


def register(root: click.Group) -> None:
    for command in (connect, list_connections, check, disconnect):
        root.add_command(command)
