"""Logging a complaint from the form, offscreen: members and walk-ins, receipts, files, refusals, the keyboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QDialog

from crmdesk.models import Member, Priority, Tier
from crmdesk.services import complaints, members, purchases
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.shop_time import SHOP_ZONE
from crmdesk.views.complaint_form import ComplaintFormDialog
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures
from tests.views.dialogs import care_form

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.fixture
def member_id(db, owner) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member = members.register(session, owner, members.MemberInput(name="张三", phone="13812345678"))
    for receipt, amount, days_ago in (("R1", 12_345, 2), ("R2", 6_780, 1)):
        with unit_of_work(db) as session:
            purchases.record_purchase(session, owner, member.id, receipt_no=receipt, till="01", amount_fen=amount,
                                      occurred_at=datetime.now(UTC) - timedelta(days=days_ago))
    return member.id


@pytest.fixture
def gold_member_id(db, owner) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member_id = members.register(session, owner, members.MemberInput(name="金卡王", phone="13900000001")).id
        session.get(Member, member_id).tier_id = session.scalar(sa.select(Tier.id).where(Tier.name == "金卡"))
    return member_id


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "排骨.png"
    path.write_bytes(PNG)
    return path


def open_form(qtbot, state, **kwargs) -> ComplaintFormDialog:  # type: ignore[no-untyped-def]
    dialog = care_form(ComplaintFormDialog, state, **kwargs)
    qtbot.addWidget(dialog)
    with qtbot.waitActive(dialog):
        dialog.show()
        dialog.activateWindow()
    return dialog


def focused():  # type: ignore[no-untyped-def]
    return QApplication.focusWidget()


def press(qtbot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(focused(), key, modifier)


def type_here(qtbot, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type into the focused field: key by key, or as an input method commits Chinese."""
    if text.isascii():
        qtbot.keyClicks(focused(), text)
    else:
        event = QInputMethodEvent()
        event.setCommitString(text)
        QApplication.sendEvent(focused(), event)


def choose(box, code: str) -> None:  # type: ignore[no-untyped-def]
    box.setCurrentIndex(box.findData(code))


def complaint_count(db) -> int:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return complaints.count_complaints(session)


def test_a_member_complaint_with_a_picked_receipt_and_a_photo_is_logged_at_once(
        qtbot, cashier_state, member_id, photo) -> None:  # type: ignore[no-untyped-def]
    dialog = open_form(qtbot, cashier_state, member_id=member_id)
    with read_session(cashier_state.db) as session:
        profile = members.profile(session, member_id)
        sales = {row.receipt_no: row for row in purchases.history_page(session, member_id)}
    # The member is shown read-only: name, member number and tier; no walk-in fields.
    assert dialog.member_label is not None and dialog.name_edit is None and dialog.phone_edit is None
    text = dialog.member_label.text()
    assert "张三" in text and profile.member_no in text and profile.tier_name and profile.tier_name in text
    assert dialog.channel_box.currentData() == "counter"
    assert dialog.category_box.hasFocus()  # a member's complaint starts with its category
    # Recent purchases, newest first, with date and amount.
    assert [dialog.receipt_box.itemText(i).split()[0] for i in range(dialog.receipt_box.count())] == ["01-R2", "01-R1"]
    assert "¥123.45" in dialog.receipt_box.itemText(1)
    assert dialog.receipt_box.currentText() == ""  # nothing linked unless picked

    choose(dialog.category_box, "expired")
    dialog.receipt_box.setCurrentIndex(1)
    dialog.description_edit.setFocus()
    type_here(qtbot, "昨天买的酸奶已经过期")
    press(qtbot, Qt.Key.Key_Tab)
    assert dialog.request_edit.hasFocus()
    type_here(qtbot, "退款")
    dialog.add_files([photo])
    assert dialog.attachments_list.count() == 1
    assert dialog.attachments_list.item(0).text().startswith("排骨.png") and dialog.attachments_list.item(0).text().endswith("2.0 kB")

    with qtbot.waitSignal(dialog.complaintLogged, timeout=2000) as logged:
        press(qtbot, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.logged is not None and logged.args == [dialog.logged.id]

    with read_session(cashier_state.db) as session:
        detail = complaints.get_complaint(session, dialog.logged.id)
        (attachment,) = detail.attachments
        info, data = complaints.attachment_data(session, attachment.id)
    c = detail.complaint
    assert (c.member_id, c.channel, c.category, c.description, c.customer_request) == (
        member_id, "counter", "expired", "昨天买的酸奶已经过期", "退款")
    assert (c.related_purchase_id, c.related_receipt) == (sales["R1"].id, "01-R1")
    assert c.priority is Priority.HIGH  # the category's default for an ordinary member
    assert (info.file_name, info.mime_type, info.size_bytes, data) == ("排骨.png", "image/png", len(PNG), PNG)
    assert abs(c.received_at - datetime.now(UTC)) < timedelta(minutes=2)


def test_a_walk_in_complaint_can_be_typed_with_the_keyboard_only(qtbot, cashier_state) -> None:  # type: ignore[no-untyped-def]
    dialog = open_form(qtbot, cashier_state)
    assert dialog.member_label is None and dialog.receipt_box.count() == 0
    assert dialog.name_edit.hasFocus()
    type_here(qtbot, "李女士")
    press(qtbot, Qt.Key.Key_Return)  # Enter moves on, field by field
    assert dialog.phone_edit.hasFocus()
    type_here(qtbot, "138 1234 5678")
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.channel_box.hasFocus()
    press(qtbot, Qt.Key.Key_Down)  # the next channel: Phone
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.category_box.hasFocus()
    press(qtbot, Qt.Key.Key_Return)  # from the category straight to what happened: the rest is optional
    assert dialog.description_edit.hasFocus()
    press(qtbot, Qt.Key.Key_Backtab)  # ... and one key back to the receipt it is about
    assert dialog.receipt_box.hasFocus()
    type_here(qtbot, "02-R77")
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.description_edit.hasFocus()
    type_here(qtbot, "电话里说收银员态度差")
    press(qtbot, Qt.Key.Key_Return)  # a new line: the description may run over several lines
    assert dialog.description_edit.hasFocus()
    type_here(qtbot, "希望道歉")
    press(qtbot, Qt.Key.Key_Tab)
    assert dialog.request_edit.hasFocus()
    type_here(qtbot, "道歉")
    with qtbot.waitSignal(dialog.complaintLogged, timeout=2000):
        press(qtbot, Qt.Key.Key_Enter, Qt.KeyboardModifier.ControlModifier)

    with read_session(cashier_state.db) as session:
        c = complaints.get_info(session, dialog.logged.id)
    assert (c.member_id, c.walk_in_name, c.walk_in_phone, c.channel) == (None, "李女士", "+8613812345678", "phone")
    assert (c.related_purchase_id, c.related_receipt) == (None, "02-R77")
    assert (c.description, c.customer_request) == ("电话里说收银员态度差\n希望道歉", "道歉")
    assert c.priority is Priority.NORMAL


@pytest.mark.parametrize(("phone", "message"), [
    ("1380", "'1380' is not a phone number."),
    ("12345678901", "'12345678901' is not a mobile number in use in China: check the first digits."),
])
def test_a_walk_in_with_a_bad_phone_is_refused_beside_the_phone(qtbot, cashier_state, phone, message) -> None:  # type: ignore[no-untyped-def]
    dialog = open_form(qtbot, cashier_state)
    dialog.name_edit.setText("王先生")
    dialog.phone_edit.setText(phone)
    dialog.description_edit.setPlainText("找错零钱")
    dialog.save()
    assert dialog.isVisible() and dialog.logged is None
    error = dialog._errors[dialog.phone_edit]
    assert not error.isHidden() and error.text() == message
    assert dialog.error_shown() == message  # only beside the phone, nowhere else
    assert dialog.phone_edit.hasFocus() and dialog.phone_edit.selectedText() == phone
    assert complaint_count(cashier_state.db) == 0

    qtbot.keyClicks(dialog.phone_edit, "13812345678")  # typing over it clears the message
    assert error.isHidden()
    with qtbot.waitSignal(dialog.complaintLogged, timeout=2000):
        dialog.save()
    assert complaint_count(cashier_state.db) == 1


def test_a_complaint_without_a_description_is_refused(qtbot, cashier_state, member_id, photo) -> None:  # type: ignore[no-untyped-def]
    dialog = open_form(qtbot, cashier_state, member_id=member_id)
    dialog.request_edit.setText("退款")
    dialog.add_files([photo])
    dialog.description_edit.setPlainText("   ")
    press(qtbot, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.isVisible() and dialog.logged is None
    assert dialog.error_shown() == "Describe the complaint."
    assert not dialog._errors[dialog.description_edit].isHidden()
    assert dialog.description_edit.hasFocus()
    with read_session(cashier_state.db) as session:
        assert complaints.count_complaints(session) == 0
        assert complaints.member_complaints(session, member_id) == []
    assert dialog.attachments_list.count() == 1  # what was typed and attached stays for the next try


def test_the_priority_follows_the_category_and_the_tier_until_set_by_hand(
        qtbot, cashier_state, member_id, gold_member_id) -> None:  # type: ignore[no-untyped-def]
    def shown(dialog: ComplaintFormDialog) -> Priority:
        return dialog.priority_box.currentData()

    ordinary = open_form(qtbot, cashier_state, member_id=member_id)
    gold = open_form(qtbot, cashier_state, member_id=gold_member_id)
    walk_in = open_form(qtbot, cashier_state)
    expected = {  # category: (ordinary member or walk-in, gold member: one step up)
        "quality": (Priority.NORMAL, Priority.HIGH),
        "expired": (Priority.HIGH, Priority.URGENT),
        "other": (Priority.LOW, Priority.NORMAL),
    }
    for category, (plain, vip) in expected.items():
        for dialog in (ordinary, gold, walk_in):
            choose(dialog.category_box, category)
        assert (shown(ordinary), shown(gold), shown(walk_in)) == (plain, vip, plain), category
        assert not gold.priority_set_by_hand

    # Changed by hand, it stays when the category changes afterwards, and that is what is stored.
    gold.priority_box.setFocus()
    qtbot.keyClick(gold.priority_box, Qt.Key.Key_Down)  # normal -> high
    assert gold.priority_set_by_hand and shown(gold) is Priority.HIGH
    choose(gold.category_box, "quality")
    assert shown(gold) is Priority.HIGH
    choose(gold.category_box, "expired")
    assert shown(gold) is Priority.HIGH
    gold.description_edit.setPlainText("会员卡积分没到账")
    with qtbot.waitSignal(gold.complaintLogged, timeout=2000):
        gold.save()
    assert (gold.logged.category, gold.logged.priority) == ("expired", Priority.HIGH)

    # Left alone, what is stored is what was shown.
    choose(ordinary.category_box, "expired")
    ordinary.description_edit.setPlainText("牛奶过期")
    with qtbot.waitSignal(ordinary.complaintLogged, timeout=2000):
        ordinary.save()
    assert ordinary.logged.priority is Priority.HIGH


def test_attachments_are_checked_when_added_and_can_be_removed(qtbot, cashier_state, photo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as file:
        file.truncate(complaints.MAX_ATTACHMENT_BYTES + 1)  # sparse: checked by its size, never read
    dialog = open_form(qtbot, cashier_state)
    dialog.add_files([empty, photo, huge])
    assert dialog.attachments_list.count() == 1 and [a.file_name for a in dialog.attachments] == ["排骨.png"]
    error = dialog._errors[dialog.attachments_list]
    assert not error.isHidden()
    assert "The file 'empty.jpg' is empty." in error.text()
    assert "The file 'huge.pdf' has 10.1 MB; an attachment may have at most 10 MB." in error.text()

    dialog.add_files([tmp_path / "missing.png"])
    assert "'missing.png' cannot be read" in error.text() and dialog.attachments_list.count() == 1

    second = tmp_path / "小票.pdf"
    second.write_bytes(b"%PDF-1.4 scan")
    dialog.add_files([second])
    assert error.isHidden() and dialog.attachments_list.count() == 2
    dialog.attachments_list.setFocus()
    dialog.attachments_list.setCurrentRow(0)
    qtbot.keyClick(dialog.attachments_list, Qt.Key.Key_Delete)
    assert [a.file_name for a in dialog.attachments] == ["小票.pdf"]
    assert dialog.attachments_list.item(0).text().startswith("小票.pdf")
    dialog.remove_file_button.click()
    assert dialog.attachments == [] and not dialog.remove_file_button.isEnabled()


def test_a_file_that_is_not_a_photo_or_scan_is_refused_and_nothing_is_written(qtbot, cashier_state, tmp_path) -> None:  # type: ignore[no-untyped-def]
    notes = tmp_path / "notes.txt"
    notes.write_text("顾客的话", encoding="utf-8")
    dialog = open_form(qtbot, cashier_state)
    dialog.add_files([notes])  # its size is fine; its type is the service's call when saving
    dialog.description_edit.setPlainText("地面湿滑")
    dialog.save()
    assert dialog.isVisible()
    assert "'notes.txt' is not a photo or a PDF scan" in dialog._errors[dialog.attachments_list].text()
    assert complaint_count(cashier_state.db) == 0


def test_the_received_time_is_on_the_shop_clock_and_stored_as_utc(qtbot, cashier_state) -> None:  # type: ignore[no-untyped-def]
    dialog = open_form(qtbot, cashier_state)
    opened = dialog.time_edit.dateTime().toPython()
    shop_now = datetime.now(SHOP_ZONE).replace(second=0, microsecond=0, tzinfo=None)
    assert abs(opened - shop_now) <= timedelta(minutes=1)  # the shop's clock, whatever zone the PC is set to
    dialog.time_edit.setDateTime(QDateTime(QDate(2026, 11, 3), QTime(9, 30)))
    assert dialog.received_at() == datetime(2026, 11, 3, 1, 30, tzinfo=UTC) and dialog.received_at().tzinfo is UTC

    earlier = dialog.time_edit.dateTime()
    expected = dialog.received_at()
    dialog.time_edit.setDateTime(QDateTime.currentDateTime().addDays(2))
    dialog.description_edit.setPlainText("冷柜坏了")
    dialog.save()
    error = dialog._errors[dialog.time_edit]
    assert not error.isHidden() and "lies in the future" in error.text() and dialog.time_edit.hasFocus()
    assert complaint_count(cashier_state.db) == 0

    dialog.time_edit.setDateTime(earlier)
    assert error.isHidden()
    with qtbot.waitSignal(dialog.complaintLogged, timeout=2000):
        dialog.save()
    assert dialog.logged.received_at == expected


def test_a_typed_receipt_of_the_member_is_linked(qtbot, cashier_state, member_id) -> None:  # type: ignore[no-untyped-def]
    dialog = open_form(qtbot, cashier_state, member_id=member_id)
    dialog.receipt_box.setFocus()
    type_here(qtbot, "01-R2")
    dialog.description_edit.setPlainText("价签和收银价格不一致")
    with qtbot.waitSignal(dialog.complaintLogged, timeout=2000):
        dialog.save()
    with read_session(cashier_state.db) as session:
        r2 = next(row for row in purchases.history_page(session, member_id) if row.receipt_no == "R2")
    assert (dialog.logged.related_purchase_id, dialog.logged.related_receipt) == (r2.id, "01-R2")


def test_escape_cancels_without_writing(qtbot, cashier_state, member_id) -> None:  # type: ignore[no-untyped-def]
    dialog = open_form(qtbot, cashier_state, member_id=member_id)
    dialog.description_edit.setPlainText("不想投诉了")
    press(qtbot, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Rejected and dialog.logged is None
    assert complaint_count(cashier_state.db) == 0


def test_only_channels_and_categories_in_use_are_offered(qtbot, cashier_state, owner) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(cashier_state.db) as session:
        complaints.set_channel_active(session, owner, "letter", False)
        complaints.set_category_active(session, owner, "waiting", False)
        complaints.add_category(session, owner, "停车场", code="parking")
    dialog = open_form(qtbot, cashier_state)
    channels = [dialog.channel_box.itemData(i) for i in range(dialog.channel_box.count())]
    categories = [dialog.category_box.itemData(i) for i in range(dialog.category_box.count())]
    assert channels == ["counter", "phone", "box", "online"]
    assert "waiting" not in categories and categories[-1] == "parking"
    assert dialog.category_box.itemText(len(categories) - 1) == "停车场"  # a name the owner typed shows as typed
    assert dialog.channel_box.itemText(0) == "Counter"


def test_a_complaint_saved_again_after_a_lost_answer_is_logged_once(qtbot, cashier_state, member_id, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The connection broke just as the server committed: the cashier saves again and the form closes on the
    complaint logged the first time, not a second one."""
    from crmdesk.views import complaint_form
    from tests.services.test_requests import answer_lost

    dialog = open_form(qtbot, cashier_state, member_id=member_id)
    dialog.description_edit.setPlainText("鸡蛋有两个是碎的")
    real = complaint_form.unit_of_work
    monkeypatch.setattr(complaint_form, "unit_of_work", answer_lost(real))
    dialog.save()
    assert dialog.isVisible() and "cannot be reached" in dialog.error_shown()
    monkeypatch.setattr(complaint_form, "unit_of_work", real)
    logged: list[int] = []
    dialog.complaintLogged.connect(logged.append)
    dialog.save()  # again
    assert dialog.result() == QDialog.DialogCode.Accepted
    with read_session(cashier_state.db) as session:
        (only,) = complaints.member_complaints(session, member_id)
    assert logged == [only.id]
