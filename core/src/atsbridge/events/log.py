"""The durable event log: ``record`` in the change's transaction, ``EventLog`` to read it.

``record`` adds one ``events`` row to the caller's open transaction and never commits: the
event exists exactly when the change does (a rolled-back change leaves no event). Its id
(``evt_`` + 26 characters, time-ordered) is stable: the feed, the webhook deliveries (as
``webhook-id``) and the plugin hooks all carry the same one.

A row gets its log position (``seq``) after it commits, from the sequencer
(``events.sequencer``), which ``EventLog.feed`` runs first; see there why.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from atsbridge.errors import BadInput
from atsbridge.events import sequencer
from atsbridge.events.types import ALL_TYPES, DOMAIN_TYPES, WEBHOOK_PING
from atsbridge.store import Store, TenantRepo
from atsbridge.store.tables import EventRow, table

E = table(EventRow)
MAX_LIMIT = 1000
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_event_id(now: datetime) -> str:
    """``evt_`` + a ULID: 48 bits of milliseconds, then 80 random bits, Crockford base32."""
    value = (int(now.timestamp() * 1000) & (2**48 - 1)) << 80 | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "evt_" + "".join(reversed(chars))


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return iso(value)
        if isinstance(value, tuple | set | frozenset):
            return list(value)
        raise TypeError(f"event data: {type(value).__name__} is not JSON")

    try:
        result: dict[str, Any] = json.loads(json.dumps(data, default=default))
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    return result


def iso(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the millisecond: how every event time is written."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record_event(
    session: Session | TenantRepo,
    *,
    tenant: str | None,
    type: str,
    data: dict[str, Any],
    connection_id: int | None = None,
    endpoint_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Add an event to ``session``'s open transaction; return its public JSON (with the id).

    ``session`` is a store session or a ``TenantRepo`` (whose clock then dates the event).
    Nothing is committed here. Raises ``ValueError`` for an unknown type or data that is
    not JSON (a programming error, not user input).
    """
    if type not in ALL_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    if isinstance(session, TenantRepo):
        now = now or session.clock()
        session = session.session
    now = now or datetime.now(UTC)
    payload = _jsonable(data)
    row = EventRow(
        event_id=new_event_id(now),
        tenant=tenant,
        type=type,
        connection_id=connection_id,
        endpoint_id=endpoint_id,
        data=payload,
        created_at=now,
    )
    session.add(row)
    return {
        "id": row.event_id,
        "type": type,
        "tenant": tenant,
        "created_at": iso(now),
        "data": payload,
    }


def record(
    session: Session | TenantRepo,
    *,
    tenant: str,
    type: str,
    data: dict[str, Any],
    connection_id: int | None = None,
) -> str:
    """Add a domain event to the caller's open transaction and return its stable id."""
    return str(
        record_event(session, tenant=tenant, type=type, data=data, connection_id=connection_id)[
            "id"
        ]
    )


def public(row: Any) -> dict[str, Any]:
    """The public JSON of an ``events`` row (ORM object or Core row)."""
    return {
        "id": row.event_id,
        "type": row.type,
        "tenant": row.tenant,
        "created_at": iso(row.created_at),
        "data": row.data,
    }


# --- cursors -----------------------------------------------------------------------------------


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"e{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not raw.startswith("e") or not raw[1:].isdigit():
        return None
    return int(raw[1:])


class EventLog:
    """Reads of the log: the feed (cursor paging) and single events, tenant-scoped."""

    def __init__(self, store: Store):
        self.store = store

    def position(self, after: str | None, *, tenants: Collection[str] | None) -> int:
        """The log position ``after`` names: a cursor, or the id of an event already in the
        feed (so a reader can go on from the last event it saw). Raises ``BadInput``."""
        if after is None or after == "":
            return 0
        seq = _decode_cursor(after) if not after.startswith("evt_") else None
        if seq is not None:
            return seq
        if after.startswith("evt_"):
            with self.store.system_session() as session:
                row = (
                    session.connection()
                    .execute(sa.select(E.c.seq, E.c.tenant).where(E.c.event_id == after))
                    .first()
                )
            seq = None if row is None else row.seq
            if seq is not None and (tenants is None or row.tenant in tenants):  # type: ignore[union-attr]
                return int(seq)
        raise BadInput(f"after: not a cursor or a known event id: {after[:60]!r}")

    def feed(
        self,
        *,
        tenants: Collection[str] | None,
        after: str | None,
        limit: int,
        types: Collection[str] | None = None,
        created_after: datetime | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Events in log order strictly after ``after``; and the cursor of the next page.

        ``tenants`` None means every tenant (an admin). The next cursor is None when this
        page ended the log for now; a reader then goes on from its last event's id.
        Raises ``BadInput`` for a bad cursor, limit or event type.
        """
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise BadInput(f"limit: must be 1..{MAX_LIMIT}")
        wanted = check_types(types, "types") if types else None
        start = self.position(after, tenants=tenants)
        sequencer.sequence(self.store)
        statement = (
            sa.select(E)
            .where(E.c.seq > start, E.c.type != WEBHOOK_PING)
            .order_by(E.c.seq)
            .limit(limit + 1)
        )
        if tenants is not None:
            statement = statement.where(E.c.tenant.in_(sorted(tenants)))
        if wanted:
            statement = statement.where(E.c.type.in_(wanted))
        if created_after is not None:  # an event never changes: updated = created
            statement = statement.where(E.c.created_at > created_after)
        with self.store.system_session() as session:
            rows = session.connection().execute(statement).all()
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = encode_cursor(rows[-1].seq) if more else None
        return [public(row) for row in rows], cursor

    def get(self, event_id: str, *, tenants: Collection[str] | None) -> dict[str, Any] | None:
        """One event by id, or None when it does not exist or is another tenant's."""
        with self.store.system_session() as session:
            row = session.connection().execute(sa.select(E).where(E.c.event_id == event_id)).first()
        if row is None or (tenants is not None and row.tenant not in tenants):
            return None
        return public(row)


def check_types(types: Collection[str] | None, field: str) -> list[str]:
    """``types`` as a sorted list of known domain event types; ``BadInput`` naming ``field``."""
    if types is None:
        return []
    if isinstance(types, str) or not isinstance(types, Collection):
        raise BadInput(f"{field}: must be a list of event types")
    out = []
    for position, name in enumerate(types):
        if name not in DOMAIN_TYPES:
            raise BadInput(
                f"{field}[{position}]: unknown event type {str(name)[:60]!r} "
                f"(one of {', '.join(DOMAIN_TYPES)})"
            )
        out.append(name)
    return sorted(set(out))
