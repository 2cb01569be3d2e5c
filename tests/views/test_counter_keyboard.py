"""The counter by keyboard and scanner alone: a whole customer loop, with the keys counted.

Keys are counted as a cashier presses them: a function key, Enter, Tab or an arrow is one
key; typed text counts one key per character (a Chinese word as the pinyin letters an input
method needs, plus one to pick it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication

from crmdesk import preferences
from crmdesk.models import AuditEvent, Member, MemberStatus, Purchase
from crmdesk.services import complaints, loyalty, members, search_keys, tiers
from crmdesk.services.members import MemberInput
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.counter_page import CounterPage
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

CARD = "2900000000018"


@dataclass
class Keyboard:
    """Presses keys on whatever has the focus, and counts them."""

    qtbot: object
    count: int = 0
    log: list[str] = field(default_factory=list)

    def press(self, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        widget = QApplication.focusWidget()
        assert widget is not None, "no field has the keyboard focus"
        self.qtbot.keyClick(widget, key, modifier)  # type: ignore[attr-defined]
        self.count += 1
        self.log.append(str(key).split(".")[-1])

    def type(self, text: str) -> None:
        widget = QApplication.focusWidget()
        if text.isascii():
            self.qtbot.keyClicks(widget, text)  # type: ignore[attr-defined]
            self.count += len(text)
        else:  # Chinese: what the input method commits after its pinyin and a space to pick the word
            event = QInputMethodEvent()
            event.setCommitString(text)
            QApplication.sendEvent(widget, event)
            self.count += len(search_keys.name_search_keys(text)[0]) + 1
        self.log.append(repr(text))

    def step(self) -> int:
        """Keys since the last step."""
        used, self.count = self.count, 0
        return used


@pytest.fixture(autouse=True)
def till_01() -> None:
    prefs = preferences.load()
    prefs.till = "01"
    preferences.save(prefs)


@pytest.fixture
def member_id(db, cashier):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, cashier, MemberInput(name="张三", phone="13800138000"), card_number=CARD).id


@pytest.fixture
def page(qtbot, cashier_state, member_id):  # type: ignore[no-untyped-def]
    widget = CounterPage(cashier_state)
    qtbot.addWidget(widget)
    widget.resize(1024, 700)
    with qtbot.waitActive(widget):
        widget.show()
        widget.activateWindow()
    return widget


def wait_closed(qtbot, page: CounterPage, name: str) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: getattr(page, name) is None, timeout=2000)
    qtbot.waitUntil(page.search_edit.hasFocus, timeout=2000)


def test_a_whole_customer_loop_by_keyboard_alone(qtbot, page, member_id) -> None:  # type: ignore[no-untyped-def]
    keys = Keyboard(qtbot)
    budget = {}

    # Find: the card is scanned (the scanner types the digits and Enter).
    keys.type(CARD)
    keys.press(Qt.Key.Key_Return)
    assert page.profile is not None and page.profile.id == member_id
    budget["find by card"] = keys.step()

    # Purchase: F5, the amount, Enter. The till is this computer's; the receipt number is made up.
    keys.press(Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: page.purchase_dialog is not None and page.purchase_dialog.amount_edit.hasFocus(), timeout=2000)
    keys.type("236.5")
    keys.press(Qt.Key.Key_Return)
    wait_closed(qtbot, page, "purchase_dialog")
    with read_session(page._state.db) as session:
        sale = session.execute(sa.select(Purchase.amount_fen, Purchase.till, Purchase.receipt_no)
                               .where(Purchase.member_id == member_id)).one()
    assert (sale.amount_fen, sale.till) == (23_650, "01") and sale.receipt_no
    assert "+236 points, 236 points now" in page.result_label.text()
    budget["purchase"] = keys.step()

    # Redeem: F7, the points, Enter.
    keys.press(Qt.Key.Key_F7)
    qtbot.waitUntil(lambda: page.redeem_dialog is not None and page.redeem_dialog.points_edit.hasFocus(), timeout=2000)
    keys.type("200")
    keys.press(Qt.Key.Key_Return)
    wait_closed(qtbot, page, "redeem_dialog")
    assert page.points_label.text() == "36" and page.results.item(0, 4).text() == "36"
    budget["redeem"] = keys.step()

    # Complaint: F8, a category (the next one, by arrow), Enter to the description, type it, Ctrl+Enter.
    keys.press(Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: page.complaint_dialog is not None and page.complaint_dialog.category_box.hasFocus(), timeout=2000)
    dialog = page.complaint_dialog
    keys.press(Qt.Key.Key_Down)
    keys.press(Qt.Key.Key_Return)
    assert dialog.description_edit.hasFocus()
    keys.type("酸奶过期")
    keys.press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_closed(qtbot, page, "complaint_dialog")
    with read_session(page._state.db) as session:
        assert complaints.count_complaints(session) == 1
    budget["complaint"] = keys.step()

    # The next customer is new: Esc, F2, phone, Enter, name, Enter, (no birthday) Enter, (no card) Enter.
    keys.press(Qt.Key.Key_Escape)
    keys.press(Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: page.new_member_dialog is not None and page.new_member_dialog.phone_edit.hasFocus(), timeout=2000)
    keys.type("13700001111")
    keys.press(Qt.Key.Key_Return)
    keys.type("王五")
    keys.press(Qt.Key.Key_Return)
    keys.press(Qt.Key.Key_Return)
    keys.press(Qt.Key.Key_Return)
    wait_closed(qtbot, page, "new_member_dialog")
    assert page.profile is not None and page.profile.name == "王五"
    budget["new member"] = keys.step()

    print("keys per step:", budget)
    # 13 digits + Enter; F5 + 5 + Enter; F7 + 3 + Enter; F8, ↓, Enter, 12 + 1 for 酸奶过期, Ctrl+Enter;
    # Esc, F2, 11 digits, Enter, 6 + 1 for 王五, Enter (no birthday), Enter (no card) and one more Enter.
    assert budget == {"find by card": 14, "purchase": 7, "redeem": 5, "complaint": 17, "new member": 24}


def test_the_purchase_dialog_shows_the_points_it_earns_and_the_tier_discount(qtbot, page, owner, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(page._state.db) as session:
        specs = tiers.list_tiers(session)
        gold = specs[2]
        tiers.save_tiers(session, owner, [*specs[:2], tiers.TierSpec(gold.id, gold.name, gold.min_spend_fen, 150, 200, gold.colour),
                                          *specs[3:]])
        session.execute(sa.update(Member).where(Member.id == member_id).values(tier_id=gold.id))
    page.open_member(member_id)
    assert page.discount_label.isVisible() and page.discount_label.text() == "Member discount 2 %"
    qtbot.keyClick(page.search_edit, Qt.Key.Key_F5)
    dialog = page.purchase_dialog
    assert "金卡 member discount 2 %" in dialog.preview_label.text()
    qtbot.keyClicks(dialog.amount_edit, "100")
    assert "Earns 150 points." in dialog.preview_label.text()  # ×1.5 for the tier
    assert "¥2.00 off ¥100.00" in dialog.preview_label.text()
    dialog.reject()


def test_a_frozen_member_buys_with_a_supervisors_approval(qtbot, page, db, supervisor, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        members.set_status(session, supervisor, member_id, MemberStatus.FROZEN, reason="争议")
    page.open_member(member_id)
    assert page.purchase_button.isEnabled() and not page.redeem_button.isEnabled()
    qtbot.keyClick(page.search_edit, Qt.Key.Key_F5)
    dialog = page.purchase_dialog
    assert dialog.needs_approval and dialog.approver_box.isVisible()
    # Only people who may change a member's status can approve: the cashier is not offered.
    approvers = [dialog.approver_box.itemData(i) for i in range(dialog.approver_box.count())]
    assert sorted(approvers) == sorted(["值班经理", "王店长"])
    dialog.amount_edit.setText("50")
    dialog.approver_box.setCurrentIndex(dialog.approver_box.findData("值班经理"))
    dialog.approver_secret.setText("0000")
    dialog.accept()
    assert dialog.isVisible() and "Wrong name, password or PIN" in dialog.message.text()
    assert dialog.focusWidget() is dialog.approver_secret
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Purchase)) == 0
    dialog.approver_secret.setText("2468")
    dialog.accept()
    assert not dialog.isVisible()
    with read_session(db) as session:
        sale_id, amount = session.execute(sa.select(Purchase.id, Purchase.amount_fen)).one()
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "purchase.frozen_override")).one()
        assert amount == 5_000 and event.details["approved_by"] == "值班经理" and event.entity_id == sale_id


def test_a_redemption_keeps_its_receipt_and_note(qtbot, page, db, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.services import purchases

    with unit_of_work(db) as session:
        purchases.record_purchase(session, cashier, member_id, receipt_no="R1", till="01", amount_fen=50_000)
    page.open_member(member_id)
    qtbot.keyClick(page.search_edit, Qt.Key.Key_F7)
    dialog = page.redeem_dialog
    dialog.points_edit.setText("100")
    dialog.receipt_edit.setText("R2")
    dialog.reason_edit.setText("换购")
    dialog.accept()
    with read_session(db) as session:
        (entry,) = [e for e in loyalty.ledger_page(session, member_id) if e.kind.value == "redeem"]
    assert entry.reason == "receipt R2: 换购"
    from crmdesk.views.terms import ledger_reason_text

    assert ledger_reason_text(entry.reason) == "receipt R2: 换购"  # English interface; Chinese translates it


def test_a_refund_is_f6_enter_the_amount_enter_and_never_repeats_by_itself(qtbot, page, db, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.services import purchases

    with unit_of_work(db) as session:
        sale = purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=8_800)
    page.open_member(member_id)
    keys = Keyboard(qtbot)
    keys.press(Qt.Key.Key_F6)  # the latest sale is chosen; the amount is typed, never filled in
    qtbot.waitUntil(lambda: page.refund_dialog is not None and page.refund_dialog.isAncestorOf(QApplication.focusWidget()),
                    timeout=2000)
    dialog = page.refund_dialog
    assert dialog.amount_edit.text() == "" and "at most ¥88.00" in dialog.amount_edit.placeholderText()
    keys.press(Qt.Key.Key_Return)  # on to the amount
    assert dialog.amount_edit.hasFocus() or dialog.focusWidget() is dialog.amount_edit
    keys.press(Qt.Key.Key_Return)  # nothing typed: refused, nothing written
    assert dialog.isVisible() and "Type the amount to give back" in dialog.message.text()
    keys.type("88")
    keys.press(Qt.Key.Key_Return)
    wait_closed(qtbot, page, "refund_dialog")
    assert keys.count == 6 and "88 points taken back, 0 points now" in page.result_label.text()
    with read_session(db) as session:
        refund = session.execute(sa.select(Purchase.receipt_no, Purchase.till, Purchase.amount_fen)
                                 .where(Purchase.refund_of_id == sale.purchase_id)).one()
    assert refund.till == "01" and refund.amount_fen == 8_800 and refund.receipt_no != sale.receipt_no  # its own number
    assert page.visits.item(0, 3).text() == "Refund"  # the counter says what it is


def test_a_refund_of_another_members_receipt_is_refused(qtbot, page, db, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.services import purchases

    with unit_of_work(db) as session:
        other = members.register(session, cashier, MemberInput(name="李四", phone="13900139000")).id
        purchases.record_purchase(session, cashier, other, till="01", receipt_no="R9", amount_fen=5_000)
        purchases.record_purchase(session, cashier, member_id, till="01", receipt_no="R1", amount_fen=1_000)
    page.open_member(member_id)
    qtbot.keyClick(page.search_edit, Qt.Key.Key_F6)
    dialog = page.refund_dialog
    dialog.original_box.setEditText("R9")
    dialog.amount_edit.setText("50")
    dialog.accept()
    assert dialog.isVisible() and "No sale with receipt R9" in dialog.message.text()
    with read_session(db) as session:
        assert members.profile(session, other).points_balance == 50


def test_the_points_preview_counts_categories_and_lines(qtbot, page, owner, member_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(page._state.db) as session:
        loyalty.set_rules(session, owner, loyalty.Rules(category_multipliers=(("烟酒", 0),)))
    page.open_member(member_id)
    qtbot.keyClick(page.search_edit, Qt.Key.Key_F5)
    dialog = page.purchase_dialog
    dialog.add_line(("6901", "香烟", "烟酒", "1", "100"))
    dialog.amount_edit.setText("100")
    assert "Earns 0 points." in dialog.preview_label.text()  # tobacco earns nothing, as the sale will count it
    dialog.add_line(("6902", "牛奶", "乳制品", "2", "10"))
    dialog.amount_edit.setText("120")
    assert "Earns 20 points." in dialog.preview_label.text()
    dialog.reject()
