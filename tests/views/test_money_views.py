"""Stored value and credit off the counter: the member's wallet and credit tabs, who sees which action, the
owner's settings and bonus rules, and the money area's overdue list."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from crmdesk import shop_time
from crmdesk.services import credit, members, money_settings, purchases, wallet
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.member_profile import MemberProfileDialog
from crmdesk.views.money_dialogs import (
    CashOutDialog, CollectionNoteDialog, CreditFreezeDialog, CreditLimitDialog, PayPinDialog, WalletAdjustDialog, WriteOffDialog,
)
from crmdesk.views.money_page import MoneyPage
from crmdesk.views.money_settings_tab import BonusRuleDialog, MoneySettingsTab
from crmdesk.views.state import AppState
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures
from tests.views.dialogs import built


@pytest.fixture
def member_id(db, cashier):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member = members.register(session, cashier, members.MemberInput(name="王芳", phone="13900139000"))
        wallet.top_up(session, cashier, member.id, 300_00, payment_method="cash")
        return member.id


def profile_of(db, member_id):  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return members.profile(session, member_id)


def money_rows(db) -> tuple:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return tuple(tuple(session.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1")).all())
                     for table in ("wallet_entry", "credit_entry", "credit_account", "collection_note", "member"))


def test_a_cashier_tops_up_and_sets_the_pin_but_cannot_pay_out_or_correct(qtbot, qapp, db, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    dialog = MemberProfileDialog(AppState(db, cashier, "en"), member_id)
    qtbot.addWidget(dialog)
    tab = dialog.wallet_tab
    assert tab.summary.text().startswith("Stored value ¥300.00: ¥300.00 paid in, ¥0.00 bonus.")
    assert tab.table.rowCount() == 1 and tab.table.item(0, 1).text() == "Top-up"
    assert tab.top_up_button.isVisibleTo(tab) and tab.pin_button.isVisibleTo(tab)
    assert not tab.cash_out_button.isVisibleTo(tab) and not tab.adjust_button.isVisibleTo(tab)
    credit_tab = dialog.credit_tab
    assert not credit_tab.limit_button.isVisibleTo(credit_tab) and not credit_tab.write_off_button.isVisibleTo(credit_tab)

    pin = PayPinDialog(AppState(db, cashier, "en"), profile_of(db, member_id))
    qtbot.addWidget(pin)
    pin.pin_edit.setText("2580")
    pin.again_edit.setText("2581")
    before = money_rows(db)
    pin.accept()
    assert pin.message.isVisibleTo(pin) and "differ" in pin.message.text() and money_rows(db) == before
    pin.again_edit.setText("2580")
    pin.accept()
    assert pin.result() == pin.DialogCode.Accepted
    assert profile_of(db, member_id).has_pay_pin


def test_a_supervisor_pays_out_the_principal_and_the_owner_corrects_with_a_reason(qtbot, qapp, db, owner, supervisor,
                                                                                   member_id) -> None:  # type: ignore[no-untyped-def]
    adjust = WalletAdjustDialog(AppState(db, owner, "en"), profile_of(db, member_id))
    qtbot.addWidget(adjust)
    adjust.bonus_edit.setText("15")
    before = money_rows(db)
    adjust.accept()  # no reason: refused, pointing at the reason
    assert adjust.message.isVisibleTo(adjust)
    assert money_rows(db) == before
    adjust.reason_edit.setText("开业活动漏送")
    adjust.accept()
    assert adjust.result() == adjust.DialogCode.Accepted
    with read_session(db) as session:
        assert wallet.balance(session, member_id) == wallet.Balance(300_00, 15_00)

    cash_out = CashOutDialog(AppState(db, supervisor, "en"), profile_of(db, member_id))
    qtbot.addWidget(cash_out)
    assert "¥300.00 is paid back" in cash_out.heading.text() and "¥15.00 is forfeited" in cash_out.heading.text()
    cash_out.reason_edit.setText("搬家")
    cash_out.accept()
    assert cash_out.result_value is not None and cash_out.result_value.principal_fen == 300_00
    with read_session(db) as session:
        assert wallet.balance(session, member_id).total_fen == 0


def test_credit_limit_with_the_suggestion_notes_freezing_and_a_write_off(qtbot, qapp, db, owner, supervisor, cashier,
                                                                         member_id) -> None:  # type: ignore[no-untyped-def]
    state = AppState(db, supervisor, "en")
    limit = built(CreditLimitDialog, state, profile_of(db, member_id))
    qtbot.addWidget(limit)
    assert limit.heading.text().startswith("Suggested: ")
    limit.limit_edit.setText("abc")
    limit.accept()
    assert limit.message.isVisibleTo(limit) and limit.result() != limit.DialogCode.Accepted
    with read_session(db) as session:
        assert not credit.info(session, member_id).has_account
    limit.limit_edit.setText("200")
    limit.days_box.setValue(15)
    limit.accept()
    with read_session(db) as session:
        info = credit.info(session, member_id)
    assert (info.limit_fen, info.term_days) == (200_00, 15)

    with unit_of_work(db) as session:
        purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=80_00, credit_fen=80_00,
                                  now=datetime.now(timezone.utc) - timedelta(days=40))
    note = CollectionNoteDialog(state, profile_of(db, member_id))
    qtbot.addWidget(note)
    before = money_rows(db)
    note.accept()  # nothing said: refused
    assert note.message.isVisibleTo(note) and money_rows(db) == before
    note.text_edit.setPlainText("电话联系，答应周五还")
    note.promise_check.setChecked(True)
    note.promise_amount.setText("80")
    note.accept()
    assert note.result() == note.DialogCode.Accepted

    freeze = CreditFreezeDialog(state, profile_of(db, member_id))
    qtbot.addWidget(freeze)
    freeze.accept()  # stopping credit needs the reason
    assert freeze.message.isVisibleTo(freeze)
    freeze.reason_edit.setText("逾期未还")
    freeze.accept()
    assert profile_of(db, member_id).credit_frozen

    dialog = MemberProfileDialog(AppState(db, owner, "en"), member_id)
    qtbot.addWidget(dialog)
    tab = dialog.credit_tab
    assert "owes ¥80.00" in tab.summary.text()
    assert tab.notes_table.rowCount() == 1 and tab.notes_table.item(0, 5).text() == "电话联系，答应周五还"
    assert tab.write_off_button.isVisibleTo(tab)

    write_off = WriteOffDialog(AppState(db, supervisor, "en"), profile_of(db, member_id))
    qtbot.addWidget(write_off)
    write_off.reason_edit.setText("联系不上")
    before = money_rows(db)
    write_off.accept()  # only the owner writes off
    assert write_off.message.isVisibleTo(write_off) and money_rows(db) == before
    write_off = WriteOffDialog(AppState(db, owner, "en"), profile_of(db, member_id))
    qtbot.addWidget(write_off)
    write_off.reason_edit.setText("联系不上")
    write_off.accept()
    assert profile_of(db, member_id).credit_owed_fen == 0


def test_the_owners_money_settings_refuse_a_cap_beyond_the_rules_and_add_a_bonus(qtbot, qapp, db, owner) -> None:  # type: ignore[no-untyped-def]
    tab = MoneySettingsTab(AppState(db, owner, "en"))
    qtbot.addWidget(tab)
    assert tab.prepaid_check.isChecked() and tab.cap_edit.text() == "5000.00"
    tab.cap_edit.setText("8000")
    tab.save()
    assert tab.refused and "5,000.00" in tab.message.text()
    with read_session(db) as session:
        assert money_settings.get(session).wallet_cap_fen == 5_000_00
    tab.cap_edit.setText("3000")
    tab.pin_edit.setText("50")
    tab.save()
    assert not tab.refused
    with read_session(db) as session:
        saved = money_settings.get(session)
    assert (saved.wallet_cap_fen, saved.pin_above_fen) == (3_000_00, 50_00)

    with read_session(db) as session:
        rule = BonusRuleDialog(AppState(db, owner, "en"), BonusRuleDialog.setup(session), tab)
    qtbot.addWidget(rule)
    rule.min_edit.setText("100")
    rule.bonus_edit.setText("150")  # more bonus than the top-up: refused
    rule.accept()
    assert rule.message.isVisibleTo(rule) and rule.result() != rule.DialogCode.Accepted
    rule.bonus_edit.setText("10")
    rule.accept()
    assert rule.result() == rule.DialogCode.Accepted
    tab.load()
    assert tab.rules_table.rowCount() == 1 and tab.rules_table.item(0, 4).text() == "In use"


def test_the_money_area_lists_who_is_overdue_longest_first_with_the_promise(qtbot, qapp, db, owner, cashier,
                                                                             supervisor) -> None:  # type: ignore[no-untyped-def]
    # Both charges fall due after 30 days: overdue by 10 and by 45 days.
    with unit_of_work(db) as session:
        ids = []
        for name, phone, days in (("赵一", "13700000001", 40), ("钱二", "13700000002", 75)):
            member = members.register(session, cashier, members.MemberInput(name=name, phone=phone))
            credit.set_limit(session, supervisor, member.id, 500_00)
            purchases.record_purchase(session, cashier, member.id, till="01", amount_fen=100_00, credit_fen=100_00,
                                      now=datetime.now(timezone.utc) - timedelta(days=days))
            ids.append(member.id)
        credit.add_note(session, supervisor, ids[1], text="答应月底还", promised_on=shop_time.today() - timedelta(days=2),
                        now=datetime.now(timezone.utc) - timedelta(days=9))
    page = MoneyPage(AppState(db, owner, "en"))
    qtbot.addWidget(page)
    assert page.owed_tile.value.text() == "¥200.00" and page.overdue_tile.value.text() == "¥200.00"
    assert [page.table.item(row, 1).text() for row in range(page.table.rowCount())] == ["钱二", "赵一"]
    assert "答应月底还" in page.table.item(0, 6).text()
    assert page.table.item(0, 7).toolTip()  # the promise has passed: marked
    assert page.bucket_tiles["31-60"].value.text() == "¥100.00" and page.bucket_tiles["1-30"].value.text() == "¥100.00"
    assert not page.empty_label.isVisible()


def test_the_money_area_says_when_nobody_is_overdue(qtbot, qapp, db, owner) -> None:  # type: ignore[no-untyped-def]
    page = MoneyPage(AppState(db, owner, "en"))
    qtbot.addWidget(page)
    assert page.table.rowCount() == 0 and page.empty_label.isVisibleTo(page)
    assert page.wallet_tile.value.text() == "¥0.00"


def test_the_wallet_tab_reprints_a_top_up_and_a_cash_out_prints_its_slip_to_sign(qtbot, qapp, db, supervisor,
                                                                                  member_id) -> None:  # type: ignore[no-untyped-def]
    dialog = MemberProfileDialog(AppState(db, supervisor, "en"), member_id)
    qtbot.addWidget(dialog)
    tab = dialog.wallet_tab
    assert not tab.slip_button.isEnabled()  # nothing chosen yet
    tab.table.selectRow(0)
    assert tab.slip_button.isEnabled()
    tab.print_selected_slip()
    preview = tab.slips.preview
    with qtbot.waitSignal(preview.documentReady, timeout=20000):
        pass
    assert preview.pdf is not None and preview.windowTitle() == "Top-up receipt"
    preview.reject()

    cash_out = CashOutDialog(AppState(db, supervisor, "en"), profile_of(db, member_id), tab)
    cash_out.accept()
    tab._print_after(cash_out)
    assert tab.slips.preview is not None and tab.slips.preview.windowTitle() == "Cash-out slip"
    with qtbot.waitSignal(tab.slips.preview.documentReady, timeout=20000):
        pass
    tab.slips.preview.reject()


def test_the_credit_tab_prints_an_iou_and_the_statement(qtbot, qapp, db, supervisor, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        credit.set_limit(session, supervisor, member_id, 500_00)
        purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=66_00, credit_fen=66_00)
        credit.repay(session, cashier, member_id, 10_00)
    dialog = MemberProfileDialog(AppState(db, supervisor, "en"), member_id)
    qtbot.addWidget(dialog)
    tab = dialog.credit_tab
    kinds = [tab.table.item(row, 1).text() for row in range(tab.table.rowCount())]
    tab.table.selectRow(kinds.index("Repayment"))
    assert not tab.iou_button.isEnabled()  # a repayment has no IOU
    tab.table.selectRow(kinds.index("On credit"))
    assert tab.iou_button.isEnabled()
    tab.print_selected_iou()
    with qtbot.waitSignal(tab.slips.preview.documentReady, timeout=20000):
        pass
    assert tab.slips.preview.pdf is not None
    tab.slips.preview.reject()
    tab.show_statement()
    with qtbot.waitSignal(tab.preview.documentReady, timeout=20000):
        pass
    assert tab.preview.pdf is not None and tab.preview.start_edit.date().day() == 1
    tab.preview.reject()


def test_the_money_area_prints_the_aging_and_the_liability(qtbot, qapp, db, supervisor) -> None:  # type: ignore[no-untyped-def]
    page = MoneyPage(AppState(db, supervisor, "en"))
    qtbot.addWidget(page)
    for open_document in (page.print_aging, page.print_liability):
        preview = open_document()
        with qtbot.waitSignal(preview.documentReady, timeout=20000):
            pass
        assert preview.pdf is not None, preview.last_message
        preview.reject()


def test_this_computers_receipt_printer_is_checked_before_it_is_kept(qtbot, qapp, db, owner) -> None:  # type: ignore[no-untyped-def]
    from crmdesk import preferences
    from crmdesk.views.settings_page import SettingsPage

    page = SettingsPage(AppState(db, owner, "en"))
    qtbot.addWidget(page)
    tab = page.computer_tab
    tab.printer_edit.setText("lpt1")
    tab.apply()
    assert "not a printer address" in tab.status.text() and preferences.load().receipt_printer == ""
    tab.printer_edit.setText("tcp:192.168.1.50")
    tab.width_box.setCurrentIndex(tab.width_box.findData(58))
    tab.apply()
    prefs = preferences.load()
    assert (prefs.receipt_printer, prefs.slip_width_mm) == ("tcp:192.168.1.50:9100", 58)


def test_the_navigation_counts_promises_to_pay_that_passed(qtbot, qapp, db, owner, cashier, supervisor) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.views.main_window import MainWindow

    with unit_of_work(db) as session:
        member = members.register(session, cashier, members.MemberInput(name="孙三", phone="13700000003"))
        credit.set_limit(session, supervisor, member.id, 500_00)
        purchases.record_purchase(session, cashier, member.id, till="01", amount_fen=50_00, credit_fen=50_00,
                                  now=datetime.now(timezone.utc) - timedelta(days=50))
        credit.add_note(session, supervisor, member.id, text="下周还", promised_on=shop_time.today() - timedelta(days=1),
                        now=datetime.now(timezone.utc) - timedelta(days=8))
    window = MainWindow(AppState(db, owner, "en"))
    qtbot.addWidget(window)
    keys = [key for key, _page in window._areas]
    item = window.nav.item(keys.index("money"))
    assert item.text().endswith("promises passed: 1")
    with unit_of_work(db) as session:
        credit.repay(session, cashier, member.id, 50_00)
    window.show_view("money")  # showing the area reads it again
    assert item.text().split() == ["Money", "Ctrl+6"]
