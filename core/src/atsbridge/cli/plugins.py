"""``atsbridge plugins``: what is installed, and how to configure one."""

from __future__ import annotations

import json
from typing import Any

import click

from atsbridge.api import Atsbridge
from atsbridge.cli._config_fields import config_fields, example_config
from atsbridge.cli._output import console, emit_json, table
from atsbridge.cli._root import app_from, pass_app
from atsbridge.plugins import PluginStatus


def _status_json(status: PluginStatus) -> dict[str, Any]:
    info = status.info
    return {
        "name": info.name if info else status.name,
        "entry_point": status.name,
        "distribution": status.distribution,
        "version": info.version if info else None,
        "display_name": info.display_name if info else None,
        "api_version": info.api_version if info else None,
        "capabilities": sorted(c.value for c in info.capabilities) if info else [],
        "status": "ok" if status.ok else "failed",
        "reason": status.error,
    }


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List installed ATS plugins: version, capabilities, load status."""
    if ctx.invoked_subcommand is not None:
        return
    app = app_from(ctx)
    rows = [_status_json(s) for s in app.plugin_statuses()]
    if as_json:
        emit_json(rows)
        return
    t = table("name", "version", "capabilities", "status")
    for r in rows:
        status = "ok" if r["status"] == "ok" else f"failed: {r['reason']}"
        t.add_row(r["name"], r["version"] or "-", ", ".join(r["capabilities"]) or "-", status)
    console().print(t if rows else "no ATS plugins installed")


@plugins.command("show")
@click.argument("ats")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def show(app: Atsbridge, ats: str, as_json: bool) -> None:
    """Show an ATS plugin's config schema and setup instructions."""
    info = app.plugin(ats).info
    if as_json:
        emit_json(
            {
                "name": info.name,
                "display_name": info.display_name,
                "version": info.version,
                "api_version": info.api_version,
                "capabilities": sorted(c.value for c in info.capabilities),
                "requires_core": info.requires_core,
                "config_schema": info.config_schema,
                "config_fields": [f.to_json() for f in config_fields(info.config_schema)],
                "example_config": example_config(info.config_schema),
                "setup_instructions": info.setup_instructions,
            }
        )
        return
    click.echo(f"{info.display_name} ({info.name} {info.version})")
    click.echo(f"API version: {info.api_version or '-'}")
    click.echo(f"Capabilities: {', '.join(sorted(c.value for c in info.capabilities)) or '-'}")
    click.echo("")
    t = table(
        "name",
        "type",
        "required",
        "secret",
        "description",
        "default",
        title="Config fields",
        ids=("name",),
    )
    for f in config_fields(info.config_schema):
        default = json.dumps(f.default, ensure_ascii=False) if f.has_default else "-"
        t.add_row(f.name, f.type, f.required, "yes" if f.secret else "no", f.description, default)
    console().print(t)
    click.echo("")
    click.echo("Example config (fill in the <...> values; --json gives the raw JSON Schema):")
    click.echo(json.dumps(example_config(info.config_schema), indent=2, ensure_ascii=False))
    click.echo("")
    click.echo("Setup instructions:")
    click.echo(info.setup_instructions.strip())


def register(root: click.Group) -> None:
    root.add_command(plugins)
