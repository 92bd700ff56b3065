"""Signed webhook deliveries: claimed one at a time, in order per endpoint, retried for a day.

A delivery (one event for one endpoint, queued by the sequencer) moves::

    pending -> delivering -> delivered
                          -> failed (next_attempt_at = now + backoff) -> delivering ...
                          -> dead (still failing ``retry_window`` after it was queued)

Claims use the lead outbox's mechanism (``store.claims``): one atomic update picks a due
row with ``SKIP LOCKED`` on PostgreSQL (``BEGIN IMMEDIATE`` on SQLite), sets a lease and
bumps ``attempts`` as the claim's token; the outcome is written only while the claim still
owns the row. So with several hosts on one database each delivery is sent by one host at a
time, and a process killed mid-delivery leaves its row ``delivering`` until the lease ends,
when another deliverer sends it again with the same ``webhook-id`` (receivers deduplicate
on it, as Standard Webhooks asks): nothing is lost.

Order: only an endpoint's *head* is claimable, the delivery with the lowest log position not
yet delivered or dead, so an endpoint receives events in log order and a failing event holds
back the ones after it until it succeeds or dies. Each request carries ``webhook-id`` (the
event id), ``webhook-timestamp`` and ``webhook-signature`` (``events.signing``) over the
event's public JSON; any 2xx is a success, anything else (redirects included) a failure.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import httpx
import sqlalchemy as sa

from atsbridge.events import sequencer, signing
from atsbridge.events.log import E, public
from atsbridge.loopthread import LoopThread
from atsbridge.secrets import SecretBox
from atsbridge.store import Store
from atsbridge.store.claims import backoff, claim_one
from atsbridge.store.tables import WebhookDeliveryRow, WebhookEndpointRow, table

if TYPE_CHECKING:
    from atsbridge.api import Atsbridge

__all__ = [
    "DEAD",
    "DELIVERED",
    "DELIVERING",
    "FAILED",
    "Deliverer",
    "DeliveryPolicy",
    "DeliveryThread",
    "default_host_id",
    "run_forever",
]

log = logging.getLogger(__name__)

D = table(WebhookDeliveryRow)
W = table(WebhookEndpointRow)
PENDING = sequencer.PENDING
DELIVERING = "delivering"
DELIVERED = "delivered"
FAILED = "failed"
DEAD = "dead"
USER_AGENT = "atsbridge-webhooks/1"
_LATER = D.alias("later")


@attrs.frozen
class DeliveryPolicy:
    """How deliveries are retried. The defaults retry for 26 hours, at most an hour apart."""

    backoff_base: timedelta = timedelta(seconds=5)
    backoff_max: timedelta = timedelta(hours=1)
    jitter: float = 0.2
    # A delivery still failing this long after it was queued is dead (after one attempt at
    # least: one held back behind a dead one still gets its own try).
    retry_window: timedelta = timedelta(hours=26)
    # How long a claim protects a delivery being sent; past it, the sender is presumed dead.
    lease: timedelta = timedelta(minutes=2)
    timeout: float = 15.0

    def delay(self, key: str, attempt: int) -> timedelta:
        return backoff(
            key, attempt, base=self.backoff_base, cap=self.backoff_max, jitter=self.jitter
        )


@attrs.frozen
class _Claim:
    delivery_id: int
    attempts: int
    endpoint_id: str
    url: str
    sealed_secret: dict
    event: dict[str, Any]
    queued_at: datetime


@attrs.frozen
class Outcome:
    ok: bool
    status: int | None
    error: str | None


def default_host_id() -> str:
    """hostname:pid, the form sync runs record as their host."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(D.c.state.in_([PENDING, FAILED]), D.c.next_attempt_at <= now),
        sa.and_(D.c.state == DELIVERING, D.c.claimed_until <= now),
    )


class Deliverer:
    """Sends due deliveries. ``transport`` replaces the network (tests); one per process."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        box: SecretBox,
        *,
        policy: DeliveryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.store = store
        self.clock = clock
        self.box = box
        self.policy = policy or DeliveryPolicy()
        self.http = httpx.Client(
            timeout=self.policy.timeout, follow_redirects=False, transport=transport
        )

    def close(self) -> None:
        self.http.close()

    def deliver_due(
        self, *, host_id: str, limit: int = 100, stop: threading.Event | None = None
    ) -> int:
        """Number new events, then send up to ``limit`` due deliveries (fewer once ``stop``
        is set); return how many were attempted."""
        sequencer.sequence(self.store)
        if not self._anything_due():
            return 0  # the usual answer, read without taking the write lock a claim takes
        attempted = 0
        while attempted < limit and not (stop is not None and stop.is_set()):
            claim = self._claim(host_id)
            if claim is None:
                break
            attempted += 1
            self._record(claim, self._send(claim))
        return attempted

    def _anything_due(self) -> bool:
        with self.store.system_session() as session:
            found = session.connection().execute(
                sa.select(D.c.id).where(_due(self.clock())).limit(1)
            )
            return found.first() is not None

    # --- steps ------------------------------------------------------------------------------

    def _claim(self, host_id: str) -> _Claim | None:
        now = self.clock()
        due = _due(now)
        earlier = (
            sa.select(sa.literal(1))
            .select_from(_LATER)
            .where(
                _LATER.c.endpoint_id == D.c.endpoint_id,
                _LATER.c.seq < D.c.seq,
                _LATER.c.state.in_([PENDING, FAILED, DELIVERING]),
            )
            .exists()
        )
        enabled = (
            sa.select(sa.literal(1))
            .select_from(W)
            .where(W.c.id == D.c.endpoint_id, W.c.enabled.is_(True))
            .exists()
        )
        pick = (
            sa.select(D.c.id).where(due, ~earlier, enabled).order_by(D.c.next_attempt_at, D.c.seq)
        )
        with self.store.system_session(immediate=True) as session:
            conn = session.connection()
            claimed = claim_one(
                conn,
                D,
                pick=pick,
                due=due,
                values={
                    "state": DELIVERING,
                    "attempts": D.c.attempts + 1,
                    "claimed_until": now + self.policy.lease,
                    "claimed_by": host_id[:255],
                },
                returning=(D.c.id, D.c.attempts, D.c.endpoint_id, D.c.event_row_id, D.c.created_at),
            )
            if claimed is None:
                return None
            event = conn.execute(sa.select(E).where(E.c.id == claimed.event_row_id)).one()
            endpoint = conn.execute(
                sa.select(W.c.url, W.c.secret).where(W.c.id == claimed.endpoint_id)
            ).one()
        return _Claim(
            delivery_id=claimed.id,
            attempts=claimed.attempts,
            endpoint_id=claimed.endpoint_id,
            url=endpoint.url,
            sealed_secret=endpoint.secret,
            event=public(event),
            queued_at=claimed.created_at,
        )

    def _send(self, claim: _Claim) -> Outcome:
        try:
            secret = str(self.box.decrypt(claim.sealed_secret))
        except Exception as exc:  # a key problem is this host's, reported like a failure
            return Outcome(False, None, _one_line(f"cannot open the signing secret: {exc}"))
        body = json.dumps(claim.event, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = int(self.clock().timestamp())
        webhook_id = str(claim.event["id"])
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.sign(secret, webhook_id, timestamp, body),
        }
        try:
            response = self.http.post(claim.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(False, None, _one_line(f"{type(exc).__name__}: {exc}"))
        if 200 <= response.status_code < 300:
            return Outcome(True, response.status_code, None)
        return Outcome(False, response.status_code, f"HTTP {response.status_code}")

    def _record(self, claim: _Claim, outcome: Outcome) -> None:
        now = self.clock()
        owned = sa.and_(
            D.c.id == claim.delivery_id,
            D.c.state == DELIVERING,
            D.c.attempts == claim.attempts,
        )
        if outcome.ok:
            values: dict[str, Any] = {"state": DELIVERED, "delivered_at": now}
            health: dict[str, Any] = {"last_success_at": now, "consecutive_failures": 0}
        else:
            dead = now - claim.queued_at >= self.policy.retry_window
            values = {
                "state": DEAD if dead else FAILED,
                "next_attempt_at": None
                if dead
                else now
                + self.policy.delay(f"{claim.endpoint_id}:{claim.event['id']}", claim.attempts),
                "last_error": outcome.error,
            }
            health = {
                "last_failure_at": now,
                "consecutive_failures": W.c.consecutive_failures + 1,
                "last_error": outcome.error,
            }
        values.update(claimed_until=None, last_status=outcome.status)
        with self.store.system_session(immediate=True) as session:
            conn = session.connection()
            if conn.execute(sa.update(D).where(owned).values(**values)).rowcount == 0:
                log.info("delivery %s was taken over after its lease", claim.delivery_id)
                return
            conn.execute(sa.update(W).where(W.c.id == claim.endpoint_id).values(**health))
        if not outcome.ok:
            log.warning(
                "webhook delivery of %s to endpoint %s failed (attempt %d): %s",
                claim.event["id"],
                claim.endpoint_id,
                claim.attempts,
                outcome.error,
            )


def run_forever(
    stop_event: threading.Event,
    app: Atsbridge,
    *,
    host_id: str | None = None,
    interval: float = 1.0,
    batch: int = 100,
    policy: DeliveryPolicy | None = None,
) -> None:
    """Deliver until ``stop_event`` is set: the loop ``host run`` and ``serve`` run in a thread.

    Waits ``interval`` seconds whenever nothing was due. An unexpected error is logged and
    the loop goes on (the store may be briefly unreachable).
    """
    host = host_id or default_host_id()
    deliverer = Deliverer(app.store, app.clock, app.secret_box, policy=policy)
    try:
        while not stop_event.is_set():
            try:
                attempted = deliverer.deliver_due(host_id=host, limit=batch, stop=stop_event)
            except Exception:
                log.exception("webhook delivery round failed")
                attempted = 0
            if attempted < batch:
                stop_event.wait(interval)
    finally:
        deliverer.close()


class DeliveryThread(LoopThread):
    """``run_forever`` on a thread of its own: what ``serve`` and ``host run`` start.

    Every delivery's state is in the database, claimed with a lease, so any number of
    processes may run one on the same database; ``stop`` lets the delivery in flight finish
    (its outcome is recorded) or, past its timeout, be resent by another deliverer.
    """

    def __init__(
        self,
        app: Atsbridge,
        *,
        host_id: str | None = None,
        interval: float = 1.0,
        policy: DeliveryPolicy | None = None,
    ):
        super().__init__(
            run_forever,
            app,
            name="atsbridge-webhooks",
            host_id=host_id,
            interval=interval,
            policy=policy,
        )
