"""Leads: push (with ``Idempotency-Key``), read one, list, and a product job's funnel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from atsbridge import leaddoc
from atsbridge.http import idempotency
from atsbridge.http.deps import App, Reader, TenantPath, Writer, visible
from atsbridge.http.paging import Cursor, Limit, UpdatedAfter, page_of
from atsbridge.http.routes.jobs import ProductJobPath
from atsbridge.http.schemas import Funnel, Lead, LeadPage, Problem, PushResponse, Text
from atsbridge.services.leads import STATES, LeadView

router = APIRouter(prefix="/v1/tenants/{tenant}", tags=["leads"])

StateQuery = Annotated[str | None, Query(description=f"One of {', '.join(STATES)}")]


def _page(
    views: list[LeadView], limit: int, cursor: str | None, updated_after: Any
) -> dict[str, Any]:
    items, next_cursor = page_of(
        views, cursor, limit, updated_after=updated_after, updated=lambda v: v.updated_at
    )
    return {"items": [v.to_json() for v in items], "next_cursor": next_cursor}


@router.post(
    "/product-jobs/{product_job_id}/leads",
    response_model=PushResponse,
    status_code=201,
    summary="Push a lead to the job's ATS (exactly once)",
    description="Validates the lead document and queues it durably; with `export_now` it is "
    "exported at once when the ATS answers (else by the host's outbox, with retries). The "
    "same lead id for the same job is never exported twice. With an `Idempotency-Key` "
    "header, replaying the same request returns the first answer; the same key with another "
    "body is 422 `idempotency.mismatch`.",
    responses={
        200: {"model": PushResponse, "description": "The lead was queued before"},
        422: {"model": Problem},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": leaddoc.schema()}},
        }
    },
)
def push_lead(
    request: Request,
    app: App,
    key: Writer,
    tenant: TenantPath,
    product_job_id: ProductJobPath,
    document: Annotated[dict[str, Any], Body()],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
    export_now: Annotated[bool, Query(description="Try the export before answering")] = True,
) -> Any:
    visible(key, tenant)

    def call() -> tuple[int, dict[str, Any]]:
        outcome = app.leads.push(tenant, product_job_id, document, export=export_now)
        return (200 if outcome.already_queued else 201), outcome.to_json()

    if idempotency_key is None:
        status, body = call()
        return JSONResponse(body, status_code=status)
    print_ = idempotency.fingerprint(
        "POST", request.url.path, {"document": document, "export_now": export_now}
    )
    status, body, replayed = idempotency.run_once(
        app, tenant, idempotency.check_key(idempotency_key), print_, call
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(body, status_code=status, headers=headers)


@router.get(
    "/product-jobs/{product_job_id}/leads",
    response_model=LeadPage,
    summary="The job's leads, oldest first",
)
def list_job_leads(
    app: App,
    key: Reader,
    tenant: TenantPath,
    product_job_id: ProductJobPath,
    state: StateQuery = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    updated_after: UpdatedAfter = None,
) -> dict[str, Any]:
    views = app.leads.list(visible(key, tenant), product_job_id, state=state)
    return _page(views, limit, cursor, updated_after)


@router.get("/leads", response_model=LeadPage, summary="Every lead of the tenant, oldest first")
def list_leads(
    app: App,
    key: Reader,
    tenant: TenantPath,
    state: StateQuery = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    updated_after: UpdatedAfter = None,
) -> dict[str, Any]:
    views = app.leads.list(visible(key, tenant), state=state)
    return _page(views, limit, cursor, updated_after)


@router.get(
    "/product-jobs/{product_job_id}/leads/{lead_id}",
    response_model=Lead,
    summary="One lead: export state, ATS ids, status in the pipeline",
)
def get_lead(
    app: App,
    key: Reader,
    tenant: TenantPath,
    product_job_id: ProductJobPath,
    lead_id: Annotated[Text, Path(min_length=1, max_length=255)],
) -> dict[str, Any]:
    return app.leads.get(visible(key, tenant), product_job_id, lead_id).to_json()


@router.get(
    "/product-jobs/{product_job_id}/funnel",
    response_model=Funnel,
    summary="Counts of the job's leads per ATS status and per export state",
)
def funnel(
    app: App, key: Reader, tenant: TenantPath, product_job_id: ProductJobPath
) -> dict[str, Any]:
    return app.leads.funnel(visible(key, tenant), product_job_id).to_json()
