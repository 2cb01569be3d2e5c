"""Credit (赊账) from the command line: limits and who grants them, buying on credit (whole or split, a supervisor's
approval beyond the limit), repayments oldest first, the account as of a day, aging, the overdue list with the
collection log and broken promises, freezing, write-offs and the daily check; bad input and missing rights leave the
database exactly as it was. Days are the shop's: every date here is counted from the shop's today."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk import shop_time
from crmdesk.models import Member, Staff
from crmdesk.services import credit, members
from crmdesk.services.uow import read_session, unit_of_work
from tests.cli.test_cli import dump, run
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

PHONE = "13812345678"
TODAY = shop_time.today()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


@pytest.fixture
def store(capsys, db, owner, cashier, supervisor, db_path: Path) -> str:  # type: ignore[no-untyped-def]
    """张三 with a ¥300 limit over 30 days: ¥100 bought on credit 70 days ago (40 days overdue) and ¥50 ten days ago
    (due in 20 days)."""
    with unit_of_work(db) as session:
        member_id = members.register(session, owner, members.MemberInput(name="张三", phone=PHONE)).id
        session.execute(sa.text("UPDATE member SET joined_on = :day WHERE id = :id"), {"day": day(-400), "id": member_id})
        credit.set_limit(session, supervisor, member_id, 30_000, term_days=30)
    db.dispose()
    path = str(db_path)
    for receipt, amount, offset in (("C1", "100", -70), ("C2", "50", -10)):
        code, _, err = run(capsys, "--db", path, "purchase", "add", "--member", PHONE, "--amount", amount, "--payment", "赊账",
                                  "--receipt", receipt, "--till", "01", "--time", f"{day(offset)}T10:00")
        assert code == 0, err
    return path


def owed(db) -> int:  # type: ignore[no-untyped-def]
    """张三's cached debt, after checking it against the ledger."""
    with read_session(db) as session:
        member_id = session.scalar(sa.select(Member.id).where(Member.phone == "+86" + PHONE))
        cached, summed = credit.info(session, member_id).owed_fen, credit.ledger_sum(session, member_id)
    db.dispose()
    assert cached == summed
    return cached


def test_the_account_as_of_a_day_with_its_charges_and_what_is_left_on_each(capsys, store: str, db) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "--db", store, "credit", "show", PHONE, "--json")
    assert code == 0, err
    document = json.loads(out)
    assert (document["as_of"], document["owed"]["fen"], document["available"]["fen"], document["limit"]["fen"]) == (
        TODAY.isoformat(), 15_000, 15_000, 30_000)
    assert (document["overdue"], document["oldest_overdue_days"], document["term_days"]) == ({"fen": 10_000, "yuan": "100.00"}, 40, 30)
    assert [(c["receipt_no"], c["due_on"], c["left"]["fen"], c["days_overdue"], c["bucket"]) for c in document["charges"]] == [
        ("C1", day(-40), 10_000, 40, "31-60"), ("C2", day(20), 5_000, 0, "current")]
    assert document["aging"]["31-60"]["fen"] == 10_000 and document["aging"]["current"]["fen"] == 5_000
    # As of a day before the second charge and before the first was due.
    code, out, _ = run(capsys, "--db", store, "credit", "show", PHONE, "--as-of", day(-50), "--json")
    earlier = json.loads(out)
    assert (earlier["owed"]["fen"], earlier["overdue"]["fen"], [c["receipt_no"] for c in earlier["charges"]]) == (10_000, 0, ["C1"])
    code, out, _ = run(capsys, "--db", store, "credit", "show", PHONE)
    assert out.splitlines()[:2] == [
        f"As of {TODAY.isoformat()}: owes ¥150.00, ¥150.00 available (limit ¥300.00, 30 days to pay).",
        "Overdue: ¥100.00, the oldest 40 days."]
    assert f"left     ¥100.00  due {day(-40)}, 40 days overdue  receipt C1" in out
    assert owed(db) == 15_000


def test_buying_on_credit_within_the_limit_and_beyond_it_with_a_supervisors_approval(capsys, monkeypatch, store: str, db) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "--db", store, "purchase", "add", "--member", PHONE, "--amount", "80", "--credit", "50",
                         "--payment", "微信", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["credit"] == {"amount": {"fen": 5_000, "yuan": "50.00"}, "due_on": day(30), "owed": {"fen": 20_000, "yuan": "200.00"},
                                  "available": {"fen": 10_000, "yuan": "100.00"}}
    assert document["rest"] == {"amount": {"fen": 3_000, "yuan": "30.00"}, "payment_method": "wechat"}
    beyond = ("purchase", "add", "--member", PHONE, "--amount", "100.01", "--payment", "credit", "--receipt", "C9", "--till", "01")
    before = dump(Path(store))
    code, out, err = run(capsys, "--db", store, *beyond)
    assert (code, out) == (2, "") and ("张三 has ¥100.00 of credit left (limit ¥300.00, owed ¥200.00); ¥100.01 on credit needs "
                                       "a supervisor's approval.") in err
    assert dump(Path(store)) == before
    code, out, err = run(capsys, "--db", store, *beyond, "--approved-by", "收银员小李", "--approver-secret-stdin",
                         stdin="1234\n", monkeypatch=monkeypatch)
    assert (code, out) == (5, "") and "收银员小李 may not approve credit beyond the limit" in err
    code, out, err = run(capsys, "--db", store, *beyond, "--approved-by", "值班经理", "--approver-secret-stdin",
                         stdin="0000\n", monkeypatch=monkeypatch)
    assert (code, out) == (6, "") and "Wrong name, password or PIN." in err
    with read_session(db) as session:  # the wrong secret is counted against the account, and nothing is bought
        assert session.scalar(sa.select(Staff.failed_attempts).where(Staff.name == "值班经理")) == 1
    assert owed(db) == 20_000
    code, out, err = run(capsys, "--db", store, *beyond, "--approved-by", "值班经理", "--approver-secret-stdin",
                         stdin="2468\n", monkeypatch=monkeypatch)
    assert code == 0, err
    assert f"¥100.01 on credit, due {day(30)}; owes ¥300.01, ¥0.00 of credit left." in out
    assert owed(db) == 30_001
    # A refund of a credit purchase takes its part off the debt and says so.
    code, out, err = run(capsys, "--db", store, "purchase", "refund", "--receipt", "C9", "--till", "01", "--amount", "100.01")
    assert code == 0, err
    assert out.splitlines()[1] == "  ¥100.01 off the debt; owes ¥200.00, ¥100.00 of credit left."
    assert owed(db) == 20_000


def test_repayments_settle_the_oldest_charges_first(capsys, store: str, db) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "--db", store, "credit", "repay", PHONE, "120", "--pay", "支付宝")
    assert code == 0, err
    assert out.splitlines() == [
        "Repaid ¥120.00 (Alipay); owes ¥30.00. It settles, oldest first:",
        f"  ¥100.00 of charge 1 of {day(-70)} (receipt C1), due {day(-40)}",
        f"  ¥20.00 of charge 2 of {day(-10)} (receipt C2), due {day(20)}"]
    code, out, err = run(capsys, "--db", store, "credit", "repay", PHONE, "30", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert (document["owed"]["fen"], document["payment_method"]) == (0, "cash")
    assert [(s["receipt_no"], s["amount"]["fen"], s["due_on"]) for s in document["settled"]] == [("C2", 3_000, day(20))]
    assert owed(db) == 0
    code, out, _ = run(capsys, "--db", store, "credit", "show", PHONE, "--json")
    assert json.loads(out)["charges"] == [] and json.loads(out)["available"]["fen"] == 30_000


@pytest.mark.parametrize(
    ("argv", "exit_code", "words"),
    [
        (("credit", "repay", PHONE, "150.01"), 2, "张三 owes ¥150.00; ¥150.01 is more than that."),
        (("credit", "repay", PHONE, "-5"), 2, "An amount must be more than ¥0.00."),
        (("credit", "repay", PHONE, "1.234"), 2, "'1.234' has more than two decimals."),
        (("credit", "repay", PHONE, "10", "--pay", "赊账"), 2, "'赊账' is not a way of paying here"),
        (("--as", "收银员小李", "credit", "limit", PHONE, "500"), 5, "收银员小李 may not grant, change or freeze credit"),
        (("--as", "收银员小李", "credit", "freeze", PHONE, "--reason", "拖欠"), 5, "may not grant, change or freeze credit"),
        (("credit", "limit", PHONE, "-1"), 2, "A credit limit runs from ¥0.00 to ¥1,000,000.00."),
        (("credit", "limit", PHONE, "300", "--days", "0"), 2, "Credit is due within 1 to 365 days."),
        (("credit", "limit", PHONE, "300.005"), 2, "more than two decimals"),
        (("credit", "limit", "13900000000", "300"), 3, "No member with the card, member number or phone 13900000000."),
        (("--as", "值班经理", "credit", "writeoff", PHONE, "--reason", "搬走了"), 5, "值班经理 may not write off a debt; ask the owner."),
        (("credit", "writeoff", PHONE, "--amount", "150.01", "--reason", "搬走了"), 2, "张三 owes ¥150.00: write off more than ¥0.00"),
        (("credit", "note", PHONE, "--text", "电话没人接", "--promise", day(-1)), 2, f"A promise is for a day to come, not {day(-1)}."),
        (("credit", "note", PHONE, "--text", "  "), 2, "Write what was said."),
        (("credit", "note", PHONE, "--text", "答应还", "--promise-amount", "-1"), 2, "An amount must be more than ¥0.00."),
        (("credit", "show", PHONE, "--as-of", "yesterday"), 2, "--as-of needs a date like 2026-11-22, not 'yesterday'."),
        (("purchase", "add", "--member", PHONE, "--amount", "150.01", "--payment", "赊账"), 2, "¥150.01 on credit needs a supervisor's"),
        (("purchase", "add", "--member", PHONE, "--amount", "10", "--credit", "0"), 2, "An amount must be more than ¥0.00."),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else None,
)
def test_bad_input_and_missing_rights_leave_the_database_as_it_was(capsys, store: str, db, argv: tuple[str, ...],  # type: ignore[no-untyped-def]
                                                                   exit_code: int, words: str) -> None:
    before = dump(Path(store))
    code, out, err = run(capsys, "--db", store, *argv)
    assert (code, out) == (exit_code, "") and err.startswith("crmdesk: ") and words in err, err
    assert dump(Path(store)) == before
    assert owed(db) == 15_000


def test_limits_suggestions_and_freezing(capsys, store: str) -> None:
    code, out, err = run(capsys, "--db", store, "--as", "值班经理", "credit", "limit", PHONE, "500", "--days", "45",
                         "--reason", "老顾客")
    assert (code, out) == (0, "Limit ¥500.00, 45 days to pay; owes ¥150.00, ¥350.00 available.\n"), err
    code, out, _ = run(capsys, "--db", store, "credit", "limit", PHONE, "400")  # the term stays as it was
    assert out == "Limit ¥400.00, 45 days to pay; owes ¥150.00, ¥250.00 available.\n"
    code, out, err = run(capsys, "--db", store, "credit", "suggest", PHONE, "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["limit"] == {"fen": 0, "yuan": "0.00"} and document["current"]["limit"]["fen"] == 40_000
    assert document["reasons"][0].startswith("A member for 1") and "2 visits" in document["reasons"][1]
    assert document["reasons"][-1] == "Too new or too few visits to give credit yet (at least 3 months and 6 visits)."
    code, out, _ = run(capsys, "--db", store, "credit", "suggest", PHONE)
    assert out.startswith("Suggested limit: ¥0.00, 30 days to pay.") and "  - Too new or too few visits" in out

    code, out, err = run(capsys, "--db", store, "credit", "freeze", PHONE, "--reason", "拖欠不还")
    assert (code, out) == (0, "Credit stopped (拖欠不还); owes ¥150.00, which can still be repaid.\n"), err
    code, _, err = run(capsys, "--db", store, "purchase", "add", "--member", PHONE, "--amount", "10", "--payment", "credit")
    assert code == 2 and "张三's credit is stopped: 拖欠不还" in err
    assert run(capsys, "--db", store, "credit", "repay", PHONE, "10")[0] == 0
    code, out, _ = run(capsys, "--db", store, "credit", "unfreeze", PHONE)
    assert out == "Credit allowed again. Limit ¥400.00, 45 days to pay; owes ¥140.00, ¥260.00 available.\n"
    assert run(capsys, "--db", store, "purchase", "add", "--member", PHONE, "--amount", "10", "--payment", "credit")[0] == 0


def test_aging_and_the_overdue_list_with_the_last_note_and_broken_promises(capsys, store: str) -> None:
    code, out, err = run(capsys, "--db", store, "credit", "aging", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert (document["members"], document["total"]["fen"], document["overdue"]["fen"]) == (1, 15_000, 10_000)
    assert [(b["bucket"], b["amount"]["fen"]) for b in document["buckets"]] == [
        ("current", 5_000), ("1-30", 0), ("31-60", 10_000), ("61-90", 0), ("90+", 0)]
    code, out, _ = run(capsys, "--db", store, "credit", "aging", "--as-of", day(60))
    assert f"Owed to the shop as of {day(60)}: ¥150.00 by 1 member, ¥150.00 overdue." in out
    assert "61–90 days overdue" in out

    code, out, _ = run(capsys, "--db", store, "credit", "overdue")
    assert "张三" in out and "¥100.00 overdue, the oldest 40 days" in out and "no collection note yet" in out
    code, out, err = run(capsys, "--db", store, "credit", "note", PHONE, "--text", "答应下周还", "--channel", "wechat",
                         "--promise", day(2), "--promise-amount", "100")
    assert code == 0 and f"wechat: 答应下周还; promised ¥100.00 by {day(2)}" in out, err
    code, out, _ = run(capsys, "--db", store, "credit", "overdue", "--json")
    row = json.loads(out)["members"][0]
    assert (row["name"], row["overdue"]["fen"], row["promised_on"], row["promise_broken"]) == ("张三", 10_000, day(2), False)
    assert (row["last_note"]["text"], row["last_note"]["promised_amount"]["fen"], row["last_note"]["channel"]) == (
        "答应下周还", 10_000, "wechat")
    code, out, _ = run(capsys, "--db", store, "credit", "overdue", "--as-of", day(3))
    assert "PROMISE BROKEN" in out and "last note:" in out
    assert json.loads(run(capsys, "--db", store, "credit", "overdue", "--as-of", day(3), "--json")[1])["members"][0]["promise_broken"]
    code, out, _ = run(capsys, "--db", store, "credit", "overdue", "--as-of", day(-45))
    assert out == f"Nobody is overdue as of {day(-45)}.\n"


def test_a_write_off_is_the_owners_with_a_reason(capsys, store: str, db) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "--db", store, "credit", "writeoff", PHONE, "--amount", "60", "--reason", "搬走了")
    assert code == 0, err
    assert out.splitlines()[0] == "Wrote off ¥60.00; owes ¥90.00. It settles, oldest first:"
    assert "¥60.00 of charge 1" in out
    code, out, err = run(capsys, "--db", store, "credit", "writeoff", PHONE, "--reason", "联系不上")
    assert code == 0 and "Wrote off ¥90.00; owes ¥0.00." in out, err
    assert owed(db) == 0


def test_the_daily_check_stops_credit_long_overdue_and_lists_passed_promises(capsys, store: str) -> None:
    code, out, _ = run(capsys, "--db", store, "credit", "freeze-overdue")
    assert code == 0 and "Credit never stops by itself" in out
    assert run(capsys, "--db", store, "wallet", "settings", "--credit-freeze-after", "30")[0] == 0
    assert run(capsys, "--db", store, "credit", "note", PHONE, "--text", "答应明天还", "--promise", day(1))[0] == 0
    code, out, err = run(capsys, "--db", store, "credit", "freeze-overdue", "--today", day(2))
    assert code == 0, err
    assert out.splitlines() == [f"Credit stopped for 1 member more than 30 days overdue as of {day(2)}.",
                                f"Promise passed: M00000001 张三 138 1234 5678 promised to pay by {day(1)}; ¥100.00 overdue."]
    code, out, _ = run(capsys, "--db", store, "credit", "show", PHONE, "--json")
    assert json.loads(out)["frozen"] is True and json.loads(out)["frozen_reason"] == "overdue 42 days"
    code, out, _ = run(capsys, "--db", store, "credit", "freeze-overdue", "--today", day(2))
    assert out.startswith("Credit stopped for 0 members")


def test_an_approval_without_a_terminal_or_the_stdin_option_explains_and_changes_nothing(capsys, monkeypatch, store: str) -> None:
    before = dump(Path(store))
    code, out, err = run(capsys, "--db", store, "purchase", "add", "--member", PHONE, "--amount", "200", "--payment", "credit",
                         "--approved-by", "值班经理", stdin="", monkeypatch=monkeypatch)
    assert (code, out) == (2, "") and "No terminal to ask for the secret: pipe it in and add --approver-secret-stdin." in err
    assert dump(Path(store)) == before
