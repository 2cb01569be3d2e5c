"""Importing purchases from files: receipts and lines, refunds, every way a row can be wrong (nothing written),
idempotence, GBK and XLSX, and points, totals and tiers exactly as record_purchase / refund give them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.errors import InvalidInput, PermissionDenied
from crmdesk.models import (
    AuditEvent,
    Card,
    CardStatus,
    Member,
    MemberStatus,
    PointsEntry,
    Purchase,
    PurchaseLine,
)
from crmdesk.services import cards, loyalty, members, purchases, store
from crmdesk.services.imports import Action, ImportCancelled
from crmdesk.services.purchase_imports import (
    apply_purchase_import,
    plan_purchase_import,
    rejects_path,
    write_rejects,
)
from crmdesk.services.purchases import LineInput
from crmdesk.services.uow import Actor, read_session, unit_of_work
from tests.services.test_imports import write_csv, write_xlsx

CN = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=CN)  # a Wednesday
ZH = ["小票号", "收银台", "卡号", "手机", "时间", "金额"]
EN = ["receipt_no", "till", "card_no", "phone", "time", "amount"]
TABLES = (Purchase, PurchaseLine, PointsEntry, Member, AuditEvent)


# --------------------------------------------------------------------------- helpers (also used by the CLI tests)


def setup_members(db: Database, actor: Actor) -> dict[str, int]:
    """张三 (card A0001, 13812345678), 李四 (card A0002), 王五 closed, 赵六 with a lost card (new card A0005)."""
    ids = {}
    with unit_of_work(db) as session:
        for name, phone, card in (("张三", "13812345678", "A0001"), ("李四", "13912345678", "A0002"),
                                  ("王五", "13700000003", "A0003"), ("赵六", "13700000004", "A0004")):
            ids[name] = members.register(session, actor, members.MemberInput(name=name, phone=phone)).id
            cards.issue(session, actor, ids[name], card, imported=True)
        members.set_status(session, actor, ids["王五"], MemberStatus.CLOSED, reason="moved away")
        session.execute(sa.update(Card).where(Card.number == "A0004").values(status=CardStatus.LOST))
        cards.issue(session, actor, ids["赵六"], "A0005", imported=True)
    return ids


def purchases_file(path: Path, rows: Sequence[Sequence[object]], header: Sequence[str] = ZH, **options: str) -> Path:
    return write_csv(path, [header, *rows], **options)


def snapshot(db: Database) -> dict[str, list[tuple[object, ...]]]:
    with read_session(db) as session:
        return {model.__tablename__: [tuple(r) for r in session.execute(
            sa.select(model.__table__).order_by(*model.__table__.primary_key))] for model in TABLES}


def run_import(db: Database, actor: Actor, path: Path, **options: object):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        plan = plan_purchase_import(session, path, now=NOW)
        return apply_purchase_import(session, actor, plan, now=NOW, **options)  # type: ignore[arg-type]


def check(db: Database, path: Path):  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return plan_purchase_import(session, path, now=NOW)


def member_row(db: Database, member_id: int) -> tuple[object, ...]:
    with read_session(db) as session:
        m = session.get(Member, member_id)
        return (m.points_balance, m.visit_count, m.total_spend_fen, m.last_visit_at, m.tier_id)


@pytest.fixture
def ids(db: Database, owner: Actor) -> dict[str, int]:
    return setup_members(db, owner)


GOOD = [
    ["R1", "01", "A0001", "", "2026-11-17 09:30", "123.45"],
    ["R2", "01", "", "138 1234 5678", "2026/11/16 18:05:10", "88"],
    ["R1", "02", "A0002", "", "2026年11月15日 12:00", "10.50"],
]


# --------------------------------------------------------------------------- happy paths


def test_import_then_reimport_changes_nothing(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = purchases_file(tmp_path / "purchases.csv", GOOD)
    plan = check(db, path)
    assert (plan.counts.new, plan.counts.invalid, plan.encoding) == (3, 0, "UTF-8 with BOM")
    progress: list[tuple[int, int]] = []
    result = run_import(db, owner, path, progress=lambda done, total: progress.append((done, total)))
    assert (result.sales, result.refunds, result.unchanged, result.points_earned) == (3, 0, 0, 123 + 88 + 10)
    assert progress[0] == (0, 3) and progress[-1] == (3, 3)
    assert member_row(db, ids["张三"])[:3] == (211, 2, 21_145)
    assert member_row(db, ids["李四"])[:3] == (10, 1, 1_050)
    with read_session(db) as session:
        r1 = session.scalars(sa.select(Purchase).where(Purchase.till == "01", Purchase.receipt_no == "R1")).one()
        assert r1.occurred_at == datetime(2026, 11, 17, 9, 30, tzinfo=CN) and r1.cashier_id == owner.staff_id
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "purchase.import")) == 1
    before = snapshot(db)
    again = run_import(db, owner, path)
    assert (again.new, again.unchanged) == (0, 3)
    assert snapshot(db) == before  # idempotent: not even an audit event


def test_thousands_separators_are_read_as_such_also_full_width(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = [["K1", "01", "A0001", "", "2026-11-17 09:30", "1,234.5"], ["K2", "01", "A0002", "", "2026-11-17 09:31", "１，２３４．５０"]]
    assert [r.amount_fen for r in check(db, purchases_file(tmp_path / "k.csv", rows)).receipts] == [123_450, 123_450]


def test_a_plan_checked_earlier_is_checked_again_when_imported(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The dialog checks the file, the person reads the preview, a till posts R1 meanwhile: importing then says so."""
    path = purchases_file(tmp_path / "purchases.csv", GOOD)
    plan = check(db, path)
    assert plan.counts.new == 3
    with unit_of_work(db) as session:
        purchases.record_purchase(session, owner, ids["张三"], receipt_no="R1", till="01", amount_fen=999,
                                  occurred_at=NOW - timedelta(hours=1), now=NOW)
    before = snapshot(db)
    with unit_of_work(db) as session, pytest.raises(InvalidInput, match="already recorded with other details"):
        apply_purchase_import(session, owner, plan, now=NOW)
    assert snapshot(db) == before


def test_lines_make_one_receipt_and_must_add_up(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    header = [*ZH, "商品编码", "商品名称", "品类", "数量", "单价", "小计"]
    rows = [
        ["R9", "01", "A0001", "", "2026-11-17 09:30", "30.50", "6901", "排骨", "生鲜", "0.5", "40", ""],
        ["R9", "01", "", "", "", "", "6902", "牛奶", "乳制品", "2", "5.25", "10.50"],
        ["R10", "01", "A0002", "", "2026-11-17 09:31", "", "6903", "面包", "", "", "7.9", ""],  # amount from the line
    ]
    result = run_import(db, owner, purchases_file(tmp_path / "lines.csv", rows, header))
    assert result.sales == 2
    with read_session(db) as session:
        lines = session.execute(sa.select(PurchaseLine.name, PurchaseLine.quantity_milli, PurchaseLine.amount_fen)
                                .order_by(PurchaseLine.id)).all()
        assert lines == [("排骨", 500, 2_000), ("牛奶", 2_000, 1_050), ("面包", 1_000, 790)]
        assert session.scalar(sa.select(Purchase.amount_fen).where(Purchase.receipt_no == "R10")) == 790


def test_gbk_and_english_headers_and_xlsx(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    gbk = purchases_file(tmp_path / "gbk.csv", [["G1", "前台", "A0001", "", "2026-11-17 09:30", "12"]], encoding="gbk")
    plan = check(db, gbk)
    assert plan.encoding == "GBK/GB18030" and plan.receipts[0].till == "前台" and plan.counts.new == 1
    english = purchases_file(tmp_path / "en.csv", [["E1", "01", "", "13912345678", "2026-11-17T09:30:00+08:00", "5"]], EN,
                             encoding="utf-8")
    workbook = write_xlsx(tmp_path / "p.xlsx", [ZH, ["X1", "01", "A0002", None, datetime(2026, 11, 17, 9, 30), 19.9],
                                                ["X2", 1, "A0002", None, "2026-11-17 10:00", 20]])
    plan = check(db, workbook)
    assert plan.file_type == "xlsx" and [r.amount_fen for r in plan.receipts] == [1_990, 2_000]
    assert plan.receipts[1].till == "1"
    for path in (gbk, english, workbook):
        run_import(db, owner, path)
    assert member_row(db, ids["李四"])[:3] == (5 + 19 + 20, 3, 500 + 1_990 + 2_000)
    assert member_row(db, ids["张三"])[:2] == (12, 1)


def test_refunds_take_points_back_in_proportion(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    header = [*ZH, "类型", "原小票号"]
    rows = [["S1", "01", "A0001", "", "2026-11-17 09:30", "100", "消费", ""],
            ["T1", "01", "", "", "2026-11-17 10:30", "40", "退货", "S1"]]
    result = run_import(db, owner, purchases_file(tmp_path / "r.csv", rows, header))
    assert (result.sales, result.refunds, result.points_earned, result.points_reversed) == (1, 1, 100, 40)
    assert member_row(db, ids["张三"])[:3] == (60, 1, 6_000)
    # A second file refunds the rest of the sale now in crmdesk; more than that is refused.
    more = [["T2", "01", "", "", "2026-11-17 11:00", "60", "refund", "S1"]]
    run_import(db, owner, purchases_file(tmp_path / "r2.csv", more, header))
    assert member_row(db, ids["张三"])[:3] == (0, 1, 0)
    plan = check(db, purchases_file(tmp_path / "r3.csv", [["T3", "01", "", "", "2026-11-17 11:00", "1", "退货", "S1"]], header))
    assert "Only ¥0.00 of this ¥100.00 receipt can still be refunded." in plan.errors[0].reason()


def test_stored_receipts_and_refunds_are_found_through_indexes(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A shop's store has no planner statistics: every question a re-import and a refund ask about stored
    purchases must still go along an index, never read the whole purchase table (10 million rows in a big shop)."""
    header = [*ZH, "类型", "原小票号"]
    rows = [["S1", "01", "A0001", "", "2026-11-17 09:30", "100", "消费", ""],
            ["T1", "01", "", "", "2026-11-17 10:30", "40", "退货", "S1"]]
    file = purchases_file(tmp_path / "r.csv", rows, header)
    run_import(db, owner, file)
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not executemany and " purchase" in statement and statement.lstrip().startswith("SELECT"):
            captured.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        check(db, file)  # a re-import: every receipt is stored, the refund's sale and what was refunded of it read
        more = purchases_file(tmp_path / "r2.csv", [["T2", "01", "", "", "2026-11-17 11:00", "10", "退货", "S1"]], header)
        run_import(db, owner, more)
        with unit_of_work(db) as session:  # the counter's refund asks what was refunded of the sale too
            purchases.refund(session, owner, original_till="01", original_receipt="S1", refund_receipt="T3", amount_fen=500)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert captured
    with db.engine.connect() as conn:
        assert not conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'").all()
        for statement, parameters in captured:
            plan = [str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]  # type: ignore[arg-type]
            assert not any(step.startswith("SCAN purchase") for step in plan), (statement, plan)


# --------------------------------------------------------------------------- the same as record_purchase


def _other_db(tmp_path: Path) -> tuple[Database, Actor]:
    database = open_database(sqlite_url(tmp_path / "by_hand.sqlite"))
    with unit_of_work(database) as session:
        actor = store.initialise(session, owner_name="店长", owner_password="owner-secret-1")
    return database, actor


def test_points_totals_and_tiers_equal_record_purchase(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rules = loyalty.Rules(category_multipliers=(("烟酒", 0), ("生鲜", 200)), bonus_weekdays=(2,),
                          expiry_mode=loyalty.ExpiryMode.ROLLING)
    header = [*ZH, "类型", "原小票号", "品类", "小计"]
    # 张三 crosses ¥8,000 (gold, x1.5) with B2: B3 earns more; a refund in between; bonus Wednesday; categories.
    receipts = [
        ("B1", "01", "A0001", "2026-11-11 10:00", "5000.00", "sale", "", []),
        ("B2", "01", "A0001", "2026-11-12 10:00", "3500.55", "sale", "", [("生鲜", "1000.55"), ("烟酒", "2500")]),
        ("B1", "02", "A0002", "2026-11-12 11:00", "99.99", "sale", "", []),
        ("T1", "01", "", "2026-11-13 10:00", "1000", "refund", "B1", []),
        ("B3", "01", "A0001", "2026-11-18 09:00", "200.01", "sale", "", []),
        ("B4", "01", "A0005", "2026-11-17 09:00", "77.77", "sale", "", [("生鲜", "77.77")]),
        ("T2", "02", "13912345678", "2026-11-13 10:00", "99.99", "refund", "B1", []),
    ]
    rows = []
    for receipt, till, key, at, amount, kind, original, lines in receipts:
        card, phone = (key, "") if key.startswith("A") else ("", key)
        if not lines:
            rows.append([receipt, till, card, phone, at, amount, kind, original, "", ""])
        for category, line_amount in lines:
            rows.append([receipt, till, card, phone, at, amount, kind, original, category, line_amount])
    other, other_owner = _other_db(tmp_path)
    try:
        other_ids = setup_members(other, other_owner)
        for database, actor in ((db, owner), (other, other_owner)):
            with unit_of_work(database) as session:
                loyalty.set_rules(session, actor, rules)
        result = run_import(db, owner, purchases_file(tmp_path / "p.csv", rows, header))
        assert result.upgrades == 1
        fen = purchases.parse_yuan
        for receipt, till, key, at, amount, kind, original, lines in receipts:
            moment = datetime.fromisoformat(at).replace(tzinfo=CN)
            with unit_of_work(other) as session:
                if kind == "refund":
                    purchases.refund(session, other_owner, original_till=till, original_receipt=original, refund_receipt=receipt,
                                     amount_fen=fen(amount), occurred_at=moment, now=NOW)
                else:
                    member_id = other_ids["张三" if key == "A0001" else "李四" if key == "A0002" else "赵六"]
                    purchases.record_purchase(session, other_owner, member_id, receipt_no=receipt, till=till,
                                              amount_fen=fen(amount), occurred_at=moment, now=NOW,
                                              lines=[LineInput(category=c, amount_fen=fen(a)) for c, a in lines])
        for name in ("张三", "李四", "赵六"):
            assert member_row(db, ids[name]) == member_row(other, other_ids[name]), name

        def ledger(database: Database):  # type: ignore[no-untyped-def]
            with read_session(database) as session:
                return sorted(session.execute(
                    sa.select(Purchase.till, Purchase.receipt_no, PointsEntry.kind, PointsEntry.points, PointsEntry.at,
                              PointsEntry.expires_on, PointsEntry.reason)
                    .join(Purchase, Purchase.id == PointsEntry.purchase_id)).all())

        assert ledger(db) == ledger(other)
        assert len(ledger(db)) == 7
    finally:
        other.dispose()


# --------------------------------------------------------------------------- refused: nothing written


def assert_refused(db: Database, owner: Actor, path: Path, row: int, column: str, words: str) -> None:
    before = snapshot(db)
    plan = check(db, path)
    problems = [p for p in plan.errors if p.row == row]
    assert any(p.column == column and words in p.reason() for p in problems), [p.describe() for p in plan.errors]
    assert plan.counts.invalid >= 1
    with pytest.raises(InvalidInput) as caught:
        run_import(db, owner, path)
    assert "Nothing was imported" in caught.value.message
    assert snapshot(db) == before


BAD = [
    (["R1", "01", "A0001", "", "2026-11-17 09:30", "-12.00"], "金额", "more than ¥0.00"),
    (["R1", "01", "A0001", "", "2026-11-17 09:30", "0"], "金额", "more than ¥0.00"),
    (["R1", "01", "A0001", "", "2026-11-17 09:30", "12.345"], "金额", "more than two decimals"),
    (["R1", "01", "A0001", "", "2026-11-17 09:30", "250000"], "金额", "is not plausible"),
    (["R1", "01", "A0001", "", "2026-11-17 09:30", "十二元"], "金额", "is not an amount in yuan"),
    (["R1", "01", "A0001", "", "2026-11-17 09:30", "12,5"], "金额", "'12,5' is ambiguous"),
    (["R1", "01", "A0001", "", "2026-11-17 09:30", "1,23"], "金额", "'1,23' is ambiguous"),
    (["R1", "01", "A0001", "", "2026-11-17 09:30", "12,34.5"], "金额", "'12,34.5' is ambiguous"),
    (["R1", "01", "A9999", "", "2026-11-17 09:30", "12"], "卡号", "No member with the card"),
    (["R1", "01", "", "13600000000", "2026-11-17 09:30", "12"], "手机", "No member with the card"),
    (["R1", "01", "", "13700000003", "2026-11-17 09:30", "12"], "", "membership is closed"),
    (["R1", "01", "A0003", "", "2026-11-17 09:30", "12"], "卡号", "Card A0003 is closed"),
    (["R1", "01", "A0004", "", "2026-11-17 09:30", "12"], "卡号", "Card A0004 is lost"),
    (["R1", "01", "A0001", "13912345678", "2026-11-17 09:30", "12"], "手机", "belongs to 李四"),
    (["R1", "01", "", "", "2026-11-17 09:30", "12"], "", "Give the member's card number"),
    (["R1", "01", "A0001", "", "2026-11-18 10:30", "12"], "时间", "lies in the future"),
    (["R1", "01", "A0001", "", "2026-02-30 10:30", "12"], "时间", "not a real date"),
    (["R1", "01", "A0001", "", "yesterday", "12"], "时间", "is not a date and time"),
    (["R1", "01", "A0001", "", "1999-12-31 10:30", "12"], "时间", "before 2000"),
    (["", "01", "A0001", "", "2026-11-17 09:30", "12"], "小票号", "Enter the receipt number"),
]


@pytest.mark.parametrize(("row", "column", "words"), BAD, ids=[words for _r, _c, words in BAD])
def test_bad_rows_are_refused_and_nothing_is_written(db, owner, ids, tmp_path, row, column, words) -> None:  # type: ignore[no-untyped-def]
    path = purchases_file(tmp_path / "bad.csv", [GOOD[1], row])
    assert_refused(db, owner, path, 3, column, words)


LINE_HEADER = [*ZH, "商品名称", "数量", "单价", "小计"]
BAD_LINES = [
    ([["L1", "01", "A0001", "", "2026-11-17 09:30", "10", "米", "1", "5", "5"]], 2, "金额", "The lines add up to ¥5.00, the receipt says ¥10.00"),
    ([["L1", "01", "A0001", "", "2026-11-17 09:30", "10", "米", "-1", "10", "10"]], 2, "数量", "is not a quantity"),
    ([["L1", "01", "A0001", "", "2026-11-17 09:30", "10", "米", "1.2345", "10", ""]], 2, "数量", "is not a quantity"),
    ([["L1", "01", "A0001", "", "2026-11-17 09:30", "10", "米", "1", "-10", "10"]], 2, "单价", "cannot be negative"),
    ([["L1", "01", "A0001", "", "2026-11-17 09:30", "10", "米", "0.333", "10.01", ""]], 2, "小计", "not a whole number of fen"),
    ([["L1", "01", "A0001", "", "2026-11-17 09:30", "10", "米", "1", "10", "10"],
      ["L1", "01", "A0002", "", "", "", "面", "1", "0", "0"]], 3, "卡号", "differs from 'A0001' on row 2"),
    ([["L1", "01", "A0001", "", "2026-11-17 09:30", "10", "", "", "", ""],
      ["L1", "01", "A0001", "", "2026-11-17 09:30", "10", "", "", "", ""]], 3, "小票号", "is already on row 2"),
    ([["L1", "01", "A0001", "", "2026-11-17 09:30", "10", "米" * 201, "1", "10", "10"]], 2, "商品名称", "At most 200 characters"),
]


@pytest.mark.parametrize(("rows", "row", "column", "words"), BAD_LINES, ids=[w for *_x, w in BAD_LINES])
def test_malformed_item_lines_are_refused(db, owner, ids, tmp_path, rows, row, column, words) -> None:  # type: ignore[no-untyped-def]
    assert_refused(db, owner, purchases_file(tmp_path / "lines.csv", rows, LINE_HEADER), row, column, words)


def test_a_receipt_recorded_with_other_details_is_an_error(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run_import(db, owner, purchases_file(tmp_path / "first.csv", GOOD))
    changed = [["R1", "01", "A0001", "", "2026-11-17 09:30", "123.46"]]
    assert_refused(db, owner, purchases_file(tmp_path / "changed.csv", changed), 2, "小票号", "already recorded with other details")
    other_member = [["R1", "01", "A0002", "", "2026-11-17 09:30", "123.45"]]
    assert_refused(db, owner, purchases_file(tmp_path / "other.csv", other_member), 2, "小票号", "already recorded with other details")


def test_refund_errors(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    header = [*ZH, "类型", "原小票号"]
    cases = [
        ([["T1", "01", "", "", "2026-11-17 10:30", "40", "退货", "NOPE"]], 2, "原小票号", "No sale with receipt NOPE"),
        ([["T1", "01", "", "", "2026-11-17 10:30", "40", "退货", ""]], 2, "原小票号", "A refund names the receipt"),
        ([["S1", "01", "A0001", "", "2026-11-17 09:30", "30", "", ""],
          ["T1", "01", "", "", "2026-11-17 10:30", "40", "退货", "S1"]], 3, "金额", "Only ¥30.00"),
        ([["S1", "01", "A0001", "", "2026-11-17 09:30", "30", "", ""],
          ["T1", "01", "A0002", "", "2026-11-17 10:30", "10", "退货", "S1"]], 3, "", "is 张三"),
        ([["S1", "01", "A0001", "", "2026-11-17 09:30", "30", "换货", ""]], 2, "类型", "is not a kind of receipt"),
    ]
    for rows, row, column, words in cases:
        assert_refused(db, owner, purchases_file(tmp_path / "t.csv", rows, header), row, column, words)


def test_file_level_problems(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="The file has no column time/时间"):
        check(db, purchases_file(tmp_path / "x.csv", [["R1", "A0001", "12"]], ["小票号", "卡号", "金额"]))
    with pytest.raises(InvalidInput, match="card_no/卡号 | member_no/会员编号 | phone/手机"):
        check(db, purchases_file(tmp_path / "x.csv", [["R1", "2026-11-17", "12"]], ["小票号", "时间", "金额"]))
    bad = tmp_path / "bad.csv"
    bad.write_bytes("小票号,卡号,时间,金额\r\n".encode("gbk") + b"\xff\xfe\xfd")
    with pytest.raises(InvalidInput, match="neither UTF-8 nor GBK"):
        check(db, bad)


# --------------------------------------------------------------------------- skip, cancel, permission


def test_skip_invalid_imports_the_rest_and_rejects_whole_receipts(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    header = [*ZH, "商品名称", "小计"]
    rows = [["R1", "01", "A0001", "", "2026-11-17 09:30", "10", "米", "4"],
            ["R1", "01", "", "", "", "", "面", "5"],  # the lines add up to ¥9: the whole receipt is invalid
            ["R2", "01", "A0002", "", "2026-11-17 09:30", "8", "", ""]]
    path = purchases_file(tmp_path / "skip.csv", rows, header)
    with unit_of_work(db) as session:
        plan = plan_purchase_import(session, path, now=NOW)
        result = apply_purchase_import(session, owner, plan, skip_invalid=True, now=NOW)
        rejects = write_rejects(result.plan, path)
    assert (result.sales, result.skipped, result.skipped_rows) == (1, 1, 2)
    assert rejects == rejects_path(path) == tmp_path / "skip.rejected.csv"
    text = rejects.read_text(encoding="utf-8-sig")
    assert "行号" in text and "The lines add up to ¥9.00" in text and "Row 2 of the same receipt is invalid" in text
    assert member_row(db, ids["李四"])[:2] == (8, 1) and member_row(db, ids["张三"])[:2] == (0, 0)


def test_cancel_rolls_everything_back(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = purchases_file(tmp_path / "p.csv", GOOD)
    before = snapshot(db)
    calls = []
    with pytest.raises(ImportCancelled), unit_of_work(db) as session:
        plan = plan_purchase_import(session, path, now=NOW)
        apply_purchase_import(session, owner, plan, now=NOW, progress=lambda d, t: calls.append(d),
                              should_cancel=lambda: bool(calls and calls[-1] > 0))
    assert calls and snapshot(db) == before


def test_a_cashier_may_check_but_not_import(db, owner, cashier, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = purchases_file(tmp_path / "p.csv", GOOD)
    assert check(db, path).counts.new == 3
    before = snapshot(db)
    with pytest.raises(PermissionDenied, match="may not import purchases"):
        run_import(db, cashier, path)
    assert snapshot(db) == before


def test_plan_marks_actions(db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run_import(db, owner, purchases_file(tmp_path / "a.csv", GOOD[:1]))
    plan = check(db, purchases_file(tmp_path / "b.csv", [*GOOD, ["R5", "01", "A0009", "", "2026-11-17 09:30", "1"]]))
    assert [r.action for r in plan.receipts] == [Action.UNCHANGED, Action.NEW, Action.NEW, Action.INVALID]
    assert plan.receipts[0].member_name == "张三"


# --------------------------------------------------------------------------- the dialog, offscreen


def test_dialog_previews_and_imports_in_the_background(qtbot, db, owner, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.views.purchase_import_dialog import ImportPurchasesDialog
    from crmdesk.views.state import AppState

    path = purchases_file(tmp_path / "p.csv", [*GOOD, ["R5", "01", "A0009", "", "2026-11-17 09:30", "1"]])
    dialog = ImportPurchasesDialog(AppState(db, owner, "en"))
    qtbot.addWidget(dialog)
    dialog.load_file(path)
    qtbot.waitUntil(lambda: dialog.plan is not None and not dialog.busy, timeout=10_000)
    assert "4 receipts (4 rows): 3 new, 0 unchanged, 1 invalid" in dialog.counts_label.text()
    assert "keeps the tills" not in dialog.counts_label.text()
    assert dialog.table.item(0, 1).text() == "Invalid" and "No member" in dialog.table.item(0, 6).text()
    assert not dialog.import_button.isEnabled()
    dialog.skip_box.setChecked(True)
    assert dialog.import_button.isEnabled()
    dialog.start_import()
    qtbot.waitUntil(lambda: dialog.result is not None and not dialog.busy, timeout=10_000)
    assert "Imported: 3 sales, 0 refunds" in dialog.summary.text()
    assert (tmp_path / "p.rejected.csv").exists()
    assert member_row(db, ids["张三"])[:2] == (211, 2)


def test_a_file_that_would_keep_the_tills_waiting_says_so(qtbot, db, owner, ids, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.cli import main
    from crmdesk.services import purchase_imports
    from crmdesk.views.purchase_import_dialog import ImportPurchasesDialog
    from crmdesk.views.state import AppState

    monkeypatch.setattr(purchase_imports, "TILLS_WAIT_RECEIPTS", 2)  # as a file of more than 100,000 new receipts
    path = purchases_file(tmp_path / "p.csv", GOOD)
    dialog = ImportPurchasesDialog(AppState(db, owner, "en"))
    qtbot.addWidget(dialog)
    dialog.load_file(path)
    qtbot.waitUntil(lambda: dialog.plan is not None and not dialog.busy, timeout=10_000)
    assert "keeps the tills from selling while it is written" in dialog.counts_label.text()
    assert dialog.import_button.isEnabled()  # told, not stopped
    assert main(["--db", str(db.url.database), "import", "purchases", str(path), "--dry-run"]) == 0
    assert "import it when the shop is closed" in capsys.readouterr().err


def test_dialog_cancel_leaves_the_database_unchanged(qtbot, db, owner, ids, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.services import purchase_imports
    from crmdesk.views.purchase_import_dialog import ImportPurchasesDialog
    from crmdesk.views.state import AppState

    rows = [[f"C{i}", "01", "A0001", "", "2026-11-17 09:30", "1"] for i in range(6_000)]
    dialog = ImportPurchasesDialog(AppState(db, owner, "en"))
    qtbot.addWidget(dialog)
    dialog.load_file(purchases_file(tmp_path / "big.csv", rows))
    qtbot.waitUntil(lambda: dialog.plan is not None and not dialog.busy, timeout=20_000)
    before = snapshot(db)
    real_apply = purchase_imports.apply_purchase_import
    reported: list[int] = []

    def held(session, actor, plan, **options):  # type: ignore[no-untyped-def]
        report = options["progress"]

        def progress(done: int, total: int) -> None:
            report(done, total)
            reported.append(done)
            if done:  # the person presses Cancel after the first batch is written
                dialog.cancel()

        return real_apply(session, actor, plan, **{**options, "progress": progress})

    monkeypatch.setattr(ImportPurchasesDialog, "steps", dataclasses.replace(purchase_imports.STEPS, apply=held))
    dialog.start_import()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=20_000)
    assert reported[:2] == [0, 5_000]
    assert dialog.result is None and dialog.message.text() == "Cancelled; the database is as it was."
    assert snapshot(db) == before
    assert dialog.import_button.isEnabled()  # the plan still stands
