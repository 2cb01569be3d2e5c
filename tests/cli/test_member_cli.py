"""`crmdesk member ...` and `crmdesk card ...` end to end: output, exit statuses, and nothing changed on errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crmdesk.cli import main
from crmdesk.services import members
from crmdesk.services.uow import read_session
from tests.services.test_members import cashier, db, owner, snapshot, store_template, supervisor  # noqa: F401 - fast fixtures


@pytest.fixture
def cli(capsys, db, db_path: Path):  # type: ignore[no-untyped-def]
    """Run `crmdesk --db <a fresh store> ARGS...`; returns (exit status, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--db", str(db_path), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


class Unchanged:
    """Called with a failing command's result: checks the exit status, the message on stderr, nothing on
    stdout, and that the database is as it was when created or last ``refresh``ed."""

    def __init__(self, db) -> None:  # type: ignore[no-untyped-def]
        self.db = db
        self.refresh()

    def refresh(self) -> None:
        self.before = snapshot(self.db)

    def __call__(self, result: tuple[int, str, str], code: int, text: str) -> str:
        assert result[0] == code, result
        assert text in result[2] and result[1] == "", result
        assert snapshot(self.db) == self.before
        return result[2]


@pytest.fixture
def unchanged(db) -> Unchanged:  # type: ignore[no-untyped-def]
    return Unchanged(db)


def _json(result: tuple[int, str, str]):  # type: ignore[no-untyped-def]
    code, out, err = result
    assert code == 0, err
    return json.loads(out)


def test_add_then_show_by_every_key(cli) -> None:  # type: ignore[no-untyped-def]
    added = _json(cli("member", "add", "--name", "张三", "--phone", "138-0013-8000", "--gender", "male", "--birthday", "1985-06-02",
                      "--tags", "老顾客,宝妈", "--card", "2900000000018", "--json"))
    assert (added["member_no"], added["phone"], added["phone_display"]) == ("M00000001", "+8613800138000", "138 0013 8000")
    assert (added["gender"], added["birthday"], added["tags"], added["active_card"]) == ("male", "1985-06-02", ["宝妈", "老顾客"], "2900000000018")
    for key in ("2900000000018", "M00000001", "m00000001", "13800138000", "+86 138 0013 8000"):
        shown = _json(cli("member", "show", key, "--json"))
        points = shown.pop("points")  # show adds the points ledger view and the customer figures to what add printed
        figures = {name: shown.pop(name) for name in ("insight_as_of", "recency_days", "frequency", "monetary_fen", "r_score",
                                                       "f_score", "m_score", "segment", "abc_class", "stage", "typical_gap_days",
                                                       "alert", "alert_reason", "p_alive", "expected_purchases",
                                                       "expected_value_fen")}
        assert shown == added, key
        assert set(figures.values()) == {None}  # never bought: no figures
        assert points["balance"] == 0 and points["expiring_next"] is None
    assert shown["status"] == "active" and shown["warnings"] == [] and shown["points_balance"] == 0
    assert shown["totals"] == {"visits": 0, "spend": {"fen": 0, "yuan": "0.00"}, "average_basket": {"fen": 0, "yuan": "0.00"},
                               "last_visit_at": None}
    assert shown["cards"][0]["number"] == "2900000000018" and shown["cards"][0]["status"] == "active"
    assert shown["cards"][0]["issued_at"].endswith("+00:00") and shown["open_complaints"] == 0
    code, out, _ = cli("member", "show", "M00000001")
    assert code == 0 and out.startswith("张三  M00000001  [active]") and "138 0013 8000" in out and "2900000000018" in out


def test_show_with_purchases_gives_totals_in_fen_and_yuan(cli, db, owner) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    from crmdesk.models import Purchase
    from crmdesk.services.uow import unit_of_work

    cli("member", "add", "--name", "张三", "--phone", "13800138000")
    with unit_of_work(db) as session:
        session.add_all([Purchase(member_id=1, till="1", receipt_no=str(n), amount_fen=fen,
                                  occurred_at=datetime(2024, 5, n, 8, 0, tzinfo=timezone.utc)) for n, fen in ((1, 123456), (2, 99))])
        session.flush()
        members.refresh_member_totals(session, [1])
    shown = _json(cli("member", "show", "13800138000", "--json"))
    assert shown["totals"]["visits"] == 2 and shown["totals"]["spend"] == {"fen": 123555, "yuan": "1235.55"}
    assert shown["totals"]["last_visit_at"] == "2024-05-02T08:00:00+00:00"
    assert [v["amount"]["yuan"] for v in shown["recent_visits"]] == ["0.99", "1234.56"]


def test_add_refusals_change_nothing(cli, unchanged) -> None:  # type: ignore[no-untyped-def]
    err = unchanged(cli("member", "add", "--name", "张三", "--phone", "138001380"), 2, "9 digits given")
    assert err.startswith("crmdesk: ")
    unchanged(cli("member", "add", "--name", "张三", "--phone", "010-8555-1234"), 2, "landline")
    unchanged(cli("member", "add", "--name", "张三", "--phone", "13800138000", "--birthday", "1985-13-01"), 2, "is not a real date")
    unchanged(cli("member", "add", "--name", "张三", "--phone", "13800138000", "--card", "2900000000017"), 2, "check digit")
    unchanged(cli("member", "add", "--name", "   ", "--phone", "13800138000"), 2, "Enter the member's name")


@pytest.mark.parametrize("typed", ["1990/7/8", "1990-07-08", "1990.7.8", "19900708", "1990年7月8日", "１９９０年７月８日"])
def test_birthdays_are_read_as_the_import_reads_them(cli, typed: str) -> None:  # type: ignore[no-untyped-def]
    added = _json(cli("member", "add", "--name", "张三", "--phone", "13800138000", "--birthday", typed, "--json"))
    assert added["birthday"] == "1990-07-08"
    assert _json(cli("member", "update", "13800138000", "--birthday", "", "--json"))["birthday"] is None
    assert _json(cli("member", "update", "13800138000", "--birthday", typed, "--json"))["birthday"] == "1990-07-08"


@pytest.mark.parametrize(
    ("typed", "words"),
    [("1990/2/30", "'1990/2/30' is not a real date"), ("2999-01-01", "must lie between 1900 and today"),
     ("1899-12-31", "must lie between 1900 and today"), ("8/7/1990", "write it like 1985-06-02"),
     ("生日", "write it like 1985-06-02")],
)
def test_impossible_or_future_birthdays_are_refused_and_nothing_changes(cli, unchanged, typed: str, words: str) -> None:  # type: ignore[no-untyped-def]
    unchanged(cli("member", "add", "--name", "张三", "--phone", "13800138000", "--birthday", typed), 2, words)
    assert cli("member", "add", "--name", "张三", "--phone", "13800138000")[0] == 0
    unchanged.refresh()
    unchanged(cli("member", "update", "13800138000", "--birthday", typed), 2, words)


def test_duplicates_name_the_existing_member(cli, unchanged) -> None:  # type: ignore[no-untyped-def]
    assert cli("member", "add", "--name", "张三", "--phone", "13800138000", "--birthday", "1985-06-02")[0] == 0
    unchanged.refresh()
    err = unchanged(cli("member", "add", "--name", "别人", "--phone", "138 0013 8000"), 4, "already belongs to member 张三 (M00000001)")
    assert "existing: M00000001 张三 138 0013 8000" in err and "--force-similar" not in err
    err = unchanged(cli("member", "add", "--name", "章三", "--phone", "13900000001", "--birthday", "1985-06-02"), 4, "may already be a member")
    assert "existing: M00000001 张三" in err and "--force-similar" in err
    forced = _json(cli("member", "add", "--name", "章三", "--phone", "13900000001", "--birthday", "1985-06-02", "--force-similar", "--json"))
    assert forced["member_no"] == "M00000002"


def test_show_explains_unknown_keys_and_cards_that_stopped(cli, unchanged) -> None:  # type: ignore[no-untyped-def]
    unchanged(cli("member", "show", "M00000009"), 3, "No member has the card number, member number or phone 'M00000009'")
    cli("member", "add", "--name", "张三", "--phone", "13800138000", "--card", "2900000000018")
    assert cli("card", "lost", "2900000000018")[0] == 0
    unchanged.refresh()
    err = unchanged(cli("member", "show", "2900000000018", "--json"), 4, "Card 2900000000018 is lost")
    assert "张三 (M00000001)" in err
    assert _json(cli("member", "show", "13800138000", "--json"))["warnings"] == ["lost_card"]


def test_search_prints_the_counters_ranked_matches(cli) -> None:  # type: ignore[no-untyped-def]
    for name, phone in (("张三", "13800138000"), ("张三丰", "13912348000"), ("李四", "13700001234")):
        assert cli("member", "add", "--name", name, "--phone", phone)[0] == 0
    found = _json(cli("member", "search", "zs", "--json"))
    assert found["card_warning"] is None
    assert [(m["rank"], m["name"], m["matched_by"]) for m in found["matches"]] == [(1, "张三", "initials"), (2, "张三丰", "initials")]
    assert found["matches"][0]["phone_display"] == "138 0013 8000" and found["matches"][0]["status"] == "active"
    assert [m["name"] for m in _json(cli("member", "search", "zs", "--limit", "1", "--json"))["matches"]] == ["张三"]
    assert [m["name"] for m in _json(cli("member", "search", "1234", "--json"))["matches"]] == ["李四"]
    assert _json(cli("member", "search", "王", "--json"))["matches"] == []
    code, out, _ = cli("member", "search", "张三")
    assert code == 0 and out.splitlines()[0].split("\t")[:3] == ["M00000001", "张三", "138 0013 8000"]
    code, _, err = cli("member", "search", "zs", "--limit", "0")
    assert code == 2 and "--limit" in err


def test_search_shows_a_lost_card_as_a_warning(cli) -> None:  # type: ignore[no-untyped-def]
    cli("member", "add", "--name", "张三", "--phone", "13800138000", "--card", "2900000000018")
    cli("card", "lost", "2900000000018")
    found = _json(cli("member", "search", "2900000000018", "--json"))
    assert found["matches"] == []
    assert (found["card_warning"]["status"], found["card_warning"]["member_no"]) == ("lost", "M00000001")
    code, out, _ = cli("member", "search", "2900000000018")
    assert code == 0 and "lost" in out and "does not open the member" in out


def test_update_fields_and_status_with_history(cli, db) -> None:  # type: ignore[no-untyped-def]
    cli("member", "add", "--name", "张三", "--phone", "13800138000", "--tags", "老顾客")
    code, out, err = cli("member", "update", "M00000001", "--name", "张叁", "--phone", "13900000001", "--address", "幸福路 8 号",
                         "--tags", "宝妈", "--notes", "只要小票")
    assert code == 0, err
    assert out.strip() == "张叁 (M00000001): changed name, phone, address, tags, notes."
    shown = _json(cli("member", "show", "13900000001", "--json"))
    assert (shown["name"], shown["address"], shown["tags"], shown["notes"]) == ("张叁", "幸福路 8 号", ["宝妈"], "只要小票")
    frozen = _json(cli("member", "update", "13900000001", "--status", "frozen", "--reason", "卡被冒用", "--json"))
    assert frozen["status"] == "frozen" and frozen["warnings"] == ["frozen"]
    with read_session(db) as session:
        changes = {(c.field, c.staff_name, c.old_value, c.new_value) for c in members.history(session, 1)}
    assert {("name", "王店长", "张三", "张叁"), ("phone", "王店长", "+8613800138000", "+8613900000001"),
            ("status", "王店长", "active", "frozen"), ("status_reason", "王店长", "", "卡被冒用")} <= changes
    assert _json(cli("member", "update", "M00000001", "--tags", "", "--json"))["tags"] == []


def test_update_refusals_change_nothing(cli, unchanged) -> None:  # type: ignore[no-untyped-def]
    cli("member", "add", "--name", "张三", "--phone", "13800138000")
    cli("member", "add", "--name", "李四", "--phone", "13900000001")
    unchanged.refresh()
    # A cashier may change details but not the status; the whole command is refused.
    unchanged(cli("--as", "收银员小李", "member", "update", "M00000001", "--name", "改名", "--status", "closed"), 5, "may not freeze")
    unchanged(cli("member", "update", "M00000001", "--phone", "13900000001"), 4, "already belongs to member 李四")
    unchanged(cli("member", "update", "M00000001", "--reason", "没有状态"), 2, "--reason goes with --status")
    unchanged(cli("member", "update", "M00000001"), 2, "Nothing to change")
    unchanged(cli("member", "update", "M00000009", "--name", "谁"), 3, "No member")
    unchanged(cli("--as", "没有这个人", "member", "update", "M00000001", "--name", "谁"), 3, "No active staff member")
    assert cli("--as", "收银员小李", "member", "update", "M00000001", "--name", "张叁")[0] == 0


def test_card_issue_replace_and_lost(cli, unchanged) -> None:  # type: ignore[no-untyped-def]
    cli("member", "add", "--name", "张三", "--phone", "13800138000")
    issued = _json(cli("--as", "收银员小李", "card", "issue", "13800138000", "--json"))
    assert issued == {"member_no": "M00000001", "name": "张三", "card": "2900000000018"}
    unchanged.refresh()
    unchanged(cli("card", "issue", "M00000001"), 4, "already has the working card 2900000000018; replace it instead")
    unchanged(cli("card", "replace", "M00000001", "--number", "2900000000026"), 2, "wrong check digit")
    unchanged(cli("card", "replace", "M00000001", "--number", "2900000000018"), 4, "already belongs to")
    code, out, err = cli("card", "replace", "2900000000018", "--number", "2900000000025")
    assert code == 0 and "card 2900000000018 no longer works" in out, err
    code, out, err = cli("card", "lost", "2900000000025")
    assert code == 0 and "reported lost" in out and "card replace M00000001" in out, err
    unchanged.refresh()
    unchanged(cli("card", "lost", "2900000000025"), 4, "not in use any more (it is reported lost)")
    unchanged(cli("card", "lost", "2999999999991"), 3, "No card with the number 2999999999991")
    unchanged(cli("card", "lost", "M00000001"), 3, "No card with the number")
    unchanged(cli("card", "replace", "2900000000025"), 4, "Card 2900000000025 is lost")
    unchanged(cli("card", "issue", "M00000009"), 3, "No member")
    # With no working card left, a generated number is issued directly.
    assert _json(cli("card", "issue", "m00000001", "--json"))["card"] == "2900000000032"
    shown = _json(cli("member", "show", "M00000001", "--json"))
    assert [(c["number"], c["status"]) for c in shown["cards"]] == [
        ("2900000000018", "replaced"), ("2900000000025", "lost"), ("2900000000032", "active")]
