"""The store on SQLite and PostgreSQL: migrations, types, constraints, cascades."""

from __future__ import annotations

import os
import re
import stat
import warnings
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from atsbridge.errors import BadInput, NotFound
from atsbridge.services.job_index import SCHEMA_EXTRAS
from atsbridge.store import (
    Connection,
    Job,
    JobLink,
    LeadRow,
    Store,
    SyncCheckpoint,
    SyncRun,
    TaskLease,
    migrate,
)
from atsbridge.store.engine import parse_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


@pytest.fixture
def store(db_url: str):
    s = Store(db_url, clock=clock)
    yield s
    s.close()


def _connection(repo, ats: str = "fakeats") -> Connection:
    row = repo.add(Connection(ats=ats, created_at=NOW, updated_at=NOW))
    repo.flush()
    return row


def test_migrations_have_a_single_head() -> None:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(migrate._config()).get_heads()
    assert len(heads) == 1, f"several Alembic heads {heads}: point one revision at the other"


def test_first_use_migrates_to_head_and_matches_the_models(store: Store) -> None:
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    with store.engine.connect() as conn, warnings.catch_warnings():
        # The job search index (FTS5 table, expression indexes) lives outside the models.
        context = MigrationContext.configure(
            conn, opts={"include_name": lambda name, *_: name not in SCHEMA_EXTRAS}
        )
        # SQLite's reflection cannot read those expression indexes and says so before the
        # comparison skips them: expected. Any other warning here is a real schema problem.
        warnings.simplefilter("error")
        extras = "|".join(re.escape(name) for name in sorted(SCHEMA_EXTRAS))
        warnings.filterwarnings(
            "ignore",
            message=f"Skipped unsupported reflection of expression-based index ({extras})$",
            category=sa.exc.SAWarning,
        )
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_upgrade_is_idempotent(store: Store) -> None:
    store.upgrade()
    store.upgrade()
    assert migrate.current_revision(store.engine) == migrate.head_revision()


def test_opening_without_migration_leaves_database_empty(db_url: str) -> None:
    s = Store(db_url, migrate_now=False)
    try:
        assert migrate.current_revision(s.engine) is None
        assert "connections" not in sa.inspect(s.engine).get_table_names()
    finally:
        s.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    s = Store(f"sqlite:///{tmp_path / 'x.db'}")
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    s.close()


def test_default_database_lives_in_the_data_dir(isolated_env) -> None:
    s = Store(None)
    assert s.sqlite_file == isolated_env / "atsbridge.db"
    assert s.sqlite_file.exists()
    assert s.key_dir == isolated_env
    s.close()


def test_postgres_urls_use_psycopg() -> None:
    assert parse_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert parse_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert parse_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"


def test_bad_urls_are_bad_input_without_password() -> None:
    with pytest.raises(BadInput, match="unsupported database 'mysql'"):
        parse_url("mysql://u:hunter22@h/db")
    with pytest.raises(BadInput, match="not a database URL") as exc:
        parse_url("::::hunter22")
    assert "hunter22" not in str(exc.value) or "<unparseable>" in str(exc.value)


def test_datetimes_round_trip_as_aware_utc(store: Store) -> None:
    paris = timezone(timedelta(hours=1))
    with store.tenant("acme", create=True) as repo:
        conn = _connection(repo)
        conn.last_checked_at = datetime(2026, 3, 1, 14, 30, tzinfo=paris)
    with store.tenant("acme") as repo:
        got = repo.require_connection("fakeats").last_checked_at
    assert got == datetime(2026, 3, 1, 13, 30, tzinfo=UTC)
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(store: Store) -> None:
    with (
        pytest.raises(sa.exc.StatementError, match="naive datetime"),
        store.tenant("acme", create=True) as repo,
    ):
        repo.add(Connection(ats="x", created_at=datetime(2026, 1, 1), updated_at=NOW))
        repo.flush()


def test_unknown_tenant_is_not_found_unless_created(store: Store) -> None:
    with pytest.raises(NotFound, match="no tenant 'ghost'"), store.tenant("ghost"):
        pass
    with store.tenant("ghost", create=True) as repo:
        assert repo.tenant_key == "ghost"
    assert store.tenant_keys() == ["ghost"]


def test_job_links_are_unique_both_ways(store: Store) -> None:
    with store.tenant("acme", create=True) as repo:
        conn_id = _connection(repo).id
    with store.tenant("acme") as repo:
        repo.add(_link(conn_id, "P1", "J1"))
    for product, ats_job in (("P1", "J2"), ("P2", "J1")):
        with pytest.raises(IntegrityError), store.tenant("acme") as repo:
            repo.add(_link(conn_id, product, ats_job))
            repo.flush()


def _link(conn_id: int | None, product: str, ats_job: str) -> JobLink:
    return JobLink(
        connection_id=conn_id,
        product_job_id=product,
        ats_job_id=ats_job,
        created_at=NOW,
        updated_at=NOW,
    )


def test_lead_idempotency_key_is_unique(store: Store) -> None:
    with store.tenant("acme", create=True) as repo:
        repo.add(_lead("P1", "L1", "k1"))
    with pytest.raises(IntegrityError), store.tenant("acme") as repo:
        repo.add(_lead("P1", "L2", "k1"))
        repo.flush()
    with store.tenant("acme") as repo:
        leads = repo.all(select(LeadRow))
    assert [(lead.lead_id, lead.state, lead.attempts) for lead in leads] == [("L1", "pending", 0)]


def _lead(job: str, lead: str, key: str) -> LeadRow:
    return LeadRow(
        product_job_id=job,
        lead_id=lead,
        idempotency_key=key,
        document={"id": lead},
        resume=b"%PDF-1.4 tiny",
        created_at=NOW,
        updated_at=NOW,
    )


def test_deleting_a_connection_cascades_to_what_was_synced_through_it(store: Store) -> None:
    with store.tenant("acme", create=True) as repo:
        conn = _connection(repo)
        run = repo.add(SyncRun(connection_id=conn.id, kind="jobs", started_at=NOW))
        repo.flush()
        repo.add(Job(connection_id=conn.id, ats_id="J1", title="t", status="open", synced_at=NOW))
        repo.add(_link(conn.id, "P1", "J1"))
        repo.add(
            SyncCheckpoint(
                connection_id=conn.id, kind="jobs", cursor="c2", run_id=run.id, updated_at=NOW
            )
        )
        repo.add(TaskLease(connection_id=conn.id, task="jobs", holder="h1", expires_at=NOW))
        lead = _lead("P1", "L1", "k1")
        lead.connection_id = conn.id
        repo.add(lead)
    with store.tenant("acme") as repo:
        repo.delete(repo.require_connection("fakeats"))
    with store.tenant("acme") as repo:
        for model in (Job, JobLink, SyncRun, SyncCheckpoint, TaskLease):
            assert repo.all(select(model)) == [], model
        # The lead outlives the connection (it is the product's data), unlinked.
        (lead,) = repo.all(select(LeadRow))
        assert lead.connection_id is None


def test_json_columns_round_trip(store: Store) -> None:
    doc = {"first_name": "Zoë", "tags": ["a", "b"], "nested": {"n": 1, "none": None}}
    with store.tenant("acme", create=True) as repo:
        repo.add(_lead("P1", "L1", "k1")).document = doc
    with store.tenant("acme") as repo:
        (lead,) = repo.all(select(LeadRow))
    assert lead.document == doc
    assert lead.resume == b"%PDF-1.4 tiny"


def test_sqlite_key_dir_is_beside_the_database(tmp_path) -> None:
    s = Store(f"sqlite:///{tmp_path / 'sub' / 'a.db'}")
    assert s.key_dir == tmp_path / "sub"
    assert stat.S_ISDIR(os.stat(s.key_dir).st_mode)
    s.close()


def test_0005_keeps_only_extra_identifiers_as_key_rows_and_downgrades_back(db_url: str) -> None:
    from alembic import command
    from atsbridge.store.engine import create_engine

    engine = create_engine(parse_url(db_url))
    try:
        migrate.upgrade(engine, "0004_hosts")
        stamp = "2026-03-01 12:00:00"
        with engine.begin() as conn:
            conn.execute(
                sa.text(f"INSERT INTO tenants (id, key, created_at) VALUES (1, 'acme', '{stamp}')")
            )
            conn.execute(
                sa.text(
                    "INSERT INTO cnts_entries (id, tenant_id, product_job_id, source, email_norm, "
                    "linkedin_norm, phone_norm, raw, added_at, updated_at) VALUES (7, 1, 'P1', "
                    f"'file', 'a@x.org', 'linkedin.com/in/a', '+33612345678', '{{}}', '{stamp}', "
                    f"'{stamp}')"
                )
            )
            for kind, value in [
                ("email", "a@x.org"),
                ("email", "b@x.org"),
                ("linkedin", "linkedin.com/in/a"),
                ("phone", "+33612345678"),
            ]:
                conn.execute(
                    sa.text(
                        "INSERT INTO cnts_keys (tenant_id, entry_id, product_job_id, kind, value) "
                        f"VALUES (1, 7, 'P1', '{kind}', '{value}')"
                    )
                )

        def keys() -> set[tuple[str, str]]:
            with engine.connect() as conn:
                return set(conn.execute(sa.text("SELECT kind, value FROM cnts_keys")).all())

        migrate.upgrade(engine)
        assert keys() == {("email", "b@x.org")}
        with engine.begin() as conn:
            command.downgrade(migrate._config(conn), "0004_hosts")
        assert keys() == {
            ("email", "a@x.org"),
            ("email", "b@x.org"),
            ("linkedin", "linkedin.com/in/a"),
            ("phone", "+33612345678"),
        }
    finally:
        engine.dispose()
