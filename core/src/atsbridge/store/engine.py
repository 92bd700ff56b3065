"""Database URLs and engines: SQLite (embedded default) and PostgreSQL, one code path."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SAWarning
from sqlalchemy.pool import StaticPool

from atsbridge import paths
from atsbridge.errors import BadInput

# Execution option naming the statement that opens a SQLite transaction. "BEGIN IMMEDIATE"
# takes the write lock up front, which avoids SQLITE_BUSY on a later lock upgrade when
# several connections write (migrations, outbox claims).
SQLITE_BEGIN = "atsbridge_sqlite_begin"


def parse_url(url: str | None) -> URL:
    """Turn ``--db`` / ATSBRIDGE_DB into a URL; None means the default SQLite file."""
    raw = url or paths.default_db_url()
    if "\x00" in raw:
        raise BadInput("--db: the URL contains a NUL character")
    try:
        parsed = make_url(raw)
        parsed.port  # noqa: B018 - parsed lazily; a bad port ("[::1:5432") raises here
    except (ArgumentError, ValueError):
        raise BadInput(f"--db: not a database URL: {_safe(raw)}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        # A bare postgresql:// URL would pick psycopg2, which we do not depend on.
        if driver in ("", "psycopg2"):
            driver = "psycopg"
        return parsed.set(drivername=f"postgresql+{driver}")
    if backend == "sqlite":
        return parsed
    raise BadInput(f"--db: unsupported database {backend!r} (use sqlite:/// or postgresql://)")


def _safe(raw: str) -> str:
    # Never echo a password that may sit in a URL.
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable>"


def display_url(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> Path | None:
    """The file a SQLite URL points at; None for in-memory and non-SQLite URLs."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)  # type: ignore[arg-type]


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only, as the key file is.

    It holds personal data (candidates, do-not-source lists). SQLite gives its -wal and
    -shm files the main file's mode. An existing file keeps the mode its owner chose.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def create_engine(url: URL) -> Engine:
    try:
        with warnings.catch_warnings():
            # SQLAlchemy only warns about query options a driver ignores ("?mode=ro"
            # without uri=true): the operator asked for something that will not happen.
            warnings.simplefilter("error", SAWarning)
            if url.get_backend_name() == "sqlite":
                return _sqlite_engine(url)
            # hide_parameters: a statement's error never carries its values (leads, secrets,
            # ATS payloads) into logs or run records.
            return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)
    except (ArgumentError, SAWarning, TypeError, ValueError) as exc:
        # An unknown driver or query option: a one-line answer, not a traceback.
        raise BadInput(f"--db: unusable URL {display_url(url)}: {_first_line(exc)}") from None


def check_connect(engine: Engine) -> None:
    """Open one connection, so an unreachable or unusable database is one error naming
    ``--db`` (exit 2) rather than a driver traceback from wherever it is first used."""
    try:
        with engine.connect():
            pass
    except (DBAPIError, OSError) as exc:
        raise BadInput(f"--db: cannot open {display_url(engine.url)}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    line = text[0] if text else type(original).__name__
    return line.split(" (Background on this")[0][:300]


def _sqlite_engine(url: URL) -> Engine:
    path = sqlite_path(url)
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": 30, "check_same_thread": False},
        "hide_parameters": True,  # see create_engine
    }
    if path is None:
        kwargs["poolclass"] = StaticPool  # one shared in-memory database
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(path)
        except OSError as exc:
            raise BadInput(
                f"--db: cannot create the database file {path}: {exc.strerror or exc}"
            ) from None
    engine = sa.create_engine(url, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (it would otherwise commit
        # implicitly before DDL); we emit BEGIN ourselves in _on_begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if path is not None:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(SQLITE_BEGIN, "BEGIN"))

    return engine
