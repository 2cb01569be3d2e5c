"""Customer insight: every figure pinned on hand-computed data (services.insight_rules states the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from crmdesk import shop_time
from crmdesk.db import Database
from crmdesk.errors import InvalidInput
from crmdesk.models import InsightCount, MemberInsight, ShopDay
from crmdesk.services import insight, insight_figures, member_query, members, purchases
from crmdesk.services.insight_rules import segment_for
from crmdesk.services.member_query import MemberFilter
from crmdesk.services.uow import Actor, read_session, unit_of_work

AS_OF = date(2026, 6, 30)
NOW = datetime.combine(AS_OF, time(20, 0), tzinfo=shop_time.SHOP_ZONE)


def at(days_before: int, hour: int = 10) -> datetime:
    """A moment on the shop's day ``days_before`` AS_OF."""
    return datetime.combine(AS_OF - timedelta(days=days_before), time(hour), tzinfo=shop_time.SHOP_ZONE)


def member(db: Database, owner: Actor, name: str, joined_days_before: int = 800) -> int:
    with unit_of_work(db) as session:
        return members.register(session, owner, members.MemberInput(
            name=name, joined_on=AS_OF - timedelta(days=joined_days_before))).id


def buy(db: Database, owner: Actor, member_id: int, days_before: Sequence[int], amount_fen: int = 1_000) -> list[str]:
    receipts = []
    with unit_of_work(db) as session:
        for n, days in enumerate(days_before):
            receipt = f"M{member_id}-{days}-{n}"
            purchases.record_purchase(session, owner, member_id, receipt_no=receipt, till="01", amount_fen=amount_fen,
                                      occurred_at=at(days), now=NOW)
            receipts.append(receipt)
    return receipts


def figures(db: Database, member_id: int) -> MemberInsight:
    with read_session(db) as session:
        row = session.get(MemberInsight, member_id)
        assert row is not None
        session.expunge(row)
        return row


def test_a_store_with_no_purchases_refreshes_to_empty_figures(db: Database, owner: Actor) -> None:
    member(db, owner, "张三")
    result = insight.refresh(db, owner, as_of=AS_OF)
    assert (result.members, result.purchases, result.model_note) == (0, 0, "few_members")
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(MemberInsight)) == 0
        assert [g.members for g in insight_figures.counts(session, "segment")] == [0] * 8
        board = insight_figures.dashboard(session, owner, AS_OF - timedelta(days=6), AS_OF, "day")
    assert board.totals is not None and board.totals.sales_fen == 0 and board.totals.average_basket_fen == 0
    assert [p.start for p in board.periods] == [AS_OF - timedelta(days=d) for d in range(6, -1, -1)]


def test_frequency_scores_by_quintile_with_ties_at_the_edges(db: Database, owner: Actor) -> None:
    # Shopping days 1,1,1,1,2,2,3,4,5,6: cuts at positions 2,4,6,8 are 1,1,2,4, so 1 -> 1, 2 -> 3, 3 and 4 -> 4, 5+ -> 5.
    counts = [1, 1, 1, 1, 2, 2, 3, 4, 5, 6]
    ids = [member(db, owner, f"会员{i}") for i in range(len(counts))]
    for member_id, n in zip(ids, counts, strict=True):
        buy(db, owner, member_id, [40 + 7 * k for k in range(n)])
    insight.refresh(db, owner, as_of=AS_OF)
    scores = [figures(db, member_id).f_score for member_id in ids]
    assert scores == [1, 1, 1, 1, 3, 3, 4, 4, 5, 5]
    assert [figures(db, member_id).frequency for member_id in ids] == counts


def test_recency_scores_five_for_the_most_recent_and_equal_days_score_alike(db: Database, owner: Actor) -> None:
    recencies = [0, 0, 10, 20, 30, 40, 50, 60, 70, 80]  # cuts at positions 2,4,6,8: 0, 20, 40, 60
    ids = [member(db, owner, f"会员{i}") for i in range(len(recencies))]
    for member_id, days in zip(ids, recencies, strict=True):
        buy(db, owner, member_id, [days])
    insight.refresh(db, owner, as_of=AS_OF)
    rows = [figures(db, member_id) for member_id in ids]
    assert [r.recency_days for r in rows] == recencies
    assert [r.r_score for r in rows] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_refunds_come_off_spend_and_are_not_shopping_days(db: Database, owner: Actor) -> None:
    member_id = member(db, owner, "李四")
    (receipt,) = buy(db, owner, member_id, [20], amount_fen=10_000)
    with unit_of_work(db) as session:
        purchases.refund(session, owner, original_till="01", original_receipt=receipt, refund_receipt="R1",
                         amount_fen=2_500, occurred_at=at(10), now=NOW)
    insight.refresh(db, owner, as_of=AS_OF)
    row = figures(db, member_id)
    assert (row.monetary_fen, row.frequency, row.shopping_days, row.recency_days) == (7_500, 1, 1, 20)
    with read_session(db) as session:
        days = {d.day: (d.sales_fen, d.refunds_fen, d.visits) for d in session.scalars(sa.select(ShopDay))}
    assert days[AS_OF - timedelta(days=20)] == (10_000, 0, 1)
    assert days[AS_OF - timedelta(days=10)] == (0, 2_500, 0)


def test_spend_outside_the_window_is_not_counted(db: Database, owner: Actor) -> None:
    member_id = member(db, owner, "王五")
    buy(db, owner, member_id, [400], amount_fen=50_000)  # 13 months ago
    buy(db, owner, member_id, [100], amount_fen=2_000)
    insight.refresh(db, owner, as_of=AS_OF)
    row = figures(db, member_id)
    assert (row.monetary_fen, row.frequency, row.shopping_days) == (2_000, 1, 2)
    with unit_of_work(db) as session:
        insight.set_window(session, owner, 24)
    insight.refresh(db, owner, as_of=AS_OF)
    assert figures(db, member_id).monetary_fen == 52_000
    with unit_of_work(db) as session, pytest.raises(InvalidInput):
        insight.set_window(session, owner, 0)


def test_abc_classes_split_spend_at_80_and_95_percent(db: Database, owner: Actor) -> None:
    spends = [50_000, 30_000, 10_000, 5_000, 5_000]  # before each: 0, 500, 800, 900, 950 of 1000
    ids = [member(db, owner, f"会员{i}") for i in range(len(spends))]
    for member_id, spend in zip(ids, spends, strict=True):
        buy(db, owner, member_id, [5], amount_fen=spend)
    insight.refresh(db, owner, as_of=AS_OF)
    assert [figures(db, member_id).abc_class for member_id in ids] == ["A", "A", "B", "B", "C"]
    with read_session(db) as session:
        abc = {g.key: g for g in insight_figures.counts(session, "abc")}
    assert (abc["A"].members, abc["A"].spend_fen, abc["A"].spend_share, abc["A"].member_share) == (2, 80_000, 0.8, 0.4)
    assert (abc["C"].members, abc["C"].spend_share) == (1, 0.05)


def test_a_member_who_spent_nothing_in_the_window_has_no_abc_class(db: Database, owner: Actor) -> None:
    member_id = member(db, owner, "赵六")
    buy(db, owner, member_id, [500])
    insight.refresh(db, owner, as_of=AS_OF)
    row = figures(db, member_id)
    assert (row.abc_class, row.frequency, row.monetary_fen, row.stage) == (None, 0, 0, "lost")


def test_stages_follow_each_members_own_rhythm(db: Database, owner: Actor) -> None:
    daily = member(db, owner, "天天来")
    buy(db, owner, daily, [10 + k for k in range(30)])  # every day for a month, then 10 days away
    monthly = member(db, owner, "月月来")
    buy(db, owner, monthly, [10 + 30 * k for k in range(8)])  # every 30 days, last 10 days ago
    newcomer = member(db, owner, "新来的", joined_days_before=20)
    buy(db, owner, newcomer, [15])
    gone = member(db, owner, "走了的")
    buy(db, owner, gone, [400, 407, 414])
    back = member(db, owner, "回来了")
    buy(db, owner, back, [300, 293, 286, 279, 272, 2])  # weekly, 270 days away, back two days ago
    insight.refresh(db, owner, as_of=AS_OF)
    assert figures(db, daily).stage == "at_risk"
    assert figures(db, monthly).stage == "active"
    assert figures(db, monthly).typical_gap_days == pytest.approx(30)
    assert figures(db, newcomer).stage == "new"
    assert figures(db, gone).stage == "lost"
    assert figures(db, back).stage == "won_back"


def test_a_member_away_far_longer_than_usual_is_alerted_with_the_reason(db: Database, owner: Actor) -> None:
    regular = member(db, owner, "老顾客")
    buy(db, owner, regular, [19 + 4 * k for k in range(10)])  # every 4 days, 19 days now
    steady = member(db, owner, "常客")
    buy(db, owner, steady, [3 + 4 * k for k in range(10)])
    insight.refresh(db, owner, as_of=AS_OF)
    row = figures(db, regular)
    assert (row.alert, row.alert_usual, row.alert_now) == ("gap", 4.0, 19.0)
    assert figures(db, steady).alert is None
    with read_session(db) as session:
        assert insight_figures.member_figures(session, regular).alert_reason() == "usually every 4 days; 19 days now"
        (alerted,) = insight_figures.alerts(session, owner)
    assert alerted.member_id == regular


def test_a_member_whose_monthly_spend_fell_far_is_alerted(db: Database, owner: Actor) -> None:
    member_id = member(db, owner, "大户")
    buy(db, owner, member_id, [250], amount_fen=20_000)  # shopping here for more than 7 months
    buy(db, owner, member_id, [35 + 10 * k for k in range(18)], amount_fen=20_000)  # ¥600 a month for 6 months
    buy(db, owner, member_id, [5], amount_fen=8_000)  # ¥80 in the last 30 days
    insight.refresh(db, owner, as_of=AS_OF)
    row = figures(db, member_id)
    assert row.alert == "spend"
    with read_session(db) as session:
        reason = insight_figures.member_figures(session, member_id).alert_reason()
    assert reason == "monthly spend fell from ¥600.00 to ¥80.00"


def test_segments_follow_the_written_rule() -> None:
    assert segment_for(5, 5, 5) == "champions"
    assert segment_for(1, 5, 5) == "recall"
    assert segment_for(5, 1, 5) == "develop"
    assert segment_for(2, 2, 3) == "retain"
    assert segment_for(3, 3, 2) == "potential"
    assert segment_for(4, 1, 1) == "newcomer"
    assert segment_for(1, 4, 1) == "maintain"
    assert segment_for(2, 2, 2) == "churned"


def test_the_refresh_stores_segments_as_the_rule_says_and_counts_them(db: Database, owner: Actor) -> None:
    ids = [member(db, owner, f"会员{i}") for i in range(10)]
    for k, member_id in enumerate(ids):
        buy(db, owner, member_id, [3 * k + 7 * j for j in range(1 + k % 4)], amount_fen=1_000 * (1 + (k * 7) % 10))
    insight.refresh(db, owner, as_of=AS_OF)
    rows = [figures(db, member_id) for member_id in ids]
    assert all(r.segment == segment_for(r.r_score, r.f_score, r.m_score) for r in rows)
    with read_session(db) as session:
        stored = {(c.kind, c.key): c.members for c in session.scalars(sa.select(InsightCount))}
    for segment in {r.segment for r in rows}:
        assert stored[("segment", segment)] == sum(r.segment == segment for r in rows)


def test_a_group_becomes_a_saved_member_group_and_filters_the_list(db: Database, owner: Actor) -> None:
    regular = member(db, owner, "老顾客")
    buy(db, owner, regular, [19 + 4 * k for k in range(10)])
    other = member(db, owner, "别人")
    buy(db, owner, other, [1])
    insight.refresh(db, owner, as_of=AS_OF)
    with unit_of_work(db) as session:
        saved = insight_figures.save_group(session, owner, "alert", "gap", "流失预警")
    with read_session(db) as session:
        assert member_query.get_filter(session, "流失预警").filter == MemberFilter(alerts=("gap",))
        assert [r.id for r in member_query.page(session, saved.filter)] == [regular]
        assert member_query.count(session, MemberFilter(stages=("at_risk",))) == 1
        rows = member_query.page(session, MemberFilter(segments=(figures(db, other).segment,)))
        assert other in [r.id for r in rows] and rows[0].segment is not None
    with read_session(db) as session, pytest.raises(InvalidInput):
        insight_figures.group_filter(session, "segment", "no-such")


def test_the_model_is_not_shown_without_enough_history(db: Database, owner: Actor) -> None:
    member_id = member(db, owner, "张三")
    buy(db, owner, member_id, [30, 20, 10])
    result = insight.refresh(db, owner, as_of=AS_OF)
    assert result.fit is None and result.model_note == "few_members"
    row = figures(db, member_id)
    assert row.p_alive is None and row.expected_value_fen is None


def test_dashboard_compares_with_the_same_days_last_year(db: Database, owner: Actor) -> None:
    member_id = member(db, owner, "张三")
    buy(db, owner, member_id, [2, 1], amount_fen=3_000)
    buy(db, owner, member_id, [366, 365 + 30], amount_fen=1_000)  # 2025-06-29 is 366 days before 2026-06-30
    insight.refresh(db, owner, as_of=AS_OF)
    with read_session(db) as session:
        board = insight_figures.dashboard(session, owner, date(2026, 6, 1), AS_OF, "month")
    (june,) = board.periods
    assert (june.sales_fen, june.receipts, june.visits, june.average_basket_fen) == (6_000, 2, 2, 3_000)
    assert (june.last_year_sales_fen, june.last_year_visits) == (1_000, 1)
    with read_session(db) as session, pytest.raises(InvalidInput):
        insight_figures.dashboard(session, owner, AS_OF, date(2026, 6, 1), "day")


def test_a_cancelled_refresh_leaves_the_stored_figures_as_they_were(db: Database, owner: Actor) -> None:
    member_id = member(db, owner, "张三")
    buy(db, owner, member_id, [5])
    insight.refresh(db, owner, as_of=AS_OF)
    before = figures(db, member_id).recency_days
    with pytest.raises(insight.Cancelled):  # ten days later it would say 15
        insight.refresh(db, owner, as_of=AS_OF + timedelta(days=10), cancelled=lambda: True)
    assert figures(db, member_id).recency_days == before == 5
    with read_session(db) as session:
        assert insight_figures.latest_run(session) is not None


def test_each_sale_keeps_the_shop_day_and_the_members_recency_current(db: Database, owner: Actor) -> None:
    regular = member(db, owner, "老顾客")
    buy(db, owner, regular, [19 + 4 * k for k in range(10)])
    insight.refresh(db, owner, as_of=AS_OF)
    with read_session(db) as session:
        assert insight_figures.member_figures(session, regular).drifting
    (receipt,) = buy(db, owner, regular, [0], amount_fen=2_000)
    with unit_of_work(db) as session:  # the same day again: one visit
        purchases.record_purchase(session, owner, regular, receipt_no="again", till="01", amount_fen=500,
                                  occurred_at=at(0, hour=11), now=NOW)
    with unit_of_work(db) as session:
        purchases.refund(session, owner, original_till="01", original_receipt=receipt, refund_receipt="R9",
                         amount_fen=300, occurred_at=at(0, hour=12), now=NOW)
    with read_session(db) as session:
        today = session.get(ShopDay, AS_OF)
        assert (today.sales_fen, today.refunds_fen, today.receipts, today.visits) == (2_500, 300, 2, 1)
        figures_now = insight_figures.member_figures(session, regular)
    assert (figures_now.recency_days, figures_now.alert, figures_now.frequency) == (0, None, 11)
    assert not figures_now.drifting
    insight.refresh(db, owner, as_of=AS_OF)  # the refresh agrees with what the sales kept
    with read_session(db) as session:
        today = session.get(ShopDay, AS_OF)
        assert (today.sales_fen, today.refunds_fen, today.receipts, today.visits) == (2_500, 300, 2, 1)
