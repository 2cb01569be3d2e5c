"""Complaints to closure and counter surveys: editable lists, remedies, follow-ups, attachments, surveys.

New tables only; the complaint table itself is unchanged. The default channels,
categories (with their resolution days and default priority) and survey
dimensions are inserted here, with the same codes the demo store uses. Their
names are the English defaults, which the GUI translates (contexts "complaints"
and "surveys"); crmdesk/services/complaints.py and surveys.py list the same
defaults, and a test checks that the two agree.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

DEFAULT_CHANNELS = (
    ('counter', 'Counter'),
    ('phone', 'Phone'),
    ('box', 'Suggestion box'),
    ('online', 'Online message'),
    ('letter', 'Letter'),
)
# (code, name, resolution days, default priority)
DEFAULT_CATEGORIES = (
    ('quality', 'Product quality', 3, 'normal'),
    ('expired', 'Expired or spoiled goods', 1, 'high'),
    ('price', 'Price or checkout error', 1, 'normal'),
    ('attitude', 'Staff attitude', 3, 'normal'),
    ('waiting', 'Waiting time', 3, 'normal'),
    ('environment', 'Store environment', 3, 'normal'),
    ('returns', 'Returns and exchanges', 2, 'normal'),
    ('other', 'Other', 7, 'low'),
)
DEFAULT_DIMENSIONS = (
    ('attitude', 'Service attitude'),
    ('checkout', 'Checkout speed'),
    ('quality', 'Product quality'),
    ('price', 'Price'),
    ('environment', 'Store environment'),
)


def _lists(category: sa.Table, channel: sa.Table, dimension: sa.Table) -> None:
    op.bulk_insert(channel, [
        {'code': code, 'name': name, 'position': n, 'active': True} for n, (code, name) in enumerate(DEFAULT_CHANNELS)
    ])
    op.bulk_insert(category, [
        {'code': code, 'name': name, 'position': n, 'active': True, 'resolution_days': days, 'default_priority': priority}
        for n, (code, name, days, priority) in enumerate(DEFAULT_CATEGORIES)
    ])
    op.bulk_insert(dimension, [
        {'code': code, 'name': name, 'position': n, 'active': True} for n, (code, name) in enumerate(DEFAULT_DIMENSIONS)
    ])


def upgrade() -> None:
    category = op.create_table('complaint_category',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('resolution_days', sa.Integer(), nullable=False),
    sa.Column('default_priority', sa.Enum('low', 'normal', 'high', 'urgent', name='priority', native_enum=False, length=16), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_complaint_category'))
    )
    channel = op.create_table('complaint_channel',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_complaint_channel'))
    )
    op.create_table('complaint_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_response_hours', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_settings'))
    )
    dimension = op.create_table('survey_dimension',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_survey_dimension'))
    )
    op.create_table('survey_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('drop_alert_centi', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_settings'))
    )
    op.create_table('survey_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_survey_response_member_id_member')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_survey_response_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_response'))
    )
    with op.batch_alter_table('survey_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_response_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_response_taken_at'), ['taken_at'], unique=False)

    op.create_table('survey_score',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=40), nullable=False),
    sa.Column('score', sa.SmallInteger(), nullable=False),
    sa.CheckConstraint('score BETWEEN 1 AND 5', name=op.f('ck_survey_score_score_1_to_5')),
    sa.ForeignKeyConstraint(['dimension'], ['survey_dimension.code'], name=op.f('fk_survey_score_dimension_survey_dimension')),
    sa.ForeignKeyConstraint(['response_id'], ['survey_response.id'], name=op.f('fk_survey_score_response_id_survey_response')),
    sa.PrimaryKeyConstraint('response_id', 'dimension', name=op.f('pk_survey_score'))
    )
    op.create_table('complaint_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('mime_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_complaint_attachment_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_complaint_attachment_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_attachment'))
    )
    with op.batch_alter_table('complaint_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_attachment_complaint_id'), ['complaint_id'], unique=False)

    op.create_table('complaint_resolution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('remedies', sa.JSON(), nullable=False),
    sa.Column('refund_fen', sa.BigInteger(), nullable=False),
    sa.Column('goodwill_points', sa.Integer(), nullable=False),
    sa.Column('points_entry_id', sa.Integer(), nullable=True),
    sa.Column('coupon_id', sa.Integer(), nullable=True),
    sa.Column('customer_told', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_complaint_resolution_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupon.id'], name=op.f('fk_complaint_resolution_coupon_id_coupon')),
    sa.ForeignKeyConstraint(['points_entry_id'], ['points_entry.id'], name=op.f('fk_complaint_resolution_points_entry_id_points_entry')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_complaint_resolution_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_resolution'))
    )
    with op.batch_alter_table('complaint_resolution', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_resolution_complaint_id'), ['complaint_id'], unique=False)

    op.create_table('complaint_follow_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('resolution_id', sa.Integer(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('method', sa.Enum('phone', 'visit', 'sms', 'wechat', 'other', name='followupmethod', native_enum=False, length=16), nullable=False),
    sa.Column('satisfaction', sa.SmallInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('satisfaction BETWEEN 1 AND 5', name=op.f('ck_complaint_follow_up_satisfaction_1_to_5')),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_complaint_follow_up_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['resolution_id'], ['complaint_resolution.id'], name=op.f('fk_complaint_follow_up_resolution_id_complaint_resolution')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_complaint_follow_up_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_follow_up'))
    )
    with op.batch_alter_table('complaint_follow_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_follow_up_complaint_id'), ['complaint_id'], unique=False)

    _lists(category, channel, dimension)


def downgrade() -> None:
    with op.batch_alter_table('complaint_follow_up', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_follow_up_complaint_id'))

    op.drop_table('complaint_follow_up')
    with op.batch_alter_table('complaint_resolution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_resolution_complaint_id'))

    op.drop_table('complaint_resolution')
    with op.batch_alter_table('complaint_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_attachment_complaint_id'))

    op.drop_table('complaint_attachment')
    op.drop_table('survey_score')
    with op.batch_alter_table('survey_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_response_taken_at'))
        batch_op.drop_index(batch_op.f('ix_survey_response_member_id'))

    op.drop_table('survey_response')
    op.drop_table('survey_settings')
    op.drop_table('survey_dimension')
    op.drop_table('complaint_settings')
    op.drop_table('complaint_channel')
    op.drop_table('complaint_category')
