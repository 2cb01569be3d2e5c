"""Member search keys: full pinyin, pinyin initials and the last four phone digits.

The counter finds members by `zs` for 张三, `zhangsan`, or `5678` for a phone
ending in 5678. These keys are derived from name and phone, so existing rows
get them computed here.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from crmdesk.services.search_keys import name_search_keys, phone_last4

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch_op:
        batch_op.add_column(sa.Column("name_pinyin", sa.String(300), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("name_initials", sa.String(100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("phone_last4", sa.String(4), nullable=True))
        batch_op.create_index("ix_member_name_pinyin", ["name_pinyin"])
        batch_op.create_index("ix_member_name_initials", ["name_initials"])
        batch_op.create_index("ix_member_phone_last4", ["phone_last4"])

    member = sa.table(
        "member",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("phone", sa.String),
        sa.column("name_pinyin", sa.String),
        sa.column("name_initials", sa.String),
        sa.column("phone_last4", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(member.c.id, member.c.name, member.c.phone)).all()
    updates = []
    for row in rows:
        full, initials = name_search_keys(row.name)
        updates.append({"b_id": row.id, "pinyin": full, "initials": initials, "last4": phone_last4(row.phone)})
    if updates:
        bind.execute(
            member.update()
            .where(member.c.id == sa.bindparam("b_id"))
            .values(
                name_pinyin=sa.bindparam("pinyin"),
                name_initials=sa.bindparam("initials"),
                phone_last4=sa.bindparam("last4"),
            ),
            updates,
        )


def downgrade() -> None:
    with op.batch_alter_table("member") as batch_op:
        batch_op.drop_index("ix_member_phone_last4")
        batch_op.drop_index("ix_member_name_initials")
        batch_op.drop_index("ix_member_name_pinyin")
        batch_op.drop_column("phone_last4")
        batch_op.drop_column("name_initials")
        batch_op.drop_column("name_pinyin")
