"""A complaint's details dialog offscreen: its actions from logging to closure, refusals, attachments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtGui import QDesktopServices

from crmdesk.models import Complaint, ComplaintEvent, ComplaintStatus, Coupon, Member, PointsEntry, PointsKind, Remedy
from crmdesk.models.offer import OfferKind
from crmdesk.services import complaints, members, offers
from crmdesk.services.complaints import AttachmentInput, ComplaintInput, RemedyInput
from crmdesk.services.offers import OfferInput
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.complaint_detail import ComplaintDetailDialog
from crmdesk.views.state import AppState

S = ComplaintStatus
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


@pytest.fixture
def member_id(db, owner) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, owner, members.MemberInput(name="张三", phone="13812345678")).id


def log(db, actor, **fields) -> int:  # type: ignore[no-untyped-def]
    fields.setdefault("channel", "counter")
    fields.setdefault("category", "quality")
    fields.setdefault("description", "买的排骨有异味")
    with unit_of_work(db) as session:
        return complaints.log_complaint(session, actor, ComplaintInput(**fields)).id


def status(db, complaint_id: int) -> ComplaintStatus:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return session.get(Complaint, complaint_id).status


def snapshot(db) -> tuple:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        counts = tuple(session.scalar(sa.select(sa.func.count()).select_from(model)) for model in (ComplaintEvent, PointsEntry, Coupon))
        rows = session.execute(sa.select(Complaint.id, Complaint.status, Complaint.owner_staff_id, Complaint.priority,
                                         Complaint.first_response_at, Complaint.resolved_at).order_by(Complaint.id)).all()
    return counts, rows


def enabled(dialog: ComplaintDetailDialog) -> set[str]:
    names = {"assign": dialog.assign_button, "start": dialog.start_button, "note": dialog.note_button,
             "priority": dialog.priority_button, "resolve": dialog.resolve_button, "follow_up": dialog.follow_up_button,
             "close": dialog.close_complaint_button, "reopen": dialog.reopen_button}
    return {name for name, button in names.items() if button.isEnabled()}


def test_a_complaint_goes_from_assign_to_closed_through_the_dialog(qtbot, owner_state, supervisor, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    db = owner_state.db
    complaint_id = log(db, cashier, member_id=member_id, customer_request="退款", related_receipt="01-R9")
    dialog = ComplaintDetailDialog(owner_state, complaint_id)
    qtbot.addWidget(dialog)
    assert dialog.heading.text() == f"Complaint {complaint_id} — 张三"
    assert dialog.customer_label.text().startswith("张三 (member ") and dialog.member_button.isVisibleTo(dialog)
    assert (dialog.category_label.text(), dialog.channel_label.text(), dialog.owner_label.text()) == (
        "Product quality", "Counter", "Nobody yet")
    assert dialog.status_chip.text() == "New" and dialog.overdue_chip.isHidden()
    assert dialog.request_view.toPlainText() == "退款" and dialog.receipt_label.text() == "01-R9"
    assert enabled(dialog) == {"assign", "start", "note", "priority", "resolve"}
    changes: list[int] = []
    dialog.changed.connect(changes.append)

    # Assign to the supervisor, in a department.
    assign = dialog.assign_dialog()
    assign.staff_combo.setCurrentIndex(assign.staff_combo.findData(supervisor.staff_id))
    assign.department_edit.setText("生鲜部")
    assign.ok_button.click()
    assert assign.result() and status(db, complaint_id) is S.ASSIGNED
    assert dialog.owner_label.text() == f"{supervisor.name} / 生鲜部" and dialog.status_chip.text() == "Assigned"

    # Start work (the owner manages complaints, so may work the supervisor's).
    dialog.start_button.click()
    assert status(db, complaint_id) is S.IN_PROGRESS
    assert dialog.response_label.text().startswith("answered ")
    assert enabled(dialog) == {"assign", "note", "priority", "resolve"}

    # Resolve with goodwill points: one ledger entry, bound to the complaint.
    resolve = dialog.resolve_dialog()
    assert resolve.remedy_checks[Remedy.GOODWILL].isEnabled()
    resolve.remedy_checks[Remedy.APOLOGY].setChecked(True)
    resolve.remedy_checks[Remedy.GOODWILL].setChecked(True)
    assert resolve.points_spin.isEnabled()
    resolve.points_spin.setValue(200)
    resolve.told_check.setChecked(True)
    resolve.note_edit.setPlainText("赔礼道歉并补偿积分")
    resolve.ok_button.click()
    assert resolve.result() and status(db, complaint_id) is S.RESOLVED
    with read_session(db) as session:
        entries = session.execute(sa.select(PointsEntry.kind, PointsEntry.points).where(PointsEntry.complaint_id == complaint_id)).all()
        balance = session.get(Member, member_id).points_balance
    assert entries == [(PointsKind.GOODWILL, 200)] and balance == 200
    table = dialog.resolutions_table
    assert table.rowCount() == 1 and table.item(0, 2).text() == "apology, goodwill points" and table.item(0, 4).text() == "200"
    assert table.item(0, 6).text() == "yes"
    assert enabled(dialog) == {"assign", "note", "priority", "follow_up", "close", "reopen"}  # the owner may skip the follow-up
    assert dialog.close_complaint_button.text() == "C&lose without follow-up…"

    # Follow-up, then close.
    follow_up = dialog.follow_up_dialog()
    follow_up.set_satisfaction(5)
    follow_up.comment_edit.setPlainText("很满意")
    follow_up.ok_button.click()
    assert follow_up.result() and status(db, complaint_id) is S.FOLLOWED_UP
    assert "5/5" in dialog.follow_ups_table.item(0, 3).text() and dialog.follow_ups_table.item(0, 4).text() == "很满意"
    assert dialog.close_complaint_button.text() == "C&lose complaint"
    dialog.close_complaint_button.click()
    assert status(db, complaint_id) is S.CLOSED
    assert enabled(dialog) == {"note", "reopen"}
    assert "closed" in dialog.resolution_label.text()

    kinds = [dialog.timeline_table.item(r, 2).text() for r in range(dialog.timeline_table.rowCount())]
    assert kinds == ["Logged", "Assigned", "Status changed", "Resolved", "Followed up", "Closed"]
    assert dialog.timeline_table.item(2, 3).text() == "assigned → in progress"
    assert changes == [complaint_id] * 5
    with read_session(db) as session:  # still exactly one goodwill entry
        assert session.scalar(sa.select(sa.func.count()).select_from(PointsEntry).where(PointsEntry.complaint_id == complaint_id)) == 1


def test_a_note_that_reached_the_customer_priority_and_reopening(qtbot, owner_state, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    db = owner_state.db
    complaint_id = log(db, cashier, member_id=member_id, received_at=datetime.now(UTC) - timedelta(days=2))
    dialog = ComplaintDetailDialog(owner_state, complaint_id)
    qtbot.addWidget(dialog)
    assert dialog.overdue_chip.text() == "! Overdue: no first response"
    assert "late, no answer yet" in dialog.response_label.text() and "b3261e" in dialog.response_label.styleSheet()

    note = dialog.note_dialog()
    note.note_edit.setPlainText("已电话联系顾客")
    note.contact_check.setChecked(True)
    note.ok_button.click()
    assert note.result()
    assert dialog.response_label.text().startswith("answered ") and dialog.overdue_chip.isHidden()
    assert dialog.owner_label.text() == owner_state.actor.name  # acting on an unowned complaint takes it

    priority = dialog.priority_dialog()
    priority.priority_combo.setCurrentIndex(priority.priority_combo.findData(complaints.Priority.URGENT))
    priority.note_edit.setText("金卡会员")
    priority.ok_button.click()
    assert dialog.priority_chip.text() == "Priority: urgent"
    last = dialog.timeline_table.rowCount() - 1
    assert (dialog.timeline_table.item(last, 2).text(), dialog.timeline_table.item(last, 4).text()) == (
        "Priority changed", "normal → urgent: 金卡会员")

    resolve = dialog.resolve_dialog()
    resolve.remedy_checks[Remedy.REFUND].setChecked(True)
    resolve.refund_edit.setText("35.80")
    resolve.ok_button.click()
    assert dialog.resolutions_table.item(0, 3).text() == "¥35.80"
    reopen = dialog.reopen_dialog()
    reopen.ok_button.click()  # no reason: refused, stays open
    assert not reopen.result() and "reason for reopening" in reopen.message.text()
    assert status(db, complaint_id) is S.RESOLVED
    reopen.reason_edit.setText("顾客又打电话来了")
    reopen.ok_button.click()
    assert reopen.result() and status(db, complaint_id) is S.IN_PROGRESS
    assert "resolve" in enabled(dialog)


def test_a_refused_action_shows_the_message_and_changes_nothing(qtbot, db, owner, supervisor, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    complaint_id = log(db, cashier, member_id=member_id)
    # Resolving with "other" and no description: the service refuses; the dialog says why and stays open.
    dialog = ComplaintDetailDialog(AppState(db, owner, "en"), complaint_id)
    qtbot.addWidget(dialog)
    before = snapshot(db)
    resolve = dialog.resolve_dialog()
    resolve.remedy_checks[Remedy.OTHER].setChecked(True)
    resolve.ok_button.click()
    assert not resolve.result() and "Describe the other remedy" in resolve.message.text()
    assert snapshot(db) == before and dialog.status_chip.text() == "New"

    # A complaint the supervisor owns: a cashier sees it but is offered nothing; the service refuses all the same.
    with unit_of_work(db) as session:
        complaints.assign(session, supervisor, complaint_id, staff_id=supervisor.staff_id)
    cashier_view = ComplaintDetailDialog(AppState(db, cashier, "en"), complaint_id)
    qtbot.addWidget(cashier_view)
    assert enabled(cashier_view) == set()
    assert "only they or a supervisor" in cashier_view.message.text()
    before = snapshot(db)
    cashier_view.start_work()
    assert cashier_view.refused
    assert "may only work complaints they own" in cashier_view.message.text()
    assert snapshot(db) == before and cashier_view.status_chip.text() == "Assigned"

    # A cashier working an unowned complaint may resolve it, but not with points or coupons.
    own = log(db, cashier, member_id=member_id)
    view = ComplaintDetailDialog(AppState(db, cashier, "en"), own)
    qtbot.addWidget(view)
    resolve = view.resolve_dialog()
    assert not resolve.remedy_checks[Remedy.GOODWILL].isEnabled() and not resolve.remedy_checks[Remedy.COUPON].isEnabled()
    resolve.remedy_checks[Remedy.GOODWILL].setChecked(True)  # forced past the disabled box: the service still refuses
    resolve.points_spin.setValue(100)
    before = snapshot(db)
    resolve.ok_button.click()
    assert not resolve.result() and "may not give goodwill points" in resolve.message.text()
    assert snapshot(db) == before


def test_closing_without_follow_up_needs_the_permission_and_a_reason(qtbot, db, owner, supervisor, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    mine = log(db, cashier, member_id=member_id)
    with unit_of_work(db) as session:
        complaints.resolve(session, cashier, mine, RemedyInput((Remedy.APOLOGY,)))
    view = ComplaintDetailDialog(AppState(db, cashier, "en"), mine)
    qtbot.addWidget(view)
    assert "close" not in enabled(view) and "follow_up" in enabled(view)  # cashiers record the follow-up first

    view = ComplaintDetailDialog(AppState(db, supervisor, "en"), mine)
    qtbot.addWidget(view)
    assert "close" in enabled(view)
    closing = view.close_dialog()
    closing.ok_button.click()
    assert not closing.result() and "reason for skipping" in closing.message.text() and status(db, mine) is S.RESOLVED
    closing.reason_edit.setText("顾客要求不要再打电话")
    closing.ok_button.click()
    assert closing.result() and status(db, mine) is S.CLOSED
    kinds = [view.timeline_table.item(r, 2).text() for r in range(view.timeline_table.rowCount())]
    assert kinds[-1] == "Closed without follow-up" and view.timeline_table.item(len(kinds) - 1, 4).text() == "顾客要求不要再打电话"


def test_a_coupon_as_the_remedy(qtbot, owner_state, cashier, member_id) -> None:  # type: ignore[no-untyped-def]
    db = owner_state.db
    with unit_of_work(db) as session:
        offer = offers.create_offer(session, owner_state.actor, OfferInput(name="补偿券", kind=OfferKind.AMOUNT_OFF, reduction_fen=1_000,
                                                                           coupon_required=True))
        offers.create_offer(session, owner_state.actor, OfferInput(name="满100减10", kind=OfferKind.AMOUNT_OFF, threshold_fen=10_000,
                                                                   reduction_fen=1_000))
    complaint_id = log(db, cashier, member_id=member_id)
    dialog = ComplaintDetailDialog(owner_state, complaint_id)
    qtbot.addWidget(dialog)
    resolve = dialog.resolve_dialog()
    assert [resolve.coupon_combo.itemText(i) for i in range(resolve.coupon_combo.count())] == ["补偿券"]  # coupon offers only
    resolve.remedy_checks[Remedy.COUPON].setChecked(True)
    resolve.ok_button.click()
    assert resolve.result()
    with read_session(db) as session:
        code, owner_id = session.execute(sa.select(Coupon.code, Coupon.member_id).where(Coupon.offer_id == offer.id)).one()
    assert owner_id == member_id
    assert dialog.resolutions_table.item(0, 5).text() == offers.display_code(code)


def test_attachments_open_save_and_add(qtbot, owner_state, cashier, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    db = owner_state.db
    complaint_id = log(db, cashier, walk_in_name="李女士", walk_in_phone="13812345678",
                       attachments=(AttachmentInput("排骨.png", PNG),))
    dialog = ComplaintDetailDialog(owner_state, complaint_id)
    qtbot.addWidget(dialog)
    assert not dialog.member_button.isVisibleTo(dialog) and dialog.contact_label.text() == "138 1234 5678"
    assert dialog.attachments_list.count() == 1 and dialog.tabs.tabText(2) == "Atta&chments (1)"
    assert dialog.attachments_list.item(0).text().startswith("排骨.png")
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    dialog.open_attachment()
    path = dialog.opened
    assert path is not None and opened == [str(path)] and path.name == "排骨.png" and path.read_bytes() == PNG
    target = tmp_path / "saved.png"
    dialog.save_attachment(dialog.selected_attachment_id(), str(target))
    assert not dialog.refused and target.read_bytes() == PNG

    scan = tmp_path / "小票.pdf"
    scan.write_bytes(b"%PDF-1.4 receipt")
    dialog.attach_file(str(scan))
    assert not dialog.refused
    assert dialog.attachments_list.count() == 2 and dialog.attachments_list.currentRow() == 1
    assert dialog.timeline_table.item(dialog.timeline_table.rowCount() - 1, 2).text() == "Attachment added"
    note = tmp_path / "notes.txt"
    note.write_text("not a photo")
    before = snapshot(db)
    dialog.attach_file(str(note))
    assert dialog.refused
    assert "is not a photo or a PDF scan" in dialog.message.text() and snapshot(db) == before
