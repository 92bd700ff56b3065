"""Leads left waiting by a disconnect: failed visibly, then adopted again, never stranded.

A disconnect deletes the connection, and a queued lead's ``connection_id`` goes with it
(``ON DELETE SET NULL``): nothing would ever export it again. So ``disconnect`` first marks
every lead still waiting on that connection (pending, failed, or being exported) as
*failed* with ``DISCONNECTED`` as its reason and no next attempt, and says how many.

They come back in three ways:

- importing the same ATS job for their product job again (after the reconnect) adopts
  them: they are queued on the new connection and exported by the next drain;
- ``atsbridge leads retry`` adopts one into whatever the product job is linked to now
  (also another ATS job: the operator's choice), or says the job must be imported first;
- pushing the same lead again re-queues it the same way instead of "already queued".
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from atsbridge.store import JobLink, LeadRow, TenantRepo
from atsbridge.store.tables import table

__all__ = [
    "DISCONNECTED",
    "WAITING",
    "adopt",
    "adopt_row",
    "fail_for_disconnect",
    "is_orphan",
    "waiting",
]

DISCONNECTED = (
    "its connection was disconnected: exported once the job is imported again "
    "(after a reconnect), or re-queue it with `atsbridge leads retry`"
)
# The states of a lead that would still be exported by its connection.
WAITING = ("pending", "failed", "exporting")

_L = table(LeadRow)


def waiting(repo: TenantRepo, connection_id: int) -> int:
    """How many leads ``connection_id`` still has to export (what a disconnect strands)."""
    statement = sa.select(sa.func.count()).where(
        _L.c.tenant_id == repo.tenant_id,
        _L.c.connection_id == connection_id,
        _L.c.state.in_(WAITING),
    )
    return int(repo.session.connection().execute(statement).scalar_one())


def fail_for_disconnect(repo: TenantRepo, connection_id: int, now: datetime) -> int:
    """Mark the connection's waiting leads failed with ``DISCONNECTED`` (before deleting it)."""
    result = repo.session.connection().execute(
        sa.update(_L)
        .where(
            _L.c.tenant_id == repo.tenant_id,
            _L.c.connection_id == connection_id,
            _L.c.state.in_(WAITING),
        )
        .values(
            state="failed",
            last_error=DISCONNECTED,
            next_attempt_at=None,
            claimed_until=None,
            updated_at=now,
        )
    )
    return int(result.rowcount or 0)


def adopt(repo: TenantRepo, link: JobLink, now: datetime) -> int:
    """Queue the product job's orphaned leads for the same ATS job on ``link``'s connection.

    Called when a job is imported. Only leads that were headed for this very ATS job are
    taken; leads of another one wait for ``leads retry`` (a person's decision).
    """
    result = repo.session.connection().execute(
        sa.update(_L)
        .where(
            _L.c.tenant_id == repo.tenant_id,
            _L.c.product_job_id == link.product_job_id,
            _L.c.connection_id.is_(None),
            _L.c.ats_job_id == link.ats_job_id,
            _L.c.state.in_(WAITING),
        )
        .values(
            connection_id=link.connection_id,
            state="pending",
            attempts=0,
            last_error=None,
            next_attempt_at=now,
            claimed_until=None,
            updated_at=now,
        )
    )
    return int(result.rowcount or 0)


def adopt_row(row: LeadRow, link: JobLink, now: datetime) -> None:
    """Put one orphaned lead on ``link`` (retry, re-push): queued for the next drain."""
    row.connection_id, row.ats_job_id = link.connection_id, link.ats_job_id
    row.state, row.attempts, row.last_error = "pending", 0, None
    row.next_attempt_at, row.claimed_until, row.updated_at = now, None, now


def is_orphan(row: LeadRow) -> bool:
    return row.connection_id is None and row.state in WAITING
