"""``atsbridge plugin new NAME``: scaffold a new ATS plugin with the SDK.

The scaffold lives in the SDK (``atsbridge_sdk.scaffold``), which the core does not depend
on; it is imported only when the command runs.
"""

from __future__ import annotations

import shlex
import sys
from importlib import metadata
from pathlib import Path

import click

from atsbridge.cli._output import emit_json
from atsbridge.cli._root import CliState
from atsbridge.errors import BadInput


@click.group("plugin")
def plugin() -> None:
    """Work on ATS plugins (see CONTRIBUTING.md)."""


@plugin.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "dest",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to create the plugin in (it goes into DIR/NAME).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def new(ctx: click.Context, name: str, dest: Path, as_json: bool) -> None:
    """Write a complete plugin NAME that installs and passes the contract kit."""
    taken = _installed_plugin(ctx, name)
    if taken is not None:
        raise BadInput(
            f"plugin name {name!r}: a plugin of that name is installed ({taken}); "
            "choose another name"
        )
    try:
        from atsbridge_sdk.scaffold import create_plugin
    except ImportError:
        raise click.ClickException(
            "`atsbridge plugin new` needs the SDK: pip install atsbridge-sdk"
        ) from None
    root = create_plugin(name, dest)
    # The interpreter running this command is the one atsbridge is installed in, so the
    # hint works in any virtualenv (a bare ``pip`` may belong to another Python).
    python = shlex.quote(sys.executable)
    where = shlex.quote(str(root))
    install = f"{python} -m pip install -e {where}[test]"
    test = f"{python} -m pytest {shlex.quote(str(root / 'tests'))}"
    if as_json:
        emit_json({"name": name, "path": str(root), "next": [install, test]})
        return
    click.echo(f"created {root}")
    click.echo(f"next: {install} && {test}")


def _installed_plugin(ctx: click.Context, name: str) -> str | None:
    """What already answers to ``name``: an ``atsbridge`` entry point or an import package."""
    state = ctx.find_object(CliState)
    if state is not None and state.registry is not None:
        for status in state.registry.statuses:
            if status.name == name:
                return status.distribution or status.name
        return None
    for entry in metadata.entry_points(group="atsbridge"):
        if entry.name == name:
            dist = entry.dist.name if entry.dist is not None else entry.value
            return str(dist)
    return None


def register(root: click.Group) -> None:
    root.add_command(plugin)
