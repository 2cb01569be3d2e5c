"""Customer insight: each member's RFM, ABC class, lifecycle stage, churn alert and model estimates, the refresh
runs with their fitted models, the dashboard's counts and the shop's figures per day (all derived, rebuilt by
``crmdesk insight refresh``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('insight_count',
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('spend_fen', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'key', name=op.f('pk_insight_count'))
    )
    op.create_table('insight_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('window_months', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('purchases', sa.BigInteger(), nullable=False),
    sa.Column('bgnbd_r', sa.Double(), nullable=True),
    sa.Column('bgnbd_alpha', sa.Double(), nullable=True),
    sa.Column('bgnbd_a', sa.Double(), nullable=True),
    sa.Column('bgnbd_b', sa.Double(), nullable=True),
    sa.Column('bgnbd_log_likelihood', sa.Double(), nullable=True),
    sa.Column('gg_p', sa.Double(), nullable=True),
    sa.Column('gg_q', sa.Double(), nullable=True),
    sa.Column('gg_v', sa.Double(), nullable=True),
    sa.Column('gg_log_likelihood', sa.Double(), nullable=True),
    sa.Column('model_members', sa.Integer(), nullable=False),
    sa.Column('model_note', sa.String(length=20), nullable=False),
    sa.Column('wallet_fen', sa.BigInteger(), nullable=False),
    sa.Column('owed_fen', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_insight_run'))
    )
    settings = op.create_table('insight_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('window_months', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_insight_settings'))
    )
    op.bulk_insert(settings, [{'id': 1, 'window_months': 12, 'updated_at': datetime.now(timezone.utc)}])
    op.create_table('shop_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sales_fen', sa.BigInteger(), nullable=False),
    sa.Column('refunds_fen', sa.BigInteger(), nullable=False),
    sa.Column('receipts', sa.Integer(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('new_members', sa.Integer(), nullable=False),
    sa.Column('points_earned', sa.BigInteger(), nullable=False),
    sa.Column('points_redeemed', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_shop_day'))
    )
    op.create_table('member_insight',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('shopping_days', sa.Integer(), nullable=False),
    sa.Column('recency_days', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.Integer(), nullable=False),
    sa.Column('monetary_fen', sa.BigInteger(), nullable=False),
    sa.Column('r_score', sa.SmallInteger(), nullable=False),
    sa.Column('f_score', sa.SmallInteger(), nullable=False),
    sa.Column('m_score', sa.SmallInteger(), nullable=False),
    sa.Column('segment', sa.String(length=20), nullable=False),
    sa.Column('abc_class', sa.String(length=1), nullable=True),
    sa.Column('typical_gap_days', sa.Double(), nullable=False),
    sa.Column('stage', sa.String(length=12), nullable=False),
    sa.Column('alert', sa.String(length=8), nullable=True),
    sa.Column('alert_usual', sa.Double(), nullable=True),
    sa.Column('alert_now', sa.Double(), nullable=True),
    sa.Column('p_alive', sa.Double(), nullable=True),
    sa.Column('expected_purchases', sa.Double(), nullable=True),
    sa.Column('expected_value_fen', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_member_insight_member_id_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_insight'))
    )
    with op.batch_alter_table('member_insight', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_insight_abc_class'), ['abc_class'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_insight_alert'), ['alert'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_insight_expected_value_fen'), ['expected_value_fen'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_insight_segment'), ['segment'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_insight_stage'), ['stage'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('member_insight', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_insight_stage'))
        batch_op.drop_index(batch_op.f('ix_member_insight_segment'))
        batch_op.drop_index(batch_op.f('ix_member_insight_expected_value_fen'))
        batch_op.drop_index(batch_op.f('ix_member_insight_alert'))
        batch_op.drop_index(batch_op.f('ix_member_insight_abc_class'))

    op.drop_table('member_insight')
    op.drop_table('shop_day')
    op.drop_table('insight_settings')
    op.drop_table('insight_run')
    op.drop_table('insight_count')
