"""Do-not-source keys: an entry's first email, its LinkedIn and first phone live on the entry
row (already indexed there); cnts_keys keeps only the further emails and phones.

Storing one key row per identifier besides the entry's own indexed columns doubled the rows
and indexes a pipeline sync wrote per person.

Revision ID: 0005_cnts_first_keys_on_entry
Revises: 0004_hosts
Create Date: 2026-11-28
"""

from alembic import op

revision = '0005_cnts_first_keys_on_entry'
down_revision = '0004_hosts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM cnts_keys WHERE EXISTS (SELECT 1 FROM cnts_entries e "
        "WHERE e.id = cnts_keys.entry_id AND ("
        "(cnts_keys.kind = 'email' AND cnts_keys.value = e.email_norm) OR "
        "(cnts_keys.kind = 'linkedin' AND cnts_keys.value = e.linkedin_norm) OR "
        "(cnts_keys.kind = 'phone' AND cnts_keys.value = e.phone_norm)))"
    )


def downgrade() -> None:
    for kind in ('email', 'linkedin', 'phone'):
        op.execute(
            "INSERT INTO cnts_keys (tenant_id, entry_id, product_job_id, kind, value) "
            f"SELECT tenant_id, id, product_job_id, '{kind}', {kind}_norm FROM cnts_entries "
            f"WHERE {kind}_norm IS NOT NULL"
        )
