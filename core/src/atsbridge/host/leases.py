"""Who runs what: task leases, the host registry, and the SQLite single-host lock.

Lease. One ``task_leases`` row per (connection, task). A host runs a task only while it
holds the row: ``holder`` is its host id and ``expires_at`` lies in the future. Claiming
reads the row with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (a row another host
is claiming right now is skipped, not waited for) or under ``BEGIN IMMEDIATE`` on SQLite,
checks that nobody else holds it and that the task is due (``last_run_at`` old enough, in
the same transaction, so two hosts cannot both decide it is due), and writes the holder.
The holder renews ``expires_at`` while the task runs and clears it when done, recording
``last_run_at``. A host that dies (SIGKILL, power loss) stops renewing: once ``expires_at``
passes, any other host may claim the row, so its work moves within one lease period of the
death plus one heartbeat.

Registry. Every host heartbeats a ``hosts`` row. The live hosts (heartbeat younger than a
lease period) split the tasks by rendezvous hashing: each (connection, task) goes to the
live host with the highest ``hash(host, connection, task)``. Every host computes the same
answer from the same list, a new host takes about 1/N of the tasks from the others, and a
dead host's tasks spread evenly over the survivors. A host that is not the owner still
claims a task that is overdue by more than two lease periods, in case the owner is alive
but stuck; the lease keeps that from ever running a task twice at once.

Clocks. Expiry compares the hosts' clocks (the injected ``clock``); keep hosts on NTP. A
skew of a few seconds only shortens or lengthens a takeover by that much.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from atsbridge.errors import AtsbridgeError
from atsbridge.store import HostRow, Store, TaskLease
from atsbridge.store.tables import table

Clock = Callable[[], datetime]


class HostError(AtsbridgeError):
    """The host cannot start (or go on) as configured; the message says what to change."""


def process_id() -> str:
    """``hostname:pid``: the form the sync runner records as a run's ``host``."""
    return f"{socket.gethostname()}:{os.getpid()}"


@attrs.frozen
class Claim:
    connection_id: int
    task: str
    started_at: datetime
    # The holder whose lease had expired when we took the row: presumed dead.
    taken_from: str | None
    last_run_at: datetime | None


class Leases:
    """Claim, renew and release task leases for one host (``holder``)."""

    def __init__(self, store: Store, holder: str, ttl: timedelta, clock: Clock):
        self.store = store
        self.holder = holder
        self.ttl = ttl
        self.clock = clock

    def claim(
        self,
        tenant_id: int,
        connection_id: int,
        task: str,
        *,
        due_before: datetime | None,
    ) -> Claim | None:
        """Take the lease when free and ``last_run_at`` is None or <= ``due_before``.

        ``due_before=None`` skips the due check (run now). None means someone else has it,
        or it is not due.
        """
        now = self.clock()
        with self.store.system_session(immediate=True) as session:
            row = self._locked_row(session, connection_id, task)
            if row is None:
                self._insert(session, tenant_id, connection_id, task)
                row = self._locked_row(session, connection_id, task)
                if row is None:  # another host is creating or claiming it this instant
                    return None
            expired = row.expires_at is None or row.expires_at <= now
            if row.holder is not None and row.holder != self.holder and not expired:
                return None
            last = row.last_run_at
            if due_before is not None and last is not None and last > due_before:
                return None
            taken_from = row.holder if row.holder not in (None, self.holder) else None
            row.holder = self.holder
            row.expires_at = now + self.ttl
            session.add(row)
            return Claim(connection_id, task, now, taken_from, row.last_run_at)

    def _locked_row(self, session: Any, connection_id: int, task: str) -> TaskLease | None:
        statement = select(TaskLease).where(
            TaskLease.connection_id == connection_id, TaskLease.task == task
        )
        if self.store.dialect == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        return session.exec(statement).first()

    def _insert(self, session: Any, tenant_id: int, connection_id: int, task: str) -> None:
        values = {"tenant_id": tenant_id, "connection_id": connection_id, "task": task}
        leases = table(TaskLease)
        insert = postgresql.insert if self.store.dialect == "postgresql" else sqlite.insert
        statement = insert(leases).values(**values).on_conflict_do_nothing()
        session.execute(statement)

    def renew(self, held: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
        """Push the expiry of the held leases forward; returns those we no longer hold."""
        held = set(held)
        if not held:
            return set()
        now = self.clock()
        kept: set[tuple[int, str]] = set()
        with self.store.system_session(immediate=True) as session:
            rows = session.exec(
                select(TaskLease).where(
                    TaskLease.holder == self.holder,
                    col(TaskLease.connection_id).in_({c for c, _ in held}),
                )
            ).all()
            for row in rows:
                key = (row.connection_id, row.task)
                if key in held:
                    row.expires_at = now + self.ttl
                    session.add(row)
                    kept.add(key)
        return held - kept

    def release(self, claim: Claim, *, ran: bool = True) -> None:
        """Give the lease back; ``ran`` records the run's start as ``last_run_at``."""
        with self.store.system_session(immediate=True) as session:
            values: dict[str, Any] = {"holder": None, "expires_at": None}
            if ran:
                values["last_run_at"] = claim.started_at
            session.execute(
                sa.update(TaskLease)
                .where(
                    col(TaskLease.connection_id) == claim.connection_id,
                    col(TaskLease.task) == claim.task,
                    col(TaskLease.holder) == self.holder,
                )
                .values(**values)
            )

    def release_all(self) -> None:
        with self.store.system_session(immediate=True) as session:
            session.execute(
                sa.update(TaskLease)
                .where(col(TaskLease.holder) == self.holder)
                .values(holder=None, expires_at=None)
            )

    def abandoned(self) -> list[tuple[int, str, str]]:
        """(connection id, task, holder) of leases whose holder stopped renewing them."""
        now = self.clock()
        with self.store.system_session() as session:
            rows = session.exec(
                select(TaskLease.connection_id, TaskLease.task, TaskLease.holder).where(
                    col(TaskLease.holder).is_not(None),
                    col(TaskLease.holder) != self.holder,
                    col(TaskLease.expires_at) <= now,
                )
            ).all()
        return [(int(c), str(t), str(h)) for c, t, h in rows]

    def last_runs(self) -> dict[tuple[int, str], datetime]:
        """When each (connection, task) last started a run, on any host."""
        with self.store.system_session() as session:
            rows = session.exec(
                select(TaskLease.connection_id, TaskLease.task, TaskLease.last_run_at).where(
                    col(TaskLease.last_run_at).is_not(None)
                )
            ).all()
        return {(int(c), str(t)): r for c, t, r in rows if r is not None}


class Registry:
    """The ``hosts`` table: this host's heartbeat and the list of live hosts."""

    def __init__(self, store: Store, host_id: str, ttl: timedelta, clock: Clock):
        self.store = store
        self.host_id = host_id
        self.ttl = ttl
        self.clock = clock
        self.process = process_id()

    def register(self, info: dict[str, Any], *, exclusive: bool = False) -> None:
        """Record this host; refuse when a live host already uses the same id.

        ``exclusive``: the caller holds the SQLite lock, so no other host can be alive.
        """
        now = self.clock()
        with self.store.system_session(immediate=True) as session:
            row = session.get(HostRow, self.host_id, with_for_update=self._pg)
            if (
                row is not None
                and not exclusive
                and row.process != self.process
                and self._live(row, now)
                and not _dead_here(row.process)
            ):
                raise HostError(
                    f"host id {self.host_id!r} is already in use by a live host "
                    f"({row.process}, heartbeat {row.heartbeat_at:%H:%M:%S} UTC); "
                    "give each host its own --host-id"
                )
            if row is None:
                row = HostRow(id=self.host_id, process=self.process, started_at=now)
            row.process, row.started_at, row.heartbeat_at, row.info = (
                self.process,
                now,
                now,
                info,
            )
            session.add(row)

    @property
    def _pg(self) -> bool:
        return self.store.dialect == "postgresql"

    def _live(self, row: HostRow, now: datetime) -> bool:
        return now - row.heartbeat_at < self.ttl

    def heartbeat(self) -> list[str]:
        """Beat, forget long-dead hosts, and return the live host ids (sorted)."""
        now = self.clock()
        with self.store.system_session(immediate=True) as session:
            row = session.get(HostRow, self.host_id)
            if row is None:  # someone cleaned us up while we were stalled: come back
                row = HostRow(id=self.host_id, process=self.process, started_at=now)
            row.heartbeat_at = now
            session.add(row)
            session.execute(
                sa.delete(HostRow).where(col(HostRow.heartbeat_at) < now - self.ttl * 20)
            )
        return self.live()

    def live(self) -> list[str]:
        cutoff = self.clock() - self.ttl
        with self.store.system_session() as session:
            ids = session.exec(select(HostRow.id).where(col(HostRow.heartbeat_at) > cutoff)).all()
        return sorted({*ids, self.host_id})

    def processes(self) -> dict[str, str]:
        with self.store.system_session() as session:
            return dict(session.exec(select(HostRow.id, HostRow.process)).all())

    def unregister(self) -> None:
        with self.store.system_session() as session:
            session.execute(sa.delete(HostRow).where(col(HostRow.id) == self.host_id))


def _dead_here(process: str) -> bool:
    """True when ``hostname:pid`` names a process of this machine that no longer exists
    (a host restarted right after a crash need not wait for its old heartbeat to age)."""
    hostname, _, pid = process.rpartition(":")
    if hostname != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def owner(live_hosts: list[str], connection_id: int, task: str) -> str:
    """The live host that should run this (connection, task): rendezvous hashing."""

    def score(host: str) -> bytes:
        return hashlib.sha1(f"{host}|{connection_id}|{task}".encode()).digest()

    return max(live_hosts, key=score)


class SqliteHostLock:
    """An exclusive lock file beside the SQLite database: one host per file.

    ``flock`` is released by the kernel when the process dies, however it dies, so a crashed
    host never blocks the next start.
    """

    def __init__(self, db_file: Path):
        self.db_file = db_file
        self.path = db_file.with_name(db_file.name + ".host.lock")
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held for the host's lifetime
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            other = fh.read().strip() or "another process"
            fh.close()
            raise HostError(
                f"another atsbridge host ({other}) is already running on SQLite database "
                f"{self.db_file}: SQLite mode runs one host; "
                "use PostgreSQL (--db postgresql://...) to run several"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(process_id())
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
