"""Core schema: store, staff, members and cards, tiers, purchases, points, offers,
complaints and the audit log.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('role', sa.Enum('cashier', 'supervisor', 'owner', name='role', native_enum=False, length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('pin_hash', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff')),
    sa.UniqueConstraint('name', name=op.f('uq_staff_name'))
    )
    op.create_table('store_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_name', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('card_prefix', sa.String(length=4), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store_settings'))
    )
    op.create_table('tier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('min_spend_fen', sa.BigInteger(), nullable=False),
    sa.Column('points_multiplier_pct', sa.Integer(), nullable=False),
    sa.Column('discount_bp', sa.Integer(), nullable=False),
    sa.Column('colour', sa.String(length=9), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tier')),
    sa.UniqueConstraint('name', name=op.f('uq_tier_name')),
    sa.UniqueConstraint('rank', name=op.f('uq_tier_rank'))
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('staff_name', sa.String(length=60), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('entity_type', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_audit_event_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_event_entity', ['entity_type', 'entity_id'], unique=False)

    op.create_table('member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_no', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('gender', sa.Enum('female', 'male', 'unknown', name='gender', native_enum=False, length=16), nullable=False),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('tags', sa.String(length=300), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=False),
    sa.Column('marketing_consent', sa.Enum('none', 'sms', 'email', name='marketingconsent', native_enum=False, length=16), nullable=False),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('active', 'frozen', 'closed', name='memberstatus', native_enum=False, length=16), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.Column('tier_id', sa.Integer(), nullable=True),
    sa.Column('points_balance', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points_balance >= 0', name=op.f('ck_member_points_balance_not_negative')),
    sa.ForeignKeyConstraint(['tier_id'], ['tier.id'], name=op.f('fk_member_tier_id_tier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member')),
    sa.UniqueConstraint('member_no', name=op.f('uq_member_member_no'))
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_joined_on'), ['joined_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_tier_id'), ['tier_id'], unique=False)
        batch_op.create_index('uq_member_open_phone', ['phone'], unique=True, sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))

    op.create_table('offer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('kind', sa.Enum('percent_off', 'amount_off', 'gift', 'points_x', name='offerkind', native_enum=False, length=16), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('points_cost', sa.Integer(), nullable=False),
    sa.Column('min_tier_id', sa.Integer(), nullable=True),
    sa.Column('min_spend_fen', sa.BigInteger(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['min_tier_id'], ['tier.id'], name=op.f('fk_offer_min_tier_id_tier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer'))
    )
    op.create_table('card',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'replaced', 'lost', 'closed', name='cardstatus', native_enum=False, length=16), nullable=False),
    sa.Column('imported', sa.Boolean(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_card_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card')),
    sa.UniqueConstraint('number', name=op.f('uq_card_number'))
    )
    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_member_id'), ['member_id'], unique=False)
        batch_op.create_index('uq_card_active_member', ['member_id'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.create_table('purchase',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('till', sa.String(length=20), nullable=False),
    sa.Column('receipt_no', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.Enum('sale', 'refund', name='purchasekind', native_enum=False, length=16), nullable=False),
    sa.Column('refund_of_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('payment_method', sa.String(length=20), nullable=False),
    sa.Column('cashier_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'refund') = (refund_of_id IS NOT NULL)", name=op.f('ck_purchase_refund_has_original')),
    sa.CheckConstraint('amount_fen >= 0', name=op.f('ck_purchase_amount_not_negative')),
    sa.ForeignKeyConstraint(['cashier_id'], ['staff.id'], name=op.f('fk_purchase_cashier_id_staff')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_purchase_member_id_member')),
    sa.ForeignKeyConstraint(['refund_of_id'], ['purchase.id'], name=op.f('fk_purchase_refund_of_id_purchase')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase')),
    sa.UniqueConstraint('till', 'receipt_no', name=op.f('uq_purchase_till_receipt_no'))
    )
    with op.batch_alter_table('purchase', schema=None) as batch_op:
        batch_op.create_index('ix_purchase_member_at', ['member_id', 'occurred_at'], unique=False)

    op.create_table('complaint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('walk_in_name', sa.String(length=100), nullable=False),
    sa.Column('walk_in_phone', sa.String(length=20), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('new', 'assigned', 'in_progress', 'resolved', 'followed_up', 'closed', name='complaintstatus', native_enum=False, length=16), nullable=False),
    sa.Column('priority', sa.Enum('low', 'normal', 'high', 'urgent', name='priority', native_enum=False, length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('customer_request', sa.Text(), nullable=False),
    sa.Column('related_purchase_id', sa.Integer(), nullable=True),
    sa.Column('related_receipt', sa.String(length=60), nullable=False),
    sa.Column('owner_staff_id', sa.Integer(), nullable=True),
    sa.Column('department', sa.String(length=60), nullable=False),
    sa.Column('first_response_due', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_due', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff.id'], name=op.f('fk_complaint_created_by_id_staff')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_complaint_member_id_member')),
    sa.ForeignKeyConstraint(['owner_staff_id'], ['staff.id'], name=op.f('fk_complaint_owner_staff_id_staff')),
    sa.ForeignKeyConstraint(['related_purchase_id'], ['purchase.id'], name=op.f('fk_complaint_related_purchase_id_purchase')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint'))
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_status'), ['status'], unique=False)

    op.create_table('purchase_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchase_id', sa.Integer(), nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=60), nullable=False),
    sa.Column('quantity_milli', sa.Integer(), nullable=False),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchase.id'], name=op.f('fk_purchase_line_purchase_id_purchase')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_line'))
    )
    with op.batch_alter_table('purchase_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_line_purchase_id'), ['purchase_id'], unique=False)

    op.create_table('complaint_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('from_status', sa.Enum('new', 'assigned', 'in_progress', 'resolved', 'followed_up', 'closed', name='complaintstatus', native_enum=False, length=16), nullable=True),
    sa.Column('to_status', sa.Enum('new', 'assigned', 'in_progress', 'resolved', 'followed_up', 'closed', name='complaintstatus', native_enum=False, length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_complaint_event_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_complaint_event_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_event'))
    )
    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_event_complaint_id'), ['complaint_id'], unique=False)

    op.create_table('points_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('earn', 'redeem', 'refund', 'adjustment', 'expiry', 'goodwill', 'import', name='pointskind', native_enum=False, length=16), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('purchase_id', sa.Integer(), nullable=True),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_points_entry_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_points_entry_member_id_member')),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchase.id'], name=op.f('fk_points_entry_purchase_id_purchase')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_points_entry_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_entry'))
    )
    with op.batch_alter_table('points_entry', schema=None) as batch_op:
        batch_op.create_index('ix_points_entry_member_at', ['member_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_points_entry_purchase_id'), ['purchase_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('points_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_points_entry_purchase_id'))
        batch_op.drop_index('ix_points_entry_member_at')

    op.drop_table('points_entry')
    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_event_complaint_id'))

    op.drop_table('complaint_event')
    with op.batch_alter_table('purchase_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_line_purchase_id'))

    op.drop_table('purchase_line')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_status'))
        batch_op.drop_index(batch_op.f('ix_complaint_received_at'))
        batch_op.drop_index(batch_op.f('ix_complaint_member_id'))
        batch_op.drop_index(batch_op.f('ix_complaint_category'))

    op.drop_table('complaint')
    with op.batch_alter_table('purchase', schema=None) as batch_op:
        batch_op.drop_index('ix_purchase_member_at')

    op.drop_table('purchase')
    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.drop_index('uq_card_active_member', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.drop_index(batch_op.f('ix_card_member_id'))

    op.drop_table('card')
    op.drop_table('offer')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index('uq_member_open_phone', sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))
        batch_op.drop_index(batch_op.f('ix_member_tier_id'))
        batch_op.drop_index(batch_op.f('ix_member_status'))
        batch_op.drop_index(batch_op.f('ix_member_name'))
        batch_op.drop_index(batch_op.f('ix_member_joined_on'))

    op.drop_table('member')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_entity')
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))

    op.drop_table('audit_event')
    op.drop_table('tier')
    op.drop_table('store_settings')
    op.drop_table('staff')
