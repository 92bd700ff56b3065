"""Import job from ATS: recent jobs first, search as you type, import as a product job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

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
from atsbridge.errors import BadInput, Conflict
from atsbridge.services.connections import check_tenant_key
from atsbridge.services.jobs import IMPORT_FIELDS

__all__ = ["router"]

router = APIRouter(prefix="/console/t/{tenant}", route_class=ConsoleRoute, include_in_schema=False)
Who = Annotated[Viewer, Depends(viewer)]
PAGE = 20
_QUERY_MAX = 200


def _query(q: str | None) -> str | None:
    text = (q or "").strip()
    if len(text) > _QUERY_MAX:
        raise BadInput(f"q: at most {_QUERY_MAX} characters")
    return text or None


@router.get("/jobs")
def import_window(request: Request, who: Who, tenant: str, q: str | None = None) -> Response:
    """The window; its search box asks ``/jobs/results`` for the list as one types."""
    tenant_view(who, check_tenant_key(tenant), "jobs")
    query = _query(q)
    page = facade(request).jobs.search(tenant, query, limit=PAGE)
    template = "jobs_results.html" if "hx-request" in request.headers else "jobs.html"
    return render(request, template, who=who, tenant=tenant, q=query or "", page=page)


@router.get("/jobs/results")
def results(request: Request, who: Who, tenant: str, q: str | None = None) -> Response:
    tenant_view(who, check_tenant_key(tenant), "jobs")
    query = _query(q)
    page = facade(request).jobs.search(tenant, query, limit=PAGE)
    return render(request, "jobs_results.html", who=who, tenant=tenant, q=query or "", page=page)


def _import_page(
    request: Request,
    who: Viewer,
    tenant: str,
    ats: str,
    ats_job_id: str,
    status: int = 200,
    **context: Any,
) -> Response:
    job = facade(request).jobs.get(tenant, ats, ats_job_id)
    context.setdefault("error", None)
    context.setdefault("value", "")
    context.setdefault("result", None)
    return render(request, "job_import.html", status, who=who, tenant=tenant, job=job, **context)


@router.get("/jobs/{ats}/{ats_job_id}/import")
def import_form(request: Request, who: Who, tenant: str, ats: str, ats_job_id: str) -> Response:
    tenant_view(who, check_tenant_key(tenant), "jobs")
    return _import_page(request, who, tenant, ats, ats_job_id)


@router.post("/jobs/{ats}/{ats_job_id}/import")
async def import_job(
    request: Request, who: Who, tenant: str, ats: str, ats_job_id: str
) -> Response:
    """As ``PUT /v1/tenants/{tenant}/product-jobs/{id}/link``: the same link again is fine."""
    tenant_view(who, check_tenant_key(tenant), "jobs")
    need(who, "write")
    form = await checked_form(request, who)
    raw = form.get("product_job_id")
    product_job_id = raw.strip() if isinstance(raw, str) else ""
    app = facade(request)
    if not product_job_id or len(product_job_id) > 255:
        error = "product job id: 1 to 255 characters"
        return _import_page(request, who, tenant, ats, ats_job_id, 422, error=error)
    try:
        result: dict[str, Any] = (
            await run_in_threadpool(app.jobs.import_job, tenant, ats, ats_job_id, product_job_id)
        ).to_json()
    except Conflict as exc:
        same = await run_in_threadpool(
            app.jobs.existing_import, tenant, product_job_id, ats, ats_job_id
        )
        if same is None:
            return _import_page(
                request, who, tenant, ats, ats_job_id, 409, error=str(exc), value=product_job_id
            )
        result = same.to_json()
    return _import_page(request, who, tenant, ats, ats_job_id, result=result, fields=IMPORT_FIELDS)
