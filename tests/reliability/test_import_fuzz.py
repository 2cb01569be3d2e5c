"""Fuzzing the member and the purchase import with generated files: CSV in several encodings and XLSX, with
random rows, wrong phones, dates and amounts, repeated rows, odd headers, cut-off and flipped bytes.

Whatever the file, the import either refuses it as a whole with a crmdesk error and changes nothing, or
names every refused row by its number and imports all the other rows -- never some of them, and never with
an exception of another kind. A few examples by default; CRMDESK_FUZZ_EXAMPLES=500 for a long run."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Callable, Sequence
from datetime import datetime

import openpyxl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.errors import CrmdeskError, InvalidInput
from crmdesk.models import (
    AuditEvent, Card, CreditEntry, Member, MemberChange, PointsEntry, Purchase, PurchaseLine, WalletEntry,
)
from crmdesk.services import cards, members, store
from crmdesk.services.imports import Action, apply_import, plan_import
from crmdesk.services.purchase_imports import apply_purchase_import, plan_purchase_import
from crmdesk.services.uow import read_session, unit_of_work
from tests.conftest import assert_books_agree

EXAMPLES = int(os.environ.get("CRMDESK_FUZZ_EXAMPLES") or 15)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # The autouse data-directory fixture is function-scoped; the database is the module's and each
    # example compares it only with itself before and after.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
SHEET = "xl/worksheets/sheet1.xml"
TABLES = (Member, Card, PointsEntry, WalletEntry, CreditEntry, MemberChange, Purchase, PurchaseLine, AuditEvent)


# --------------------------------------------------------------------------- the database


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """张三 (card A0001, 13812345678) and 李四 (card A0002, 13912345678); a folder for the generated files."""
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "store.sqlite"
    database = open_database(sqlite_url(path))
    with unit_of_work(database) as session:
        actor = store.initialise(session, owner_name="店长", owner_password="owner-secret-1", store_name="试验")
        for name, phone, card in (("张三", "13812345678", "A0001"), ("李四", "13912345678", "A0002")):
            member_id = members.register(session, actor, members.MemberInput(name=name, phone=phone)).id
            cards.issue(session, actor, member_id, card, imported=True)
    yield database, actor, folder
    database.dispose()
    assert_books_agree(path)


def census(db: Database) -> dict[str, int]:
    with read_session(db) as session:
        return {model.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(model)) or 0 for model in TABLES}


# --------------------------------------------------------------------------- generated files

_TEXT = st.text(max_size=12)  # no lone surrogates: every encoding here can write it


def mostly(valid: st.SearchStrategy[object], wrong: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """Valid values nine times in ten, so that files with valid rows beside the wrong ones are common."""
    return st.sampled_from((True,) * 9 + (False,)).flatmap(lambda ok: valid if ok else wrong)


MEMBER_CELLS = {
    "卡号": mostly(st.from_regex(r"[A-Z]\d{4}", fullmatch=True) | st.just(""), st.sampled_from(["A0001", "A0002", "A" * 33])),
    "会员编号": mostly(st.just(""), st.sampled_from(["OLD-1", "OLD-2", "M00000001"])),
    "姓名": mostly(st.sampled_from(["张三", "李四", "王五", "赵六", "Ann Lee"]), st.sampled_from(["", "  "]) | _TEXT),
    "手机": mostly(st.from_regex(r"1[3-9]\d{9}", fullmatch=True) | st.sampled_from(["+86 137 1234 5678", 13712345678, ""]),
                   st.sampled_from(["13812345678", "13912345678", "1381234567", "010-62345678", "1.38123E+10", "电话",
                                    1.38e10])),
    "性别": mostly(st.sampled_from(["男", "女", "M", "f", ""]), st.just("不男不女")),
    "生日": mostly(st.sampled_from(["1985-03-01", "19900715", "1985年3月1日", "", 31107, datetime(1985, 3, 1)]),
                   st.sampled_from(["2023-02-30", "1990-13-01", "15/07/1990", "2999-01-01"]) | st.dates().map(str)),
    "入会日期": mostly(st.sampled_from(["2019/5/1", ""]), st.sampled_from(["2999-01-01", "昨天"])),
    "积分": mostly(st.integers(0, 10**6).map(str) | st.sampled_from(["", "１２０", "1,234", 35]),
                   st.sampled_from(["-5", "12.5", "1,23", "abc", "99999999999999999999", 2.5])),
    "标签": st.sampled_from(["老顾客，宝妈", "", "a,b"]),
    "备注": _TEXT,
    "余额": mostly(st.sampled_from(["12.50", "0", "¥100", ""]), st.sampled_from(["-3", "abc", "1e5", "100000000"])),
    "欠款": mostly(st.sampled_from(["8", ""]), st.sampled_from(["0.001", "-1"])),
    "欠款到期": mostly(st.sampled_from(["2027-01-01", ""]), st.just("2027-02-30")),
}
PURCHASE_CELLS = {
    "小票号": mostly(st.from_regex(r"R\d{1,4}", fullmatch=True), st.sampled_from(["", "R" * 80])),
    "收银台": st.sampled_from(["", "1", "2"]),
    "卡号": mostly(st.sampled_from(["A0001", "A0002"]), st.sampled_from(["X9999", ""])),
    "手机": mostly(st.just(""), st.sampled_from(["13812345678", "13600000000", "abc"])),
    "时间": mostly(st.sampled_from(["2025-11-17 10:00", "2025-11-16 18:30:05", "2025/11/17 9:05", "2025年11月17日 14:05",
                                    "20251117 143305", 46000.5, datetime(2025, 11, 17, 10, 0)]),
                   st.sampled_from(["not a time", "1999-01-01", "2099-01-01", "2025-02-30 10:00", ""])),
    "金额": mostly(st.decimals("0.01", 1000, places=2).map(str) | st.sampled_from(["12.50", 12, 3.5, "1,234.5"]),
                   st.sampled_from(["0", "-1", "8.001", "abc", "100001", ""])),
    "类型": mostly(st.sampled_from(["", "sale", "消费"]), st.sampled_from(["退货", "refund", "xx"])),
    "原小票号": mostly(st.just(""), st.sampled_from(["R1", "R2"])),
    "商品名称": mostly(st.just(""), st.sampled_from(["苹果", "牛奶"])),
    # Item cells make a line of the receipt, which must add up with the others: mostly none.
    "数量": mostly(st.just(""), st.sampled_from(["1", "2.5", "0", "-1", "1.2345"])),
    "单价": mostly(st.just(""), st.sampled_from(["3.50", "abc"])),
    "小计": mostly(st.just(""), st.sampled_from(["12.50", "3.5", "-2"])),
}


@st.composite
def tables(draw: st.DrawFn, cells: dict[str, st.SearchStrategy[object]]) -> list[list[object]]:
    """A header (usually with the needed columns, sometimes an odd or repeated one) and up to 8 rows."""
    names = list(cells)
    header = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
    if draw(st.integers(0, 3)):  # mostly with the columns an import needs
        header = [name for name in names if name in header or name in ("姓名", "手机", "小票号", "卡号", "时间", "金额")]
    extra = draw(st.sampled_from([[], ["未知列"], [header[0]], [""]]))
    header = header + extra
    row = st.tuples(*(cells.get(name, _TEXT) for name in header)).map(list)
    rows = draw(st.lists(row, max_size=8))
    if rows and draw(st.booleans()):
        rows.append(list(rows[0]))  # the same row twice
    if draw(st.booleans()):
        rows.insert(draw(st.integers(0, len(rows))), [""] * len(header))  # a blank row
    title = [["会员名单"]] if draw(st.integers(0, 5)) == 0 else []
    return [*title, header, *rows]


def csv_bytes(rows: Sequence[Sequence[object]], encoding: str, errors: str, delimiter: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(
        [["" if cell is None else str(cell) for cell in row] for row in rows])
    return buffer.getvalue().encode(encoding, errors)


def damaged_part(data: bytes, name: str, change: Callable[[bytes], bytes | None]) -> bytes:
    """The workbook with one part changed (or left out, when change gives None)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            content = change(content) if info.filename == name else content
            if content is not None:
                target.writestr(info.filename, content)
    return out.getvalue()


def xlsx_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@st.composite
def files(draw: st.DrawFn, cells: dict[str, st.SearchStrategy[object]]) -> tuple[str, bytes]:
    """(file name, contents): a table as CSV or XLSX, or random bytes; sometimes cut off or with a byte flipped."""
    form = draw(st.sampled_from(["utf-8-sig", "utf-8", "gb18030", "utf-16", "big5", "xlsx", "xlsx", "bytes"]))
    if form == "bytes":
        return draw(st.sampled_from(["x.csv", "x.xlsx"])), draw(st.binary(max_size=400))
    rows = draw(tables(cells))
    if form == "xlsx":
        name, data = "x.xlsx", xlsx_bytes(rows)
        part = draw(st.sampled_from([SHEET, SHEET, "xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml"]))
        inner = draw(st.sampled_from(["none", "none", "cut", "flip", "drop"]))
        if inner == "cut":
            data = damaged_part(data, part, lambda content: content[: draw(st.integers(0, len(content) - 1))])
        elif inner == "flip":
            at = draw(st.integers(0, 10**6))
            data = damaged_part(data, part, lambda content: flipped(content, at % len(content), draw(st.integers(1, 255))))
        elif inner == "drop":
            data = damaged_part(data, part, lambda content: None)
    else:  # Big5 is no encoding the import reads: it is refused, or read as GB18030 nonsense and checked as such
        text_encoding = (form, "replace") if form == "big5" else (form, "strict")
        name, data = "x.csv", csv_bytes(rows, *text_encoding, draw(st.sampled_from([",", ",", "\t", ";"])))
    damage = draw(st.sampled_from(["none", "none", "none", "cut", "flip"]))
    if damage == "cut" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "flip" and data:
        data = flipped(data, draw(st.integers(0, len(data) - 1)), draw(st.integers(1, 255)))
    return name, data


def flipped(data: bytes, at: int, mask: int) -> bytes:
    return data[:at] + bytes([data[at] ^ mask]) + data[at + 1:]


# --------------------------------------------------------------------------- the properties


def refused_as_a_whole(exc: CrmdeskError) -> None:
    assert isinstance(exc.template, str) and exc.message.strip()
    event(f"refused as a whole: {exc.template[:40]}")


def every_row_named(problems_by_row: dict[int, Sequence[object]], header_row: int) -> None:
    """Each refused row has at least one reason, and each reason names that row."""
    for row, problems in problems_by_row.items():
        assert row > header_row and problems, (row, problems)
        for problem in problems:
            assert problem.row == row and problem.describe().startswith(f"Row {row}"), problem.describe()  # type: ignore[attr-defined]


@FUZZ
@given(file=files(MEMBER_CELLS))
def test_member_import_of_any_file(shop, file: tuple[str, bytes]) -> None:
    db, actor, folder = shop
    path = folder / file[0]
    path.write_bytes(file[1])
    before = census(db)

    def run(skip_invalid: bool):  # type: ignore[no-untyped-def]
        with unit_of_work(db) as session:
            return apply_import(session, actor, plan_import(session, path), skip_invalid=skip_invalid)

    try:
        with read_session(db) as session:
            plan = plan_import(session, path)
    except CrmdeskError as exc:
        refused_as_a_whole(exc)
        with pytest.raises(CrmdeskError):
            run(skip_invalid=True)
        assert census(db) == before
        return
    every_row_named({row.row: row.errors for row in plan.invalid_rows}, plan.header_row)
    if plan.invalid_rows:
        with pytest.raises(InvalidInput) as caught:
            run(skip_invalid=False)
        assert "Nothing was imported" in caught.value.message and f"Row {plan.invalid_rows[0].row}" in caught.value.message
        assert census(db) == before
    result = run(skip_invalid=True)
    checked = result.plan
    every_row_named({row.row: row.errors for row in checked.invalid_rows}, checked.header_row)
    assert (result.new, result.updated, result.unchanged, result.skipped) == (
        checked.counts.new, checked.counts.update, checked.counts.unchanged, len(checked.invalid_rows))
    assert result.new + result.updated + result.unchanged + result.skipped == len(plan.rows)
    event(("some rows refused, " if result.skipped else "") + ("rows written" if result.new or result.updated else "nothing new"))
    after = census(db)
    assert after["member"] == before["member"] + result.new
    with read_session(db) as session:  # every valid new row is there
        for row in checked.rows:
            if row.action is Action.NEW and row.card_no:
                assert session.scalar(sa.select(Card.member_id).where(Card.number == row.card_no)) is not None
            if row.action is Action.NEW and row.phone:
                assert session.scalar(sa.select(sa.func.count()).select_from(Member).where(Member.phone == row.phone))
    if not result.new and not result.updated:
        assert after == before  # an import that changes nothing leaves no trace


@FUZZ
@given(file=files(PURCHASE_CELLS))
def test_purchase_import_of_any_file(shop, file: tuple[str, bytes]) -> None:
    db, actor, folder = shop
    path = folder / file[0]
    path.write_bytes(file[1])
    before = census(db)

    def run(skip_invalid: bool):  # type: ignore[no-untyped-def]
        with unit_of_work(db) as session:
            return apply_purchase_import(session, actor, plan_purchase_import(session, path), skip_invalid=skip_invalid)

    try:
        with read_session(db) as session:
            plan = plan_purchase_import(session, path)
    except CrmdeskError as exc:
        refused_as_a_whole(exc)
        with pytest.raises(CrmdeskError):
            run(skip_invalid=True)
        assert census(db) == before
        return
    every_row_named({row.row: row.errors for row in plan.invalid_rows}, plan.header_row)
    if plan.invalid_receipts:
        with pytest.raises(InvalidInput) as caught:
            run(skip_invalid=False)
        first = min(problem.row for problem in plan.errors)
        assert "Nothing was imported" in caught.value.message and f"Row {first}" in caught.value.message
        assert census(db) == before
    result = run(skip_invalid=True)
    checked = result.plan
    every_row_named({row.row: row.errors for row in checked.invalid_rows}, checked.header_row)
    assert (result.new, result.unchanged, result.skipped) == (
        checked.counts.new, checked.counts.unchanged, len(checked.invalid_receipts))
    # Every file row belongs to one receipt: imported, already there, or refused (and named above).
    rows = [row.row for receipt in checked.receipts for row in receipt.rows]
    assert len(rows) == len(set(rows)) == checked.counts.rows == plan.counts.rows
    event(("some receipts refused, " if result.skipped else "") + ("receipts written" if result.new else "nothing new"))
    after = census(db)
    assert after["purchase"] == before["purchase"] + result.new
    with read_session(db) as session:  # every valid new receipt is there, with its lines
        for receipt in checked.receipts:
            if receipt.action is Action.NEW:
                stored = session.scalars(sa.select(Purchase).where(
                    Purchase.till == receipt.till, Purchase.receipt_no == receipt.receipt_no)).one()
                assert stored.amount_fen == receipt.amount_fen
                lines = session.scalar(sa.select(sa.func.count()).select_from(PurchaseLine)
                                       .where(PurchaseLine.purchase_id == stored.id))
                assert lines == len(receipt.lines)
    if not result.new:
        assert after == before


def test_the_example_count_follows_the_environment() -> None:
    assert EXAMPLES == int(os.environ.get("CRMDESK_FUZZ_EXAMPLES") or 15)
    assert FUZZ.max_examples == EXAMPLES and FUZZ.deadline is None


def test_a_file_from_the_generators_imports(shop) -> None:  # type: ignore[no-untyped-def]
    """The generators make importable files too, not only refused ones: the property is not vacuous."""
    db, actor, folder = shop
    path = folder / "plain.csv"
    path.write_bytes(csv_bytes([["姓名", "手机", "卡号"], ["王五", "13700000001", "C0001"], ["赵六", "1370000", "C0002"]],
                               "utf-8-sig", "strict", ","))
    before = census(db)
    with unit_of_work(db) as session:
        result = apply_import(session, actor, plan_import(session, path), skip_invalid=True)
    assert (result.new, result.skipped) == (1, 1) and census(db)["member"] == before["member"] + 1
    every_row_named({row.row: row.errors for row in result.plan.invalid_rows}, result.plan.header_row)
    assert [row.row for row in result.plan.invalid_rows] == [3]
