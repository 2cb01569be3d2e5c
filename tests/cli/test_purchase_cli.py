"""Purchases and points from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crmdesk.services import members
from crmdesk.services.uow import unit_of_work
from tests.cli.test_cli import dump, run


@pytest.fixture
def store(db, owner, db_path: Path) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        members.register(session, owner, members.MemberInput(name="张三", phone="13812345678"))
    db.dispose()
    return str(db_path)


def test_purchase_refund_and_points(capsys, store: str) -> None:
    code, out, err = run(capsys, "--db", store, "purchase", "add", "--member", "13812345678", "--amount", "123.45",
                         "--receipt", "R1", "--till", "01", "--json")
    assert code == 0, err
    assert json.loads(out)["points"] == 123
    code, out, _ = run(capsys, "--db", store, "purchase", "add", "--member", "13812345678", "--amount", "123.45",
                       "--receipt", "R1", "--till", "01")
    assert code == 0 and "Already recorded" in out
    code, _, err = run(capsys, "--db", store, "purchase", "add", "--member", "13812345678", "--amount", "1.234",
                       "--receipt", "R2")
    assert code == 2 and "two decimals" in err
    code, _, err = run(capsys, "--db", store, "purchase", "add", "--member", "13900000000", "--amount", "1", "--receipt", "R3")
    assert code == 3 and "No member" in err
    code, out, err = run(capsys, "--db", store, "purchase", "refund", "--receipt", "R1", "--till", "01",
                         "--refund-receipt", "RF1", "--amount", "23.45", "--json")
    assert code == 0, err
    assert json.loads(out)["points"] == -23
    code, _, err = run(capsys, "--db", store, "points", "redeem", "13812345678", "101")
    assert code == 2 and "has 100 points" in err
    assert run(capsys, "--db", store, "points", "redeem", "13812345678", "40")[0] == 0
    code, out, _ = run(capsys, "--db", store, "points", "show", "13812345678", "--json")
    assert json.loads(out)["balance"] == 60
    code, out, _ = run(capsys, "--db", store, "purchase", "list", "--member", "13812345678", "--json")
    document = json.loads(out)
    assert document["totals"]["visits"] == 1 and [p["receipt_no"] for p in document["purchases"]] == ["RF1", "R1"]


def test_adjustment_needs_reason_and_rank(capsys, store: str, db, owner) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_info:  # argparse: --reason is required
        run(capsys, "--db", store, "points", "adjust", "13812345678", "50")
    assert exit_info.value.code == 2
    assert run(capsys, "--db", store, "points", "adjust", "13812345678", "50", "--reason", "补偿")[0] == 0


def test_member_show_includes_points_expiry_and_12_month_spend(capsys, store: str) -> None:
    assert run(capsys, "--db", store, "purchase", "add", "--member", "13812345678", "--amount", "250", "--receipt", "R1")[0] == 0
    code, out, _ = run(capsys, "--db", store, "member", "show", "13812345678", "--json")
    document = json.loads(out)
    assert code == 0
    assert document["points"]["balance"] == 250 and document["points"]["expiring_next"]["points"] == 250
    assert document["points"]["spend_12_months"]["fen"] == 25_000
    assert document["totals"]["visits"] == 1


@pytest.mark.parametrize(("amount", "example"), [("12,5", "12.5"), ("1,23", "1.23"), ("12,34.5", "1234.50"), ("１２，５", "12.5")])
def test_an_amount_with_an_ambiguous_comma_is_refused_and_nothing_changes(capsys, store: str, amount: str, example: str) -> None:
    before = dump(Path(store))
    code, out, err = run(capsys, "--db", store, "purchase", "add", "--member", "13812345678", "--amount", amount, "--receipt", "R1")
    assert code == 2 and out == ""
    assert f"'{amount}' is ambiguous" in err and f"e.g. {example}." in err
    assert dump(Path(store)) == before


def test_thousands_separators_are_accepted(capsys, store: str) -> None:
    code, out, err = run(capsys, "--db", store, "purchase", "add", "--member", "13812345678", "--amount", "1,234.5",
                         "--receipt", "R1", "--json")
    assert code == 0, err
    code, out, _ = run(capsys, "--db", store, "purchase", "list", "--member", "13812345678", "--json")
    assert json.loads(out)["purchases"][0]["amount_fen"] == 123_450


def test_without_a_receipt_number_one_is_generated_and_shown(capsys, store: str) -> None:
    from datetime import datetime, timezone

    from crmdesk.services.loyalty import local_day

    def today():  # type: ignore[no-untyped-def]
        return local_day(datetime.now(timezone.utc))

    code, out, err = run(capsys, "--db", store, "purchase", "add", "--member", "13812345678", "--amount", "10", "--till", "02")
    assert code == 0, err
    number = f"{today():%Y%m%d}-0001"
    assert f"receipt {number}:" in out
    code, out, err = run(capsys, "--db", store, "purchase", "add", "--member", "13812345678", "--amount", "10", "--till", "02",
                         "--json")
    assert code == 0 and json.loads(out)["receipt_no"] == f"{today():%Y%m%d}-0002"
    # A given receipt number is still posted once only.
    for _ in range(2):
        code, out, err = run(capsys, "--db", store, "purchase", "add", "--member", "13812345678", "--amount", "10",
                             "--receipt", "R9", "--json")
        assert code == 0, err
    assert json.loads(out)["already_recorded"] is True and json.loads(out)["receipt_no"] == "R9"
