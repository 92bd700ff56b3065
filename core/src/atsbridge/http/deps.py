"""What routes depend on: the facade, the caller's key (scope checked), visible tenants.

A key restricted to tenants gets ``not_found`` for any other tenant, with the very message
an unknown tenant gets, so an answer never tells that another tenant exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from atsbridge.api import Atsbridge
from atsbridge.errors import NotFound
from atsbridge.http.keys import Principal
from atsbridge.http.problems import ApiProblem

__all__ = [
    "Admin",
    "App",
    "Reader",
    "TenantPath",
    "Writer",
    "facade",
    "need",
    "visible",
]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key from `atsbridge api-keys create`, sent as `Bearer atsb_...`",
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="atsbridge"'}


def facade(request: Request) -> Atsbridge:
    app: Atsbridge = request.app.state.atsbridge
    return app


App = Annotated[Atsbridge, Depends(facade)]


def need(scope: str) -> Callable[..., Principal]:
    """A dependency answering 401 without a valid key and 403 when its scope is too small."""

    def dependency(
        app: App,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise ApiProblem(
                401,
                "auth.missing_key",
                "send an API key as Authorization: Bearer atsb_...",
                headers=_CHALLENGE,
            )
        principal = app.api_keys.authenticate(credentials.credentials)
        if principal is None:
            raise ApiProblem(
                401, "auth.invalid_key", "the API key is unknown or revoked", headers=_CHALLENGE
            )
        if not principal.allows(scope):
            raise ApiProblem(
                403, "auth.forbidden", f"this key's scope is {principal.scope}; this needs {scope}"
            )
        return principal

    return dependency


Reader = Annotated[Principal, Depends(need("read"))]
Writer = Annotated[Principal, Depends(need("write"))]
Admin = Annotated[Principal, Depends(need("admin"))]

TenantPath = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$",
        description="The customer's tenant key",
        examples=["acme"],
    ),
]


def visible(principal: Principal, tenant: str) -> str:
    """``tenant`` when the key may see it; else NotFound, worded as for an unknown tenant."""
    if not principal.sees(tenant):
        raise NotFound(f"no tenant {tenant!r}")
    return tenant
