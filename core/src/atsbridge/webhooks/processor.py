"""The inbox processor: claims stored deliveries and makes their targeted reads.

A delivery moves::

    pending -> processing -> done
                          -> failed (next_attempt_at = now + backoff) -> processing ...
                          -> dead (still failing ``retry_window`` after it was received)

Claims are the lead outbox's and the outbound deliveries' mechanism (``store.claims``): one
atomic update takes a due row with ``SKIP LOCKED`` on PostgreSQL (``BEGIN IMMEDIATE`` on
SQLite), sets a lease and bumps ``attempts`` as the claim's token, and the outcome is
written only while the claim still owns the row. So two hosts never process one delivery
at once, and one killed mid-way leaves its row ``processing`` until the lease ends, when
another processor takes it again: every read is idempotent, nothing is lost.

Order across deliveries does not matter: each event re-reads the ATS's current state
rather than applying what the delivery said, so an old delivery processed late reads the
same state as the newest one.

Done rows are kept ``keep_done`` (the window in which a replayed delivery id is still
recognised as a duplicate), then pruned.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from atsbridge.errors import AtsbridgeError, AuthError
from atsbridge.events.delivery import default_host_id
from atsbridge.loopthread import LoopThread
from atsbridge.store.claims import backoff, claim_one
from atsbridge.store.tables import AtsHookInbox, Connection, Tenant, table
from atsbridge.webhooks import inbox, reads

if TYPE_CHECKING:
    from atsbridge.api import Atsbridge

__all__ = [
    "DEAD",
    "DONE",
    "FAILED",
    "PROCESSING",
    "InboxProcessor",
    "ProcessPolicy",
    "ProcessorThread",
    "run_forever",
]

log = logging.getLogger(__name__)

I = table(AtsHookInbox)  # noqa: E741
C = table(Connection)
T = table(Tenant)
PENDING = inbox.PENDING
PROCESSING = "processing"
DONE = "done"
FAILED = "failed"
DEAD = "dead"


@attrs.frozen
class ProcessPolicy:
    """Retries: from 5 s, doubling, at most 15 min apart, for two days (polling still
    reconciles whatever a dead delivery meant)."""

    backoff_base: timedelta = timedelta(seconds=5)
    backoff_max: timedelta = timedelta(minutes=15)
    jitter: float = 0.2
    retry_window: timedelta = timedelta(days=2)
    lease: timedelta = timedelta(minutes=2)
    keep_done: timedelta = timedelta(days=30)

    def delay(self, key: str, attempt: int) -> timedelta:
        return backoff(
            key, attempt, base=self.backoff_base, cap=self.backoff_max, jitter=self.jitter
        )


@attrs.frozen
class _Claim:
    row_id: int
    attempts: int
    tenant: str
    ats: str
    connection_id: int
    events: list[dict[str, Any]]
    received_at: datetime


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(I.c.state.in_([PENDING, FAILED]), I.c.next_attempt_at <= now),
        sa.and_(I.c.state == PROCESSING, I.c.claimed_until <= now),
    )


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class InboxProcessor:
    """Processes due inbox rows; one per process (any number per database)."""

    def __init__(
        self,
        app: Atsbridge,
        *,
        policy: ProcessPolicy | None = None,
        clock: Callable[[], datetime] | None = None,
    ):
        self.app = app
        self.policy = policy or ProcessPolicy()
        self.clock = clock or app.clock

    def process_due(
        self, *, host_id: str, limit: int = 100, stop: threading.Event | None = None
    ) -> int:
        """Process up to ``limit`` due deliveries (fewer once ``stop`` is set); how many."""
        if not self._anything_due():
            return 0  # the usual answer, read without the write lock a claim takes
        done = 0
        while done < limit and not (stop is not None and stop.is_set()):
            claim = self._claim(host_id)
            if claim is None:
                break
            done += 1
            self._run(claim)
        return done

    def prune(self) -> int:
        """Forget done deliveries older than ``keep_done``; how many went."""
        before = self.clock() - self.policy.keep_done
        with self.app.store.system_session(immediate=True) as session:
            result = session.connection().execute(
                sa.delete(I).where(I.c.state == DONE, I.c.received_at < before)
            )
            return int(result.rowcount or 0)

    def _anything_due(self) -> bool:
        with self.app.store.engine.connect() as db:
            return (
                db.execute(sa.select(I.c.id).where(_due(self.clock())).limit(1)).first() is not None
            )

    def _claim(self, host_id: str) -> _Claim | None:
        now = self.clock()
        due = _due(now)
        pick = sa.select(I.c.id).where(due).order_by(I.c.next_attempt_at, I.c.id)
        with self.app.store.system_session(immediate=True) as session:
            db = session.connection()
            claimed = claim_one(
                db,
                I,
                pick=pick,
                due=due,
                values={
                    "state": PROCESSING,
                    "attempts": I.c.attempts + 1,
                    "claimed_until": now + self.policy.lease,
                    "claimed_by": host_id[:255],
                },
                returning=(I.c.id, I.c.attempts, I.c.connection_id, I.c.events, I.c.received_at),
            )
            if claimed is None:
                return None
            where = C.c.id == claimed.connection_id
            owner = db.execute(
                sa.select(T.c.key, C.c.ats).join(T, T.c.id == C.c.tenant_id).where(where)
            ).one()
        return _Claim(
            row_id=claimed.id,
            attempts=claimed.attempts,
            tenant=owner.key,
            ats=owner.ats,
            connection_id=claimed.connection_id,
            events=list(claimed.events or ()),
            received_at=claimed.received_at,
        )

    def _run(self, claim: _Claim) -> None:
        try:
            events = [inbox.event_from_json(e) for e in claim.events]
            with self.app.open_session(claim.tenant, claim.ats) as session:
                outcome = reads.apply_events(self.app, session, events)
        except AtsbridgeError as exc:
            self._record(claim, None, _one_line(str(exc)), auth=isinstance(exc, AuthError))
            return
        except Exception as exc:  # a core bug must not stop the loop, nor lose the row
            log.exception("processing webhook delivery %s failed", claim.row_id)
            self._record(claim, None, _one_line(f"{type(exc).__name__}: {exc}"))
            return
        self._record(claim, outcome, None)

    def _record(
        self,
        claim: _Claim,
        outcome: reads.ReadOutcome | None,
        error: str | None,
        *,
        auth: bool = False,
    ) -> None:
        now = self.clock()
        owned = sa.and_(
            I.c.id == claim.row_id, I.c.state == PROCESSING, I.c.attempts == claim.attempts
        )
        values: dict[str, Any] = {"claimed_until": None}
        if outcome is not None:
            values.update(state=DONE, processed_at=now, reads=outcome.reads, last_error=None)
        else:
            received = claim.received_at
            dead = now - received >= self.policy.retry_window
            values.update(
                state=DEAD if dead else FAILED,
                next_attempt_at=None
                if dead
                else now
                + self.policy.delay(f"{claim.connection_id}:{claim.row_id}", claim.attempts),
                last_error=error,
            )
        with self.app.store.system_session(immediate=True) as session:
            if (
                session.connection().execute(sa.update(I).where(owned).values(**values)).rowcount
                == 0
            ):
                log.info("webhook delivery %s was taken over after its lease", claim.row_id)
                return
        if error is not None:
            log.warning(
                "webhook delivery %s of %s/%s failed (attempt %d%s): %s",
                claim.row_id,
                claim.tenant,
                claim.ats,
                claim.attempts,
                ", credentials refused" if auth else "",
                error,
            )


def run_forever(
    stop_event: threading.Event,
    app: Atsbridge,
    *,
    host_id: str | None = None,
    interval: float = 1.0,
    batch: int = 50,
    policy: ProcessPolicy | None = None,
) -> None:
    """Process until ``stop_event`` is set: what ``serve`` and ``host run`` run in a thread.

    Waits up to ``interval`` seconds when nothing was due, woken at once by a delivery this
    process's receiver stored. An unexpected error is logged and the loop goes on.
    """
    host = host_id or default_host_id()
    processor = InboxProcessor(app, policy=policy)
    rounds = 0
    while not stop_event.is_set():
        try:
            handled = processor.process_due(host_id=host, limit=batch, stop=stop_event)
            rounds += 1
            if rounds % 3600 == 1:
                processor.prune()
        except Exception:
            log.exception("webhook inbox round failed")
            handled = 0
        if handled < batch and not stop_event.is_set():
            inbox.WAKE.wait(interval)


class ProcessorThread(LoopThread):
    """``run_forever`` on a thread of its own, beside the outbound ``DeliveryThread``.

    The inbox is in the database, claimed with a lease; ``stop`` wakes the loop from its
    wait on new deliveries and lets the delivery in flight finish.
    """

    def __init__(
        self,
        app: Atsbridge,
        *,
        host_id: str | None = None,
        interval: float = 1.0,
        policy: ProcessPolicy | None = None,
    ):
        super().__init__(
            run_forever,
            app,
            name="atsbridge-ats-webhooks",
            host_id=host_id,
            interval=interval,
            policy=policy,
            wake=inbox.WAKE.set,
        )
