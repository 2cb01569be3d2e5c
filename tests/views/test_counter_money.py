"""The member's money at the counter, from the keyboard: top up (F10), pay from the wallet or on credit (F5),
whole or split, the member's PIN, a supervisor approving credit beyond the limit, a repayment (F11)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt

from crmdesk import preferences
from crmdesk.services import credit, members, money_settings, purchases, wallet
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.counter_page import CounterPage
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures
from tests.views.test_counter_purchases import press, till_01, type_here  # noqa: F401 - this computer is till 01

CARD = "2900000000018"


@pytest.fixture
def member_id(db, cashier):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, cashier, members.MemberInput(name="张三", phone="13800138000"), card_number=CARD).id


def open_counter(qtbot, state) -> CounterPage:  # type: ignore[no-untyped-def]
    widget = CounterPage(state)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    with qtbot.waitActive(widget):
        widget.show()
        widget.activateWindow()
    qtbot.keyClicks(widget.search_edit, CARD)
    qtbot.keyClick(widget.search_edit, Qt.Key.Key_Return)
    assert widget.profile is not None
    return widget


@pytest.fixture
def page(qtbot, cashier_state, member_id):  # type: ignore[no-untyped-def]
    return open_counter(qtbot, cashier_state)


def database_rows(db) -> tuple:  # type: ignore[no-untyped-def]
    """Everything money-related, to show a refusal changed nothing."""
    with read_session(db) as session:
        return tuple(tuple(session.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).all())
                     for table in ("wallet_entry", "credit_entry", "purchase", "member"))


def top_up_by_keyboard(qtbot, page: CounterPage, amount: str):  # type: ignore[no-untyped-def]
    press(qtbot, Qt.Key.Key_F10)
    dialog = page.money_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(dialog.amount_edit.hasFocus, timeout=2000)
    type_here(qtbot, amount)
    press(qtbot, Qt.Key.Key_Return)
    return dialog


def test_f10_tops_up_with_the_bonus_the_rules_give_and_says_why(qtbot, db, owner, page, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        wallet.add_bonus_rule(session, owner, min_topup_fen=200_00, bonus_fen=20_00)
    press(qtbot, Qt.Key.Key_F10)
    dialog = page.money_dialog
    qtbot.waitUntil(dialog.amount_edit.hasFocus, timeout=2000)
    type_here(qtbot, "150")
    assert "200" in dialog.bonus_label.text()  # how far from the next bonus, as it is typed
    type_here(qtbot, "200")
    assert "20.00" in dialog.bonus_label.text()
    press(qtbot, Qt.Key.Key_Return)
    assert not dialog.isVisible()
    qtbot.waitUntil(page.search_edit.hasFocus, timeout=2000)
    assert "Topped up ¥200.00; the wallet holds ¥220.00." in page.result_label.text()
    assert "Bonus ¥20.00" in page.result_label.text()
    assert "Stored value ¥220.00" in page.money_label.text()
    with read_session(db) as session:
        held = wallet.balance(session, member_id)
    assert (held.principal_fen, held.bonus_fen) == (200_00, 20_00)


def test_a_refused_top_up_keeps_the_dialog_open_and_changes_nothing(qtbot, db, page) -> None:  # type: ignore[no-untyped-def]
    before = database_rows(db)
    dialog = top_up_by_keyboard(qtbot, page, "6000")  # beyond the ¥5,000 a named card may hold
    assert dialog.isVisible() and "5,000" in dialog.message.text()
    assert dialog.amount_edit.hasFocus()
    type_here(qtbot, "12.345")
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.isVisible() and dialog.message.isVisible()
    press(qtbot, Qt.Key.Key_Escape)
    assert database_rows(db) == before


def test_f5_pays_from_the_wallet_and_the_rest_in_cash(qtbot, db, owner, page, member_id) -> None:  # type: ignore[no-untyped-def]
    top_up_by_keyboard(qtbot, page, "50")
    qtbot.waitUntil(page.search_edit.hasFocus, timeout=2000)
    press(qtbot, Qt.Key.Key_F5)
    dialog = page.purchase_dialog
    qtbot.waitUntil(dialog.amount_edit.hasFocus, timeout=2000)
    type_here(qtbot, "80")
    dialog.payment_box.setCurrentIndex(dialog.payment_box.findData("wallet"))
    # The wallet pays what it holds; the rest row appears, cash by default.
    assert dialog.account_edit.text() == "50.00"
    assert dialog.rest_box.isVisibleTo(dialog) and dialog.rest_box.currentData() == "cash"
    assert not dialog.pin_edit.isVisibleTo(dialog)  # no PIN chosen, so none asked
    dialog.amount_edit.setFocus()
    press(qtbot, Qt.Key.Key_Return)
    assert not dialog.isVisible()
    qtbot.waitUntil(page.search_edit.hasFocus, timeout=2000)
    assert "¥50.00 from the wallet; it holds ¥0.00." in page.result_label.text()
    with read_session(db) as session:
        assert wallet.balance(session, member_id).total_fen == 0


def test_wallet_payment_asks_for_the_members_pin_and_a_wrong_one_is_refused(qtbot, db, cashier, page, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        wallet.top_up(session, cashier, member_id, 100_00, payment_method="cash")
        wallet.set_pin(session, cashier, member_id, "246810")
    page.refresh_member()
    before = database_rows(db)
    press(qtbot, Qt.Key.Key_F5)
    dialog = page.purchase_dialog
    qtbot.waitUntil(dialog.amount_edit.hasFocus, timeout=2000)
    type_here(qtbot, "30")
    dialog.payment_box.setCurrentIndex(dialog.payment_box.findData("wallet"))
    assert dialog.pin_edit.isVisibleTo(dialog) and not dialog.rest_box.isVisibleTo(dialog)
    dialog.pin_edit.setText("111111")
    dialog.amount_edit.setFocus()
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.isVisible() and "PIN" in dialog.message.text()
    assert dialog.pin_edit.hasFocus() and dialog.pin_edit.text() == ""
    after = database_rows(db)
    assert after[:3] == before[:3]  # no sale, nothing spent: only the failed try is counted on the member
    type_here(qtbot, "246810")
    press(qtbot, Qt.Key.Key_Return)
    assert not dialog.isVisible()
    with read_session(db) as session:
        assert wallet.balance(session, member_id).total_fen == 70_00


def test_credit_beyond_the_limit_needs_a_supervisor_and_f11_repays(qtbot, db, supervisor, page, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member_id, 100_00)
    page.refresh_member()
    assert "On credit: owes ¥0.00, ¥100.00 left" in page.money_label.text()
    press(qtbot, Qt.Key.Key_F5)
    dialog = page.purchase_dialog
    qtbot.waitUntil(dialog.amount_edit.hasFocus, timeout=2000)
    type_here(qtbot, "120")
    dialog.payment_box.setCurrentIndex(dialog.payment_box.findData("credit"))
    assert dialog.account_edit.text() == "120.00"  # credit takes the whole basket unless told less
    assert dialog.needs_approval and dialog.approver_box.isVisibleTo(dialog)
    assert "more than the ¥100.00 left" in dialog.frozen_label.text()
    dialog.approver_box.setCurrentIndex(dialog.approver_box.findData("值班经理"))
    dialog.approver_secret.setText("0000")
    dialog.amount_edit.setFocus()
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.isVisible() and dialog.approver_secret.hasFocus()
    with read_session(db) as session:
        assert credit.info(session, member_id).owed_fen == 0
    type_here(qtbot, "2468")
    press(qtbot, Qt.Key.Key_Return)
    assert not dialog.isVisible(), dialog.message.text()
    qtbot.waitUntil(page.search_edit.hasFocus, timeout=2000)
    assert "¥120.00 on credit; owes ¥120.00." in page.result_label.text()
    assert page.repay_button.isEnabled()

    press(qtbot, Qt.Key.Key_F11)
    repay = page.money_dialog
    qtbot.waitUntil(repay.amount_edit.hasFocus, timeout=2000)
    assert "Owes ¥120.00." in repay.heading.text()
    type_here(qtbot, "200")
    press(qtbot, Qt.Key.Key_Return)
    assert repay.isVisible() and repay.message.isVisible()  # more than is owed: refused, nothing recorded
    type_here(qtbot, "70")
    press(qtbot, Qt.Key.Key_Return)
    assert not repay.isVisible()
    qtbot.waitUntil(page.search_edit.hasFocus, timeout=2000)
    assert "Repayment of ¥70.00 recorded; still owes ¥50.00." in page.result_label.text()
    with read_session(db) as session:
        assert credit.info(session, member_id).owed_fen == 50_00


def test_the_counter_offers_only_the_accounts_the_member_has(qtbot, page) -> None:  # type: ignore[no-untyped-def]
    press(qtbot, Qt.Key.Key_F5)
    dialog = page.purchase_dialog
    codes = [dialog.payment_box.itemData(i) for i in range(dialog.payment_box.count())]
    assert "wallet" not in codes and "credit" not in codes  # an empty wallet and no credit account
    assert not page.repay_button.isEnabled()
    press(qtbot, Qt.Key.Key_Escape)


def test_ctrl_p_prints_the_top_up_receipt_in_the_preview_without_a_receipt_printer(qtbot, page) -> None:  # type: ignore[no-untyped-def]
    top_up_by_keyboard(qtbot, page, "100")
    qtbot.waitUntil(page.search_edit.hasFocus, timeout=2000)
    assert page.result_label.text().endswith("Ctrl+P prints the receipt.")
    qtbot.keyClick(page.search_edit, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    preview = page.slips.preview
    assert preview is not None and preview.isVisible()
    with qtbot.waitSignal(preview.documentReady, timeout=20000):
        pass
    assert preview.pdf is not None and preview.pages.page_count == 1
    preview.reject()
    qtbot.waitUntil(page.search_edit.hasFocus, timeout=2000)


def test_with_a_receipt_printer_the_iou_prints_by_itself_in_chinese(qtbot, db, supervisor, page, member_id, tmp_path) -> None:  # type: ignore[no-untyped-def]
    printer = tmp_path / "lp0"
    printer.write_bytes(b"")
    prefs = preferences.load()
    prefs.receipt_printer = f"file:{printer}"
    preferences.save(prefs)
    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member_id, 100_00)
    page.refresh_member()
    press(qtbot, Qt.Key.Key_F5)
    dialog = page.purchase_dialog
    qtbot.waitUntil(dialog.amount_edit.hasFocus, timeout=2000)
    type_here(qtbot, "45.60")
    dialog.payment_box.setCurrentIndex(dialog.payment_box.findData("credit"))
    dialog.amount_edit.setFocus()
    with qtbot.waitSignal(page.slips.done, timeout=20000) as printed:
        press(qtbot, Qt.Key.Key_Return)
    assert printed.args == ["IOU printed."]
    assert "张三".encode("gb18030") in printer.read_bytes() and b"45.60" in printer.read_bytes()
    assert "IOU printed." in page.result_label.text()
    # A printer that cannot be reached: the cashier is told, and Ctrl+P tries again.
    prefs.receipt_printer = f"file:{tmp_path / 'no-such-folder' / 'lp0'}"
    preferences.save(prefs)
    with qtbot.waitSignal(page.slips.done, timeout=20000) as failed:
        qtbot.keyClick(page.search_edit, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert "not printed" in failed.args[0] and "Ctrl+P tries again" in failed.args[0]


def test_the_counter_reminds_the_cashier_of_money_overdue_on_credit(qtbot, db, supervisor, cashier_state, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member_id, 300_00, term_days=30)
        purchases.record_purchase(session, supervisor, member_id, till="01", amount_fen=88_00, credit_fen=88_00,
                                  now=datetime.now(timezone.utc) - timedelta(days=40))
    page = open_counter(qtbot, cashier_state)
    assert "¥88.00 overdue on credit, the oldest by 10 days" in page.warnings_label.text()
    assert "owes ¥88.00, ¥212.00 left" in page.money_label.text()


def test_long_overdue_credit_asks_for_a_supervisor_as_the_owner_set(qtbot, db, owner, supervisor, page, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member_id, 300_00, term_days=30)
        purchases.record_purchase(session, supervisor, member_id, till="01", amount_fen=20_00, credit_fen=20_00,
                                  now=datetime.now(timezone.utc) - timedelta(days=45))
        money_settings.save(session, owner, money_settings.MoneyRules(credit_freeze_after_days=7))
    page.refresh_member()
    press(qtbot, Qt.Key.Key_F5)
    dialog = page.purchase_dialog
    qtbot.waitUntil(dialog.amount_edit.hasFocus, timeout=2000)
    type_here(qtbot, "10")
    dialog.payment_box.setCurrentIndex(dialog.payment_box.findData("credit"))
    assert dialog.needs_approval and "15 days overdue" in dialog.frozen_label.text()
    dialog.approver_box.setCurrentIndex(dialog.approver_box.findData("值班经理"))
    dialog.approver_secret.setText("2468")
    dialog.amount_edit.setFocus()
    press(qtbot, Qt.Key.Key_Return)
    assert not dialog.isVisible(), dialog.message.text()
    with read_session(db) as session:
        assert credit.info(session, member_id).owed_fen == 30_00
