"""Exporting the member list: CSV that Excel and WPS open, XLSX, streaming, and no half files."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.errors import InvalidInput, PermissionDenied
from crmdesk.models import Member, MemberStatus, Role
from crmdesk.services import demo, exports
from crmdesk.services import member_query as mq
from crmdesk.services.member_query import MemberFilter
from crmdesk.services.members import MemberInput, display_phone, register
from crmdesk.services.staff import actor_for
from crmdesk.services.uow import read_session, unit_of_work

TODAY = date(2026, 11, 22)


@pytest.fixture(scope="module")
def store_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = open_database(sqlite_url(tmp_path_factory.mktemp("export") / "store.sqlite"))
    with unit_of_work(database) as session:
        demo.fill_demo_store(session, members=150, seed=5, today=TODAY)
    with unit_of_work(database) as session:
        owner = actor_for(session)
        register(session, owner, MemberInput(name="=HYPERLINK(\"http://x\")", phone="13800000042", tags=("老顾客",)), today=TODAY)
    yield database
    database.dispose()


def _export(db: Database, path: Path, flt: MemberFilter = MemberFilter(), **kwargs) -> int:  # type: ignore[no-untyped-def]  # noqa: B008
    with read_session(db) as session:
        actor = kwargs.pop("actor", None) or actor_for(session)  # the owner
        return exports.export_members(session, flt, kwargs.pop("sort", "member_no"), kwargs.pop("descending", False), path,
                                      actor=actor, **kwargs)


def test_csv_has_a_bom_and_reads_back_in_chinese(store_db, tmp_path: Path) -> None:
    target = tmp_path / "会员.csv"
    written = _export(store_db, target, MemberFilter(statuses=(MemberStatus.ACTIVE,)), sort="spend", descending=True)
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel and WPS need to read UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [mq.COLUMN_LABELS[c] for c in mq.COLUMNS]
    assert len(rows) == written + 1
    with read_session(store_db) as session:
        assert written == mq.count(session, MemberFilter(statuses=(MemberStatus.ACTIVE,)))
        top = session.execute(
            sa.select(Member.name, Member.member_no, Member.phone, Member.total_spend_fen)
            .where(Member.status == MemberStatus.ACTIVE).order_by(Member.total_spend_fen.desc(), Member.id.desc())
        ).first()
    assert top is not None
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Name"] == top.name and first["Member no."] == top.member_no
    national = top.phone[3:]  # type: ignore[index]
    assert first["Phone"] == f"{national[:3]} {national[3:7]} {national[7:]}"
    assert first["Spend"] == f"{top.total_spend_fen // 100}.{top.total_spend_fen % 100:02d}"
    assert first["Status"] == "Active"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in first["Name"])
    spends = [int(row[rows[0].index("Spend")].replace(".", "")) for row in rows[1:]]
    assert spends == sorted(spends, reverse=True)


def test_chosen_columns_headers_and_words(store_db, tmp_path: Path) -> None:
    target = tmp_path / "few.csv"
    _export(store_db, target, MemberFilter(tags=("老顾客",)), columns=["name", "status", "tags"],
            headers={"name": "姓名", "status": "状态", "tags": "标签"}, labels={MemberStatus.ACTIVE: "正常"})
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["姓名", "状态", "标签"]
    assert all("老顾客" in row[2] for row in rows[1:])
    assert "正常" in {row[1] for row in rows[1:]}
    # A name that a spreadsheet would run as a formula is written as text.
    assert ["'=HYPERLINK(\"http://x\")", "正常", "老顾客"] in rows


def test_xlsx_reads_back_with_typed_cells(store_db, tmp_path: Path) -> None:
    target = tmp_path / "members.xlsx"
    written = _export(store_db, target, MemberFilter(birth_month=3), sort="name")
    book = openpyxl.load_workbook(target, read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == tuple(mq.COLUMN_LABELS[c] for c in mq.COLUMNS)
    assert len(rows) == written + 1 and written > 0
    header = rows[0]
    with read_session(store_db) as session:
        expected = mq.page(session, MemberFilter(birth_month=3), "name", False, 0, 1000)
    assert [row[header.index("Member no.")] for row in rows[1:]] == [m.member_no for m in expected]
    first, member = rows[1], expected[0]
    assert first[header.index("Name")] == member.name
    assert first[header.index("Spend")] == pytest.approx(member.total_spend_fen / 100)
    assert first[header.index("Birthday")].date() == member.birthday
    assert first[header.index("Points")] == member.points_balance
    book.close()


def test_formula_like_names_stay_text_in_xlsx(store_db, tmp_path: Path) -> None:
    target = tmp_path / "text.xlsx"
    _export(store_db, target, MemberFilter(text="138000"), columns=["name"])
    sheet = openpyxl.load_workbook(target).active
    assert sheet["A2"].value == "=HYPERLINK(\"http://x\")" and sheet["A2"].data_type == "s"


def test_streams_in_chunks_with_progress(store_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "CHUNK", 40)
    calls: list[tuple[int, int]] = []
    written = _export(store_db, tmp_path / "all.csv", progress=lambda done, total: calls.append((done, total)))
    assert written == 151
    assert calls[0] == (0, 151) and calls[-1] == (151, 151)
    assert [done for done, _ in calls] == [0, 40, 80, 120, 151]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_cancel_leaves_no_file_and_keeps_an_older_one(store_db, tmp_path: Path, monkeypatch, suffix: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(exports, "CHUNK", 50)
    target = tmp_path / f"members{suffix}"
    chunks = {"seen": 0}

    def should_cancel() -> bool:
        chunks["seen"] += 1
        return chunks["seen"] > 2

    with pytest.raises(exports.ExportCancelled):
        _export(store_db, target, should_cancel=should_cancel)
    assert list(tmp_path.iterdir()) == []
    target.write_text("older export")
    with pytest.raises(exports.ExportCancelled):
        _export(store_db, target, should_cancel=lambda: True)
    assert target.read_text() == "older export" and list(tmp_path.iterdir()) == [target]


def test_a_failure_midway_leaves_no_file(store_db, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(exports, "CHUNK", 50)

    def progress(done: int, _total: int) -> None:
        if done >= 100:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _export(store_db, tmp_path / "m.csv", progress=progress)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("phone", ["+8613812345678", "+8619912340000", "+85291234567", "+14155552671", None, "", "+86123"])
def test_fast_phone_text_matches_display_phone(phone: str | None) -> None:
    assert exports.phone_text(phone) == display_phone(phone)


def test_bad_targets_and_columns_are_refused(store_db, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"\.csv or \.xlsx"):
        _export(store_db, tmp_path / "members.txt")
    with pytest.raises(InvalidInput, match="does not exist"):
        _export(store_db, tmp_path / "missing" / "members.csv")
    with pytest.raises(InvalidInput, match="Unknown columns: shoe_size"):
        _export(store_db, tmp_path / "members.csv", columns=["name", "shoe_size"])
    assert list(tmp_path.iterdir()) == []


def test_only_the_owner_may_export(store_db, tmp_path: Path) -> None:
    with read_session(store_db) as session:
        supervisor = actor_for(session, demo.DEMO_STAFF[0][0])
    assert supervisor.role is Role.SUPERVISOR
    with pytest.raises(PermissionDenied, match="may not export members' data"):
        _export(store_db, tmp_path / "members.csv", actor=supervisor)
    assert list(tmp_path.iterdir()) == []


def test_export_is_recorded_in_the_audit_log(store_db, tmp_path: Path) -> None:
    from crmdesk.models import AuditEvent

    with read_session(store_db) as session:
        owner = actor_for(session)
    with unit_of_work(store_db) as session:
        exports.record_export(session, owner, tmp_path / "x.csv", 12, MemberFilter(birth_month=4))
    with read_session(store_db) as session:
        details, staff_name = session.execute(
            sa.select(AuditEvent.details, AuditEvent.staff_name).where(AuditEvent.action == "member.export")).one()
    assert details == {"file": "x.csv", "rows": 12, "criteria": {"birth_month": 4}} and staff_name == owner.name
