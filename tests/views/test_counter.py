"""The counter screen and the new-member form, driven from the keyboard offscreen."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from crmdesk.models import CardStatus, MemberStatus
from crmdesk.services import cards, members
from crmdesk.services.members import MemberInput
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.counter_page import CounterPage, masked_phone
from crmdesk.views.member_form import NewMemberDialog, split_prefill
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

CARD = "2900000000018"


@pytest.fixture
def people(db, cashier):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        zhang = members.register(session, cashier, MemberInput(name="张三", phone="13800138000", birthday=date(1985, 6, 2)),
                                 card_number=CARD).id
        feng = members.register(session, cashier, MemberInput(name="张三丰", phone="13912348000")).id
    return {"张三": zhang, "张三丰": feng}


@pytest.fixture
def page(qtbot, cashier_state, people):  # type: ignore[no-untyped-def]
    widget = CounterPage(cashier_state)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    with qtbot.waitActive(widget):
        widget.show()
        widget.activateWindow()
    assert widget.search_edit.hasFocus()
    return widget


def type_in(qtbot, page: CounterPage, text: str, *, enter: bool = True) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClicks(page.search_edit, text)
    if enter:
        qtbot.keyClick(page.search_edit, Qt.Key.Key_Return)


def key(qtbot, page: CounterPage, which: Qt.Key) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(QApplication.focusWidget() or page.search_edit, which)


def test_a_scanned_card_and_enter_open_the_member(qtbot, page, people) -> None:  # type: ignore[no-untyped-def]
    type_in(qtbot, page, CARD)
    assert page.profile is not None and page.profile.id == people["张三"]
    assert page.name_label.text() == "张三" and page.points_label.text() == "0"
    assert "M00000001" in page.number_label.text() and "138 0013 8000" in page.number_label.text()
    assert CARD in page.card_label.text() and page.card_button.text() == "Replace card… (F3)"
    assert page.lost_button.isEnabled() and not page.warning_label.isVisible()
    # The search box keeps the focus, its text selected so the next scan replaces it.
    assert page.search_edit.hasFocus() and page.search_edit.selectedText() == CARD
    type_in(qtbot, page, "M00000002")
    assert page.profile.id == people["张三丰"] and page.card_label.text() == "No card yet: F3 issues one."


def test_a_full_phone_opens_the_member_while_typing(qtbot, page, people) -> None:  # type: ignore[no-untyped-def]
    type_in(qtbot, page, "13912348000", enter=False)
    qtbot.waitUntil(lambda: page.profile is not None, timeout=2000)
    assert page.profile.id == people["张三丰"]


def test_typing_initials_lists_matches_to_choose_from(qtbot, page, people) -> None:  # type: ignore[no-untyped-def]
    type_in(qtbot, page, "zs", enter=False)
    qtbot.waitUntil(lambda: page.results.rowCount() == 2, timeout=2000)
    assert [page.results.item(row, 0).text() for row in range(2)] == ["张三", "张三丰"]
    assert page.results.item(0, 1).text() == "138 **** 8000" and page.results.item(0, 2).text() == CARD
    assert page.profile is None  # several matches: nobody opens by themselves
    key(qtbot, page, Qt.Key.Key_Down)
    key(qtbot, page, Qt.Key.Key_Down)
    assert page.results.currentRow() == 1
    key(qtbot, page, Qt.Key.Key_Return)
    assert page.profile is not None and page.profile.id == people["张三丰"]
    assert page.search_edit.hasFocus()


def test_enter_on_several_matches_chooses_the_first_and_enter_again_opens_it(qtbot, page, people) -> None:  # type: ignore[no-untyped-def]
    type_in(qtbot, page, "8000")  # the last four digits of both
    assert page.profile is None and page.results.rowCount() == 2 and page.results.currentRow() == 0
    key(qtbot, page, Qt.Key.Key_Return)
    assert page.profile is not None and page.profile.name == page.results.item(0, 0).text()


def test_one_match_opens_on_enter(qtbot, page, people) -> None:  # type: ignore[no-untyped-def]
    type_in(qtbot, page, "zsf")
    assert page.profile is not None and page.profile.id == people["张三丰"]


def test_a_lost_card_shows_a_warning_not_the_member(qtbot, page, db, cashier, people) -> None:  # type: ignore[no-untyped-def]
    type_in(qtbot, page, "13800138000")
    assert page.profile is not None
    with unit_of_work(db) as session:
        cards.report_lost(session, cashier, CARD)
    page.clear()
    type_in(qtbot, page, CARD)
    assert page.warning_label.isVisible()
    assert "Card 2900000000018 was reported LOST on" in page.warning_label.text()
    assert page.card_warning is not None and page.card_warning.status is CardStatus.LOST
    assert page.profile is None and not page.details.isVisible() and page.results.rowCount() == 0
    assert "张三" not in page.warning_label.text()
    # The member, found by phone, shows the lost card among the warnings.
    page.clear()
    type_in(qtbot, page, "13800138000")
    assert not page.warning_label.isVisible() and page.warnings_label.isVisible()
    assert "Card 2900000000018 was reported lost" in page.warnings_label.text()
    assert page.card_button.text() == "Issue card (F3)" and not page.lost_button.isEnabled()


def test_escape_clears_the_search_and_the_member(qtbot, page, people) -> None:  # type: ignore[no-untyped-def]
    type_in(qtbot, page, "zs", enter=False)
    qtbot.waitUntil(lambda: page.results.rowCount() == 2, timeout=2000)
    key(qtbot, page, Qt.Key.Key_Return)
    key(qtbot, page, Qt.Key.Key_Return)
    assert page.profile is not None
    key(qtbot, page, Qt.Key.Key_Escape)
    assert page.search_edit.text() == "" and page.results.rowCount() == 0
    assert page.profile is None and not page.details.isVisible() and page.empty_label.isVisible()
    assert page.search_edit.hasFocus()


def test_member_panel_shows_status_birthday_and_complaints(qtbot, page, db, supervisor, people) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        members.set_status(session, supervisor, people["张三"], MemberStatus.FROZEN, reason="争议")
    type_in(qtbot, page, "M00000001")
    assert page.warnings_label.isVisible() and "FROZEN" in page.warnings_label.text()
    assert page.birthday_badge.isVisible() == (date.today().month == 6)
    assert page.complaints_label.text() == "Open complaints: 0"
    assert page.no_visits_label.isVisible() and not page.visits.isVisible()


def test_f2_registers_a_new_member_with_the_keyboard(qtbot, page, db) -> None:  # type: ignore[no-untyped-def]
    type_in(qtbot, page, "13700001111")  # nobody has it yet
    assert page.profile is None and "Nobody found" in page.hint_label.text()
    key(qtbot, page, Qt.Key.Key_F2)
    dialog = page.new_member_dialog
    assert isinstance(dialog, NewMemberDialog) and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.name_edit.hasFocus(), timeout=2000)
    assert dialog.phone_edit.text() == "13700001111" and not dialog.details.isVisible()
    dialog.name_edit.insert("王五")  # what the input method commits (QTest types ASCII only)
    qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return)
    assert dialog.birthday_edit.hasFocus() and dialog.birthday_edit.isVisible()  # on the form, not folded away
    qtbot.keyClicks(dialog.birthday_edit, "19850602")
    qtbot.keyClick(dialog.birthday_edit, Qt.Key.Key_Return)
    assert dialog.card_edit.hasFocus()  # ready for a blank card's scan
    qtbot.keyClicks(dialog.card_edit, "2900000000025")
    qtbot.keyClick(dialog.card_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.new_member_dialog is None, timeout=2000)
    assert page.profile is not None and page.profile.name == "王五"
    assert page.profile.active_card is not None and page.profile.active_card.number == "2900000000025"
    assert page.profile.birthday == date(1985, 6, 2)
    assert "Registered 王五 as M00000003" in page.hint_label.text()
    qtbot.waitUntil(page.search_edit.hasFocus, timeout=2000)
    assert page.search_edit.text() == ""


def test_f2_without_a_card_and_errors_stay_in_the_form(qtbot, page) -> None:  # type: ignore[no-untyped-def]
    key(qtbot, page, Qt.Key.Key_F2)
    dialog = page.new_member_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.phone_edit.hasFocus(), timeout=2000)
    qtbot.keyClicks(dialog.phone_edit, "138001380")
    qtbot.keyClick(dialog.phone_edit, Qt.Key.Key_Return)
    # Nine digits are refused as Enter leaves the phone, before the name is typed.
    assert dialog.isVisible() and "9 digits given" in dialog.message.text() and dialog.phone_edit.hasFocus()
    qtbot.keyClicks(dialog.phone_edit, "13700001111")  # the wrong number is selected: typing replaces it
    qtbot.keyClick(dialog.phone_edit, Qt.Key.Key_Return)
    assert dialog.name_edit.hasFocus() and not dialog.message.isVisible()
    dialog.name_edit.insert("王五")
    qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.new_member_dialog is None, timeout=2000)
    assert page.profile is not None and page.profile.phone == "+8613700001111" and page.profile.active_card is None


def test_a_known_phone_offers_the_existing_member(qtbot, page, people) -> None:  # type: ignore[no-untyped-def]
    key(qtbot, page, Qt.Key.Key_F2)
    dialog = page.new_member_dialog
    dialog.phone_edit.setText("138 0013 8000")
    dialog.name_edit.setText("别人")
    dialog.submit()
    assert dialog.duplicate_panel.isVisible() and not dialog.register_anyway_button.isVisible()
    assert "already belongs to member 张三" in dialog.message.text()
    assert dialog.existing_list.item(0).text().startswith("M00000001")
    qtbot.waitUntil(dialog.open_existing_button.hasFocus, timeout=2000)
    qtbot.keyClick(dialog.open_existing_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.new_member_dialog is None, timeout=2000)
    assert page.profile is not None and page.profile.id == people["张三"]


def test_a_similar_name_and_birthday_can_be_registered_anyway(qtbot, page, db, people) -> None:  # type: ignore[no-untyped-def]
    key(qtbot, page, Qt.Key.Key_F2)
    dialog = page.new_member_dialog
    dialog.phone_edit.setText("13700001111")
    dialog.name_edit.setText("章三")
    dialog.details_button.setChecked(True)
    assert dialog.details.isVisible()
    dialog.birthday_edit.setText("1985/6/2")
    dialog.submit()
    assert dialog.duplicate_panel.isVisible() and dialog.register_anyway_button.isVisible()
    assert "may already be a member" in dialog.message.text()
    dialog.register_anyway_button.click()
    qtbot.waitUntil(lambda: page.new_member_dialog is None, timeout=2000)
    assert page.profile is not None and (page.profile.name, page.profile.birthday) == ("章三", date(1985, 6, 2))


def test_f3_issues_and_replaces_cards_and_f4_reports_one_lost(qtbot, page, db, people) -> None:  # type: ignore[no-untyped-def]
    type_in(qtbot, page, "M00000002")
    key(qtbot, page, Qt.Key.Key_F3)
    dialog = page.card_dialog
    assert dialog is not None and dialog.isVisible() and dialog.replacing is None
    qtbot.keyClicks(dialog.number_edit, "2900000000026")  # mistyped
    qtbot.keyClick(dialog.number_edit, Qt.Key.Key_Return)
    assert dialog.isVisible() and "wrong check digit" in dialog.message.text()
    dialog.number_edit.clear()
    qtbot.keyClick(dialog.number_edit, Qt.Key.Key_Return)  # empty: a new number
    qtbot.waitUntil(lambda: page.card_dialog is None, timeout=2000)
    assert page.profile.active_card is not None and page.profile.active_card.number == "2900000000025"
    assert page.card_button.text() == "Replace card… (F3)"

    key(qtbot, page, Qt.Key.Key_F4)
    box = page.lost_box
    assert box is not None and "2900000000025" in box.text()
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.lost_box is None, timeout=2000)
    with read_session(db) as session:
        assert [c.status for c in members.profile(session, people["张三丰"]).cards] == [CardStatus.LOST]
    assert "reported lost" in page.hint_label.text() and page.card_button.text() == "Issue card (F3)"
    qtbot.waitUntil(page.search_edit.hasFocus, timeout=2000)

    type_in(qtbot, page, CARD)  # 张三 has a card: F3 replaces it
    key(qtbot, page, Qt.Key.Key_F3)
    dialog = page.card_dialog
    assert dialog.replacing is not None and dialog.replacing.number == CARD
    qtbot.waitUntil(dialog.number_edit.hasFocus, timeout=2000)
    qtbot.keyClick(dialog.number_edit, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: page.card_dialog is None, timeout=2000)
    assert page.profile.active_card.number == CARD


def test_prefill_and_helpers() -> None:
    assert split_prefill("13800138000") == ("13800138000", "", "")
    assert split_prefill("+852 9123 4567") == ("+852 9123 4567", "", "")
    assert split_prefill("张三") == ("", "张三", "")
    assert split_prefill("Anna Li") == ("", "Anna Li", "")
    assert split_prefill(CARD) == ("", "", CARD)
    for unclear in ("zs", "zhangsan", "8000", "", "M00000001"):
        assert split_prefill(unclear) == ("", "", ""), unclear
    assert masked_phone("+8613800138000") == "138 **** 8000"
    assert masked_phone("+85291234567") == "+852 **** 4567"
    assert masked_phone(None) == ""


def test_the_prefilled_card_lands_in_the_card_field(qtbot, page) -> None:  # type: ignore[no-untyped-def]
    type_in(qtbot, page, "2900000000049")
    assert "belongs to nobody yet" in page.hint_label.text()
    key(qtbot, page, Qt.Key.Key_F2)
    dialog = page.new_member_dialog
    assert dialog.card_edit.text() == "2900000000049" and dialog.phone_edit.text() == ""
    qtbot.waitUntil(dialog.phone_edit.hasFocus, timeout=2000)


def test_f2_refuses_an_impossible_birthday_as_enter_leaves_it(qtbot, page) -> None:  # type: ignore[no-untyped-def]
    key(qtbot, page, Qt.Key.Key_F2)
    dialog = page.new_member_dialog
    dialog.phone_edit.setText("13700001111")
    dialog.name_edit.setText("王五")
    dialog.birthday_edit.setFocus()
    qtbot.keyClicks(dialog.birthday_edit, "1985-02-30")
    qtbot.keyClick(dialog.birthday_edit, Qt.Key.Key_Return)
    assert dialog.message.isVisible() and "1985-02-30" in dialog.message.text()
    assert dialog.focusWidget() is dialog.birthday_edit and dialog.isVisible()
    dialog.birthday_edit.insert("1985年2月28日")  # what the input method commits replaces the selected wrong date
    qtbot.keyClick(dialog.birthday_edit, Qt.Key.Key_Return)
    assert not dialog.message.isVisible() and dialog.focusWidget() is dialog.card_edit
