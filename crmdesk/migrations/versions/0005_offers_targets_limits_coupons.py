"""Offers: targets, limits and kind-specific values; redemptions and single-use coupons.

Existing offers become offers for everyone, without limits or coupons (the
server defaults below fill the new columns of rows already there).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coupon',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('batch', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by_redemption_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_coupon_member_id_member')),
    sa.ForeignKeyConstraint(['offer_id'], ['offer.id'], name=op.f('fk_coupon_offer_id_offer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon')),
    sa.UniqueConstraint('code', name=op.f('uq_coupon_code'))
    )
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coupon_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coupon_offer_id'), ['offer_id'], unique=False)

    op.create_table('offer_redemption',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('purchase_id', sa.Integer(), nullable=True),
    sa.Column('coupon_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('discount_fen', sa.BigInteger(), nullable=False),
    sa.Column('points_spent', sa.Integer(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupon.id'], name=op.f('fk_offer_redemption_coupon_id_coupon')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_offer_redemption_member_id_member')),
    sa.ForeignKeyConstraint(['offer_id'], ['offer.id'], name=op.f('fk_offer_redemption_offer_id_offer')),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchase.id'], name=op.f('fk_offer_redemption_purchase_id_purchase')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_offer_redemption_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer_redemption')),
    sa.UniqueConstraint('coupon_id', name=op.f('uq_offer_redemption_coupon_id'))
    )
    with op.batch_alter_table('offer_redemption', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offer_redemption_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_offer_redemption_offer_member', ['offer_id', 'member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_redemption_purchase_id'), ['purchase_id'], unique=False)

    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target', sa.Enum('everyone', 'tiers', 'tags', 'group', name='offertarget', native_enum=False, length=16), nullable=False, server_default='everyone'))
        batch_op.add_column(sa.Column('target_tier_ids', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('target_tags', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('target_filter_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('per_member_limit', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('total_limit', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('coupon_required', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('repeat_threshold', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('gift', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('buy_qty', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('get_qty', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('item_code', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('item_category', sa.String(length=60), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('weekdays', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_offer_target_filter_id_saved_filter'), 'saved_filter', ['target_filter_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_offer_target_filter_id_saved_filter'), type_='foreignkey')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('weekdays')
        batch_op.drop_column('item_category')
        batch_op.drop_column('item_code')
        batch_op.drop_column('get_qty')
        batch_op.drop_column('buy_qty')
        batch_op.drop_column('gift')
        batch_op.drop_column('repeat_threshold')
        batch_op.drop_column('coupon_required')
        batch_op.drop_column('total_limit')
        batch_op.drop_column('per_member_limit')
        batch_op.drop_column('target_filter_id')
        batch_op.drop_column('target_tags')
        batch_op.drop_column('target_tier_ids')
        batch_op.drop_column('target')

    with op.batch_alter_table('offer_redemption', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offer_redemption_purchase_id'))
        batch_op.drop_index('ix_offer_redemption_offer_member')
        batch_op.drop_index(batch_op.f('ix_offer_redemption_member_id'))

    op.drop_table('offer_redemption')
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coupon_offer_id'))
        batch_op.drop_index(batch_op.f('ix_coupon_member_id'))

    op.drop_table('coupon')
