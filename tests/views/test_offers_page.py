"""The offers page and the counter's offers panel, offscreen."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QCoreApplication, Qt, QTranslator
from PySide6.QtWidgets import QApplication, QFormLayout, QPushButton

from crmdesk.models import MemberStatus, Tier
from crmdesk.models.offer import Offer, OfferKind, OfferTarget
from crmdesk.services import members, offers
from crmdesk.services.offers import OfferInput
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views import eligible_offers
from crmdesk.views.eligible_offers import EligibleOffersWidget
from crmdesk.views.offers_page import KINDS, OfferDialog, OffersPage
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
    assert dialog.off_edit.isVisibleTo(dialog) and not dialog.percent_edit.isVisibleTo(dialog)
    qtbot.keyClicks(dialog.threshold_edit, "100")
    qtbot.keyClicks(dialog.off_edit, "10")
    dialog.per_member_spin.setValue(2)
    qtbot.keyClick(dialog.off_edit, Qt.Key.Key_Return)  # Enter saves
    assert dialog.result() and dialog.saved is not None
    assert (dialog.saved.threshold_fen, dialog.saved.reduction_fen, dialog.saved.per_member_limit) == (10_000, 1_000, 2)

    for kind, fill in (
        (OfferKind.PERCENT_OFF, lambda d: d.percent_edit.setText("12.5")),
        (OfferKind.GIFT, lambda d: d.gift_edit.setText("购物袋")),
        (OfferKind.BIRTHDAY, lambda d: d.percent_edit.setText("10")),
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
    assert page.table.item(0, 3).text() == "from 2026-01-01" and page.table.item(0, 5).text() == "No limit / 100"
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
    with qtbot.assertNotEmitted(widget.applied):
        widget.apply_offer(coupon.id)
    asked = []
    widget.ask_coupon = lambda status: asked.append(status.coupon_codes) or code  # type: ignore[method-assign]
    with qtbot.waitSignal(widget.applied) as signal:
        widget.apply_offer(coupon.id)
    assert asked == [(code,)] and signal.args[0].discount_fen == 1_500
    with qtbot.assertNotEmitted(widget.applied):
        widget.apply_offer(spend.id)  # now refused: the reason is shown, nothing emitted
    assert "Limit reached" in widget.message.text()
    assert birthday.id not in [s.offer.id for s in widget.statuses if s.usable]


# --------------------------------------------------------------------------- every condition, in the user's words


class PseudoTranslator(QTranslator):
    """Marks every string it translates with 译 and uses Chinese list separators: text that reaches the
    screen without going through translation shows up in English, unmarked."""

    def translate(self, context, source, disambiguation=None, n=-1):  # type: ignore[no-untyped-def, override]
        if source in SEPARATORS:
            return SEPARATORS[source]
        return "译" + source if source else source


SEPARATORS = {", ": "、", "; ": "；"}
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


@pytest.fixture
def pseudo(qapp):  # type: ignore[no-untyped-def]
    translator = PseudoTranslator()
    QCoreApplication.installTranslator(translator)
    yield translator
    QCoreApplication.removeTranslator(translator)


def _cells(table) -> list[str]:  # type: ignore[no-untyped-def]
    """The text of every cell that shows text (not the ones holding a button)."""
    return [table.item(r, c).text() for r in range(table.rowCount()) for c in range(table.columnCount())
            if table.item(r, c) is not None and table.cellWidget(r, c) is None]


def _assert_translated(texts: list[str]) -> None:
    for text in texts:
        assert text.strip(), "an empty cell shows —"
        assert ", " not in text and "∞" not in text, text
        if LATIN_WORD.search(text.replace("译", " ")):
            assert "译" in text, f"English that escaped translation: {text!r}"


def _tier_ids(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return dict(session.execute(sa.select(Tier.name, Tier.id)).all())


def _legacy_gold_offer(db) -> int:  # type: ignore[no-untyped-def]
    """金卡会员九五折 as the demo store has it: for everyone, with a legacy minimum tier of 金卡."""
    with unit_of_work(db) as session:
        row = Offer(name="金卡会员九五折", kind=OfferKind.PERCENT_OFF, value=500, min_tier_id=_tier_ids(db)["金卡"])
        session.add(row)
        session.flush()
        return row.id


def test_the_list_shows_every_condition_in_the_users_words(qtbot, pseudo, owner_state) -> None:  # type: ignore[no-untyped-def]
    db, owner = owner_state.db, owner_state.actor
    legacy = _legacy_gold_offer(db)
    _create(db, owner, name="宝妈满50送袋", kind=OfferKind.GIFT, gift="购物袋", threshold_fen=5_000, target=OfferTarget.TAGS,
            tags=("宝妈", "老顾客"), tier_ids=(_tier_ids(db)["银卡"],), per_member_limit=1, total_limit=200, points_cost=100,
            coupon_required=True, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    _create(db, owner, name="周三双倍积分", kind=OfferKind.POINTS_MULTIPLIER, multiplier_pct=200, weekdays=(2,),
            ends_on=date(2026, 12, 31))
    page = OffersPage(owner_state)
    qtbot.addWidget(page)
    rows = {page.table.item(r, 0).text(): [page.table.item(r, c).text() for c in range(page.table.columnCount())]
            for r in range(page.table.rowCount())}
    _assert_translated(_cells(page.table))
    gold = rows["金卡会员九五折"]
    assert gold[4] == "译Tiers: {names}".replace("{names}", "金卡、钻石")  # not "everyone": the minimum tier shows
    assert (gold[3], gold[5], gold[7]) == ("译Always", "译No limit / 译No limit", "—")
    bag = rows["宝妈满50送袋"]
    assert bag[2] == "译Gift: 购物袋；译basket of at least ¥50.00；译costs 100 points；译coupon needed"
    assert bag[4] == "译Tags: 宝妈、老顾客；译Tiers: 银卡"
    assert (bag[3], bag[5], bag[7]) == ("2026-01-01 – 2026-12-31", "1 / 200", "0 / 0")
    days = rows["周三双倍积分"]
    assert (days[2], days[3], days[5]) == ("译{percent} % points on {days}".format(percent=200, days="译Wed"), "译until 2026-12-31", "—")
    assert legacy in [info.id for info in page.offers]


def test_the_editor_shows_and_saves_a_legacy_minimum_tier(qtbot, owner_state, member_id) -> None:  # type: ignore[no-untyped-def]
    db = owner_state.db
    offer_id = _legacy_gold_offer(db)
    with read_session(db) as session:
        info = offers.get_offer(session, offer_id)
    dialog = OfferDialog(owner_state, info)
    qtbot.addWidget(dialog)
    ticked = [check.text() for check in dialog.tier_checks if check.isChecked()]
    assert ticked == ["金卡", "钻石"] and dialog.target_combo.currentData() is OfferTarget.EVERYONE
    dialog.save()
    assert dialog.saved is not None, dialog.error_label.text()
    with read_session(db) as session:
        row = session.get(Offer, offer_id)
        assert row.min_tier_id is None and sorted(row.target_tier_ids) == sorted(_tier_ids(db)[n] for n in ("金卡", "钻石"))
        refused = next(s for s in offers.eligibility(session, member_id) if s.offer.id == offer_id)
    assert refused.reason is offers.Reason.NOT_IN_TIER  # an entry-tier member, as before
    # Unticking every tier makes it an offer for everyone again.
    again = OfferDialog(owner_state, dialog.saved)
    qtbot.addWidget(again)
    for check in again.tier_checks:
        check.setChecked(False)
    again.save()
    assert again.saved is not None and again.saved.target is OfferTarget.EVERYONE and again.saved.tier_ids == ()


def test_money_off_for_points_shows_what_the_points_are_worth(qtbot, owner_state) -> None:  # type: ignore[no-untyped-def]
    dialog = OfferDialog(owner_state)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("500积分换5元")
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(OfferKind.AMOUNT_OFF))
    dialog.off_edit.setText("10")
    dialog.points_cost_spin.setValue(500)
    assert dialog.off_edit.text() == "5.00" and not dialog.off_edit.isEnabled() and not dialog.each_check.isEnabled()
    assert dialog.points_worth_label.text() == "worth ¥5.00 (100 points = ¥1)"
    dialog.points_cost_spin.setValue(0)  # back to plain money off: the owner's own amount returns
    assert dialog.off_edit.text() == "10" and dialog.off_edit.isEnabled() and dialog.points_worth_label.text() == ""
    dialog.points_cost_spin.setValue(500)
    dialog.save()
    assert dialog.saved is not None, dialog.error_label.text()
    assert (dialog.saved.reduction_fen, dialog.saved.points_cost, dialog.saved.paid_with_points) == (500, 500, True)
    gift = OfferDialog(owner_state)  # something other than money for points stays possible
    qtbot.addWidget(gift)
    gift.name_edit.setText("800积分换油")
    gift.kind_combo.setCurrentIndex(gift.kind_combo.findData(OfferKind.GIFT))
    gift.gift_edit.setText("花生油")
    gift.points_cost_spin.setValue(800)
    assert gift.points_worth_label.text() == "worth ¥8.00 (100 points = ¥1)"
    gift.save()
    assert gift.saved is not None and gift.saved.points_cost == 800 and gift.saved.gift == "花生油"


def test_the_editor_is_one_aligned_form_that_fits_a_1024x768_screen(qtbot, owner_state) -> None:  # type: ignore[no-untyped-def]
    dialog = OfferDialog(owner_state)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    for kind in KINDS:
        dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(kind))
        QApplication.processEvents()
        assert dialog.height() <= 700 and dialog.width() <= 1000, (kind, dialog.size())
        lefts = set()
        for row in range(dialog.form.rowCount()):
            field = dialog.form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if field is not None and not field.isEmpty() and field.geometry().height() > 0:
                lefts.add(field.geometry().left())
        assert len(lefts) == 1, (kind, lefts)  # one column of fields, one of labels


def test_the_editor_scrolls_rather_than_outgrow_the_screen(qtbot, owner_state) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(owner_state.db) as session:
        session.add_all(Tier(name=f"等级{n}", rank=10 + n) for n in range(60))
    dialog = OfferDialog(owner_state)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert len(dialog.tier_checks) == 64
    assert dialog.height() <= 700
    assert dialog.scroll.verticalScrollBar().maximum() > 0


def test_the_counter_panel_is_compact_translated_and_says_dash(qtbot, pseudo, owner_state, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    db, owner = owner_state.db, owner_state.actor
    _legacy_gold_offer(db)
    _create(db, owner, name="伞", kind=OfferKind.GIFT, gift="伞")
    _create(db, owner, name="周三双倍积分", kind=OfferKind.POINTS_MULTIPLIER, multiplier_pct=200)
    widget = EligibleOffersWidget(AppState(db, cashier, "en"))
    qtbot.addWidget(widget)
    widget.show_member(member_id)
    table = widget.table
    assert table.rowCount() == 3
    _assert_translated(_cells(table))
    by_name = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    gold = by_name["金卡会员九五折"]
    assert table.item(gold, 1).text() == "译Only for tiers: 金卡、钻石."
    assert table.item(gold, 2).text() == "—" and table.cellWidget(gold, 2) is None
    assert table.item(by_name["周三双倍积分"], 2).text() == "译Automatic"
    row_height = table.verticalHeader().defaultSectionSize()
    assert row_height <= table.fontMetrics().height() + 10
    header = table.horizontalHeader().sizeHint().height()
    assert table.sizeHint().height() == header + 3 * row_height + 2 * table.frameWidth()
    assert table.minimumSizeHint().height() == table.sizeHint().height()  # three rows at least
    for n in range(8):
        _create(db, owner, name=f"礼{n}", kind=OfferKind.GIFT, gift="x")
    widget.refresh()
    assert table.rowCount() == 11
    assert table.sizeHint().height() == header + eligible_offers.MAX_ROWS * row_height + 2 * table.frameWidth()

    with unit_of_work(db) as session:
        members.set_status(session, owner, member_id, MemberStatus.FROZEN, reason="出国")
    widget.refresh()
    frozen = table.item(0, 1).text()
    assert frozen == "译The membership is {status}.".replace("{status}", "译Frozen"), frozen


def test_the_f7_hint_line(qtbot, pseudo, owner_state, member_id) -> None:  # type: ignore[no-untyped-def]
    db, owner = owner_state.db, owner_state.actor
    _create(db, owner, name="800积分换油", kind=OfferKind.GIFT, gift="花生油", points_cost=800)
    with read_session(db) as session:
        [hint] = offers.points_offers_for(session, member_id)
    line = eligible_offers.points_hint_text(hint)
    assert line == "译{name}: {what}".format(name="800积分换油", what="译Gift: 花生油；译costs 800 points") + \
        "；译Costs 800 points; the member has 0."
