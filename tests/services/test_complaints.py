"""Complaints: logging, the road to closure, deadlines at their boundaries, compensation once, the board."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from crmdesk.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crmdesk.models import (
    AuditEvent, Complaint, ComplaintAttachment, ComplaintEvent, ComplaintFollowUp, ComplaintResolution, ComplaintStatus,
    Coupon, Member, PointsEntry, PointsKind, Priority, Remedy, Tier,
)
from crmdesk.models.offer import OfferKind
from crmdesk.services import complaints, members, offers, purchases
from crmdesk.services.complaints import (
    AttachmentInput, ComplaintFilter, ComplaintInput, ComplaintOrder, EventKind, FollowUpInput, RemedyInput,
)
from crmdesk.services.uow import read_session, unit_of_work

CN = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=CN)  # a Wednesday morning
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
S = ComplaintStatus


@pytest.fixture
def member_id(db, owner) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, owner, members.MemberInput(name="张三", phone="13812345678")).id


@pytest.fixture
def gold_member_id(db, owner) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member_id = members.register(session, owner, members.MemberInput(name="金卡王", phone="13900000001")).id
        session.get(Member, member_id).tier_id = session.scalar(sa.select(Tier.id).where(Tier.name == "金卡"))
    return member_id


def log(db, actor, *, now=NOW, **fields):  # type: ignore[no-untyped-def]
    fields.setdefault("channel", "counter")
    fields.setdefault("category", "quality")
    fields.setdefault("description", "买的排骨有异味")
    fields.setdefault("received_at", now)
    with unit_of_work(db) as session:
        return complaints.log_complaint(session, actor, ComplaintInput(**fields), now=now)


def act(db, operation, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Run one service call in its own transaction, at NOW unless told otherwise."""
    kwargs.setdefault("now", NOW)
    with unit_of_work(db) as session:
        return operation(session, *args, **kwargs)


def snapshot(db) -> tuple:  # type: ignore[no-untyped-def]
    """Everything a refused operation must leave as it was."""
    with read_session(db) as session:
        counts = tuple(session.scalar(sa.select(sa.func.count()).select_from(model)) for model in (
            Complaint, ComplaintEvent, ComplaintResolution, ComplaintFollowUp, ComplaintAttachment, PointsEntry, Coupon, AuditEvent))
        rows = session.execute(sa.select(Complaint.id, Complaint.status, Complaint.owner_staff_id, Complaint.priority,
                                         Complaint.first_response_at, Complaint.resolved_at, Complaint.closed_at).order_by(Complaint.id)).all()
        balances = session.execute(sa.select(Member.id, Member.points_balance).order_by(Member.id)).all()
    return counts, rows, balances


def refused(db, error, match, operation, *args, **kwargs):  # type: ignore[no-untyped-def]
    before = snapshot(db)
    with pytest.raises(error, match=match):
        act(db, operation, *args, **kwargs)
    assert snapshot(db) == before


def timeline(db, complaint_id):  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        detail = complaints.get_complaint(session, complaint_id, now=NOW)
    return [(e.kind, e.from_status, e.to_status) for e in detail.timeline]


def ledger(db, member_id):  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        entries = session.execute(sa.select(PointsEntry.kind, PointsEntry.points, PointsEntry.complaint_id)
                                  .where(PointsEntry.member_id == member_id).order_by(PointsEntry.id)).all()
        balance = session.get(Member, member_id).points_balance
    assert balance == sum(points for _kind, points, _c in entries)  # the cached balance always equals the ledger
    return entries, balance


# --------------------------------------------------------------------------- logging


def test_a_member_complaint_gets_deadlines_priority_a_linked_receipt_and_a_logged_event(db, owner, cashier, member_id) -> None:
    with unit_of_work(db) as session:
        sale = purchases.record_purchase(session, owner, member_id, receipt_no="R1001", till="01", amount_fen=5_000,
                                         occurred_at=NOW - timedelta(days=1), now=NOW)
    info = log(db, cashier, member_id=member_id, related_receipt="01-R1001", customer_request="退款", category="expired")
    assert (info.status, info.priority, info.member_name, info.category_name, info.channel_name) == (
        S.NEW, Priority.HIGH, "张三", "Expired or spoiled goods", "Counter")
    assert (info.related_purchase_id, info.related_receipt) == (sale.purchase_id, "01-R1001")
    assert info.first_response_due == NOW + timedelta(hours=24)
    # Expired goods: resolved by the end of the next local day.
    assert info.resolution_due == datetime(2026, 11, 20, 0, 0, tzinfo=CN)
    assert info.resolution_due_day.isoformat() == "2026-11-19"
    assert (info.owner_staff_id, info.first_response_at, info.overdue) == (None, None, False)
    assert timeline(db, info.id) == [(EventKind.LOGGED.value, None, S.NEW)]
    with read_session(db) as session:
        event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "complaint.log"))
        assert (event.staff_name, event.entity_id, event.details["category"]) == (cashier.name, info.id, "expired")
    # Picked from the member's purchases by id, the receipt text comes with it.
    picked = log(db, cashier, member_id=member_id, related_purchase_id=sale.purchase_id)
    assert picked.related_receipt == "01-R1001"


def test_a_walk_in_needs_no_card_and_keeps_a_landline_as_typed(db, cashier) -> None:
    mobile = log(db, cashier, walk_in_name="李女士", walk_in_phone="138 1234 5678", channel="phone")
    assert (mobile.member_id, mobile.customer, mobile.walk_in_phone) == (None, "李女士", "+8613812345678")
    landline = log(db, cashier, walk_in_phone="021-5555 0000", related_receipt="R9")
    assert (landline.walk_in_phone, landline.related_receipt, landline.related_purchase_id) == ("021-5555 0000", "R9", None)
    anonymous = log(db, cashier, channel="box")
    assert anonymous.customer == "" and anonymous.priority is Priority.NORMAL


def test_priority_defaults_from_category_and_tier_and_can_be_changed(db, owner, cashier, member_id, gold_member_id) -> None:
    assert log(db, cashier, member_id=member_id, category="other").priority is Priority.LOW
    assert log(db, cashier, member_id=gold_member_id, category="other").priority is Priority.NORMAL
    assert log(db, cashier, member_id=gold_member_id, category="expired").priority is Priority.URGENT
    urgent = log(db, cashier, member_id=gold_member_id, category="expired", priority=Priority.URGENT)
    assert urgent.priority is Priority.URGENT
    chosen = log(db, cashier, category="other", priority=Priority.HIGH)
    assert chosen.priority is Priority.HIGH
    changed = act(db, complaints.set_priority, owner, chosen.id, Priority.URGENT, note="顾客情绪激动")
    assert changed.priority is Priority.URGENT
    assert timeline(db, chosen.id)[-1] == (EventKind.PRIORITY.value, None, None)


def test_photos_are_stored_in_the_database_and_listed_without_their_bytes(db, cashier) -> None:
    info = log(db, cashier, attachments=(AttachmentInput("C:\\相册\\排骨.png", PNG), AttachmentInput("小票.pdf", b"%PDF-1.4 x")))
    added = act(db, complaints.add_attachment, cashier, info.id, AttachmentInput("补充.JPG", b"\xff\xd8\xff" + b"1" * 50))
    with read_session(db) as session:
        detail = complaints.get_complaint(session, info.id)
        stored, data = complaints.attachment_data(session, detail.attachments[0].id)
    assert [(a.file_name, a.mime_type, a.size_bytes) for a in detail.attachments] == [
        ("排骨.png", "image/png", len(PNG)), ("小票.pdf", "application/pdf", 10), ("补充.JPG", "image/jpeg", 53)]
    assert (stored.file_name, data, stored.staff_name) == ("排骨.png", PNG, cashier.name)
    assert added.id == detail.attachments[2].id
    assert [e.kind for e in detail.timeline] == ["logged", "attachment"]


def test_an_attachment_of_exactly_the_limit_is_kept_and_one_byte_more_is_refused(db, cashier) -> None:
    info = log(db, cashier)
    limit = complaints.MAX_ATTACHMENT_BYTES
    refused(db, InvalidInput, r"'scan.pdf' has 10.1 MB; an attachment may have at most 10 MB",
            complaints.add_attachment, cashier, info.id, AttachmentInput("scan.pdf", b"%" * (limit + 1)))
    kept = act(db, complaints.add_attachment, cashier, info.id, AttachmentInput("scan.pdf", b"%" * limit))
    assert kept.size_bytes == limit


def test_a_big_attachment_refuses_the_whole_complaint(db, cashier) -> None:
    before = snapshot(db)
    with pytest.raises(InvalidInput, match="at most 10 MB"):
        log(db, cashier, attachments=(AttachmentInput("a.png", PNG), AttachmentInput("b.png", b"x" * (complaints.MAX_ATTACHMENT_BYTES + 5))))
    assert snapshot(db) == before


@pytest.mark.parametrize(("item", "match"), [
    (AttachmentInput("notes.txt", b"hello"), "not a photo or a PDF scan"),
    (AttachmentInput("virus.exe", b"MZ"), "not a photo or a PDF scan"),
    (AttachmentInput("empty.png", b""), "is empty"),
    (AttachmentInput("", PNG), "needs a file name"),
])
def test_attachments_that_are_not_photos_or_scans_are_refused(db, cashier, item, match) -> None:
    info = log(db, cashier)
    refused(db, InvalidInput, match, complaints.add_attachment, cashier, info.id, item)


def test_bad_complaints_are_refused_and_nothing_is_written(db, owner, cashier, member_id) -> None:
    with unit_of_work(db) as session:
        other = members.register(session, owner, members.MemberInput(name="李四", phone="13900000000")).id
        sale = purchases.record_purchase(session, owner, other, receipt_no="R1", till="01", amount_fen=1_000, occurred_at=NOW, now=NOW)
    cases = [
        (NotFound, "No member with id 9999", {"member_id": 9999}),
        (InvalidInput, "'fax' is not a channel in use", {"channel": "fax"}),
        (InvalidInput, "'parking' is not a complaint category in use", {"category": "parking"}),
        (InvalidInput, "Describe the complaint", {"description": "   "}),
        (InvalidInput, "member or from a walk-in", {"member_id": member_id, "walk_in_name": "路人"}),
        (InvalidInput, "lies in the future", {"received_at": NOW + timedelta(hours=1)}),
        (InvalidInput, "needs a time zone", {"received_at": datetime(2026, 11, 18, 9, 0)}),
        (NotFound, f"No purchase with id {sale.purchase_id} for this customer", {"member_id": member_id, "related_purchase_id": sale.purchase_id}),
        (InvalidInput, "not a phone number", {"walk_in_phone": "call me"}),
        (InvalidInput, r"11 digits and starts with 1 \(10 digits given\)", {"walk_in_phone": "138 1234 567"}),
        (InvalidInput, r"\(12 digits given\)", {"walk_in_phone": "138123456789"}),
        (InvalidInput, "at most 4000 characters", {"description": "长" * 4001}),
    ]
    for error, match, fields in cases:
        before = snapshot(db)
        with pytest.raises(error, match=match):
            log(db, cashier, **fields)
        assert snapshot(db) == before, match


# --------------------------------------------------------------------------- working it to closure


def test_the_road_to_closure_is_on_the_timeline_with_who_when_and_from_to(db, owner, cashier, member_id) -> None:
    info = log(db, cashier, member_id=member_id)
    t = NOW
    assigned = act(db, complaints.assign, owner, info.id, staff_id=cashier.staff_id, department="生鲜部", now=t + timedelta(minutes=5))
    assert (assigned.status, assigned.owner_name, assigned.department, assigned.first_response_at) == (S.ASSIGNED, cashier.name, "生鲜部", None)
    started = act(db, complaints.start_work, cashier, info.id, note="去生鲜区看了同批次", now=t + timedelta(hours=1))
    assert (started.status, started.first_response_at) == (S.IN_PROGRESS, t + timedelta(hours=1))
    act(db, complaints.add_note, cashier, info.id, "电话联系顾客", contact=True, now=t + timedelta(hours=2))
    resolved = act(db, complaints.resolve, cashier, info.id, RemedyInput((Remedy.APOLOGY, Remedy.EXCHANGE), customer_told=True,
                                                                          note="换了一份新的"), now=t + timedelta(hours=3))
    assert (resolved.status, resolved.resolved_at, resolved.first_response_at) == (S.RESOLVED, t + timedelta(hours=3), t + timedelta(hours=1))
    act(db, complaints.record_follow_up, cashier, info.id, FollowUpInput(4, comment="还可以"), now=t + timedelta(days=1))
    closed = act(db, complaints.close, cashier, info.id, now=t + timedelta(days=2))
    assert (closed.status, closed.closed_at) == (S.CLOSED, t + timedelta(days=2))
    assert timeline(db, info.id) == [
        ("logged", None, S.NEW), ("assigned", S.NEW, S.ASSIGNED), ("status", S.ASSIGNED, S.IN_PROGRESS), ("contact", None, None),
        ("resolved", S.IN_PROGRESS, S.RESOLVED), ("followed_up", S.RESOLVED, S.FOLLOWED_UP), ("closed", S.FOLLOWED_UP, S.CLOSED),
    ]
    with read_session(db) as session:
        detail = complaints.get_complaint(session, info.id)
    assert [(e.staff_name, e.at) for e in detail.timeline][:2] == [(cashier.name, NOW), (owner.name, t + timedelta(minutes=5))]
    assert [(r.remedies, r.customer_told, r.note) for r in detail.resolutions] == [((Remedy.EXCHANGE, Remedy.APOLOGY), True, "换了一份新的")]
    assert [(f.satisfaction, f.method.value, f.comment) for f in detail.follow_ups] == [(4, "phone", "还可以")]
    json.dumps(detail.to_json())  # the command line prints it as JSON
    assert detail.to_json()["complaint"]["status"] == "closed"
    with read_session(db) as session:
        actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "complaint").order_by(AuditEvent.id)).all()
    assert actions == ["complaint.log", "complaint.assign", "complaint.start", "complaint.contact", "complaint.resolve",
                       "complaint.follow_up", "complaint.close"]


def test_first_response_is_the_first_contact_or_start_not_the_assignment_and_is_set_once(db, owner, cashier) -> None:
    first = log(db, cashier)
    act(db, complaints.assign, owner, first.id, staff_id=cashier.staff_id, now=NOW + timedelta(hours=1))
    contacted = act(db, complaints.add_note, cashier, first.id, "已回电", contact=True, now=NOW + timedelta(hours=3))
    assert contacted.first_response_at == NOW + timedelta(hours=3)
    act(db, complaints.add_note, cashier, first.id, "再次联系", contact=True, now=NOW + timedelta(hours=5))
    later = act(db, complaints.start_work, cashier, first.id, now=NOW + timedelta(hours=6))
    assert later.first_response_at == NOW + timedelta(hours=3)
    # An internal note is not a response; resolving on the spot at the counter is.
    spot = log(db, cashier)
    noted = act(db, complaints.add_note, cashier, spot.id, "内部备注", now=NOW + timedelta(minutes=1))
    assert noted.first_response_at is None
    done = act(db, complaints.resolve, cashier, spot.id, RemedyInput((Remedy.APOLOGY,)), now=NOW + timedelta(minutes=2))
    assert (done.first_response_at, done.owner_staff_id) == (NOW + timedelta(minutes=2), cashier.staff_id)


def test_invalid_transitions_are_refused_naming_both_statuses(db, owner, cashier) -> None:
    info = log(db, owner)
    refused(db, Conflict, "Complaint .* is new; it cannot be moved to followed up", complaints.record_follow_up, owner, info.id,
            FollowUpInput(5))
    refused(db, Conflict, "is new; it cannot be moved to closed", complaints.close, owner, info.id)
    refused(db, Conflict, "is new; only a resolved or closed complaint can be reopened", complaints.reopen, owner, info.id, "再看看")
    act(db, complaints.start_work, owner, info.id)
    refused(db, Conflict, "is in progress; it cannot be moved to in progress", complaints.start_work, owner, info.id)
    act(db, complaints.resolve, owner, info.id, RemedyInput((Remedy.APOLOGY,)))
    refused(db, Conflict, "is resolved; it cannot be moved to resolved", complaints.resolve, owner, info.id, RemedyInput((Remedy.APOLOGY,)))
    refused(db, Conflict, "is resolved; it cannot be moved to in progress", complaints.start_work, owner, info.id)
    act(db, complaints.record_follow_up, owner, info.id, FollowUpInput(3))
    refused(db, Conflict, "is followed up; it cannot be moved to followed up", complaints.record_follow_up, owner, info.id, FollowUpInput(3))
    act(db, complaints.close, owner, info.id)
    refused(db, Conflict, "is closed; it cannot be moved to resolved", complaints.resolve, owner, info.id, RemedyInput((Remedy.APOLOGY,)))
    refused(db, Conflict, "is closed; reopen it first", complaints.assign, owner, info.id, staff_id=cashier.staff_id)
    refused(db, NotFound, "No complaint with id 999", complaints.start_work, owner, 999)


# How each status is reached from a new complaint, and the call that moves a complaint to each status.
_ROAD = {
    ComplaintStatus.NEW: (),
    ComplaintStatus.ASSIGNED: ("assign",),
    ComplaintStatus.IN_PROGRESS: ("start",),
    ComplaintStatus.RESOLVED: ("resolve",),
    ComplaintStatus.FOLLOWED_UP: ("resolve", "follow_up"),
    ComplaintStatus.CLOSED: ("resolve", "follow_up", "close"),
}


def _step(db, actor, complaint_id, step, current):  # type: ignore[no-untyped-def]
    if step == "assign":
        return act(db, complaints.assign, actor, complaint_id, staff_id=actor.staff_id)
    if step == "start":  # back to work after a resolution is a reopen, with its reason
        if current in (ComplaintStatus.RESOLVED, ComplaintStatus.FOLLOWED_UP, ComplaintStatus.CLOSED):
            return act(db, complaints.reopen, actor, complaint_id, "顾客又来电")
        return act(db, complaints.start_work, actor, complaint_id)
    if step == "resolve":
        return act(db, complaints.resolve, actor, complaint_id, RemedyInput((Remedy.APOLOGY,)))
    if step == "follow_up":
        return act(db, complaints.record_follow_up, actor, complaint_id, FollowUpInput(4))
    reason = "顾客联系不上" if current is ComplaintStatus.RESOLVED else None
    return act(db, complaints.close, actor, complaint_id, skip_follow_up_reason=reason)


_TO = {ComplaintStatus.IN_PROGRESS: "start", ComplaintStatus.RESOLVED: "resolve",
       ComplaintStatus.FOLLOWED_UP: "follow_up", ComplaintStatus.CLOSED: "close"}


@pytest.mark.parametrize("target", list(_TO))
@pytest.mark.parametrize("start", list(ComplaintStatus))
def test_every_transition_is_allowed_or_refused_as_the_state_machine_says(db, owner, start, target) -> None:  # type: ignore[no-untyped-def]
    info = log(db, owner)
    for step in _ROAD[start]:
        info = _step(db, owner, info.id, step, info.status)
    assert info.status is start
    if target in complaints.TRANSITIONS[start]:
        assert _step(db, owner, info.id, _TO[target], start).status is target
    else:
        before = snapshot(db)
        with pytest.raises(Conflict, match="cannot be moved|can be reopened|reopen it first"):
            _step(db, owner, info.id, _TO[target], start)
        assert snapshot(db) == before


def test_reopening_needs_a_reason_keeps_the_deadlines_and_clears_the_resolution(db, owner) -> None:
    info = log(db, owner)
    act(db, complaints.resolve, owner, info.id, RemedyInput((Remedy.REFUND,), refund_fen=2_550))
    act(db, complaints.record_follow_up, owner, info.id, FollowUpInput(2, comment="还是不满意"), now=NOW + timedelta(hours=2))
    refused(db, InvalidInput, "reason for reopening", complaints.reopen, owner, info.id, "  ")
    reopened = act(db, complaints.reopen, owner, info.id, "顾客又来电", now=NOW + timedelta(hours=3))
    assert (reopened.status, reopened.resolved_at, reopened.resolution_due) == (S.IN_PROGRESS, None, info.resolution_due)
    assert timeline(db, info.id)[-1] == ("reopened", S.FOLLOWED_UP, S.IN_PROGRESS)
    again = act(db, complaints.resolve, owner, info.id, RemedyInput((Remedy.OTHER,), note="店长亲自道歉并上门"), now=NOW + timedelta(hours=4))
    assert again.resolved_at == NOW + timedelta(hours=4)
    with read_session(db) as session:
        assert [r.refund_fen for r in complaints.get_complaint(session, info.id).resolutions] == [2_550, 0]


def test_closing_needs_the_follow_up_or_a_supervisors_reason(db, owner, supervisor, cashier) -> None:
    info = log(db, cashier)
    act(db, complaints.resolve, cashier, info.id, RemedyInput((Remedy.APOLOGY,)))
    refused(db, Conflict, "has had no follow-up yet", complaints.close, cashier, info.id)
    refused(db, PermissionDenied, "may not close a complaint without its follow-up", complaints.close, cashier, info.id,
            skip_follow_up_reason="顾客电话打不通")
    refused(db, InvalidInput, "reason for skipping", complaints.close, supervisor, info.id, skip_follow_up_reason=" ")
    closed = act(db, complaints.close, supervisor, info.id, skip_follow_up_reason="顾客留的电话是空号")
    assert closed.status is S.CLOSED
    with read_session(db) as session:
        last = complaints.get_complaint(session, info.id).timeline[-1]
    assert (last.kind, last.note, last.staff_name) == ("closed_without_follow_up", "顾客留的电话是空号", supervisor.name)
    followed = log(db, cashier)
    act(db, complaints.resolve, cashier, followed.id, RemedyInput((Remedy.APOLOGY,)))
    act(db, complaints.record_follow_up, cashier, followed.id, FollowUpInput(5))
    refused(db, InvalidInput, "no follow-up to skip", complaints.close, owner, followed.id, skip_follow_up_reason="x")


@pytest.mark.parametrize("score", [0, 6, -1, True])
def test_a_follow_up_score_outside_1_to_5_is_refused(db, owner, score) -> None:
    info = log(db, owner)
    act(db, complaints.resolve, owner, info.id, RemedyInput((Remedy.APOLOGY,)))
    refused(db, InvalidInput, "Satisfaction runs from 1", complaints.record_follow_up, owner, info.id, FollowUpInput(score))


def test_a_follow_up_cannot_come_before_the_resolution(db, owner) -> None:
    info = log(db, owner)
    act(db, complaints.resolve, owner, info.id, RemedyInput((Remedy.APOLOGY,)), now=NOW + timedelta(hours=2))
    refused(db, InvalidInput, "cannot come before", complaints.record_follow_up, owner, info.id,
            FollowUpInput(4, done_at=NOW + timedelta(hours=1)), now=NOW + timedelta(hours=3))
    done = act(db, complaints.record_follow_up, owner, info.id, FollowUpInput(4, done_at=NOW + timedelta(hours=2)), now=NOW + timedelta(hours=3))
    assert done.status is S.FOLLOWED_UP


# --------------------------------------------------------------------------- who may do what


def test_staff_work_their_own_and_unowned_complaints_supervisors_every_one(db, owner, supervisor, cashier) -> None:
    theirs = log(db, cashier)
    act(db, complaints.assign, supervisor, theirs.id, staff_id=supervisor.staff_id)
    refused(db, PermissionDenied, "may only work complaints they own", complaints.start_work, cashier, theirs.id)
    refused(db, PermissionDenied, "may only work complaints they own", complaints.add_note, cashier, theirs.id, "看看")
    refused(db, PermissionDenied, "may only work complaints they own", complaints.resolve, cashier, theirs.id, RemedyInput((Remedy.APOLOGY,)))
    unowned = log(db, cashier)
    refused(db, PermissionDenied, "may only work complaints they own", complaints.assign, cashier, unowned.id, staff_id=supervisor.staff_id)
    taken = act(db, complaints.assign, cashier, unowned.id, staff_id=cashier.staff_id)
    assert (taken.owner_staff_id, taken.status) == (cashier.staff_id, S.ASSIGNED)
    # The owner of the shop works anyone's complaint, and may hand it on.
    act(db, complaints.start_work, owner, theirs.id)
    handed = act(db, complaints.assign, owner, theirs.id, staff_id=cashier.staff_id, note="交给小李")
    assert (handed.owner_name, handed.status) == (cashier.name, S.IN_PROGRESS)
    refused(db, InvalidInput, "Name the staff member or the department", complaints.assign, owner, theirs.id)
    refused(db, NotFound, "No active staff member with id 4242", complaints.assign, owner, theirs.id, staff_id=4242)


# --------------------------------------------------------------------------- compensation


def test_goodwill_points_post_once_and_again_only_as_an_explicit_additional_remedy(db, owner, supervisor, member_id) -> None:
    info = log(db, supervisor, member_id=member_id)
    act(db, complaints.resolve, supervisor, info.id, RemedyInput((Remedy.APOLOGY,), goodwill_points=100, customer_told=True))
    assert ledger(db, member_id) == ([(PointsKind.GOODWILL, 100, info.id)], 100)
    # Resolving twice is refused; reopening and resolving with the same goodwill does not post it again.
    refused(db, Conflict, "is resolved; it cannot be moved to resolved", complaints.resolve, supervisor, info.id,
            RemedyInput(goodwill_points=100))
    act(db, complaints.reopen, supervisor, info.id, "顾客仍不满意")
    refused(db, Conflict, r"already compensated \(points: 100, coupons: 0\)", complaints.resolve, supervisor, info.id,
            RemedyInput(goodwill_points=100))
    act(db, complaints.resolve, supervisor, info.id, RemedyInput((Remedy.APOLOGY,)))
    assert ledger(db, member_id) == ([(PointsKind.GOODWILL, 100, info.id)], 100)
    act(db, complaints.reopen, supervisor, info.id, "又出问题")
    act(db, complaints.resolve, supervisor, info.id, RemedyInput(goodwill_points=50, additional_compensation=True))
    assert ledger(db, member_id) == ([(PointsKind.GOODWILL, 100, info.id), (PointsKind.GOODWILL, 50, info.id)], 150)
    with read_session(db) as session:
        assert complaints.goodwill_given(session, info.id) == 150
        resolutions = complaints.get_complaint(session, info.id).resolutions
    assert [(r.goodwill_points, r.remedies) for r in resolutions] == [
        (100, (Remedy.APOLOGY, Remedy.GOODWILL)), (0, (Remedy.APOLOGY,)), (50, (Remedy.GOODWILL,))]


def test_goodwill_is_refused_when_negative_for_cashiers_and_for_walk_ins(db, owner, cashier, member_id) -> None:
    info = log(db, owner, member_id=member_id)
    refused(db, InvalidInput, "positive number of points", complaints.resolve, owner, info.id, RemedyInput(goodwill_points=-50))
    refused(db, InvalidInput, "positive number of points", complaints.resolve, owner, info.id, RemedyInput((Remedy.GOODWILL,)))
    refused(db, InvalidInput, "not plausible", complaints.resolve, owner, info.id, RemedyInput(goodwill_points=1_000_000))
    own = log(db, cashier, member_id=member_id)
    refused(db, PermissionDenied, "may not give goodwill points or coupons", complaints.resolve, cashier, own.id,
            RemedyInput(goodwill_points=100))
    walk_in = log(db, owner, walk_in_name="路人")
    refused(db, InvalidInput, "walk-in customer", complaints.resolve, owner, walk_in.id, RemedyInput(goodwill_points=100))
    refused(db, InvalidInput, "Say what was done", complaints.resolve, owner, info.id, RemedyInput())
    refused(db, InvalidInput, "Describe the other remedy", complaints.resolve, owner, info.id, RemedyInput((Remedy.OTHER,)))
    refused(db, InvalidInput, "refund amount is not plausible", complaints.resolve, owner, info.id, RemedyInput(refund_fen=-1))
    with unit_of_work(db) as session:
        members.set_status(session, owner, member_id, members.MemberStatus.FROZEN, reason="挂失")
    refused(db, InvalidInput, "membership is frozen", complaints.resolve, owner, info.id, RemedyInput(goodwill_points=100))
    assert ledger(db, member_id) == ([], 0)


def test_a_coupon_for_the_member_is_made_in_the_same_transaction(db, owner, member_id) -> None:
    with unit_of_work(db) as session:
        voucher = offers.create_offer(session, owner, offers.OfferInput(name="10元致歉券", kind=OfferKind.AMOUNT_OFF, reduction_fen=1_000,
                                                                         coupon_required=True))
        plain = offers.create_offer(session, owner, offers.OfferInput(name="满100减5", kind=OfferKind.AMOUNT_OFF,
                                                                       threshold_fen=10_000, reduction_fen=500))
    info = log(db, owner, member_id=member_id)
    # A refused coupon takes the goodwill of the same resolution back with it.
    refused(db, InvalidInput, "does not take coupons", complaints.resolve, owner, info.id,
            RemedyInput(goodwill_points=100, coupon_offer_id=plain.id))
    assert ledger(db, member_id) == ([], 0)
    act(db, complaints.resolve, owner, info.id, RemedyInput((Remedy.APOLOGY,), coupon_offer_id=voucher.id, goodwill_points=20))
    with read_session(db) as session:
        coupon = session.execute(sa.select(Coupon.member_id, Coupon.batch, Coupon.code).where(Coupon.offer_id == voucher.id)).one()
        resolution = complaints.get_complaint(session, info.id).resolutions[0]
    assert tuple(coupon) == (member_id, f"complaint {info.id}", resolution.coupon_code)
    assert ledger(db, member_id)[1] == 20
    act(db, complaints.reopen, owner, info.id, "再补偿")
    refused(db, Conflict, r"already compensated \(points: 20, coupons: 1\)", complaints.resolve, owner, info.id,
            RemedyInput(coupon_offer_id=voucher.id))


# --------------------------------------------------------------------------- deadlines at their boundaries


def test_overdue_from_the_exact_second_of_each_deadline(db, owner) -> None:
    received = datetime(2026, 11, 18, 23, 30, tzinfo=CN)  # late evening: the local day changes within the hour
    info = log(db, owner, category="expired", received_at=received, now=received)
    assert info.first_response_due == datetime(2026, 11, 19, 23, 30, tzinfo=CN)
    assert info.resolution_due == datetime(2026, 11, 20, 0, 0, tzinfo=CN)  # the end of the next local day

    def overdue(at: datetime) -> tuple[int, bool]:
        with read_session(db) as session:
            return complaints.overdue_count(session, at), complaints.get_info(session, info.id, now=at).response_overdue

    second = timedelta(seconds=1)
    assert overdue(info.first_response_due - second) == (0, False)
    assert overdue(info.first_response_due) == (1, True)
    act(db, complaints.add_note, owner, info.id, "已联系", contact=True, now=info.first_response_due - second)
    assert overdue(info.resolution_due - second) == (0, False)
    assert overdue(info.resolution_due) == (1, False)
    act(db, complaints.resolve, owner, info.id, RemedyInput((Remedy.REFUND,)), now=info.resolution_due + timedelta(hours=1))
    assert overdue(info.resolution_due + timedelta(days=5)) == (0, False)


def test_the_due_day_is_counted_in_local_days_not_utc_days(db, owner) -> None:
    # 00:30 on the 19th in the shop is still the 18th in UTC; the deadline follows the shop's calendar.
    just_after_midnight = datetime(2026, 11, 19, 0, 30, tzinfo=CN)
    before_midnight = datetime(2026, 11, 18, 23, 59, 59, tzinfo=CN)
    late = log(db, owner, category="price", received_at=just_after_midnight, now=just_after_midnight)
    early = log(db, owner, category="price", received_at=before_midnight, now=just_after_midnight)
    assert late.resolution_due == datetime(2026, 11, 21, 0, 0, tzinfo=CN)
    assert early.resolution_due == datetime(2026, 11, 20, 0, 0, tzinfo=CN)
    assert (late.resolution_due_day.isoformat(), early.resolution_due_day.isoformat()) == ("2026-11-20", "2026-11-19")
    same_day = log(db, owner, category="price", received_at=just_after_midnight, now=just_after_midnight)
    assert same_day.resolution_due == late.resolution_due


def test_deadlines_come_from_the_owners_settings_when_logged(db, owner, supervisor) -> None:
    before = log(db, owner, category="quality")
    with unit_of_work(db) as session:
        complaints.update_category(session, owner, "quality", resolution_days=0, default_priority=Priority.HIGH)
        complaints.set_first_response_hours(session, owner, 4)
    after = log(db, owner, category="quality")
    assert before.resolution_due == datetime(2026, 11, 22, 0, 0, tzinfo=CN)  # 3 days
    assert (after.resolution_due, after.priority) == (datetime(2026, 11, 19, 0, 0, tzinfo=CN), Priority.HIGH)  # the same day
    assert after.first_response_due == NOW + timedelta(hours=4)
    with read_session(db) as session:
        assert complaints.get_info(session, before.id).resolution_due == before.resolution_due  # logged ones keep theirs
    with pytest.raises(PermissionDenied, match="may not change the complaint and survey settings"), unit_of_work(db) as session:
        complaints.update_category(session, supervisor, "quality", resolution_days=2)
    with pytest.raises(InvalidInput, match="from 0 \\(the same day\\) to 90"), unit_of_work(db) as session:
        complaints.update_category(session, owner, "quality", resolution_days=91)
    with pytest.raises(InvalidInput, match="within 1 to 168 hours"), unit_of_work(db) as session:
        complaints.set_first_response_hours(session, owner, 0)


# --------------------------------------------------------------------------- the board


@pytest.fixture
def board(db, owner, supervisor, cashier, member_id) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Five complaints over three days, in various states, seen at NOW."""
    day = timedelta(days=1)
    ids = {
        "old_price": log(db, owner, category="price", channel="phone", member_id=member_id, received_at=NOW - 3 * day).id,
        "old_quality": log(db, owner, category="quality", channel="counter", received_at=NOW - 3 * day - timedelta(hours=2)).id,
        "new_other": log(db, owner, category="other", channel="letter", received_at=NOW - timedelta(hours=1)).id,
        "done": log(db, owner, category="quality", channel="box", received_at=NOW - 2 * day).id,
        "yesterday": log(db, owner, category="attitude", channel="counter", received_at=NOW - day).id,
    }
    act(db, complaints.assign, owner, ids["old_quality"], staff_id=supervisor.staff_id, department="生鲜部")
    act(db, complaints.start_work, owner, ids["yesterday"], now=NOW - day + timedelta(hours=1))
    act(db, complaints.resolve, owner, ids["done"], RemedyInput((Remedy.APOLOGY,)), now=NOW - day)
    return ids


def test_the_board_counts_filters_and_sorts_by_the_next_deadline(db, supervisor, board) -> None:
    with read_session(db) as session:
        counts = complaints.board_counts(session, NOW)
        everything = complaints.list_complaints(session, now=NOW)
        overdue = complaints.list_complaints(session, ComplaintFilter(overdue=True), now=NOW)
        by = {name: complaints.list_complaints(session, flt, now=NOW) for name, flt in {
            "quality": ComplaintFilter(category="quality"), "counter": ComplaintFilter(channel="counter"),
            "supervisor": ComplaintFilter(owner_staff_id=supervisor.staff_id), "dept": ComplaintFilter(department="生鲜部"),
            "resolved": ComplaintFilter(statuses=(S.RESOLVED,)), "open": ComplaintFilter(open_only=True),
            "period": ComplaintFilter(received_from=(NOW - timedelta(days=2)).date(), received_to=(NOW - timedelta(days=1)).date()),
            "received": ComplaintFilter(order=ComplaintOrder.RECEIVED),
        }.items()}
        total_open = complaints.count_complaints(session, ComplaintFilter(open_only=True), now=NOW)
    assert counts.by_status == ((S.NEW, 2), (S.ASSIGNED, 1), (S.IN_PROGRESS, 1), (S.RESOLVED, 1), (S.FOLLOWED_UP, 0), (S.CLOSED, 0))
    assert (counts.open, counts.overdue, counts.count(S.RESOLVED)) == (4, 2, 1)
    names = {v: k for k, v in board.items()}

    def named(found):  # type: ignore[no-untyped-def]
        return [names[c.id] for c in found]

    # Neither old complaint has had a first response (due 24 hours after each came in); the price error is also past
    # its resolution due (the end of the 16th). Open ones come first, the earliest next deadline first: the newest
    # complaint's first response (due tomorrow 09:00) before the started one's resolution (the end of the 20th).
    assert named(overdue) == ["old_quality", "old_price"]
    assert named(everything) == ["old_quality", "old_price", "new_other", "yesterday", "done"]
    assert [(c.overdue, c.response_overdue) for c in everything] == [(True, True), (True, True), (False, False), (False, False),
                                                                     (False, False)]
    assert [c.resolution_due_day.isoformat() for c in everything[:2]] == ["2026-11-18", "2026-11-16"]
    assert sorted(named(by["quality"])) == ["done", "old_quality"]
    assert sorted(named(by["counter"])) == ["old_quality", "yesterday"]
    assert named(by["supervisor"]) == named(by["dept"]) == ["old_quality"]
    assert named(by["resolved"]) == ["done"]
    assert len(by["open"]) == total_open == 4
    assert sorted(named(by["period"])) == ["done", "yesterday"]
    assert named(by["received"]) == ["new_other", "yesterday", "done", "old_price", "old_quality"]


def test_a_members_complaints_for_the_counter(db, owner, member_id, board) -> None:
    with read_session(db) as session:
        found = complaints.member_complaints(session, member_id, now=NOW)
    assert [c.id for c in found] == [board["old_price"]]
    assert found[0].to_json()["customer"] == "张三"


# --------------------------------------------------------------------------- editable lists


def test_the_default_lists_match_the_migration_and_translate_in_the_complaints_context(db) -> None:
    with read_session(db) as session:
        channels = complaints.list_channels(session)
        categories = complaints.list_categories(session)
    assert [(c.code, c.name) for c in channels] == list(complaints.DEFAULT_CHANNELS)
    assert [(c.code, c.name, c.resolution_days, c.default_priority) for c in categories] == list(complaints.DEFAULT_CATEGORIES)
    assert {c.code: c.resolution_days for c in categories}["expired"] == 1


def test_the_owner_adds_renames_and_switches_off_list_entries(db, owner, supervisor, cashier) -> None:
    with unit_of_work(db) as session:
        wechat = complaints.add_channel(session, owner, "WeChat group")
        parking = complaints.add_category(session, owner, "停车", resolution_days=5, default_priority=Priority.LOW)
        dup = complaints.add_channel(session, owner, "WeChat Group 2")
    assert (wechat.code, wechat.position > 4, parking.code, parking.resolution_days, dup.code) == (
        "wechat_group", True, "custom", 5, "wechat_group_2")
    logged = log(db, cashier, channel="wechat_group", category=parking.code)
    assert (logged.channel_name, logged.priority) == ("WeChat group", Priority.LOW)
    with unit_of_work(db) as session:
        complaints.rename_channel(session, owner, "wechat_group", "微信群")
        complaints.set_channel_active(session, owner, "wechat_group", False)
        assert complaints.find_channel(session, "微信群").code == "wechat_group"
        assert "wechat_group" not in [c.code for c in complaints.list_channels(session)]
        assert "wechat_group" in [c.code for c in complaints.list_channels(session, include_inactive=True)]
    with read_session(db) as session:
        assert complaints.get_info(session, logged.id).channel_name == "微信群"  # existing complaints keep their channel
    with pytest.raises(InvalidInput, match="not a channel in use"):
        log(db, cashier, channel="wechat_group")
    for who, operation, match in [
        (supervisor, lambda s, a: complaints.add_channel(s, a, "Fax"), "may not change the complaint and survey settings"),
        (cashier, lambda s, a: complaints.rename_channel(s, a, "counter", "前台"), "may not change"),
        (owner, lambda s, a: complaints.add_channel(s, a, "phone"), "'phone' is already in the list"),
        (owner, lambda s, a: complaints.rename_channel(s, a, "counter", "Letter"), "'Letter' is already in the list"),
        (owner, lambda s, a: complaints.add_channel(s, a, "Fax", code="Bad Code"), "A code is 1 to 40"),
        (owner, lambda s, a: complaints.add_channel(s, a, "Fax", code="phone"), "already taken"),
        (owner, lambda s, a: complaints.add_channel(s, a, "  "), "Enter a name"),
        (owner, lambda s, a: complaints.rename_channel(s, a, "nope", "x"), "Nothing in the list has the code 'nope'"),
    ]:
        before = snapshot(db)
        with pytest.raises((PermissionDenied, Conflict, InvalidInput, NotFound), match=match), unit_of_work(db) as session:
            operation(session, who)
        assert snapshot(db) == before, match


def test_the_last_active_entry_cannot_be_switched_off(db, owner) -> None:
    with unit_of_work(db) as session:
        for code in ("phone", "box", "online", "letter"):
            complaints.set_channel_active(session, owner, code, False)
    with pytest.raises(Conflict, match="at least one entry"), unit_of_work(db) as session:
        complaints.set_channel_active(session, owner, "counter", False)
    with read_session(db) as session:
        assert [c.code for c in complaints.list_channels(session)] == ["counter"]
