"""`crmdesk report ...` end to end: each document from a demo store, in Chinese, and the refusals."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from crmdesk.cli import main
from crmdesk.db import open_database, sqlite_url
from crmdesk.models import Role
from crmdesk.services import demo
from crmdesk.services import staff as staff_service
from crmdesk.services import store as store_service
from crmdesk.services.uow import unit_of_work
from tests.reports.pdf_tools import all_text, barcodes, fonts, page_count, page_image

TODAY = date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _gui_application(qapp):  # type: ignore[no-untyped-def]
    """The command makes a bare QCoreApplication when none exists, and a process has only one:
    start pytest-qt's QApplication first, so later GUI tests still get theirs."""
    return qapp


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo store with an owner and a supervisor, made once for the module (the commands only read it)."""
    db_path = tmp_path_factory.mktemp("cli-report") / "store.sqlite"
    db = open_database(sqlite_url(db_path))
    try:
        with unit_of_work(db) as session:
            owner = store_service.initialise(session, owner_name="王店长", owner_password="cli-owner-pass")
            staff_service.add_staff(session, owner, "值班经理", Role.SUPERVISOR, pin="2468")
        with unit_of_work(db) as session:
            demo.fill_demo_store(session, members=150, seed=3, today=TODAY)
    finally:
        db.dispose()
    return db_path


def report(capsys, store: Path, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(["--lang", "zh_CN", "report", *argv, "--db", str(store)])
    out, err = capsys.readouterr()
    return code, out, err


def test_member_report_in_chinese(capsys, store: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "member.pdf"
    code, stdout, err = report(capsys, store, "member", "M00000001", "--out", str(out), "--json")
    assert code == 0, err
    assert json.loads(stdout)["path"] == str(out.resolve())
    text = all_text(out.read_bytes())
    assert "会员报告" in text and "M00000001" in text and "积分" in text
    assert all(fonts(out.read_bytes()).values())


def test_member_list_with_filters(capsys, store: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "list.pdf"
    code, _stdout, err = report(capsys, store, "members", "--status", "active", "--sort", "spend", "--desc", "--landscape",
                                "--out", str(out))
    assert code == 0, err
    text = all_text(out.read_bytes())
    assert "会员列表" in text and "合计" in text and "****" in text


def test_cards_for_one_member_scan(capsys, store: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "card.pdf"
    code, _stdout, err = report(capsys, store, "cards", "--member", "M00000002", "--single", "--qr", "--out", str(out))
    assert code == 0, err
    pdf = out.read_bytes()
    assert page_count(pdf) == 1
    found = barcodes(page_image(pdf, 0, dpi=300))
    assert {kind for kind, _text in found} >= {"Code128", "QRCode"}
    assert len({text for _kind, text in found}) == 1  # both carry the same card number


def test_complaints_month_and_loyalty_summary(capsys, store: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    complaints_pdf, loyalty_pdf = tmp_path / "c.pdf", tmp_path / "l.pdf"
    code, _stdout, err = report(capsys, store, "complaints", "--month", "2026-10", "--out", str(complaints_pdf))
    assert code == 0, err
    assert "投诉" in all_text(complaints_pdf.read_bytes())
    code, _stdout, err = report(capsys, store, "loyalty", "--from", "2026-10-01", "--to", "2026-10-31", "--out", str(loyalty_pdf))
    assert code == 0, err
    assert "积分" in all_text(loyalty_pdf.read_bytes())


@pytest.mark.parametrize(("argv", "message"), [
    (("member", "M00000001", "--out", "{tmp}/member.docx"), ".pdf"),
    (("member", "M99999999", "--out", "{tmp}/member.pdf"), "M99999999"),
    (("members", "--full-phones", "--as", "值班经理", "--out", "{tmp}/list.pdf"), "值班经理"),
    (("complaints", "--month", "2026-13", "--out", "{tmp}/c.pdf"), "2026-13"),
    (("loyalty", "--from", "2026-10-31", "--to", "2026-10-01", "--out", "{tmp}/l.pdf"), "2026-10"),
    (("members", "--columns", "name,shoe_size", "--out", "{tmp}/list.pdf"), "shoe_size"),
])
def test_refusals_say_why_and_write_nothing(capsys, store: Path, tmp_path: Path, argv: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "out"
    folder.mkdir()
    code, _stdout, err = report(capsys, store, *(a.replace("{tmp}", str(folder)) for a in argv))
    assert code != 0
    assert message in err
    assert list(folder.iterdir()) == []
