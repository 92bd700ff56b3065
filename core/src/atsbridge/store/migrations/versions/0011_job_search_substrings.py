"""Job search: substrings of references and ids, a country marker word, recency by creation.

Adds ``jobs.search_refs`` (compact reference and ATS id), recomputes every job's search
words (``search_text`` gains the ``xiso<code>`` country marker), and rebuilds the index
entries: on SQLite the FTS rows (identifier suffixes under their own tag), on PostgreSQL a
trigram index on ``search_refs`` replacing the two on ``lower(reference)``/``lower(ats_id)``.
An index on ``(tenant_id, coalesce(updated_at, created_at), id)`` serves "most recent
first" for jobs whose ATS gives no update time. The words come from ``atsbridge.services.job_index`` itself so that existing rows are
indexed exactly as the job sync indexes new ones.

Revision ID: 0011_job_search_substrings
Revises: 0010_api_keys
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_job_search_substrings"
down_revision = "0010_api_keys"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    from atsbridge.services import job_index
    from atsbridge.store.types import JSON, UTCDateTime

    bind = op.get_bind()
    op.add_column("jobs", sa.Column("search_refs", sa.String(), nullable=False, server_default=""))
    jobs = sa.table(
        "jobs",
        *(sa.column(name) for name in ("id", "tenant_id", "title", "reference", "ats_id")),
        sa.column("locations", JSON),
        sa.column("updated_at", UTCDateTime),
        sa.column("created_at", UTCDateTime),
    )
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        op.execute("DELETE FROM job_search")
    rows = bind.execute(sa.select(jobs).order_by(jobs.c.tenant_id, jobs.c.id))
    while batch := rows.fetchmany(_BATCH):
        updates, fts = [], []
        for row in batch:
            w = job_index.search_words(row.title, row.locations or [], row.reference, row.ats_id)
            updates.append({"key": row.id, "text": w.text(), "refs": w.refs_text()})
            key = job_index.recency_key(row.id, row.updated_at, row.created_at)
            fts.append((row.tenant_id, (key, None, w)))
        bind.execute(
            sa.text("UPDATE jobs SET search_text = :text, search_refs = :refs WHERE id = :key"),
            updates,
        )
        if sqlite:
            for tenant_id in dict.fromkeys(t for t, _ in fts):
                job_index.sqlite_index(bind, tenant_id, [e for t, e in fts if t == tenant_id])
    # "Most recent first" without a query: a job without an update time (Workday gives
    # none) counts from its creation. Keep identical to job_index.RECENCY (alias j -> jobs).
    # PostgreSQL sorts NULLs first in DESC unless told (the search says NULLS LAST).
    order = " DESC NULLS LAST, id DESC" if bind.dialect.name == "postgresql" else ", id"
    op.execute(
        f"CREATE INDEX ix_jobs_recency ON jobs (tenant_id, coalesce(updated_at, created_at){order})"
    )
    if bind.dialect.name == "postgresql":
        schema = _trigram_schema(bind)
        op.execute("DROP INDEX IF EXISTS ix_jobs_search_ref_trgm")
        op.execute("DROP INDEX IF EXISTS ix_jobs_search_ats_id_trgm")
        op.execute(
            f'CREATE INDEX ix_jobs_search_refs_trgm ON jobs USING gin (search_refs "{schema}".gin_trgm_ops)'
        )


def _trigram_schema(bind: sa.Connection) -> str:
    """The schema of pg_trgm (installed by 0002_job_search)."""
    found = bind.execute(
        sa.text(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
        )
    ).scalar()
    return str(found).strip('"')


def downgrade() -> None:
    bind = op.get_bind()
    op.execute("DROP INDEX IF EXISTS ix_jobs_recency")
    if bind.dialect.name == "postgresql":
        schema = _trigram_schema(bind)
        op.execute("DROP INDEX IF EXISTS ix_jobs_search_refs_trgm")
        op.execute(
            "CREATE INDEX ix_jobs_search_ref_trgm ON jobs "
            f'USING gin (lower(reference) "{schema}".gin_trgm_ops)'
        )
        op.execute(
            "CREATE INDEX ix_jobs_search_ats_id_trgm ON jobs "
            f'USING gin (lower(ats_id) "{schema}".gin_trgm_ops)'
        )
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("search_refs")
