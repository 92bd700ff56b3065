"""Host registry: the running host daemons and their heartbeats (several hosts on PostgreSQL).

Revision ID: 0004_hosts
Revises: 0003_cnts_keys
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004_hosts'
down_revision = '0003_cnts_keys'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hosts',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('process', sa.String(length=255), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('info', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hosts'))
    )
    op.create_index(op.f('ix_hosts_heartbeat_at'), 'hosts', ['heartbeat_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_hosts_heartbeat_at'), table_name='hosts')
    op.drop_table('hosts')
