"""Gives committed events their log position, in commit order, and fans them out to endpoints.

Why not number events when they are written: on PostgreSQL two transactions may take ids 10
and 11 and commit as 11, then 10. A reader that has seen 11 would page past 10 and never
see it. So an event is written without a position, and the sequencer, one at a time under
a lock (an advisory transaction lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), numbers
the committed ones after the highest position given so far. An event committed later gets
a later position, which is all a reader paging "after my cursor" needs.

In the same transaction each newly numbered event becomes one pending delivery per webhook
endpoint that wants it (enabled, its tenant or every tenant, its event types or all); a test
ping goes to its own endpoint only. So endpoints and the feed share one order.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from atsbridge.events.types import WEBHOOK_PING
from atsbridge.store import Store
from atsbridge.store.tables import EventRow, WebhookDeliveryRow, WebhookEndpointRow, table

__all__ = ["PENDING", "sequence"]

E = table(EventRow)
D = table(WebhookDeliveryRow)
W = table(WebhookEndpointRow)
PENDING = "pending"
BATCH = 500
# Arbitrary constant, distinct from the migrations' lock key.
_PG_LOCK_KEY = 0x61747365

_ANY_UNSEQUENCED = sa.select(E.c.id).where(E.c.seq.is_(None)).limit(1)
_SET_SEQ = sa.update(E).where(E.c.id == sa.bindparam("b_id")).values(seq=sa.bindparam("b_seq"))


def sequence(store: Store, *, batch: int = BATCH) -> int:
    """Number every committed event that has no position yet; return how many it numbered."""
    total = 0
    while True:
        with store.system_session() as session:
            if session.connection().execute(_ANY_UNSEQUENCED).first() is None:
                return total
        done = _sequence_batch(store, batch)
        total += done
        if done < batch:
            return total


def _sequence_batch(store: Store, batch: int) -> int:
    with store.system_session(immediate=True) as session:
        conn = session.connection()
        if store.dialect == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        rows = conn.execute(
            sa.select(E.c.id, E.c.tenant, E.c.type, E.c.endpoint_id, E.c.created_at)
            .where(E.c.seq.is_(None))
            .order_by(E.c.id)
            .limit(batch)
        ).all()
        if not rows:
            return 0
        top = conn.execute(sa.select(sa.func.max(E.c.seq))).scalar() or 0
        numbered = [(row, top + offset) for offset, row in enumerate(rows, 1)]
        conn.execute(_SET_SEQ, [{"b_id": row.id, "b_seq": seq} for row, seq in numbered])
        deliveries = fan_out(conn, numbered, store.clock())
        if deliveries:
            conn.execute(sa.insert(D), deliveries)
        return len(rows)


def fan_out(conn: sa.Connection, numbered: list[tuple[Any, int]], now: Any) -> list[dict]:
    """The delivery rows for events ``numbered`` ((row, seq) pairs) to the endpoints wanting
    them: what the sequencer inserts in the transaction that numbers them."""
    endpoints = conn.execute(
        sa.select(W.c.id, W.c.tenant, W.c.event_types).where(W.c.enabled.is_(True))
    ).all()
    out = []
    for row, seq in numbered:
        for endpoint in endpoints:
            if row.type == WEBHOOK_PING:
                wanted = row.endpoint_id == endpoint.id
            else:
                wanted = endpoint.tenant in (None, row.tenant) and (
                    not endpoint.event_types or row.type in endpoint.event_types
                )
            if wanted:
                out.append(delivery(endpoint.id, row.id, seq, now))
    return out


def delivery(endpoint_id: str, event_row_id: int, seq: int, now: Any) -> dict[str, Any]:
    """A new pending delivery row's values."""
    return {
        "endpoint_id": endpoint_id,
        "event_row_id": event_row_id,
        "seq": seq,
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
