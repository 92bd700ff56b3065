"""A product job: its synchronized state, its Candidates Not To Source window (the
"Imported from ATS" and files tabs, the imports, a search), file uploads with a preview
before saving, and the funnel of its exported leads.

Every read and write is the ``/v1`` routes' service call (``app.jobs``, ``app.cnts``,
``app.leads``); the pages only validate the form, page the lists and render. Each form is a
plain form that works without JavaScript; htmx only swaps the list as one types or pages.
"""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from atsbridge import countries, filereader
from atsbridge.console.sessions import Viewer
from atsbridge.console.uploads import UploadStash
from atsbridge.console.web import (
    ConsoleProblem,
    ConsoleRoute,
    checked_form,
    facade,
    need,
    render,
    tenant_view,
    viewer,
)
from atsbridge.errors import BadInput, NotFound
from atsbridge.filereader import FileRejected
from atsbridge.services.connections import check_tenant_key
from atsbridge.services.leads import STATES

__all__ = ["ENTRY_PAGE", "LEAD_PAGE", "TABS", "router"]

router = APIRouter(prefix="/console/t/{tenant}", route_class=ConsoleRoute, include_in_schema=False)
Who = Annotated[Viewer, Depends(viewer)]
# The window's tabs: the two sources of entries, then the file imports.
TABS = {"ats": "Imported from ATS", "file": "From files", "imports": "File imports"}
ENTRY_PAGE = 25
LEAD_PAGE = 25
_QUERY_MAX = 200
_PAGE_MAX = 10**6  # beyond any list; keeps the offset a database integer
# Shown on the preview: enough to fix a file, few enough to read.
PREVIEW_ROWS = 20
_MAX_COLUMNS = 500  # columns a remap form may name; more than any people file has

PageNo = Annotated[int, Query(ge=1, le=_PAGE_MAX)]


def _job_id(product_job_id: str) -> str:
    if not product_job_id.strip() or len(product_job_id) > 255:
        raise BadInput("product_job_id: 1 to 255 characters")
    return product_job_id


def _query(q: str | None) -> str | None:
    text = (q or "").strip()
    if len(text) > _QUERY_MAX:
        raise BadInput(f"q: at most {_QUERY_MAX} characters")
    return text or None


def _tab(tab: str) -> str:
    if tab not in TABS:
        raise BadInput(f"tab: one of {', '.join(TABS)}")
    return tab


def _state(state: str | None) -> str | None:
    if state in (None, ""):
        return None
    if state not in STATES:
        raise BadInput(f"state: one of {', '.join(STATES)}")
    return state


def _pages(total: int, size: int) -> int:
    return max(1, math.ceil(total / size))


def _url(base: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "", 1) or k == "tab"}
    return f"{base}?{urlencode(kept)}" if kept else base


# --- reads -----------------------------------------------------------------------------------


def _entries(request: Request, tenant: str, pj: str, tab: str, q: str | None, page: int) -> dict:
    app = facade(request)
    if tab == "imports":
        imports = app.cnts.imports(tenant, pj)
        pages = _pages(len(imports), ENTRY_PAGE)
        start = (min(page, pages) - 1) * ENTRY_PAGE
        return {
            "imports": imports[start : start + ENTRY_PAGE],
            "total": len(imports),
            "pages": pages,
            "page": min(page, pages),
        }
    found = app.cnts.list_entries(
        tenant, pj, search=q, source=tab, limit=ENTRY_PAGE, offset=(page - 1) * ENTRY_PAGE
    )
    return {
        "entries": found.entries,
        "total": found.total,
        "pages": _pages(found.total, ENTRY_PAGE),
        "page": page,
    }


def _leads(request: Request, tenant: str, pj: str, state: str | None, page: int) -> dict:
    app = facade(request)
    try:
        funnel = app.leads.funnel(tenant, pj)
    except NotFound:
        funnel = None  # a file-only list: no ATS job, so no lead was ever exported for it
    views = app.leads.list(tenant, pj, state=state) if funnel is not None else []
    pages = _pages(len(views), LEAD_PAGE)
    start = (min(page, pages) - 1) * LEAD_PAGE
    return {
        "funnel": funnel,
        "leads": views[start : start + LEAD_PAGE],
        "leads_total": len(views),
        "leads_pages": pages,
        "leads_page": min(page, pages),
        "leads_state": state or "",
        "states": STATES,
    }


def _link(request: Request, tenant: str, pj: str) -> Any:
    try:
        return facade(request).jobs.link(tenant, pj)
    except NotFound:
        return None  # a list made from files only (``cnts import --create``)


def _base(tenant: str, pj: str) -> str:
    return f"/console/t/{tenant}/product-jobs/{pj}"


# --- pages -----------------------------------------------------------------------------------


@router.get("/product-jobs")
def job_list(request: Request, who: Who, tenant: str) -> Response:
    """The imported jobs, newest import first, each opening its job page."""
    tenant_view(who, check_tenant_key(tenant), "jobs")
    links = facade(request).jobs.list(tenant)
    return render(request, "product_jobs.html", who=who, tenant=tenant, links=links)


@router.get("/product-jobs/{product_job_id}")
def job_page(
    request: Request,
    who: Who,
    tenant: str,
    product_job_id: str,
    tab: str = "ats",
    q: str | None = None,
    page: PageNo = 1,
    state: str | None = None,
    leads_page: PageNo = 1,
) -> Response:
    tenant_view(who, check_tenant_key(tenant), "jobs")
    pj = _job_id(product_job_id)
    tab, query, lead_state = _tab(tab), _query(q), _state(state)
    entries = _entries(request, tenant, pj, tab, query, page)  # NotFound: an unknown job
    context = {
        "tenant": tenant,
        "pj": pj,
        "base": _base(tenant, pj),
        "link": _link(request, tenant, pj),
        "tab": tab,
        "tabs": TABS,
        "q": query or "",
        "url": _url,
        "notice": request.query_params.get("notice"),
        **entries,
        **_leads(request, tenant, pj, lead_state, leads_page),
    }
    return render(request, "product_job.html", who=who, **context)


@router.get("/product-jobs/{product_job_id}/entries")
def entries_fragment(
    request: Request,
    who: Who,
    tenant: str,
    product_job_id: str,
    tab: str = "ats",
    q: str | None = None,
    page: PageNo = 1,
) -> Response:
    """The list of one tab, for the search box and the pager (htmx swaps ``#entries``)."""
    tenant_view(who, check_tenant_key(tenant), "jobs")
    pj = _job_id(product_job_id)
    tab, query = _tab(tab), _query(q)
    entries = _entries(request, tenant, pj, tab, query, page)
    return render(
        request,
        "product_job_entries.html",
        who=who,
        tenant=tenant,
        pj=pj,
        base=_base(tenant, pj),
        tab=tab,
        tabs=TABS,
        q=query or "",
        url=_url,
        **entries,
    )


@router.get("/product-jobs/{product_job_id}/leads")
def leads_fragment(
    request: Request,
    who: Who,
    tenant: str,
    product_job_id: str,
    state: str | None = None,
    leads_page: PageNo = 1,
) -> Response:
    """The funnel and the lead list; the job page polls it so status changes show."""
    tenant_view(who, check_tenant_key(tenant), "jobs")
    pj = _job_id(product_job_id)
    context = _leads(request, tenant, pj, _state(state), leads_page)
    if context["funnel"] is None:
        _entries(request, tenant, pj, "imports", None, 1)  # NotFound: an unknown job
    return render(
        request,
        "product_job_leads.html",
        who=who,
        tenant=tenant,
        pj=pj,
        base=_base(tenant, pj),
        url=_url,
        **context,
    )


# --- file upload: preview, then confirm ----------------------------------------------------


def _stash(request: Request) -> UploadStash:
    stash: UploadStash = request.app.state.console_uploads
    return stash


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _options(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The import options of the upload form, and per-field errors."""
    errors: dict[str, str] = {}
    given = _text(form, "default_country")
    country = countries.country_of(given[:100]) if given else None
    if given and country is None:
        errors["default_country"] = "not a country: give an ISO code such as GB, or a name"
    sheet = _text(form, "sheet")
    if len(sheet) > 200:
        errors["sheet"] = "at most 200 characters"
    return {"default_country": country, "sheet": sheet or None}, errors


def _upload_page(
    request: Request,
    who: Viewer,
    tenant: str,
    pj: str,
    status: int,
    *,
    errors: dict[str, str],
    values: dict[str, str],
) -> Response:
    return render(
        request,
        "product_job_upload.html",
        status,
        who=who,
        tenant=tenant,
        pj=pj,
        base=_base(tenant, pj),
        link=_link(request, tenant, pj),
        errors=errors,
        values=values,
    )


def _writable_job(who: Viewer, tenant: str, product_job_id: str) -> str:
    """The product job id of a write action, once the session may write to that tenant's jobs."""
    tenant_view(who, check_tenant_key(tenant), "jobs")
    need(who, "write")
    return _job_id(product_job_id)


@router.get("/product-jobs/{product_job_id}/upload")
def upload_form(request: Request, who: Who, tenant: str, product_job_id: str) -> Response:
    pj = _writable_job(who, tenant, product_job_id)
    facade(request).cnts.imports(tenant, pj)  # NotFound: an unknown job
    return _upload_page(request, who, tenant, pj, 200, errors={}, values={})


@router.post("/product-jobs/{product_job_id}/upload")
async def preview(request: Request, who: Who, tenant: str, product_job_id: str) -> Response:
    """A dry run of the uploaded file (as ``POST .../imports`` with ``dry_run``): the
    mapping, the counts and the first row errors; the file is held for the confirm."""
    pj = _writable_job(who, tenant, product_job_id)
    form = await checked_form(request, who)
    options, errors = _options(form)
    values = {"default_country": _text(form, "default_country"), "sheet": _text(form, "sheet")}
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["file"] = "choose a CSV or XLSX file"
    if errors:
        return _upload_page(request, who, tenant, pj, 422, errors=errors, values=values)
    assert isinstance(upload, UploadFile)
    data = await upload.read(filereader.MAX_BYTES + 1)
    if len(data) > filereader.MAX_BYTES:
        errors["file"] = f"over the {filereader.MAX_BYTES:,}-byte limit; split it"
        return _upload_page(request, who, tenant, pj, 413, errors=errors, values=values)
    name = PurePath(upload.filename or "upload").name or "upload"
    stash = _stash(request)
    owner = stash.owner(who.csrf, tenant, pj)
    token, path = await run_in_threadpool(stash.put, owner, data, name, options)
    app = facade(request)
    try:
        report = await run_in_threadpool(
            lambda: app.cnts.import_file(tenant, pj, path, dry_run=True, **options)
        )
    except FileRejected as exc:
        stash.drop(token)  # a rejected file is never confirmable
        errors["file"] = str(exc)
        return _upload_page(request, who, tenant, pj, 422, errors=errors, values=values)
    except BaseException:
        stash.drop(token)
        raise
    return _preview_page(request, who, tenant, pj, report, name, token)


def _preview_page(
    request: Request, who: Viewer, tenant: str, pj: str, report: Any, name: str, token: str
) -> Response:
    return render(
        request,
        "product_job_preview.html",
        who=who,
        tenant=tenant,
        pj=pj,
        base=_base(tenant, pj),
        link=_link(request, tenant, pj),
        report=report,
        file_name=name,
        token=token,
        rows=PREVIEW_ROWS,
        fields=(*filereader.FIELDS, filereader.IGNORE),
    )


def _column_map(form: Any) -> dict[str, str]:
    """``h<i>`` (a header of the file) -> ``f<i>`` (the field it feeds, or ignore)."""
    wanted = (*filereader.FIELDS, filereader.IGNORE)
    mapping: dict[str, str] = {}
    for i in range(_MAX_COLUMNS + 1):
        header, field = form.get(f"h{i}"), form.get(f"f{i}")
        if header is None:
            break
        if i == _MAX_COLUMNS:
            raise BadInput(f"h{i}: at most {_MAX_COLUMNS} columns")
        if not isinstance(header, str) or not isinstance(field, str) or field not in wanted:
            raise BadInput(f"f{i}: one of {', '.join(wanted)}")
        mapping[header] = field
    return mapping


@router.post("/product-jobs/{product_job_id}/upload/{token}/remap")
async def remap(
    request: Request, who: Who, tenant: str, product_job_id: str, token: str
) -> Response:
    """Preview the held file again with the columns read as the form says (as ``--map``)."""
    pj = _writable_job(who, tenant, product_job_id)
    form = await checked_form(request, who)
    mapping = _column_map(form)  # checked before the held file is taken
    stash = _stash(request)
    owner = stash.owner(who.csrf, tenant, pj)
    held = stash.take(owner, token[:64])
    if held is None:
        raise ConsoleProblem(
            409, "file: this preview expired or was already imported; upload the file again"
        )
    options = {**held.options, "column_map": mapping}
    try:
        data = held.path.read_bytes()
    finally:
        stash.discard(held)
    new_token, path = await run_in_threadpool(stash.put, owner, data, held.file_name, options)
    app = facade(request)
    try:
        report = await run_in_threadpool(
            lambda: app.cnts.import_file(tenant, pj, path, dry_run=True, **options)
        )
    except BaseException:
        stash.drop(new_token)  # e.g. a mapping that leaves no usable column
        raise
    return _preview_page(request, who, tenant, pj, report, held.file_name, new_token)


@router.post("/product-jobs/{product_job_id}/upload/{token}/confirm")
async def confirm(
    request: Request, who: Who, tenant: str, product_job_id: str, token: str
) -> Response:
    """Import the previewed file for real (as ``POST .../imports``)."""
    pj = _writable_job(who, tenant, product_job_id)
    await checked_form(request, who)
    stash = _stash(request)
    held = stash.take(stash.owner(who.csrf, tenant, pj), token[:64])
    if held is None:
        raise ConsoleProblem(
            409, "file: this preview expired or was already imported; upload the file again"
        )
    app = facade(request)
    try:
        report = await run_in_threadpool(
            lambda: app.cnts.import_file(tenant, pj, held.path, **held.options)
        )
    finally:
        stash.discard(held)
    notice = (
        f"{held.file_name} imported: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.skipped} rows skipped"
    )
    target = _url(_base(tenant, pj), tab="imports", notice=notice)
    return RedirectResponse(target, status_code=303)


@router.post("/product-jobs/{product_job_id}/imports/{import_id}/remove")
async def remove_import(
    request: Request, who: Who, tenant: str, product_job_id: str, import_id: str
) -> Response:
    """Remove an import (as ``DELETE .../imports/{id}``): its entries no other import lists."""
    pj = _writable_job(who, tenant, product_job_id)
    await checked_form(request, who)
    if not import_id.isdigit() or not 1 <= int(import_id) < 2**31:
        raise BadInput("import_id: a positive whole number")
    app = facade(request)
    report = await run_in_threadpool(app.cnts.remove_import, tenant, pj, int(import_id))
    notice = f"import {import_id} removed: {report.removed} entries left the list"
    if report.kept:
        notice += f", {report.kept} stay (another import lists them)"
    return RedirectResponse(_url(_base(tenant, pj), tab="imports", notice=notice), 303)
