"""Live screens on PostgreSQL: every committed change to what the tills show is announced on the channel
'crmdesk_changes' (LISTEN/NOTIFY), as "table:ids" -- the members (or complaints) it touched, '*' for many or
for a change of the shop's rules. Statement-level triggers with transition tables: one notice per statement,
whatever its size, and only when the transaction commits. SQLite has no such channel (the app polls it).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

CHANNEL = 'crmdesk_changes'
MANY = 500  # more subjects than this in one statement: '*' (a screen reads everything again)
# Each watched table and the column naming what changed on it ('' : the shop's rules, no one in particular).
WATCHED = {
    'member': 'id', 'card': 'member_id', 'member_tag': 'member_id', 'purchase': 'member_id',
    'points_entry': 'member_id', 'wallet_entry': 'member_id', 'credit_account': 'member_id',
    'credit_entry': 'member_id', 'collection_note': 'member_id', 'coupon': 'member_id',
    'complaint': 'member_id', 'complaint_event': 'complaint_id', 'complaint_resolution': 'complaint_id',
    'complaint_follow_up': 'complaint_id', 'survey_response': 'member_id',
    'offer': '', 'tier': '', 'loyalty_rules': '', 'category_rule': '',
}
EVENTS = (('INSERT', 'NEW'), ('UPDATE', 'NEW'), ('DELETE', 'OLD'))


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(f"""
CREATE FUNCTION crmdesk_note_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched bigint;
    subjects text;
BEGIN
    IF TG_ARGV[0] = '' THEN
        PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME || ':*');
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT count(*), string_agg(DISTINCT %1$I::text, '','') FROM %2$I', TG_ARGV[0],
                   CASE WHEN TG_OP = 'DELETE' THEN 'old_rows' ELSE 'new_rows' END) INTO touched, subjects;
    IF touched = 0 THEN
        RETURN NULL;
    END IF;
    IF length(subjects) > {MANY * 8} OR array_length(string_to_array(subjects, ','), 1) > {MANY} THEN
        subjects := '*';
    END IF;
    PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME || ':' || coalesce(subjects, ''));
    RETURN NULL;
END $$""")
    for table, column in WATCHED.items():
        for event, side in EVENTS:
            referencing = f"REFERENCING {side} TABLE AS {side.lower()}_rows " if column else ""
            op.execute(f"CREATE TRIGGER {table}_note_{event.lower()} AFTER {event} ON {table} {referencing}"
                       f"FOR EACH STATEMENT EXECUTE FUNCTION crmdesk_note_change('{column}')")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in WATCHED:
        for event, _side in EVENTS:
            op.execute(f"DROP TRIGGER {table}_note_{event.lower()} ON {table}")
    op.execute("DROP FUNCTION crmdesk_note_change()")
