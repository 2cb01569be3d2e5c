"""Importing members from files: encodings, headers, every way a file can be wrong, and nothing half-written."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from crmdesk import shop_time
from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.errors import InvalidInput
from crmdesk.models import (
    AuditEvent, Card, CardStatus, Gender, Member, MemberChange, MemberStatus, MemberTag, PointsEntry, PointsKind, Tier,
)
from crmdesk.services import cards, imports, members, store
from crmdesk.services.imports import Action, ImportCancelled, apply_import, plan_import, write_rejects
from crmdesk.services.members import MemberInput
from crmdesk.services.uow import Actor, read_session, unit_of_work

ZH_HEADER = ["卡号", "会员编号", "姓名", "手机", "性别", "生日", "入会日期", "积分", "标签", "备注"]
EN_HEADER = ["card_no", "member_no", "name", "phone", "gender", "birthday", "joined", "points", "tags", "notes"]
ROWS = [
    ["A0001", "OLD-1", "张三", "13812345678", "男", "1985-03-01", "2019/5/1", "120", "老顾客，宝妈", "爱买水果"],
    ["A0002", "OLD-2", "李四", "139 1234 5678", "女", "19900715", "2020年1月2日", "0", "", ""],
    ["A0003", "", "王五", "", "", "", "", "35", "", ""],
]
TODAY = shop_time.today()  # the day a member joins is the shop's day
TABLES = (Member, Card, PointsEntry, MemberTag, MemberChange, AuditEvent)


# --------------------------------------------------------------------------- helpers (also used by the CLI and GUI tests)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One database for the tests that only check or are refused (each asserts that nothing was written):
    setting up an owner hashes a password, which is most of a test's time."""
    database = open_database(sqlite_url(tmp_path_factory.mktemp("shared") / "store.sqlite"))
    with unit_of_work(database) as session:
        actor = store.initialise(session, owner_name="店长", owner_password="owner-secret-1", store_name="共用")
    yield database, actor
    database.dispose()



def write_csv(path: Path, rows: Sequence[Sequence[object]], *, encoding: str = "utf-8-sig", delimiter: str = ",") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def members_file(tmp_path: Path, rows: Sequence[Sequence[object]] = ROWS, header: Sequence[str] = ZH_HEADER,
                 name: str = "members.csv", **options: str) -> Path:
    return write_csv(tmp_path / name, [header, *rows], **options)


def snapshot(db: Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table an import writes: equal snapshots mean nothing changed."""
    with read_session(db) as session:
        return {
            model.__tablename__: [tuple(row) for row in session.execute(sa.select(model.__table__).order_by(*model.__table__.primary_key))]
            for model in TABLES
        }


def run_import(db: Database, actor: Actor, path: Path, **options: object) -> imports.ImportResult:
    with unit_of_work(db) as session:
        plan = plan_import(session, path)
        return apply_import(session, actor, plan, **options)  # type: ignore[arg-type]


def check(db: Database, path: Path) -> imports.ImportPlan:
    with read_session(db) as session:
        return plan_import(session, path)


def member_by_name(db: Database, name: str) -> Member:
    with read_session(db) as session:
        member = session.scalars(sa.select(Member).where(Member.name == name)).one()
        session.expunge(member)
        return member


def register(db: Database, actor: Actor, name: str, phone: str = "", card: str | None = None, **values: object) -> int:
    with unit_of_work(db) as session:
        profile = members.register(session, actor, MemberInput(name=name, phone=phone, **values))  # type: ignore[arg-type]
        if card:
            cards.issue(session, actor, profile.id, card, imported=True)
        return profile.id


def assert_refused(db: Database, owner: Actor, path: Path, row: int, column: str, words: str) -> imports.ImportPlan:
    """The row is reported invalid with this column and reason, and importing writes nothing."""
    before = snapshot(db)
    plan = check(db, path)
    problems = [p for p in plan.errors if p.row == row]
    assert problems, plan.errors
    assert any(p.column == column and words in p.reason() for p in problems), [p.describe() for p in problems]
    assert next(r for r in plan.rows if r.row == row).action is Action.INVALID
    with pytest.raises(InvalidInput) as caught:
        run_import(db, owner, path)
    assert f"Row {row}, column {column}" in caught.value.message and "Nothing was imported" in caught.value.message
    assert snapshot(db) == before
    return plan


# --------------------------------------------------------------------------- reading files


def test_utf8_bom_with_chinese_headers_imports_every_member(db, owner, tmp_path) -> None:
    path = members_file(tmp_path)
    plan = check(db, path)
    assert plan.encoding == "UTF-8 with BOM" and plan.delimiter == ","
    assert plan.counts == imports.Counts(new=3) and not plan.warnings
    assert [(r.row, r.action) for r in plan.rows] == [(2, Action.NEW), (3, Action.NEW), (4, Action.NEW)]

    result = run_import(db, owner, path)
    assert (result.new, result.updated, result.unchanged, result.skipped, result.points_posted) == (3, 0, 0, 0, 155)
    zhang = member_by_name(db, "张三")
    assert (zhang.member_no, zhang.phone, zhang.gender, zhang.birthday, zhang.joined_on) == (
        "OLD-1", "+8613812345678", Gender.MALE, date(1985, 3, 1), date(2019, 5, 1))
    assert (zhang.notes, zhang.source, zhang.name_initials, zhang.phone_last4) == ("爱买水果", "import", "zs", "5678")
    li = member_by_name(db, "李四")
    assert (li.birthday, li.joined_on, li.phone, li.points_balance) == (date(1990, 7, 15), date(2020, 1, 2), "+8613912345678", 0)
    wang = member_by_name(db, "王五")
    assert wang.member_no == f"M{wang.id:08d}" and wang.joined_on == TODAY and wang.phone is None
    with read_session(db) as session:  # everyone starts in the entry tier, as at the counter
        entry_tier = session.scalar(sa.select(Tier.id).order_by(Tier.rank).limit(1))
    assert entry_tier is not None and zhang.tier_id == li.tier_id == wang.tier_id == entry_tier
    with read_session(db) as session:
        assert sorted(session.scalars(sa.select(MemberTag.tag).where(MemberTag.member_id == zhang.id))) == ["宝妈", "老顾客"]
        card = session.scalars(sa.select(Card).where(Card.number == "A0001")).one()
        assert (card.member_id, card.status, card.imported) == (zhang.id, CardStatus.ACTIVE, True)
        entries = session.execute(sa.select(PointsEntry.member_id, PointsEntry.kind, PointsEntry.points, PointsEntry.reason)
                                  .order_by(PointsEntry.member_id)).all()
        # One opening entry per member with points; none for zero points; the balance is their sum.
        assert entries == [(zhang.id, PointsKind.IMPORT, 120, "import members.csv"), (wang.id, PointsKind.IMPORT, 35, "import members.csv")]
        for member in session.scalars(sa.select(Member)):
            ledger = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.points), 0)).where(PointsEntry.member_id == member.id))
            assert member.points_balance == ledger
        history = session.execute(sa.select(MemberChange.field, MemberChange.new_value, MemberChange.staff_name)
                                  .where(MemberChange.member_id == zhang.id).order_by(MemberChange.id)).all()
        assert history == [("created", "OLD-1", owner.name), ("card_issued", "A0001", owner.name)]
        actions = sorted(session.scalars(sa.select(AuditEvent.action)))
        assert actions.count("member.add") == 3 and actions.count("card.issue") == 3 and actions.count("member.import") == 1


@pytest.mark.parametrize(
    ("encoding", "label"),
    [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 with BOM"), ("gbk", "GBK/GB18030"), ("gb18030", "GBK/GB18030")],
)
def test_encodings_are_detected(shared, tmp_path, encoding: str, label: str) -> None:
    db, owner = shared
    path = members_file(tmp_path, encoding=encoding)
    plan = check(db, path)
    assert plan.encoding == label
    assert [r.name for r in plan.rows] == ["张三", "李四", "王五"]
    assert plan.columns["phone"] == "手机" and plan.counts.new == 3


def test_gb18030_characters_outside_gbk(db, owner, tmp_path) -> None:
    # 𠀀 (CJK extension B) exists in GB18030 only; some rare names need it.
    path = members_file(tmp_path, [["A0009", "", "王𠀀", "13812345678", "", "", "", "", "", ""]], encoding="gb18030")
    run_import(db, owner, path)
    assert member_by_name(db, "王𠀀").phone == "+8613812345678"


def test_english_headers_with_tabs_and_semicolons(db, owner, tmp_path) -> None:
    header = ["Card No", "NAME", "Mobile", "Sex", "Date of Birth", "Join Date", "Points", "Tags", "Remark", "Shop"]
    rows = [["B1", "Anna Li", "13812345678", "F", "1990/3/1", "2021-01-01", "1,200", "vip", "", "North"],
            ["B2", "Bob", "13912345678", "male", "", "", "", "", "", "North"]]
    for delimiter in ("\t", ";"):
        plan = check(db, write_csv(tmp_path / "en.txt", [header, *rows], delimiter=delimiter))
        assert plan.delimiter == delimiter
        assert plan.columns == {"card_no": "Card No", "name": "NAME", "phone": "Mobile", "gender": "Sex",
                                "birthday": "Date of Birth", "joined": "Join Date", "points": "Points", "tags": "Tags",
                                "notes": "Remark"}
        assert plan.counts.new == 2
        # Unknown columns are ignored, and said so.
        assert [w.reason() for w in plan.warnings] == ["These columns are not imported: Shop."]
    run_import(db, owner, tmp_path / "en.txt")
    anna = member_by_name(db, "Anna Li")
    assert (anna.gender, anna.birthday, anna.points_balance, anna.name_initials) == (Gender.FEMALE, date(1990, 3, 1), 1200, "al")


def test_full_width_commas_in_data_are_not_delimiters(db, owner, tmp_path) -> None:
    path = tmp_path / "wps.csv"
    path.write_bytes("姓名,手机,标签,备注\r\n张三,13812345678,老顾客，宝妈,住三楼，送货上门\r\n".encode("gbk"))
    plan = check(db, path)
    assert plan.delimiter == "," and plan.counts.new == 1
    run_import(db, owner, path)
    assert member_by_name(db, "张三").notes == "住三楼，送货上门"


def test_header_variants_and_title_row_in_xlsx(db, owner, tmp_path) -> None:
    rows = [
        ["会员资料导出"],  # a title line above the header, as many old systems write
        [],
        ["会员卡号", "姓名", "手机号码", "性别", "出生日期", "入会时间", "积分余额", "备注(选填)"],
        [2900000000018, "张三", 13812345678, "男", datetime(1985, 3, 1), datetime(2019, 5, 1, 9, 30), 120, None],
        ["OLD-77", "李四", 13912345678.0, "女", "1990年7月15日", 43831, 80.0, "老街坊"],
        [None, None, None, None, None, None, None, None],
        ["OLD-78", "王五", "13712345678", None, None, None, None, None],
    ]
    path = write_xlsx(tmp_path / "members.xlsx", rows)
    plan = check(db, path)
    assert plan.file_type == "xlsx" and plan.encoding is None and plan.header_row == 3
    assert plan.columns["card_no"] == "会员卡号" and plan.columns["notes"] == "备注(选填)"
    assert [(r.row, r.action, r.card_no, r.phone) for r in plan.rows] == [
        (4, Action.NEW, "2900000000018", "+8613812345678"),
        (5, Action.NEW, "OLD-77", "+8613912345678"),
        (7, Action.NEW, "OLD-78", "+8613712345678"),
    ]
    run_import(db, owner, path)
    zhang, li = member_by_name(db, "张三"), member_by_name(db, "李四")
    assert (zhang.birthday, zhang.joined_on, zhang.points_balance) == (date(1985, 3, 1), date(2019, 5, 1), 120)
    # 43831 is how Excel stores 2020-01-01 in a cell without a date format.
    assert (li.birthday, li.joined_on, li.points_balance, li.notes) == (date(1990, 7, 15), date(2020, 1, 1), 80, "老街坊")


def test_an_excel_serial_date_and_a_typed_number_date(shared, tmp_path) -> None:
    db, _owner = shared
    path = write_xlsx(tmp_path / "m.xlsx", [["姓名", "手机", "生日"], ["张三", "13812345678", 19850301]])
    assert check(db, path).rows[0].source.data.birthday == date(1985, 3, 1)


# --------------------------------------------------------------------------- what the whole file can get wrong


def test_an_unreadable_encoding_names_the_file_and_byte(shared, tmp_path) -> None:
    db, owner = shared
    before = snapshot(db)
    path = tmp_path / "broken.csv"
    path.write_bytes("姓名,手机\r\n张三,13812345678\r\n".encode("utf-8") + b"\xff\xfe\x80 bad,13912345678\r\n")
    with pytest.raises(InvalidInput) as caught:
        check(db, path)
    message = caught.value.message
    assert str(path) in message and "byte 35 (line 3)" in message and "UTF-8" in message
    assert snapshot(db) == before


def test_a_missing_name_column_lists_the_columns_found(shared, tmp_path) -> None:
    db, owner = shared
    path = write_csv(tmp_path / "m.csv", [["卡号", "手机", "生日"], ["A1", "13812345678", ""]])
    with pytest.raises(InvalidInput) as caught:
        check(db, path)
    assert caught.value.message == "The file has no column name/姓名. Columns found: 卡号, 手机, 生日."


def test_a_file_without_any_key_column_is_refused(shared, tmp_path) -> None:
    db, owner = shared
    path = write_csv(tmp_path / "m.csv", [["姓名", "生日"], ["张三", ""]])
    with pytest.raises(InvalidInput) as caught:
        check(db, path)
    assert "card_no/卡号 | member_no/会员编号 | phone/手机" in caught.value.message and "姓名, 生日" in caught.value.message


@pytest.mark.parametrize(("content", "words"), [(b"", "is empty"), (b"\xd0\xcf\x11\xe0" + b"\0" * 100, "old Excel .xls"),
                                                (b"PK\x03\x04 not really a zip", "cannot be read as an Excel workbook")])
def test_files_that_are_no_table(shared, tmp_path, content: bytes, words: str) -> None:
    db, owner = shared
    path = tmp_path / "m.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInput) as caught:
        check(db, path)
    assert words in caught.value.message


# --------------------------------------------------------------------------- what a row can get wrong (nothing half-written)


def _with_row(row: list[str]) -> list[list[str]]:
    return [ROWS[0], row, ROWS[2]]


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        (["A0002", "", "李四", "1381234567", "", "", "", "", "", ""], "手机", "'1381234567' is not a valid mobile number"),
        (["A0002", "", "李四", "010-62345678", "", "", "", "", "", ""], "手机", "is a landline"),
        (["A0002", "", "李四", "1.38123E+10", "", "", "", "", "", ""], "手机", "Excel shortened this number"),
        (["A0002", "", "  ", "13912345678", "", "", "", "", "", ""], "姓名", "Enter the member's name."),
        (["A0002", "", "李四", "13912345678", "", "2023-02-30", "", "", "", ""], "生日", "'2023-02-30' is not a real date"),
        (["A0002", "", "李四", "13912345678", "", "1990-13-01", "", "", "", ""], "生日", "not a real date"),
        (["A0002", "", "李四", "13912345678", "", "15/07/1990", "", "", "", ""], "生日", "write it like 1985-06-02"),
        (["A0002", "", "李四", "13912345678", "", "2999-01-01", "", "", "", ""], "生日", "must lie between 1900 and today"),
        (["A0002", "", "李四", "13912345678", "", "", "2999-01-01", "", "", ""], "入会日期", "lies in the future"),
        (["A0002", "", "李四", "13912345678", "", "", "", "-5", "", ""], "积分", "whole number of 0 or more, not '-5'"),
        (["A0002", "", "李四", "13912345678", "", "", "", "12.5", "", ""], "积分", "not '12.5'"),
        (["A0002", "", "李四", "13912345678", "", "", "", "1,23", "", ""], "积分", "not '1,23'"),
        (["A0002", "", "李四", "13912345678", "不男不女", "", "", "", "", ""], "性别", "is not a gender"),
        (["A" * 33, "", "李四", "13912345678", "", "", "", "", "", ""], "卡号", "at most 32 characters"),
        (["A0001", "", "李四", "13912345678", "", "", "", "", "", ""], "卡号", "A0001 is already on row 2 of this file"),
        (["A0002", "", "李四", "+86 138-1234-5678", "", "", "", "", "", ""], "手机", "138 1234 5678 is already on row 2"),
        (["A0002", "OLD-1", "李四", "13912345678", "", "", "", "", "", ""], "会员编号", "OLD-1 is already on row 2"),
    ],
    ids=["short-phone", "landline", "excel-phone", "empty-name", "feb-30", "month-13", "us-date", "future-birthday",
         "future-join", "negative-points", "fraction-points", "comma-points", "gender", "long-card", "dup-card", "dup-phone", "dup-member-no"],
)
def test_every_invalid_row_is_reported_and_nothing_is_written(shared, tmp_path, row, column, words) -> None:
    db, owner = shared
    assert_refused(db, owner, members_file(tmp_path, _with_row(row)), 3, column, words)


def test_points_with_thousands_separators_also_full_width(shared, tmp_path) -> None:
    db, _owner = shared
    rows = [["A0001", "", "张三", "13812345678", "", "", "", "1,234", "", ""],
            ["A0002", "", "李四", "13912345678", "", "", "", "１，２３４，５６７", "", ""]]
    assert [row.source.points for row in check(db, members_file(tmp_path, rows)).rows] == [1_234, 1_234_567]


def test_several_problems_of_one_row_are_all_reported(shared, tmp_path) -> None:
    db, owner = shared
    path = members_file(tmp_path, [["A1", "", "", "12345", "x", "2023-02-30", "", "-1", "", ""]])
    (row,) = check(db, path).rows
    assert sorted(p.column for p in row.errors) == ["姓名", "性别", "手机", "生日", "积分"]


def test_a_card_of_another_member_in_the_database_is_refused(db, owner, tmp_path) -> None:
    register(db, owner, "赵六", "13700000001", card="A0001")
    register(db, owner, "钱七", "13812345678")
    # Row 2 carries 赵六's card with 钱七's phone: a card number belongs to one member, ever.
    plan = assert_refused(db, owner, members_file(tmp_path), 2, "手机", "belongs to 钱七")
    assert "卡号 A0001 belongs to 赵六" in plan.errors[0].reason()


def test_a_lost_card_stays_with_its_member(db, owner, tmp_path) -> None:
    zhao = register(db, owner, "赵六", "13700000001", card="A0001")
    with unit_of_work(db) as session:
        cards.report_lost(session, owner, "A0001")
    register(db, owner, "钱七", "13900000002")
    path = members_file(tmp_path, [["A0001", "", "钱七", "13900000002", "", "", "", "", "", ""]])
    assert_refused(db, owner, path, 2, "手机", "belongs to 钱七")
    # Without the phone the lost card finds its own member, and nothing else gets that number.
    path = members_file(tmp_path, [["A0001", "", "赵六", "", "", "", "", "", "", ""]])
    (row,) = check(db, path).rows
    assert (row.action, row.member_id) == (Action.UNCHANGED, zhao)


def test_a_new_card_for_a_member_who_has_a_working_card_is_refused(db, owner, tmp_path) -> None:
    register(db, owner, "张三", "13812345678", card="OLD-CARD")
    assert_refused(db, owner, members_file(tmp_path), 2, "卡号", "already has the working card OLD-CARD")


def test_two_rows_matching_one_member_are_refused(db, owner, tmp_path) -> None:
    zhang = register(db, owner, "张三", "13812345678", card="A0001")
    # Row 2 finds 张三 by card, row 3 by his member number.
    rows = [ROWS[0], ["", f"M{zhang:08d}", "张三", "", "", "", "", "", "", ""]]
    plan = assert_refused(db, owner, members_file(tmp_path, rows), 3, "会员编号", "This row is the same member 张三")
    assert [r.action for r in plan.rows] == [Action.UPDATE, Action.INVALID]
    assert plan.errors[0].reason() == f"This row is the same member 张三 (M{zhang:08d}) as row 2."


# --------------------------------------------------------------------------- skipping, dry runs, re-imports, cancelling


def test_skip_invalid_imports_the_rest_and_writes_the_rejects_beside_the_file(db, owner, tmp_path) -> None:
    rows = [ROWS[0], ["A0002", "", "李四", "1381234567", "", "2023-02-30", "", "", "", ""], ROWS[2],
            ["A0001", "", "孙八", "13600000000", "", "", "", "", "", ""]]
    path = members_file(tmp_path, rows)
    result = run_import(db, owner, path, skip_invalid=True)
    assert (result.new, result.skipped) == (2, 2)
    with read_session(db) as session:
        assert sorted(session.scalars(sa.select(Member.name))) == ["张三", "王五"]
    rejects = write_rejects(result.plan, path)
    assert rejects == tmp_path / "members.rejected.csv"
    raw = rejects.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel opens UTF-8 with a BOM in Chinese
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert lines[0] == [*ZH_HEADER, "行号", "原因"]
    assert [line[:3] + line[-2:-1] for line in lines[1:]] == [["A0002", "", "李四", "3"], ["A0001", "", "孙八", "5"]]
    assert "手机: '1381234567' is not a valid mobile number" in lines[1][-1] and "生日: '2023-02-30'" in lines[1][-1]
    assert "卡号: A0001 is already on row 2" in lines[2][-1]
    # The corrected rejects file imports like any other: the extra columns are ignored.
    lines[1][3], lines[1][5] = "13912345678", "1990-02-28"
    write_csv(rejects, lines[:2])
    again = check(db, rejects)
    assert again.counts == imports.Counts(new=1) and "行号, 原因" in again.warnings[0].reason()


def test_checking_writes_nothing(shared, tmp_path) -> None:
    db, owner = shared
    before = snapshot(db)
    plan = check(db, members_file(tmp_path))
    assert plan.counts.new == 3 and snapshot(db) == before


def test_reimporting_the_same_file_changes_nothing(db, owner, tmp_path) -> None:
    path = members_file(tmp_path)
    run_import(db, owner, path)
    before = snapshot(db)
    plan = check(db, path)
    assert plan.counts == imports.Counts(unchanged=3)
    assert all(not r.changes and not r.warnings for r in plan.rows)
    result = run_import(db, owner, path)
    assert (result.new, result.updated, result.unchanged) == (0, 0, 3)
    assert snapshot(db) == before
    # The XLSX export of the same data is the same members too.
    write_xlsx(tmp_path / "same.xlsx", [ZH_HEADER, *ROWS])
    assert check(db, tmp_path / "same.xlsx").counts == imports.Counts(unchanged=3)


def test_existing_members_are_completed_never_erased(db, owner, tmp_path) -> None:
    """The rule for members already in crmdesk: non-empty cells that differ are changed (and kept in the
    history); tags are added; empty cells, the member number, the join date and the points stay."""
    zhang = register(db, owner, "张三", "13812345678", tags=("常客",), notes="", joined_on=date(2024, 1, 1))
    path = members_file(tmp_path, [ROWS[0]])
    (row,) = check(db, path).rows
    assert (row.action, row.member_id) == (Action.UPDATE, zhang)
    assert [(c.column, c.old, c.new) for c in row.changes] == [
        ("性别", "unknown", "male"), ("生日", "", "1985-03-01"), ("备注", "", "爱买水果"),
        ("标签", "常客", "常客, 老顾客, 宝妈"), ("卡号", "", "A0001"),
    ]
    assert sorted(w.column for w in row.warnings) == ["会员编号", "入会日期", "积分"]
    result = run_import(db, owner, path)
    assert (result.new, result.updated, result.points_posted) == (0, 1, 0)
    with read_session(db) as session:
        profile = members.profile(session, zhang)
        assert (profile.gender, profile.birthday, profile.notes, profile.member_no) == (
            Gender.MALE, date(1985, 3, 1), "爱买水果", f"M{zhang:08d}")
        assert set(profile.tags) == {"常客", "老顾客", "宝妈"} and profile.joined_on == date(2024, 1, 1)
        assert profile.points_balance == 0 and profile.active_card is not None and profile.active_card.imported
        assert {c.field for c in members.history(session, zhang)} >= {"gender", "birthday", "notes", "tags", "card_issued"}
    # An empty cell erases nothing, and the same file again changes nothing.
    before = snapshot(db)
    assert check(db, members_file(tmp_path, [["A0001", "", "张三", "", "", "", "", "", "", ""]])).counts == imports.Counts(unchanged=1)
    assert check(db, path).counts == imports.Counts(unchanged=1)
    run_import(db, owner, path)
    assert snapshot(db) == before


def test_closed_members_are_left_alone(db, owner, tmp_path) -> None:
    zhang = register(db, owner, "张三", "13812345678", card="A0001")
    with unit_of_work(db) as session:
        members.set_status(session, owner, zhang, MemberStatus.CLOSED)
    (row,) = check(db, members_file(tmp_path, [ROWS[0]])).rows
    assert row.action is Action.UNCHANGED and "is closed" in row.warnings[0].reason()


def test_a_similar_member_is_a_warning(db, owner, tmp_path) -> None:
    register(db, owner, "张三", "13700000000", birthday=date(1985, 3, 1))
    (row,) = check(db, members_file(tmp_path, [ROWS[0]])).rows
    assert row.action is Action.NEW and "may already be a member" in row.warnings[0].reason()


def test_the_import_checks_again_what_changed_since_the_preview(db, owner, tmp_path) -> None:
    path = members_file(tmp_path)
    with read_session(db) as session:
        plan = plan_import(session, path)
    assert plan.counts.new == 3
    register(db, owner, "张三", "13812345678")  # registered at the counter meanwhile
    with unit_of_work(db) as session:
        result = apply_import(session, owner, plan)
    assert (result.new, result.updated) == (2, 1)
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Member).where(Member.phone == "+8613812345678")) == 1


def test_a_member_of_the_file_edited_meanwhile_is_matched_again(db, owner, tmp_path) -> None:
    member_id = register(db, owner, "张三", "13812345678")
    path = members_file(tmp_path, [ROWS[0]])
    with read_session(db) as session:
        plan = plan_import(session, path)
    assert plan.counts.update == 1 and any(change.field == "birthday" for change in plan.rows[0].changes)
    with unit_of_work(db) as session:  # the counter enters the same birthday meanwhile
        members.update(session, owner, member_id, birthday=date(1985, 3, 1))
    with unit_of_work(db) as session:
        result = apply_import(session, owner, plan)
    assert not any(change.field == "birthday" for change in result.plan.rows[0].changes)


def test_a_plan_nothing_changed_since_is_not_worked_out_again(db, owner, tmp_path, monkeypatch) -> None:
    register(db, owner, "张三", "13812345678")
    path = members_file(tmp_path)
    with read_session(db) as session:
        plan = plan_import(session, path)
    matched: list[object] = []
    real = imports._match
    monkeypatch.setattr(imports, "_match", lambda *args: matched.append(args) or real(*args))
    with unit_of_work(db) as session:
        result = apply_import(session, owner, plan)
    assert not matched and (result.new, result.updated) == (2, 1)  # the write lock held for the writes alone


def test_cancelling_rolls_everything_back(db, owner, tmp_path) -> None:
    rows = [[f"C{i:05d}", "", f"会员{i}", f"138{i:08d}", "", "", "", str(i), "", ""] for i in range(1200)]
    path = members_file(tmp_path, rows)
    before = snapshot(db)
    seen: list[tuple[int, int]] = []
    with pytest.raises(ImportCancelled) as caught:
        with unit_of_work(db) as session:
            plan = plan_import(session, path)
            # Cancelled after the first batch of 500 was written inside the transaction.
            apply_import(session, owner, plan, progress=lambda done, total: seen.append((done, total)),
                         should_cancel=lambda: any(done >= 500 for done, _ in seen))
    assert seen[:2] == [(0, 1200), (500, 1200)]
    assert caught.value.message == "The import was cancelled; nothing was changed."
    assert snapshot(db) == before


def test_member_numbers_never_clash_with_old_numbers(db, owner, tmp_path) -> None:
    rows = [["", "", "无编号", "13800000001", "", "", "", "", "", ""], ["", "M00000001", "旧编号", "13800000002", "", "", "", "", "", ""]]
    run_import(db, owner, members_file(tmp_path, rows))
    assert member_by_name(db, "旧编号").member_no == "M00000001"
    assert member_by_name(db, "无编号").member_no.startswith("M00000001-")


def test_new_members_are_written_in_batches(db, owner, tmp_path) -> None:
    """Not one query per row: 1,500 new members take a few dozen statements."""
    rows = [[f"C{i:05d}", "", f"会员{i}", f"139{i:08d}", "男", "1980-01-01", "", "10", "新", ""] for i in range(1500)]
    path = members_file(tmp_path, rows)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = run_import(db, owner, path)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert result.new == 1500
    assert len(statements) < 80, len(statements)
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.sum(Member.points_balance))) == 15000
        assert session.scalar(sa.select(sa.func.count()).select_from(Card).where(Card.imported.is_(True))) == 1500


def test_a_cashier_may_check_but_not_import(db, owner, cashier, tmp_path) -> None:
    from crmdesk.errors import PermissionDenied

    path = members_file(tmp_path)
    before = snapshot(db)
    with unit_of_work(db) as session:
        plan = plan_import(session, path)
        with pytest.raises(PermissionDenied):
            apply_import(session, cashier, plan)
    assert plan.counts.new == 3 and snapshot(db) == before


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("CRMDESK_TEST_POSTGRES_URL"), reason="set CRMDESK_TEST_POSTGRES_URL to a scratch PostgreSQL database")
def test_import_reimport_update_and_cancel_on_postgresql(tmp_path) -> None:
    url = os.environ["CRMDESK_TEST_POSTGRES_URL"]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    pg = open_database(sa.make_url(url))
    try:
        with unit_of_work(pg) as session:
            owner = store.initialise(session, owner_name="王店长", owner_password="pg-owner-pass", store_name="好邻居超市")
        run_import(pg, owner, members_file(tmp_path, [["", "", "张三", "13812345678", "", "", "", "", "", ""]], name="first.csv"))
        rows = [*ROWS, *([f"C{i:05d}", "", f"会员{i}", f"139{i:08d}", "", "", "", "7", "", ""] for i in range(600))]
        path = members_file(tmp_path, rows)
        before = snapshot(pg)
        with pytest.raises(ImportCancelled):
            with unit_of_work(pg) as session:
                apply_import(session, owner, plan_import(session, path), should_cancel=lambda: bool(
                    session.scalar(sa.select(sa.func.count()).select_from(Member)) > 1))
        assert snapshot(pg) == before
        result = run_import(pg, owner, path)
        assert (result.new, result.updated, result.points_posted) == (602, 1, 155 - 120 + 600 * 7)
        with read_session(pg) as session:
            numbers = session.scalars(sa.select(Member.member_no).where(Member.name.like("会员%"))).all()
            assert len(set(numbers)) == 600 and all(n.startswith("M") and len(n) == 9 for n in numbers)
        after = snapshot(pg)
        assert check(pg, path).counts == imports.Counts(unchanged=603)
        run_import(pg, owner, path)
        assert snapshot(pg) == after
    finally:
        pg.dispose()


def test_a_key_repeated_from_an_invalid_row_is_refused_too(shared, tmp_path) -> None:
    """Two rows with one phone: neither is guessed right; both go to the rejects file to be sorted out."""
    db, _owner = shared
    rows = [["A1", "", "张三", "13812345678", "", "2023-02-30", "", "", "", ""], ["A2", "", "张叁", "13812345678", "", "", "", "", "", ""]]
    plan = check(db, members_file(tmp_path, rows))
    assert [r.action for r in plan.rows] == [Action.INVALID, Action.INVALID]
    assert plan.rows[1].errors[0].describe() == "Row 3, column 手机: 138 1234 5678 is already on row 2 of this file."


def test_birthdays_in_a_file_are_read_by_the_one_birthday_parser(shared, tmp_path) -> None:
    db, _owner = shared
    rows = [["A0001", "", "张三", "13812345678", "", "1990/7/8", "", "", "", ""],
            ["A0002", "", "李四", "13912345678", "", "１９９０年７月８日", "", "", "", ""],
            ["A0003", "", "王五", "13700000003", "", "1990.7.8", "", "", "", ""]]
    plan = check(db, members_file(tmp_path, rows))
    assert [row.source.data.birthday for row in plan.rows] == [date(1990, 7, 8)] * 3


def test_the_refusal_counts_one_row_as_one(shared, tmp_path) -> None:
    db, owner = shared
    bad = ["A0002", "", "李四", "1381234567", "", "", "", "", "", ""]
    with pytest.raises(InvalidInput) as caught:
        run_import(db, owner, members_file(tmp_path, [ROWS[0], bad]))
    assert caught.value.message.startswith("Nothing was imported: 1 row is invalid. Correct it, or skip the invalid row.")
    with pytest.raises(InvalidInput) as caught:
        run_import(db, owner, members_file(tmp_path, [bad, [*bad[:3], "1391234567", *bad[4:]]]))
    assert caught.value.message.startswith("Nothing was imported: 2 rows are invalid. Correct them")
