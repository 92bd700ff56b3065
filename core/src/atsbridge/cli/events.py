"""``atsbridge events`` (the durable event log) and ``atsbridge webhooks`` (the product's
endpoints that receive it signed): the same operations as ``/v1/events`` and
``/v1/webhooks``, for operators on the host."""

from __future__ import annotations

import json
from typing import Any

import click

from atsbridge.cli._output import console, emit_json, table
from atsbridge.cli._root import app_from
from atsbridge.errors import NotFound
from atsbridge.events.types import DOMAIN_TYPES

__all__ = ["events", "register", "webhooks"]

_TYPE = click.Choice(DOMAIN_TYPES)


def _scope(tenant: str | None) -> list[str] | None:
    return None if tenant is None else [tenant]


def _summary(data: dict[str, Any], width: int = 90) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= width else text[: width - 1] + "…"


@click.group("events")
def events() -> None:
    """The event log: every change (job closed, lead exported, sync finished...), in order."""


@events.command("list")
@click.option("--tenant", help="Only this tenant's events (default: every tenant).")
@click.option(
    "--after",
    metavar="CURSOR",
    help="Go on after this cursor (printed after a full page) or event id.",
)
@click.option(
    "--type",
    "kinds",
    type=_TYPE,
    multiple=True,
    help="Only events of this type (repeatable).",
)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_events(
    ctx: click.Context,
    tenant: str | None,
    after: str | None,
    kinds: tuple[str, ...],
    limit: int,
    as_json: bool,
) -> None:
    """Events in log order after --after; a full page ends with the next cursor."""
    app = app_from(ctx)
    if tenant is not None:
        with app.store.tenant(tenant):  # NotFound (exit 2) for an unknown tenant
            pass
    items, cursor = app.events.feed(
        tenants=_scope(tenant), after=after, limit=limit, types=list(kinds) or None
    )
    if as_json:
        emit_json({"items": items, "next_cursor": cursor})
        return
    if not items:
        click.echo("no events" + (" after that cursor" if after else ""))
        return
    t = table("id", "type", "tenant", "created", "data", ids=("id",))
    for event in items:
        t.add_row(
            event["id"], event["type"], event["tenant"] or "", event["created_at"],
            _summary(event["data"]),
        )  # fmt: skip
    console().print(t)
    last = cursor or items[-1]["id"]
    click.echo(f"next: atsbridge events list --after {last}", err=True)


@events.command("show")
@click.argument("event_id")
@click.option("--tenant", help="Only if it is this tenant's.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def show_event(ctx: click.Context, event_id: str, tenant: str | None, as_json: bool) -> None:
    """One event, with its whole data."""
    event = app_from(ctx).events.get(event_id, tenants=_scope(tenant))
    if event is None:
        raise NotFound(f"no event {event_id!r}")
    if as_json:
        emit_json(event)
        return
    click.echo(f"{event['id']}  {event['type']}  {event['tenant'] or ''}  {event['created_at']}")
    click.echo(json.dumps(event["data"], indent=2, ensure_ascii=False))


# --- webhook endpoints -----------------------------------------------------------------------


@click.group("webhooks")
def webhooks() -> None:
    """The product's webhook endpoints: signed (Standard Webhooks) events, retried a day."""


def _found(value: Any, endpoint_id: str) -> Any:
    if value is None or value is False:
        raise NotFound(f"no webhook endpoint {endpoint_id!r}")
    return value


@webhooks.command("create")
@click.option("--url", required=True, help="The product's receiver (http or https).")
@click.option("--tenant", help="Only this tenant's events (default: every tenant's).")
@click.option(
    "--type",
    "kinds",
    type=_TYPE,
    multiple=True,
    help="Only events of this type (repeatable; default: every type).",
)
@click.option("--description", default="", help="What it is for (shown in `list`).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def create(
    ctx: click.Context,
    url: str,
    tenant: str | None,
    kinds: tuple[str, ...],
    description: str,
    as_json: bool,
) -> None:
    """Register an endpoint; its signing secret (whsec_...) is printed once."""
    view, secret = app_from(ctx).webhooks.create(
        tenant=tenant, url=url, event_types=list(kinds) or None, description=description
    )
    if as_json:
        emit_json({**view, "secret": secret})
        return
    click.echo(secret)
    click.echo(
        f"created webhook endpoint {view['id']} for {tenant or 'every tenant'}: copy the "
        "signing secret now, it is not shown again",
        err=True,
    )


@webhooks.command("list")
@click.option("--tenant", help="Only this tenant's endpoints.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_endpoints(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """The endpoints (never their secrets), oldest first."""
    views = app_from(ctx).webhooks.list(tenants=_scope(tenant))
    if as_json:
        emit_json(views)
        return
    if not views:
        click.echo("no webhook endpoints (add one: atsbridge webhooks create --url URL)")
        return
    t = table("id", "tenant", "url", "types", "enabled", "description", ids=("id",))
    for v in views:
        t.add_row(
            v["id"], v["tenant"] or "(all)", v["url"], ", ".join(v["event_types"] or ["(all)"]),
            "yes" if v["enabled"] else "no", v["description"],
        )  # fmt: skip
    console().print(t)


@webhooks.command("delete")
@click.argument("endpoint_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def delete(ctx: click.Context, endpoint_id: str, as_json: bool) -> None:
    """Remove an endpoint and what is still queued for it."""
    _found(app_from(ctx).webhooks.delete(endpoint_id, tenants=None), endpoint_id)
    if as_json:
        emit_json({"id": endpoint_id, "deleted": True})
        return
    click.echo(f"deleted webhook endpoint {endpoint_id}")


@webhooks.command("enable")
@click.argument("endpoint_id")
@click.option("--off", is_flag=True, help="Disable it instead (its events wait, queued).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def enable(ctx: click.Context, endpoint_id: str, off: bool, as_json: bool) -> None:
    """Enable (or, with --off, disable) an endpoint."""
    view = _found(
        app_from(ctx).webhooks.update(endpoint_id, tenants=None, enabled=not off), endpoint_id
    )
    if as_json:
        emit_json(view)
        return
    click.echo(f"webhook endpoint {endpoint_id} {'disabled' if off else 'enabled'}")


@webhooks.command("ping")
@click.argument("endpoint_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def ping(ctx: click.Context, endpoint_id: str, as_json: bool) -> None:
    """Queue a webhook.ping to this endpoint only (sent by `serve` or `host run`)."""
    event_id = _found(app_from(ctx).webhooks.ping(endpoint_id, tenants=None), endpoint_id)
    if as_json:
        emit_json({"id": endpoint_id, "event_id": event_id})
        return
    click.echo(f"queued ping {event_id} to {endpoint_id}")


@webhooks.command("replay")
@click.argument("endpoint_id")
@click.option(
    "--after",
    metavar="CURSOR",
    help="Replay what came after this cursor or event id (default: the whole log).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def replay(ctx: click.Context, endpoint_id: str, after: str | None, as_json: bool) -> None:
    """Queue again every event the endpoint wants after --after (same webhook-ids)."""
    queued = app_from(ctx).webhooks.replay(endpoint_id, tenants=None, after=after)
    _found(queued, endpoint_id)
    if as_json:
        emit_json({"id": endpoint_id, "queued": queued})
        return
    click.echo(f"queued {queued} event(s) again for {endpoint_id}")


@webhooks.command("health")
@click.argument("endpoint_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def health(ctx: click.Context, endpoint_id: str, as_json: bool) -> None:
    """Last success and failure, failures in a row, backlog, next attempt."""
    view = _found(app_from(ctx).webhooks.health(endpoint_id, tenants=None), endpoint_id)
    if as_json:
        emit_json(view)
        return
    for key in (
        "enabled",
        "last_success_at",
        "last_failure_at",
        "consecutive_failures",
        "last_error",
        "backlog",
        "delivered",
        "dead",
        "next_attempt_at",
    ):
        click.echo(f"{key}: {'-' if view[key] is None else view[key]}")


def register(root: click.Group) -> None:
    root.add_command(events)
    root.add_command(webhooks)
