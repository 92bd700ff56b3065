"""The event types of the log: stable strings, part of the public contract with the product."""

from __future__ import annotations

JOB_CLOSED = "job.closed"
JOB_REOPENED = "job.reopened"
JOB_DELETED = "job.deleted"
LEAD_EXPORTED = "lead.exported"
LEAD_FAILED = "lead.failed"
LEAD_SKIPPED = "lead.skipped"
CANDIDATE_STATUS_CHANGED = "candidate.status_changed"
DONOTSOURCE_UPDATED = "donotsource.updated"
SYNC_FINISHED = "sync.finished"
CONNECTION_CREDENTIALS_FAILING = "connection.credentials_failing"
WEBHOOK_PING = "webhook.ping"

DOMAIN_TYPES: tuple[str, ...] = (
    JOB_CLOSED,
    JOB_REOPENED,
    JOB_DELETED,
    LEAD_EXPORTED,
    LEAD_FAILED,
    LEAD_SKIPPED,
    CANDIDATE_STATUS_CHANGED,
    DONOTSOURCE_UPDATED,
    SYNC_FINISHED,
    CONNECTION_CREDENTIALS_FAILING,
)
"""What the feed carries and an endpoint may subscribe to."""

ALL_TYPES: tuple[str, ...] = (*DOMAIN_TYPES, WEBHOOK_PING)
"""Everything the log may hold: the domain types and the endpoints' test pings."""

__all__ = [
    "ALL_TYPES",
    "CANDIDATE_STATUS_CHANGED",
    "CONNECTION_CREDENTIALS_FAILING",
    "DOMAIN_TYPES",
    "DONOTSOURCE_UPDATED",
    "JOB_CLOSED",
    "JOB_DELETED",
    "JOB_REOPENED",
    "LEAD_EXPORTED",
    "LEAD_FAILED",
    "LEAD_SKIPPED",
    "SYNC_FINISHED",
    "WEBHOOK_PING",
]
