"""Stored value (储值) and credit (赊账): wallet and credit ledgers, bonus rules, credit accounts,
settlements, collection notes, the owner's money settings; cached balances on the member and the
wallet and credit parts of a purchase.

New columns of existing rows start at 0 (no member has money with the shop yet). The settings row
is inserted with the defaults of China's prepaid card rules (a named card holds at most ¥5,000).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    settings = op.create_table('money_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prepaid_rules', sa.Boolean(), nullable=False),
    sa.Column('wallet_cap_fen', sa.BigInteger(), nullable=False),
    sa.Column('draw_order', sa.Enum('proportional', 'principal_first', 'bonus_first', name='draworder', native_enum=False, length=20), nullable=False),
    sa.Column('pin_above_fen', sa.BigInteger(), nullable=False),
    sa.Column('credit_freeze_after_days', sa.Integer(), nullable=False),
    sa.Column('credit_max_limit_fen', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_money_settings'))
    )
    op.bulk_insert(settings, [{
        'id': 1, 'prepaid_rules': True, 'wallet_cap_fen': 500_000, 'draw_order': 'proportional', 'pin_above_fen': 0,
        'credit_freeze_after_days': 0, 'credit_max_limit_fen': 200_000, 'updated_at': datetime.now(timezone.utc),
    }])
    op.create_table('wallet_bonus_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('min_topup_fen', sa.BigInteger(), nullable=False),
    sa.Column('bonus_fen', sa.BigInteger(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('tier_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tier_id'], ['tier.id'], name=op.f('fk_wallet_bonus_rule_tier_id_tier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_bonus_rule'))
    )
    op.create_table('collection_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('promised_on', sa.Date(), nullable=True),
    sa.Column('promised_fen', sa.BigInteger(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_collection_note_member_id_member')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_collection_note_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_note'))
    )
    with op.batch_alter_table('collection_note', schema=None) as batch_op:
        batch_op.create_index('ix_collection_note_member_at', ['member_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_collection_note_promised_on'), ['promised_on'], unique=False)

    op.create_table('credit_account',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('limit_fen', sa.BigInteger(), nullable=False),
    sa.Column('term_days', sa.Integer(), nullable=False),
    sa.Column('frozen', sa.Boolean(), nullable=False),
    sa.Column('frozen_reason', sa.String(length=200), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['granted_by_id'], ['staff.id'], name=op.f('fk_credit_account_granted_by_id_staff')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_credit_account_member_id_member')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_credit_account'))
    )
    op.create_table('credit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('charge', 'repayment', 'refund', 'write_off', 'opening', name='creditkind', native_enum=False, length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('purchase_id', sa.Integer(), nullable=True),
    sa.Column('payment_method', sa.String(length=20), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.CheckConstraint('amount_fen <> 0', name=op.f('ck_credit_entry_moves_money')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['staff.id'], name=op.f('fk_credit_entry_approved_by_id_staff')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_credit_entry_member_id_member')),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchase.id'], name=op.f('fk_credit_entry_purchase_id_purchase')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_credit_entry_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_entry'))
    )
    with op.batch_alter_table('credit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_entry_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_entry_due_on'), ['due_on'], unique=False)
        batch_op.create_index('ix_credit_entry_member_at', ['member_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_entry_purchase_id'), ['purchase_id'], unique=False)

    op.create_table('wallet_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('topup', 'payment', 'refund', 'cashout', 'adjustment', 'opening', name='walletkind', native_enum=False, length=16), nullable=False),
    sa.Column('principal_fen', sa.BigInteger(), nullable=False),
    sa.Column('bonus_fen', sa.BigInteger(), nullable=False),
    sa.Column('purchase_id', sa.Integer(), nullable=True),
    sa.Column('bonus_rule_id', sa.Integer(), nullable=True),
    sa.Column('payment_method', sa.String(length=20), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.CheckConstraint('principal_fen <> 0 OR bonus_fen <> 0', name=op.f('ck_wallet_entry_moves_money')),
    sa.ForeignKeyConstraint(['bonus_rule_id'], ['wallet_bonus_rule.id'], name=op.f('fk_wallet_entry_bonus_rule_id_wallet_bonus_rule')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_wallet_entry_member_id_member')),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchase.id'], name=op.f('fk_wallet_entry_purchase_id_purchase')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_wallet_entry_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_entry'))
    )
    with op.batch_alter_table('wallet_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_entry_at'), ['at'], unique=False)
        batch_op.create_index('ix_wallet_entry_member_at', ['member_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_wallet_entry_purchase_id'), ['purchase_id'], unique=False)

    op.create_table('credit_settlement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('charge_id', sa.Integer(), nullable=False),
    sa.Column('settled_by_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['charge_id'], ['credit_entry.id'], name=op.f('fk_credit_settlement_charge_id_credit_entry')),
    sa.ForeignKeyConstraint(['settled_by_id'], ['credit_entry.id'], name=op.f('fk_credit_settlement_settled_by_id_credit_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_settlement'))
    )
    with op.batch_alter_table('credit_settlement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_settlement_charge_id'), ['charge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_settlement_settled_by_id'), ['settled_by_id'], unique=False)

    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wallet_principal_fen', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('wallet_bonus_fen', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('credit_owed_fen', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('pay_pin_hash', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('pay_pin_failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('pay_pin_locked_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_member_credit_owed_fen'), ['credit_owed_fen'], unique=False)
        batch_op.create_check_constraint('wallet_not_negative', 'wallet_principal_fen >= 0 AND wallet_bonus_fen >= 0')
        batch_op.create_check_constraint('credit_owed_not_negative', 'credit_owed_fen >= 0')

    with op.batch_alter_table('purchase', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wallet_fen', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('credit_fen', sa.BigInteger(), nullable=False, server_default='0'))



def downgrade() -> None:
    with op.batch_alter_table('purchase', schema=None) as batch_op:
        batch_op.drop_column('credit_fen')
        batch_op.drop_column('wallet_fen')

    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_member_credit_owed_not_negative'), type_='check')
        batch_op.drop_constraint(op.f('ck_member_wallet_not_negative'), type_='check')
        batch_op.drop_index(batch_op.f('ix_member_credit_owed_fen'))
        batch_op.drop_column('pay_pin_locked_until')
        batch_op.drop_column('pay_pin_failures')
        batch_op.drop_column('pay_pin_hash')
        batch_op.drop_column('credit_owed_fen')
        batch_op.drop_column('wallet_bonus_fen')
        batch_op.drop_column('wallet_principal_fen')

    with op.batch_alter_table('credit_settlement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_settlement_settled_by_id'))
        batch_op.drop_index(batch_op.f('ix_credit_settlement_charge_id'))

    op.drop_table('credit_settlement')
    with op.batch_alter_table('wallet_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_entry_purchase_id'))
        batch_op.drop_index('ix_wallet_entry_member_at')
        batch_op.drop_index(batch_op.f('ix_wallet_entry_at'))

    op.drop_table('wallet_entry')
    with op.batch_alter_table('credit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_entry_purchase_id'))
        batch_op.drop_index('ix_credit_entry_member_at')
        batch_op.drop_index(batch_op.f('ix_credit_entry_due_on'))
        batch_op.drop_index(batch_op.f('ix_credit_entry_at'))

    op.drop_table('credit_entry')
    op.drop_table('credit_account')
    with op.batch_alter_table('collection_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collection_note_promised_on'))
        batch_op.drop_index('ix_collection_note_member_at')

    op.drop_table('collection_note')
    op.drop_table('wallet_bonus_rule')
    op.drop_table('money_settings')
