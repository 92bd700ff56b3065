"""The payloads of the events a sync writes, in one place so every writer spells them alike.

Each function adds its event to the caller's open transaction (``log.record_event``) and
returns the public JSON, which the caller fires to the plugins' hooks after the commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from atsbridge.events.log import iso, record_event
from atsbridge.events.types import (
    CONNECTION_CREDENTIALS_FAILING,
    DONOTSOURCE_UPDATED,
    SYNC_FINISHED,
)
from atsbridge.secrets import REDACTOR
from atsbridge.store import TenantRepo

__all__ = ["credentials_failing", "donotsource_updated", "sync_finished"]


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(REDACTOR.redact(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def sync_finished(
    repo: TenantRepo,
    *,
    ats: str,
    connection_id: int,
    run_id: int,
    kind: str,
    scope: str,
    status: str,
    counts: dict[str, int],
    errors: list[str],
    started_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    """``sync.finished``: one sync run (one kind, one scope) ended, how, and what it did."""
    return record_event(
        repo,
        tenant=repo.tenant_key,
        type=SYNC_FINISHED,
        data={
            "ats": ats,
            "run_id": run_id,
            "kind": kind,
            "scope": scope,
            "status": status,  # succeeded | failed | interrupted
            "counts": dict(counts),
            "errors": len(errors),
            "last_error": _one_line(errors[-1]) if errors and status != "succeeded" else None,
            "started_at": iso(started_at),
            "ended_at": iso(now),
        },
        connection_id=connection_id,
        now=now,
    )


def credentials_failing(
    repo: TenantRepo,
    *,
    ats: str,
    connection_id: int,
    during: str,
    error: str,
    now: datetime,
) -> dict[str, Any]:
    """``connection.credentials_failing``: the ATS refused the stored credentials
    (``during`` is ``check``, ``sync`` or ``session``); the message is redacted."""
    return record_event(
        repo,
        tenant=repo.tenant_key,
        type=CONNECTION_CREDENTIALS_FAILING,
        data={"ats": ats, "during": during, "error": _one_line(error)},
        connection_id=connection_id,
        now=now,
    )


def donotsource_updated(
    repo: TenantRepo,
    *,
    product_job_id: str | None,
    source: str,
    change: str,
    counts: dict[str, int],
    now: datetime,
    connection_id: int | None = None,
    import_id: int | None = None,
) -> dict[str, Any]:
    """``donotsource.updated``: a product job's do-not-source list changed. ``source`` is
    ``ats`` (a pipeline sync) or ``file``; ``change`` is ``sync``, ``import``,
    ``import_removed`` or ``email_removed``; ``counts`` added/updated/removed entries.
    ``product_job_id`` is None after an account-wide pipeline walk (many jobs at once)."""
    return record_event(
        repo,
        tenant=repo.tenant_key,
        type=DONOTSOURCE_UPDATED,
        data={
            "product_job_id": product_job_id,
            "source": source,
            "change": change,
            "import_id": import_id,
            "added": int(counts.get("added", 0)),
            "updated": int(counts.get("updated", 0)),
            "removed": int(counts.get("removed", 0)),
        },
        connection_id=connection_id,
        now=now,
    )
