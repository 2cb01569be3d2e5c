"""Purchases, points, expiry and tiers: every figure explainable from the ledger."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from crmdesk.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crmdesk.models import ExpiryMode, Member, PointsEntry, PointsKind, Tier
from crmdesk.services import loyalty, members, purchases
from crmdesk.services.purchases import LineInput
from crmdesk.services.uow import read_session, unit_of_work

CN = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=CN)  # a Wednesday


@pytest.fixture
def member_id(db, owner) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, owner, members.MemberInput(name="张三", phone="13812345678")).id


def buy(db, actor, member_id, receipt, amount_fen, *, till="01", at=NOW, lines=()):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return purchases.record_purchase(session, actor, member_id, receipt_no=receipt, till=till, amount_fen=amount_fen,
                                         occurred_at=at, lines=lines, now=NOW + timedelta(hours=1))


def ledger(db, member_id):  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        entries = session.execute(sa.select(PointsEntry.kind, PointsEntry.points).where(PointsEntry.member_id == member_id).order_by(PointsEntry.id)).all()
        balance = session.get(Member, member_id).points_balance
    assert balance == sum(points for _kind, points in entries)  # the cache always equals the ledger
    return entries, balance


def test_one_point_per_full_yuan_rounded_down(db, owner, member_id) -> None:
    result = buy(db, owner, member_id, "R1", 12_399)  # ¥123.99
    assert (result.points, result.balance) == (123, 123)
    assert ledger(db, member_id)[0] == [(PointsKind.EARN, 123)]


def test_categories_tier_and_bonus_days_multiply_then_round_once(db, owner, member_id) -> None:
    with unit_of_work(db) as session:
        loyalty.set_rules(session, owner, loyalty.Rules(category_multipliers=(("烟酒", 0), ("生鲜", 200)), bonus_weekdays=(2,)))
    lines = (LineInput(name="香烟", category="烟酒", amount_fen=5_000), LineInput(name="排骨", category="生鲜", amount_fen=3_050),
             LineInput(name="牛奶", category="乳制品", amount_fen=1_999))
    # Wednesday is a double-points day: (0 + 30.50 x 2 + 19.99) x 2 = 161.98 -> 161
    result = buy(db, owner, member_id, "R2", 10_049, lines=lines)
    assert result.points == 161
    thursday = NOW - timedelta(days=6)
    assert buy(db, owner, member_id, "R3", 10_049, lines=lines, at=thursday).points == 80


def test_the_same_receipt_twice_changes_nothing_and_says_so(db, owner, member_id) -> None:
    first = buy(db, owner, member_id, "R1", 5_000)
    again = buy(db, owner, member_id, "R1", 5_000)
    assert again.already_recorded and again.purchase_id == first.purchase_id and again.balance == 50
    assert buy(db, owner, member_id, "R1", 5_000, till="02").purchase_id != first.purchase_id  # another till
    with pytest.raises(Conflict, match="other details"):
        buy(db, owner, member_id, "R1", 6_000)
    assert ledger(db, member_id)[1] == 100


@pytest.mark.parametrize(("amount", "message"), [(0, "more than"), (-500, "more than"), (20_000_000, "not plausible")])
def test_absurd_amounts_are_refused(db, owner, member_id, amount, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        buy(db, owner, member_id, "R9", amount)
    assert ledger(db, member_id) == ([], 0)


def test_future_times_and_wrong_lines_are_refused(db, owner, member_id) -> None:
    with unit_of_work(db) as session, pytest.raises(InvalidInput, match="future"):
        purchases.record_purchase(session, owner, member_id, receipt_no="F", till="01", amount_fen=100,
                                  occurred_at=NOW + timedelta(hours=1), now=NOW)
    with pytest.raises(InvalidInput, match="add up to"):
        buy(db, owner, member_id, "L", 1_000, lines=(LineInput(name="x", amount_fen=900),))
    with pytest.raises(InvalidInput, match="quantity"):
        buy(db, owner, member_id, "L", 1_000, lines=(LineInput(name="x", amount_fen=1_000, quantity_milli=0),))
    assert ledger(db, member_id) == ([], 0)


def test_money_text_is_parsed_exactly() -> None:
    assert purchases.parse_yuan("123.45") == 12_345
    assert purchases.parse_yuan("¥1,000") == 100_000
    with pytest.raises(InvalidInput, match="two decimals"):
        purchases.parse_yuan("1.005")
    with pytest.raises(InvalidInput, match="not an amount"):
        purchases.parse_yuan("十块")


def test_closed_or_unknown_member_cannot_buy(db, owner, member_id) -> None:
    with unit_of_work(db) as session:
        members.set_status(session, owner, member_id, members.MemberStatus.CLOSED, reason="moved away")
    with pytest.raises(InvalidInput, match="closed"):
        buy(db, owner, member_id, "R1", 1_000)
    with pytest.raises(NotFound):
        buy(db, owner, 999, "R1", 1_000)


def test_refunds_reverse_points_in_proportion_and_never_exceed_the_sale(db, owner, member_id) -> None:
    buy(db, owner, member_id, "R1", 10_000)  # 100 points
    def give_back(receipt, amount):  # type: ignore[no-untyped-def]
        with unit_of_work(db) as session:
            return purchases.refund(session, owner, original_till="01", original_receipt="R1", refund_receipt=receipt,
                                    amount_fen=amount, occurred_at=NOW + timedelta(days=1), now=NOW + timedelta(days=2))
    assert give_back("RF1", 3_333).points == -33
    assert give_back("RF2", 3_333).points == -33  # cumulative: 66 of 100 after 66.66 %
    assert give_back("RF2", 3_333).already_recorded
    with pytest.raises(InvalidInput, match="Only ¥33.34"):
        give_back("RF3", 3_335)
    assert give_back("RF3", 3_334).points == -34  # all 100 back, never more
    assert ledger(db, member_id)[1] == 0
    with read_session(db) as session:
        assert session.get(Member, member_id).total_spend_fen == 0
    with unit_of_work(db) as session, pytest.raises(NotFound):
        purchases.refund(session, owner, original_till="01", original_receipt="NOPE", refund_receipt="X", amount_fen=1, now=NOW)


def test_a_refund_after_the_points_were_spent_takes_back_only_what_is_left(db, owner, member_id) -> None:
    buy(db, owner, member_id, "R1", 10_000)
    with unit_of_work(db) as session:
        loyalty.redeem(session, owner, member_id, 80)
    with unit_of_work(db) as session:
        result = purchases.refund(session, owner, original_till="01", original_receipt="R1", refund_receipt="RF",
                                  amount_fen=10_000, now=NOW + timedelta(days=1))
    assert (result.points, result.balance) == (-20, 0)


def test_redemption_beyond_the_balance_is_refused(db, owner, member_id) -> None:
    buy(db, owner, member_id, "R1", 10_000)
    with pytest.raises(InvalidInput, match="has 100 points; 101 cannot"):
        with unit_of_work(db) as session:
            loyalty.redeem(session, owner, member_id, 101)
    assert ledger(db, member_id)[1] == 100


def test_two_tills_redeeming_at_once_cannot_overspend(db, owner, member_id) -> None:
    buy(db, owner, member_id, "R1", 10_000)  # 100 points; each till tries to spend 70
    inside = threading.Barrier(2)
    outcomes: list[str] = []

    def till() -> None:
        inside.wait()
        try:
            with unit_of_work(db) as session:
                loyalty.redeem(session, owner, member_id, 70)
            outcomes.append("ok")
        except InvalidInput:
            outcomes.append("refused")

    threads = [threading.Thread(target=till) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused"]
    assert ledger(db, member_id)[1] == 30


def test_manual_adjustments_need_a_supervisor_and_a_reason(db, owner, cashier, supervisor, member_id) -> None:
    with pytest.raises(PermissionDenied):
        with unit_of_work(db) as session:
            loyalty.adjust(session, cashier, member_id, 50, reason="birthday")
    with pytest.raises(InvalidInput, match="reason"):
        with unit_of_work(db) as session:
            loyalty.adjust(session, supervisor, member_id, 50, reason="  ")
    with unit_of_work(db) as session:
        assert loyalty.adjust(session, supervisor, member_id, 50, reason="生日礼") == 50
    with pytest.raises(InvalidInput, match="negative"):
        with unit_of_work(db) as session:
            loyalty.adjust(session, supervisor, member_id, -51, reason="mistake")
    assert ledger(db, member_id) == ([(PointsKind.ADJUSTMENT, 50)], 50)


def test_calendar_expiry_at_the_boundary(db, owner, member_id) -> None:
    rules = loyalty.Rules()
    assert rules.expires_on(date(2025, 1, 1)) == date(2026, 12, 31)
    assert rules.expires_on(date(2025, 12, 31)) == date(2026, 12, 31)
    buy(db, owner, member_id, "OLD", 10_000, at=datetime(2025, 3, 1, 12, tzinfo=CN))  # expires 2026-12-31
    buy(db, owner, member_id, "NEW", 5_000, at=datetime(2026, 2, 1, 12, tzinfo=CN))  # expires 2027-12-31
    with unit_of_work(db) as session:
        loyalty.redeem(session, owner, member_id, 30)  # spends the oldest first
    with unit_of_work(db) as session:
        assert loyalty.expire(session, date(2026, 12, 31)) == 0  # the last day still counts
        assert [(lot.expires_on, lot.points) for lot in loyalty.expiring_soon(session, member_id, date(2026, 12, 1))] == [(date(2026, 12, 31), 70)]
    with unit_of_work(db) as session:
        assert loyalty.expire(session, date(2027, 1, 1)) == 70
    with unit_of_work(db) as session:
        assert loyalty.expire(session, date(2027, 1, 1)) == 0  # idempotent
    entries, balance = ledger(db, member_id)
    assert balance == 50 and entries[-1] == (PointsKind.EXPIRY, -70)


def test_rolling_expiry_counts_months() -> None:
    rules = loyalty.Rules(expiry_mode=ExpiryMode.ROLLING, expiry_months=6)
    assert rules.expires_on(date(2026, 1, 15)) == date(2026, 7, 15)
    assert rules.expires_on(date(2026, 8, 31)) == date(2027, 2, 28)  # no 31 February


def test_tiers_rise_at_once_and_fall_only_at_the_review(db, owner, member_id) -> None:
    result = buy(db, owner, member_id, "BIG", 250_000)  # ¥2,500 crosses silver (¥2,000)
    assert result.new_tier == "银卡"
    with unit_of_work(db) as session:
        purchases.refund(session, owner, original_till="01", original_receipt="BIG", refund_receipt="RF",
                         amount_fen=100_000, now=NOW + timedelta(days=1))
    with read_session(db) as session:
        assert session.get(Tier, session.get(Member, member_id).tier_id).name == "银卡"  # a refund never lowers it
        assert loyalty.spend_12_months(session, member_id, NOW + timedelta(days=1)) == 150_000
    with unit_of_work(db) as session:
        assert loyalty.review_tiers(session, owner, NOW + timedelta(days=30)) == {"up": 0, "down": 1}
    with read_session(db) as session:
        assert session.get(Tier, session.get(Member, member_id).tier_id).name == "普通"


def test_gold_members_earn_their_multiplier(db, owner, member_id) -> None:
    buy(db, owner, member_id, "BIG", 900_000)  # ¥9,000 → gold (x1.5) from the next receipt
    assert buy(db, owner, member_id, "NEXT", 10_000).points == 150


def test_history_pages_newest_first_with_totals(db, owner, member_id) -> None:
    for day in range(5):
        buy(db, owner, member_id, f"R{day}", 1_000 * (day + 1), at=NOW - timedelta(days=day))
    with read_session(db) as session:
        page = purchases.history_page(session, member_id, limit=2)
        rest = purchases.history_page(session, member_id, offset=2, limit=10)
        summary = purchases.totals(session, member_id)
    assert [row.receipt_no for row in page] == ["R0", "R1"] and [row.receipt_no for row in rest] == ["R2", "R3", "R4"]
    assert (summary.visits, summary.spend_fen, summary.average_basket_fen) == (5, 15_000, 3_000)
    assert summary.last_visit == NOW.astimezone(timezone.utc)


def test_a_points_multiplier_offer_multiplies_once_more(db, owner, member_id) -> None:
    from crmdesk.services import offers

    with unit_of_work(db) as session:
        spec = offers.OfferInput(name="会员日三倍积分", kind=offers.OfferKind.POINTS_MULTIPLIER, multiplier_pct=300,
                                 starts_on=NOW.date() - timedelta(days=1))
        offers.create_offer(session, owner, spec)
    assert buy(db, owner, member_id, "R1", 10_099).points == 302  # ¥100.99 x 3 = 302.97, rounded down once
