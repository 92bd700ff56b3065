"""Inbound ATS webhooks: a receiver endpoint per connection and the delivery inbox.

Revision ID: 0013_webhooks_in
Revises: 0012_console
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0013_webhooks_in'
down_revision = '0012_console'
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('ats_hook_endpoints',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('hook_id', sa.String(length=64), nullable=False),
    sa.Column('secrets', _JSON, nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('verified', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('last_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_refused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_refusal', sa.String(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_ats_hook_endpoints_connection_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ats_hook_endpoints_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ats_hook_endpoints')),
    sa.UniqueConstraint('connection_id', name=op.f('uq_ats_hook_endpoints_connection_id')),
    sa.UniqueConstraint('hook_id', name=op.f('uq_ats_hook_endpoints_hook_id'))
    )
    op.create_table('ats_hook_inbox',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.String(length=255), nullable=False),
    sa.Column('events', _JSON, nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=255), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reads', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_ats_hook_inbox_connection_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ats_hook_inbox_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ats_hook_inbox')),
    sa.UniqueConstraint('connection_id', 'delivery_id', name=op.f('uq_ats_hook_inbox_connection_id_delivery_id'))
    )
    op.create_index(op.f('ix_ats_hook_inbox_state_next_attempt_at'), 'ats_hook_inbox', ['state', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_ats_hook_inbox_connection_id_received_at'), 'ats_hook_inbox', ['connection_id', 'received_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ats_hook_inbox_connection_id_received_at'), table_name='ats_hook_inbox')
    op.drop_index(op.f('ix_ats_hook_inbox_state_next_attempt_at'), table_name='ats_hook_inbox')
    op.drop_table('ats_hook_inbox')
    op.drop_table('ats_hook_endpoints')
