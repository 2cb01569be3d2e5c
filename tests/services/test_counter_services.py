"""What the counter relies on in the services: a frozen member's purchase only with approval (audited), receipt
numbers that never get stuck, refunds of the member's own sales, notes that fit the ledger."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crmdesk.errors import InvalidInput, PermissionDenied
from crmdesk.models import AuditEvent, MemberStatus, Purchase
from crmdesk.services import members, purchases
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures


@pytest.fixture
def frozen_id(db, cashier, supervisor):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member_id = members.register(session, cashier, members.MemberInput(name="张三", phone="13800138000")).id
        members.set_status(session, supervisor, member_id, MemberStatus.FROZEN, reason="争议")
    return member_id


def _sales(db) -> int:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Purchase)) or 0)


def test_without_approval_a_frozen_member_cannot_buy_and_the_status_is_a_word(db, cashier, frozen_id) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as refused, unit_of_work(db) as session:
        purchases.record_purchase(session, cashier, frozen_id, till="01", amount_fen=1_000)
    assert refused.value.message == "张三's membership is frozen: purchases cannot be recorded for it."
    assert refused.value.params["status"].context == "terms"  # the screen shows it in its own language
    assert _sales(db) == 0


def test_a_cashier_cannot_approve(db, cashier, frozen_id) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied, match="may not approve purchases of frozen members"), unit_of_work(db) as session:
        purchases.record_purchase(session, cashier, frozen_id, till="01", amount_fen=1_000, approved_by=cashier)
    assert _sales(db) == 0


def test_a_supervisors_approval_records_it_with_its_points_and_an_audit_event(db, cashier, supervisor, frozen_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        result = purchases.record_purchase(session, cashier, frozen_id, till="01", amount_fen=12_345, approved_by=supervisor)
    assert result.points == 123 and result.receipt_no
    with read_session(db) as session:
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "purchase.frozen_override")).one()
        assert (event.staff_name, event.entity_id, event.details["approved_by"]) == (cashier.name, result.purchase_id,
                                                                                   supervisor.name)
        assert members.profile(session, frozen_id).status is MemberStatus.FROZEN  # still frozen afterwards


def test_a_closed_membership_takes_no_purchase_even_approved(db, cashier, supervisor, frozen_id) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        members.set_status(session, supervisor, frozen_id, MemberStatus.CLOSED, reason="注销")
    with pytest.raises(InvalidInput, match="membership is closed"), unit_of_work(db) as session:
        purchases.record_purchase(session, cashier, frozen_id, till="01", amount_fen=1_000, approved_by=supervisor)
    assert _sales(db) == 0


def test_the_preview_shows_points_and_tier_discount_and_writes_nothing(db, frozen_id) -> None:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        preview = purchases.preview_purchase(session, frozen_id, 10_050)
    assert (preview.points, preview.tier_name, preview.discount_bp, preview.discount_fen) == (100, "普通", 0, 0)
    assert _sales(db) == 0


def test_a_hand_typed_number_of_another_shape_does_not_stop_generated_ones(db, cashier, supervisor) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    with unit_of_work(db) as session:
        member_id = members.register(session, cashier, members.MemberInput(name="李四", phone="13900139000")).id
    at = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)  # 11:00 on the shop's clock, 4 December
    with unit_of_work(db) as session:
        for _ in range(3):
            purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=100, occurred_at=at, now=at)
        purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=100, receipt_no="20261204-2",
                                  occurred_at=at, now=at)
        purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=100, receipt_no="20261204-0005",
                                  occurred_at=at, now=at)
        fourth = purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=100, occurred_at=at, now=at)
        sixth = purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=100, occurred_at=at, now=at)
    assert (fourth.receipt_no, sixth.receipt_no) == ("20261204-0006", "20261204-0007")


def test_a_refund_is_of_the_member_at_the_counter_only(db, cashier) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.errors import NotFound

    with unit_of_work(db) as session:
        zhang = members.register(session, cashier, members.MemberInput(name="张三", phone="13800138001")).id
        li = members.register(session, cashier, members.MemberInput(name="李四", phone="13900139001")).id
        purchases.record_purchase(session, cashier, li, till="01", receipt_no="R9", amount_fen=5_000)
    with pytest.raises(NotFound, match="No sale with receipt R9"), unit_of_work(db) as session:
        purchases.refund(session, cashier, original_till="01", original_receipt="R9", amount_fen=5_000, member_id=zhang)
    with read_session(db) as session:
        assert members.profile(session, li).points_balance == 50  # nothing taken back
        assert session.scalar(sa.select(sa.func.count()).select_from(Purchase).where(Purchase.refund_of_id.is_not(None))) == 0
    with unit_of_work(db) as session:  # the right member: refunded
        result = purchases.refund(session, cashier, original_till="01", original_receipt="R9", amount_fen=5_000, member_id=li)
    assert result.points == -50


def test_notes_longer_than_the_ledger_keeps_are_refused(db, cashier) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.services import loyalty

    with unit_of_work(db) as session:
        member_id = members.register(session, cashier, members.MemberInput(name="王五", phone="13700137001")).id
        purchases.record_purchase(session, cashier, member_id, till="01", amount_fen=50_000)
    with pytest.raises(InvalidInput, match="at most 300 characters"), unit_of_work(db) as session:
        loyalty.redeem(session, cashier, member_id, 100, reason="长" * 301)
    with read_session(db) as session:
        assert members.profile(session, member_id).points_balance == 500
