"""Index live sync runs by connection, kind and status.

Starting a run looks for live runs of its kind; the only index led with the start time, so
that read walked the whole run history of the connection, which grows by one run per job
each time the do-not-source lists refresh.

Revision ID: 0006_sync_runs_status_index
Revises: 0005_cnts_first_keys_on_entry
Create Date: 2026-11-28
"""

from alembic import op

revision = '0006_sync_runs_status_index'
down_revision = '0005_cnts_first_keys_on_entry'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f('ix_sync_runs_connection_id_kind_status'), 'sync_runs', ['connection_id', 'kind', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sync_runs_connection_id_kind_status'), table_name='sync_runs')
