"""Data safety: the owner's backup and retention settings, consent recorded with the staff member
who took it (marketing and personal data), the time a member's personal data was erased, and an
index for browsing the audit log by action.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    settings = op.create_table('data_safety_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('keep_daily', sa.Integer(), nullable=False),
    sa.Column('keep_weekly', sa.Integer(), nullable=False),
    sa.Column('keep_monthly', sa.Integer(), nullable=False),
    sa.Column('second_place', sa.String(length=500), nullable=False),
    sa.Column('retention_years', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_safety_settings'))
    )
    op.bulk_insert(settings, [{
        'id': 1, 'keep_daily': 12, 'keep_weekly': 10, 'keep_monthly': 9, 'second_place': '', 'retention_years': 0,
        'updated_at': datetime.now(timezone.utc),
    }])
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_by', sa.String(length=60), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('data_consent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('data_consent_by', sa.String(length=60), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
        batch_op.drop_column('data_consent_by')
        batch_op.drop_column('data_consent_at')
        batch_op.drop_column('consent_by')
    op.drop_table('data_safety_settings')
