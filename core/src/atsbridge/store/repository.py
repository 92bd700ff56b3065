"""The one repository layer: a ``Store`` (engine, migrations, sessions) and ``TenantRepo``.

Tenant isolation is structural, not a convention: a session opened for a tenant carries the
tenant's id, and a ``do_orm_execute`` hook adds ``tenant_id = :id`` to every ORM SELECT,
UPDATE and DELETE touching a ``TenantOwned`` table (joins and aliases included), while a
``before_flush`` hook stamps new rows with that id and refuses rows of another tenant.
Raw SQL (``text()``, FTS5 queries) bypasses the hook: such code must filter on
``tenant_id`` itself and have a test proving it.

Work that spans tenants on purpose (the host scheduling every connection) uses
``Store.system_session()``, which has no tenant filter, so that it reads as deliberate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, orm
from sqlmodel import Session, select

from atsbridge import paths
from atsbridge.errors import NotFound
from atsbridge.store import migrate
from atsbridge.store.engine import (
    SQLITE_BEGIN,
    check_connect,
    create_engine,
    parse_url,
    sqlite_path,
)
from atsbridge.store.tables import TENANT_TABLES, Connection, Tenant, TenantOwned, table

M = TypeVar("M", bound=TenantOwned)
Clock = Callable[[], datetime]

_TENANT_KEY = "atsbridge_tenant_id"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """One database. ``Store.open`` migrates it to the latest revision on first use."""

    def __init__(self, url: str | None = None, *, migrate_now: bool = True, clock: Clock = utcnow):
        self.url = parse_url(url)
        self.engine = create_engine(self.url)
        self.clock = clock
        # SQLite (WAL): a deferred transaction that reads, then writes, fails at once with
        # "database is locked" when another connection committed in between (its snapshot
        # went stale; the busy timeout cannot help). So every outermost transaction takes
        # the write lock up front and waits its turn (busy timeout), in every process: a CLI
        # command beside a running host or another import included. Reads that must not
        # queue behind writers use plain connections (``engine.connect()``). Nested
        # sessions of one thread stay deferred (no self-deadlock).
        self.sqlite_immediate = True
        # Processes that write one SQLite file in turns (the candidate sync's workers) share
        # a lock taken around each immediate transaction: SQLite's busy handler waits by
        # sleeping, ever longer, and two busy writers spent half their time asleep.
        self.write_gate: AbstractContextManager[Any] | None = None
        self._nesting = threading.local()
        if migrate_now:
            check_connect(self.engine)
            migrate.ensure_current(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def sqlite_file(self) -> Path | None:
        return sqlite_path(self.url)

    @property
    def key_dir(self) -> Path:
        """Where the secret key file lives: beside a SQLite file, else the user data dir."""
        db_file = self.sqlite_file
        return db_file.parent if db_file is not None else paths.data_dir()

    def upgrade(self) -> None:
        migrate.upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def system_session(self, *, immediate: bool = False) -> Iterator[Session]:
        """A session that sees every tenant; commits on success, rolls back on error."""
        with self._session(None, immediate) as session:
            yield session

    @contextmanager
    def tenant(
        self,
        key: str,
        *,
        create: bool = False,
        immediate: bool = False,
        known_id: int | None = None,
    ) -> Iterator[TenantRepo]:
        """Open a transaction scoped to tenant ``key``; NotFound unless it exists or ``create``.

        ``immediate`` takes SQLite's write lock at the start (use it for read-then-write
        claims); PostgreSQL ignores it. ``known_id`` is the id an earlier transaction of the
        same piece of work resolved for ``key`` (a sync's page after page): the lookup is
        skipped, which was a third of what opening a transaction cost. A tenant deleted
        meanwhile then fails the first write on its foreign key instead of with NotFound.
        """
        with self._session(None, immediate) as session:
            tenant_id = known_id
            if tenant_id is None:
                tenant_id = session.connection().execute(_TENANT_BY_KEY, {"key": key}).scalar()
            if tenant_id is None:
                if not create:
                    raise NotFound(f"no tenant {key!r}")
                tenant = Tenant(key=key, created_at=self.clock())
                session.add(tenant)
                session.flush()
                assert tenant.id is not None
                tenant_id = tenant.id
            session.info[_TENANT_KEY] = tenant_id
            yield TenantRepo(session, tenant_id, key, self.clock)

    def tenant_keys(self) -> list[str]:
        with self.system_session() as session:
            return list(session.exec(select(Tenant.key).order_by(Tenant.key)))

    @contextmanager
    def _session(self, tenant_id: int | None, immediate: bool) -> Iterator[Session]:
        bind = self.engine
        depth = getattr(self._nesting, "depth", 0)
        if self.sqlite_immediate and depth == 0:
            immediate = True
        gate: AbstractContextManager[Any] = nullcontext()
        if immediate and self.dialect == "sqlite":
            bind = self.engine.execution_options(**{SQLITE_BEGIN: "BEGIN IMMEDIATE"})
            if self.write_gate is not None and depth == 0:
                gate = self.write_gate
        with gate:
            session = Session(bind=bind, expire_on_commit=False)
            if tenant_id is not None:
                session.info[_TENANT_KEY] = tenant_id
            self._nesting.depth = depth + 1
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
                self._nesting.depth = depth


_TENANTS = table(Tenant)
_TENANT_BY_KEY = sa.select(_TENANTS.c.id).where(_TENANTS.c.key == sa.bindparam("key"))


class TenantRepo:
    """Every read and write for one tenant, inside one transaction.

    Services build their own queries with ``select`` (already tenant-filtered by the session
    hook) and add rows with ``add``; the connection helpers live here because every part
    needs them.
    """

    def __init__(self, session: Session, tenant_id: int, tenant_key: str, clock: Clock):
        self.session = session
        self.tenant_id = tenant_id
        self.tenant_key = tenant_key
        self.clock = clock

    # --- generic -----------------------------------------------------------------------

    def select(self, *entities: Any) -> Any:
        return select(*entities)

    def all(self, statement: Any) -> list[Any]:
        return list(self.session.exec(statement))

    def first(self, statement: Any) -> Any:
        return self.session.exec(statement).first()

    def get(self, model: type[M], row_id: int) -> M | None:
        return self.first(select(model).where(model.id == row_id))  # type: ignore[attr-defined]

    def add(self, row: M) -> M:
        row.tenant_id = self.tenant_id
        self.session.add(row)
        return row

    def delete(self, row: TenantOwned) -> None:
        self.session.delete(row)

    def flush(self) -> None:
        self.session.flush()

    # --- connections ---------------------------------------------------------------------

    def connection(self, ats: str) -> Connection | None:
        return self.first(select(Connection).where(Connection.ats == ats))

    def require_connection(self, ats: str) -> Connection:
        conn = self.connection(ats)
        if conn is None:
            raise NotFound(f"tenant {self.tenant_key!r} has no {ats} connection")
        return conn

    def connections(self) -> list[Connection]:
        return self.all(select(Connection).order_by(Connection.ats))

    def delete_tenant_if_empty(self) -> bool:
        """Drop the tenant row once nothing else refers to it (after the last disconnect)."""
        for model in TENANT_TABLES:
            if self.first(select(sa.literal(1)).select_from(model)) is not None:
                return False
        self.session.execute(sa.delete(_TENANTS).where(_TENANTS.c.id == self.tenant_id))
        return True


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: orm.ORMExecuteState) -> None:
    tenant_id = state.session.info.get(_TENANT_KEY)
    if tenant_id is None or state.is_column_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        # One option per table: the pydantic-built mixin has no class-level column to use.
        state.statement = state.statement.options(
            *(
                orm.with_loader_criteria(
                    model,
                    lambda cls: cls.tenant_id == tenant_id,
                    include_aliases=True,
                )
                for model in TENANT_TABLES
            )
        )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: orm.Session, _ctx: Any, _instances: Any) -> None:
    tenant_id = session.info.get(_TENANT_KEY)
    if tenant_id is None:
        return
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantOwned):
            continue
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id:
            raise PermissionError(
                f"refusing to write a {type(obj).__name__} of tenant {obj.tenant_id} "
                f"in a session of tenant {tenant_id}"
            )
