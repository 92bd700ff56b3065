"""``/v1/tenants/{tenant}/connections``: connect, test, masked read, disconnect, syncs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from sqlmodel import select

from atsbridge.errors import Conflict, NotFound
from atsbridge.http import syncs
from atsbridge.http.deps import Admin, App, Reader, TenantPath, Writer, visible
from atsbridge.http.paging import Cursor, Limit, UpdatedAfter, offset_of, page_of
from atsbridge.http.schemas import (
    Connection,
    ConnectionPage,
    ConnectRequest,
    Problem,
    Run,
    RunPage,
    SyncRequest,
    SyncStarted,
)
from atsbridge.services.sync import RunReport
from atsbridge.store import SyncRun

router = APIRouter(prefix="/v1/tenants/{tenant}/connections", tags=["connections"])
AtsPath = Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}$", description="The plugin's name")]


@router.get("", response_model=ConnectionPage, summary="A tenant's connections (masked)")
def list_connections(
    app: App,
    key: Reader,
    tenant: TenantPath,
    limit: Limit = 50,
    cursor: Cursor = None,
    updated_after: UpdatedAfter = None,
) -> dict[str, Any]:
    views = app.connections.list(visible(key, tenant))
    if not views:
        with app.store.tenant(tenant):  # NotFound for an unknown tenant, not an empty page
            pass
    items, next_cursor = page_of(
        views, cursor, limit, updated_after=updated_after, updated=lambda v: v.updated_at
    )
    return {"items": [v.to_json() for v in items], "next_cursor": next_cursor}


@router.get("/{ats}", response_model=Connection, summary="One connection, secrets masked")
def get_connection(app: App, key: Reader, tenant: TenantPath, ats: AtsPath) -> dict[str, Any]:
    return app.connections.get(visible(key, tenant), ats).to_json()


@router.put(
    "/{ats}",
    response_model=Connection,
    summary="Connect (or update) a tenant's ATS",
    description="Validates the config against the plugin's schema (every problem named in "
    "`errors`), authenticates against the ATS unless `test` is false, and stores it with "
    "secrets encrypted. A secret given as the mask keeps the stored value.",
    responses={422: {"model": Problem}},
)
def connect(
    app: App, key: Admin, tenant: TenantPath, ats: AtsPath, body: ConnectRequest
) -> dict[str, Any]:
    visible(key, tenant)
    app.plugin(ats)  # an unknown plugin is a 404 before the config is looked at
    # A remote caller must never make the server read its own environment or files.
    view = app.connections.connect(
        tenant, ats, body.config, check=body.test, allow_references=False, replace=True
    )
    return view.to_json()


@router.delete(
    "/{ats}",
    status_code=204,
    response_class=Response,
    summary="Disconnect: remove the connection and what was synced through it",
    responses={409: {"model": Problem}},
)
def disconnect(
    app: App,
    key: Admin,
    tenant: TenantPath,
    ats: AtsPath,
    leads_waiting: Annotated[
        int | None,
        Query(
            ge=0,
            description="The number of leads not exported yet, as the 409 answer reported "
            "it: confirms that they are marked failed until their jobs are imported again "
            "after a reconnect.",
        ),
    ] = None,
) -> Response:
    tenant = visible(key, tenant)
    queued = app.connections.queued_leads(tenant, ats)
    if queued and leads_waiting != queued:
        # Asked first, like the CLI: a disconnect would leave these leads unexported.
        raise Conflict(
            f"{tenant}/{ats} has {queued} lead{'' if queued == 1 else 's'} not exported yet; "
            f"they would be marked failed until their jobs are imported again after a "
            f"reconnect: repeat with ?leads_waiting={queued} to confirm"
        )
    app.connections.disconnect(tenant, ats)
    return Response(status_code=204)


@router.post(
    "/{ats}/test",
    response_model=Connection,
    summary="Authenticate with the stored config now",
    responses={422: {"model": Problem}, 503: {"model": Problem}},
)
def test_connection(app: App, key: Writer, tenant: TenantPath, ats: AtsPath) -> dict[str, Any]:
    return app.connections.check(visible(key, tenant), ats).to_json()


@router.post(
    "/{ats}/syncs",
    status_code=202,
    response_model=SyncStarted,
    summary="Start a sync; poll its runs for progress",
    description="Runs in the background of the server that took the request; its progress "
    "is stored after every page, so any server answers the runs' reads.",
)
def start_sync(
    request: Request,
    app: App,
    key: Writer,
    tenant: TenantPath,
    ats: AtsPath,
    body: SyncRequest | None = None,
) -> dict[str, Any]:
    body = body or SyncRequest(kinds=None)
    app.connections.get(visible(key, tenant), ats)  # 404 before anything starts
    started = syncs.start(request.app.state.sync_pool, app, tenant, ats, body.kinds, body.full)
    return started


def _run_updated(report: RunReport) -> datetime:
    """A run's last write: its end, else its last heartbeat, else its start."""
    if report.ended_at is not None:
        return report.ended_at
    beat = report.progress.get("heartbeat")
    return datetime.fromisoformat(beat) if isinstance(beat, str) else report.started_at


@router.get("/{ats}/syncs", response_model=RunPage, summary="Recent sync runs, newest first")
def list_runs(
    app: App,
    key: Reader,
    tenant: TenantPath,
    ats: AtsPath,
    limit: Limit = 20,
    cursor: Cursor = None,
    updated_after: UpdatedAfter = None,
) -> dict[str, Any]:
    start = offset_of(cursor)
    reports = app.sync.runs(visible(key, tenant), ats, limit=start + limit + 1)
    # Newest first, so what changed after the instant is at the front of what was read.
    items, next_cursor = page_of(
        reports, cursor, limit, updated_after=updated_after, updated=_run_updated
    )
    return {"items": [r.to_json() for r in items], "next_cursor": next_cursor}


@router.get("/{ats}/syncs/{run_id}", response_model=Run, summary="One sync run's progress")
def get_run(
    app: App,
    key: Reader,
    tenant: TenantPath,
    ats: AtsPath,
    run_id: Annotated[int, Path(ge=1, lt=2**31)],
) -> dict[str, Any]:
    with app.store.tenant(visible(key, tenant)) as repo:
        connection = repo.require_connection(ats)
        row = repo.first(
            select(SyncRun).where(SyncRun.connection_id == connection.id, SyncRun.id == run_id)
        )
        if row is None:
            raise NotFound(f"no sync run {run_id} of {tenant}/{ats}")
        return RunReport.from_row(tenant, ats, row).to_json()
