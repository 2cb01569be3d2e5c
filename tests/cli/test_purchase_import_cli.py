"""`crmdesk import purchases FILE` end to end: summaries, exit statuses, rejects file, dry runs, JSON."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk.cli import main
from crmdesk.db import open_database, sqlite_url
from crmdesk.models import Member, PointsEntry, Purchase
from crmdesk.services import members
from crmdesk.services.uow import unit_of_work
from tests.services.test_purchase_imports import purchases_file, write_xlsx

OWNER_PASSWORD = "cli-owner-pass"
ROWS = [["R1", "01", "", "13812345678", "2025-03-01 09:30", "12.50"],
        ["R2", "01", "", "13912345678", "2025-03-01 09:31", "8"]]
BAD_ROW = ["R3", "01", "", "13600000000", "2025-03-01 09:32", "8.001"]


def run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def database(capsys, monkeypatch, db_path: Path) -> str:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.StringIO(OWNER_PASSWORD + "\n"))
    code, _, err = run(capsys, "--db", str(db_path), "init", "--owner", "王店长", "--password-stdin")
    assert code == 0, err
    db = open_database(sqlite_url(db_path))
    try:
        from crmdesk.services import staff

        with unit_of_work(db) as session:
            actor = staff.actor_for(session, None)
            for name, phone in (("张三", "13812345678"), ("李四", "13912345678")):
                members.register(session, actor, members.MemberInput(name=name, phone=phone))
    finally:
        db.dispose()
    return str(db_path)


def counts(db_path: str) -> tuple[int, int, int]:
    db = open_database(sqlite_url(Path(db_path)))
    try:
        with db.sessions() as session:
            purchases = session.scalar(sa.select(sa.func.count()).select_from(Purchase))
            entries = session.scalar(sa.select(sa.func.count()).select_from(PointsEntry))
            points = session.scalar(sa.select(sa.func.sum(Member.points_balance)))
            return purchases, entries, points  # type: ignore[return-value]
    finally:
        db.dispose()


def test_import_then_reimport(capsys, database: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = purchases_file(tmp_path / "purchases.csv", ROWS)
    code, out, err = run(capsys, "import", "purchases", str(path), "--db", database)
    assert code == 0, err
    assert "purchases.csv (UTF-8 with BOM): 2 rows, 2 receipts" in out and "new: 2  unchanged: 0  invalid: 0" in out
    assert "Imported: 2 sales, 0 refunds, 0 unchanged; 20 points earned" in out
    assert counts(database) == (2, 2, 20)
    code, out, _ = run(capsys, "import", "purchases", str(path), "--db", database)
    assert code == 0 and "new: 0  unchanged: 2  invalid: 0" in out
    assert counts(database) == (2, 2, 20)


def test_invalid_rows_stop_the_import_with_status_2(capsys, database: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = purchases_file(tmp_path / "purchases.csv", [*ROWS, BAD_ROW])
    code, out, err = run(capsys, "import", "purchases", str(path), "--db", database)
    assert code == 2
    assert "Row 4, column 手机: No member with the card, member number or phone 13600000000." in err
    assert "Row 4, column 金额: '8.001' has more than two decimals." in err
    assert "Nothing was imported: 1 invalid row (listed above). Correct it," in err and "invalid: 1" in out
    assert counts(database) == (0, 0, 0)
    assert not (tmp_path / "purchases.rejected.csv").exists()


def test_skip_invalid_and_rejects(capsys, database: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = purchases_file(tmp_path / "purchases.csv", [*ROWS, BAD_ROW])
    code, out, err = run(capsys, "import", "purchases", str(path), "--skip-invalid", "--db", database)
    assert code == 0, err
    rejects = tmp_path / "purchases.rejected.csv"
    assert f"1 invalid receipt (1 row) was skipped; {rejects} has it with the reasons." in out
    assert "R3" in rejects.read_text(encoding="utf-8-sig")
    assert counts(database) == (2, 2, 20)


def test_dry_run_writes_nothing(capsys, database: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = purchases_file(tmp_path / "purchases.csv", ROWS)
    code, out, _ = run(capsys, "import", "purchases", str(path), "--dry-run", "--db", database)
    assert code == 0 and "new: 2" in out and "Dry run: nothing was written." in out
    path = purchases_file(tmp_path / "bad.csv", [*ROWS, BAD_ROW])
    code, _, err = run(capsys, "import", "purchases", str(path), "--dry-run", "--db", database)
    assert code == 2 and "Row 4, column 手机" in err
    code, _, _ = run(capsys, "import", "purchases", str(path), "--dry-run", "--skip-invalid", "--db", database)
    assert code == 0
    assert counts(database) == (0, 0, 0) and not (tmp_path / "bad.rejected.csv").exists()


def test_json_summary_of_an_xlsx_file(capsys, database: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_xlsx(tmp_path / "p.xlsx", [["receipt_no", "phone", "time", "amount"], ["X1", 13812345678, "2025-03-01 10:00", 5],
                                            ["X2", 13600000000, "2025-03-01 10:00", 5]])
    code, out, _ = run(capsys, "import", "purchases", str(path), "--skip-invalid", "--json", "--db", database)
    assert code == 0
    document = json.loads(out)
    assert (document["type"], document["new"], document["invalid"], document["imported"], document["sales"]) == ("xlsx", 1, 1, True, 1)
    assert document["errors"][0]["row"] == 3 and document["errors"][0]["column"] == "phone"
    assert document["rejects_file"] == str(tmp_path / "p.rejected.csv")


def test_file_level_errors_exit_2(capsys, database: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = purchases_file(tmp_path / "p.csv", [["R1", "12"]], ["小票号", "金额"])
    code, _, err = run(capsys, "import", "purchases", str(path), "--db", database)
    assert code == 2 and "The file has no column time/时间" in err
    code, _, err = run(capsys, "import", "purchases", str(tmp_path / "missing.csv"), "--db", database)
    assert code == 2 and "Cannot read" in err
    assert counts(database) == (0, 0, 0)


def test_a_cashier_cannot_import(capsys, monkeypatch, database: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.StringIO("1111\n"))
    assert run(capsys, "staff", "add", "收银员小王", "--pin-stdin", "--db", database)[0] == 0
    path = purchases_file(tmp_path / "p.csv", ROWS)
    code, _, err = run(capsys, "import", "purchases", str(path), "--as", "收银员小王", "--db", database)
    assert code == 5 and "收银员小王 may not import purchases" in err
    assert counts(database) == (0, 0, 0)


def test_members_import_still_there(capsys, database: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    out = capsys.readouterr().out
    assert "members" in out and "purchases" in out
