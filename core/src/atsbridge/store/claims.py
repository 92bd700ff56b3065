"""Claiming one queued row for one worker: the lease mechanism the lead outbox and the webhook
deliveries share.

A claim is one atomic ``UPDATE ... WHERE id = (SELECT id ... LIMIT 1 FOR UPDATE SKIP LOCKED)
AND <still due> RETURNING ...``. On PostgreSQL the row is picked with ``SKIP LOCKED``, so
two hosts claiming at once take different rows; on SQLite the caller runs it in a
``BEGIN IMMEDIATE`` transaction (``immediate=True``), which serialises claimers. The update
sets a lease (``claimed_until``) and bumps ``attempts``, which is the claim's token: the
worker writes its outcome only where the row still has that attempt number, so a worker
presumed dead after its lease cannot overwrite the one that took over.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

__all__ = ["backoff", "claim_one"]


def claim_one(
    conn: sa.Connection,
    target: sa.Table,
    *,
    pick: sa.Select[Any],
    due: sa.ColumnElement[bool],
    values: Mapping[str, Any],
    returning: Sequence[sa.ColumnElement[Any]],
) -> sa.Row[Any] | None:
    """Claim the first row ``pick`` selects (its ``id``, ordered, filtered on ``due``).

    ``due`` is checked again by the update itself, so a row another worker claimed in
    between is not claimed twice. Returns the ``returning`` columns, or None.
    """
    picked = pick.limit(1).with_for_update(skip_locked=True, of=target)
    return conn.execute(
        sa.update(target)
        .where(target.c.id == picked.scalar_subquery(), due)
        .values(**values)
        .returning(*returning)
    ).first()


def backoff(key: str, attempt: int, *, base: timedelta, cap: timedelta, jitter: float) -> timedelta:
    """Wait before attempt ``attempt + 1``: exponential from ``base``, capped, plus a jitter.

    The jitter (a fraction up to ``jitter`` of the wait) is derived from ``key``, not drawn
    at random, so a test with an injected clock knows exactly when a retry is due, while
    rows that failed together still spread out.
    """
    wait = min(base * (2 ** max(0, attempt - 1)), cap)
    digest = hashlib.sha256(f"{key}:{attempt}".encode()).digest()
    fraction = int.from_bytes(digest[:4], "big") / 2**32
    return wait + wait * (jitter * fraction)
