"""The FastAPI application of the product API: ``create_app(Atsbridge(...))``.

Endpoints are plain ``def`` functions over the same facade the CLI uses (FastAPI runs them
on its thread pool). The application holds no state of record: keys, idempotency answers,
sync progress and events are all in the store, so any number of servers can share a
database behind a load balancer.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from atsbridge import __version__
from atsbridge.api import Atsbridge
from atsbridge.http import syncs
from atsbridge.http.context import RequestIdMiddleware
from atsbridge.http.problems import MEDIA_TYPE, install_handlers
from atsbridge.http.routes import ROUTERS
from atsbridge.http.schemas import Problem

__all__ = ["ASSETS_URL", "create_app"]

ASSETS_URL = "/docs/assets"
DESCRIPTION = """\
The atsbridge product API: the customer's ATS jobs (search, import), do-not-source lists,
lead export with status flow-back, and the event feed with signed webhooks.

Authenticate with an API key (`atsbridge api-keys create`) as `Authorization: Bearer ...`.
Errors are RFC 9457 problem details with a stable `code`. Lists page with `limit` and the
opaque `next_cursor`.
"""
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# Documented on every operation; "default" covers the rarer ones (409, 413, 502, 503...).
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No key, or an unknown or revoked one"},
    403: {"model": Problem, "description": "The key's scope is too small"},
    404: {"model": Problem, "description": "Not found (or another tenant's)"},
    422: {"model": Problem, "description": "Invalid input, each problem named in errors"},
    "default": {"model": Problem, "description": "Problem details"},
}


def _assets() -> str:
    return str(resources.files("fastapi_offline") / "static")


def create_app(
    atsbridge: Atsbridge, *, sync_workers: int = 4, console_frame_ancestors: str | None = None
) -> FastAPI:
    """The ASGI application serving ``/v1``, ``/openapi.json``, ``/docs``, ``/redoc`` and
    the web console under ``/console`` (``console_frame_ancestors``: see
    ``atsbridge.console.mount``)."""
    from atsbridge.console import mount as mount_console

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.shutdown(wait=False, cancel_futures=True)

    api = FastAPI(
        title="atsbridge",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    pool = syncs.new_pool(sync_workers)
    api.state.atsbridge = atsbridge
    api.state.sync_pool = pool
    install_handlers(api)
    api.add_middleware(RequestIdMiddleware)
    for router in ROUTERS:
        api.include_router(router, responses=_ERRORS)
    _mount_docs(api)
    mount_console(api, frame_ancestors=console_frame_ancestors)
    api.openapi = lambda: _openapi(api)  # type: ignore[method-assign]
    return api


def _mount_docs(api: FastAPI) -> None:
    api.mount(ASSETS_URL, StaticFiles(directory=_assets()), name="docs-assets")

    @api.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="atsbridge API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )

    @api.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="atsbridge API",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )


def _openapi(api: FastAPI) -> dict[str, Any]:
    if api.openapi_schema is None:
        spec = get_openapi(
            title=api.title,
            version=api.version,
            description=api.description,
            routes=api.routes,
        )
        api.openapi_schema = problem_media_types(spec)
    return api.openapi_schema


def problem_media_types(spec: dict[str, Any]) -> dict[str, Any]:
    """Error responses are ``application/problem+json`` (FastAPI documents JSON)."""
    spec = copy.deepcopy(spec)
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                if status == "default" or status[0] in "45":
                    response["content"] = {MEDIA_TYPE: {"schema": _PROBLEM_REF}}
    spec.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
    spec.get("components", {}).get("schemas", {}).pop("ValidationError", None)
    return spec
