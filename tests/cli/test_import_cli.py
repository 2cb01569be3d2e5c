"""`crmdesk import members FILE` end to end: summaries, exit statuses, rejects file, dry runs, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk.cli import main
from crmdesk.db import open_database, sqlite_url
from crmdesk.models import Card, Member, PointsEntry
from tests.services.test_imports import ROWS, members_file, write_xlsx

OWNER_PASSWORD = "cli-owner-pass"
BAD_ROW = ["A0002", "", "李四", "1381234567", "", "2023-02-30", "", "", "", ""]


def run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def database(capsys, monkeypatch, db_path: Path) -> str:  # type: ignore[no-untyped-def]
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO(OWNER_PASSWORD + "\n"))
    code, _, err = run(capsys, "--db", str(db_path), "init", "--owner", "王店长", "--password-stdin")
    assert code == 0, err
    return str(db_path)


def counts(db_path: str) -> tuple[int, int, int]:
    db = open_database(sqlite_url(Path(db_path)))
    try:
        with db.sessions() as session:
            return tuple(session.scalar(sa.select(sa.func.count()).select_from(model)) for model in (Member, Card, PointsEntry))  # type: ignore[return-value]
    finally:
        db.dispose()


def test_import_then_reimport(capsys, database: str, tmp_path: Path) -> None:
    path = members_file(tmp_path)
    code, out, err = run(capsys, "import", "members", str(path), "--db", database)
    assert code == 0, err
    assert "members.csv (UTF-8 with BOM): 3 rows" in out
    assert "new: 3  updated: 0  unchanged: 0  invalid: 0" in out and "Imported: 3 new" in out
    assert counts(database) == (3, 3, 2)
    code, out, _ = run(capsys, "--db", database, "import", "members", str(path))
    assert code == 0 and "new: 0  updated: 0  unchanged: 3  invalid: 0" in out
    assert counts(database) == (3, 3, 2)


def test_invalid_rows_stop_the_import_with_status_2(capsys, database: str, tmp_path: Path) -> None:
    path = members_file(tmp_path, [ROWS[0], BAD_ROW, ROWS[2]])
    code, out, err = run(capsys, "import", "members", str(path), "--db", database)
    assert code == 2
    assert "Row 3, column 手机: '1381234567' is not a valid mobile number" in err
    assert "Row 3, column 生日: '2023-02-30' is not a real date" in err
    assert "Nothing was imported: 1 invalid row (listed above). Correct it," in err and "invalid: 1" in out
    assert counts(database) == (0, 0, 0)
    assert not (tmp_path / "members.rejected.csv").exists()


def test_skip_invalid_imports_the_rest_and_says_where_the_rejects_are(capsys, database: str, tmp_path: Path) -> None:
    path = members_file(tmp_path, [ROWS[0], BAD_ROW, ROWS[2]])
    code, out, err = run(capsys, "import", "members", str(path), "--skip-invalid", "--db", database)
    assert code == 0, err
    rejects = tmp_path / "members.rejected.csv"
    assert f"1 invalid row was skipped; {rejects} has it with the reasons." in out
    assert "Row 3, column 手机" in err
    assert "李四" in rejects.read_text(encoding="utf-8-sig")
    assert counts(database) == (2, 2, 2)


def test_dry_run_writes_nothing(capsys, database: str, tmp_path: Path) -> None:
    path = members_file(tmp_path)
    code, out, _ = run(capsys, "import", "members", str(path), "--dry-run", "--db", database)
    assert code == 0 and "new: 3" in out and "Dry run: nothing was written." in out
    assert counts(database) == (0, 0, 0)
    # A dry run with invalid rows fails as the import would, still writing nothing (not even rejects).
    path = members_file(tmp_path, [ROWS[0], BAD_ROW])
    code, _, err = run(capsys, "import", "members", str(path), "--dry-run", "--db", database)
    assert code == 2 and "Row 3, column 手机" in err
    code, _, _ = run(capsys, "import", "members", str(path), "--dry-run", "--skip-invalid", "--db", database)
    assert code == 0
    assert counts(database) == (0, 0, 0) and not (tmp_path / "members.rejected.csv").exists()


def test_json_summary(capsys, database: str, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "members.xlsx", [["卡号", "姓名", "手机", "积分"], ["A1", "张三", 13812345678, 5],
                                                  ["A2", "李四", 1381234567, 0]])
    code, out, _ = run(capsys, "import", "members", str(path), "--skip-invalid", "--json", "--db", database)
    assert code == 0
    document = json.loads(out)
    assert (document["type"], document["new"], document["invalid"], document["imported"]) == ("xlsx", 1, 1, True)
    assert document["errors"] == [{"row": 3, "column": "手机", "reason": document["errors"][0]["reason"]}]
    assert "not a valid mobile number" in document["errors"][0]["reason"]
    assert document["rejects_file"] == str(tmp_path / "members.rejected.csv")


def test_file_level_errors_exit_2_and_change_nothing(capsys, database: str, tmp_path: Path) -> None:
    path = members_file(tmp_path, [["13812345678"]], header=["手机"])
    code, _, err = run(capsys, "import", "members", str(path), "--db", database)
    assert code == 2 and "The file has no column name/姓名. Columns found: 手机." in err
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"name,phone\r\n\xff\xfe\xfd")
    code, _, err = run(capsys, "import", "members", str(bad), "--db", database)
    assert code == 2 and "neither UTF-8 nor GBK/GB18030" in err
    code, _, err = run(capsys, "import", "members", str(tmp_path / "missing.csv"), "--db", database)
    assert code == 2 and "Cannot read" in err
    assert counts(database) == (0, 0, 0)


def test_import_needs_a_kind(capsys, database: str) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["import", "--db", database])
    assert caught.value.code == 2
    assert "WHAT" in capsys.readouterr().err


def test_a_cashier_cannot_import(capsys, monkeypatch, database: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO("1111\n"))
    assert run(capsys, "staff", "add", "收银员小王", "--pin-stdin", "--db", database)[0] == 0
    code, _, err = run(capsys, "import", "members", str(members_file(tmp_path)), "--as", "收银员小王", "--db", database)
    assert code == 5 and "收银员小王 may not" in err
    assert counts(database) == (0, 0, 0)


def test_rejects_that_cannot_be_written_stop_the_import(capsys, database: str, tmp_path: Path) -> None:
    path = members_file(tmp_path, [ROWS[0], BAD_ROW])
    (tmp_path / "members.rejected.csv").mkdir()  # in the way: the rejects file cannot be written
    code, _, err = run(capsys, "import", "members", str(path), "--skip-invalid", "--db", database)
    assert code == 2 and "Cannot write the rejected rows" in err
    assert counts(database) == (0, 0, 0)


def _junk_files(tmp_path: Path) -> list[tuple[Path, str]]:
    import zipfile

    (junk_xlsx := tmp_path / "x.xlsx").write_bytes(b"garbage\n")
    (binary := tmp_path / "members.csv").write_bytes(bytes(range(256)) * 8)
    (old_xls := tmp_path / "old.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500)
    with zipfile.ZipFile(archive := tmp_path / "archive.csv", "w") as zipped:
        zipped.writestr("members.csv", "姓名,手机\n张三,13812345678\n")
    workbook = write_xlsx(tmp_path / "book.xlsx", [["姓名", "手机"], ["张三", "13812345678"]])
    named_csv = workbook.rename(tmp_path / "book.csv")
    return [
        (junk_xlsx, "x.xlsx is not an Excel file: its name ends in .xlsx but it holds something else"),
        (binary, "members.csv is not a text (CSV) file: it holds binary data"),
        (old_xls, "is an old Excel .xls file"),
        (archive, "archive.csv is a ZIP archive, not a CSV or Excel file"),
        (named_csv, "book.csv is an Excel workbook, not a CSV file: rename it to end in .xlsx"),
    ]


@pytest.mark.parametrize("what", ["members", "purchases"])
def test_files_that_are_not_what_their_name_says_get_a_clear_message(capsys, database: str, tmp_path: Path, what: str) -> None:
    from tests.cli.test_cli import dump

    before = dump(Path(database))
    for path, words in _junk_files(tmp_path):
        for dry_run in ([], ["--dry-run"]):
            code, out, err = run(capsys, "--db", database, "import", what, str(path), *dry_run)
            assert (code, out) == (2, ""), (path, err)
            assert words in err and "column" not in err, (path, err)
    assert dump(Path(database)) == before
    assert not list(tmp_path.glob("*.rejected.csv"))


def test_opening_balances_and_debts_are_counted_and_described(capsys, database: str, tmp_path: Path) -> None:
    from tests.services.test_import_money import HEADER
    from tests.services.test_import_money import ROWS as MONEY_ROWS

    path = members_file(tmp_path, MONEY_ROWS, HEADER)
    code, out, err = run(capsys, "--db", database, "import", "members", str(path), "--dry-run")
    assert code == 0, err
    assert "would bring over: stored value ¥1,520.50 (bonus ¥20.00) for 2 members; debts ¥133.80 of 2 members" in out
    assert "row 2 (new: 张三): 余额: - -> ¥300.00; 赠送余额: - -> ¥20.00" in out
    code, out, err = run(capsys, "--db", database, "import", "members", str(path), "--json")
    document = json.loads(out)
    assert code == 0 and document["opening"] == {"wallets": 2, "wallet_principal_fen": 150_050, "wallet_bonus_fen": 2_000,
                                                 "debts": 2, "debt_fen": 13_380}
    code, out, _ = run(capsys, "--db", database, "import", "members", str(path))
    assert code == 0 and "unchanged: 4" in out and "bring" not in out
