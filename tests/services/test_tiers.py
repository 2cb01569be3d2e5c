"""Editing tiers: validation, renames and reorders, deleting tiers in use, permissions, audit."""

from __future__ import annotations

from dataclasses import replace
import pytest
import sqlalchemy as sa

from crmdesk.errors import Conflict, InvalidInput, PermissionDenied
from crmdesk.models import AuditEvent, Member, Offer, OfferKind, Tier
from crmdesk.services import members, purchases, tiers
from crmdesk.services.tiers import TierInUse, TierSpec
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures


def current(db) -> list[TierSpec]:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return tiers.list_tiers(session)


def save(db, actor, specs, **kwargs):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return tiers.save_tiers(session, actor, specs, **kwargs)


def test_the_default_tiers_are_listed_lowest_first(db, owner) -> None:  # type: ignore[no-untyped-def]
    listed = current(db)
    assert [(t.name, t.min_spend_fen, t.points_multiplier_pct, t.discount_bp) for t in listed] == [
        ("普通", 0, 100, 0), ("银卡", 200_000, 100, 0), ("金卡", 800_000, 150, 200), ("钻石", 2_000_000, 200, 500)]


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: [replace(t[0], min_spend_fen=100)] + t[1:], "threshold must be ¥0"),
    (lambda t: [t[0], replace(t[1], min_spend_fen=0)] + t[2:], "must need more 12-month spend"),
    (lambda t: [t[0], t[2], t[1], t[3]], "must need more 12-month spend"),
    (lambda t: [t[0], replace(t[1], name=" 普通 ")] + t[2:], "Two tiers are called '普通'"),
    (lambda t: [t[0], replace(t[1], name="  ")] + t[2:], "Tier 2 needs a name"),
    (lambda t: t[:3] + [replace(t[3], points_multiplier_pct=1001)], "from 0 % to 1000 %"),
    (lambda t: t[:3] + [replace(t[3], discount_bp=10_001)], "from 0 % to 100 %"),
    (lambda t: t[:3] + [replace(t[3], colour="blue")], "not a colour"),
    (lambda t: [], "at least one tier"),
])
def test_invalid_tier_lists_are_refused_and_change_nothing(db, owner, change, message) -> None:  # type: ignore[no-untyped-def]
    before = current(db)
    with pytest.raises(InvalidInput, match=message):
        save(db, owner, change(before))
    assert current(db) == before


def test_only_the_owner_may_edit_tiers(db, supervisor) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied, match="may not change the points rules or tiers"):
        save(db, supervisor, current(db))


def test_renames_new_tiers_and_benefits_are_saved_and_audited(db, owner) -> None:  # type: ignore[no-untyped-def]
    t = current(db)
    # Swap two names (unique constraint), add a tier on top, change benefits.
    specs = [t[0], replace(t[1], name="金卡"), replace(t[2], name="银卡", discount_bp=250), t[3],
             TierSpec(None, "黑卡", 5_000_000, 300, 800, "#000000")]
    saved = save(db, owner, specs)
    assert [(s.name, s.discount_bp) for s in saved] == [("普通", 0), ("金卡", 0), ("银卡", 250), ("钻石", 500), ("黑卡", 800)]
    assert saved[1].id == t[1].id and saved[4].id is not None
    with read_session(db) as session:
        assert session.scalars(sa.select(Tier.rank).order_by(Tier.rank)).all() == [0, 1, 2, 3, 4]
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "tiers.save")).one()
        assert event.staff_name == owner.name and len(event.details["tiers"]) == 5


def test_a_tier_in_use_is_only_deleted_when_its_members_move_down(db, owner, cashier) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member_id = members.register(session, cashier, members.MemberInput(name="张三", phone="13800138000")).id
        result = purchases.record_purchase(session, cashier, member_id, receipt_no="R1", till="01", amount_fen=900_000)
        assert result.new_tier == "金卡"
    t = current(db)
    assert t[2].member_count == 1
    without_gold = [t[0], t[1], t[3]]
    with pytest.raises(TierInUse, match="1 members are in the tier '金卡'. Deleting it moves them down to '银卡'"):
        save(db, owner, without_gold)
    saved = save(db, owner, without_gold, move_members_down=True)
    assert [s.name for s in saved] == ["普通", "银卡", "钻石"] and saved[1].member_count == 1
    with read_session(db) as session:
        assert session.get(Member, member_id).tier_id == t[1].id
    # An unused tier goes without asking.
    assert [s.name for s in save(db, owner, [saved[0], saved[1]])] == ["普通", "银卡"]


def test_deleting_the_entry_tier_moves_its_members_to_the_new_entry_tier(db, owner, cashier) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member_id = members.register(session, cashier, members.MemberInput(name="张三", phone="13800138000")).id
    t = current(db)
    specs = [replace(t[1], min_spend_fen=0), t[2], t[3]]
    saved = save(db, owner, specs, move_members_down=True)
    with read_session(db) as session:
        assert session.get(Member, member_id).tier_id == saved[0].id == t[1].id


def test_a_tier_an_offer_needs_cannot_be_deleted(db, owner) -> None:  # type: ignore[no-untyped-def]
    t = current(db)
    with unit_of_work(db) as session:
        session.add(Offer(name="钻石95折", kind=OfferKind.PERCENT_OFF, value=500, min_tier_id=t[3].id))
    with pytest.raises(Conflict, match="Offers are limited to the tier '钻石'"):
        save(db, owner, t[:3], move_members_down=True)
    assert [s.name for s in current(db)] == ["普通", "银卡", "金卡", "钻石"]


def test_parse_percent() -> None:
    assert tiers.parse_percent("2.5", field="d") == 250
    assert tiers.parse_percent("5%", field="d") == 500
    assert tiers.parse_percent("", field="d") == 0
    for bad in ("-1", "1.234", "abc"):
        with pytest.raises(InvalidInput):
            tiers.parse_percent(bad, field="d")
