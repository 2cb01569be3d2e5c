"""The rules stamp: one row whose token changes, by trigger, whenever the points rules, a category rule, a
tier or an offer changes, so the counter can keep what it read until then.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

WATCHED = ('loyalty_rules', 'category_rule', 'tier', 'offer')


def upgrade() -> None:
    stamp = op.create_table('rules_stamp',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rules_stamp'))
    )
    op.bulk_insert(stamp, [{'id': 1, 'token': 0}])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE FUNCTION crmdesk_new_rules_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN UPDATE rules_stamp SET token = floor(random() * 9007199254740991)::bigint; RETURN NULL; END $$")
        for table in WATCHED:
            op.execute(f"CREATE TRIGGER {table}_new_rules_stamp AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION crmdesk_new_rules_stamp()")
        return
    for table in WATCHED:
        for event in ('INSERT', 'UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER {table}_{event.lower()}_new_rules_stamp AFTER {event} ON {table} "
                       "BEGIN UPDATE rules_stamp SET token = random(); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_new_rules_stamp ON {table}")
        op.execute("DROP FUNCTION crmdesk_new_rules_stamp()")
    else:
        for table in WATCHED:
            for event in ('insert', 'update', 'delete'):
                op.execute(f"DROP TRIGGER {table}_{event}_new_rules_stamp")
    op.drop_table('rules_stamp')
