"""Do-not-source lists for jobs without an ATS link, and a record of every file import.

cnts_lists: a product job's list created explicitly (``cnts import --create``), so a check,
list or import for a job atsbridge does not know is an error instead of an empty list.
Jobs that already hold file entries without a link get one, so they stay usable.
cnts_imports / cnts_import_entries: each import (file, time, counts) and the entries it
listed, so an import can be listed and removed.

Revision ID: 0008_cnts_imports
Revises: 0007_events
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

revision = '0008_cnts_imports'
down_revision = '0007_events'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cnts_lists',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_job_id', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_cnts_lists_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cnts_lists')),
    sa.UniqueConstraint('tenant_id', 'product_job_id', name=op.f('uq_cnts_lists_tenant_id_product_job_id'))
    )
    op.create_table('cnts_imports',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_job_id', sa.String(length=255), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('warnings', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_cnts_imports_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cnts_imports'))
    )
    op.create_index(op.f('ix_cnts_imports_tenant_id_product_job_id_imported_at'), 'cnts_imports', ['tenant_id', 'product_job_id', 'imported_at'], unique=False)
    op.create_table('cnts_import_entries',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['cnts_entries.id'], name=op.f('fk_cnts_import_entries_entry_id_cnts_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['import_id'], ['cnts_imports.id'], name=op.f('fk_cnts_import_entries_import_id_cnts_imports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_cnts_import_entries_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cnts_import_entries')),
    sa.UniqueConstraint('import_id', 'entry_id', name=op.f('uq_cnts_import_entries_import_id_entry_id'))
    )
    op.create_index(op.f('ix_cnts_import_entries_entry_id'), 'cnts_import_entries', ['entry_id'], unique=False)
    # File lists imported before lists had to exist: keep them usable.
    op.execute(
        "INSERT INTO cnts_lists (tenant_id, product_job_id, created_at) "
        "SELECT e.tenant_id, e.product_job_id, MIN(e.added_at) FROM cnts_entries e "
        "WHERE e.source = 'file' AND NOT EXISTS (SELECT 1 FROM job_links l "
        "WHERE l.tenant_id = e.tenant_id AND l.product_job_id = e.product_job_id) "
        "GROUP BY e.tenant_id, e.product_job_id"
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_cnts_import_entries_entry_id'), table_name='cnts_import_entries')
    op.drop_table('cnts_import_entries')
    op.drop_index(op.f('ix_cnts_imports_tenant_id_product_job_id_imported_at'), table_name='cnts_imports')
    op.drop_table('cnts_imports')
    op.drop_table('cnts_lists')
