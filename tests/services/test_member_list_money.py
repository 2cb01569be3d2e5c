"""The member list's money: stored value and debt as columns, the "stored value at least", "owes money" and
"overdue" filters (saved in groups, described, exported), and the overdue filter's plan at store scale."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from crmdesk import shop_time
from crmdesk.bench.synthetic import build_store
from crmdesk.db import open_database, sqlite_url
from crmdesk.errors import InvalidInput
from crmdesk.models import Member, SavedFilter
from crmdesk.services import credit, exports, members, purchases, wallet
from crmdesk.services import member_query as mq
from crmdesk.services.member_query import MemberFilter
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

NOW = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)  # noon on the shop's clock
TODAY = date(2026, 12, 4)


@pytest.fixture
def shop(db, owner, cashier):  # type: ignore[no-untyped-def]
    """Five members: a wallet, an overdue debt, a debt not yet due, an overdue debt paid off, nobody special."""
    ids = {}
    with unit_of_work(db) as session:
        for name, phone in (("钱多多", "13800000001"), ("欠得久", "13800000002"), ("刚赊账", "13800000003"),
                            ("已还清", "13800000004"), ("普通人", "13800000005")):
            ids[name] = members.register(session, cashier, members.MemberInput(name=name, phone=phone)).id
        for name in ("欠得久", "刚赊账", "已还清"):
            credit.set_limit(session, owner, ids[name], 50_000, term_days=30)
    with unit_of_work(db) as session:
        wallet.top_up(session, cashier, ids["钱多多"], 30_000, payment_method="cash", now=NOW)
        # Bought 40 days ago: due 10 days ago. Bought 5 days ago: due in 25 days.
        for name, days, receipt in (("欠得久", 40, "C1"), ("刚赊账", 5, "C2"), ("已还清", 40, "C3")):
            at = NOW - timedelta(days=days)
            purchases.record_purchase(session, cashier, ids[name], receipt_no=receipt, till="01", amount_fen=12_000,
                                      occurred_at=at, now=at, credit_fen=12_000)
        purchases.record_purchase(session, cashier, ids["欠得久"], receipt_no="C4", till="01", amount_fen=8_000,
                                  occurred_at=NOW - timedelta(days=2), now=NOW, credit_fen=8_000)
    with unit_of_work(db) as session:
        credit.repay(session, cashier, ids["欠得久"], 5_000, now=NOW)  # part of the oldest: still overdue
        credit.repay(session, cashier, ids["已还清"], 12_000, now=NOW)
    return ids


def names(db, flt: MemberFilter, *, today: date = TODAY, sort: str = "member_no") -> list[str]:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        rows = mq.page(session, flt, sort, False, 0, 100, today=today)
        assert mq.count(session, flt, today=today) == len(rows)
    return [row.name for row in rows]


def test_rows_carry_the_stored_value_and_the_debt(db, shop) -> None:  # type: ignore[no-untyped-def]
    assert mq.COLUMNS[-7:-5] == ("wallet", "owed") and mq.SORT_KEYS["owed"] is Member.credit_owed_fen
    with read_session(db) as session:
        rows = {row.name: row for row in mq.page(session, MemberFilter(), "member_no", False, 0, 10)}
    assert (rows["钱多多"].wallet_fen, rows["钱多多"].owed_fen) == (30_000, 0)
    assert (rows["欠得久"].wallet_fen, rows["欠得久"].owed_fen) == (0, 15_000)
    assert [rows[n].owed_fen for n in ("刚赊账", "已还清", "普通人")] == [12_000, 0, 0]
    assert names(db, MemberFilter(), sort="owed")[-2:] == ["刚赊账", "欠得久"]


def test_the_money_filters(db, shop) -> None:  # type: ignore[no-untyped-def]
    assert names(db, MemberFilter(wallet_min_fen=30_000)) == ["钱多多"]  # at least: the amount itself counts
    assert names(db, MemberFilter(wallet_min_fen=30_001)) == []
    assert names(db, MemberFilter(wallet_min_fen=0)) == ["钱多多", "欠得久", "刚赊账", "已还清", "普通人"]
    assert names(db, MemberFilter(owes=True)) == ["欠得久", "刚赊账"]
    # Overdue: a charge past its due day with money left on it; paid off or not yet due is not overdue.
    assert names(db, MemberFilter(overdue=True)) == ["欠得久"]
    due = (NOW - timedelta(days=40)).date() + timedelta(days=30)
    assert names(db, MemberFilter(overdue=True), today=due) == []  # due today is not overdue yet
    assert names(db, MemberFilter(overdue=True), today=due + timedelta(days=1)) == ["欠得久"]
    assert names(db, MemberFilter(overdue=True), today=TODAY + timedelta(days=30)) == ["欠得久", "刚赊账"]
    assert names(db, MemberFilter(overdue=True, text="刚")) == []
    # Judged on the shop's day when none is given.
    with read_session(db) as session:
        assert mq.count(session, MemberFilter(overdue=True)) == len(names(db, MemberFilter(overdue=True), today=shop_time.today()))
        with pytest.raises(InvalidInput, match="cannot be negative"):
            mq.count(session, MemberFilter(wallet_min_fen=-1))


def test_the_overdue_filter_agrees_with_the_credit_service(db, shop) -> None:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        for day in (TODAY - timedelta(days=20), TODAY, TODAY + timedelta(days=26), TODAY + timedelta(days=60)):
            overdue = {row.member_id for row in credit.overdue_members(session, as_of=day)}
            listed = {row.id for row in mq.page(session, MemberFilter(overdue=True), "member_no", False, 0, 100, today=day)}
            assert listed == overdue, day


def test_groups_keep_the_money_criteria(db, owner, shop) -> None:  # type: ignore[no-untyped-def]
    flt = MemberFilter(wallet_min_fen=10_000, owes=True, overdue=True, tags=("老顾客",))
    assert flt.to_dict() == {"tags": ["老顾客"], "wallet_min_fen": 10_000, "owes": True, "overdue": True}
    assert "owes" not in MemberFilter().to_dict() and MemberFilter().is_empty
    with unit_of_work(db) as session:
        mq.save_filter(session, owner, "欠款且逾期", MemberFilter(owes=True, overdue=True))
    with read_session(db) as session:
        stored = session.scalar(sa.select(SavedFilter.criteria).where(SavedFilter.name == "欠款且逾期"))
        assert json.loads(json.dumps(stored)) == {"owes": True, "overdue": True}
        group = mq.get_filter(session, "欠款且逾期")
    assert group.filter == MemberFilter(owes=True, overdue=True)
    assert names(db, group.filter) == ["欠得久"]
    assert MemberFilter.from_dict(flt.to_dict()) == flt
    for bad in ({"owes": "yes"}, {"overdue": 1}, {"wallet_min_fen": "100"}, {"wallet_min_fen": True}):
        with pytest.raises(InvalidInput, match="unreadable"):
            MemberFilter.from_dict(bad)
    with pytest.raises(InvalidInput, match="cannot be negative"):
        MemberFilter.from_dict({"wallet_min_fen": -5})


def test_describe_names_the_money_criteria() -> None:
    described = MemberFilter(wallet_min_fen=20_000, owes=True, overdue=True).describe(
        translate=lambda context, text: f"[{context}:{text}]")
    assert described == [("Stored value at least", "¥200.00"), ("Owes money", "[filters:yes]"), ("Overdue", "[filters:yes]")]


def test_exports_carry_the_money_columns(db, owner, shop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    columns = ["name", "wallet", "owed"]
    with read_session(db) as session:
        exports.export_members(session, MemberFilter(), "member_no", False, tmp_path / "m.csv", columns, actor=owner)
        exports.export_members(session, MemberFilter(owes=True), "member_no", False, tmp_path / "m.xlsx", columns, actor=owner)
    with open(tmp_path / "m.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["Name", "Stored value", "Owed"]
    assert rows[1:3] == [["钱多多", "300.00", "0.00"], ["欠得久", "0.00", "150.00"]]
    sheet = openpyxl.load_workbook(tmp_path / "m.xlsx").active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[1:] == [["欠得久", 0, 150], ["刚赊账", 0, 120]]
    assert sheet.cell(2, 3).number_format == "#,##0.00"


def test_the_overdue_filter_looks_up_each_member_by_index(tmp_path: Path) -> None:
    """On a store where every member has a credit account, the EXISTS is answered from the member's own
    entries (ix_credit_entry_member_at) and each charge's settlements (ix_credit_settlement_charge_id);
    the candidates come from the debt's index. Nothing reads the credit tables from end to end."""
    path = tmp_path / "s.sqlite"
    build_store(path, members=3000, seed=5, credit_accounts=3000)
    database = open_database(sqlite_url(path))
    try:
        with read_session(database) as session:
            for flt in (MemberFilter(overdue=True), MemberFilter(overdue=True, text="王")):
                total = mq.count(session, flt)
                statements = [sa.select(sa.func.count()).select_from(Member).where(*mq.conditions(flt)),
                              mq._select(session, flt, "member_no", False, None, matches=total).limit(200)]
                for statement in statements:
                    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
                    plan = [row[-1] for row in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
                    assert any("credit_entry USING INDEX ix_credit_entry_member_at (member_id=?)" in p for p in plan), plan
                    assert any("credit_settlement USING INDEX ix_credit_settlement_charge_id (charge_id=?)" in p for p in plan), plan
                    assert not any(p.startswith("SCAN credit") for p in plan), plan
            plan = [row[-1] for row in session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + str(sa.select(sa.func.count()).select_from(Member).where(*mq.conditions(MemberFilter(
                    overdue=True))).compile(session.get_bind(), compile_kwargs={"literal_binds": True})))]
            assert "ix_member_credit_owed_fen" in plan[0]
            # And the answer is the credit service's.
            assert mq.count(session, MemberFilter(overdue=True)) == len(credit.overdue_members(session))
    finally:
        database.dispose()
