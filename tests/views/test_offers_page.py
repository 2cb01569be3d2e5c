"""The offers page and the counter's offers panel, offscreen."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from crmdesk.models.offer import OfferKind
from crmdesk.services import members, offers
from crmdesk.services.offers import OfferInput
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.eligible_offers import EligibleOffersWidget
from crmdesk.views.offers_page import OfferDialog, OffersPage
from crmdesk.views.state import AppState


@pytest.fixture
def member_id(db, owner) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, owner, members.MemberInput(name="张三", phone="13812345678")).id


def _create(db, owner, **fields):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return offers.create_offer(session, owner, OfferInput(**fields))


def test_the_editor_defines_each_kind_from_the_keyboard(qtbot, owner_state) -> None:  # type: ignore[no-untyped-def]
    page = OffersPage(owner_state)
    qtbot.addWidget(page)
    dialog = OfferDialog(owner_state, None, page)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.name_edit.setText("满100减10")
    dialog.kind_combo.setCurrentIndex(0)
    assert dialog.kind_pages.currentIndex() == 0
    qtbot.keyClicks(dialog.threshold_edit, "100")
    qtbot.keyClicks(dialog.off_edit, "10")
    dialog.per_member_spin.setValue(2)
    qtbot.keyClick(dialog.off_edit, Qt.Key.Key_Return)  # Enter saves
    assert dialog.result() and dialog.saved is not None
    assert (dialog.saved.threshold_fen, dialog.saved.reduction_fen, dialog.saved.per_member_limit) == (10_000, 1_000, 2)

    for kind, fill in (
        (OfferKind.PERCENT_OFF, lambda d: d.percent_edit.setText("12.5")),
        (OfferKind.GIFT, lambda d: d.gift_edit.setText("购物袋")),
        (OfferKind.BIRTHDAY, lambda d: d.birthday_percent_edit.setText("10")),
        (OfferKind.BUY_X_GET_Y, lambda d: d.category_edit.setText("乳品")),
        (OfferKind.POINTS_MULTIPLIER, lambda d: d.weekday_checks[2].setChecked(True)),
    ):
        editor = OfferDialog(owner_state, None, page)
        qtbot.addWidget(editor)
        editor.name_edit.setText(kind.value)
        editor.kind_combo.setCurrentIndex(editor.kind_combo.findData(kind))
        fill(editor)
        editor.save()
        assert editor.saved is not None and editor.saved.kind is kind, editor.error_label.text()
    with read_session(owner_state.db) as session:
        saved = {o.kind: o for o in offers.list_offers(session)}
    assert saved[OfferKind.PERCENT_OFF].percent_bp == 1_250 and saved[OfferKind.POINTS_MULTIPLIER].weekdays == (2,)

    wrong = OfferDialog(owner_state, None, page)
    qtbot.addWidget(wrong)
    wrong.name_edit.setText("x")
    wrong.kind_combo.setCurrentIndex(wrong.kind_combo.findData(OfferKind.GIFT))
    wrong.save()
    assert wrong.saved is None and "Name the gift" in wrong.error_label.text()


def test_the_list_shows_use_and_switches_offers_off_and_makes_coupons(qtbot, owner_state, member_id) -> None:  # type: ignore[no-untyped-def]
    db, owner = owner_state.db, owner_state.actor
    coupon_offer = _create(db, owner, name="10元券", kind=OfferKind.AMOUNT_OFF, reduction_fen=1_000, coupon_required=True,
                           total_limit=100, starts_on=date(2026, 1, 1))
    page = OffersPage(owner_state)
    qtbot.addWidget(page)
    assert page.table.rowCount() == 1
    assert "2026-01-01" in page.table.item(0, 3).text() and "100" in page.table.item(0, 5).text()
    page.select_offer(coupon_offer.id)
    assert page.coupons_button.isEnabled()
    dialog = page.coupons_dialog(page.selected())
    qtbot.addWidget(dialog)
    dialog.count_spin.setValue(3)
    dialog.generate()
    assert len(dialog.codes) == 3 and dialog.codes_view.toPlainText().count("\n") == 2
    dialog.copy_codes()
    assert QApplication.clipboard().text().splitlines() == dialog.codes
    page.refresh()
    assert page.table.item(0, 7).text() == "0 / 3"
    page.select_offer(coupon_offer.id)
    page.toggle_active()
    assert not page.offers[0].active and page.toggle_button.text() == "Switch &on"


def test_cashiers_see_offers_but_cannot_change_them(qtbot, db, owner, cashier) -> None:  # type: ignore[no-untyped-def]
    _create(db, owner, name="伞", kind=OfferKind.GIFT, gift="伞")
    page = OffersPage(AppState(db, cashier, "en"))
    qtbot.addWidget(page)
    page.table.selectRow(0)
    assert page.table.rowCount() == 1
    assert not page.new_button.isEnabled() and not page.toggle_button.isEnabled()


def test_the_counter_panel_lists_usable_first_and_applies(qtbot, owner_state, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    db, owner = owner_state.db, owner_state.actor
    spend = _create(db, owner, name="满100减10", kind=OfferKind.AMOUNT_OFF, threshold_fen=10_000, reduction_fen=1_000,
                    per_member_limit=1)
    birthday = _create(db, owner, name="生日礼", kind=OfferKind.BIRTHDAY, gift="鸡蛋")
    coupon = _create(db, owner, name="券", kind=OfferKind.PERCENT_OFF, percent_bp=1_000, coupon_required=True)
    with unit_of_work(db) as session:
        [code] = offers.generate_coupons(session, owner, coupon.id, 1, member_id)
    widget = EligibleOffersWidget(AppState(db, cashier, "en"))
    qtbot.addWidget(widget)
    assert widget.table.rowCount() == 0
    widget.show_member(member_id)
    names = [widget.table.item(row, 0).text() for row in range(widget.table.rowCount())]
    assert names.index("生日礼") == 2  # not usable: listed last, with its reason
    assert "birthday month" in widget.table.item(2, 1).text()
    assert widget.table.item(2, 0).foreground().color().name() == "#8c8c8c"
    assert widget.table.cellWidget(2, 2) is None
    widget.basket_edit.setText("150")
    widget.refresh()
    row = names.index("满100减10")
    assert "¥10.00 off" in widget.table.item(row, 1).text()
    with qtbot.waitSignal(widget.applied) as signal:
        button = widget.table.cellWidget(row, 2)
        assert isinstance(button, QPushButton)
        button.click()
    assert signal.args[0].discount_fen == 1_000 and "Applied" in widget.message.text()
    reason_row = [widget.table.item(r, 0).text() for r in range(widget.table.rowCount())].index("满100减10")
    assert "Limit reached" in widget.table.item(reason_row, 1).text()

    widget.ask_coupon = lambda status: None  # type: ignore[method-assign]  # cancelled: nothing happens
    assert widget.apply_offer(coupon.id) is None
    asked = []
    widget.ask_coupon = lambda status: asked.append(status.coupon_codes) or code  # type: ignore[method-assign]
    result = widget.apply_offer(coupon.id)
    assert asked == [(code,)] and result is not None and result.discount_fen == 1_500
    widget.apply_offer(spend.id)  # now refused: the reason is shown, nothing emitted
    assert "Limit reached" in widget.message.text()
    assert birthday.id not in [s.offer.id for s in widget.statuses if s.usable]
