"""``atsbridge db``: database maintenance."""

from __future__ import annotations

import click

from atsbridge.api import Atsbridge
from atsbridge.cli._output import emit_json
from atsbridge.cli._root import pass_app
from atsbridge.store import migrate
from atsbridge.store.engine import display_url


@click.group()
def db() -> None:
    """Database maintenance."""


def _report(app: Atsbridge, as_json: bool) -> None:
    store = app.store
    url, revision = display_url(store.url), migrate.current_revision(store.engine)
    if as_json:
        emit_json({"url": url, "revision": revision})
    else:
        click.echo(f"{url} is at revision {revision}")


@db.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def upgrade(app: Atsbridge, as_json: bool) -> None:
    """Apply pending migrations (also done automatically on first use)."""
    app.store.upgrade()  # opening migrates; upgrade again is a no-op that proves it
    _report(app, as_json)


@db.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def current(app: Atsbridge, as_json: bool) -> None:
    """Print the database URL (password hidden) and its migration revision."""
    _report(app, as_json)


def register(root: click.Group) -> None:
    root.add_command(db)
