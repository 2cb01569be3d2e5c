"""Everything the printed monthly complaints and satisfaction report shows, read in one go.

The figures come from the services that define them, so the document and the
complaints pages never disagree:

* the month's figures and the twelve-month trend are complaint_figures.monthly_figures
  (the trend is that month and the eleven before it, each month's cohort as it
  stands at ``now``);
* the satisfaction section is surveys.monthly_summary;
* the overdue list is complaints.list_complaints with the overdue filter: every
  complaint overdue at ``now``, whichever month it came in, the longest overdue
  first.

The one figure added here is the spread of the time to first response over the
month's cohort, in RESPONSE_BUCKETS. A bucket holds the times from its lower
bound (included) to its upper bound (excluded), so a reply after exactly 24
hours, which is late under the default deadline, falls in "24 hours or more".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.models import Complaint, ComplaintStatus, Priority
from crmdesk.services import complaints, surveys
from crmdesk.services.complaint_figures import (
    ComplaintFigures, CountBy, Ratio, add_months, month_bounds, monthly_figures, parse_month,
)
from crmdesk.services.complaints import ComplaintFilter, ComplaintInfo
from crmdesk.services.surveys import SurveySummary

TREND_MONTHS = 12
OVERDUE_LIMIT = 500  # a longer list says how many more there are instead of printing pages of them

NO_RESPONSE = "none"
# (code, lower bound, upper bound); the upper bound is excluded, None means no bound.
RESPONSE_BUCKETS: tuple[tuple[str, timedelta, timedelta | None], ...] = (
    ("under_1h", timedelta(0), timedelta(hours=1)),
    ("1h_4h", timedelta(hours=1), timedelta(hours=4)),
    ("4h_24h", timedelta(hours=4), timedelta(hours=24)),
    ("24h_more", timedelta(hours=24), None),
)


@dataclass(frozen=True)
class TrendMonth:
    """One month of the trend: its cohort's size and on-time shares (as in complaint_figures)."""

    month: str  # YYYY-MM
    received: int
    first_response_on_time: Ratio
    resolved_on_time: Ratio


@dataclass(frozen=True)
class ResponseBucket:
    """How many of the month's complaints had their first response within [low, high)."""

    code: str  # a RESPONSE_BUCKETS code, or NO_RESPONSE for those not answered yet
    low: timedelta | None  # None for NO_RESPONSE
    high: timedelta | None  # None: no upper bound (and for NO_RESPONSE)
    count: int


@dataclass(frozen=True)
class OverdueComplaint:
    """An overdue complaint as the report lists it."""

    id: int
    received_at: datetime
    member_id: int | None  # None: a walk-in customer
    member_no: str
    customer_name: str  # the member's name, or the walk-in's name as given ("" when none was)
    category_name: str
    priority: Priority
    status: ComplaintStatus
    owner_name: str  # "" when nobody owns it yet
    department: str
    first_response_due: datetime | None
    resolution_due: datetime | None
    resolution_due_day: date | None  # the local day it had to be resolved by
    response_late: bool  # no first response and past its deadline
    resolution_late: bool  # not resolved and past its deadline
    late_by: timedelta  # since the first deadline it missed

    @property
    def walk_in(self) -> bool:
        return self.member_id is None


@dataclass(frozen=True)
class ComplaintsMonth:
    month: str  # YYYY-MM
    as_of: datetime
    figures: ComplaintFigures
    trend: tuple[TrendMonth, ...]  # oldest first, ending with ``month``
    response_times: tuple[ResponseBucket, ...]  # RESPONSE_BUCKETS in order, then NO_RESPONSE
    survey: SurveySummary
    overdue: tuple[OverdueComplaint, ...]  # at most OVERDUE_LIMIT, the longest overdue first
    overdue_total: int  # all overdue at ``as_of``

    @property
    def by_category(self) -> tuple[CountBy, ...]:
        return self.figures.by_category


def _trend_month(figures: ComplaintFigures) -> TrendMonth:
    return TrendMonth(figures.month, figures.received, figures.first_response_on_time, figures.resolved_on_time)


def _response_times(session: Session, first: date) -> tuple[ResponseBucket, ...]:
    start, end = month_bounds(first)
    rows = session.execute(sa.select(Complaint.received_at, Complaint.first_response_at)
                           .where(Complaint.received_at >= start, Complaint.received_at < end)).all()
    counts: Counter[str] = Counter()
    for received_at, responded_at in rows:
        if responded_at is None:
            counts[NO_RESPONSE] += 1
            continue
        waited = responded_at - received_at
        counts[next(code for code, low, high in RESPONSE_BUCKETS if waited >= low and (high is None or waited < high))] += 1
    buckets = [ResponseBucket(code, low, high, counts[code]) for code, low, high in RESPONSE_BUCKETS]
    return tuple(buckets + [ResponseBucket(NO_RESPONSE, None, None, counts[NO_RESPONSE])])


def _overdue(info: ComplaintInfo, now: datetime) -> OverdueComplaint:
    resolution_late = info.resolution_due is not None and now >= info.resolution_due
    missed = [due for due, late in ((info.first_response_due, info.response_overdue), (info.resolution_due, resolution_late)) if late]
    return OverdueComplaint(
        id=info.id, received_at=info.received_at, member_id=info.member_id, member_no=info.member_no,
        customer_name=info.member_name if info.member_id is not None else info.walk_in_name, category_name=info.category_name,
        priority=info.priority, status=info.status, owner_name=info.owner_name, department=info.department,
        first_response_due=info.first_response_due, resolution_due=info.resolution_due, resolution_due_day=info.resolution_due_day,
        response_late=info.response_overdue, resolution_late=resolution_late, late_by=now - min(missed),
    )


def complaints_month(session: Session, month: str | date, *, now: datetime | None = None) -> ComplaintsMonth:
    """The month's complaint figures, trend, response times and surveys, and what is overdue at ``now``."""
    now = now or datetime.now(UTC)
    first = parse_month(month)
    # Oldest first; the last one is the month itself.
    trend_figures = [monthly_figures(session, add_months(first, n - TREND_MONTHS + 1), now=now) for n in range(TREND_MONTHS)]
    overdue_filter = ComplaintFilter(overdue=True)  # the board's order: the earliest deadline, so the longest overdue, first
    overdue = complaints.list_complaints(session, overdue_filter, now=now, limit=OVERDUE_LIMIT)
    return ComplaintsMonth(
        month=f"{first:%Y-%m}",
        as_of=now,
        figures=trend_figures[-1],
        trend=tuple(_trend_month(figures) for figures in trend_figures),
        response_times=_response_times(session, first),
        survey=surveys.monthly_summary(session, first),
        overdue=tuple(_overdue(info, now) for info in overdue),
        overdue_total=complaints.count_complaints(session, overdue_filter, now=now),
    )
