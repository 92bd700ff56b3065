"""``atsbridge users``: the staff who sign in to the web console (create, list, delete)."""

from __future__ import annotations

import sys

import click

from atsbridge.cli._output import console, emit_json, table, when
from atsbridge.cli._root import app_from
from atsbridge.console.users import ConsoleUserService


@click.group("users")
def users() -> None:
    """Staff users of the web console (/console), with scrypt-hashed passwords."""


@users.command("create")
@click.argument("username")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin (scripts) instead of a prompt.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def create(ctx: click.Context, username: str, password_stdin: bool, as_json: bool) -> None:
    """Create USERNAME; the password is asked twice (never taken as an argument)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True, err=True)
    view = ConsoleUserService(app_from(ctx)).create(username, password)
    if as_json:
        emit_json(view.to_json())
        return
    click.echo(f"created console user {view.username}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_users(ctx: click.Context, as_json: bool) -> None:
    """The console users, by name."""
    views = ConsoleUserService(app_from(ctx)).list()
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    if not views:
        click.echo("no console users (create one: atsbridge users create NAME)")
        return
    t = table("username", "created")
    for v in views:
        t.add_row(v.username, when(v.created_at))
    console().print(t)


@users.command("delete")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def delete(ctx: click.Context, username: str, as_json: bool) -> None:
    """Delete USERNAME; their console sessions end at once."""
    view = ConsoleUserService(app_from(ctx)).delete(username)
    if as_json:
        emit_json(view.to_json())
        return
    click.echo(f"deleted console user {view.username}")


def register(root: click.Group) -> None:
    root.add_command(users)
