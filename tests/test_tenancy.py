"""No repository query path returns, changes or deletes another tenant's rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from atsbridge.store import (
    CntsEntry,
    Connection,
    Job,
    JobLink,
    LeadRow,
    LeadStatusHistory,
    Store,
    SyncCheckpoint,
    SyncRun,
    TaskLease,
    tables,
)
from atsbridge.store.tables import TENANT_TABLES
from sqlmodel import select

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _fill(store: Store, tenant: str) -> dict[type, int]:
    """One row in every tenant-owned table; returns their ids."""
    with store.tenant(tenant, create=True) as repo:
        conn = repo.add(Connection(ats="fakeats", created_at=NOW, updated_at=NOW))
        repo.flush()
        c = conn.id
        lead = repo.add(
            LeadRow(
                product_job_id="P1",
                lead_id="L1",
                idempotency_key=f"{tenant}:P1:L1",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        run = repo.add(SyncRun(connection_id=c, kind="jobs", started_at=NOW))
        repo.flush()
        rows = [
            conn,
            lead,
            run,
            repo.add(Job(connection_id=c, ats_id="J1", title=tenant, status="open", synced_at=NOW)),
            repo.add(
                JobLink(
                    connection_id=c,
                    product_job_id="P1",
                    ats_job_id="J1",
                    created_at=NOW,
                    updated_at=NOW,
                )
            ),
            repo.add(
                CntsEntry(
                    product_job_id="P1",
                    source="file",
                    email_norm="ada@example.org",
                    added_at=NOW,
                    updated_at=NOW,
                )
            ),
            repo.add(LeadStatusHistory(lead_row_id=lead.id, status="new", observed_at=NOW)),
            repo.add(SyncCheckpoint(connection_id=c, kind="jobs", updated_at=NOW)),
            repo.add(TaskLease(connection_id=c, task="jobs")),
        ]
        entry = rows[5]
        repo.flush()
        rows.append(
            repo.add(
                tables.CntsKey(
                    entry_id=entry.id, product_job_id="P1", kind="email", value="ada@example.org"
                )
            )
        )
        rows.append(repo.add(tables.CntsList(product_job_id="P2", created_at=NOW)))
        imported = repo.add(
            tables.CntsImport(product_job_id="P1", file_name="f.csv", imported_at=NOW)
        )
        repo.flush()
        rows.append(imported)
        rows.append(repo.add(tables.CntsImportEntry(import_id=imported.id, entry_id=entry.id)))
        rows.append(
            repo.add(
                tables.AtsHookEndpoint(
                    connection_id=c, hook_id=f"h-{tenant}", created_at=NOW, updated_at=NOW
                )
            )
        )
        rows.append(
            repo.add(tables.AtsHookInbox(connection_id=c, delivery_id="d1", received_at=NOW))
        )
        repo.flush()
        return {type(r): r.id for r in rows}


@pytest.fixture
def two(db_url: str):
    store = Store(db_url)
    a, b = _fill(store, "acme"), _fill(store, "globex")
    yield store, a, b
    store.close()


def test_every_tenant_table_is_covered(two) -> None:
    _, a, _ = two
    missing = sorted(m.__name__ for m in set(TENANT_TABLES) - set(a))
    assert not missing, f"add a row of each new tenant table to _fill() here: {missing}"
    assert all("tenant_id" in m.__table__.c for m in TENANT_TABLES)  # type: ignore[attr-defined]


@pytest.mark.parametrize("model", TENANT_TABLES, ids=lambda m: m.__name__)
def test_selects_see_only_own_rows(two, model) -> None:
    store, a, b = two
    with store.tenant("acme") as repo:
        rows = repo.all(select(model))
        assert [r.id for r in rows] == [a[model]]
        assert repo.get(model, b[model]) is None
        assert repo.session.get(model, b[model]) is None
        count = repo.first(select(sa.func.count()).select_from(model))
        assert count == 1


def test_joins_and_aliases_are_filtered(two) -> None:
    store, a, _ = two
    with store.tenant("acme") as repo:
        rows = repo.all(
            select(Job, Connection).join(Connection, Job.connection_id == Connection.id)
        )
        assert [(j.id, c.id) for j, c in rows] == [(a[Job], a[Connection])]
        other = sa.orm.aliased(Job)
        pairs = repo.all(select(Job.id, other.id).join(other, other.ats_id == Job.ats_id))
        assert pairs == [(a[Job], a[Job])]


def test_bulk_update_and_delete_touch_only_own_rows(two) -> None:
    store, a, b = two
    with store.tenant("acme") as repo:
        repo.session.exec(sa.update(Job).values(title="renamed"))  # type: ignore[call-overload]
        repo.session.exec(sa.delete(CntsEntry))  # type: ignore[call-overload]
    with store.system_session() as session:
        titles = dict(session.exec(select(Job.id, Job.title)).all())
        assert titles == {a[Job]: "renamed", b[Job]: "globex"}
        assert [e.id for e in session.exec(select(CntsEntry))] == [b[CntsEntry]]


def test_writing_another_tenants_row_is_refused(two) -> None:
    store, _, b = two
    with (
        pytest.raises(PermissionError, match="refusing to write a Job of tenant"),
        store.tenant("acme") as repo,
    ):
        foreign = Job(
            tenant_id=2, connection_id=b[Connection], ats_id="X", title="x", status="open"
        )
        foreign.synced_at = NOW
        repo.session.add(foreign)
        repo.flush()
    with store.system_session() as session:
        assert session.exec(select(Job).where(Job.ats_id == "X")).first() is None


def test_add_stamps_the_sessions_tenant(two) -> None:
    store, a, _ = two
    with store.tenant("acme") as repo:
        row = repo.add(TaskLease(connection_id=a[Connection], task="leads"))
        repo.flush()
        assert row.tenant_id == repo.tenant_id


def test_connection_lookup_is_per_tenant(two) -> None:
    store, a, b = two
    with store.tenant("globex") as repo:
        assert repo.require_connection("fakeats").id == b[Connection]
        assert [c.id for c in repo.connections()] == [b[Connection]]
    with store.tenant("acme") as repo:
        assert repo.require_connection("fakeats").id == a[Connection]
