"""``atsbridge api-keys``: the keys of the product HTTP API (create, list, revoke)."""

from __future__ import annotations

import click

from atsbridge.cli._output import console, emit_json, table, when
from atsbridge.cli._root import app_from
from atsbridge.http.keys import SCOPES


@click.group("api-keys")
def api_keys() -> None:
    """Keys for `atsbridge serve`: sent as `Authorization: Bearer KEY`."""


@api_keys.command("create")
@click.option("--name", required=True, help="What the key is for (shown in `list`).")
@click.option(
    "--tenant",
    "tenants",
    multiple=True,
    metavar="TENANT",
    help="Only these tenants (repeatable); without it the key sees every tenant.",
)
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default="read",
    show_default=True,
    help="read: reads and checks; write: imports, pushes, syncs, webhooks; admin: also "
    "connect/disconnect and all-tenant webhooks.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def create(
    ctx: click.Context, name: str, tenants: tuple[str, ...], scope: str, as_json: bool
) -> None:
    """Create a key; it is printed once and only its salted hash is stored."""
    view, key = app_from(ctx).api_keys.create(name, scope=scope, tenants=list(tenants))
    if as_json:
        emit_json({**view.to_json(), "key": key})
        return
    click.echo(key)
    click.echo(
        f"created key {view.key_id} ({view.scope}, "
        f"{', '.join(view.tenants) or 'every tenant'}): copy it now, it is not shown again",
        err=True,
    )


@api_keys.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_keys(ctx: click.Context, include_revoked: bool, as_json: bool) -> None:
    """The keys (never their secrets), oldest first."""
    views = app_from(ctx).api_keys.list(include_revoked=include_revoked)
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    if not views:
        click.echo("no API keys (create one: atsbridge api-keys create --name NAME)")
        return
    t = table("key id", "name", "scope", "tenants", "created", "revoked")
    for v in views:
        t.add_row(
            v.key_id,
            v.name,
            v.scope,
            ", ".join(v.tenants) or "(all)",
            when(v.created_at),
            when(v.revoked_at),
        )
    console().print(t)


@api_keys.command("revoke")
@click.argument("key_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def revoke(ctx: click.Context, key_id: str, as_json: bool) -> None:
    """Refuse KEY_ID (the id `list` shows, or the whole key) from now on."""
    view = app_from(ctx).api_keys.revoke(key_id)
    if as_json:
        emit_json(view.to_json())
        return
    click.echo(f"revoked key {view.key_id} ({view.name})")


def register(root: click.Group) -> None:
    root.add_command(api_keys)
