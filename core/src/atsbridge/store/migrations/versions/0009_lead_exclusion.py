"""Leads skipped because their person is on the job's do-not-source list: the match, and
whether the lead may be exported anyway.

Revision ID: 0009_lead_exclusion
Revises: 0008_cnts_imports
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0009_lead_exclusion'
down_revision = '0008_cnts_imports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('leads') as batch:
        batch.add_column(sa.Column('allow_excluded', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('exclusion', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('leads') as batch:
        batch.drop_column('exclusion')
        batch.drop_column('allow_excluded')
