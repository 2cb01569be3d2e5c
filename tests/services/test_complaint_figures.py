"""Monthly complaint figures, each pinned on a small data set worked out by hand (see the comments)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from crmdesk.errors import InvalidInput
from crmdesk.models import Remedy
from crmdesk.services import complaint_figures, complaints, members, purchases
from crmdesk.services.complaint_figures import Ratio
from crmdesk.services.complaints import ComplaintInput, FollowUpInput, RemedyInput
from crmdesk.services.uow import read_session, unit_of_work

CN = timezone(timedelta(hours=8))
AS_OF = datetime(2027, 1, 15, 12, 0, tzinfo=CN)


def at(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=CN)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


class Shop:
    """Drives the services as the staff would, each step at its own time."""

    def __init__(self, db, actor) -> None:  # type: ignore[no-untyped-def]
        self.db, self.actor = db, actor

    def member(self, name: str, phone: str) -> int:
        with unit_of_work(self.db) as session:
            return members.register(session, self.actor, members.MemberInput(name=name, phone=phone)).id

    def log(self, received, category, channel="counter", member_id=None) -> int:  # type: ignore[no-untyped-def]
        with unit_of_work(self.db) as session:
            return complaints.log_complaint(session, self.actor, ComplaintInput(
                channel=channel, category=category, description="投诉", member_id=member_id, received_at=received), now=received).id

    def do(self, when, operation, *args, **kwargs):  # type: ignore[no-untyped-def]
        with unit_of_work(self.db) as session:
            return operation(session, self.actor, *args, now=when, **kwargs)

    def buy(self, member_id: int, when: datetime, receipt: str) -> None:
        with unit_of_work(self.db) as session:
            purchases.record_purchase(session, self.actor, member_id, receipt_no=receipt, till="01", amount_fen=3_000,
                                      occurred_at=when, now=AS_OF)


def figures(db, month: str, now: datetime = AS_OF) -> complaint_figures.ComplaintFigures:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return complaint_figures.monthly_figures(session, month, now=now)


@pytest.fixture
def october(db, owner):  # type: ignore[no-untyped-def]
    """October 2026 (local time), complaint by complaint:

    c1  A  quality  counter  10-01 09:00  started +2 h, resolved +24 h, followed up (4), closed
    c2  A  expired  phone    10-15 10:00  contacted +26 h (late), resolved +48 h (due the end of 10-16: late), followed up (2)
    c3  B  price    counter  10-20 20:00  started +1 h, resolved +12 h, closed without follow-up
    c4  C  attitude box      10-31 23:30  nothing yet (still October in the shop, 15:30 UTC)
    c5  -  other    letter   10-10 12:00  walk-in: started +1 h, resolved +48 h, followed up (5)
    c7  D  waiting  online   10-05 09:00  started +1 h, never resolved (due the end of 10-08)

    Outside the cohort: D's complaint of 09-30 23:30, A's of 08-15, C's of 07-20, B's of 11-01 00:00.
    """
    shop = Shop(db, owner)
    a, b, c, d = (shop.member("张三", "13812345678"), shop.member("李四", "13900000000"), shop.member("王五", "13700000000"),
                  shop.member("赵六", "13600000000"))
    shop.log(at(8, 15, 10), "other", member_id=a)
    shop.log(at(7, 20, 10), "other", member_id=c)
    shop.log(at(9, 30, 23, 30), "quality", member_id=d)
    c1 = shop.log(at(10, 1, 9), "quality", "counter", a)
    shop.do(at(10, 1, 11), complaints.start_work, c1)
    shop.do(at(10, 2, 9), complaints.resolve, c1, RemedyInput((Remedy.EXCHANGE,)))
    shop.do(at(10, 3, 10), complaints.record_follow_up, c1, FollowUpInput(4))
    shop.do(at(10, 4, 10), complaints.close, c1)
    c2 = shop.log(at(10, 15, 10), "expired", "phone", a)
    shop.do(at(10, 16, 12), complaints.add_note, c2, "已联系", contact=True)
    shop.do(at(10, 17, 10), complaints.resolve, c2, RemedyInput((Remedy.REFUND,), refund_fen=1_200))
    shop.do(at(10, 18, 10), complaints.record_follow_up, c2, FollowUpInput(2))
    c3 = shop.log(at(10, 20, 20), "price", "counter", b)
    shop.do(at(10, 20, 21), complaints.start_work, c3)
    shop.do(at(10, 21, 8), complaints.resolve, c3, RemedyInput((Remedy.REFUND,), refund_fen=300))
    shop.do(at(10, 25, 10), complaints.close, c3, skip_follow_up_reason="顾客不愿接受回访")
    shop.log(at(10, 31, 23, 30), "attitude", "box", c)
    c5 = shop.log(at(10, 10, 12), "other", "letter")
    shop.do(at(10, 10, 13), complaints.start_work, c5)
    shop.do(at(10, 12, 12), complaints.resolve, c5, RemedyInput((Remedy.APOLOGY,)))
    shop.do(at(10, 13, 12), complaints.record_follow_up, c5, FollowUpInput(5))
    c7 = shop.log(at(10, 5, 9), "waiting", "online", d)
    shop.do(at(10, 5, 10), complaints.start_work, c7)
    shop.log(at(11, 1, 0), "quality", "phone", b)
    # Purchases around the 60-day windows: A from 10-02 09:00, B from 10-21 08:00 (their first resolutions),
    # C from 10-31 23:30 and D from 10-05 09:00 (received, never resolved).
    shop.buy(a, at(10, 2, 9), "A-same-instant")  # not after the resolution
    shop.buy(a, at(12, 1, 9), "A-day-60")  # exactly 60 days after: counts
    shop.buy(b, at(10, 21, 7), "B-before")
    shop.buy(b, at(12, 20, 8, 0, 1), "B-day-60-plus-1s")  # one second too late
    shop.buy(c, at(12, 30, 23, 30), "C-day-60")  # exactly 60 days after: counts
    shop.buy(d, at(10, 1, 9), "D-before")
    shop.buy(d, at(12, 4, 9, 0, 1), "D-day-60-plus-1s")
    return {"a": a, "b": b, "c": c, "d": d}


def test_october_counts_by_category_and_channel(db, october) -> None:
    result = figures(db, "2026-10")
    assert result.received == 6
    assert [(c.code, c.count) for c in result.by_category] == [
        ("quality", 1), ("expired", 1), ("price", 1), ("attitude", 1), ("waiting", 1), ("environment", 0), ("returns", 0), ("other", 1)]
    assert [(c.code, c.name, c.count) for c in result.by_channel] == [
        ("counter", "Counter", 2), ("phone", "Phone", 1), ("box", "Suggestion box", 1), ("online", "Online message", 1),
        ("letter", "Letter", 1)]


def test_october_medians(db, october) -> None:
    result = figures(db, "2026-10")
    # First responses after 2, 26, 1, 1 and 1 hours -> 1 hour; resolutions after 24, 48, 12, 48 hours -> (24 + 48) / 2.
    assert result.median_first_response == hours(1)
    assert result.median_resolution == hours(36)


def test_october_on_time_shares(db, october) -> None:
    result = figures(db, "2026-10")
    # Answered in time: c1, c3, c5, c7; late: c2 (26 h), c4 (never, and past its deadline).
    assert result.first_response_on_time == Ratio(4, 6)
    # Resolved in time: c1, c3, c5; late: c2; past due unresolved: c4, c7.
    assert result.resolved_on_time == Ratio(3, 6)
    # Seen on 31 October at noon, c4's deadlines have not come yet, so it is not counted either way.
    early = figures(db, "2026-10", now=at(11, 1, 12))
    assert (early.first_response_on_time, early.resolved_on_time) == (Ratio(4, 5), Ratio(3, 5))


def test_october_follow_up_and_satisfaction(db, october) -> None:
    result = figures(db, "2026-10")
    # Resolved: c1, c2, c3, c5; followed up: c1 (then closed), c2, c5; c3 closed without it. Scores 4, 2, 5.
    assert result.follow_up_done == Ratio(3, 4)
    assert (result.satisfaction_total, result.satisfaction_count) == (11, 3)
    assert result.satisfaction_mean == pytest.approx(11 / 3)


def test_october_repeat_complainants_over_three_months(db, october) -> None:
    result = figures(db, "2026-10")
    # A: two in October and one in August; D: one on 30 September and one in October. B's second is in
    # November and C's first in July: outside the window.
    assert [(m.member_id, m.name, m.in_month, m.in_window) for m in result.repeat_members] == [
        (october["a"], "张三", 2, 3), (october["d"], "赵六", 1, 2)]


def test_october_came_back_within_60_days(db, october) -> None:
    result = figures(db, "2026-10")
    # Resolved: A came back on day 60 exactly, B only one second after it. Unresolved: C on day 60, D not.
    assert result.came_back_resolved == Ratio(1, 2)
    assert result.came_back_unresolved == Ratio(1, 2)


def test_the_month_edges_follow_the_shops_clock(db, october) -> None:
    september = figures(db, "2026-09")
    november = figures(db, "2026-11")
    assert (september.received, november.received) == (1, 1)  # 09-30 23:30 and 11-01 00:00, local time
    # B complained on 10-20 and 11-01: a repeat complainant in November's window, though once in each month.
    assert [(m.member_id, m.in_month, m.in_window) for m in november.repeat_members] == [(october["b"], 1, 2)]
    assert figures(db, "2026-12").repeat_members == ()  # nobody complained in December


def test_a_reopened_complaint_needs_a_new_follow_up(db, owner) -> None:
    shop = Shop(db, owner)
    a = shop.member("张三", "13812345678")
    c = shop.log(at(11, 1, 10), "quality", member_id=a)
    shop.do(at(11, 2, 10), complaints.resolve, c, RemedyInput((Remedy.APOLOGY,)))
    shop.do(at(11, 3, 10), complaints.record_follow_up, c, FollowUpInput(1, comment="不满意"))
    assert (figures(db, "2026-11").follow_up_done, figures(db, "2026-11").satisfaction_count) == (Ratio(1, 1), 1)
    shop.do(at(11, 4, 10), complaints.reopen, c, "顾客不满意")
    shop.do(at(11, 5, 10), complaints.resolve, c, RemedyInput((Remedy.EXCHANGE,)))
    again = figures(db, "2026-11")
    assert (again.follow_up_done, again.satisfaction_count, again.median_resolution) == (Ratio(0, 1), 0, timedelta(days=4))
    shop.do(at(11, 6, 10), complaints.record_follow_up, c, FollowUpInput(3))
    last = figures(db, "2026-11")
    assert (last.follow_up_done, last.satisfaction_total, last.satisfaction_count) == (Ratio(1, 1), 3, 1)


def test_an_empty_month_has_no_figures_rather_than_zeros_that_look_measured(db) -> None:
    result = figures(db, "2026-10")
    assert (result.received, result.median_first_response, result.median_resolution, result.satisfaction_mean) == (0, None, None, None)
    assert result.first_response_on_time == Ratio(0, 0) and result.first_response_on_time.value is None
    document = result.to_json()
    json.dumps(document)
    assert document["follow_up_done"] == {"numerator": 0, "denominator": 0, "value": None}


@pytest.mark.parametrize("text", ["2026-13", "2026/10", "October", ""])
def test_a_month_is_yyyy_mm(text) -> None:
    with pytest.raises(InvalidInput, match="is not a month"):
        complaint_figures.parse_month(text)
