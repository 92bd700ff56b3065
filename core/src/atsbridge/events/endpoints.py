"""Webhook endpoints: the product's URLs that receive signed events (CRUD, ping, replay, health).

An endpoint belongs to one tenant or, with ``tenant`` None, to every tenant (admin only):
``tenants`` in each call is what the caller may see (None = everything); an endpoint outside
it answers as if it did not exist. Its signing secret is shown once, at ``create``, and
stored sealed by the secret box.
"""

from __future__ import annotations

import base64
import builtins
import secrets
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from atsbridge.config import url_problem
from atsbridge.errors import BadInput, Conflict, NotFound
from atsbridge.events import sequencer, signing
from atsbridge.events.log import E, check_types, iso, record_event
from atsbridge.events.types import WEBHOOK_PING
from atsbridge.secrets import SecretBox
from atsbridge.store import Store, Tenant
from atsbridge.store.tables import WebhookDeliveryRow, WebhookEndpointRow, table

__all__ = ["BACKLOG_STATES", "WebhookEndpoints"]

D = table(WebhookDeliveryRow)
BACKLOG_STATES = ("pending", "failed", "delivering")
MAX_URL = 2000
MAX_DESCRIPTION = 500


def _new_id() -> str:
    return "ep_" + base64.b32encode(secrets.token_bytes(15)).decode().lower()


def _check_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise BadInput("url: must be an absolute http(s) URL")
    url = url.strip()
    if len(url) > MAX_URL:
        raise BadInput(f"url: longer than {MAX_URL} characters")
    reason = url_problem(url)
    if reason:
        raise BadInput(f"url: {reason}")
    return url


def _check_description(description: Any) -> str:
    if not isinstance(description, str):
        raise BadInput("description: must be a string")
    if len(description) > MAX_DESCRIPTION:
        raise BadInput(f"description: longer than {MAX_DESCRIPTION} characters")
    return description


def _view(row: WebhookEndpointRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "tenant": row.tenant,
        "url": row.url,
        "event_types": list(row.event_types) or None,
        "enabled": row.enabled,
        "description": row.description,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


class WebhookEndpoints:
    """``app.webhooks``: the endpoints, their test pings, replays and health."""

    def __init__(self, store: Store, clock: Callable[[], datetime], box: SecretBox):
        self.store = store
        self.clock = clock
        self.box = box

    # --- CRUD ------------------------------------------------------------------------------

    def create(
        self,
        *,
        tenant: str | None,
        url: str,
        event_types: list[str] | None,
        description: str = "",
    ) -> tuple[dict[str, Any], str]:
        """Register an endpoint; return its view and its signing secret (shown only now).

        Raises ``BadInput`` naming the field, ``NotFound`` for an unknown tenant.
        """
        url = _check_url(url)
        types = check_types(event_types, "event_types")
        description = _check_description(description)
        secret = signing.new_secret()
        now = self.clock()
        with self.store.system_session() as session:
            if tenant is not None:
                self._require_tenant(session, tenant)
            row = WebhookEndpointRow(
                id=_new_id(),
                tenant=tenant,
                url=url,
                event_types=types,
                enabled=True,
                description=description,
                secret=self.box.encrypt(secret),
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return _view(row), secret

    def list(self, *, tenants: Collection[str] | None) -> list[dict[str, Any]]:
        with self.store.system_session() as session:
            statement = select(WebhookEndpointRow).order_by(
                col(WebhookEndpointRow.created_at), col(WebhookEndpointRow.id)
            )
            if tenants is not None:
                statement = statement.where(col(WebhookEndpointRow.tenant).in_(sorted(tenants)))
            return [_view(row) for row in session.exec(statement)]

    def get(self, endpoint_id: str, *, tenants: Collection[str] | None) -> dict[str, Any] | None:
        with self.store.system_session() as session:
            row = self._row(session, endpoint_id, tenants)
            return None if row is None else _view(row)

    def update(
        self,
        endpoint_id: str,
        *,
        tenants: Collection[str] | None,
        url: str | None = None,
        event_types: builtins.list[str] | None = None,
        enabled: bool | None = None,
        description: str | None = None,
    ) -> dict[str, Any] | None:
        """Change the fields given (``event_types=[]`` = every type); None if not found."""
        checked_url = _check_url(url) if url is not None else None
        types = check_types(event_types, "event_types") if event_types is not None else None
        if enabled is not None and not isinstance(enabled, bool):
            raise BadInput("enabled: must be true or false")
        checked_description = _check_description(description) if description is not None else None
        with self.store.system_session() as session:
            row = self._row(session, endpoint_id, tenants, lock=True)
            if row is None:
                return None
            if checked_url is not None:
                row.url = checked_url
            if types is not None:
                row.event_types = types
            if enabled is not None:
                row.enabled = enabled
            if checked_description is not None:
                row.description = checked_description
            row.updated_at = self.clock()
            session.flush()
            return _view(row)

    def delete(self, endpoint_id: str, *, tenants: Collection[str] | None) -> bool:
        """Remove an endpoint and its queued deliveries; False when not found."""
        with self.store.system_session() as session:
            row = self._row(session, endpoint_id, tenants, lock=True)
            if row is None:
                return False
            session.connection().execute(sa.delete(D).where(D.c.endpoint_id == endpoint_id))
            session.delete(row)
            return True

    # --- ping, replay, health ------------------------------------------------------------------

    def ping(self, endpoint_id: str, *, tenants: Collection[str] | None) -> str | None:
        """Queue a ``webhook.ping`` to this endpoint only; return its event id (None: not found).

        It goes out in the endpoint's order, after what is already queued for it. Raises
        ``Conflict`` for a disabled endpoint.
        """
        with self.store.system_session() as session:
            row = self._row(session, endpoint_id, tenants)
            if row is None:
                return None
            if not row.enabled:
                raise Conflict(f"webhook endpoint {endpoint_id} is disabled: enable it to ping")
            event = record_event(
                session,
                tenant=row.tenant,
                type=WEBHOOK_PING,
                data={"endpoint_id": row.id, "message": "atsbridge test ping"},
                endpoint_id=row.id,
                now=self.clock(),
            )
        sequencer.sequence(self.store)
        return str(event["id"])

    def replay(
        self, endpoint_id: str, *, tenants: Collection[str] | None, after: str | None
    ) -> int | None:
        """Queue again every event the endpoint wants after cursor ``after`` (None: from the
        start of the log), delivered or not; return how many (None: endpoint not found).

        Each goes out again with its own ``webhook-id``, so a receiver that had it already
        can recognise it. One in flight right now is left to finish.
        """
        from atsbridge.events.log import EventLog

        found = self.get(endpoint_id, tenants=tenants)
        if found is None:
            return None
        scope = None if found["tenant"] is None else [found["tenant"]]
        start = EventLog(self.store).position(after, tenants=scope)
        sequencer.sequence(self.store)
        now = self.clock()
        with self.store.system_session(immediate=True) as session:
            row = self._row(session, endpoint_id, tenants, lock=True)
            if row is None:
                return None
            conn = session.connection()
            statement = sa.select(E.c.id, E.c.seq).where(E.c.seq > start, E.c.type != WEBHOOK_PING)
            if row.tenant is not None:
                statement = statement.where(E.c.tenant == row.tenant)
            if row.event_types:
                statement = statement.where(E.c.type.in_(list(row.event_types)))
            events = conn.execute(statement.order_by(E.c.seq)).all()
            if not events:
                return 0
            existing = {
                seq: state
                for seq, state in conn.execute(
                    sa.select(D.c.seq, D.c.state).where(
                        D.c.endpoint_id == endpoint_id, D.c.seq > start
                    )
                )
            }
            wanted = {event.seq for event in events}
            again = [s for s, state in existing.items() if s in wanted and state != "delivering"]
            if again:
                conn.execute(
                    sa.update(D)
                    .where(D.c.endpoint_id == endpoint_id, D.c.seq.in_(again))
                    .values(
                        state=sequencer.PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        claimed_until=None,
                        created_at=now,
                    )
                )
            new = [
                sequencer.delivery(endpoint_id, event.id, event.seq, now)
                for event in events
                if event.seq not in existing
            ]
            if new:
                conn.execute(sa.insert(D), new)
            return len(again) + len(new)

    def health(self, endpoint_id: str, *, tenants: Collection[str] | None) -> dict[str, Any] | None:
        """How the endpoint is doing: last success and failure, failures in a row, backlog."""
        with self.store.system_session() as session:
            row = self._row(session, endpoint_id, tenants)
            if row is None:
                return None
            counts: dict[str, int] = dict(
                session.connection()
                .execute(
                    sa.select(D.c.state, sa.func.count())
                    .where(D.c.endpoint_id == endpoint_id)
                    .group_by(D.c.state)
                )
                .all()
            )
            # The endpoint's next attempt is its head's: the others wait behind it.
            head = (
                session.connection()
                .execute(
                    sa.select(D.c.state, D.c.next_attempt_at, D.c.claimed_until)
                    .where(D.c.endpoint_id == endpoint_id, D.c.state.in_(BACKLOG_STATES))
                    .order_by(D.c.seq)
                    .limit(1)
                )
                .first()
            )
        due = None
        if head is not None:
            due = head.claimed_until if head.state == "delivering" else head.next_attempt_at
        return {
            "id": row.id,
            "enabled": row.enabled,
            "last_success_at": iso(row.last_success_at) if row.last_success_at else None,
            "last_failure_at": iso(row.last_failure_at) if row.last_failure_at else None,
            "consecutive_failures": row.consecutive_failures,
            "last_error": row.last_error,
            "backlog": sum(counts.get(state, 0) for state in BACKLOG_STATES),
            "delivered": int(counts.get("delivered", 0)),
            "dead": int(counts.get("dead", 0)),
            "next_attempt_at": iso(due) if due is not None else None,
        }

    # --- helpers ----------------------------------------------------------------------------------

    def secret(self, endpoint_id: str) -> str:
        """The endpoint's signing secret, decrypted (for the deliverer). Raises ``NotFound``."""
        with self.store.system_session() as session:
            row = session.get(WebhookEndpointRow, endpoint_id)
            if row is None:
                raise NotFound(f"no webhook endpoint {endpoint_id}")
            return str(self.box.decrypt(row.secret))

    @staticmethod
    def _require_tenant(session: Session, tenant: str) -> None:
        if (
            not isinstance(tenant, str)
            or session.exec(select(Tenant.id).where(Tenant.key == tenant)).first() is None
        ):
            raise NotFound(f"tenant: no tenant {str(tenant)[:100]!r}")

    @staticmethod
    def _row(
        session: Session,
        endpoint_id: str,
        tenants: Collection[str] | None,
        *,
        lock: bool = False,
    ) -> WebhookEndpointRow | None:
        if not isinstance(endpoint_id, str):
            return None
        statement = select(WebhookEndpointRow).where(WebhookEndpointRow.id == endpoint_id)
        if lock:
            statement = statement.with_for_update()
        row = session.exec(statement).first()
        if row is None or (tenants is not None and row.tenant not in tenants):
            return None
        return row
