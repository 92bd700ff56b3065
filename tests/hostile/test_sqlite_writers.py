"""Concurrent writers on one SQLite file wait their turn instead of failing with
"database is locked".

In WAL mode a deferred transaction that reads and then writes fails at once when another
connection committed in between (its snapshot went stale; the busy timeout cannot help).
Every outermost store transaction therefore takes the write lock up front (BEGIN
IMMEDIATE) and waits for it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from atsbridge.store import Store, Tenant
from sqlmodel import select

CHILD = """
import sys
from atsbridge.api import Atsbridge
db, who, path = sys.argv[1:4]
with Atsbridge(db=db) as app:
    for i in range(6):
        report = app.cnts.import_file("acme", f"J{i % 2}", path, create=True)
        if i % 2:
            app.cnts.remove_import("acme", f"J{i % 2}", report.import_id)
print(who, "ok")
"""


def test_a_read_then_write_transaction_waits_for_another_writer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    first, second = Store(url), Store(url)
    now = datetime.now(UTC)
    errors: list[BaseException] = []

    def other_writer() -> None:
        try:
            with second.system_session() as session:
                session.add(Tenant(key="from-second", created_at=now))
        except BaseException as exc:
            errors.append(exc)

    try:
        with first.system_session() as session:
            session.exec(select(Tenant)).all()  # read first...
            thread = threading.Thread(target=other_writer)
            thread.start()
            # Give the other writer the time to commit if it could (it must wait instead).
            time.sleep(0.5)
            session.add(Tenant(key="from-first", created_at=now))  # ...then write
        thread.join(timeout=60)
        assert errors == []
        with first.system_session() as session:
            keys = set(session.exec(select(Tenant.key)))
        assert keys == {"from-first", "from-second"}
    finally:
        first.close()
        second.close()


def test_two_import_processes_both_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'imports.db'}"
    store = Store(url)
    with store.tenant("acme", create=True):
        pass
    store.close()
    children = []
    for who in ("a", "b"):
        path = tmp_path / f"{who}.csv"
        rows = "".join(f"{who}{i}@example.org,Person {i}\n" for i in range(500))
        path.write_text("Email,Name\n" + rows)
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", CHILD, url, who, str(path)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for child in children:
        out, err = child.communicate(timeout=240)
        assert child.returncode == 0, err[-2000:]
        assert out.strip().endswith("ok")
        assert "database is locked" not in err
