"""``atsbridge plugin new NAME``: scaffold a new ATS plugin with the SDK.

The scaffold lives in the SDK (``atsbridge_sdk.scaffold``), which the core does not depend
on; it is imported only when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import click


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
def new(name: str, dest: Path) -> None:
    """Write a complete plugin NAME that installs and passes the contract kit."""
    try:
        from atsbridge_sdk.scaffold import create_plugin
    except ImportError:
        raise click.ClickException(
            "`atsbridge plugin new` needs the SDK: pip install atsbridge-sdk"
        ) from None
    root = create_plugin(name, dest)
    click.echo(f"created {root}")
    click.echo(f"next: pip install -e {root} && pytest {root / 'tests'}")


def register(root: click.Group) -> None:
    root.add_command(plugin)
