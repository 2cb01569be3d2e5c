"""Offers from the command line, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crmdesk.services import members
from crmdesk.services.uow import unit_of_work
from tests.cli.test_cli import run


@pytest.fixture
def store(db, owner, cashier, db_path: Path) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        members.register(session, owner, members.MemberInput(name="张三", phone="13812345678", tags=("宝妈",)))
        members.register(session, owner, members.MemberInput(name="李四", phone="13900000000"))
    db.dispose()
    return str(db_path)


def test_add_list_check_and_apply(capsys, store: str) -> None:
    code, out, err = run(capsys, "--db", store, "offer", "add", "--name", "满100减10", "--kind", "amount_off",
                         "--threshold", "100", "--off", "10", "--per-member", "1", "--from", "2020-01-01", "--json")
    assert code == 0, err
    spend = json.loads(out)
    assert (spend["threshold_fen"], spend["reduction_fen"], spend["per_member_limit"]) == (10_000, 1_000, 1)
    assert run(capsys, "--db", store, "offer", "add", "--name", "宝妈九五折", "--kind", "percent_off", "--percent", "5",
               "--tag", "宝妈")[0] == 0
    assert run(capsys, "--db", store, "offer", "add", "--name", "周三双倍", "--kind", "points_x", "--multiplier", "200",
               "--weekday", "wed")[0] == 0
    code, out, _ = run(capsys, "--db", store, "offer", "list", "--json")
    listed = {o["name"]: o for o in json.loads(out)["offers"]}
    assert listed["宝妈九五折"]["target"] == "tags" and listed["周三双倍"]["weekdays"] == [2]
    code, out, _ = run(capsys, "--db", store, "offer", "list")
    assert "¥10.00 off from ¥100.00" in out and "tags 宝妈" in out

    code, out, _ = run(capsys, "--db", store, "offer", "check", "13900000000", "--basket", "80", "--json")
    checked = {o["name"]: o for o in json.loads(out)["offers"]}
    assert checked["满100减10"]["reason"] == "below_threshold"
    assert checked["宝妈九五折"]["reason"] == "not_tagged"
    code, out, _ = run(capsys, "--db", store, "offer", "check", "13812345678", "--basket", "200")
    assert "✔" in out and "¥10.00 off" in out

    code, out, err = run(capsys, "--db", store, "offer", "apply", "满100减10", "13812345678", "--basket", "150", "--json")
    assert code == 0, err
    assert json.loads(out)["discount_fen"] == 1_000
    code, _, err = run(capsys, "--db", store, "offer", "apply", "满100减10", "13812345678", "--basket", "150")
    assert code == 2 and "used 1 of 1" in err
    code, out, _ = run(capsys, "--db", store, "offer", "check", "13812345678", "--json")
    assert {o["name"]: o for o in json.loads(out)["offers"]}["满100减10"]["reason"] == "member_limit"


def test_coupons_print_and_are_used_once(capsys, store: str) -> None:
    assert run(capsys, "--db", store, "offer", "add", "--name", "10元券", "--kind", "amount_off", "--off", "10", "--coupon")[0] == 0
    code, out, err = run(capsys, "--db", store, "offer", "coupons", "10元券", "--count", "3", "--json")
    assert code == 0, err
    codes = json.loads(out)["codes"]
    assert len(codes) == 3 and all(len(c) == 11 and c[5] == "-" for c in codes)
    code, out, _ = run(capsys, "--db", store, "offer", "coupons", "10元券", "--count", "1", "--member", "13900000000")
    bound = out.strip()
    assert code == 0 and len(bound) == 11
    code, _, err = run(capsys, "--db", store, "offer", "apply", "10元券", "13812345678", "--basket", "50", "--coupon", bound)
    assert code == 2 and "another member" in err
    assert run(capsys, "--db", store, "offer", "apply", "10元券", "13812345678", "--basket", "50", "--coupon", codes[0])[0] == 0
    code, _, err = run(capsys, "--db", store, "offer", "apply", "10元券", "13900000000", "--basket", "50", "--coupon", codes[0])
    assert code == 4 and "already used" in err


def test_errors_and_permissions(capsys, store: str) -> None:
    code, _, err = run(capsys, "--db", store, "--as", "收银员小李", "offer", "add", "--name", "x", "--kind", "gift", "--gift", "伞")
    assert code == 5 and "may not create or change offers" in err
    code, _, err = run(capsys, "--db", store, "offer", "add", "--name", "x", "--kind", "gift")
    assert code == 2 and "Name the gift" in err
    code, _, err = run(capsys, "--db", store, "offer", "add", "--name", "x", "--kind", "gift", "--gift", "伞", "--tier", "黑卡")
    assert code == 2 and "no tier named" in err
    code, _, err = run(capsys, "--db", store, "offer", "apply", "不存在", "13812345678")
    assert code == 3
    assert run(capsys, "--db", store, "offer", "add", "--name", "伞", "--kind", "gift", "--gift", "伞")[0] == 0
    assert run(capsys, "--db", store, "offer", "deactivate", "伞")[0] == 0
    code, out, _ = run(capsys, "--db", store, "offer", "list", "--active", "--json")
    assert json.loads(out)["offers"] == []


def test_money_off_for_points_follows_the_points_rules(capsys, store: str) -> None:
    code, _, err = run(capsys, "--db", store, "offer", "add", "--name", "500积分换10元", "--kind", "amount_off", "--off", "10",
                       "--points-cost", "500")
    assert code == 2 and "500 points are worth ¥5.00, not ¥10.00" in err
    code, out, err = run(capsys, "--db", store, "offer", "add", "--name", "500积分换5元", "--kind", "amount_off",
                         "--points-cost", "500", "--json")
    assert code == 0, err
    added = json.loads(out)
    assert (added["reduction_fen"], added["points_cost"], added["points_worth_fen"]) == (500, 500, 500)
    assert run(capsys, "--db", store, "offer", "add", "--name", "800积分换油", "--kind", "gift", "--gift", "花生油",
               "--points-cost", "800")[0] == 0
    code, out, _ = run(capsys, "--db", store, "offer", "list")
    assert "¥5.00 off, for 500 points (at the points rules' rate)" in out
    assert "per member no limit, total no limit" in out and "∞" not in out

    code, out, err = run(capsys, "--db", store, "offer", "points", "13812345678", "--json")
    assert code == 0, err
    hints = json.loads(out)["offers"]
    assert [(h["name"], h["usable"], h["reason"]) for h in hints] == [
        ("500积分换5元", False, "not_enough_points"), ("800积分换油", False, "not_enough_points")]
    assert (hints[0]["gives_fen"], hints[1]["gives_fen"], hints[1]["worth_fen"]) == (500, None, 800)
    code, out, _ = run(capsys, "--db", store, "offer", "points", "13812345678")
    assert "✘" in out and "gift: 花生油, for 800 points" in out and "Costs 800 points; the member has 0." in out


def test_tiers_combine_with_tags_but_tags_and_a_group_do_not(capsys, store: str) -> None:
    code, out, err = run(capsys, "--db", store, "offer", "add", "--name", "金卡宝妈", "--kind", "gift", "--gift", "伞",
                         "--tag", "宝妈", "--tier", "金卡", "--tier", "钻石", "--json")
    assert code == 0, err
    added = json.loads(out)
    assert (added["target"], added["tags"], added["tier_names"]) == ("tags", ["宝妈"], ["金卡", "钻石"])
    code, out, _ = run(capsys, "--db", store, "offer", "list")
    assert "tags 宝妈; tiers 金卡, 钻石" in out
    code, out, _ = run(capsys, "--db", store, "offer", "check", "13812345678", "--json")
    [checked] = json.loads(out)["offers"]
    assert checked["reason"] == "not_in_tier" and checked["reason_text"] == "Only for tiers: 金卡, 钻石."
    code, _, err = run(capsys, "--db", store, "offer", "add", "--name", "x", "--kind", "gift", "--gift", "伞", "--tag", "宝妈",
                       "--group", "五月生日")
    assert code == 2 and "tags or at a group" in err
