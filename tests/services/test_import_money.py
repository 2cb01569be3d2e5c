"""Opening balances (储值) and debts (赊账) brought over by the member import: read by the one money parser,
refused row by row like every other cell, written as OPENING entries with the cached balances, never doubled."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk import shop_time
from crmdesk.errors import InvalidInput
from crmdesk.models import (
    AuditEvent,
    CreditEntry,
    CreditKind,
    Member,
    MemberStatus,
    PointsEntry,
    WalletEntry,
    WalletKind,
)
from crmdesk.services import credit, import_engine, imports, members, money_settings, purchases, wallet
from crmdesk.services.imports import Action
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_imports import check, members_file, run_import, write_xlsx
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

TODAY = shop_time.today()
HEADER = ["卡号", "姓名", "手机", "积分", "余额", "赠送余额", "欠款", "欠款到期"]
ROWS = [
    ["A0001", "张三", "13812345678", "120", "300", "20", "", ""],
    ["A0002", "李四", "13912345678", "", "¥1,200.50", "", "88.8", "2020-01-31"],
    ["A0003", "王五", "15012345678", "", "", "", "45", ""],
    ["A0004", "赵六", "15112345678", "", "0", "0", "0", ""],
]
MONEY_TABLES = (Member, WalletEntry, CreditEntry, PointsEntry, AuditEvent)


def snapshot(db) -> dict[str, list[tuple[object, ...]]]:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return {model.__tablename__: [tuple(r) for r in session.execute(sa.select(model.__table__).order_by(*model.__table__.primary_key))]
                for model in MONEY_TABLES}


def balances(db) -> dict[str, tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    """Each member's cached stored value and debt, after checking them against their ledgers."""
    out = {}
    with read_session(db) as session:
        for member in session.scalars(sa.select(Member).order_by(Member.id)):
            cached = (member.wallet_principal_fen, member.wallet_bonus_fen, member.credit_owed_fen)
            summed = wallet.ledger_sums(session, member.id)
            assert cached == (summed.principal_fen, summed.bonus_fen, credit.ledger_sum(session, member.id)), member.name
            out[member.name] = cached
    return out


def member_id(db, name: str) -> int:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return session.scalar(sa.select(Member.id).where(Member.name == name))


def test_new_members_bring_their_stored_value_and_debts(db, owner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = members_file(tmp_path, ROWS, HEADER)
    plan = check(db, path)
    assert plan.counts == imports.Counts(new=4) and not plan.warnings
    assert plan.columns["wallet"] == "余额" and plan.columns["debt_due"] == "欠款到期"
    assert plan.money == imports.MoneyCounts(wallets=2, principal_fen=150_050, bonus_fen=2_000, debts=2, debt_fen=13_380)
    # The preview says what each new member brings, as it says what an update changes.
    changes = {row.name: [(c.column, c.new) for c in row.changes] for row in plan.rows}
    default_due = (TODAY + timedelta(days=30)).isoformat()
    assert changes == {
        "张三": [("余额", "¥300.00"), ("赠送余额", "¥20.00")],
        "李四": [("余额", "¥1,200.50"), ("欠款", "¥88.80"), ("欠款到期", "2020-01-31")],
        "王五": [("欠款", "¥45.00"), ("欠款到期", default_due)],
        "赵六": [],
    }
    result = run_import(db, owner, path)
    assert (result.new, result.points_posted, result.money) == (4, 120, plan.money)
    assert balances(db) == {"张三": (30_000, 2_000, 0), "李四": (120_050, 0, 8_880), "王五": (0, 0, 4_500), "赵六": (0, 0, 0)}
    with read_session(db) as session:
        entries = session.scalars(sa.select(WalletEntry).order_by(WalletEntry.id)).all()
        assert [(e.kind, e.principal_fen, e.bonus_fen, e.reason, e.staff_id) for e in entries] == [
            (WalletKind.OPENING, 30_000, 2_000, "import members.csv", owner.staff_id),
            (WalletKind.OPENING, 120_050, 0, "import members.csv", owner.staff_id)]
        debts = session.scalars(sa.select(CreditEntry).order_by(CreditEntry.id)).all()
        assert [(e.kind, e.amount_fen, e.due_on, e.reason) for e in debts] == [
            (CreditKind.OPENING, 8_880, date(2020, 1, 31), "import members.csv"),
            (CreditKind.OPENING, 4_500, TODAY + timedelta(days=30), "import members.csv")]
        # The credit service reads an opening debt as a charge: the one due in 2020 is overdue.
        li = credit.info(session, member_id(db, "李四"), today=TODAY)
        assert (li.owed_fen, li.overdue_fen, li.has_account) == (8_880, 8_880, False)
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "member.import")).one()
        assert (event.details["wallets"], event.details["wallet_principal_fen"], event.details["wallet_bonus_fen"],
                event.details["debts"], event.details["debt_fen"]) == (2, 150_050, 2_000, 2, 13_380)


def test_english_headers_and_excel_numbers(db, owner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_xlsx(tmp_path / "old.xlsx", [
        ["card_no", "name", "balance", "bonus", "owed", "debt_due"],
        ["B1", "Anna", 19.9, 0.1, 33.3, date(2027, 2, 1)],  # floats as Excel stores them
        ["B2", "Ben", 250, None, 10, None],
    ])
    run_import(db, owner, path)
    assert balances(db) == {"Anna": (1_990, 10, 3_330), "Ben": (25_000, 0, 1_000)}
    with read_session(db) as session:
        assert set(session.scalars(sa.select(CreditEntry.due_on))) == {date(2027, 2, 1), TODAY + timedelta(days=30)}


@pytest.mark.parametrize(("cell", "column", "words"), [
    (["abc", "", "", ""], "余额", "not an amount in yuan"),
    (["-5", "", "", ""], "余额", "cannot be negative, not '-5'"),
    (["12.345", "", "", ""], "余额", "more than two decimals"),
    (["12,5", "", "", ""], "余额", "ambiguous"),
    (["", "-1", "", ""], "赠送余额", "cannot be negative"),
    (["", "", "五十", ""], "欠款", "not an amount in yuan"),
    (["", "", "-20", ""], "欠款", "cannot be negative"),
    (["", "", "20", "明年"], "欠款到期", "is not a date"),
    (["5000.01", "", "", ""], "余额", "may not exceed ¥5,000.00 under the prepaid card rules; the file gives ¥5,000.01"),
    (["4900", "200", "", ""], "余额", "the file gives ¥5,100.00"),
    (["", "5001", "", ""], "赠送余额", "may not exceed ¥5,000.00"),
])
def test_bad_money_is_a_row_error_and_nothing_is_imported(db, owner, tmp_path: Path, cell, column, words) -> None:  # type: ignore[no-untyped-def]
    path = members_file(tmp_path, [ROWS[0], ["X1", "钱七", "", "", *cell]], HEADER)
    before = snapshot(db)
    plan = check(db, path)
    (bad,) = plan.invalid_rows
    assert bad.row == 3 and bad.errors[0].column == column and words in bad.errors[0].reason(), bad.errors[0].reason()
    assert plan.money == imports.MoneyCounts(wallets=1, principal_fen=30_000, bonus_fen=2_000)  # the valid rows only
    with pytest.raises(InvalidInput) as caught:
        run_import(db, owner, path)
    assert f"Row 3, column {column}" in caught.value.message and "Nothing was imported" in caught.value.message
    assert snapshot(db) == before
    # With --skip-invalid the other rows go in, money and all.
    result = run_import(db, owner, path, skip_invalid=True)
    assert (result.new, result.skipped) == (1, 1) and balances(db) == {"张三": (30_000, 2_000, 0)}


def test_the_cap_is_the_owners_setting(db, owner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = members_file(tmp_path, [["X1", "钱七", "", "", "8000", "", "", ""]], HEADER)
    with unit_of_work(db) as session:
        money_settings.save(session, owner, replace(money_settings.get(session), wallet_cap_fen=100_000))
    assert "may not exceed ¥1,000.00" in check(db, path).errors[0].reason()
    with unit_of_work(db) as session:
        money_settings.save(session, owner, replace(money_settings.get(session), prepaid_rules=False))
    run_import(db, owner, path)
    assert balances(db) == {"钱七": (800_000, 0, 0)}


def test_reimporting_changes_nothing_and_never_doubles(db, owner, cashier, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = members_file(tmp_path, ROWS, HEADER)
    run_import(db, owner, path)
    before = snapshot(db)
    plan = check(db, path)
    assert plan.counts == imports.Counts(unchanged=4) and not plan.money
    assert all(not row.changes and not row.warnings for row in plan.rows)
    result = run_import(db, owner, path)
    assert (result.unchanged, result.money) == (4, imports.MoneyCounts())
    assert snapshot(db) == before
    # Money moves in crmdesk; the old file then differs: reported, crmdesk's balance kept.
    zhang, li = member_id(db, "张三"), member_id(db, "李四")
    with unit_of_work(db) as session:
        purchases.record_purchase(session, cashier, zhang, receipt_no="R1", till="01", amount_fen=11_000, wallet_fen=11_000)
        credit.repay(session, cashier, li, 880)
    after_spending = snapshot(db)
    plan = check(db, path)
    assert plan.counts == imports.Counts(unchanged=4) and not plan.money
    warnings = {row.name: [(w.column, w.reason()) for w in row.warnings if w.column != "积分"] for row in plan.rows}
    assert warnings["张三"] == [("余额", "The file gives a stored value of ¥320.00, crmdesk has ¥210.00; crmdesk's is kept.")]
    assert warnings["李四"] == [("欠款", "The file gives a debt of ¥88.80, crmdesk has ¥80.00; crmdesk's is kept.")]
    run_import(db, owner, path)
    assert snapshot(db) == after_spending
    assert balances(db)["张三"][:2] == (30_000 - 10_313, 2_000 - 687)  # spent in proportion, never topped up again


def test_members_already_in_crmdesk_get_an_opening_balance_once(db, owner, cashier, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A member registered in crmdesk who never had stored value or a debt here gets the file's; one who has
    had any keeps crmdesk's."""
    with unit_of_work(db) as session:
        zhang = members.register(session, cashier, members.MemberInput(name="张三", phone="13812345678")).id
        li = members.register(session, cashier, members.MemberInput(name="李四", phone="13912345678")).id
        wang = members.register(session, cashier, members.MemberInput(name="王五", phone="15012345678")).id
        wallet.top_up(session, cashier, li, 10_000, payment_method="cash")
        wallet.cash_out(session, owner, li)  # had a wallet: empty now, but not new
    path = members_file(tmp_path, [row[:3] + ["", *row[4:]] for row in ROWS[:3]], HEADER)
    plan = check(db, path)
    rows = {row.name: row for row in plan.rows}
    assert [rows[n].action for n in ("张三", "李四", "王五")] == [Action.UPDATE, Action.UPDATE, Action.UPDATE]
    assert [(c.field, c.old, c.new) for c in rows["张三"].changes] == [("card", "", "A0001"), ("wallet", "", "¥300.00"),
                                                                      ("bonus", "", "¥20.00")]
    assert [c.field for c in rows["李四"].changes] == ["card", "debt", "debt_due"]  # the debt only
    assert [w.column for w in rows["李四"].warnings] == ["余额"]
    assert plan.money == imports.MoneyCounts(wallets=1, principal_fen=30_000, bonus_fen=2_000, debts=2, debt_fen=13_380)
    run_import(db, owner, path)
    assert balances(db) == {"张三": (30_000, 2_000, 0), "李四": (0, 0, 8_880), "王五": (0, 0, 4_500)}
    with read_session(db) as session:
        assert session.scalars(sa.select(WalletEntry.kind).where(WalletEntry.member_id == zhang)).all() == [WalletKind.OPENING]
        assert credit.info(session, wang).owed_fen == 4_500
    assert check(db, path).counts == imports.Counts(unchanged=3)


def test_closed_members_are_left_alone(db, owner, cashier, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        zhang = members.register(session, cashier, members.MemberInput(name="张三", phone="13812345678")).id
        session.execute(sa.update(Member).where(Member.id == zhang).values(status=MemberStatus.CLOSED))
    path = members_file(tmp_path, [["", "张三", "13812345678", "", "300", "", "10", ""]], HEADER)
    # A closed member keeps their phone, but a phone finds only open members: this is a new member.
    assert check(db, path).rows[0].action is Action.NEW
    with unit_of_work(db) as session:
        session.execute(sa.update(Member).where(Member.id == zhang).values(member_no="OLD-9"))
    path = members_file(tmp_path, [["OLD-9", "张三", "", "", "300", "", "10", ""]],
                        ["会员编号", "姓名", "手机", "积分", "余额", "赠送余额", "欠款", "欠款到期"])
    (row,) = check(db, path).rows
    assert (row.action, row.changes, row.opening) == (Action.UNCHANGED, (), imports.Opening())
    assert [w.column for w in row.warnings] == ["", "余额", "欠款"]


def test_a_principal_column_wins_over_a_total(db, owner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Some systems export the whole balance beside its principal and bonus: the principal is read."""
    path = members_file(tmp_path, [["A1", "张三", "320", "300", "20"]], ["卡号", "姓名", "储值余额", "本金余额", "赠送余额"])
    plan = check(db, path)
    assert plan.columns["wallet"] == "本金余额"
    assert [w.reason() for w in plan.warnings] == ["The column 储值余额 is not imported: the column 本金余额 already gives that."]
    run_import(db, owner, path)
    assert balances(db) == {"张三": (30_000, 2_000, 0)}


def test_money_header_names_belong_to_one_field_each() -> None:
    seen: dict[str, str] = {}
    for name, aliases in imports.ALIASES.items():
        for alias in aliases:
            key = import_engine.header_key(alias)
            assert seen.setdefault(key, name) == name, (alias, seen[key], name)
    for name in imports.MONEY_FIELDS:
        assert name in imports.FIELDS and name in imports.FIELD_LABELS


def test_a_wallet_opened_meanwhile_stops_the_import(db, owner, cashier, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The plan was made before another till topped the member up: the import refuses rather than add a second balance."""
    from crmdesk.errors import Conflict

    with unit_of_work(db) as session:
        zhang = members.register(session, cashier, members.MemberInput(name="张三", phone="13812345678")).id
    path = members_file(tmp_path, [["", "张三", "13812345678", "", "300", "", "", ""]], HEADER)
    plan = check(db, path)
    assert plan.rows[0].opening.principal_fen == 30_000
    with unit_of_work(db) as session:
        wallet.top_up(session, cashier, zhang, 10_000, payment_method="cash")
        with pytest.raises(Conflict, match="changed while the file was imported"):
            imports._update_existing(session, owner, plan.rows[0], "import members.csv")
    assert balances(db)["张三"] == (10_000, 0, 0)
    with unit_of_work(db) as session:  # checked again inside the import's own transaction, it is only a warning
        result = imports.apply_import(session, owner, plan)
    assert result.money == imports.MoneyCounts() and balances(db)["张三"] == (10_000, 0, 0)
