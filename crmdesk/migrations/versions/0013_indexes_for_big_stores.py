"""Indexes for questions asked on big stores, which (having no planner statistics) otherwise read whole tables:
what was already refunded of a sale (every refund, every purchase import that re-reads stored sales), the goodwill
points given for a complaint, and whether a new member shares name and birthday with an open one (registration and
the member import) -- without reading every namesake. And what a request already done made (the complaint a
retried "log complaint" logged), so the till can be told again.

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


def _only(column: str) -> dict[str, object]:
    where = sa.text(f"{column} IS NOT NULL")
    return {"sqlite_where": where, "postgresql_where": where}


def upgrade() -> None:
    op.create_index('ix_purchase_refund_of_id', 'purchase', ['refund_of_id'], **_only('refund_of_id'))
    op.create_index('ix_points_entry_complaint_id', 'points_entry', ['complaint_id'], **_only('complaint_id'))
    op.create_index('ix_member_name_birthday', 'member', ['name', 'birthday'])
    op.add_column('done_request', sa.Column('made_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('done_request') as batch_op:
        batch_op.drop_column('made_id')
    op.drop_index('ix_member_name_birthday', table_name='member')
    op.drop_index('ix_points_entry_complaint_id', table_name='points_entry')
    op.drop_index('ix_purchase_refund_of_id', table_name='purchase')
