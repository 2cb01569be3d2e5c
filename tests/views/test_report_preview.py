"""Printing from the GUI: the preview dialog makes the document in the background, shows it,
saves it and prints it; each screen that offers a document opens it with what it shows."""

from __future__ import annotations

import pytest
from PySide6.QtPrintSupport import QPrinter

from crmdesk.reports.cards import CardLayout
from crmdesk.reports.documents import CardsRequest, ComplaintsMonthRequest, LoyaltySummaryRequest, MemberListRequest
from crmdesk.services import cards, members
from crmdesk.services.members import MemberInput
from crmdesk.services.uow import unit_of_work
from crmdesk.views.complaints_page import ComplaintsPage
from crmdesk.views.member_list import MemberListPage
from crmdesk.views.member_profile import MemberProfileDialog
from crmdesk.views.dashboard_page import DashboardPage
from crmdesk.views.report_preview import ReportPreviewDialog
from crmdesk.views.state import AppState
from tests.reports.pdf_tools import all_text, page_count

MM = 72 / 25.4


@pytest.fixture
def member_id(db, owner) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member = members.register(session, owner, MemberInput(name="刘小红", phone="13811112222"))
        cards.issue(session, owner, member.id)
        for i in range(120):
            members.register(session, owner, MemberInput(name=f"顾客{i:03d}", phone=f"1350000{i:04d}"))
    return member.id


def ready(qtbot, dialog: ReportPreviewDialog) -> ReportPreviewDialog:  # type: ignore[no-untyped-def]
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=30_000)
    return dialog


def test_member_report_preview_shows_saves_and_prints(qtbot, owner_state, member_id, tmp_path) -> None:  # type: ignore[no-untyped-def]
    profile = MemberProfileDialog(owner_state, member_id)
    qtbot.addWidget(profile)
    dialog = ready(qtbot, profile.print_report())
    assert dialog.pdf is not None and dialog.pages.page_count >= 1
    assert dialog.print_button.isEnabled() and dialog.save_button.isEnabled()
    dialog.resize(800, 900)
    dialog.show()
    qtbot.waitUntil(lambda: 0 in dialog.pages.drawn_pages())  # the first page is drawn once seen
    assert "刘小红" in all_text(dialog.pdf) and "138****2222" in all_text(dialog.pdf)

    assert dialog.save_to(str(tmp_path / "report.pdf"))
    assert (tmp_path / "report.pdf").read_bytes() == dialog.pdf

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    printer.setResolution(150)
    assert dialog.print_with(printer) == dialog.pages.page_count
    assert page_count((tmp_path / "printed.pdf").read_bytes()) == dialog.pages.page_count


def test_saving_where_it_cannot_loses_nothing_and_says_why(qtbot, owner_state, member_id, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QMessageBox

    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text: warnings.append(text))
    dialog = ready(qtbot, MemberProfileDialog(owner_state, member_id).print_report())
    assert not dialog.save_to(str(tmp_path / "no-such-folder" / "report.pdf"))
    assert warnings and "does not exist" in warnings[0]
    assert dialog.pdf is not None  # still there to save elsewhere


def test_the_owner_may_ask_for_full_numbers_others_do_not_see_the_option(qtbot, owner_state, db, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    owner_dialog = ready(qtbot, MemberProfileDialog(owner_state, member_id).print_report())
    owner_dialog.full_phones_box.setChecked(True)  # makes the document again
    ready(qtbot, owner_dialog)
    assert "138 1111 2222" in all_text(owner_dialog.pdf)
    supervisor_dialog = ready(qtbot, MemberProfileDialog(AppState(db, supervisor, "en"), member_id).print_report())
    assert not hasattr(supervisor_dialog, "full_phones_box")


def test_member_list_prints_what_the_list_shows_and_turns_landscape(qtbot, owner_state, member_id) -> None:  # type: ignore[no-untyped-def]
    page = MemberListPage(owner_state)
    qtbot.addWidget(page)
    page.search_edit.setText("顾客00")
    qtbot.waitUntil(lambda: page.model.member_filter.text == "顾客00", timeout=5_000)
    dialog = ready(qtbot, page.print_list())
    assert isinstance(dialog.request, MemberListRequest) and dialog.request.flt.text == "顾客00"
    text = all_text(dialog.pdf)
    assert "顾客009" in text and "顾客010" not in text and "Total (10)" in text
    width, height = dialog.pages._sizes[0]
    assert width < height
    dialog.landscape_box.setChecked(True)
    ready(qtbot, dialog)
    width, height = dialog.pages._sizes[0]
    assert width > height


def test_stopping_a_long_document_leaves_nothing_to_save(qtbot, owner_state, member_id) -> None:  # type: ignore[no-untyped-def]
    page = MemberListPage(owner_state)
    qtbot.addWidget(page)
    dialog = page.print_list()
    dialog.cancel()
    ready(qtbot, dialog)
    assert dialog.pdf is None and not dialog.save_button.isEnabled() and not dialog.print_button.isEnabled()


def test_a_members_card_prints_single_and_can_switch_to_sheets(qtbot, owner_state, member_id) -> None:  # type: ignore[no-untyped-def]
    profile = MemberProfileDialog(owner_state, member_id)
    qtbot.addWidget(profile)
    assert profile.print_card_button.isEnabled()
    dialog = ready(qtbot, profile.print_card())
    assert isinstance(dialog.request, CardsRequest) and dialog.request.layout is CardLayout.SINGLE
    width, height = dialog.pages._sizes[0]
    assert abs(width - 85.6 * MM) < 0.5 and abs(height - 54 * MM) < 0.5
    dialog.layout_combo.setCurrentIndex(dialog.layout_combo.findData(CardLayout.SHEET))
    ready(qtbot, dialog)
    assert abs(dialog.pages._sizes[0][0] - 210 * MM) < 1


def test_complaints_month_and_loyalty_summary_open_from_their_screens(qtbot, owner_state, member_id) -> None:  # type: ignore[no-untyped-def]
    complaints_page = ComplaintsPage(owner_state)
    qtbot.addWidget(complaints_page)
    dialog = ready(qtbot, complaints_page.figures.print_month())
    assert isinstance(dialog.request, ComplaintsMonthRequest) and dialog.pdf is not None
    overview = DashboardPage(owner_state)
    qtbot.addWidget(overview)
    dialog = ready(qtbot, overview.print_loyalty_summary())
    assert isinstance(dialog.request, LoyaltySummaryRequest) and dialog.pdf is not None
    assert "刘小红" not in all_text(dialog.pdf)  # a summary, not a list of people


def test_cashiers_get_a_clear_refusal_for_the_loyalty_summary(qtbot, db, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    state = AppState(db, cashier, "en")
    dialog = ready(qtbot, ReportPreviewDialog(state, LoyaltySummaryRequest(*(2 * [__import__("datetime").date.today()])), "x"))
    assert dialog.pdf is None and "may not" in dialog.status_label.text()
