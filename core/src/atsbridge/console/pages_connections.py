"""Connections: health per connection, test, sync with live progress, the connect form."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import markdown_it
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from atsbridge.cli._progress import describe
from atsbridge.console.forms import config_from_form, field_errors, fields_of
from atsbridge.console.sessions import Viewer
from atsbridge.console.web import (
    ConsoleRoute,
    checked_form,
    facade,
    need,
    render,
    tenant_view,
    viewer,
)
from atsbridge.errors import AuthError, ConfigError
from atsbridge.http import syncs
from atsbridge.services.connections import check_tenant_key
from atsbridge.services.sync import RunReport

__all__ = ["router"]

router = APIRouter(prefix="/console/t/{tenant}", route_class=ConsoleRoute, include_in_schema=False)
Who = Annotated[Viewer, Depends(viewer)]
# Setup steps are the plugin's Markdown; raw HTML in them is not rendered.
_MARKDOWN = markdown_it.MarkdownIt("commonmark", {"html": False})


def _setup_html(markdown: str) -> str:
    """The setup steps as HTML, headings moved under the aside's own h2: a plugin's "# Title"
    must not become a second h1 of the page (one h1 per page, for screen readers)."""
    tokens = _MARKDOWN.parse(markdown)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 2, 6)}"
    return str(_MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {}))


def _elapsed(report: RunReport, now: datetime) -> float:
    return ((report.ended_at or now) - report.started_at).total_seconds()


def _health(request: Request, tenant: str) -> list[dict[str, Any]]:
    app = facade(request)
    now = app.clock()
    rows = []
    for view in app.connections.list(tenant):
        latest: dict[str, RunReport] = {}
        for report in app.sync.runs(tenant, view.ats, limit=50):
            latest.setdefault(report.kind, report)
        rows.append(
            {
                "view": view,
                "runs": [(r, describe(r, _elapsed(r, now))) for r in latest.values()],
                "failing": bool(view.last_check_error),
            }
        )
    return rows


@router.get("/connections")
def connections(request: Request, who: Who, tenant: str) -> Response:
    tenant_view(who, check_tenant_key(tenant), "connections")
    plugins = [s for s in facade(request).plugin_statuses() if s.ok]
    return render(
        request,
        "connections.html",
        who=who,
        tenant=tenant,
        rows=_health(request, tenant),
        plugins=plugins,
        notice=request.query_params.get("notice"),
    )


@router.post("/connections/{ats}/test")
async def test_connection(request: Request, who: Who, tenant: str, ats: str) -> Response:
    tenant_view(who, tenant, "connections")
    need(who, "write")
    await checked_form(request, who)
    app = facade(request)
    try:
        await run_in_threadpool(app.connections.check, tenant, ats)
        notice = f"{ats}: the ATS accepted the credentials"
    except AuthError as exc:
        notice = f"{ats}: the ATS refused the credentials: {exc}"
    return RedirectResponse(f"/console/t/{tenant}/connections?notice={notice}", status_code=303)


@router.post("/connections/{ats}/sync")
async def start_sync(request: Request, who: Who, tenant: str, ats: str) -> Response:
    tenant_view(who, tenant, "connections")
    need(who, "write")
    await checked_form(request, who)
    app = facade(request)
    await run_in_threadpool(app.connections.get, tenant, ats)
    pool = request.app.state.sync_pool
    await run_in_threadpool(syncs.start, pool, app, tenant, ats, None, False)
    return RedirectResponse(f"/console/t/{tenant}/connections/{ats}/progress", status_code=303)


@router.get("/connections/{ats}/progress")
def progress(request: Request, who: Who, tenant: str, ats: str) -> Response:
    """The sync runs of a connection; while one runs, the fragment polls itself."""
    tenant_view(who, tenant, "connections")
    app = facade(request)
    app.connections.get(tenant, ats)
    now = app.clock()
    reports = app.sync.runs(tenant, ats, limit=10)
    lines = [(r, describe(r, _elapsed(r, now))) for r in reports]
    running = any(r.status == "running" for r in reports)
    template = "progress_fragment.html" if "hx-request" in request.headers else "progress.html"
    return render(request, template, who=who, tenant=tenant, ats=ats, lines=lines, running=running)


def _connect_page(
    request: Request,
    who: Viewer,
    tenant: str,
    ats: str,
    status: int = 200,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    form_errors: list[str] | None = None,
) -> Response:
    plugin = facade(request).plugin(ats)
    return render(
        request,
        "connect.html",
        status,
        who=who,
        tenant=tenant,
        ats=ats,
        plugin=plugin.info,
        fields=fields_of(plugin.info.config_schema),
        setup_html=_setup_html(plugin.info.setup_instructions or ""),
        values=values or {},
        errors=errors or {},
        form_errors=form_errors or [],
    )


@router.get("/connect/{ats}")
def connect_form(request: Request, who: Who, tenant: str, ats: str) -> Response:
    tenant_view(who, check_tenant_key(tenant), "connections")
    need(who, "admin")
    return _connect_page(request, who, tenant, ats)


@router.post("/connect/{ats}")
async def connect(request: Request, who: Who, tenant: str, ats: str) -> Response:
    """Connect as ``PUT /v1/tenants/{tenant}/connections/{ats}`` does, then start a sync."""
    tenant_view(who, check_tenant_key(tenant), "connections")
    need(who, "admin")
    form = await checked_form(request, who)
    app = facade(request)
    schema = app.plugin(ats).info.config_schema
    config, errors = config_from_form(schema, form)
    # Secrets are never echoed back into the page.
    secret = {f.name for f in fields_of(schema) if f.widget == "password"}
    values = {k: v for k, v in form.items() if k not in secret and isinstance(v, str)}
    if errors:
        return _connect_page(request, who, tenant, ats, 422, values=values, errors=errors)
    try:
        await run_in_threadpool(
            lambda: app.connections.connect(
                tenant, ats, config, check=True, allow_references=False, replace=True
            )
        )
    except ConfigError as exc:
        errors, rest = field_errors(exc.problems)
        return _connect_page(
            request, who, tenant, ats, 422, values=values, errors=errors, form_errors=rest
        )
    except AuthError as exc:
        message = f"the ATS refused these credentials: {exc}"
        return _connect_page(request, who, tenant, ats, 422, values=values, form_errors=[message])
    pool = request.app.state.sync_pool
    await run_in_threadpool(syncs.start, pool, app, tenant, ats, None, False)
    return RedirectResponse(f"/console/t/{tenant}/connections/{ats}/progress", status_code=303)
