"""Job search indexes: SQLite FTS5 table + delete trigger; PostgreSQL full text + trigram.

These objects live outside the SQLModel metadata (an FTS5 virtual table and expression
indexes cannot be modelled there); ``atsbridge.services.job_index.SCHEMA_EXTRAS`` names
them so the schema comparison test can leave them out. The SQLite FTS rows are written by
``atsbridge.services.job_index`` (its words are tenant-scoped, which SQL cannot compute),
so this revision also indexes any job rows already present.

Revision ID: 0002_job_search
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_job_search"
down_revision = "0001"
branch_labels = None
depends_on = None

# Keep identical to atsbridge.services.job_index.PG_TSVECTOR (the planner matches text).
PG_TSVECTOR = (
    "(setweight(to_tsvector('simple'::regconfig, split_part(search_text, '|', 1)), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, split_part(search_text, '|', 2)), 'B') || "
    "setweight(to_tsvector('simple'::regconfig, split_part(search_text, '|', 3)), 'C'))"
)


def upgrade() -> None:
    bind = op.get_bind()
    # Exact reference / ATS id matches, case-insensitive, on both databases.
    op.execute("CREATE INDEX ix_jobs_search_ref ON jobs (tenant_id, lower(reference))")
    op.execute("CREATE INDEX ix_jobs_search_ats_id ON jobs (tenant_id, lower(ats_id))")
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE job_search USING fts5("
            "title, places, idents, tokenize = 'unicode61 remove_diacritics 2', "
            # Words carry an 8-character tenant tag (job_index.tenant_tag): index the tag
            # plus 1, 2 and 3 characters so short prefix searches need no term scan.
            "prefix = '9 10 11')"
        )
        # The FTS rowid is the job's recency key (see job_index.recency_key).
        op.execute(
            "CREATE TRIGGER job_search_on_delete AFTER DELETE ON jobs BEGIN "
            f"DELETE FROM job_search WHERE rowid = {_sqlite_key('old')}; END"
        )
        _index_existing_sqlite_rows(bind)
    elif bind.dialect.name == "postgresql":
        trgm = _trigram_schema(bind)
        op.execute(f"CREATE INDEX ix_jobs_search_tsv ON jobs USING gin ({PG_TSVECTOR})")
        op.execute(
            "CREATE INDEX ix_jobs_search_ref_trgm ON jobs "
            f'USING gin (lower(reference) "{trgm}".gin_trgm_ops)'
        )
        op.execute(
            "CREATE INDEX ix_jobs_search_ats_id_trgm ON jobs "
            f'USING gin (lower(ats_id) "{trgm}".gin_trgm_ops)'
        )


def _trigram_schema(bind: sa.Connection) -> str:
    """The schema holding pg_trgm, installing it (in ``public`` when there is one) if needed.

    The extension is per database while our tables may live in any schema of it (the tests
    give each run its own schema): installing it into a schema that is later dropped would
    take every other schema's trigram index with it, hence ``public`` first.
    """
    found = bind.execute(
        sa.text(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
        )
    ).scalar()
    if found:
        return str(found).strip('"')
    has_public = bind.execute(
        sa.text("SELECT 1 FROM pg_namespace WHERE nspname = 'public'")
    ).scalar()
    if has_public:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        return "public"
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    return str(bind.execute(sa.text("SELECT current_schema()")).scalar())


KEY_SHIFT = 1 << 30


def _sqlite_key(row: str) -> str:
    """SQL twin of job_index.recency_key: updated_at seconds * 2**30 + id mod 2**30."""
    # substr drops the fraction: strftime would round .9995 up to the next second, Python
    # truncates.
    seconds = (
        f"CAST(strftime('%s', substr(coalesce({row}.updated_at, {row}.created_at, "
        "'1970-01-01 00:00:00'), 1, 19)) AS INTEGER)"
    )
    return f"(min(8000000000, max(0, {seconds})) * {KEY_SHIFT} + {row}.id % {KEY_SHIFT})"


def _index_existing_sqlite_rows(bind: sa.Connection) -> None:
    # search_text is "title | places | identifiers"; scope each word to its tenant.
    rows = bind.execute(
        sa.text(f"SELECT {_sqlite_key('jobs')}, tenant_id, search_text FROM jobs")
    ).fetchall()
    batch = []
    for job_id, tenant_id, text in rows:
        parts = (text or "").split("|")
        parts += [""] * (3 - len(parts))
        tag = f"t{tenant_id:06d}x"  # job_index.tenant_tag
        scoped = [" ".join(tag + w for w in p.split()) for p in parts[:3]]
        batch.append({"id": job_id, "t": scoped[0], "p": scoped[1], "i": scoped[2]})
    if batch:
        bind.execute(
            sa.text(
                "INSERT INTO job_search(rowid, title, places, idents) VALUES (:id, :t, :p, :i)"
            ),
            batch,
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS job_search_on_delete")
        op.execute("DROP TABLE IF EXISTS job_search")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_jobs_search_tsv")
        op.execute("DROP INDEX IF EXISTS ix_jobs_search_ref_trgm")
        op.execute("DROP INDEX IF EXISTS ix_jobs_search_ats_id_trgm")
    op.execute("DROP INDEX IF EXISTS ix_jobs_search_ref")
    op.execute("DROP INDEX IF EXISTS ix_jobs_search_ats_id")
