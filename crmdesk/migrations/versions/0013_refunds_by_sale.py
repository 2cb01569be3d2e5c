"""Refunds found by their sale: what was already refunded of a sale is asked at every refund and in every purchase
import that re-reads stored sales; without an index each question read the whole purchase table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

ONLY_REFUNDS = sa.text("refund_of_id IS NOT NULL")


def upgrade() -> None:
    op.create_index('ix_purchase_refund_of_id', 'purchase', ['refund_of_id'], sqlite_where=ONLY_REFUNDS,
                    postgresql_where=ONLY_REFUNDS)


def downgrade() -> None:
    op.drop_index('ix_purchase_refund_of_id', table_name='purchase')
