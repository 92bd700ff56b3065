"""The web console under ``/console``: server-rendered pages (Jinja2, vendored htmx).

Staff sign in with local users (``atsbridge users create``); the product embeds the console
for one tenant with a one-time URL from ``POST /v1/tenants/{tenant}/console-sessions``.
Pages call the same services (and the same helpers) as the ``/v1`` routes.
"""

from __future__ import annotations

import os
from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from atsbridge.console import (
    pages_auth,
    pages_connections,
    pages_jobs,
    pages_product_jobs,
    pages_runs,
)
from atsbridge.console.uploads import UploadStash
from atsbridge.errors import BadInput

__all__ = ["FRAME_ANCESTORS_ENV", "mount"]

FRAME_ANCESTORS_ENV = "ATSBRIDGE_CONSOLE_FRAME_ANCESTORS"


def mount(api: FastAPI, *, frame_ancestors: str | None = None) -> None:
    """Add the console's pages and assets to ``api``.

    ``frame_ancestors``: the CSP ``frame-ancestors`` sources allowed to embed the console
    (e.g. ``https://app.example.com``); default from ``ATSBRIDGE_CONSOLE_FRAME_ANCESTORS``,
    else ``'self'``.
    """
    ancestors = frame_ancestors or os.environ.get(FRAME_ANCESTORS_ENV, "").strip() or "'self'"
    # One directive's sources only: a ";" or a line break would smuggle in more directives.
    if any(c in ancestors for c in ";,\r\n"):
        raise BadInput(f"{FRAME_ANCESTORS_ENV}: space-separated sources, without ';' or ','")
    api.state.console_frame_ancestors = ancestors
    api.state.console_uploads = UploadStash()
    static = str(resources.files("atsbridge.console") / "static")
    api.mount("/console/static", StaticFiles(directory=static), name="console-static")
    api.include_router(pages_auth.router)
    api.include_router(pages_connections.router)
    api.include_router(pages_jobs.router)
    api.include_router(pages_product_jobs.router)
    api.include_router(pages_runs.router)
