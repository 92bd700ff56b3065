"""Runs: the recent sync runs of every connection of a tenant (status, progress, errors),
and the health of the product's webhook endpoints that receive the tenant's events.

The same reads as ``GET /v1/tenants/{tenant}/connections/{ats}/syncs`` and
``GET /v1/webhooks/{id}/health``; while a run is running the list polls itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from atsbridge.cli._progress import describe
from atsbridge.console.sessions import Viewer
from atsbridge.console.web import ConsoleRoute, facade, render, tenant_view, viewer
from atsbridge.errors import BadInput
from atsbridge.services.connections import check_tenant_key
from atsbridge.services.sync import RunReport

__all__ = ["RUNS", "router"]

router = APIRouter(prefix="/console/t/{tenant}", route_class=ConsoleRoute, include_in_schema=False)
Who = Annotated[Viewer, Depends(viewer)]
RUNS = 20  # per connection
STATUSES = ("running", "succeeded", "failed", "interrupted")


def _elapsed(report: RunReport, now: datetime) -> float:
    return ((report.ended_at or now) - report.started_at).total_seconds()


def _runs(request: Request, tenant: str, ats: str | None, status: str | None) -> dict[str, Any]:
    app = facade(request)
    now = app.clock()
    views = app.connections.list(tenant)
    if ats is not None and ats not in {v.ats for v in views}:
        raise BadInput(f"ats: tenant {tenant!r} has no {ats} connection")
    groups: list[dict[str, Any]] = []
    for view in views:
        if ats is not None and view.ats != ats:
            continue
        reports = app.sync.runs(tenant, view.ats, limit=RUNS)
        shown = [r for r in reports if status is None or r.status == status]
        groups.append(
            {"ats": view.ats, "runs": [(r, describe(r, _elapsed(r, now))) for r in shown]}
        )
    running = any(r.status == "running" for g in groups for r, _text in g["runs"])
    return {
        "groups": groups,
        "running": running,
        "ats": ats or "",
        # not "status": that is render()'s HTTP status
        "run_status": status or "",
        "connections": [v.ats for v in views],
        "statuses": STATUSES,
    }


def _webhooks(request: Request, who: Viewer, tenant: str) -> list[dict[str, Any]]:
    """The endpoints that get this tenant's events: its own, and for staff also those of
    every tenant (an embedded session sees only its tenant's, as a tenant's key does)."""
    hooks = facade(request).webhooks
    if who.tenant is None:
        views = [v for v in hooks.list(tenants=None) if v["tenant"] in (tenant, None)]
    else:
        views = hooks.list(tenants=[tenant])
    scope = None if who.tenant is None else [tenant]
    out = []
    for view in views:
        health = hooks.health(view["id"], tenants=scope)
        if health is not None:  # None: deleted since the list was read
            out.append({**view, "health": health})
    return out


def _filters(ats: str | None, status: str | None) -> tuple[str | None, str | None]:
    if status in (None, ""):
        status = None
    elif status not in STATUSES:
        raise BadInput(f"status: one of {', '.join(STATUSES)}")
    return (ats or None), status


AtsQuery = Annotated[str | None, Query(max_length=64)]
StatusQuery = Annotated[str | None, Query(max_length=20)]


@router.get("/runs")
def runs_page(
    request: Request, who: Who, tenant: str, ats: AtsQuery = None, status: StatusQuery = None
) -> Response:
    tenant_view(who, check_tenant_key(tenant), "runs")
    ats, status = _filters(ats, status)
    return render(
        request,
        "runs.html",
        who=who,
        tenant=tenant,
        webhooks=_webhooks(request, who, tenant),
        **_runs(request, tenant, ats, status),
    )


@router.get("/runs/list")
def runs_fragment(
    request: Request, who: Who, tenant: str, ats: AtsQuery = None, status: StatusQuery = None
) -> Response:
    """The runs list alone: the page swaps it in (and polls it while a run is running)."""
    tenant_view(who, check_tenant_key(tenant), "runs")
    ats, status = _filters(ats, status)
    return render(
        request, "runs_list.html", who=who, tenant=tenant, **_runs(request, tenant, ats, status)
    )
