"""Loyalty rules: points per yuan, redemption value, expiry, double-points days, category rules.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('category_rule',
    sa.Column('category', sa.String(length=60), nullable=False),
    sa.Column('multiplier_pct', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('category', name=op.f('pk_category_rule'))
    )
    op.create_table('loyalty_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('points_per_yuan', sa.Integer(), nullable=False),
    sa.Column('redeem_points_per_yuan', sa.Integer(), nullable=False),
    sa.Column('expiry_mode', sa.Enum('calendar', 'rolling', name='expirymode', native_enum=False, length=16), nullable=False),
    sa.Column('expiry_months', sa.Integer(), nullable=False),
    sa.Column('bonus_weekdays', sa.JSON(), nullable=False),
    sa.Column('bonus_dates', sa.JSON(), nullable=False),
    sa.Column('bonus_multiplier_pct', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loyalty_rules'))
    )


def downgrade() -> None:
    op.drop_table('loyalty_rules')
    op.drop_table('category_rule')
