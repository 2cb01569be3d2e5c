"""`crmdesk member export-data|erase` and `crmdesk privacy retention` end to end: output, exit statuses, nothing changed on refusal."""

from __future__ import annotations

import io
import json
import stat
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk.cli import main
from crmdesk.models import AuditEvent, Member
from crmdesk.services import members
from crmdesk.services.uow import read_session
from tests.cli.test_cli import dump
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures
from tests.services.test_privacy import (
    NAME,
    PHONE,
    _closed,
    _retention,
    build_member,
    settle_money,
)


@pytest.fixture(autouse=True)
def _gui_application(qapp):  # type: ignore[no-untyped-def]
    """export-data makes a bare QCoreApplication to print in a language when none exists, and a process has only
    one: start pytest-qt's QApplication first, so later GUI tests still get theirs."""
    return qapp


class Terminal(io.StringIO):
    """Standard input a person types into."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def cli(capsys, monkeypatch, db, db_path: Path):  # type: ignore[no-untyped-def]
    """Run `crmdesk --db <the store> ARGS...` with ``stdin``; returns (exit status, stdout, stderr)."""

    def run(*argv: str, stdin: io.StringIO | None = None) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", stdin if stdin is not None else io.StringIO(""))
        code = main(["--db", str(db_path), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def rich(db, owner, cashier) -> int:  # type: ignore[no-untyped-def]
    return build_member(db, owner, cashier)


def test_export_data_prints_both_files(cli, rich, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("member", "export-data", PHONE, "--out", str(tmp_path))
    assert code == 0, err
    json_path, pdf_path = (Path(line) for line in out.splitlines())
    assert json_path.suffix == ".json" and pdf_path.suffix == ".pdf" and json_path.parent == pdf_path.parent == tmp_path
    assert "M00000001" in json_path.name and stat.S_IMODE(json_path.stat().st_mode) == 0o600
    assert json.loads(json_path.read_text(encoding="utf-8"))["member"]["name"] == NAME
    assert pdf_path.read_bytes().startswith(b"%PDF")
    code, out, err = cli("member", "export-data", "M00000001", "--out", str(tmp_path), "--json")
    assert code == 0, err
    again = json.loads(out)
    assert again["json"].endswith("-2.json") and again["pdf"].endswith("-2.pdf")  # the first files are kept


def test_export_data_is_refused_to_a_cashier_and_for_a_missing_folder(cli, db_path, rich, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "out"
    folder.mkdir()
    before = dump(db_path)
    code, out, err = cli("--as", "收银员小李", "member", "export-data", PHONE, "--out", str(folder))
    assert (code, out) == (5, "") and "may not give out a member's copy of their data" in err
    code, out, err = cli("member", "export-data", PHONE, "--out", str(folder / "missing"))
    assert (code, out) == (2, "") and "not an existing folder" in err
    code, out, err = cli("member", "export-data", "13900000000", "--out", str(folder))
    assert code == 3 and "No member" in err
    assert list(folder.iterdir()) == [] and dump(db_path) == before


def test_erase_without_a_terminal_or_yes_is_refused(cli, db, db_path, owner, rich) -> None:  # type: ignore[no-untyped-def]
    settle_money(db, owner, rich)
    before = dump(db_path)
    code, out, err = cli("member", "erase", PHONE)
    assert (code, out) == (2, "") and "No terminal to type the member's name on" in err and "--yes" in err
    assert dump(db_path) == before


def test_erase_asks_for_the_name_at_a_terminal(cli, db, db_path, owner, rich) -> None:  # type: ignore[no-untyped-def]
    settle_money(db, owner, rich)
    before = dump(db_path)
    code, out, err = cli("member", "erase", PHONE, stdin=Terminal("张小明\n"))
    assert code == 2 and "'张小明' is not this member's name or member number" in err
    assert dump(db_path) == before
    code, out, err = cli("member", "erase", PHONE, stdin=Terminal(f"{NAME}\n"))
    assert code == 0, err
    assert f"erases the personal data of {NAME} (M00000001)" in out and "Type the member's name" in out
    assert "Erased the personal data of member M00000001; the member is now listed as 匿名会员 #M00000001." in out
    with read_session(db) as session:
        member = session.get(Member, rich)
        assert member.name == "匿名会员 #M00000001" and member.phone is None
        assert session.scalars(sa.select(AuditEvent.staff_name).where(AuditEvent.action == "member.erase")).all() == ["王店长"]
    code, _out, err = cli("member", "erase", "M00000001", "--yes")
    assert code == 4 and "was already erased on" in err


def test_erase_with_money_held_is_refused_and_says_what_to_settle(cli, db_path, rich) -> None:  # type: ignore[no-untyped-def]
    before = dump(db_path)
    code, out, err = cli("member", "erase", PHONE, "--yes")
    assert (code, out) == (4, "")
    assert "cash out the stored value and settle or write off the debt first" in err
    code, out, err = cli("--as", "值班经理", "member", "erase", PHONE, "--yes")
    assert (code, out) == (5, "") and "may not erase a member's personal data; ask the owner" in err
    assert dump(db_path) == before


def test_retention_lists_and_runs(cli, db, owner) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("privacy", "retention")
    assert code == 0 and "No retention period is set" in out
    old = _closed(db, owner, "老客甲", "13500000001", 3.5)
    _closed(db, owner, "老客乙", "13500000002", 0.5)
    saver = _closed(db, owner, "老客丙", "13500000003", 4.0, top_up=5_000)
    _retention(db, 2)
    code, out, err = cli("privacy", "retention")
    assert code == 0, err
    assert "Retention period: 2 years; 2 members closed for longer." in out
    assert "老客甲" in out and "老客丙" in out and "skipped until settled: stored value ¥50.00" in out and "老客乙" not in out
    code, out, err = cli("--as", "值班经理", "privacy", "retention", "--run")
    assert code == 5 and "may not erase" in err
    code, out, err = cli("privacy", "retention", "--run", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["retention_years"] == 2 and [d["id"] for d in document["due"]] == [saver, old]
    assert document["due"][0]["stored_value"] == {"fen": 5_000, "yuan": "50.00"} and document["due"][0]["blocked"] is True
    with read_session(db) as session:
        old_no = members.profile(session, old).member_no
        saver_no = members.profile(session, saver).member_no
        assert session.get(Member, old).erased_at is not None and session.get(Member, saver).erased_at is None
    assert (document["erased"], document["skipped"]) == ([old_no], [saver_no])
    code, out, err = cli("privacy", "retention", "--json")
    assert code == 0 and [d["member_no"] for d in json.loads(out)["due"]] == [saver_no]
