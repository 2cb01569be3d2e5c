"""The loyalty summary: its figures on a small shop worked out by hand, and the printed PDF."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from crmdesk.errors import InvalidInput
from crmdesk.models import ExpiryMode, Member, MemberStatus, OfferKind, PointsKind, Tier
from crmdesk.reports.base import ReportCancelled, ReportContext
from crmdesk.reports.loyalty_summary import render_loyalty_summary
from crmdesk.services import loyalty, members, offers, purchases
from crmdesk.services.loyalty_figures import (
    ExpiringPoints, LoyaltySummary, OfferUse, PointsMovement, TierLine, loyalty_summary,
)
from crmdesk.services.uow import read_session, unit_of_work
from tests.reports.pdf_tools import all_text, fonts, page_texts

CN = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=CN)  # today in the shop: 2026-11-18
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
CTX = ReportContext(store_name="好邻居超市", generated_by="王店长", generated_at=NOW)


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CN)


class Shop:
    """Drives the services as the counter would, each step at its own (shop-local) time."""

    def __init__(self, db, actor) -> None:  # type: ignore[no-untyped-def]
        self.db, self.actor = db, actor
        self.receipts = 0

    def member(self, name: str, phone: str) -> int:
        with unit_of_work(self.db) as session:
            return members.register(session, self.actor, members.MemberInput(name=name, phone=phone)).id

    def buy(self, member_id: int, fen: int, when: datetime) -> str:
        self.receipts += 1
        receipt = f"R{self.receipts}"
        with unit_of_work(self.db) as session:
            purchases.record_purchase(session, self.actor, member_id, receipt_no=receipt, till="01", amount_fen=fen,
                                      occurred_at=when, now=NOW)
        return receipt

    def refund(self, receipt: str, fen: int, when: datetime) -> None:
        with unit_of_work(self.db) as session:
            purchases.refund(session, self.actor, original_till="01", original_receipt=receipt, refund_receipt=f"{receipt}-RF",
                             amount_fen=fen, occurred_at=when, now=NOW)

    def redeem(self, member_id: int, points: int, when: datetime) -> None:
        with unit_of_work(self.db) as session:
            loyalty.redeem(session, self.actor, member_id, points, now=when)

    def adjust(self, member_id: int, points: int, when: datetime) -> None:
        with unit_of_work(self.db) as session:
            loyalty.adjust(session, self.actor, member_id, points, reason="核对积分", now=when)

    def expire(self, today: date) -> int:
        with unit_of_work(self.db) as session:
            return loyalty.expire(session, today)

    def use_offer(self, offer_id: int, member_id: int, when: datetime, **kwargs) -> None:  # type: ignore[no-untyped-def]
        with unit_of_work(self.db) as session:
            offers.apply(session, self.actor, offer_id, member_id, today=loyalty.local_day(when), now=when, **kwargs)


@pytest.fixture
def shop(db, owner):  # type: ignore[no-untyped-def]
    """A shop worked out by hand. Rules: points last 12 months; 50 points = ¥1 (1 point is worth 2 fen).

    A 张三   2025-09-20 buys ¥100   +100 (last day 2026-09-20)
             2025-12-10 buys ¥80    +80  (last day 2026-12-10)
             2026-10-02 00:00       -100 expired (run of 10-02)               October
             2026-10-10             -30 redeemed (from the 80)                October
             2026-10-12             满100减10 with a coupon: ¥10 off           October
                                    balance 50, all due 2026-12-10
    B 李四   2026-01-20 buys ¥300   +300 (last day 2027-01-20)
             2026-10-20             +25 adjusted by hand (no expiry)          October
             2026-10-25             50积分换1元: -50 redeemed, ¥1 off          October
             2026-10-31 23:59       buys ¥120  +120                          October (15:59 UTC)
             2026-11-01 00:00       buys ¥40   +40                           November (still 31 October in UTC)
                                    balance 435; moved to 金卡 at the end
    C 王五   2026-09-30 23:59       buys ¥50   +50                           September
             2026-10-01 00:00       buys ¥70   +70                           October (still 30 September in UTC)
             2026-10-15             refund ¥35 of it: -35                    October
             2026-11-01 00:00       满100减10 with a coupon                   November
                                    balance 85; frozen at the end (still owed)
    D 赵六   2026-10-05             buys ¥60   +60                           October
             2026-10-21             -10 taken away by hand                   October
                                    balance 50; closed at the end (not owed)
    """
    s = Shop(db, owner)
    with unit_of_work(db) as session:
        loyalty.set_rules(session, owner, loyalty.Rules(redeem_points_per_yuan=50, expiry_mode=ExpiryMode.ROLLING,
                                                        expiry_months=12))
        coupon_offer = offers.create_offer(session, owner, offers.OfferInput(
            name="满100减10", kind=OfferKind.AMOUNT_OFF, threshold_fen=10_000, reduction_fen=1_000, coupon_required=True,
            starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 31))).id
        coupons = offers.generate_coupons(session, owner, coupon_offer, 2)
        points_offer = offers.create_offer(session, owner, offers.OfferInput(
            name="50积分换1元", kind=OfferKind.AMOUNT_OFF, points_cost=50,
            starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 31))).id
    a, b, c, d = (s.member("张三", "13812345678"), s.member("李四", "13900000000"), s.member("王五", "13700000000"),
                  s.member("赵六", "13600000000"))
    s.buy(a, 10_000, at(2025, 9, 20))
    s.buy(a, 8_000, at(2025, 12, 10))
    s.buy(b, 30_000, at(2026, 1, 20))
    s.buy(c, 5_000, at(2026, 9, 30, 23, 59))
    c_receipt = s.buy(c, 7_000, at(2026, 10, 1, 0, 0))
    assert s.expire(date(2026, 10, 2)) == 100
    s.buy(d, 6_000, at(2026, 10, 5))
    s.redeem(a, 30, at(2026, 10, 10))
    s.use_offer(coupon_offer, a, at(2026, 10, 12), basket_fen=15_000, coupon_code=coupons[0])
    s.refund(c_receipt, 3_500, at(2026, 10, 15))
    s.adjust(b, 25, at(2026, 10, 20))
    s.adjust(d, -10, at(2026, 10, 21))
    s.use_offer(points_offer, b, at(2026, 10, 25), basket_fen=3_000)
    s.buy(b, 12_000, at(2026, 10, 31, 23, 59))
    s.buy(b, 4_000, at(2026, 11, 1, 0, 0))
    s.use_offer(coupon_offer, c, at(2026, 11, 1, 0, 0), basket_fen=12_000, coupon_code=coupons[1])
    with unit_of_work(db) as session:
        members.set_status(session, owner, c, MemberStatus.FROZEN, reason="出国")
        members.set_status(session, owner, d, MemberStatus.CLOSED, reason="搬家")
        gold = session.scalar(sa.select(Tier.id).where(Tier.name == "金卡"))
        session.execute(sa.update(Member).where(Member.id == b).values(tier_id=gold))
    return {"a": a, "b": b, "c": c, "d": d, "coupon_offer": coupon_offer, "points_offer": points_offer}


def summary(db, start: date, end: date) -> LoyaltySummary:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return loyalty_summary(session, start, end, now=NOW)


# --------------------------------------------------------------------------- figures


def test_members_by_tier_and_what_is_owed(db, shop) -> None:  # type: ignore[no-untyped-def]
    figures = summary(db, *OCTOBER)
    # 普通: A 50 and the frozen C 85; 金卡: B 435; the closed D's 50 are not owed.
    assert figures.tiers == (
        TierLine("普通", "#8c8c8c", 2, 135), TierLine("银卡", "#a8a9ad", 0, 0),
        TierLine("金卡", "#d4af37", 1, 435), TierLine("钻石", "#4fb3d9", 0, 0),
    )
    assert (figures.members, figures.members_with_points) == (3, 3)
    assert figures.points_outstanding == 570
    assert figures.closed_member_points == 50
    assert figures.redeem_points_per_yuan == 50
    assert figures.liability_fen == 1_140  # 570 points at 50 points = ¥1: ¥11.40


def test_points_movement_of_the_month(db, shop) -> None:  # type: ignore[no-untyped-def]
    figures = summary(db, *OCTOBER)
    assert figures.added == (
        PointsMovement(PointsKind.EARN, 250, 3),  # C 70 at 00:00 on the 1st, D 60, B 120 at 23:59 on the 31st
        PointsMovement(PointsKind.GOODWILL, 0, 0),
        PointsMovement(PointsKind.ADJUSTMENT, 25, 1),
    )
    assert figures.taken == (
        PointsMovement(PointsKind.REDEEM, -80, 2),  # A 30 at the counter, B 50 for an offer
        PointsMovement(PointsKind.EXPIRY, -100, 1),
        PointsMovement(PointsKind.REFUND_REVERSAL, -35, 1),
        PointsMovement(PointsKind.ADJUSTMENT, -10, 1),
    )
    assert (figures.added_total, figures.taken_total, figures.net_change) == (275, -225, 50)
    # Before October the members held 100 + 80 + 300 + 50 = 530; after it 40 more came in November: 620 in all.
    assert 530 + figures.net_change + 40 == figures.points_outstanding + figures.closed_member_points


def test_offer_redemptions_of_the_month(db, shop) -> None:  # type: ignore[no-untyped-def]
    figures = summary(db, *OCTOBER)
    assert figures.offers == (
        OfferUse(shop["points_offer"], "50积分换1元", 1, 100, 0, 50),
        OfferUse(shop["coupon_offer"], "满100减10", 1, 1_000, 1, 0),  # C's use at 00:00 on 1 November is not October's
    )
    assert (figures.offer_uses, figures.offer_discount_fen, figures.offer_coupons, figures.offer_points_spent) == (2, 1_100, 1, 50)


def test_days_are_shop_days_midnight_to_midnight(db, shop) -> None:  # type: ignore[no-untyped-def]
    def earned(day: date) -> int:
        return summary(db, day, day).added[0].points

    assert earned(date(2026, 9, 30)) == 50  # 23:59 local
    assert earned(date(2026, 10, 1)) == 70  # 00:00 local, 16:00 UTC the day before
    assert earned(date(2026, 10, 31)) == 120  # 23:59 local
    assert earned(date(2026, 11, 1)) == 40  # 00:00 local, still 31 October in UTC
    november_first = summary(db, date(2026, 11, 1), date(2026, 11, 1))
    assert [(o.name, o.uses) for o in november_first.offers] == [("满100减10", 1)]
    assert summary(db, date(2026, 10, 2), date(2026, 10, 2)).taken[1] == PointsMovement(PointsKind.EXPIRY, -100, 1)


def test_points_due_to_expire_are_counted_oldest_first(db, shop) -> None:  # type: ignore[no-untyped-def]
    figures = summary(db, *OCTOBER)
    # A: 180 earned by 2026-12-10, 130 taken (100 expired, 30 redeemed): 50 due within 30 days.
    # B: 300 due 2027-01-20 less the 50 redeemed: 250 more within 90 days. C (frozen): everything later. D closed.
    assert figures.expiring == (
        ExpiringPoints(30, date(2026, 12, 18), 50, 100),
        ExpiringPoints(90, date(2027, 2, 16), 300, 600),
    )
    # The same as walking each member's lots the way the counter spends them.
    with read_session(db) as session:
        for item in figures.expiring:
            walked = sum(lot.points for member in ("a", "b", "c")
                         for lot in loyalty.expiring_soon(session, shop[member], NOW.date(), item.days))
            assert walked == item.points


def test_a_points_value_follows_the_redemption_rule() -> None:
    assert loyalty.value_at_rate(570, 50) == 1_140
    assert loyalty.value_at_rate(570, 100) == 570
    assert loyalty.value_at_rate(1, 300) == 0  # a third of a fen: rounded down
    assert loyalty.value_at_rate(-35, 50) == -70


def test_a_range_that_ends_before_it_starts_is_refused(db, owner) -> None:  # type: ignore[no-untyped-def]
    with read_session(db) as session, pytest.raises(InvalidInput, match="ends") as caught:
        loyalty_summary(session, date(2026, 10, 31), date(2026, 10, 1), now=NOW)
    assert caught.value.field == "end"
    assert caught.value.template == "The period ends ({end}) before it starts ({start})."


# --------------------------------------------------------------------------- the printed report


def test_the_report_shows_headings_tiers_and_numbers(db, shop) -> None:  # type: ignore[no-untyped-def]
    pdf = render_loyalty_summary(summary(db, *OCTOBER), CTX)
    text = all_text(pdf)
    pages = page_texts(pdf)
    assert "Loyalty summary 2026-10-01 – 2026-10-31" in pages[0]
    for heading in ("Members by tier", "Points movement 2026-10-01 – 2026-10-31", "Points due to expire",
                    "Offer redemptions 2026-10-01 – 2026-10-31"):
        assert heading in text
    for name in ("普通", "银卡", "金卡", "钻石", "满100减10", "50积分换1元", "好邻居超市", "王店长"):
        assert name in text
    for figure in ("570", "¥11.40", "+50", "+250", "+25", "\u221280", "\u2212100", "\u221235", "\u221210", "+275",
                   "\u2212225", "2026-12-18", "¥11.00", "¥10.00", "¥1.00"):
        assert figure in text, figure
    assert "50 points = ¥1" in text
    assert "Closed members still hold 50 points" in text
    assert "No members yet" not in text and "No offers were used" not in text


def test_every_font_is_embedded(db, shop) -> None:  # type: ignore[no-untyped-def]
    found = fonts(render_loyalty_summary(summary(db, *OCTOBER), CTX))
    assert found and all(found.values()), found


def test_an_empty_period_prints_sentences_not_empty_tables(db, shop) -> None:  # type: ignore[no-untyped-def]
    figures = summary(db, date(2027, 3, 1), date(2027, 3, 31))
    assert not figures.has_movement and figures.offers == () and figures.net_change == 0
    text = all_text(render_loyalty_summary(figures, CTX))
    assert "No points were added or taken away in this period." in text
    assert "No offers were used in this period." in text
    assert "Earned on purchases" not in text and "Times used" not in text
    assert "金卡" in text  # who holds points now is still shown


def test_a_shop_without_members_prints_too(db, owner) -> None:  # type: ignore[no-untyped-def]
    figures = summary(db, date(2026, 11, 18), date(2026, 11, 18))
    assert (figures.members, figures.points_outstanding, figures.liability_fen) == (0, 0, 0)
    text = all_text(render_loyalty_summary(figures, CTX))
    assert "Loyalty summary 2026-11-18" in text
    assert "No members yet" in text
    assert "No points are due to expire by 2027-02-16." in text


def test_cancelling_stops_the_report(db, shop) -> None:  # type: ignore[no-untyped-def]
    figures = summary(db, *OCTOBER)
    with pytest.raises(ReportCancelled):
        render_loyalty_summary(figures, CTX, should_cancel=lambda: True)
    asked = []

    def cancel_during_layout() -> bool:
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(ReportCancelled):
        render_loyalty_summary(figures, CTX, should_cancel=cancel_during_layout)


def test_progress_is_reported(db, shop) -> None:  # type: ignore[no-untyped-def]
    steps: list[tuple[int, int]] = []
    render_loyalty_summary(summary(db, *OCTOBER), CTX, progress=lambda done, total: steps.append((done, total)))
    assert steps and steps[-1][0] >= steps[0][0]
