"""The member report and the member list: content read back from the PDF, masking, permissions, size."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from crmdesk.errors import PermissionDenied
from crmdesk.models import AuditEvent, Member, MemberStatus, PointsEntry, PointsKind, Purchase, PurchaseKind
from crmdesk.reports.base import ReportCancelled
from crmdesk.reports.documents import MemberListRequest, MemberReportRequest, make_document, write_pdf
from crmdesk.services import cards, complaints, loyalty, members, purchases
from crmdesk.services.complaints import ComplaintInput, RemedyInput
from crmdesk.services.member_query import MemberFilter
from crmdesk.services.members import MemberInput
from crmdesk.services.purchases import LineInput
from crmdesk.services.uow import read_session, unit_of_work
from tests.reports.pdf_tools import all_text, fonts, page_count, page_texts

NOW = datetime.now(timezone.utc)
LONG_NAME = "欧阳" + "娜" * 40 + " Alexandra-Konstantina Papadopoulou-Featherstonehaugh"


def _member(db, actor, name: str, phone: str, **extra) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member_id = members.register(session, actor, MemberInput(name=name, phone=phone, **extra)).id
        cards.issue(session, actor, member_id)
    return member_id


@pytest.fixture
def shopper(db, owner) -> int:  # type: ignore[no-untyped-def]
    """A member with purchases (with lines), a redemption, a refund, and a resolved complaint."""
    member_id = _member(db, owner, "张晓明", "13812345678", tags=("常客",), address="北京市朝阳区建国路 88 号")
    with unit_of_work(db) as session:
        for day, amount in ((40, 12_000), (20, 8_050), (3, 4_500)):
            purchases.record_purchase(
                session, owner, member_id, receipt_no=f"R{day}", till="01", amount_fen=amount, occurred_at=NOW - timedelta(days=day),
                lines=(LineInput(name="苹果", category="水果", amount_fen=amount - 1000), LineInput(name="牛奶", category="乳品", amount_fen=1000)),
            )
        loyalty.redeem(session, owner, member_id, 100, reason="抵现")
        purchases.refund(session, owner, original_till="01", original_receipt="R3", refund_receipt="RF3", amount_fen=500)
    with unit_of_work(db) as session:
        categories = complaints.list_categories(session)
        channels = complaints.list_channels(session)
        complaint = complaints.log_complaint(session, owner, ComplaintInput(
            channel=channels[0].code, category=categories[0].code, description="鸡蛋有两个是破的", member_id=member_id))
        complaints.resolve(session, owner, complaint.id, RemedyInput(goodwill_points=50, note="道歉并补偿积分"))
    return member_id


def _report(db, actor, member_id: int, **options) -> str:  # type: ignore[no-untyped-def]
    return all_text(make_document(db, actor, MemberReportRequest(member_id, **options)))


def test_member_report_prints_every_section_from_the_data(db, owner, shopper) -> None:  # type: ignore[no-untyped-def]
    pdf = make_document(db, owner, MemberReportRequest(shopper))
    text = all_text(pdf)
    for expected in ("张晓明", "北京市朝阳区建国路 88 号", "常客", "Cards", "Tier and spend", "Points", "Purchases", "Offers used",
                     "Complaints", "鸡蛋有两个是破的", "水果", "乳品", "R40", "R20"):
        assert expected in text, expected
    # 3 sales ¥245.50, one refund ¥5.00: spend ¥240.50 over 3 visits
    assert "¥240.50" in text and "¥80.16" in text
    assert "goodwill points" in text  # the complaint's outcome
    with read_session(db) as session:
        balance = members.profile(session, shopper).points_balance
    assert f"{balance} points" in text
    assert 1 <= page_count(pdf) <= 3
    assert fonts(pdf) and all(fonts(pdf).values())


def test_member_report_masks_the_phone_unless_the_owner_asks(db, owner, supervisor, shopper) -> None:  # type: ignore[no-untyped-def]
    masked = _report(db, supervisor, shopper)
    assert "138****5678" in masked and "13812345678" not in masked and "138 1234 5678" not in masked
    with pytest.raises(PermissionDenied):
        make_document(db, supervisor, MemberReportRequest(shopper, full_phones=True))
    full = _report(db, owner, shopper, full_phones=True)
    assert "138 1234 5678" in full
    with read_session(db) as session:
        events = [(e.staff_name, e.entity_id, e.details["document"])
                  for e in session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "report.full_phones"))]
    assert events == [(owner.name, shopper, "member_report")]


def test_member_report_of_a_new_member_says_so_in_each_empty_section(db, owner) -> None:  # type: ignore[no-untyped-def]
    member_id = _member(db, owner, LONG_NAME, "13900001111")
    pdf = make_document(db, owner, MemberReportRequest(member_id))
    text = all_text(pdf)
    for expected in ("No purchases recorded yet.", "No offers used yet.", "No complaints from this member.",
                     "No points have been earned or spent yet."):
        assert expected in text
    assert "Papadopoulou-Featherstonehaugh" in text.replace("\n", "").replace("\r", "")
    assert page_count(pdf) == 1


def test_member_report_summarises_ten_thousand_purchases(db, owner) -> None:  # type: ignore[no-untyped-def]
    member_id = _member(db, owner, "李大户", "13700001234")
    start = NOW - timedelta(days=3000)
    with unit_of_work(db) as session:
        session.execute(sa.insert(Purchase), [
            {"member_id": member_id, "till": "02", "receipt_no": f"B{i:05d}", "kind": PurchaseKind.SALE, "amount_fen": 1000 + i,
             "occurred_at": start + timedelta(hours=7 * i), "payment_method": ""}
            for i in range(10_000)
        ])
        session.execute(sa.insert(PointsEntry), [
            {"member_id": member_id, "kind": PointsKind.EARN, "points": 10, "at": start + timedelta(hours=7 * i),
             "reason": "", "expires_on": None}
            for i in range(10_000)
        ])
        session.execute(sa.update(Member).where(Member.id == member_id).values(points_balance=100_000))  # the cache, as the ledger sums
        members.refresh_member_totals(session, [member_id])
    pdf = make_document(db, owner, MemberReportRequest(member_id))
    text = all_text(pdf)
    assert "Latest 12 of 10,000 receipts" in text
    assert "B09999" in text and "B00000" not in text
    assert "10,000" in text  # visits
    assert page_count(pdf) <= 3


def test_member_list_prints_the_filter_header_on_every_page_and_totals(db, owner) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        for i in range(130):
            member_id = members.register(session, owner, MemberInput(name=f"会员{i:03d}", phone=f"1390000{i:04d}")).id
            if i % 2:
                purchases.record_purchase(session, owner, member_id, receipt_no=f"L{i}", till="01", amount_fen=10_000)
        frozen = members.register(session, owner, MemberInput(name="冻结的人", phone="13600000000")).id
        members.set_status(session, owner, frozen, MemberStatus.FROZEN, reason="test")
    request = MemberListRequest(MemberFilter(statuses=(MemberStatus.ACTIVE,)), sort="name")
    pdf = make_document(db, owner, request)
    pages = page_texts(pdf)
    assert len(pages) >= 3
    assert "Status" in pages[0] and "Active" in pages[0]  # the filter, described
    assert "Sorted by" in pages[0] and "Phone numbers are masked" in pages[0]
    for number, page in enumerate(pages, start=1):
        assert "Member no." in page and "Name" in page  # the header row repeats
        assert f"Page {number} / {len(pages)}" in page
        assert f"by {owner.name}" in page
    text = "\n".join(pages)
    assert "冻结的人" not in text
    assert "会员000" in text and "会员129" in text
    assert "Total (130)" in pages[-1] and "¥6,500.00" in pages[-1]  # 65 purchases of ¥100
    assert "139****0007" in text and "1390000" + "0007" not in text.replace("*", "")


def test_member_list_full_numbers_need_the_owner_and_are_recorded(db, owner, supervisor) -> None:  # type: ignore[no-untyped-def]
    _member(db, owner, "王芳", "13511112222")
    assert "135****2222" in all_text(make_document(db, supervisor, MemberListRequest()))
    with pytest.raises(PermissionDenied):
        make_document(db, supervisor, MemberListRequest(full_phones=True))
    text = all_text(make_document(db, owner, MemberListRequest(full_phones=True, landscape=True)))
    assert "135 1111 2222" in text and "Full phone numbers" in text
    with read_session(db) as session:
        prints = [(e.staff_name, e.details["full_phones"], e.details["rows"])
                  for e in session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "member.print_list").order_by(AuditEvent.id))]
    assert prints == [
        (supervisor.name, False, 1), (owner.name, True, 1)]


def test_cashiers_may_not_print_the_member_list(db, cashier) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        make_document(db, cashier, MemberListRequest())


def test_member_list_stops_when_cancelled_and_reports_progress(db, owner) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        for i in range(60):
            members.register(session, owner, MemberInput(name=f"甲{i}", phone=f"1380000{i:04d}"))
    seen: list[tuple[int, int]] = []
    make_document(db, owner, MemberListRequest(), progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1]
    with pytest.raises(ReportCancelled):
        make_document(db, owner, MemberListRequest(), should_cancel=lambda: True)


def test_write_pdf_refuses_other_extensions_and_missing_folders(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.errors import InvalidInput

    with pytest.raises(InvalidInput):
        write_pdf(tmp_path / "list.docx", b"%PDF")
    with pytest.raises(InvalidInput):
        write_pdf(tmp_path / "missing" / "list.pdf", b"%PDF")
    assert write_pdf(tmp_path / "list.pdf", b"%PDF-1.4").read_bytes() == b"%PDF-1.4"
    assert [p.name for p in tmp_path.iterdir()] == ["list.pdf"]  # no temporary file left
