"""Run the Alembic migrations shipped inside the package, without any alembic.ini."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from atsbridge.store.engine import SQLITE_BEGIN

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Arbitrary constant: serialises concurrent upgrades of one PostgreSQL database.
_PG_LOCK_KEY = 0x61747362


def _config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``; safe when several processes try at once."""
    conn = engine.connect().execution_options(**{SQLITE_BEGIN: "BEGIN IMMEDIATE"})
    with conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        command.upgrade(_config(conn), revision)


def ensure_current(engine: sa.Engine) -> None:
    """Upgrade to head unless already there (the cheap check runs on every open)."""
    if current_revision(engine) != head_revision():
        upgrade(engine)
