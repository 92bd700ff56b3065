"""Do-not-source identifier keys: every email, LinkedIn URL and phone of an entry, indexed
for exact batch lookup.

Revision ID: 0003_cnts_keys
Revises: 0002_job_search
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa

revision = '0003_cnts_keys'
down_revision = '0002_job_search'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cnts_keys',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('product_job_id', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['cnts_entries.id'], name=op.f('fk_cnts_keys_entry_id_cnts_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_cnts_keys_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cnts_keys'))
    )
    op.create_index(op.f('ix_cnts_keys_tenant_id_product_job_id_kind_value_entry_id'), 'cnts_keys', ['tenant_id', 'product_job_id', 'kind', 'value', 'entry_id'], unique=False)
    op.create_index(op.f('ix_cnts_keys_entry_id'), 'cnts_keys', ['entry_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_cnts_keys_entry_id'), table_name='cnts_keys')
    op.drop_index(op.f('ix_cnts_keys_tenant_id_product_job_id_kind_value_entry_id'), table_name='cnts_keys')
    op.drop_table('cnts_keys')
