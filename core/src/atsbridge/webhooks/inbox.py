"""The durable inbox of verified ATS deliveries: stored before the receiver answers.

``store`` inserts the parsed delivery with ``ON CONFLICT DO NOTHING`` on (connection,
delivery id), so an ATS's retry, a duplicate or a replayed delivery is stored once, and
counts it on the receiver in the same transaction. Once it has committed the receiver may
acknowledge: a process killed after that loses nothing, the processor finds the row
``pending`` after a restart (or on another host).

``WAKE`` lets a processor in the same process start at once instead of at its next poll.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from atsbridge import storable
from atsbridge.errors import PluginFailed
from atsbridge.model import WebhookDelivery, WebhookEvent, WebhookEventKind
from atsbridge.store import Store
from atsbridge.store.tables import AtsHookEndpoint, AtsHookInbox, table
from atsbridge.webhooks.endpoints import Receiver

__all__ = ["PENDING", "WAKE", "check_delivery", "event_from_json", "event_to_json", "store"]

H = table(AtsHookEndpoint)
I = table(AtsHookInbox)  # noqa: E741
PENDING = "pending"
MAX_EVENTS = 1000  # one delivery; Greenhouse batches none, SmartRecruiters one per call


class _Wake:
    """A process-wide nudge: the receiver sets it, the processor waits on it."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def wait(self, timeout: float) -> bool:
        woken = self._event.wait(timeout)
        self._event.clear()
        return woken


WAKE = _Wake()

_ID_FIELDS = ("job_ats_id", "candidate_ats_id", "application_id", "merged_into")


def event_to_json(event: WebhookEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": WebhookEventKind(event.kind).value}
    for name in _ID_FIELDS:
        value = getattr(event, name)
        if value is not None:
            out[name] = str(value)
    return out


def event_from_json(data: dict[str, Any]) -> WebhookEvent:
    return WebhookEvent(kind=WebhookEventKind(data["kind"]), **{k: data.get(k) for k in _ID_FIELDS})


def _fail(ats: str, why: str) -> PluginFailed:
    return PluginFailed(f"{ats} plugin failed in atsbridge_webhook_receive: {why}")


def check_delivery(ats: str, delivery: Any) -> WebhookDelivery:
    """``delivery`` as the plugin returned it, checked; ``PluginFailed`` names the problem."""
    if not isinstance(delivery, WebhookDelivery):
        raise _fail(ats, f"expected a WebhookDelivery, got {type(delivery).__name__}")
    if not isinstance(delivery.delivery_id, str) or not delivery.delivery_id:
        raise _fail(ats, "delivery_id must be a non-empty string")
    if problem := storable.text_problem(delivery.delivery_id, max_length=255):
        raise _fail(ats, f"delivery_id {problem}")
    if not 200 <= int(delivery.response_status) < 300:
        raise _fail(ats, "response_status must be a 2xx (refusals raise WebhookRefused)")
    occurred = delivery.occurred_at
    if occurred is not None and (not isinstance(occurred, datetime) or occurred.tzinfo is None):
        raise _fail(ats, "occurred_at must be an aware datetime or None")
    if len(delivery.events) > MAX_EVENTS:
        raise _fail(ats, f"more than {MAX_EVENTS} events in one delivery")
    for event in delivery.events:
        if not isinstance(event, WebhookEvent) or not isinstance(event.kind, WebhookEventKind):
            raise _fail(ats, "events must be WebhookEvent with a WebhookEventKind")
        for name in _ID_FIELDS:
            value = getattr(event, name)
            if value is not None and storable.text_problem(str(value), max_length=255):
                raise _fail(ats, f"event {name} is not a storable id")
    return delivery


def store(store_: Store, receiver: Receiver, delivery: WebhookDelivery, now: datetime) -> bool:
    """Store one verified delivery; False when it was stored before (a duplicate)."""
    values = {
        "tenant_id": receiver.tenant_id,
        "connection_id": receiver.connection_id,
        "delivery_id": delivery.delivery_id,
        "events": [event_to_json(e) for e in delivery.events],
        "occurred_at": delivery.occurred_at,
        "received_at": now,
        # A ping or handshake has nothing to process: stored (dedupe) as done.
        "state": PENDING if delivery.events else "done",
        "processed_at": None if delivery.events else now,
        "attempts": 0,
        "reads": 0,
        "next_attempt_at": now,
    }
    with store_.system_session(immediate=True) as session:
        db = session.connection()
        insert = postgresql.insert if db.dialect.name == "postgresql" else sqlite.insert
        statement = (
            insert(I)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["connection_id", "delivery_id"])
            .returning(I.c.id)
        )
        # RETURNING, not rowcount: psycopg's rowcount is not the inserted rows' here.
        new = db.execute(statement).first() is not None
        counters: dict[str, Any] = {"verified": H.c.verified + 1, "last_verified_at": now}
        if not new:
            counters["duplicates"] = H.c.duplicates + 1
        db.execute(sa.update(H).where(H.c.id == receiver.endpoint_id).values(**counters))
    if new and delivery.events:
        WAKE.set()
    return new
