"""Purchases, refunds and redemptions at the counter, driven from the keyboard offscreen."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from crmdesk.services import loyalty, members, purchases
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.counter_page import CounterPage
from crmdesk import preferences, shop_time
from crmdesk.views.purchase_dialogs import this_till
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

CARD = "2900000000018"


@pytest.fixture
def member_id(db, cashier):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, cashier, members.MemberInput(name="张三", phone="13800138000"), card_number=CARD).id


@pytest.fixture
def page(qtbot, cashier_state, member_id):  # type: ignore[no-untyped-def]
    widget = CounterPage(cashier_state)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    with qtbot.waitActive(widget):
        widget.show()
        widget.activateWindow()
    qtbot.keyClicks(widget.search_edit, CARD)
    qtbot.keyClick(widget.search_edit, Qt.Key.Key_Return)
    assert widget.profile is not None and widget.profile.id == member_id
    return widget


def press(qtbot, which: Qt.Key) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(QApplication.focusWidget(), which)


def type_here(qtbot, text: str) -> None:  # type: ignore[no-untyped-def]
    widget = QApplication.focusWidget()
    widget.selectAll() if hasattr(widget, "selectAll") else None
    qtbot.keyClicks(widget, text)


@pytest.fixture(autouse=True)
def till_01() -> None:
    """This computer is till 01 (Settings → This computer)."""
    prefs = preferences.load()
    prefs.till = "01"
    preferences.save(prefs)


def record_by_keyboard(qtbot, page: CounterPage, amount: str, receipt: str = ""):  # type: ignore[no-untyped-def]
    """F5, the amount, (Tab, Tab to the receipt number and the number), Enter."""
    press(qtbot, Qt.Key.Key_F5)
    dialog = page.purchase_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.amount_edit.hasFocus(), timeout=2000)  # the amount is typed first
    type_here(qtbot, amount)
    if receipt:
        press(qtbot, Qt.Key.Key_Tab)  # payment
        press(qtbot, Qt.Key.Key_Tab)
        assert dialog.receipt_edit.hasFocus()
        type_here(qtbot, receipt)
    press(qtbot, Qt.Key.Key_Return)
    if not dialog.isVisible():
        qtbot.waitUntil(page.search_edit.hasFocus, timeout=2000)
    return dialog


def test_a_purchase_is_recorded_from_the_keyboard_and_a_repeat_says_so(qtbot, page, member_id) -> None:  # type: ignore[no-untyped-def]
    assert page.purchase_button.text() == "Record purchase (F5)" and page.redeem_button.text() == "Redeem points… (F7)"
    dialog = record_by_keyboard(qtbot, page, "123.99", "R1")
    assert not dialog.isVisible() and page.purchase_dialog is None
    assert "(receipt R1): +123 points, 123 points now" in page.result_label.text()
    assert page.points_label.text() == "123"
    assert page.results.item(0, 4).text() == "123"  # the match list shows the points as they are now
    qtbot.waitUntil(page.search_edit.hasFocus, timeout=2000)  # focus goes back to the search box
    assert this_till() == "01" and dialog.till == "01"  # this computer's till went on the receipt

    # The same receipt again: nothing changes, and the counter says so.
    dialog = record_by_keyboard(qtbot, page, "123.99", "R1")
    assert "already recorded" in page.result_label.text() and page.points_label.text() == "123"
    with read_session(page._state.db) as session:
        assert purchases.totals(session, member_id).visits == 1


def test_a_wrong_amount_keeps_the_dialog_open(qtbot, page) -> None:  # type: ignore[no-untyped-def]
    dialog = record_by_keyboard(qtbot, page, "12.345")
    assert dialog.isVisible() and "more than two decimals" in dialog.message.text()
    assert dialog.amount_edit.hasFocus()
    dialog.reject()


def test_lines_must_add_up_and_earn_by_category(qtbot, page, owner) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(page._state.db) as session:
        loyalty.set_rules(session, owner, loyalty.Rules(category_multipliers=(("烟酒", 0),)))
    press(qtbot, Qt.Key.Key_F5)
    dialog = page.purchase_dialog
    dialog.add_line(("6901", "香烟", "烟酒", "1", "50"))
    dialog.add_line(("6902", "牛奶", "乳制品", "2", "10.5"))
    dialog.receipt_edit.setText("R2")
    dialog.amount_edit.setText("80")
    dialog.accept()
    assert "add up to ¥71.00" in dialog.message.text()
    dialog.amount_edit.setText("")  # empty amount: the lines' sum
    dialog.accept()
    assert not dialog.isVisible() and "+21 points" in page.result_label.text()


def test_refund_defaults_to_what_is_left_and_never_exceeds_it(qtbot, page) -> None:  # type: ignore[no-untyped-def]
    record_by_keyboard(qtbot, page, "100", "R1")
    press(qtbot, Qt.Key.Key_F6)
    dialog = page.refund_dialog
    assert dialog.original_box.currentText() == "R1" and dialog.amount_edit.text() == ""
    assert "at most ¥100.00" in dialog.amount_edit.placeholderText()
    dialog.amount_edit.setText("40")
    dialog.refund_receipt_edit.setText("F1")
    qtbot.keyClick(dialog.refund_receipt_edit, Qt.Key.Key_Return)
    assert not dialog.isVisible() and "40 points taken back, 60 points now" in page.result_label.text()

    press(qtbot, Qt.Key.Key_F6)
    dialog = page.refund_dialog
    assert "at most ¥60.00" in dialog.amount_edit.placeholderText()  # what remains refundable
    dialog.amount_edit.setText("60.01")
    dialog.refund_receipt_edit.setText("F2")
    dialog.accept()
    assert dialog.isVisible() and "Only ¥60.00 of this ¥100.00 receipt can still be refunded" in dialog.message.text()
    dialog.reject()
    assert page.points_label.text() == "60"


def test_redeem_beyond_the_balance_is_refused_and_changes_nothing(qtbot, page, member_id) -> None:  # type: ignore[no-untyped-def]
    record_by_keyboard(qtbot, page, "300", "R1")
    press(qtbot, Qt.Key.Key_F7)
    dialog = page.redeem_dialog
    assert "300 points, worth ¥3.00" in dialog.balance_label.text()
    qtbot.waitUntil(dialog.points_edit.hasFocus, timeout=2000)
    type_here(qtbot, "500")
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.isVisible() and "has 300 points; 500 cannot be redeemed" in dialog.message.text()
    with read_session(page._state.db) as session:
        assert members.profile(session, member_id).points_balance == 300
    dialog.points_edit.setText("200")
    assert dialog.value_label.text() == "¥2.00 off"
    press(qtbot, Qt.Key.Key_Return)
    assert not dialog.isVisible() and "100 points left" in page.result_label.text() and page.points_label.text() == "100"
    assert page.results.item(0, 4).text() == "100"  # every figure of the member on screen is current


def test_points_expiring_soon_show_on_the_panel(qtbot, page, member_id, cashier) -> None:  # type: ignore[no-untyped-def]
    today = shop_time.today()
    assert not page.expiring_label.isVisible()
    # Earned last year: they expire on 31 December this year; two months before, the panel warns.
    earned = datetime(today.year - 1, 6, 1, 12, tzinfo=timezone.utc)
    with unit_of_work(page._state.db) as session:
        purchases.record_purchase(session, cashier, member_id, receipt_no="OLD", till="01", amount_fen=30_000, occurred_at=earned)
    page.refresh_member()
    expires = date(today.year, 12, 31)
    if expires - today <= timedelta(days=60):
        assert page.expiring_label.isVisible()
        assert page.expiring_label.text() == f"300 points expire on {expires.isoformat()}"
    with read_session(page._state.db) as session:
        soon = loyalty.expiring_soon(session, member_id, expires - timedelta(days=10))
    assert [(lot.points, lot.expires_on) for lot in soon] == [(300, expires)]
