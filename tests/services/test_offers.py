"""Offers: each kind's arithmetic and eligibility reasons, windows, targets, limits, coupons."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from crmdesk.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crmdesk.models import AuditEvent, LoyaltyRules, Member, MemberStatus, Tier
from crmdesk.models.offer import Coupon, Offer, OfferKind, OfferRedemption, OfferTarget
from crmdesk.services import demo, loyalty, members, offers, purchases
from crmdesk.services.member_query import MemberFilter, save_filter
from crmdesk.services.offers import OfferInput, Reason
from crmdesk.services.purchases import LineInput
from crmdesk.services.uow import read_session, unit_of_work

CN = timezone(timedelta(hours=8))
TODAY = date(2026, 11, 18)  # a Wednesday
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=CN)


@pytest.fixture
def member_id(db, owner) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, owner, members.MemberInput(name="张三", phone="13812345678", birthday=date(1990, 11, 3),
                                                                    tags=("宝妈",))).id


@pytest.fixture
def other_id(db, owner) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, owner, members.MemberInput(name="李四", phone="13900000000", birthday=date(1985, 5, 1))).id


def set_rate(db, owner, points_per_yuan: int) -> None:  # type: ignore[no-untyped-def]
    """The points rules with ``points_per_yuan`` points = ¥1 (written afresh each time)."""
    with unit_of_work(db) as session:
        session.execute(sa.delete(LoyaltyRules))
        loyalty.set_rules(session, owner, loyalty.Rules(redeem_points_per_yuan=points_per_yuan))


def create(db, actor, **fields):  # type: ignore[no-untyped-def]
    fields.setdefault("name", "测试优惠")
    with unit_of_work(db) as session:
        return offers.create_offer(session, actor, OfferInput(**fields))


def use(db, actor, offer_id, member_id, **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("today", TODAY)
    with unit_of_work(db) as session:
        return offers.apply(session, actor, offer_id, member_id, **kwargs)


def status(db, member_id, offer_id, *, today=TODAY, basket_fen=None):  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        found = [s for s in offers.eligibility(session, member_id, today=today, basket_fen=basket_fen) if s.offer.id == offer_id]
    assert len(found) == 1
    return found[0]


# --------------------------------------------------------------------------- kinds and arithmetic


def test_spend_threshold_reduction_once_or_per_full_threshold(db, owner, member_id) -> None:
    once = create(db, owner, name="满100减10", kind=OfferKind.AMOUNT_OFF, threshold_fen=10_000, reduction_fen=1_000)
    each = create(db, owner, name="每满100减10", kind=OfferKind.AMOUNT_OFF, threshold_fen=10_000, reduction_fen=1_000,
                  repeat_threshold=True)
    assert status(db, member_id, once.id, basket_fen=9_999).reason is Reason.BELOW_THRESHOLD
    assert status(db, member_id, once.id, basket_fen=25_000).discount_fen == 1_000
    assert status(db, member_id, each.id, basket_fen=25_000).discount_fen == 2_000
    assert use(db, owner, once.id, member_id, basket_fen=10_000).discount_fen == 1_000  # exactly the threshold counts
    assert use(db, owner, each.id, member_id, basket_fen=39_999).discount_fen == 3_000
    with pytest.raises(InvalidInput, match="below"):
        use(db, owner, once.id, member_id, basket_fen=9_999)
    with pytest.raises(InvalidInput, match="basket amount"):
        use(db, owner, once.id, member_id)


def test_percent_discount_rounds_down_to_the_fen(db, owner, member_id) -> None:
    offer = create(db, owner, kind=OfferKind.PERCENT_OFF, percent_bp=1_250)  # 12.5 %
    assert use(db, owner, offer.id, member_id, basket_fen=1_999).discount_fen == 249  # 249.875 -> 249
    with pytest.raises(InvalidInput, match="0.01 % to 99.99 %"):
        create(db, owner, kind=OfferKind.PERCENT_OFF, percent_bp=10_000)


def test_birthday_month_gift_or_discount(db, owner, member_id, other_id) -> None:
    gift = create(db, owner, name="生日礼", kind=OfferKind.BIRTHDAY, gift="鸡蛋一盒")
    discount = create(db, owner, name="生日九折", kind=OfferKind.BIRTHDAY, percent_bp=1_000)
    assert status(db, member_id, gift.id).usable
    assert status(db, other_id, gift.id).reason is Reason.NOT_BIRTHDAY_MONTH
    assert status(db, member_id, gift.id, today=date(2026, 12, 1)).reason is Reason.NOT_BIRTHDAY_MONTH
    result = use(db, owner, gift.id, member_id)
    assert (result.discount_fen, result.gift) == (0, "鸡蛋一盒")
    assert use(db, owner, discount.id, member_id, basket_fen=5_005).discount_fen == 500
    with pytest.raises(InvalidInput, match="birthday month"):
        use(db, owner, gift.id, other_id)
    with pytest.raises(InvalidInput, match="gift, a discount"):
        create(db, owner, kind=OfferKind.BIRTHDAY)


def test_plain_gift(db, owner, member_id) -> None:
    offer = create(db, owner, kind=OfferKind.GIFT, gift="购物袋")
    assert use(db, owner, offer.id, member_id).gift == "购物袋"
    with pytest.raises(InvalidInput, match="Name the gift"):
        create(db, owner, kind=OfferKind.GIFT)


def test_buy_x_get_y_from_the_receipt_lines_or_a_unit_price(db, owner, member_id) -> None:
    offer = create(db, owner, name="牛奶买二送一", kind=OfferKind.BUY_X_GET_Y, buy_qty=2, get_qty=1, item_category="乳品")
    lines = (LineInput(name="牛奶", category="乳品", quantity_milli=7_000, unit_price_fen=500, amount_fen=3_500),
             LineInput(name="面包", category="烘焙", quantity_milli=1_000, unit_price_fen=800, amount_fen=800))
    with unit_of_work(db) as session:
        sale = purchases.record_purchase(session, owner, member_id, receipt_no="R1", till="01", amount_fen=4_300, lines=lines,
                                         occurred_at=NOW, now=NOW)
    result = use(db, owner, offer.id, member_id, purchase_id=sale.purchase_id)
    assert result.discount_fen == 1_000  # 7 units: two sets of 2+1, two free at ¥5
    assert use(db, owner, offer.id, member_id, unit_price_fen=650).discount_fen == 650
    with pytest.raises(InvalidInput, match="either the item code or the category"):
        create(db, owner, kind=OfferKind.BUY_X_GET_Y, buy_qty=2, get_qty=1)


def test_points_multiplier_days(db, owner, member_id) -> None:
    offer = create(db, owner, name="周三三倍积分", kind=OfferKind.POINTS_MULTIPLIER, multiplier_pct=300, weekdays=(2,),
                   starts_on=TODAY, ends_on=TODAY + timedelta(days=30))
    create(db, owner, name="天天1.5倍", kind=OfferKind.POINTS_MULTIPLIER, multiplier_pct=150)
    with read_session(db) as session:
        assert offers.points_multiplier_pct(session, member_id, TODAY) == 300  # the best one, not stacked
        assert offers.points_multiplier_pct(session, member_id, TODAY + timedelta(days=1)) == 150
        assert offers.points_multiplier_pct(session, member_id, TODAY - timedelta(days=7)) == 150  # before the window
    found = status(db, member_id, offer.id)
    assert found.usable and found.automatic
    assert status(db, member_id, offer.id, today=TODAY + timedelta(days=1)).reason is Reason.NOT_TODAY
    with pytest.raises(InvalidInput, match="by itself"):
        use(db, owner, offer.id, member_id)
    with pytest.raises(InvalidInput, match="no limits"):
        create(db, owner, kind=OfferKind.POINTS_MULTIPLIER, multiplier_pct=200, per_member_limit=1)


def test_points_cost_is_spent_from_the_ledger(db, owner, member_id) -> None:
    offer = create(db, owner, name="500积分换5元", kind=OfferKind.AMOUNT_OFF, points_cost=500)
    assert status(db, member_id, offer.id).reason is Reason.NOT_ENOUGH_POINTS
    with unit_of_work(db) as session:
        purchases.record_purchase(session, owner, member_id, receipt_no="R1", till="01", amount_fen=60_000, occurred_at=NOW, now=NOW)
    used = use(db, owner, offer.id, member_id, basket_fen=2_000)
    assert (used.points_spent, used.discount_fen) == (500, 500)  # 100 points = ¥1, the points rules' rate
    with read_session(db) as session:
        assert session.get(Member, member_id).points_balance == 100


def test_points_are_worth_the_same_everywhere_at_the_rules_rate(db, owner) -> None:
    assert loyalty.points_value_fen(loyalty.Rules(), 500) == 500
    assert loyalty.points_value_fen(loyalty.Rules(redeem_points_per_yuan=300), 7) == 2  # 2.33 fen: rounded down
    assert loyalty.points_value_fen(loyalty.Rules(redeem_points_per_yuan=300), 1) == 0
    assert loyalty.points_value_fen(loyalty.Rules(redeem_points_per_yuan=50), 0) == 0
    assert loyalty.points_value_fen(loyalty.Rules(redeem_points_per_yuan=50), -125) == -250
    # Money off for points has no amount of its own: it is what the points are worth, now.
    offer = create(db, owner, name="500积分换5元", kind=OfferKind.AMOUNT_OFF, points_cost=500)
    assert (offer.reduction_fen, offer.points_worth_fen, offer.paid_with_points) == (500, 500, True)
    assert offer.to_input().reduction_fen == 0
    with pytest.raises(InvalidInput, match=r"500 points are worth ¥5.00, not ¥10.00") as refused:
        create(db, owner, name="500积分换10元", kind=OfferKind.AMOUNT_OFF, reduction_fen=1_000, points_cost=500)
    assert refused.value.field == "reduction_fen"
    assert create(db, owner, name="same", kind=OfferKind.AMOUNT_OFF, reduction_fen=500, points_cost=500).reduction_fen == 500
    with pytest.raises(InvalidInput, match="once per use"):
        create(db, owner, kind=OfferKind.AMOUNT_OFF, points_cost=500, threshold_fen=2_000, repeat_threshold=True)
    with pytest.raises(InvalidInput, match="less than the spend"):
        create(db, owner, kind=OfferKind.AMOUNT_OFF, points_cost=500, threshold_fen=500)
    # The owner changes the rate: the offer follows it, as F7 does.
    set_rate(db, owner, 50)
    with read_session(db) as session:
        assert offers.get_offer(session, offer.id).reduction_fen == 1_000
    set_rate(db, owner, 300)
    with pytest.raises(InvalidInput, match="worth less than ¥0.01"):
        create(db, owner, kind=OfferKind.AMOUNT_OFF, points_cost=1)


def test_money_off_for_points_is_taken_at_the_rate_in_force_when_used(db, owner, member_id) -> None:
    offer = create(db, owner, name="500积分抵现", kind=OfferKind.AMOUNT_OFF, points_cost=500)
    with unit_of_work(db) as session:
        purchases.record_purchase(session, owner, member_id, receipt_no="R1", till="01", amount_fen=200_000, occurred_at=NOW,
                                  now=NOW)
    set_rate(db, owner, 50)
    assert status(db, member_id, offer.id, basket_fen=5_000).discount_fen == 1_000
    assert use(db, owner, offer.id, member_id, basket_fen=5_000).discount_fen == 1_000
    assert use(db, owner, offer.id, member_id, basket_fen=600).discount_fen == 600  # never more than the basket
    with read_session(db) as session:
        row = session.scalars(sa.select(OfferRedemption).order_by(OfferRedemption.id)).first()
        assert row.details["redeem_points_per_yuan"] == 50
    # A legacy row that carried its own amount is read at the rules' rate too.
    with unit_of_work(db) as session:
        session.execute(sa.update(Offer).where(Offer.id == offer.id).values(value=99_999))
    assert status(db, member_id, offer.id, basket_fen=5_000).discount_fen == 1_000


def test_offers_giving_something_else_for_points_stay_possible(db, owner, member_id) -> None:
    gift = create(db, owner, name="800积分换油", kind=OfferKind.GIFT, gift="花生油", points_cost=800)
    percent = create(db, owner, name="300积分享九折", kind=OfferKind.PERCENT_OFF, percent_bp=1_000, points_cost=300)
    two_for_one = create(db, owner, name="积分买一送一", kind=OfferKind.BUY_X_GET_Y, buy_qty=1, get_qty=1, item_code="6901",
                         points_cost=200)
    assert (gift.points_cost, percent.percent_bp, two_for_one.get_qty) == (800, 1_000, 1)
    assert not gift.paid_with_points and gift.points_worth_fen == 800


# --------------------------------------------------------------------------- window and target


def test_validity_window_includes_its_first_and_last_day(db, owner, member_id) -> None:
    offer = create(db, owner, kind=OfferKind.GIFT, gift="伞", starts_on=date(2026, 11, 1), ends_on=date(2026, 11, 30))
    assert status(db, member_id, offer.id, today=date(2026, 10, 31)).reason is Reason.NOT_STARTED
    assert status(db, member_id, offer.id, today=date(2026, 11, 1)).usable
    assert status(db, member_id, offer.id, today=date(2026, 11, 30)).usable
    late = status(db, member_id, offer.id, today=date(2026, 12, 1))
    assert late.reason is Reason.ENDED and "2026-11-30" in late.reason_text
    with pytest.raises(InvalidInput, match="Not yet started"):
        use(db, owner, offer.id, member_id, today=date(2026, 10, 31))
    with pytest.raises(InvalidInput, match="before it starts"):
        create(db, owner, kind=OfferKind.GIFT, gift="伞", starts_on=date(2026, 11, 2), ends_on=date(2026, 11, 1))


def test_targets_tiers_tags_and_saved_groups(db, owner, member_id, other_id) -> None:
    with read_session(db) as session:
        gold = session.scalar(sa.select(Tier.id).where(Tier.name == "金卡"))
        entry = session.scalar(sa.select(Tier.id).where(Tier.rank == 0))
    by_tier = create(db, owner, name="金卡专享", kind=OfferKind.GIFT, gift="油", target=OfferTarget.TIERS, tier_ids=(gold,))
    by_tag = create(db, owner, name="宝妈专享", kind=OfferKind.GIFT, gift="尿布", target=OfferTarget.TAGS, tags=("宝妈",))
    with unit_of_work(db) as session:
        group = save_filter(session, owner, "五月生日", MemberFilter(birth_month=5))
    by_group = create(db, owner, name="五月组", kind=OfferKind.GIFT, gift="花", target=OfferTarget.GROUP, group_id=group.id)
    missed = status(db, member_id, by_tier.id)
    assert missed.reason is Reason.NOT_IN_TIER and "金卡" in missed.reason_text
    assert status(db, member_id, by_tag.id).usable
    assert status(db, other_id, by_tag.id).reason is Reason.NOT_TAGGED
    assert status(db, other_id, by_group.id).usable
    assert status(db, member_id, by_group.id).reason is Reason.NOT_IN_GROUP
    with unit_of_work(db) as session:
        session.execute(sa.update(Member).where(Member.id == member_id).values(tier_id=gold))
    assert status(db, member_id, by_tier.id).usable
    with unit_of_work(db) as session:
        session.execute(sa.update(Member).where(Member.id == member_id).values(tier_id=entry))
    with pytest.raises(InvalidInput, match="Only for tiers"):
        use(db, owner, by_tier.id, member_id)
    with pytest.raises(InvalidInput, match="at least one tag"):
        create(db, owner, kind=OfferKind.GIFT, gift="x", target=OfferTarget.TAGS)


def _tiers(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return dict(session.execute(sa.select(Tier.name, Tier.id)).all())


def _set_tier(db, member_id: int, tier_id: int | None) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        session.execute(sa.update(Member).where(Member.id == member_id).values(tier_id=tier_id))


def _legacy_offer(db, **values) -> int:  # type: ignore[no-untyped-def]
    """An offer as older data has it: a minimum tier beside the target (the editor never wrote these)."""
    with unit_of_work(db) as session:
        row = Offer(name=values.pop("name", "金卡会员九五折"), kind=OfferKind.PERCENT_OFF, value=500, **values)
        session.add(row)
        session.flush()
        return row.id


def test_a_legacy_minimum_tier_is_one_of_the_tiers_the_list_the_editor_and_the_counter_agree_on(db, owner, member_id,
                                                                                               other_id) -> None:
    t = _tiers(db)
    offer_id = _legacy_offer(db, min_tier_id=t["金卡"], target=OfferTarget.EVERYONE)
    with read_session(db) as session:
        info = offers.get_offer(session, offer_id)
    # Shown as the counter checks it: for the tiers 金卡 and above, not "everyone".
    assert (info.target, info.tier_names, info.min_tier_id) == (OfferTarget.TIERS, ("金卡", "钻石"), t["金卡"])
    _set_tier(db, member_id, t["银卡"])
    _set_tier(db, other_id, t["钻石"])
    refused = status(db, member_id, offer_id)
    assert refused.reason is Reason.NOT_IN_TIER and refused.params == {"tiers": ("金卡", "钻石")}
    assert refused.reason_text == "Only for tiers: 金卡, 钻石."
    assert offers.fill(Reason.NOT_IN_TIER.value, refused.params, "、") == "Only for tiers: 金卡、钻石."
    assert status(db, other_id, offer_id).usable
    # Saving it as shown keeps its meaning and leaves one notion of tiers: the list.
    with unit_of_work(db) as session:
        saved = offers.update_offer(session, owner, offer_id, info.to_input())
        row = session.get(Offer, offer_id)
        assert (row.min_tier_id, sorted(row.target_tier_ids), row.target) == (None, sorted([t["金卡"], t["钻石"]]), OfferTarget.TIERS)
    assert (saved.target, saved.tier_names) == (OfferTarget.TIERS, ("金卡", "钻石"))
    assert status(db, member_id, offer_id).reason is Reason.NOT_IN_TIER and status(db, other_id, offer_id).usable


def test_a_legacy_minimum_tier_narrows_a_tier_list_and_combines_with_tags(db, owner, member_id) -> None:
    t = _tiers(db)
    both = _legacy_offer(db, name="交集", min_tier_id=t["金卡"], target=OfferTarget.TIERS, target_tier_ids=[t["银卡"], t["金卡"]])
    tagged = _legacy_offer(db, name="宝妈金卡", min_tier_id=t["金卡"], target=OfferTarget.TAGS, target_tags=["宝妈"])
    with read_session(db) as session:
        assert offers.get_offer(session, both).tier_names == ("金卡",)
        info = offers.get_offer(session, tagged)
    assert (info.target, info.tags, info.tier_names) == (OfferTarget.TAGS, ("宝妈",), ("金卡", "钻石"))
    _set_tier(db, member_id, t["银卡"])  # tagged 宝妈, but silver
    assert status(db, member_id, tagged).reason is Reason.NOT_IN_TIER
    assert status(db, member_id, both).params == {"tiers": ("金卡",)}
    _set_tier(db, member_id, t["金卡"])
    assert status(db, member_id, tagged).usable and status(db, member_id, both).usable
    with unit_of_work(db) as session:
        offers.update_offer(session, owner, tagged, info.to_input())
        assert session.get(Offer, tagged).min_tier_id is None
    assert status(db, member_id, tagged).usable
    _set_tier(db, member_id, None)  # no tier at all: not in any list of tiers
    assert status(db, member_id, tagged).reason is Reason.NOT_IN_TIER


def test_tiers_combine_with_tags_or_a_group(db, owner, member_id, other_id) -> None:
    t = _tiers(db)
    offer = create(db, owner, kind=OfferKind.GIFT, gift="油", target=OfferTarget.TAGS, tags=("宝妈",), tier_ids=(t["金卡"],))
    assert (offer.target, offer.tags, offer.tier_names) == (OfferTarget.TAGS, ("宝妈",), ("金卡",))
    assert status(db, member_id, offer.id).reason is Reason.NOT_IN_TIER
    _set_tier(db, member_id, t["金卡"])
    _set_tier(db, other_id, t["金卡"])
    assert status(db, member_id, offer.id).usable
    assert status(db, other_id, offer.id).reason is Reason.NOT_TAGGED
    assert status(db, other_id, offer.id).params == {"tags": ("宝妈",)}
    everyone_in = create(db, owner, kind=OfferKind.GIFT, gift="油", tier_ids=(t["金卡"],))
    assert everyone_in.target is OfferTarget.TIERS  # "everyone" in some tiers is the tiers target
    with pytest.raises(InvalidInput, match="no longer exists"):
        create(db, owner, kind=OfferKind.GIFT, gift="油", target=OfferTarget.TAGS, tags=("宝妈",), tier_ids=(9_999,))


def test_a_frozen_member_gets_the_status_as_a_reason(db, owner, member_id) -> None:
    offer = create(db, owner, kind=OfferKind.GIFT, gift="伞")
    with unit_of_work(db) as session:
        members.set_status(session, owner, member_id, MemberStatus.FROZEN, reason="出国")
    found = status(db, member_id, offer.id)
    assert found.reason is Reason.MEMBER_NOT_ACTIVE and found.params == {"status": "frozen"}


# --------------------------------------------------------------------------- what else points can buy


def test_points_offers_for_the_counter_f7_dialog(db, owner, member_id, other_id) -> None:
    t = _tiers(db)
    money = create(db, owner, name="500积分换5元", kind=OfferKind.AMOUNT_OFF, points_cost=500, per_member_limit=1)
    gift = create(db, owner, name="800积分换油", kind=OfferKind.GIFT, gift="花生油", points_cost=800)
    later = create(db, owner, name="下月积分换伞", kind=OfferKind.GIFT, gift="伞", points_cost=100, starts_on=TODAY + timedelta(days=10))
    minimum = create(db, owner, name="满50用积分", kind=OfferKind.PERCENT_OFF, percent_bp=1_000, points_cost=300, threshold_fen=5_000)
    create(db, owner, name="钻石积分礼", kind=OfferKind.GIFT, gift="茶叶", points_cost=100, tier_ids=(t["钻石"],))  # not for them
    create(db, owner, name="已结束", kind=OfferKind.GIFT, gift="x", points_cost=100, ends_on=TODAY - timedelta(days=1))
    create(db, owner, name="满100减10", kind=OfferKind.AMOUNT_OFF, threshold_fen=10_000, reduction_fen=1_000)  # costs no points
    off = create(db, owner, name="已停用", kind=OfferKind.GIFT, gift="x", points_cost=100)
    with unit_of_work(db) as session:
        offers.deactivate_offer(session, owner, off.id)
        purchases.record_purchase(session, owner, member_id, receipt_no="R1", till="01", amount_fen=70_000, occurred_at=NOW,
                                  now=NOW)

    with read_session(db) as session:
        hints = offers.points_offers_for(session, member_id, TODAY)
    assert [h.offer_id for h in hints] == [minimum.id, money.id, later.id, gift.id]  # usable first, then cheapest first
    first = {h.offer_id: h for h in hints}
    assert first[money.id].usable and (first[money.id].gives_fen, first[money.id].worth_fen) == (500, 500)
    assert first[money.id].summary == "¥5.00 off, for 500 points"
    assert first[minimum.id].usable and first[minimum.id].gives_fen is None  # no basket given: not checked
    assert first[later.id].reason is Reason.NOT_STARTED and "from 2026-11-28" in first[later.id].reason_text
    assert first[gift.id].reason is Reason.NOT_ENOUGH_POINTS and first[gift.id].params == {"cost": 800, "balance": 700}
    assert (first[gift.id].summary, first[gift.id].worth_fen, first[gift.id].gives_fen) == ("gift: 花生油, for 800 points", 800, None)
    assert first[gift.id].offer.gift == "花生油"

    with read_session(db) as session:
        small = {h.offer_id: h for h in offers.points_offers_for(session, member_id, TODAY, basket_fen=3_000)}
        assert not any(h.usable for h in offers.points_offers_for(session, other_id, TODAY))  # no points yet
        with pytest.raises(NotFound):
            offers.points_offers_for(session, 9_999, TODAY)
    assert small[minimum.id].reason is Reason.BELOW_THRESHOLD  # a basket of ¥30 is below the ¥50 it needs
    assert small[money.id].usable
    use(db, owner, money.id, member_id, basket_fen=3_000)
    with read_session(db) as session:
        after = {h.offer_id: h for h in offers.points_offers_for(session, member_id, TODAY)}
    assert after[money.id].reason is Reason.MEMBER_LIMIT


# --------------------------------------------------------------------------- the demo store


def test_the_demo_offers_agree_with_the_demo_rules(db) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        demo.fill_demo_store(session, members=40, seed=3, today=TODAY)
    with read_session(db) as session:
        rules = loyalty.get_rules(session)
        listed = {o.name: o for o in offers.list_offers(session)}
    for info in listed.values():
        if info.paid_with_points:
            assert info.reduction_fen == loyalty.points_value_fen(rules, info.points_cost)
    assert listed["500积分换5元"].reduction_fen == 500
    gold = listed["金卡会员九五折"]
    assert (gold.target, gold.tier_names) == (OfferTarget.TIERS, ("金卡", "钻石"))
    assert listed["周三双倍积分"].weekdays == (2,)


def test_usable_offers_are_listed_first_and_inactive_ones_not_at_all(db, owner, member_id) -> None:
    ended = create(db, owner, name="A 已结束", kind=OfferKind.GIFT, gift="x", ends_on=TODAY - timedelta(days=1))
    live = create(db, owner, name="B 进行中", kind=OfferKind.GIFT, gift="y")
    off = create(db, owner, name="C 已停用", kind=OfferKind.GIFT, gift="z")
    with unit_of_work(db) as session:
        offers.deactivate_offer(session, owner, off.id)
    with read_session(db) as session:
        listed = offers.eligibility(session, member_id, today=TODAY)
    assert [s.offer.id for s in listed] == [live.id, ended.id]
    with pytest.raises(InvalidInput, match="switched off"):
        use(db, owner, off.id, member_id)


# --------------------------------------------------------------------------- limits


def test_per_member_and_total_limits(db, owner, member_id, other_id) -> None:
    offer = create(db, owner, kind=OfferKind.GIFT, gift="鸡蛋", per_member_limit=1, total_limit=2)
    use(db, owner, offer.id, member_id)
    reached = status(db, member_id, offer.id)
    assert reached.reason is Reason.MEMBER_LIMIT and reached.params == {"used": 1, "limit": 1}
    with pytest.raises(InvalidInput, match="used 1 of 1"):
        use(db, owner, offer.id, member_id)
    use(db, owner, offer.id, other_id)
    with unit_of_work(db) as session:
        third = members.register(session, owner, members.MemberInput(name="王五", phone="13700000000")).id
    assert status(db, third, offer.id).reason is Reason.TOTAL_LIMIT
    with pytest.raises(InvalidInput, match="all 2 uses"):
        use(db, owner, offer.id, third)
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OfferRedemption)) == 2
        assert offers.get_offer(session, offer.id).used == 2


def test_two_tills_cannot_both_take_the_last_use(db, owner, member_id, other_id) -> None:
    offer = create(db, owner, kind=OfferKind.GIFT, gift="鸡蛋", total_limit=1)
    outcomes = _race(db, owner, [(offer.id, member_id, None), (offer.id, other_id, None)])
    assert sorted(outcomes) == ["ok", "refused"]


# --------------------------------------------------------------------------- coupons


def _race(db, actor, calls):  # type: ignore[no-untyped-def]
    inside = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def till(offer_id, member_id, code):  # type: ignore[no-untyped-def]
        inside.wait()
        try:
            use(db, actor, offer_id, member_id, basket_fen=5_000, coupon_code=code)
            outcomes.append("ok")
        except (InvalidInput, Conflict):
            outcomes.append("refused")

    threads = [threading.Thread(target=till, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_coupons_are_unguessable_and_used_once(db, owner, member_id, other_id) -> None:
    offer = create(db, owner, name="10元券", kind=OfferKind.AMOUNT_OFF, reduction_fen=1_000, coupon_required=True)
    assert status(db, member_id, offer.id).reason is Reason.COUPON_NEEDED
    with unit_of_work(db) as session:
        codes = offers.generate_coupons(session, owner, offer.id, 50)
    assert len(set(codes)) == 50
    assert all(len(c) == offers.COUPON_LENGTH and set(c) <= set(offers.COUPON_ALPHABET) for c in codes)
    found = status(db, member_id, offer.id)
    assert found.usable and found.needs_coupon
    with pytest.raises(InvalidInput, match="enter its code"):
        use(db, owner, offer.id, member_id, basket_fen=5_000)
    typed = offers.display_code(codes[0]).lower()  # "abcde-23456" as typed is the same code
    assert use(db, owner, offer.id, member_id, basket_fen=5_000, coupon_code=typed).coupon_code == codes[0]
    with pytest.raises(Conflict, match="already used"):
        use(db, owner, offer.id, other_id, basket_fen=5_000, coupon_code=codes[0])
    with pytest.raises(NotFound, match="check the code"):
        use(db, owner, offer.id, member_id, basket_fen=5_000, coupon_code="AAAAA-22222")
    with read_session(db) as session:
        row = session.scalar(sa.select(Coupon).where(Coupon.code == codes[0]))
        assert row.used_at is not None and row.used_by_redemption_id is not None


def test_the_same_coupon_at_two_tills_at_once_is_used_once(db, owner, member_id, other_id) -> None:
    offer = create(db, owner, kind=OfferKind.AMOUNT_OFF, reduction_fen=1_000, coupon_required=True)
    with unit_of_work(db) as session:
        [code] = offers.generate_coupons(session, owner, offer.id, 1)
    outcomes = _race(db, owner, [(offer.id, member_id, code), (offer.id, other_id, code)])
    assert sorted(outcomes) == ["ok", "refused"]
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OfferRedemption)) == 1


def test_a_bound_coupon_is_refused_for_another_member(db, owner, member_id, other_id) -> None:
    offer = create(db, owner, kind=OfferKind.PERCENT_OFF, percent_bp=2_000, coupon_required=True)
    with unit_of_work(db) as session:
        [code] = offers.generate_coupons(session, owner, offer.id, 1, member_id=member_id)
    assert status(db, member_id, offer.id).coupon_codes == (code,)
    assert status(db, other_id, offer.id).reason is Reason.COUPON_NEEDED
    with pytest.raises(InvalidInput, match="another member"):
        use(db, owner, offer.id, other_id, basket_fen=1_000, coupon_code=code)
    assert use(db, owner, offer.id, member_id, basket_fen=1_000, coupon_code=code).discount_fen == 200


def test_coupons_only_for_coupon_offers(db, owner, member_id) -> None:
    offer = create(db, owner, kind=OfferKind.GIFT, gift="x")
    with pytest.raises(InvalidInput, match="does not take coupons"), unit_of_work(db) as session:
        offers.generate_coupons(session, owner, offer.id, 5)
    with pytest.raises(InvalidInput, match="takes no coupon"):
        use(db, owner, offer.id, member_id, coupon_code="ABCDE23456")


# --------------------------------------------------------------------------- permissions and audit


def test_cashiers_apply_offers_but_may_not_define_them(db, owner, cashier, supervisor, member_id) -> None:
    with pytest.raises(PermissionDenied, match="may not create or change offers"):
        create(db, cashier, kind=OfferKind.GIFT, gift="x")
    offer = create(db, supervisor, kind=OfferKind.GIFT, gift="x", coupon_required=True)
    for call in (
        lambda s: offers.update_offer(s, cashier, offer.id, offer.to_input()),
        lambda s: offers.deactivate_offer(s, cashier, offer.id),
        lambda s: offers.generate_coupons(s, cashier, offer.id, 3),
    ):
        with pytest.raises(PermissionDenied), unit_of_work(db) as session:
            call(session)
    with unit_of_work(db) as session:
        [code] = offers.generate_coupons(session, supervisor, offer.id, 1)
    assert use(db, cashier, offer.id, member_id, coupon_code=code).gift == "x"
    with read_session(db) as session:
        actions = list(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "offer").order_by(AuditEvent.id)))
    assert actions == ["offer.add", "offer.coupons", "offer.apply"]


def test_update_keeps_history_and_validates(db, owner, member_id) -> None:
    offer = create(db, owner, kind=OfferKind.AMOUNT_OFF, threshold_fen=10_000, reduction_fen=1_000)
    use(db, owner, offer.id, member_id, basket_fen=10_000)
    with unit_of_work(db) as session:
        changed = offers.update_offer(session, owner, offer.id, OfferInput(name="满200减30", kind=OfferKind.AMOUNT_OFF,
                                                                           threshold_fen=20_000, reduction_fen=3_000))
    assert (changed.name, changed.threshold_fen, changed.reduction_fen, changed.used) == ("满200减30", 20_000, 3_000, 1)
    with read_session(db) as session:
        assert offers.redemptions(session, offer_id=offer.id)[0].discount_fen == 1_000
    with pytest.raises(InvalidInput, match="less than the spend"), unit_of_work(db) as session:
        offers.update_offer(session, owner, offer.id, OfferInput(name="x", kind=OfferKind.AMOUNT_OFF, threshold_fen=1_000,
                                                                 reduction_fen=1_000))
