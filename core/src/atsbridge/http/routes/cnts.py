"""A product job's do-not-source list: list and search, batch check, file imports."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile

from atsbridge import filereader
from atsbridge.http.deps import App, Reader, TenantPath, Writer, visible
from atsbridge.http.paging import Cursor, Limit, UpdatedAfter, check_aware, encode, offset_of
from atsbridge.http.problems import ApiProblem
from atsbridge.http.routes.jobs import ProductJobPath
from atsbridge.http.schemas import (
    CheckRequest,
    CheckResponse,
    EntryPage,
    ImportList,
    ImportReport,
    RemoveReport,
    Text,
)
from atsbridge.services.cnts import SOURCES, Person

router = APIRouter(
    prefix="/v1/tenants/{tenant}/product-jobs/{product_job_id}/do-not-source",
    tags=["do-not-source"],
)


@router.get("", response_model=EntryPage, summary="The job's do-not-source entries, newest first")
def list_entries(
    app: App,
    key: Reader,
    tenant: TenantPath,
    product_job_id: ProductJobPath,
    search: Annotated[
        Text | None,
        Query(max_length=200, description="Any part of a name, email, LinkedIn URL or phone"),
    ] = None,
    source: Annotated[str | None, Query(description=f"One of {', '.join(SOURCES)}")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    updated_after: UpdatedAfter = None,
) -> dict[str, Any]:
    offset = offset_of(cursor)
    found = app.cnts.list_entries(
        visible(key, tenant),
        product_job_id,
        search=search,
        source=source,
        limit=limit,
        offset=offset,
        updated_after=check_aware(updated_after),
    )
    more = offset + limit < found.total
    return {
        "items": [e.to_json() for e in found.entries],
        "total": found.total,
        "next_cursor": encode({"o": offset + limit}) if more else None,
    }


@router.post(
    "/check",
    response_model=CheckResponse,
    summary="Check people against the list (which rule matched)",
    description="One result per person, in order. A value that cannot be read (say a phone "
    "without a country) is reported in that result's `problems` and left out of the check.",
)
def check(
    app: App, key: Reader, tenant: TenantPath, product_job_id: ProductJobPath, body: CheckRequest
) -> dict[str, Any]:
    people = [
        Person(
            emails=tuple(p.emails),
            linkedin=p.linkedin,
            phones=tuple(p.phones),
            name=p.name,
            company=p.company,
            city=p.city,
        )
        for p in body.people
    ]
    results = app.cnts.check_batch(
        visible(key, tenant), product_job_id, people, default_country=body.default_country
    )
    return {"results": [r.to_json() for r in results]}


def _read_upload(upload: UploadFile, limit: int) -> bytes:
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise ApiProblem(
            413,
            "input.too_large",
            f"file: over the {limit:,}-byte limit; split it",
            errors=[{"field": "body.file", "message": f"over {limit:,} bytes"}],
        )
    return data


@router.post(
    "/imports",
    response_model=ImportReport,
    summary="Import a CSV or XLSX file into the list (or preview it with dry_run)",
    description="Multipart form: `file`, optional `dry_run`, `sheet`, `default_country`. "
    "Rows that cannot be used are listed in `problems` with their row number; the others "
    "are added. A dry run reads and reports without storing anything.",
    responses={201: {"model": ImportReport, "description": "Imported"}},
)
def import_file(
    app: App,
    key: Writer,
    tenant: TenantPath,
    product_job_id: ProductJobPath,
    response: Response,
    file: Annotated[UploadFile, File(description="CSV (any common encoding) or .xlsx")],
    dry_run: Annotated[bool, Form()] = False,
    sheet: Annotated[Text | None, Form(max_length=200)] = None,
    default_country: Annotated[Text | None, Form(min_length=2, max_length=2)] = None,
    create: Annotated[
        bool, Form(description="Start a list for a product job with no ATS link")
    ] = False,
) -> dict[str, Any]:
    visible(key, tenant)
    data = _read_upload(file, filereader.MAX_BYTES)
    name = FilePath(file.filename or "upload").name or "upload"
    with tempfile.TemporaryDirectory(prefix="atsbridge-upload-") as tmp:
        path = FilePath(tmp) / name
        path.write_bytes(data)
        report = app.cnts.import_file(
            tenant,
            product_job_id,
            path,
            sheet=sheet,
            default_country=default_country,
            create=create,
            dry_run=dry_run,
        )
    response.status_code = 200 if dry_run else 201
    return report.to_json()


@router.get("/imports", response_model=ImportList, summary="The job's recorded file imports")
def list_imports(
    app: App,
    key: Reader,
    tenant: TenantPath,
    product_job_id: ProductJobPath,
    updated_after: UpdatedAfter = None,
) -> dict[str, Any]:
    views = app.cnts.imports(visible(key, tenant), product_job_id)
    after = check_aware(updated_after)
    if after is not None:  # an import is never changed: its time is when it was made
        views = [v for v in views if v.imported_at > after]
    return {"items": [v.to_json() for v in views]}


@router.delete(
    "/imports/{import_id}",
    response_model=RemoveReport,
    summary="Remove an import: its entries no other import lists leave the list",
)
def remove_import(
    app: App,
    key: Writer,
    tenant: TenantPath,
    product_job_id: ProductJobPath,
    import_id: Annotated[int, Path(ge=1, lt=2**31)],
) -> dict[str, Any]:
    return app.cnts.remove_import(visible(key, tenant), product_job_id, import_id).to_json()
