"""``/v1/tenants/{tenant}/console-sessions``: a one-time URL embedding the web console."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from atsbridge.console.sessions import GRANT_TTL, GRANT_TTL_MAX, VIEWS, ConsoleSessionService
from atsbridge.http.deps import App, Reader, TenantPath, visible
from atsbridge.http.keys import SCOPES, scope_allows
from atsbridge.http.problems import ApiProblem
from atsbridge.http.schemas import Problem, _In, _Out

__all__ = ["router"]

router = APIRouter(prefix="/v1/tenants/{tenant}/console-sessions", tags=["console"])
View = Literal["connections", "jobs", "runs"]
_ALL_VIEWS: tuple[View, ...] = ("connections", "jobs", "runs")
assert set(_ALL_VIEWS) == set(VIEWS)


class ConsoleSessionRequest(_In):
    views: list[View] = Field(
        default_factory=lambda: list(_ALL_VIEWS),
        min_length=1,
        description="The console views the session may open",
    )
    scope: Literal["read", "write", "admin"] | None = Field(
        None,
        description="What the session may do (at most the key's scope; default: the key's)",
    )
    ttl_seconds: int = Field(
        int(GRANT_TTL.total_seconds()),
        ge=10,
        le=int(GRANT_TTL_MAX.total_seconds()),
        description="How long the URL may be opened (once); the session then lasts an hour",
    )


class ConsoleSessionGrant(_Out):
    url: str = Field(description="Path of the console URL, on this server; open it once")
    tenant: str
    views: list[str]
    scope: str
    expires_at: datetime


@router.post(
    "",
    status_code=201,
    response_model=ConsoleSessionGrant,
    summary="A short-lived, one-time console URL for one tenant, to show in an iframe",
    description="The URL starts a console session limited to this tenant, the views "
    "listed and the scope; it cannot reach another tenant. Allow the product's origin "
    "with ATSBRIDGE_CONSOLE_FRAME_ANCESTORS.",
    responses={403: {"model": Problem}},
)
def create_console_session(
    app: App, key: Reader, tenant: TenantPath, body: ConsoleSessionRequest | None = None
) -> dict[str, Any]:
    body = body or ConsoleSessionRequest.model_validate({})
    visible(key, tenant)
    scope = body.scope or key.scope
    if not scope_allows(key.scope, scope):
        raise ApiProblem(
            403, "auth.forbidden", f"this key's scope is {key.scope}; it cannot grant {scope}"
        )
    assert scope in SCOPES
    grant = ConsoleSessionService(app).grant(
        tenant, list(body.views), scope, ttl_seconds=body.ttl_seconds
    )
    return grant.to_json()
