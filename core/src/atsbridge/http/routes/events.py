"""The event feed and the product's webhook endpoints (over ``atsbridge.events``).

A key restricted to tenants reads only their events and endpoints; another tenant's event
or endpoint is ``not_found``. An endpoint for every tenant needs an unrestricted admin key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from atsbridge.errors import NotFound
from atsbridge.http.deps import App, Reader, Writer
from atsbridge.http.keys import Principal
from atsbridge.http.paging import UpdatedAfter, check_aware
from atsbridge.http.problems import ApiProblem
from atsbridge.http.schemas import (
    Event,
    EventPage,
    PingResult,
    ReplayRequest,
    ReplayResult,
    Text,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookHealth,
    WebhookPage,
    WebhookUpdate,
)

router = APIRouter(prefix="/v1", tags=["events"])
EndpointPath = Annotated[Text, Path(min_length=1, max_length=64)]


def _tenants(key: Principal, tenant: str | None) -> list[str] | None:
    """The tenants a read covers: the key's (narrowed to ``tenant`` when given)."""
    if tenant is None:
        return None if key.tenants is None else sorted(key.tenants)
    if not key.sees(tenant):
        raise NotFound(f"no tenant {tenant!r}")
    return [tenant]


@router.get(
    "/events",
    response_model=EventPage,
    summary="The event feed, in log order, after a cursor",
    description="Read from the start (no `after`) or from the `next_cursor` of the last "
    "page; `next_cursor` is null when there is nothing more right now (poll again later "
    "with the last cursor you had).",
)
def feed(
    app: App,
    key: Reader,
    after: Annotated[Text | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    tenant: Annotated[Text | None, Query(max_length=100)] = None,
    types: Annotated[
        Text | None, Query(max_length=500, description="Comma-separated event types")
    ] = None,
    updated_after: UpdatedAfter = None,
) -> dict[str, Any]:
    wanted = [t.strip() for t in types.split(",") if t.strip()] if types else None
    items, next_cursor = app.events.feed(
        tenants=_tenants(key, tenant),
        after=after,
        limit=limit,
        types=wanted,
        created_after=check_aware(updated_after),
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/events/{event_id}", response_model=Event, summary="One event")
def get_event(app: App, key: Reader, event_id: EndpointPath) -> dict[str, Any]:
    event = app.events.get(event_id, tenants=_tenants(key, None))
    if event is None:
        raise NotFound(f"no event {event_id!r}")
    return event


def _found(value: Any, endpoint_id: str) -> Any:
    if value is None or value is False:
        raise NotFound(f"no webhook endpoint {endpoint_id!r}")
    return value


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    summary="Register a webhook endpoint (the signing secret is shown once)",
)
def create_webhook(app: App, key: Writer, body: WebhookCreate) -> dict[str, Any]:
    if body.tenant is None:
        if key.tenants is not None or not key.allows("admin"):
            raise ApiProblem(
                403,
                "auth.forbidden",
                "an endpoint for every tenant needs an admin key for every tenant; "
                "give body.tenant",
            )
    elif not key.sees(body.tenant):
        raise NotFound(f"no tenant {body.tenant!r}")
    view, secret = app.webhooks.create(
        tenant=body.tenant,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
    )
    return {**view, "secret": secret}


@router.get("/webhooks", response_model=WebhookPage, summary="The webhook endpoints")
def list_webhooks(app: App, key: Reader, updated_after: UpdatedAfter = None) -> dict[str, Any]:
    views = app.webhooks.list(tenants=_tenants(key, None))
    after = check_aware(updated_after)
    if after is not None:
        views = [v for v in views if _instant(v["updated_at"]) > after]
    return {"items": views}


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@router.get("/webhooks/{endpoint_id}", response_model=Webhook, summary="One endpoint")
def get_webhook(app: App, key: Reader, endpoint_id: EndpointPath) -> dict[str, Any]:
    return _found(app.webhooks.get(endpoint_id, tenants=_tenants(key, None)), endpoint_id)


@router.patch("/webhooks/{endpoint_id}", response_model=Webhook, summary="Change an endpoint")
def update_webhook(
    app: App, key: Writer, endpoint_id: EndpointPath, body: WebhookUpdate
) -> dict[str, Any]:
    view = app.webhooks.update(
        endpoint_id,
        tenants=_tenants(key, None),
        url=body.url,
        event_types=body.event_types,
        enabled=body.enabled,
        description=body.description,
    )
    return _found(view, endpoint_id)


@router.delete(
    "/webhooks/{endpoint_id}",
    status_code=204,
    response_class=Response,
    summary="Remove an endpoint (its pending deliveries go with it)",
)
def delete_webhook(app: App, key: Writer, endpoint_id: EndpointPath) -> Response:
    _found(app.webhooks.delete(endpoint_id, tenants=_tenants(key, None)), endpoint_id)
    return Response(status_code=204)


@router.post(
    "/webhooks/{endpoint_id}/ping",
    status_code=202,
    response_model=PingResult,
    summary="Queue a webhook.ping event to this endpoint only",
)
def ping_webhook(app: App, key: Writer, endpoint_id: EndpointPath) -> dict[str, Any]:
    event_id = _found(app.webhooks.ping(endpoint_id, tenants=_tenants(key, None)), endpoint_id)
    return {"event_id": event_id}


@router.post(
    "/webhooks/{endpoint_id}/replay",
    status_code=202,
    response_model=ReplayResult,
    summary="Send the endpoint's events after a cursor again",
)
def replay_webhook(
    app: App, key: Writer, endpoint_id: EndpointPath, body: ReplayRequest
) -> dict[str, Any]:
    count = app.webhooks.replay(endpoint_id, tenants=_tenants(key, None), after=body.after)
    if count is None:
        raise NotFound(f"no webhook endpoint {endpoint_id!r}")
    return {"queued": count}


@router.get(
    "/webhooks/{endpoint_id}/health",
    response_model=WebhookHealth,
    summary="Last success and failure, consecutive failures, backlog",
)
def webhook_health(app: App, key: Reader, endpoint_id: EndpointPath) -> dict[str, Any]:
    return _found(app.webhooks.health(endpoint_id, tenants=_tenants(key, None)), endpoint_id)
