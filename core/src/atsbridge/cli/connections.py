"""Connection commands: ``connect``, ``connections [settings]``, ``check``, ``disconnect``."""

from __future__ import annotations

import json
import sys

import click

from atsbridge.api import Atsbridge
from atsbridge.cli._output import console, emit_json, hint, table, when
from atsbridge.cli._root import app_from, pass_app, refused_fails_fast
from atsbridge.config import load_config
from atsbridge.errors import BadInput
from atsbridge.services import connection_settings
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
@click.option(
    "--replace",
    is_flag=True,
    help="Store this config alone; by default it is merged into the stored one.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def connect(
    app: Atsbridge,
    tenant: str,
    ats: str,
    config_source: str,
    no_check: bool,
    replace: bool,
    as_json: bool,
) -> None:
    """Validate, test and store TENANT's connection to ATS.

    Re-running it updates the connection: the fields the config names change, the others
    keep their stored values (--replace drops them), and the changes are listed with
    secrets masked.
    """
    check_tenant_key(tenant)
    app.plugin(ats)  # an unknown ATS is reported before stdin is read
    config = load_config(config_source)
    with refused_fails_fast():
        view = app.connections.connect(tenant, ats, config, check=not no_check, replace=replace)
    if as_json:
        emit_json({**view.to_json(), "changes": [c.to_json() for c in view.changes]})
        return
    how = "stored without testing (--no-check)" if no_check else "authenticated and stored"
    click.echo(f"{'connected' if view.created else 'updated'} {tenant}/{ats}: {how}")
    if not view.created:
        for change in view.changes:
            click.echo(f"  {change.describe()}")
        if not view.changes:
            click.echo("  config unchanged")
    hint(f"atsbridge sync {tenant} {ats} --jobs", "mirror its jobs")


@click.group("connections", invoke_without_command=True)
@click.option("--tenant", help="Only this tenant's connections.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_connections(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """List stored connections (secrets masked); `settings` changes one's settings."""
    if ctx.invoked_subcommand is not None:
        return
    views = app_from(ctx).connections.list(tenant)
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


def _settings_help() -> str:
    lines = [
        "Show or change TENANT's ATS connection settings.",
        "",
        "With no option it prints them; --set KEY=VALUE (repeatable) and --unset KEY change "
        "them, each checked first (nothing changes if one is bad). Known keys:",
        "",
        "\b",
    ]
    for spec in connection_settings.specs().values():
        lines.append(f"  {spec.key}: {spec.help}")
    return "\n".join(lines)


@list_connections.command("settings", help=_settings_help())
@click.argument("tenant")
@click.argument("ats")
@click.option("--set", "set_items", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
@click.option("--unset", "unset", multiple=True, metavar="KEY", help="Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def settings(
    app: Atsbridge,
    tenant: str,
    ats: str,
    set_items: tuple[str, ...],
    unset: tuple[str, ...],
    as_json: bool,
) -> None:
    if set_items or unset:
        view = app.connections.change_settings(tenant, ats, set_items, unset)
    else:
        view = app.connections.get(tenant, ats)
    if as_json:
        emit_json(view.settings)
        return
    flat = connection_settings.flatten(view.settings)
    if not flat:
        click.echo(f"{tenant}/{ats}: no settings (every default applies)")
        return
    t = table("setting", "value", title=f"{tenant}/{ats} settings")
    for key, value in flat.items():
        t.add_row(key, json.dumps(value, ensure_ascii=False))
    console().print(t)


@click.command()
@click.argument("tenant")
@click.argument("ats")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def check(app: Atsbridge, tenant: str, ats: str, as_json: bool) -> None:
    """Test TENANT's stored ATS connection (authenticates against the ATS)."""
    with refused_fails_fast():
        view = app.connections.check(tenant, ats)
    if as_json:
        emit_json({"tenant": tenant, "ats": ats, "ok": True, "checked_at": view.last_checked_at})
        return
    click.echo(f"ok: {tenant}/{ats} authenticated")


def _interactive() -> bool:
    """Whether a person can answer a prompt (tests replace this)."""
    return sys.stdin.isatty()


@click.command()
@click.argument("tenant")
@click.argument("ats")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (needs --yes).")
@pass_app
def disconnect(app: Atsbridge, tenant: str, ats: str, yes: bool, as_json: bool) -> None:
    """Remove TENANT's ATS connection and the data synced through it, after confirmation.

    Lists what it will delete first. The tenant stays, with its other connections, its
    leads and the do-not-source entries that did not come from this ATS. Leads not
    exported yet are counted first, then marked failed until their jobs are imported again
    after a reconnect (which queues them again), or `leads retry`.
    """
    counts = app.connections.removal(tenant, ats)
    queued = app.connections.queued_leads(tenant, ats)
    waiting = (
        f"{queued:,} lead{'' if queued == 1 else 's'} not exported yet will be marked failed "
        "until their jobs are imported again after a reconnect (or `leads retry`)"
    )
    if not yes:
        if as_json or not _interactive():
            raise BadInput(
                f"disconnect {tenant}/{ats}: would delete {_what(counts)}"
                + (f"; {waiting}" if queued else "")
                + "; pass --yes to confirm (no terminal to ask on)"
            )
        click.echo(f"This deletes the {tenant}/{ats} connection and, from it:")
        for label, count in counts.items():
            click.echo(f"  {count:>8,} {label}")
        click.echo(f"The tenant {tenant}, its other connections and its leads stay.")
        if queued:
            click.echo(_sentence(waiting))
        click.confirm(f"Disconnect {tenant}/{ats}?", abort=True)
    deleted = app.connections.disconnect(tenant, ats)
    if as_json:
        emit_json(
            {
                "tenant": tenant,
                "ats": ats,
                "disconnected": True,
                "deleted": deleted,
                "leads_waiting": queued,
            }
        )
        return
    click.echo(f"disconnected {tenant}/{ats}: deleted {_what(deleted)}")
    if queued:
        click.echo(f"{_sentence(waiting)}", err=True)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _what(counts: dict[str, int]) -> str:
    return ", ".join(f"{count:,} {label}" for label, count in counts.items())


def register(root: click.Group) -> None:
    for command in (connect, list_connections, check, disconnect):
        root.add_command(command)
