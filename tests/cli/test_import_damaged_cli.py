"""`crmdesk import members|purchases FILE` with damaged and hostile files: status 2, the message on stderr,
no traceback, nothing written (the files themselves: tests/services/test_import_damaged_files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_import_cli import counts, database, run  # noqa: F401 - database is a fixture
from tests.services.test_import_damaged_files import BOMB, HEADER, ROW, good_sheet, rezip, with_sheet, workbook_bytes
from tests.services.test_imports import write_csv


def cut_workbook(kind: str) -> bytes:
    sheet = good_sheet(kind, 20)
    return with_sheet(sheet[: len(sheet) // 2])


def bomb_workbook(kind: str) -> bytes:
    return rezip(workbook_bytes([HEADER[kind], ROW[kind]]),
                 lambda name, content: BOMB.encode() + content if name == "xl/workbook.xml" else content)


@pytest.mark.parametrize("kind", ["members", "purchases"])
@pytest.mark.parametrize(("make", "words"), [
    (cut_workbook, "is damaged (the sheet is cut short): open it in Excel or WPS and save it again"),
    (bomb_workbook, "is damaged or unsafe"),
])
def test_a_damaged_workbook_exits_2_with_its_message(capsys, database: str, tmp_path: Path, kind: str, make, words: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "list.xlsx"
    path.write_bytes(make(kind))
    code, out, err = run(capsys, "import", kind, str(path), "--db", database)
    assert code == 2 and f"{path} {words}" in err, err
    assert "Traceback" not in err and "Error" not in err
    assert counts(database) == (0, 0, 0)


@pytest.mark.parametrize("kind", ["members", "purchases"])
def test_a_csv_line_past_the_field_limit_exits_2(capsys, database: str, tmp_path: Path, kind: str) -> None:
    path = write_csv(tmp_path / "list.csv", [[*HEADER[kind], "x" * 140_000], ROW[kind]])
    code, _, err = run(capsys, "import", kind, str(path), "--db", database)
    assert code == 2 and f"Row 1 of {path} has a cell of more than 32,767 characters" in err, err
    assert "Traceback" not in err and "field limit" not in err
    assert counts(database) == (0, 0, 0)
