"""`crmdesk check`: every cached figure against its source, impossible states, and a repair that leaves ledgers alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from crmdesk.errors import PermissionDenied
from crmdesk.models import AuditEvent, Card, Coupon, Member, MemberStatus, PointsEntry, Purchase, PurchaseKind, WalletEntry
from crmdesk.services import backups, data_check, loyalty, members, purchases, wallet
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

NOW = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


@pytest.fixture
def shop(db, cashier, owner):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        zhang = members.register(session, cashier, members.MemberInput(name="张三", phone="13800138000")).id
        li = members.register(session, cashier, members.MemberInput(name="李四", phone="13900139000")).id
        purchases.record_purchase(session, cashier, zhang, till="01", amount_fen=12_000, receipt_no="A1", now=NOW)
        purchases.record_purchase(session, cashier, li, till="01", amount_fen=3_000, receipt_no="A2", now=NOW)
        wallet.top_up(session, cashier, li, 20_000, payment_method="cash", now=NOW)
        loyalty.adjust(session, owner, zhang, 50, reason="开业赠送")
    return zhang, li


def ledgers_and_purchases(db) -> tuple:  # type: ignore[no-untyped-def,type-arg]
    with read_session(db) as session:
        return tuple(session.execute(sa.select(model)).scalars().all().__len__() for model in (PointsEntry, WalletEntry, Purchase))


def test_a_sound_database_passes(db, shop) -> None:  # type: ignore[no-untyped-def]
    report = data_check.run(db)
    assert report.sound and report.checked_members == 2


def test_each_tampered_figure_is_named_with_the_member_and_repaired_from_its_source(db, shop, owner) -> None:  # type: ignore[no-untyped-def]
    zhang, li = shop
    with read_session(db) as session:
        numbers = dict(session.execute(sa.select(Member.id, Member.member_no)).all())
    with db.engine.begin() as connection:
        connection.execute(sa.update(Member).where(Member.id == zhang).values(
            points_balance=Member.points_balance + 7, visit_count=5, last_visit_at=None))
        connection.execute(sa.update(Member).where(Member.id == li).values(wallet_principal_fen=1, total_spend_fen=99))
    counts = ledgers_and_purchases(db)

    report = data_check.run(db)
    found = {(f.kind, f.member_no) for f in report.findings}
    assert found == {("points", numbers[zhang]), ("visits", numbers[zhang]), ("last visit", numbers[zhang]),
                     ("wallet principal", numbers[li]), ("spend", numbers[li])}
    principal = next(f for f in report.findings if f.kind == "wallet principal")
    assert (principal.cached, principal.expected) == (1, 20_000) and principal.shown(principal.expected) == "¥200.00"
    assert all(f.repairable for f in report.findings)

    result = data_check.repair(db, owner)
    assert result.repaired == {"points": 1, "visits": 1, "last visit": 1, "wallet principal": 1, "spend": 1}
    assert result.after.sound and data_check.run(db).sound
    assert ledgers_and_purchases(db) == counts  # no ledger row or purchase added or removed
    assert backups.describe_backup(backups.backup_folder(db) / result.backup).reason == "before-repair"
    with read_session(db) as session:
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "database.repair")).one()
        assert event.staff_name == owner.name and event.details["repaired"]["points"] == 1
        assert "张三" not in str(event.details) and "李四" not in str(event.details)


def test_only_the_owner_repairs(db, shop, supervisor) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        data_check.repair(db, supervisor)


def test_impossible_states_are_reported_and_left_for_a_person(db, shop, owner) -> None:  # type: ignore[no-untyped-def]
    zhang, li = shop
    with db.engine.begin() as connection:
        sale = connection.execute(sa.select(Purchase.id).where(Purchase.receipt_no == "A1")).scalar_one()
        connection.execute(sa.insert(Purchase).values(member_id=zhang, till="01", receipt_no="R1", kind=PurchaseKind.REFUND,
                                                      refund_of_id=sale, occurred_at=NOW, amount_fen=13_000, created_at=NOW))
        connection.execute(sa.update(Member).where(Member.id == li).values(status=MemberStatus.CLOSED))
        connection.execute(sa.insert(Card).values(number="2900000000017", member_id=li, issued_at=NOW))
        # The refund's spend is taken off too, so only the impossible states remain.
        connection.execute(sa.update(Member).where(Member.id == zhang).values(total_spend_fen=-1_000))
    report = data_check.run(db)
    kinds = {f.kind: f for f in report.findings}
    assert set(kinds) == {"over-refunded", "closed card"}
    assert kinds["over-refunded"].detail == "A1" and kinds["over-refunded"].shown(kinds["over-refunded"].cached) == "¥130.00"
    assert kinds["closed card"].detail == "2900000000017"
    assert not any(f.repairable for f in report.findings)
    assert data_check.repair(db, owner).repaired == {}
    with db.engine.begin() as connection:  # put right for the books check after the test
        connection.execute(sa.delete(Purchase).where(Purchase.receipt_no == "R1"))
        connection.execute(sa.delete(Card).where(Card.member_id == li))
        connection.execute(sa.update(Member).where(Member.id == zhang).values(total_spend_fen=12_000))


def test_a_coupon_marked_used_without_its_redemption_is_found_and_cleared(db, shop, owner) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.models import Offer, OfferKind

    with db.engine.begin() as connection:
        offer = connection.execute(sa.insert(Offer).values(name="满100减10", kind=OfferKind.AMOUNT_OFF, value=1_000,
                                                           created_at=NOW).returning(Offer.id)).scalar_one()
        connection.execute(sa.insert(Coupon).values(code="C0001", offer_id=offer, created_at=NOW, used_at=NOW))
    found = [f for f in data_check.run(db).findings if f.kind == "coupon"]
    assert [f.detail for f in found] == ["C0001"]
    data_check.repair(db, owner)
    with read_session(db) as session:
        assert session.scalar(sa.select(Coupon.used_at).where(Coupon.code == "C0001")) is None
    assert data_check.run(db).sound


def test_a_damaged_file_is_reported_before_any_figure(db, shop, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(data_check, "_file_findings", lambda _db: [data_check.Finding("integrity", detail="page 7: btree")])
    report = data_check.run(db)
    assert [f.kind for f in report.findings] == ["integrity"] and not report.sound
