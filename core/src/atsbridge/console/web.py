"""What every console page shares: templates, the session cookie, CSRF, errors as pages.

Pages answer HTML, never problem+json: a domain error (``NotFound``, ``BadInput``, the ATS
refusing...) becomes an error page with the status the API gives the same error, so a
page and its API equivalent agree. Every page carries a Content-Security-Policy with
``frame-ancestors`` from the app (``ATSBRIDGE_CONSOLE_FRAME_ANCESTORS``): the product's
origins that may embed the console in an iframe.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.datastructures import FormData

from atsbridge.api import Atsbridge
from atsbridge.console.sessions import ConsoleSessionService, Viewer
from atsbridge.errors import AtsbridgeError, NotFound
from atsbridge.http.context import request_id
from atsbridge.http.problems import domain_problem
from atsbridge.secrets import REDACTOR

__all__ = [
    "COOKIE",
    "ConsoleProblem",
    "ConsoleRoute",
    "checked_form",
    "facade",
    "render",
    "sessions",
    "tenant_view",
    "viewer",
]

COOKIE = "atsb_console"
LOGIN_CSRF_COOKIE = "atsb_console_login"
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(resources.files("atsbridge.console") / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


_TEMPLATES.filters["when"] = _when


class ConsoleProblem(Exception):
    """An answer of the console itself (not a domain error): status and one-line message."""

    def __init__(self, status: int, message: str, *, sign_in: bool = False):
        super().__init__(message)
        self.status = status
        self.message = message
        self.sign_in = sign_in


def facade(request: Request) -> Atsbridge:
    app: Atsbridge = request.app.state.atsbridge
    return app


def sessions(request: Request) -> ConsoleSessionService:
    return ConsoleSessionService(facade(request))


def security_headers(request: Request) -> dict[str, str]:
    ancestors = request.app.state.console_frame_ancestors
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors {ancestors}"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        # The embed URL's token must not leak to other sites through Referer.
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def render(
    request: Request,
    template: str,
    status: int = 200,
    *,
    who: Viewer | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    html = _TEMPLATES.get_template(template).render(
        viewer=who, request_id=request_id(), path=request.url.path, **context
    )
    return HTMLResponse(
        html, status_code=status, headers={**security_headers(request), **(headers or {})}
    )


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    who = getattr(request.state, "console_viewer", None)
    return render(
        request, "error.html", status, who=who, message=REDACTOR.redact(message), code=status
    )


class ConsoleRoute(APIRoute):
    """Turns errors raised by a console page into HTML error pages (or a sign-in redirect)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except ConsoleProblem as exc:
                if exc.sign_in and request.method == "GET" and "hx-request" not in request.headers:
                    target = quote(request.url.path, safe="/")
                    return RedirectResponse(f"/console/login?next={target}", status_code=303)
                return _error_page(request, exc.status, exc.message)
            except AtsbridgeError as exc:
                return _error_page(request, domain_problem(exc).status_code, str(exc))
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
                return _error_page(request, 422, f"{where}: {first.get('msg', 'invalid')}")

        return handler


def viewer(request: Request) -> Viewer:
    """The request's console session; a sign-in redirect (or 401) without a live one."""
    who = sessions(request).lookup(request.cookies.get(COOKIE))
    if who is None:
        raise ConsoleProblem(401, "sign in to use the console", sign_in=True)
    request.state.console_viewer = who
    return who


def tenant_view(who: Viewer, tenant: str, view: str) -> str:
    """``tenant`` when the session may open ``view`` of it; else 404, worded as unknown."""
    if not who.sees(tenant) or not who.shows(view):
        raise NotFound(f"no tenant {tenant!r}")
    return tenant


def need(who: Viewer, scope: str) -> None:
    if not who.allows(scope):
        raise ConsoleProblem(
            403, f"this console session's scope is {who.scope}; this needs {scope}"
        )


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


async def checked_form(request: Request, who: Viewer) -> FormData:
    """The posted form, refused (403) unless it carries this session's CSRF token."""
    form = await request.form()
    given = form.get("csrf") or request.headers.get("x-csrf-token")
    if not csrf_ok(who.csrf, given if isinstance(given, str) else None):
        raise ConsoleProblem(
            403, "csrf: this form expired or was not sent by the console; reload the page"
        )
    return form
