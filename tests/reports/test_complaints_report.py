"""The monthly complaints and satisfaction report: its figures on a month worked out by hand, and the PDF."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator

from crmdesk.models import ComplaintStatus, Remedy
from crmdesk.paths import resource_path
from crmdesk.reports.base import ReportCancelled, ReportContext
from crmdesk.reports.complaints_monthly import render_complaints_month
from crmdesk.services import complaint_report, complaints, members, surveys
from crmdesk.services.complaint_figures import Ratio
from crmdesk.services.complaints import ComplaintInput, RemedyInput
from crmdesk.services.surveys import SurveyInput
from crmdesk.services.uow import read_session, unit_of_work
from tests.reports.pdf_tools import all_text, fonts, page_texts

CN = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=CN)
QUALITY = "商品质量问题"
EXPIRED = "过期变质商品"
LONG = "收银台排队时间过长以及收银员服务态度不好导致顾客长时间等候的问题"
CONTEXT = ReportContext("好邻居超市", "王店长", NOW)


def at(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CN)


class Shop:
    """Drives the services as the staff would, each step at its own time."""

    def __init__(self, db, actor) -> None:  # type: ignore[no-untyped-def]
        self.db, self.actor = db, actor

    def member(self, name: str, phone: str) -> int:
        with unit_of_work(self.db) as session:
            return members.register(session, self.actor, members.MemberInput(name=name, phone=phone)).id

    def log(self, received, category, member_id=None, walk_in_name="") -> int:  # type: ignore[no-untyped-def]
        with unit_of_work(self.db) as session:
            return complaints.log_complaint(session, self.actor, ComplaintInput(
                channel="counter", category=category, description="投诉", member_id=member_id, walk_in_name=walk_in_name,
                received_at=received), now=received).id

    def do(self, when, operation, *args, **kwargs):  # type: ignore[no-untyped-def]
        with unit_of_work(self.db) as session:
            return operation(session, self.actor, *args, now=when, **kwargs)

    def survey(self, when: datetime, **scores: int) -> None:
        with unit_of_work(self.db) as session:
            surveys.add_response(session, self.actor, SurveyInput(tuple(scores.items()), taken_at=when), now=when)


@pytest.fixture
def october(db, owner):  # type: ignore[no-untyped-def]
    """October 2026 (local time), with the report read on 11-10 12:00:

    c1  quality  张三      10-02 09:00  started +30 min, resolved 10-03 (due the end of 10-05: on time)
    c2  expired  walk-in   10-10 10:00  contacted +2 h, resolved 10-12 09:00 (due the end of 10-11: late)
    c3  long     李四      10-15 08:00  started +12 h, never resolved (due the end of 10-18: overdue 22 d 12 h)
    c4  quality  李四      10-20 09:00  contacted +24 h exactly (late: on time is before the deadline), resolved +25 h
    c5  quality  walk-in   10-30 22:00  nothing yet: no reply by 10-31 22:00 (overdue 9 d 14 h), due the end of 11-02

    Outside October: c6 in September (resolved), c7 in November (no reply by 11-10 08:00: overdue 4 h),
    c8 in August, c0 in October 2025 (before the twelve months).
    Surveys: checkout speed 5 and 4 in September, 2 and 3 in October (a drop of 2 points).
    """
    shop = Shop(db, owner)
    with unit_of_work(db) as session:
        complaints.update_category(session, owner, "quality", name=QUALITY)
        complaints.update_category(session, owner, "expired", name=EXPIRED)
        complaints.add_category(session, owner, LONG, resolution_days=3, code="queue")
    a, b, c = shop.member("张三", "13812345678"), shop.member("李四", "13900000000"), shop.member("王五", "13700000000")
    ids = {"c0": shop.log(at(10, 15, 10, year=2025), "quality", a)}
    shop.do(at(10, 15, 11, year=2025), complaints.start_work, ids["c0"])
    shop.do(at(10, 16, 11, year=2025), complaints.resolve, ids["c0"], RemedyInput((Remedy.APOLOGY,)))
    ids["c8"] = shop.log(at(8, 5, 10), "quality", c)
    shop.do(at(8, 5, 11), complaints.start_work, ids["c8"])
    shop.do(at(8, 6, 11), complaints.resolve, ids["c8"], RemedyInput((Remedy.EXCHANGE,)))
    ids["c6"] = shop.log(at(9, 10, 10), "quality", a)
    shop.do(at(9, 10, 15), complaints.start_work, ids["c6"])
    shop.do(at(9, 11, 10), complaints.resolve, ids["c6"], RemedyInput((Remedy.APOLOGY,)))
    ids["c1"] = shop.log(at(10, 2, 9), "quality", a)
    shop.do(at(10, 2, 9, 30), complaints.start_work, ids["c1"])
    shop.do(at(10, 3, 10), complaints.resolve, ids["c1"], RemedyInput((Remedy.EXCHANGE,)))
    ids["c2"] = shop.log(at(10, 10, 10), "expired", walk_in_name="刘女士")
    shop.do(at(10, 10, 12), complaints.add_note, ids["c2"], "已电话联系", contact=True)
    shop.do(at(10, 12, 9), complaints.resolve, ids["c2"], RemedyInput((Remedy.REFUND,), refund_fen=800))
    ids["c3"] = shop.log(at(10, 15, 8), "queue", b)
    shop.do(at(10, 15, 20), complaints.start_work, ids["c3"])
    ids["c4"] = shop.log(at(10, 20, 9), "quality", b)
    shop.do(at(10, 21, 9), complaints.add_note, ids["c4"], "已联系", contact=True)
    shop.do(at(10, 21, 10), complaints.resolve, ids["c4"], RemedyInput((Remedy.APOLOGY,)))
    ids["c5"] = shop.log(at(10, 30, 22), "quality")
    ids["c7"] = shop.log(at(11, 9, 8), "expired", c)
    shop.survey(at(9, 12, 10), attitude=4, checkout=5)
    shop.survey(at(9, 20, 10), attitude=5, checkout=4)
    shop.survey(at(10, 8, 10), attitude=5, checkout=2)
    shop.survey(at(10, 25, 10), attitude=4, checkout=3)
    return ids


def month_data(db, month: str = "2026-10") -> complaint_report.ComplaintsMonth:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return complaint_report.complaints_month(session, month, now=NOW)


# ----------------------------------------------------------------------------- the figures


def test_trend_covers_twelve_months_ending_with_the_month(db, october) -> None:
    data = month_data(db)
    assert [entry.month for entry in data.trend] == [f"2025-{m}" for m in (11, 12)] + [f"2026-{m:02d}" for m in range(1, 11)]
    assert [entry.received for entry in data.trend] == [0] * 9 + [1, 1, 5]  # c0 (2025-10) and c7 (November) left out
    october_entry = data.trend[-1]
    assert october_entry.resolved_on_time == Ratio(2, 5)  # c1, c4; c2 late, c3 and c5 past due
    assert october_entry.first_response_on_time == Ratio(3, 5)  # c1, c2, c3; c4 at the deadline, c5 none
    assert data.trend[-2].resolved_on_time == Ratio(1, 1)
    assert data.trend[0].resolved_on_time == Ratio(0, 0)
    assert data.figures.received == 5 and data.figures.month == "2026-10"


def test_counts_by_category_list_the_renamed_and_added_categories(db, october) -> None:
    counts = {entry.name: entry.count for entry in month_data(db).by_category}
    assert counts[QUALITY] == 3
    assert counts[EXPIRED] == 1
    assert counts[LONG] == 1
    assert sum(counts.values()) == 5


def test_time_to_first_response_in_buckets(db, october) -> None:
    buckets = month_data(db).response_times
    assert [(bucket.code, bucket.count) for bucket in buckets] == [
        ("under_1h", 1),  # c1: 30 min
        ("1h_4h", 1),  # c2: 2 h
        ("4h_24h", 1),  # c3: 12 h
        ("24h_more", 1),  # c4: exactly 24 h
        (complaint_report.NO_RESPONSE, 1),  # c5
    ]


def test_overdue_lists_every_month_longest_overdue_first(db, october) -> None:
    data = month_data(db)
    assert data.overdue_total == 3
    assert [row.id for row in data.overdue] == [october["c3"], october["c5"], october["c7"]]
    c3, c5, c7 = data.overdue
    assert (c3.customer_name, c3.member_no, c3.walk_in, c3.category_name) == ("李四", c3.member_no, False, LONG)
    assert c3.member_no.startswith("M")
    assert c3.owner_name == "王店长" and c3.status is ComplaintStatus.IN_PROGRESS
    assert (c3.response_late, c3.resolution_late) == (False, True)
    assert c3.late_by == timedelta(days=22, hours=12)  # since the end of 10-18
    assert c5.walk_in and c5.customer_name == "" and c5.owner_name == ""
    assert (c5.response_late, c5.resolution_late) == (True, True)
    assert c5.late_by == timedelta(days=9, hours=14)  # since the reply was due, 10-31 22:00
    assert (c7.response_late, c7.resolution_late, c7.late_by) == (True, False, timedelta(hours=4))


def test_survey_summary_of_the_month(db, october) -> None:
    survey = month_data(db).survey
    assert survey.responses == 2
    assert survey.satisfaction_rate == Ratio(2, 4)  # 5, 4 satisfied; 2, 3 not
    assert [d.code for d in survey.alerts] == ["checkout"]


def test_the_overdue_list_is_capped_but_counted(db, october, monkeypatch) -> None:
    monkeypatch.setattr(complaint_report, "OVERDUE_LIMIT", 2)
    data = month_data(db)
    assert [row.id for row in data.overdue] == [october["c3"], october["c5"]]
    assert data.overdue_total == 3
    assert "The first 2 are listed." in all_text(render_complaints_month(data, CONTEXT))


# ----------------------------------------------------------------------------- the document


def test_pdf_shows_headings_categories_surveys_and_overdue_numbers(db, october) -> None:
    pdf = render_complaints_month(month_data(db), CONTEXT)
    text = all_text(pdf)
    for title in ("Complaints and satisfaction — 2026-10", "Complaints by category", "Time to first response",
                  "Twelve-month trend", "Customer satisfaction", "Overdue complaints"):
        assert title in text
    assert QUALITY in text and EXPIRED in text
    assert "Dropped since 2026-09: Checkout speed (−2.00)" in text
    assert "3 complaints are overdue" in text
    for key in ("c3", "c5", "c7"):  # each row starts with the complaint's number and the day it came in
        assert re.search(rf"(^|\s){october[key]}\s+2026-1[01]-\d\d", text), key
    assert "刘女士" not in text  # c2 was resolved: not in the overdue list
    assert "Walk-in customer" in text  # c5 gave no name


def test_a_long_category_name_is_cut_in_the_chart(db, october) -> None:
    first_page = page_texts(render_complaints_month(month_data(db), CONTEXT))[0]  # the charts; the full name is in the table
    assert re.search(rf"{LONG[:6]}\w+… 1 \(20 %\)", first_page), first_page
    assert LONG not in first_page


def test_every_font_is_embedded(db, october) -> None:
    used = fonts(render_complaints_month(month_data(db), CONTEXT))
    assert used and all(used.values()), used


def test_default_names_print_translated_in_their_own_context(db, owner, qapp) -> None:  # type: ignore[no-untyped-def]
    shop = Shop(db, owner)
    shop.log(at(10, 5, 10), "attitude")  # "Staff attitude", translated in the "complaints" context
    translator = QTranslator()
    assert translator.load(str(resource_path("translations", "crmdesk_zh_CN.qm")))
    QCoreApplication.installTranslator(translator)
    try:
        text = all_text(render_complaints_month(month_data(db), CONTEXT))
    finally:
        QCoreApplication.removeTranslator(translator)
    assert "服务态度" in text


def test_an_empty_month_prints_sentences_instead_of_charts_and_tables(db, owner) -> None:
    data = month_data(db)
    assert data.figures.received == 0 and data.overdue == () and data.survey.responses == 0
    assert [bucket.count for bucket in data.response_times] == [0] * 5
    text = all_text(render_complaints_month(data, CONTEXT))
    assert "No complaints were received in 2026-10." in text
    assert "No complaints were received from 2025-11 to 2026-10." in text
    assert "No satisfaction surveys were taken in 2026-10." in text
    assert "No complaint is overdue at" in text


def test_a_trend_with_a_single_month_of_complaints_still_draws(db, owner) -> None:
    shop = Shop(db, owner)
    first = shop.log(at(10, 5, 10), "price")
    shop.do(at(10, 5, 11), complaints.resolve, first, RemedyInput((Remedy.REFUND,), refund_fen=200))
    data = month_data(db)
    assert [entry.received for entry in data.trend] == [0] * 11 + [1]  # one point per on-time line
    text = all_text(render_complaints_month(data, CONTEXT))
    assert "Twelve-month trend" in text and "2025-11" in text and "No complaint is overdue at" in text


def test_progress_is_reported_and_cancel_stops_the_report(db, october) -> None:
    data = month_data(db)
    seen: list[tuple[int, int]] = []
    render_complaints_month(data, CONTEXT, progress=lambda done, total: seen.append((done, total)))
    assert seen
    with pytest.raises(ReportCancelled):
        render_complaints_month(data, CONTEXT, should_cancel=lambda: True)
    calls = iter(range(100))
    with pytest.raises(ReportCancelled):  # stopped half-way through the layout
        render_complaints_month(data, CONTEXT, should_cancel=lambda: next(calls) >= 3)
