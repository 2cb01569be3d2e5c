"""Damaged and hostile files, for the member and the purchase import alike: each is refused at once with a
message that names the file, says what is wrong and what to do and quotes no cell, and nothing is written.

The files are made here: workbooks from openpyxl whose parts are then cut, corrupted or replaced."""

from __future__ import annotations

import io
import struct
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from openpyxl.utils import get_column_letter

from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.errors import InvalidInput
from crmdesk.models import AuditEvent, Member, PointsEntry, Purchase
from crmdesk.services import cards, members, store, tabular
from crmdesk.services.imports import apply_import, plan_import
from crmdesk.services.purchase_imports import apply_purchase_import, plan_purchase_import
from crmdesk.services.uow import Actor, read_session, unit_of_work
from tests.services.test_imports import write_csv

SHEET = "xl/worksheets/sheet1.xml"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
KINDS = ("members", "purchases")
HEADER = {"members": ["姓名", "手机", "卡号"], "purchases": ["小票号", "卡号", "时间", "金额"]}
ROW = {"members": ["张三", "13812345678", "A0001"], "purchases": ["R0001", "A0001", "2026-11-17 10:00", "12.50"]}
# Without the column each import needs first: 姓名 (name) and 时间 (time).
HEADER_WITHOUT_NEEDED = {"members": ["手机", "卡号"], "purchases": ["小票号", "卡号", "金额"]}
PERSONAL = ("张三", "13812345678", "A0001", "R0001")


# --------------------------------------------------------------------------- the database and the importers


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One database for the whole module (every test asserts that nothing was written): 张三 with card A0001."""
    database = open_database(sqlite_url(tmp_path_factory.mktemp("damaged") / "store.sqlite"))
    with unit_of_work(database) as session:
        actor = store.initialise(session, owner_name="店长", owner_password="owner-secret-1", store_name="共用")
        member = members.register(session, actor, members.MemberInput(name="张三", phone="13812345678"))
        cards.issue(session, actor, member.id, "A0001", imported=True)
    yield database, actor
    database.dispose()


def counts(db: Database) -> tuple[int, ...]:
    with read_session(db) as session:
        return tuple(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
                     for model in (Member, Purchase, PointsEntry, AuditEvent))


def run_import(db: Database, actor: Actor, kind: str, path: Path) -> object:
    with unit_of_work(db) as session:
        if kind == "members":
            return apply_import(session, actor, plan_import(session, path))
        return apply_purchase_import(session, actor, plan_purchase_import(session, path))


def refused(shared, kind: str, path: Path, *words: str) -> str:  # type: ignore[no-untyped-def]
    """The import is refused with a message naming the file and saying the words, without any cell's
    contents; nothing was written."""
    db, actor = shared
    before = counts(db)
    with pytest.raises(InvalidInput) as caught:
        run_import(db, actor, kind, path)
    message = caught.value.message
    assert str(path) in message or "The file has no column" in message, message
    for word in words:
        assert word in message, message
    for value in PERSONAL:
        assert value not in message, message
    assert counts(db) == before
    return message


# --------------------------------------------------------------------------- making damaged files


def workbook_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    buffer = io.BytesIO()
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(list(row))
    workbook.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, change: Callable[[str, bytes], bytes | None], *,
          compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The workbook with each part as change(name, content) gives it (None leaves the part out)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as target:
        for info in source.infolist():
            content = change(info.filename, source.read(info.filename))
            if content is not None:
                target.writestr(info.filename, content)
    return out.getvalue()


def with_sheet(sheet: bytes, *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    return rezip(workbook_bytes([["x"]]), lambda name, content: sheet if name == SHEET else content,
                 compression=compression)


def cells(number: int, values: Sequence[str], first_column: int = 1) -> str:
    inline = "".join(f'<c r="{get_column_letter(first_column + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>'
                     for i, v in enumerate(values) if v != "")
    return f'<row r="{number}">{inline}</row>'


def sheet_xml(rows: Sequence[str], *, prolog: str = "") -> bytes:
    # With the size a sheet states before its data, as Excel, WPS and openpyxl write it.
    return f'{prolog}<worksheet xmlns="{NS}"><dimension ref="A1"/><sheetData>{"".join(rows)}</sheetData></worksheet>'.encode()


def good_sheet(kind: str, data_rows: int = 1) -> bytes:
    return sheet_xml([cells(1, HEADER[kind]), *(cells(n, ROW[kind]) for n in range(2, data_rows + 2))])


def declare_size(data: bytes, name: str, size: int) -> bytes:
    """The workbook with the ZIP directory stating another unpacked size for one part."""
    out = bytearray(data)
    position = out.find(b"PK\x01\x02")
    while position >= 0:
        name_length = struct.unpack_from("<H", out, position + 28)[0]
        if bytes(out[position + 46:position + 46 + name_length]).decode() == name:
            struct.pack_into("<I", out, position + 24, size)
            return bytes(out)
        position = out.find(b"PK\x01\x02", position + 4)
    raise AssertionError(name)


def save(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- CSV


@pytest.mark.parametrize("kind", KINDS)
def test_a_first_line_longer_than_the_csv_field_limit(shared, tmp_path, kind: str) -> None:
    # Past 131,072 characters csv.reader itself gives up ("field larger than field limit").
    path = write_csv(tmp_path / "long.csv", [[*HEADER[kind], "备注" + "注" * 140_000], ROW[kind]])
    refused(shared, kind, path, "Row 1 of", "has a cell of more than 32,767 characters", "save the list again")


@pytest.mark.parametrize("kind", KINDS)
def test_a_cell_longer_than_excel_allows_is_named_by_its_row(shared, tmp_path, kind: str) -> None:
    path = write_csv(tmp_path / "cell.csv", [[*HEADER[kind], "备注"], [*ROW[kind], ""], [*ROW[kind], "x" * 40_000]])
    refused(shared, kind, path, "Row 3 of", "more than 32,767 characters")


def test_an_unclosed_quote_names_the_row_it_starts_on(shared, tmp_path) -> None:
    text = "姓名,手机\r\n张三,13812345678\r\n\"李四,13912345678\r\n" + "王五,13712345678\r\n" * 3_000
    path = save(tmp_path, "quote.csv", text.encode("utf-8"))
    refused(shared, "members", path, "Row 3 of", "a quote mark (\") that is never closed")


def test_a_line_of_millions_of_delimiters_is_refused_before_it_is_split(shared, tmp_path, monkeypatch) -> None:
    path = save(tmp_path, "commas.csv", ("姓名,手机\r\n张三" + "," * 7_000_000 + "\r\n").encode("utf-8"))
    real_reader = tabular.csv.reader
    widest: list[int] = [0]

    def watched_reader(lines, **options):  # type: ignore[no-untyped-def]
        for record in real_reader(lines, **options):
            widest[0] = max(widest[0], len(record))
            yield record

    monkeypatch.setattr(tabular.csv, "reader", watched_reader)
    refused(shared, "members", path, "Row 2 of", "runs on for more than 6,554,000 characters", "Correct that row")
    assert widest[0] <= 2  # the long line never became a record of millions of cells


@pytest.mark.parametrize("kind", KINDS)
def test_more_columns_than_the_limit(shared, tmp_path, kind: str) -> None:
    header = [*HEADER[kind], *(f"列{i}" for i in range(tabular.MAX_COLUMNS + 1 - len(HEADER[kind])))]
    path = write_csv(tmp_path / "wide.csv", [header, ROW[kind]])
    refused(shared, kind, path, "Row 1 of", "has more than 200 columns", "delete the columns that are not imported")


def test_empty_cells_after_the_last_column_are_no_columns(shared, tmp_path) -> None:
    db, _ = shared
    path = write_csv(tmp_path / "trailing.csv", [[*HEADER["members"], *[""] * 500], [*ROW["members"], *[""] * 500]])
    with read_session(db) as session:
        plan = plan_import(session, path)
    assert [row.action.value for row in plan.rows] == ["unchanged"] and len(plan.headers) == tabular.MAX_COLUMNS


@pytest.mark.parametrize("kind", KINDS)
def test_more_rows_than_the_limit(shared, tmp_path, monkeypatch, kind: str) -> None:
    monkeypatch.setattr(tabular, "MAX_ROWS", 50)
    path = write_csv(tmp_path / "many.csv", [HEADER[kind], *[ROW[kind]] * 60])
    refused(shared, kind, path, "has more than 50 rows", "split it into smaller files")


def test_a_file_larger_than_the_limit_is_not_read(shared, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tabular, "MAX_FILE_BYTES", 2**20)
    path = save(tmp_path, "big.csv", ("姓名,手机\r\n" + "张三,13812345678\r\n" * 70_000).encode("utf-8"))
    refused(shared, "members", path, "is larger than 1 MB", "split it into smaller files")


@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_column_is_refused_before_the_rest_is_read(shared, tmp_path, kind: str) -> None:
    # The cell on row 15 would be refused too, but the header is checked first (among the first ten rows).
    rows = [HEADER_WITHOUT_NEEDED[kind], *[ROW[kind][:2]] * 13, ["x" * 200_000]]
    message = refused(shared, kind, write_csv(tmp_path / "m.csv", rows), "The file has no column")
    assert "Row 15" not in message


def test_a_data_row_taken_for_the_header_is_not_repeated_at_length(shared, tmp_path) -> None:
    header = [f"{i:03d}" + "某" * 100 for i in range(120)]
    message = refused(shared, "members", write_csv(tmp_path / "m.csv", [header, header]), "The file has no column")
    assert len(message) < 2_000 and message.endswith("…, ….") and "029" in message and "030" not in message


# --------------------------------------------------------------------------- XLSX


@pytest.mark.parametrize("kind", KINDS)
def test_a_sheet_cut_in_half(shared, tmp_path, kind: str) -> None:
    sheet = good_sheet(kind, 20)
    path = save(tmp_path, "cut.xlsx", with_sheet(sheet[: len(sheet) // 2]))
    refused(shared, kind, path, "is damaged (the sheet is cut short): open it in Excel or WPS and save it again",
            "save it as CSV")


def test_a_part_cut_short_before_the_sheet(shared, tmp_path) -> None:
    data = rezip(workbook_bytes([HEADER["members"], ROW["members"]]),
                 lambda name, content: content[: len(content) // 2] if name == "xl/workbook.xml" else content)
    refused(shared, "members", save(tmp_path, "cut.xlsx", data), "is damaged (part of it is cut short)")


@pytest.mark.parametrize("kind", KINDS)
def test_a_workbook_without_sheets(shared, tmp_path, kind: str) -> None:
    import re

    data = rezip(workbook_bytes([HEADER[kind], ROW[kind]]),
                 lambda name, content: re.sub(rb"<sheet [^>]*/>", b"", content) if name == "xl/workbook.xml" else content)
    refused(shared, kind, save(tmp_path, "nosheet.xlsx", data), "has no worksheet", "put the list on the first sheet")


@pytest.mark.parametrize("kind", KINDS)
def test_a_corrupt_compressed_part(shared, tmp_path, kind: str) -> None:
    data = bytearray(with_sheet(good_sheet(kind, 200)))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(SHEET)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for offset in range(start + 40, start + 60):
        data[offset] ^= 0x5A
    refused(shared, kind, save(tmp_path, "corrupt.xlsx", bytes(data)), "is damaged (part of the workbook cannot be unpacked)")


def test_a_part_whose_checksum_is_wrong(shared, tmp_path) -> None:
    data = with_sheet(good_sheet("members", 3), compression=zipfile.ZIP_STORED)
    # One digit of a phone changed inside the stored part: the XML is fine, the CRC-32 is not.
    data = data.replace(b"<t>13812345678</t></is></c><c r=\"C3\"", b"<t>13812345679</t></is></c><c r=\"C3\"")
    refused(shared, "members", save(tmp_path, "crc.xlsx", data), "part of the workbook cannot be unpacked")


def test_a_part_is_never_unpacked_beyond_its_stated_size(shared, tmp_path) -> None:
    data = declare_size(with_sheet(good_sheet("members", 500)), SHEET, 2_000)
    refused(shared, "members", save(tmp_path, "lying.xlsx", data), "is damaged")


def test_a_zip_that_unpacks_to_more_than_the_limit_is_refused_from_its_directory(shared, tmp_path) -> None:
    # The sheet is not even XML: the stated size alone refuses the file, before any part is unpacked.
    data = declare_size(with_sheet(b"not xml at all" * 100), SHEET, tabular.MAX_UNPACKED_BYTES + 1)
    started = time.perf_counter()
    refused(shared, "members", save(tmp_path, "bomb.xlsx", data), "would unpack to 257 MB, more than the 256 MB",
            "split the list into smaller files")
    assert time.perf_counter() - started < 1


def test_a_highly_compressible_workbook_over_the_limit(shared, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tabular, "MAX_UNPACKED_BYTES", 2**20)
    data = with_sheet(good_sheet("members", 20_000))
    assert len(data) < 2**20 < sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    refused(shared, "members", save(tmp_path, "zipped.xlsx", data), "would unpack to", "more than the 1 MB")


@pytest.mark.parametrize("kind", KINDS)
def test_a_row_past_excels_last_row_stops_the_reading_there(shared, tmp_path, kind: str) -> None:
    # openpyxl fills the rows in between; a row numbered in the billions is read no further than the limit.
    sheet = sheet_xml([cells(1, HEADER[kind]), cells(2, ROW[kind]), cells(4_000_000_000, ROW[kind])])
    started = time.perf_counter()
    refused(shared, kind, save(tmp_path, "far.xlsx", with_sheet(sheet)), "has more than 1,048,576 rows")
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("kind", KINDS)
def test_too_many_rows_are_refused_before_the_rest_of_the_sheet_is_read(shared, tmp_path, monkeypatch, kind: str) -> None:
    monkeypatch.setattr(tabular, "MAX_ROWS", 100)
    sheet = good_sheet(kind, 5_000)
    # Cut short after the limit: read to its end, it would be refused as damaged instead.
    path = save(tmp_path, "long.xlsx", with_sheet(sheet[: len(sheet) * 3 // 4]))
    refused(shared, kind, path, "has more than 100 rows")


@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_column_is_refused_before_the_sheet_is_read(shared, tmp_path, kind: str) -> None:
    sheet = sheet_xml([cells(1, HEADER_WITHOUT_NEEDED[kind]), *(cells(n, ROW[kind][:2]) for n in range(2, 3_000))])
    path = save(tmp_path, "nocolumn.xlsx", with_sheet(sheet[: len(sheet) // 2]))
    refused(shared, kind, path, "The file has no column")


def test_a_value_past_the_last_column_in_a_workbook(shared, tmp_path) -> None:
    sheet = sheet_xml([cells(1, HEADER["members"]), cells(2, ROW["members"]),
                       cells(3, ["x"], first_column=tabular.MAX_COLUMNS + 1)])
    refused(shared, "members", save(tmp_path, "wide.xlsx", with_sheet(sheet)), "Row 3 of", "more than 200 columns")


def test_formatted_empty_cells_far_right_are_no_columns(shared, tmp_path) -> None:
    db, _ = shared
    row = cells(2, ROW["members"]).replace("</row>", '<c r="XFD2" s="0"/></row>')
    path = save(tmp_path, "styled.xlsx", with_sheet(sheet_xml([cells(1, HEADER["members"]), row])))
    with read_session(db) as session:
        plan = plan_import(session, path)
    assert [row.action.value for row in plan.rows] == ["unchanged"] and plan.headers == tuple(HEADER["members"])


def test_a_cell_longer_than_excel_allows_in_a_workbook(shared, tmp_path) -> None:
    sheet = sheet_xml([cells(1, HEADER["members"]), cells(2, ROW["members"]), cells(3, ["李四", "y" * 40_000])])
    refused(shared, "members", save(tmp_path, "cell.xlsx", with_sheet(sheet)), "Row 3 of", "more than 32,767 characters")


BOMB = ("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        + "".join(f"<!ENTITY lol{i} \"{('&lol' + str(i - 1) + ';') * 10 if i > 1 else '&lol;' * 10}\">" for i in range(1, 10))
        + "]>")


@pytest.mark.parametrize("part", [SHEET, "xl/workbook.xml"])
@pytest.mark.parametrize("kind", KINDS)
def test_an_xml_entity_bomb_is_not_expanded(shared, tmp_path, kind: str, part: str) -> None:
    assert openpyxl.DEFUSEDXML  # openpyxl parses with defusedxml
    source = workbook_bytes([HEADER[kind], ROW[kind]])

    def arm(name: str, content: bytes) -> bytes:
        if name != part:
            return content
        body = content.split(b"?>", 1)[1] if content.startswith(b"<?xml") else content
        return BOMB.encode() + body.replace(b"<t>", b"<t>&lol9;", 1) if name == SHEET else BOMB.encode() + body

    started = time.perf_counter()
    refused(shared, kind, save(tmp_path, "lol.xlsx", rezip(source, arm)), "is damaged or unsafe",
            "declares XML entities")
    assert time.perf_counter() - started < 1


def test_every_refusal_leaves_a_valid_file_importable(shared, tmp_path) -> None:
    """The limits leave an ordinary workbook alone: the refusals above are the files', not the reader's."""
    db, _ = shared
    path = save(tmp_path, "fine.xlsx", with_sheet(good_sheet("members", 3)))
    with read_session(db) as session:
        plan = plan_import(session, path)
    assert plan.file_type == "xlsx" and [row.row for row in plan.rows] == [2, 3, 4]
