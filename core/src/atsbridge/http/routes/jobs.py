"""Job search over a tenant's ATS mirror, one job, and links (the import window)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from sqlmodel import select

from atsbridge.api import Atsbridge
from atsbridge.errors import Conflict
from atsbridge.http.deps import App, Reader, TenantPath, Writer, visible
from atsbridge.http.paging import (
    Cursor,
    Limit,
    UpdatedAfter,
    check_aware,
    encode,
    offset_of,
    page_of,
)
from atsbridge.http.schemas import ImportResult, Job, JobPage, Link, LinkPage, LinkRequest, Text
from atsbridge.services.jobs import LinkView
from atsbridge.store import JobLink

router = APIRouter(prefix="/v1/tenants/{tenant}", tags=["jobs"])

ProductJobPath = Annotated[
    Text, Path(min_length=1, max_length=255, description="The product's job id")
]


@router.get(
    "/jobs",
    response_model=JobPage,
    summary="Search the tenant's ATS jobs",
    description="Without `q`: most recently updated first. With `q`: exact reference or id, "
    "then every word in the title, words over title and location, location words, then a "
    "partial reference or id; newest first within each.",
)
def search_jobs(
    app: App,
    key: Reader,
    tenant: TenantPath,
    q: Annotated[Text | None, Query(max_length=200, description="Search text")] = None,
    ats: Annotated[str | None, Query(max_length=64, description="Only this ATS")] = None,
    status: Annotated[
        str | None, Query(max_length=100, description="Comma-separated statuses (open,...)")
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
    updated_after: UpdatedAfter = None,
) -> dict[str, Any]:
    offset = offset_of(cursor)
    page = app.jobs.search(
        visible(key, tenant),
        q,
        ats=ats,
        status=status,
        limit=limit,
        offset=offset,
        updated_after=check_aware(updated_after),
    )
    next_cursor = encode({"o": page.next_offset}) if page.next_offset is not None else None
    return {"items": [j.to_json() for j in page.items], "next_cursor": next_cursor}


@router.get("/jobs/{ats}/{ats_job_id}", response_model=Job, summary="One mirrored ATS job")
def get_job(
    app: App,
    key: Reader,
    tenant: TenantPath,
    ats: Annotated[str, Path(max_length=64)],
    ats_job_id: Annotated[Text, Path(max_length=255)],
) -> dict[str, Any]:
    return app.jobs.get(visible(key, tenant), ats, ats_job_id).to_json()


def _updated(app: Atsbridge, tenant: str) -> dict[str, datetime]:
    with app.store.tenant(tenant) as repo:
        rows = repo.all(select(JobLink.product_job_id, JobLink.updated_at))
    return {str(p): u for p, u in rows}


def _link_json(view: LinkView, updated: dict[str, datetime]) -> dict[str, Any]:
    return {**view.to_json(), "updated_at": updated.get(view.product_job_id, view.imported_at)}


@router.get("/links", response_model=LinkPage, summary="Imported jobs, newest import first")
def list_links(
    app: App,
    key: Reader,
    tenant: TenantPath,
    limit: Limit = 50,
    cursor: Cursor = None,
    updated_after: UpdatedAfter = None,
) -> dict[str, Any]:
    views = app.jobs.list(visible(key, tenant))
    updated = _updated(app, tenant)
    items, next_cursor = page_of(
        views,
        cursor,
        limit,
        updated_after=updated_after,
        updated=lambda v: updated.get(v.product_job_id),
    )
    return {"items": [_link_json(v, updated) for v in items], "next_cursor": next_cursor}


@router.get(
    "/product-jobs/{product_job_id}/link",
    response_model=Link,
    summary="The ATS job a product job was imported from",
)
def get_link(
    app: App, key: Reader, tenant: TenantPath, product_job_id: ProductJobPath
) -> dict[str, Any]:
    view = app.jobs.link(visible(key, tenant), product_job_id)
    return _link_json(view, _updated(app, tenant))


@router.put(
    "/product-jobs/{product_job_id}/link",
    response_model=ImportResult,
    summary="Import an ATS job as this product job (idempotent)",
    description="Links the product job to the ATS job and returns the product job's prefilled "
    "fields and the names of those the ATS job left empty. Sending the same link again "
    "answers 200 with `created: false`; linking either side elsewhere is a 409.",
    responses={201: {"model": ImportResult, "description": "Linked now"}},
)
def put_link(
    app: App,
    key: Writer,
    tenant: TenantPath,
    product_job_id: ProductJobPath,
    body: LinkRequest,
    response: Response,
) -> dict[str, Any]:
    visible(key, tenant)
    try:
        result = app.jobs.import_job(tenant, body.ats, body.ats_job_id, product_job_id)
    except Conflict:
        same = app.jobs.existing_import(
            tenant, product_job_id.strip(), body.ats, body.ats_job_id.strip()
        )
        if same is None:
            raise
        response.status_code = 200
        return {**same.to_json(), "created": False}
    response.status_code = 201
    return {**result.to_json(), "created": True}
