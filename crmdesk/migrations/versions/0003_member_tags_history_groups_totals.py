"""Members: tags as rows, change history, smart groups, cached purchase totals, birth month,
and the serial counter for card numbers crmdesk issues.

Existing data is carried over: comma-separated tags become tag rows, totals are
computed from the purchases, the card counter continues after the highest
serial already issued.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_filter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff.id"], name=op.f("fk_saved_filter_created_by_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filter")),
        sa.UniqueConstraint("name", name=op.f("uq_saved_filter_name")),
    )
    op.create_table(
        "member_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("staff_name", sa.String(length=60), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=False),
        sa.Column("new_value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_member_change_member_id_member")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_member_change_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_change")),
    )
    op.create_index("ix_member_change_member_at", "member_change", ["member_id", "at"])
    op.create_table(
        "member_tag",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_member_tag_member_id_member")),
        sa.PrimaryKeyConstraint("member_id", "tag", name=op.f("pk_member_tag")),
    )
    op.create_index(op.f("ix_member_tag_tag"), "member_tag", ["tag"])

    bind = op.get_bind()
    tag_rows = []
    for member_id, tags in bind.execute(sa.text("SELECT id, tags FROM member WHERE tags <> ''")):
        for tag in dict.fromkeys(t.strip() for t in tags.replace("，", ",").split(",")):
            if tag:
                tag_rows.append({"member_id": member_id, "tag": tag[:40]})
    if tag_rows:
        bind.execute(sa.text("INSERT INTO member_tag (member_id, tag) VALUES (:member_id, :tag)"), tag_rows)

    with op.batch_alter_table("member") as batch_op:
        batch_op.add_column(sa.Column("birth_month", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("visit_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("total_spend_fen", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_visit_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(op.f("ix_member_birth_month"), ["birth_month"])
        batch_op.create_index(op.f("ix_member_birthday"), ["birthday"])
        batch_op.create_index(op.f("ix_member_visit_count"), ["visit_count"])
        batch_op.create_index(op.f("ix_member_last_visit_at"), ["last_visit_at"])
        batch_op.create_index(op.f("ix_member_phone"), ["phone"])
        batch_op.create_index(op.f("ix_member_points_balance"), ["points_balance"])
        batch_op.create_index(op.f("ix_member_total_spend_fen"), ["total_spend_fen"])
        batch_op.drop_column("tags")

    member = sa.table(
        "member",
        sa.column("id", sa.Integer),
        sa.column("birthday", sa.Date),
        sa.column("birth_month", sa.SmallInteger),
        sa.column("visit_count", sa.Integer),
        sa.column("total_spend_fen", sa.BigInteger),
        sa.column("last_visit_at", sa.DateTime(timezone=True)),
    )
    purchase = sa.table(
        "purchase",
        sa.column("member_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("amount_fen", sa.BigInteger),
        sa.column("occurred_at", sa.DateTime(timezone=True)),
    )
    months = [
        {"b_id": member_id, "month": birthday.month}
        for member_id, birthday in bind.execute(sa.select(member.c.id, member.c.birthday).where(member.c.birthday.is_not(None)))
    ]
    if months:
        bind.execute(member.update().where(member.c.id == sa.bindparam("b_id")).values(birth_month=sa.bindparam("month")), months)
    sales = purchase.c.kind == "sale"
    totals = (
        sa.select(
            purchase.c.member_id,
            sa.func.sum(sa.case((sales, 1), else_=0)).label("visits"),
            sa.func.sum(sa.case((sales, purchase.c.amount_fen), else_=-purchase.c.amount_fen)).label("spend"),
            sa.func.max(sa.case((sales, purchase.c.occurred_at))).label("last_visit"),
        ).group_by(purchase.c.member_id)
    )
    updates = [
        {"b_id": row.member_id, "visits": row.visits, "spend": row.spend, "last": row.last_visit}
        for row in bind.execute(totals)
    ]
    if updates:
        bind.execute(
            member.update()
            .where(member.c.id == sa.bindparam("b_id"))
            .values(visit_count=sa.bindparam("visits"), total_spend_fen=sa.bindparam("spend"), last_visit_at=sa.bindparam("last")),
            updates,
        )

    with op.batch_alter_table("store_settings") as batch_op:
        batch_op.add_column(sa.Column("next_card_serial", sa.BigInteger(), nullable=False, server_default="1"))
    # Continue after the highest serial among cards crmdesk issued (13 digits: prefix, serial, check digit).
    serials = [
        int(number[2:12])
        for (number,) in bind.execute(sa.text("SELECT number FROM card WHERE imported = :no"), {"no": False})
        if len(number) == 13 and number.isdigit()
    ]
    if serials:
        bind.execute(sa.text("UPDATE store_settings SET next_card_serial = :next"), {"next": max(serials) + 1})


def downgrade() -> None:
    with op.batch_alter_table("store_settings") as batch_op:
        batch_op.drop_column("next_card_serial")
    with op.batch_alter_table("member") as batch_op:
        batch_op.add_column(sa.Column("tags", sa.String(length=300), nullable=False, server_default=""))
        batch_op.drop_index(op.f("ix_member_total_spend_fen"))
        batch_op.drop_index(op.f("ix_member_points_balance"))
        batch_op.drop_index(op.f("ix_member_phone"))
        batch_op.drop_index(op.f("ix_member_last_visit_at"))
        batch_op.drop_index(op.f("ix_member_birth_month"))
        batch_op.drop_index(op.f("ix_member_birthday"))
        batch_op.drop_index(op.f("ix_member_visit_count"))
        batch_op.drop_column("last_visit_at")
        batch_op.drop_column("total_spend_fen")
        batch_op.drop_column("visit_count")
        batch_op.drop_column("birth_month")
    op.drop_index(op.f("ix_member_tag_tag"), table_name="member_tag")
    op.drop_table("member_tag")
    op.drop_index("ix_member_change_member_at", table_name="member_change")
    op.drop_table("member_change")
    op.drop_table("saved_filter")
