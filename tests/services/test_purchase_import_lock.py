"""An import must not stop the tills: the file is read, checked, matched and its points worked out before the
write lock is taken; at the write the plan is checked to still hold. What a till did meanwhile is taken into
account exactly -- a sale to a member of the file, a card reported lost, a receipt of the file recorded by hand,
a member frozen -- and the books agree afterwards (tests/conftest.py checks every ledger against its cache)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from crmdesk.errors import InvalidInput
from crmdesk.models import Card, CardStatus, Member, MemberStatus, PointsEntry, Purchase, Tier
from crmdesk.services import loyalty, members, purchases
from crmdesk.services.imports import Action
from crmdesk.services.purchase_imports import apply_purchase_import, plan_purchase_import
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures
from tests.services.test_purchase_imports import NOW, ids, member_row, purchases_file  # noqa: F401 - fixture

ROWS = [
    ["R1", "01", "A0001", "", "2026-11-17 09:30", "100"],
    ["R2", "01", "A0002", "", "2026-11-17 09:40", "50"],
    ["R3", "01", "A0001", "", "2026-11-17 10:30", "20"],
]


def plan_outside(db, path):  # type: ignore[no-untyped-def]
    with read_session(db) as session:  # as the screens, the command line and the hand-off folder check a file
        return plan_purchase_import(session, path, now=NOW)


def apply(db, actor, plan, **options):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return apply_purchase_import(session, actor, plan, now=NOW, **options)


def till_sale(db, actor, member_id, receipt, amount_fen):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return purchases.record_purchase(session, actor, member_id, receipt_no=receipt, till="09", amount_fen=amount_fen,
                                         occurred_at=NOW - timedelta(hours=20), now=NOW)


def test_a_till_records_a_sale_while_the_file_is_checked(db, owner, cashier, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Checking reads only: a sale at a till in the middle of it goes through (were the write lock held by the
    check, in this same thread, the sale would wait out the busy timeout and fail)."""
    path = purchases_file(tmp_path / "p.csv", ROWS)
    sold = []

    def sell_meanwhile(done: int, total: int) -> None:
        if not sold:
            sold.append(till_sale(db, cashier, ids["李四"], "T1", 1_000))

    with read_session(db) as session:
        plan = plan_purchase_import(session, path, now=NOW, progress=sell_meanwhile)
    assert sold and sold[0].points == 10
    assert apply(db, owner, plan).new == 3


def test_a_sale_to_a_member_of_the_file_meanwhile_is_counted_before_the_files(db, owner, cashier, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = purchases_file(tmp_path / "p.csv", ROWS)
    # 张三 spends ¥2,000 at a till before the import is written and is lifted into a tier that earns double;
    # the import then builds on the balance and tier the sale left.
    with unit_of_work(db) as session:
        session.execute(sa.update(Tier).where(Tier.rank == 1).values(min_spend_fen=150_000, points_multiplier_pct=200))
    plan = plan_outside(db, path)  # the rules changed: a fresh plan (a stale one is matched again, see below)
    till_sale(db, cashier, ids["张三"], "T1", 200_000)
    result = apply(db, owner, plan)
    assert (result.new, result.points_earned) == (3, 200 + 50 + 40)  # 张三's receipts earn double in the tier the sale gave
    balance, visits, spend, _last, tier = member_row(db, ids["张三"])
    assert (balance, visits, spend) == (2_000 + 200 + 40, 3, 200_000 + 12_000)


def test_points_given_and_spent_meanwhile_by_members_of_the_file_are_kept(db, owner, cashier, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Not purchases, so only the members' rows tell: the import builds on the balances an adjustment and a
    redemption left instead of writing back the ones it planned with."""
    path = purchases_file(tmp_path / "p.csv", ROWS)
    with unit_of_work(db) as session:
        loyalty.adjust(session, owner, ids["李四"], 800, reason="opening", now=NOW)
    plan = plan_outside(db, path)
    with unit_of_work(db) as session:
        assert loyalty.adjust(session, owner, ids["张三"], 1_000, reason="goodwill", now=NOW) == 1_000
        assert loyalty.redeem(session, cashier, ids["李四"], 300, now=NOW) == 500
    result = apply(db, owner, plan)
    assert (result.new, result.points_earned) == (3, 100 + 50 + 20)
    assert member_row(db, ids["张三"])[0] == 1_000 + 100 + 20
    assert member_row(db, ids["李四"])[0] == 500 + 50


def test_rules_changed_meanwhile_the_file_is_matched_again(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = purchases_file(tmp_path / "p.csv", ROWS)
    plan = plan_outside(db, path)
    with unit_of_work(db) as session:
        session.execute(sa.update(Tier).values(points_multiplier_pct=300))
    assert apply(db, owner, plan).points_earned == 3 * 170


def test_a_card_reported_lost_meanwhile_makes_its_receipts_invalid(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = purchases_file(tmp_path / "p.csv", ROWS)
    plan = plan_outside(db, path)
    with unit_of_work(db) as session:
        session.execute(sa.update(Card).where(Card.number == "A0002").values(status=CardStatus.LOST))
    try:
        apply(db, owner, plan)
    except InvalidInput as refusal:
        assert "Card A0002 is lost" in str(refusal)
    else:
        raise AssertionError("the import went ahead with a lost card")
    result = apply(db, owner, plan, skip_invalid=True)
    assert (result.new, result.skipped) == (2, 1)
    assert [r.action for r in result.plan.receipts] == [Action.NEW, Action.INVALID, Action.NEW]


def test_a_receipt_of_the_file_recorded_meanwhile_is_left_unchanged(db, owner, cashier, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = purchases_file(tmp_path / "p.csv", ROWS)
    plan = plan_outside(db, path)
    with unit_of_work(db) as session:  # the same receipt, typed in by hand at till 01
        purchases.record_purchase(session, cashier, ids["李四"], receipt_no="R2", till="01", amount_fen=5_000,
                                  occurred_at=NOW - timedelta(days=1), now=NOW)
    result = apply(db, owner, plan)
    assert (result.new, result.unchanged) == (2, 1)
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Purchase).where(Purchase.receipt_no == "R2")) == 1


def test_a_member_frozen_meanwhile_has_their_receipts_refused(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = purchases_file(tmp_path / "p.csv", ROWS)
    plan = plan_outside(db, path)
    with unit_of_work(db) as session:
        members.set_status(session, owner, ids["张三"], MemberStatus.FROZEN, reason="card dispute")
    result = apply(db, owner, plan, skip_invalid=True)
    assert (result.new, result.skipped) == (1, 2)
    with read_session(db) as session:
        assert session.scalar(sa.select(Member.visit_count).where(Member.id == ids["张三"])) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(PointsEntry).where(PointsEntry.member_id == ids["张三"])) == 0


def test_imported_rows_are_stored_exactly_as_recorded_ones(db, owner, cashier, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The import hands its rows to the driver itself: times, kinds and dates must be stored in the very form the
    program's own writes use, or ranges, sorting and comparisons on them would go wrong."""
    till_sale(db, cashier, ids["李四"], "T1", 1_000)
    apply(db, owner, plan_outside(db, purchases_file(tmp_path / "p.csv", ROWS)))
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT p.receipt_no, p.kind, typeof(p.occurred_at), length(p.occurred_at), p.created_at LIKE '____-__-__ __:__:__%', "
            "e.kind, typeof(e.at), length(e.at), e.expires_on, m.last_visit_at LIKE '____-__-__ __:__:__%' "
            "FROM purchase p JOIN points_entry e ON e.purchase_id = p.id JOIN member m ON m.id = p.member_id "
            "ORDER BY p.id").all()
    recorded, *imported = rows
    assert [row[1:] for row in imported] == [recorded[1:]] * 3
