"""``atsbridge db``: database maintenance."""

from __future__ import annotations

import click

from atsbridge.api import Atsbridge
from atsbridge.cli._root import pass_app
from atsbridge.store import migrate
from atsbridge.store.engine import display_url


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@pass_app
def upgrade(app: Atsbridge) -> None:
    """Apply pending migrations (also done automatically on first use)."""
    store = app.store  # opening migrates; upgrade again is a no-op that proves it
    store.upgrade()
    click.echo(f"{display_url(store.url)} is at revision {migrate.current_revision(store.engine)}")


@db.command()
@pass_app
def current(app: Atsbridge) -> None:
    """Print the database URL (password hidden) and its migration revision."""
    store = app.store
    click.echo(f"{display_url(store.url)} is at revision {migrate.current_revision(store.engine)}")


def register(root: click.Group) -> None:
    root.add_command(db)
