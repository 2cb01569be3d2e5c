"""Stored value (储值) from the command line: bonus rules, top-ups that say which bonus applied and why, the balance,
paying from the wallet (whole or split) and refunds back into it, the member's PIN, cash-out, corrections and the
owner's settings; bad input and missing rights leave the database exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk.models import Member, WalletEntry
from crmdesk.services import members, wallet
from crmdesk.services.uow import read_session, unit_of_work
from tests.cli.test_cli import dump, run
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

PHONE = "13812345678"


@pytest.fixture
def store(db, owner, cashier, supervisor, db_path: Path) -> str:  # type: ignore[no-untyped-def]
    """张三 with a ¥200 top-up under 充200送20: ¥220 in the wallet (¥200 principal, ¥20 bonus)."""
    with unit_of_work(db) as session:
        member_id = members.register(session, owner, members.MemberInput(name="张三", phone=PHONE)).id
        wallet.add_bonus_rule(session, owner, min_topup_fen=20_000, bonus_fen=2_000)
        wallet.top_up(session, owner, member_id, 20_000, payment_method="cash")
    db.dispose()
    return str(db_path)


def balance(db) -> wallet.Balance:  # type: ignore[no-untyped-def]
    """张三's cached balance, after checking it against the ledger."""
    with read_session(db) as session:
        member_id = session.scalar(sa.select(Member.id).where(Member.phone == "+86" + PHONE))
        cached, summed = wallet.balance(session, member_id), wallet.ledger_sums(session, member_id)
    db.dispose()
    assert cached == summed
    return cached


def last_wallet_entry(db) -> int:  # type: ignore[no-untyped-def]
    """The newest stored-value entry: the one a slip number names."""
    with read_session(db) as session:
        return int(session.scalar(sa.select(sa.func.max(WalletEntry.id))))


def test_bonus_rules_and_a_top_up_that_says_which_bonus_applied_and_why(capsys, store: str, db) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "--db", store, "wallet", "rule", "add", "--min", "500", "--bonus", "60",
                         "--from", "2026-01-01", "--to", "2099-12-31", "--tier", "普通")
    assert code == 0, err
    assert "充500送60: a top-up of ¥500.00 or more gets ¥60.00, 2026-01-01 to 2099-12-31, 普通 only" in out
    code, out, _ = run(capsys, "--db", store, "wallet", "rule", "list", "--json")
    rules = json.loads(out)["rules"]
    assert [(r["label"], r["min_topup"], r["bonus"]["fen"], r["tier"]) for r in rules] == [
        ("充200送20", {"fen": 20_000, "yuan": "200.00"}, 2_000, None), ("充500送60", {"fen": 50_000, "yuan": "500.00"}, 6_000, "普通")]

    code, out, err = run(capsys, "--db", store, "wallet", "topup", PHONE, "300", "--pay", "微信")
    assert code == 0, err
    entry = last_wallet_entry(db)
    assert out.splitlines() == [
        "Topped up ¥300.00 + bonus ¥20.00 (WeChat Pay). 充200送20: a top-up of ¥300.00 reaches ¥200.00, so ¥20.00 is added.",
        "Balance: ¥540.00 (principal ¥500.00, bonus ¥40.00).",
        f"Receipt W{entry:06d}: crmdesk report slip topup W{entry:06d} prints it."]
    code, out, err = run(capsys, "--db", store, "wallet", "topup", PHONE, "100", "--pay", "alipay", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert (document["amount"]["fen"], document["bonus"]["fen"], document["rule"], document["payment_method"]) == (10_000, 0, None, "alipay")
    assert document["why"] == "No bonus: 充200送20 needs a top-up of at least ¥200.00."
    assert document["balance"] == {"total": {"fen": 64_000, "yuan": "640.00"}, "principal": {"fen": 60_000, "yuan": "600.00"},
                                   "bonus": {"fen": 4_000, "yuan": "40.00"}}

    code, out, _ = run(capsys, "--db", store, "wallet", "show", PHONE, "--json")
    shown = json.loads(out)
    assert shown["balance"]["total"]["fen"] == 64_000 and shown["pin_set"] is False
    assert [(e["kind"], e["principal"]["fen"], e["bonus"]["fen"], e["payment_method"]) for e in shown["entries"]] == [
        ("topup", 10_000, 0, "alipay"), ("topup", 30_000, 2_000, "wechat"), ("topup", 20_000, 2_000, "cash")]
    code, out, _ = run(capsys, "--db", store, "wallet", "show", PHONE, "--limit", "1")
    assert out.splitlines()[0] == "Balance: ¥640.00 (principal ¥600.00, bonus ¥40.00); no payment PIN."
    assert len(out.splitlines()) == 2 and "Top-up" in out and "+¥100.00" in out and "Alipay" in out
    assert balance(db) == wallet.Balance(60_000, 4_000)

    code, out, err = run(capsys, "--db", store, "wallet", "rule", "end", str(rules[0]["id"]))
    assert code == 0 and "充200送20" in out and "ended" in out, err
    code, out, _ = run(capsys, "--db", store, "wallet", "topup", PHONE, "200")
    assert "No bonus: 充500送60 needs a top-up of at least ¥500.00." in out
    assert "充200送20" not in run(capsys, "--db", store, "wallet", "rule", "list")[1]
    code, out, _ = run(capsys, "--db", store, "wallet", "rule", "list", "--all", "--json")
    assert [r["active"] for r in json.loads(out)["rules"]] == [False, True]


def test_paying_from_the_wallet_whole_or_split_and_refunds_back_into_it(capsys, store: str, db) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "--db", store, "purchase", "add", "--member", PHONE, "--amount", "55", "--payment", "储值",
                         "--receipt", "R1", "--till", "01")
    assert code == 0, err
    assert out.splitlines()[1] == "  ¥55.00 from the wallet (principal ¥50.00, bonus ¥5.00); the wallet holds ¥165.00."
    # A split basket: ¥30 from the wallet, the rest in cash (现金).
    code, out, err = run(capsys, "--db", store, "purchase", "add", "--member", PHONE, "--amount", "50", "--wallet", "30",
                         "--payment", "现金", "--receipt", "R2", "--till", "01", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["wallet"]["amount"] == {"fen": 3_000, "yuan": "30.00"} and document["wallet"]["balance"]["fen"] == 13_500
    assert document["rest"] == {"amount": {"fen": 2_000, "yuan": "20.00"}, "payment_method": "cash"} and document["credit"] is None
    assert balance(db) == wallet.Balance(12_272, 1_228)
    # Refunds: the wallet's part back into the wallet, in proportion, the rest in cash; it says so.
    code, out, err = run(capsys, "--db", store, "purchase", "refund", "--receipt", "R2", "--till", "01", "--amount", "25")
    assert code == 0, err
    assert out.splitlines()[1:] == ["  ¥15.00 back to the wallet (principal ¥13.64, bonus ¥1.36); the wallet holds ¥150.00.",
                                    "  The rest, ¥10.00, given back: Cash."]
    code, out, err = run(capsys, "--db", store, "purchase", "refund", "--receipt", "R1", "--till", "01", "--amount", "55",
                         "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["wallet"]["amount"]["fen"] == 5_500 and document["wallet"]["balance"]["fen"] == 20_500
    assert document["rest"]["amount"]["fen"] == 0
    assert balance(db) == wallet.Balance(18_636, 1_864)
    # An ordinary purchase says nothing of the wallet.
    code, out, _ = run(capsys, "--db", store, "purchase", "add", "--member", PHONE, "--amount", "10", "--payment", "wechat",
                       "--json")
    assert json.loads(out)["wallet"] is None and json.loads(out)["rest"]["payment_method"] == "wechat"


@pytest.mark.parametrize(
    ("argv", "exit_code", "words"),
    [
        (("wallet", "topup", PHONE, "-5"), 2, "more than ¥0.00"),
        (("wallet", "topup", PHONE, "1.234"), 2, "'1.234' has more than two decimals."),
        (("wallet", "topup", PHONE, "4,781"), 2, ("may not exceed ¥5,000.00 under the prepaid card rules: 张三 holds ¥220.00, "
                                                  "so ¥4,780.00 more at most (bonus included)")),
        (("wallet", "topup", PHONE, "100", "--pay", "储值"), 2, ("'储值' is not a way of paying here; use one of: cash (现金), "
                                                             "wechat (微信/微信支付), alipay (支付宝), card (银行卡).")),
        (("wallet", "topup", PHONE, "100", "--pay", "bitcoin"), 2, "'bitcoin' is not a way of paying here"),
        (("wallet", "topup", "13900000000", "100"), 3, "No member with the card, member number or phone 13900000000."),
        (("wallet", "rule", "add", "--min", "200", "--bonus", "300"), 2, "less than the top-up it rewards"),
        (("wallet", "rule", "add", "--min", "200", "--bonus", "20", "--from", "2026-13-01"), 2,
         "--from needs a date like 2026-11-22, not '2026-13-01'."),
        (("wallet", "rule", "add", "--min", "200", "--bonus", "20", "--tier", "黑卡"), 2, "There is no tier named '黑卡'."),
        (("wallet", "rule", "end", "99"), 3, "No top-up bonus with id 99."),
        (("--as", "收银员小李", "wallet", "rule", "add", "--min", "200", "--bonus", "20"), 5,
         "收银员小李 may not change the top-up bonuses or the money settings; ask the owner."),
        (("--as", "收银员小李", "wallet", "cashout", PHONE), 5, "may not pay out a stored-value balance"),
        (("--as", "值班经理", "wallet", "adjust", PHONE, "--principal", "10", "--reason", "补录"), 5,
         "值班经理 may not correct a member's money by hand; ask the owner."),
        (("wallet", "adjust", PHONE, "--bonus", "-20.01", "--reason", "多送了"), 2, "it cannot go below zero"),
        (("wallet", "adjust", PHONE, "--reason", "无"), 2, "A correction must change the principal or the bonus."),
        (("wallet", "adjust", PHONE, "--principal", "4781", "--reason", "补录"), 2, "may not exceed ¥5,000.00"),
        (("wallet", "settings", "--cap", "5000.01"), 2, "Under the prepaid card rules a wallet holds from ¥0.01 to ¥5,000.00."),
        (("--as", "收银员小李", "wallet", "settings", "--pin-above", "100"), 5, "may not change the top-up bonuses"),
        (("purchase", "add", "--member", PHONE, "--amount", "220.01", "--payment", "wallet"), 2,
         "张三's wallet holds ¥220.00; ¥220.01 cannot be paid from it."),
        (("purchase", "add", "--member", PHONE, "--amount", "50", "--wallet", "-5", "--payment", "cash"), 2,
         "An amount must be more than ¥0.00."),
        (("purchase", "add", "--member", PHONE, "--amount", "50", "--wallet", "30.001"), 2, "more than two decimals"),
        (("purchase", "add", "--member", PHONE, "--amount", "50", "--wallet", "30", "--credit", "30"), 2,
         "The parts paid from the wallet and on credit add up to more than the amount."),
        (("purchase", "add", "--member", PHONE, "--amount", "50", "--payment", "钱包"), 2, "'钱包' is not a way of paying here"),
        (("purchase", "add", "--member", PHONE, "--amount", "50", "--payment", "cash", "--approver-secret-stdin"), 2,
         "--approver-secret-stdin goes with --approved-by NAME."),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else None,
)
def test_bad_input_and_missing_rights_leave_the_database_as_it_was(capsys, store: str, db, argv: tuple[str, ...],  # type: ignore[no-untyped-def]
                                                                   exit_code: int, words: str) -> None:
    before = dump(Path(store))
    code, out, err = run(capsys, "--db", store, *argv)
    assert (code, out) == (exit_code, "") and err.startswith("crmdesk: ") and words in err, err
    assert dump(Path(store)) == before
    assert balance(db) == wallet.Balance(20_000, 2_000)


def test_the_members_payment_pin_above_the_owners_amount(capsys, monkeypatch, store: str, db) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "--db", store, "wallet", "pin", PHONE, "--pin-stdin", stdin="2580\n", monkeypatch=monkeypatch)
    assert (code, out) == (0, "Payment PIN set.\n"), err
    assert run(capsys, "--db", store, "wallet", "settings", "--pin-above", "20")[0] == 0
    assert json.loads(run(capsys, "--db", store, "wallet", "show", PHONE, "--json")[1])["pin_set"] is True
    sale = ("purchase", "add", "--member", PHONE, "--amount", "50", "--payment", "wallet")
    # Up to the owner's amount no PIN is asked.
    assert run(capsys, "--db", store, "purchase", "add", "--member", PHONE, "--amount", "20", "--payment", "wallet")[0] == 0
    before = dump(Path(store))
    code, out, err = run(capsys, "--db", store, *sale)
    assert (code, out) == (6, "") and "The member's payment PIN is needed for ¥50.00 from the wallet." in err
    assert dump(Path(store)) == before
    code, out, err = run(capsys, "--db", store, *sale, "--pin-stdin", stdin="1111\n", monkeypatch=monkeypatch)
    assert (code, out) == (6, "") and "Wrong payment PIN. Tries left: 4." in err  # counted, and nothing bought
    assert balance(db).total_fen == 20_000
    code, out, err = run(capsys, "--db", store, *sale, "--pin-stdin", stdin="2580\n", monkeypatch=monkeypatch)
    assert code == 0 and "¥50.00 from the wallet" in out, err
    assert balance(db).total_fen == 15_000
    code, out, err = run(capsys, "--db", store, "wallet", "pin", PHONE, "--remove")
    assert (code, out) == (0, "Payment PIN removed.\n"), err
    assert run(capsys, "--db", store, *sale)[0] == 0
    # Without a PIN of the member's own, a PIN given is not checked (nor counted as wrong).
    code, _, err = run(capsys, "--db", store, *sale, "--pin-stdin", stdin="9999\n", monkeypatch=monkeypatch)
    assert code == 0, err
    assert balance(db).total_fen == 5_000
    code, _, err = run(capsys, "--db", store, "wallet", "pin", PHONE, "--pin-stdin", stdin="12\n", monkeypatch=monkeypatch)
    assert code == 2 and err.startswith("crmdesk: ")


def test_cash_out_pays_the_principal_back_and_forfeits_the_bonus(capsys, store: str, db) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "--db", store, "--as", "值班经理", "wallet", "cashout", PHONE, "--pay", "银行卡",
                         "--reason", "搬家")
    assert code == 0, err
    entry = last_wallet_entry(db)
    assert out == ("Paid back ¥200.00 (Bank card); bonus forfeited: ¥20.00. The wallet now holds ¥0.00.\n"
                   f"Slip W{entry:06d} for the member to sign: crmdesk report slip cashout W{entry:06d} prints it.\n")
    assert balance(db) == wallet.Balance(0, 0)
    before = dump(Path(store))
    code, out, err = run(capsys, "--db", store, "wallet", "cashout", PHONE)
    assert (code, out) == (2, "") and "张三's wallet is empty: there is nothing to pay back." in err
    assert dump(Path(store)) == before


def test_the_owners_correction_with_its_reason(capsys, store: str, db) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "--db", store, "wallet", "adjust", PHONE, "--principal", "10", "--bonus", "-5",
                         "--reason", "收银差错")
    assert code == 0, err
    assert out == "Corrected by principal +¥10.00, bonus -¥5.00. Balance: ¥225.00 (principal ¥210.00, bonus ¥15.00).\n"
    assert balance(db) == wallet.Balance(21_000, 1_500)
    entries = json.loads(run(capsys, "--db", store, "wallet", "show", PHONE, "--json")[1])["entries"]
    assert (entries[0]["kind"], entries[0]["reason"], entries[0]["staff"]) == ("adjustment", "收银差错", "王店长")


def test_the_owners_settings_shown_and_changed(capsys, store: str) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "--db", store, "wallet", "settings")
    assert code == 0 and "on: a wallet holds at most ¥5,000.00" in out and "never by itself" in out
    code, out, _ = run(capsys, "--db", store, "wallet", "settings", "--json")
    assert json.loads(out) == {"prepaid_rules": True, "wallet_cap": {"fen": 500_000, "yuan": "5000.00"}, "draw_order": "proportional",
                               "pin_above": {"fen": 0, "yuan": "0.00"}, "credit_freeze_after_days": 0,
                               "credit_max_limit": {"fen": 200_000, "yuan": "2000.00"}}
    code, out, err = run(capsys, "--db", store, "wallet", "settings", "--cap", "1000", "--draw", "bonus-first", "--pin-above", "200",
                         "--credit-freeze-after", "30", "--credit-max-limit", "1500", "--json")
    assert code == 0, err
    assert json.loads(out) == {"prepaid_rules": True, "wallet_cap": {"fen": 100_000, "yuan": "1000.00"}, "draw_order": "bonus-first",
                               "pin_above": {"fen": 20_000, "yuan": "200.00"}, "credit_freeze_after_days": 30,
                               "credit_max_limit": {"fen": 150_000, "yuan": "1500.00"}}
    code, _, err = run(capsys, "--db", store, "wallet", "topup", PHONE, "781")
    assert code == 2 and "may not exceed ¥1,000.00" in err
    code, out, err = run(capsys, "--db", store, "purchase", "add", "--member", PHONE, "--amount", "25", "--payment", "wallet")
    assert code == 0 and "(principal ¥5.00, bonus ¥20.00)" in out, err  # bonus first
    # Without the prepaid card rules there is no cap.
    code, out, _ = run(capsys, "--db", store, "wallet", "settings", "--prepaid-rules", "off")
    assert code == 0 and "off: no cap on a wallet" in out
    code, out, err = run(capsys, "--db", store, "wallet", "topup", PHONE, "6000")
    assert code == 0 and "Balance: ¥6,215.00" in out, err
