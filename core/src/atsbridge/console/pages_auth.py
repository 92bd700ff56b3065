"""Sign-in and out for staff, the embedded-session door, and the console's home."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from atsbridge.console.sessions import EMBED_TTL, STAFF_TTL, VIEWS, Viewer
from atsbridge.console.users import ConsoleUserService
from atsbridge.console.web import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    ConsoleProblem,
    ConsoleRoute,
    checked_form,
    csrf_ok,
    facade,
    render,
    sessions,
    viewer,
)

__all__ = ["router"]

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Who = Annotated[Viewer, Depends(viewer)]


def _safe_next(target: str | None) -> str:
    # Only a console path: never an open redirect to another site.
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return "/console/"


def _landing(who: Viewer) -> str:
    if who.tenant is None:
        return "/console/"
    first = next(v for v in VIEWS if v in who.views)
    return f"/console/t/{who.tenant}/{first}"


@router.get("/login")
def login_form(request: Request, next: str = "/console/") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", csrf=token, next=_safe_next(next), error=None)
    # Double-submit token: there is no session to hold it before sign-in.
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=3600, path="/console", httponly=True, samesite="strict"
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(form.get("csrf", ""))):
        raise ConsoleProblem(
            403, "csrf: this sign-in form expired or was not sent by the console; reload it"
        )
    csrf = str(form.get("csrf"))
    if not username or not password:
        missing = "username" if not username else "password"
        return render(
            request, "login.html", 422, csrf=csrf, next=target, error=f"{missing}: is required"
        )
    users = ConsoleUserService(facade(request))
    user = await run_in_threadpool(users.authenticate, username, password)
    if user is None:
        error = "the username or the password is wrong"
        return render(request, "login.html", 401, csrf=csrf, next=target, error=error)
    token = await run_in_threadpool(sessions(request).start_staff, user.id)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(STAFF_TTL.total_seconds()),
        path="/console",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


@router.post("/logout")
async def logout(request: Request, who: Who) -> Response:
    await checked_form(request, who)
    await run_in_threadpool(sessions(request).end, request.cookies.get(COOKIE))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("/embed/{token}")
def embed(request: Request, token: str) -> Response:
    """Redeem a console URL from ``POST /v1/tenants/{tenant}/console-sessions``."""
    redeemed = sessions(request).redeem(token)
    if redeemed is None:
        raise ConsoleProblem(
            404, "this console link is unknown, already used or expired: ask for a new one"
        )
    session_token, who = redeemed
    response = RedirectResponse(_landing(who), status_code=303)
    # In the product's iframe the console is a third party: the cookie must be
    # SameSite=None (hence Secure); the CSRF token on every form is what guards it.
    response.set_cookie(
        COOKIE,
        session_token,
        max_age=int(EMBED_TTL.total_seconds()),
        path="/console",
        httponly=True,
        samesite="none",
        secure=True,
    )
    return response


@router.get("/")
def home(request: Request, who: Who) -> Response:
    if who.tenant is not None:
        return RedirectResponse(_landing(who), status_code=303)
    views = facade(request).connections.list()
    tenants = sorted({v.tenant for v in views})
    return render(request, "home.html", who=who, tenants=tenants, connections=views)


@router.get("")
def home_bare() -> Response:
    return RedirectResponse("/console/", status_code=307)


@router.get("/open")
def open_tenant(request: Request, who: Who, tenant: str = "") -> Response:
    """The staff home's "open a tenant" box (also for a tenant not connected yet)."""
    from atsbridge.services.connections import check_tenant_key

    check_tenant_key(tenant.strip())
    return RedirectResponse(f"/console/t/{tenant.strip()}/connections", status_code=303)
