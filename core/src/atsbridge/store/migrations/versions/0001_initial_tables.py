"""Initial tables: tenants, connections, job mirror and links, do-not-source entries,
lead outbox and status history, sync runs and checkpoints, task leases.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tenants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('key', name=op.f('uq_tenants_key'))
    )
    op.create_table('connections',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ats', sa.String(length=64), nullable=False),
    sa.Column('config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_check_error', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_connections_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connections')),
    sa.UniqueConstraint('tenant_id', 'ats', name=op.f('uq_connections_tenant_id_ats'))
    )
    op.create_table('cnts_entries',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_job_id', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(), nullable=True),
    sa.Column('email_norm', sa.String(), nullable=True),
    sa.Column('linkedin_norm', sa.String(), nullable=True),
    sa.Column('phone_norm', sa.String(length=32), nullable=True),
    sa.Column('name_norm', sa.String(), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('company', sa.String(), nullable=True),
    sa.Column('city', sa.String(), nullable=True),
    sa.Column('ats_candidate_id', sa.String(length=255), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_cnts_entries_connection_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_cnts_entries_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cnts_entries')),
    sa.UniqueConstraint('tenant_id', 'product_job_id', 'source', 'ats_candidate_id', name='uq_cnts_entries_ats_id')
    )
    op.create_index(op.f('ix_cnts_entries_tenant_id_product_job_id_email_norm'), 'cnts_entries', ['tenant_id', 'product_job_id', 'email_norm'], unique=False)
    op.create_index(op.f('ix_cnts_entries_tenant_id_product_job_id_linkedin_norm'), 'cnts_entries', ['tenant_id', 'product_job_id', 'linkedin_norm'], unique=False)
    op.create_index(op.f('ix_cnts_entries_tenant_id_product_job_id_name_norm'), 'cnts_entries', ['tenant_id', 'product_job_id', 'name_norm'], unique=False)
    op.create_index(op.f('ix_cnts_entries_tenant_id_product_job_id_phone_norm'), 'cnts_entries', ['tenant_id', 'product_job_id', 'phone_norm'], unique=False)
    op.create_table('job_links',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('product_job_id', sa.String(length=255), nullable=False),
    sa.Column('ats_job_id', sa.String(length=255), nullable=False),
    sa.Column('snapshot', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('status_raw', sa.String(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_job_links_connection_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_job_links_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_links')),
    sa.UniqueConstraint('tenant_id', 'connection_id', 'ats_job_id', name=op.f('uq_job_links_tenant_id_connection_id_ats_job_id')),
    sa.UniqueConstraint('tenant_id', 'product_job_id', name=op.f('uq_job_links_tenant_id_product_job_id'))
    )
    op.create_table('jobs',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('ats_id', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_raw', sa.String(), nullable=False),
    sa.Column('reference', sa.String(length=255), nullable=True),
    sa.Column('locations', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('city', sa.String(), nullable=True),
    sa.Column('region', sa.String(), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('department', sa.String(), nullable=True),
    sa.Column('employment_type', sa.String(), nullable=True),
    sa.Column('description', sa.String(), nullable=True),
    sa.Column('url', sa.String(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('search_text', sa.String(), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_jobs_connection_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_jobs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('connection_id', 'ats_id', name=op.f('uq_jobs_connection_id_ats_id'))
    )
    op.create_index(op.f('ix_jobs_tenant_id_reference'), 'jobs', ['tenant_id', 'reference'], unique=False)
    op.create_index(op.f('ix_jobs_tenant_id_status'), 'jobs', ['tenant_id', 'status'], unique=False)
    op.create_index(op.f('ix_jobs_tenant_id_updated_at'), 'jobs', ['tenant_id', 'updated_at'], unique=False)
    op.create_table('leads',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_job_id', sa.String(length=255), nullable=False),
    sa.Column('lead_id', sa.String(length=255), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.Column('ats_job_id', sa.String(length=255), nullable=True),
    sa.Column('document', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('resume', sa.LargeBinary(), nullable=True),
    sa.Column('resume_filename', sa.String(), nullable=True),
    sa.Column('resume_content_type', sa.String(length=255), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(), nullable=True),
    sa.Column('ats_candidate_id', sa.String(length=255), nullable=True),
    sa.Column('ats_application_id', sa.String(length=255), nullable=True),
    sa.Column('already_existed', sa.Boolean(), nullable=False),
    sa.Column('ats_status', sa.String(length=20), nullable=True),
    sa.Column('ats_status_raw', sa.String(), nullable=True),
    sa.Column('stage', sa.String(), nullable=True),
    sa.Column('unsupported', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_leads_connection_id_connections'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_leads_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leads')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_leads_idempotency_key')),
    sa.UniqueConstraint('tenant_id', 'product_job_id', 'lead_id', name=op.f('uq_leads_tenant_id_product_job_id_lead_id'))
    )
    op.create_index(op.f('ix_leads_state_next_attempt_at'), 'leads', ['state', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_leads_tenant_id_product_job_id_state'), 'leads', ['tenant_id', 'product_job_id', 'state'], unique=False)
    op.create_table('sync_runs',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('progress', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_sync_runs_connection_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sync_runs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    op.create_index(op.f('ix_sync_runs_connection_id_kind_started_at'), 'sync_runs', ['connection_id', 'kind', 'started_at'], unique=False)
    op.create_table('task_leases',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('task', sa.String(length=32), nullable=False),
    sa.Column('holder', sa.String(length=255), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_task_leases_connection_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_task_leases_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_leases')),
    sa.UniqueConstraint('connection_id', 'task', name=op.f('uq_task_leases_connection_id_task'))
    )
    op.create_index(op.f('ix_task_leases_expires_at'), 'task_leases', ['expires_at'], unique=False)
    op.create_table('lead_status_history',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_row_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('stage', sa.String(), nullable=True),
    sa.Column('status_raw', sa.String(), nullable=True),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lead_row_id'], ['leads.id'], name=op.f('fk_lead_status_history_lead_row_id_leads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_lead_status_history_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_status_history'))
    )
    op.create_index(op.f('ix_lead_status_history_lead_row_id_observed_at'), 'lead_status_history', ['lead_row_id', 'observed_at'], unique=False)
    op.create_table('sync_checkpoints',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=255), nullable=False),
    sa.Column('cursor', sa.String(), nullable=True),
    sa.Column('high_water', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_sync_checkpoints_connection_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['sync_runs.id'], name=op.f('fk_sync_checkpoints_run_id_sync_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sync_checkpoints_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_checkpoints')),
    sa.UniqueConstraint('connection_id', 'kind', 'scope', name=op.f('uq_sync_checkpoints_connection_id_kind_scope'))
    )


def downgrade() -> None:
    op.drop_table('sync_checkpoints')
    op.drop_index(op.f('ix_lead_status_history_lead_row_id_observed_at'))
    op.drop_table('lead_status_history')
    op.drop_index(op.f('ix_task_leases_expires_at'))
    op.drop_table('task_leases')
    op.drop_index(op.f('ix_sync_runs_connection_id_kind_started_at'))
    op.drop_table('sync_runs')
    op.drop_index(op.f('ix_leads_tenant_id_product_job_id_state'))
    op.drop_index(op.f('ix_leads_state_next_attempt_at'))
    op.drop_table('leads')
    op.drop_index(op.f('ix_jobs_tenant_id_updated_at'))
    op.drop_index(op.f('ix_jobs_tenant_id_status'))
    op.drop_index(op.f('ix_jobs_tenant_id_reference'))
    op.drop_table('jobs')
    op.drop_table('job_links')
    op.drop_index(op.f('ix_cnts_entries_tenant_id_product_job_id_phone_norm'))
    op.drop_index(op.f('ix_cnts_entries_tenant_id_product_job_id_name_norm'))
    op.drop_index(op.f('ix_cnts_entries_tenant_id_product_job_id_linkedin_norm'))
    op.drop_index(op.f('ix_cnts_entries_tenant_id_product_job_id_email_norm'))
    op.drop_table('cnts_entries')
    op.drop_table('connections')
    op.drop_table('tenants')
