"""Monthly complaint figures: how many, about what, how fast, how well, and whether customers came back.

Definitions (each pinned by a test on a hand-computed data set):

* The month is a local calendar month (SHOP_ZONE). Its **cohort** is the
  complaints received in it; every figure but the repeat complainants is about
  the cohort, as it stands at ``now`` (so a month's figures still move while its
  complaints are being worked).
* **By category / by channel**: cohort counts; every entry switched on is listed
  (zero or not), in list order, then any other code that occurs.
* **Median time to first response**: over cohort complaints with a first
  response, of (first response - received). **Median time to resolution**: over
  cohort complaints resolved now, of (resolved - received). An even count takes
  the mean of the middle two.
* **On time**: first response: of the cohort complaints answered or past their
  first-response deadline, the share answered before it. Resolution: of those
  resolved or past their resolution deadline, the share resolved before it.
* **Follow-up done**: of the cohort complaints resolved now, the share whose
  current resolution was followed up (status followed up, or closed other than
  by skipping the follow-up). **Satisfaction after resolution**: the mean score
  of those follow-ups (the latest one of each complaint).
* **Repeat complainants**: members with a complaint received in the month and
  at least REPEAT_MIN complaints received in the month and the
  REPEAT_WINDOW_MONTHS - 1 months before it (so a complaint on 31 January and
  another on 1 February count).
* **Came back within 60 days**: members of the cohort with a complaint resolved
  now, and the share of them with a sale in the CAME_BACK_DAYS after their first
  resolution in the cohort; compared with members whose cohort complaints are
  all unresolved, counted from their first complaint received. Walk-ins have no
  purchases on record and are left out. The window is counted to date.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.errors import InvalidInput
from crmdesk.models import (
    Complaint, ComplaintCategory, ComplaintChannel, ComplaintEvent, ComplaintFollowUp, ComplaintStatus, Member, Purchase,
    PurchaseKind,
)
from crmdesk.services import loyalty
from crmdesk.services.complaints import DONE_STATUSES, EventKind, jsonable, list_entries
from crmdesk.texts import QT_TRANSLATE_NOOP

REPEAT_MIN = 2
REPEAT_WINDOW_MONTHS = 3
CAME_BACK_DAYS = 60


@dataclass(frozen=True)
class Ratio:
    """A share as its two counts ("3 of 4"), so a view can show both and nothing is rounded early."""

    numerator: int
    denominator: int

    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("value",)

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class CountBy:
    code: str
    name: str
    count: int


@dataclass(frozen=True)
class RepeatMember:
    member_id: int
    name: str
    member_no: str
    in_month: int
    in_window: int


@dataclass(frozen=True)
class ComplaintFigures:
    month: str  # YYYY-MM
    as_of: datetime
    received: int
    by_category: tuple[CountBy, ...]
    by_channel: tuple[CountBy, ...]
    median_first_response: timedelta | None
    median_resolution: timedelta | None
    first_response_on_time: Ratio
    resolved_on_time: Ratio
    follow_up_done: Ratio
    satisfaction_total: int  # sum of the follow-up scores counted
    satisfaction_count: int
    repeat_members: tuple[RepeatMember, ...]
    came_back_resolved: Ratio
    came_back_unresolved: Ratio

    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("satisfaction_mean",)

    @property
    def satisfaction_mean(self) -> float | None:
        return self.satisfaction_total / self.satisfaction_count if self.satisfaction_count else None

    def to_json(self) -> dict[str, Any]:
        return jsonable(self)


# --------------------------------------------------------------------------- months


def parse_month(text: str | date) -> date:
    """'2026-11' -> date(2026, 11, 1); a date gives its month."""
    if isinstance(text, date):
        return text.replace(day=1)
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text or "")
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{text}' is not a month (YYYY-MM)."), field="month", text=text)
    return date(int(match.group(1)), int(match.group(2)), 1)


def add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(first: date) -> tuple[datetime, datetime]:
    """The month's start and the next month's start, local midnights as UTC instants."""
    def start(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=loyalty.SHOP_ZONE).astimezone(UTC)
    return start(first), start(add_months(first, 1))


# --------------------------------------------------------------------------- figures


def _median(durations: list[timedelta]) -> timedelta | None:
    return timedelta(seconds=statistics.median(d.total_seconds() for d in durations)) if durations else None


def _counts(session: Session, model: type, codes: Iterable[str]) -> tuple[CountBy, ...]:
    counts = Counter(codes)
    rows = list_entries(session, model, include_inactive=True)
    listed = [CountBy(r.code, r.name, counts[r.code]) for r in rows if r.active or counts[r.code]]
    known = {r.code for r in rows}
    return tuple(listed + [CountBy(code, code, n) for code, n in sorted(counts.items()) if code not in known])


def _on_time(pairs: Iterable[tuple[datetime | None, datetime | None]], now: datetime) -> Ratio:
    """(done at, due) pairs: decided when done or past due; on time when done before due."""
    decided = [(done, due) for done, due in pairs if done is not None or (due is not None and now >= due)]
    return Ratio(sum(1 for done, due in decided if done is not None and (due is None or done < due)), len(decided))


def _followed_up(session: Session, resolved: list[Any]) -> tuple[Ratio, list[int]]:
    """Follow-up done among the resolved complaints, and the scores of those follow-ups."""
    closed_ids = [r.id for r in resolved if r.status is ComplaintStatus.CLOSED]
    last_close = dict(session.execute(
        sa.select(ComplaintEvent.complaint_id, sa.func.max(ComplaintEvent.id))
        .where(ComplaintEvent.complaint_id.in_(closed_ids), ComplaintEvent.to_status == ComplaintStatus.CLOSED)
        .group_by(ComplaintEvent.complaint_id)
    ).all()) if closed_ids else {}
    skipped = set(session.scalars(sa.select(ComplaintEvent.complaint_id).where(
        ComplaintEvent.id.in_(list(last_close.values())), ComplaintEvent.kind == EventKind.CLOSED_WITHOUT_FOLLOW_UP.value))
    ) if last_close else set()
    done = [r.id for r in resolved if r.status is ComplaintStatus.FOLLOWED_UP
            or (r.status is ComplaintStatus.CLOSED and r.id not in skipped)]
    latest = sa.select(sa.func.max(ComplaintFollowUp.id)).where(ComplaintFollowUp.complaint_id.in_(done)).group_by(
        ComplaintFollowUp.complaint_id)
    scores = list(session.scalars(sa.select(ComplaintFollowUp.satisfaction).where(ComplaintFollowUp.id.in_(latest)))) if done else []
    return Ratio(len(done), len(resolved)), scores


def _repeat_members(session: Session, first: date, end: datetime) -> tuple[RepeatMember, ...]:
    month_start = month_bounds(first)[0]
    window_start = month_bounds(add_months(first, 1 - REPEAT_WINDOW_MONTHS))[0]
    rows = session.execute(sa.select(Complaint.member_id, Complaint.received_at).where(
        Complaint.member_id.is_not(None), Complaint.received_at >= window_start, Complaint.received_at < end)).all()
    in_window, in_month = Counter(), Counter()
    for member_id, received_at in rows:
        in_window[member_id] += 1
        in_month[member_id] += received_at >= month_start
    repeat = sorted(m for m in in_month if in_month[m] and in_window[m] >= REPEAT_MIN)
    names = {m.id: m for m in session.scalars(sa.select(Member).where(Member.id.in_(repeat)))} if repeat else {}
    return tuple(RepeatMember(m, names[m].name, names[m].member_no, in_month[m], in_window[m]) for m in repeat)


def _came_back(session: Session, starts: dict[int, datetime]) -> Ratio:
    """Of these members, how many bought something in the CAME_BACK_DAYS after their start."""
    if not starts:
        return Ratio(0, 0)
    window = timedelta(days=CAME_BACK_DAYS)
    sales = session.execute(sa.select(Purchase.member_id, Purchase.occurred_at).where(
        Purchase.member_id.in_(list(starts)), Purchase.kind == PurchaseKind.SALE,
        Purchase.occurred_at > min(starts.values()), Purchase.occurred_at <= max(starts.values()) + window)).all()
    back = {m for m, at in sales if starts[m] < at <= starts[m] + window}
    return Ratio(len(back), len(starts))


def _came_back_groups(session: Session, cohort: list[Any]) -> tuple[Ratio, Ratio]:
    resolved: dict[int, datetime] = {}
    received: dict[int, datetime] = defaultdict(lambda: datetime.max.replace(tzinfo=UTC))
    for r in cohort:
        if r.member_id is None:
            continue
        received[r.member_id] = min(received[r.member_id], r.received_at)
        if r.resolved_at is not None:
            resolved[r.member_id] = min(resolved.get(r.member_id, r.resolved_at), r.resolved_at)
    unresolved = {m: at for m, at in received.items() if m not in resolved}
    return _came_back(session, resolved), _came_back(session, unresolved)


def monthly_figures(session: Session, month: str | date, *, now: datetime | None = None) -> ComplaintFigures:
    """The month's complaint figures (see the module notes for each definition)."""
    now = now or datetime.now(UTC)
    first = parse_month(month)
    start, end = month_bounds(first)
    cohort = session.execute(sa.select(
        Complaint.id, Complaint.member_id, Complaint.category, Complaint.channel, Complaint.status, Complaint.received_at,
        Complaint.first_response_at, Complaint.first_response_due, Complaint.resolved_at, Complaint.resolution_due,
    ).where(Complaint.received_at >= start, Complaint.received_at < end).order_by(Complaint.id)).all()
    resolved = [r for r in cohort if r.resolved_at is not None and r.status in DONE_STATUSES]
    follow_up_done, scores = _followed_up(session, resolved)
    came_back_resolved, came_back_unresolved = _came_back_groups(session, cohort)
    return ComplaintFigures(
        month=f"{first:%Y-%m}",
        as_of=now,
        received=len(cohort),
        by_category=_counts(session, ComplaintCategory, (r.category for r in cohort)),
        by_channel=_counts(session, ComplaintChannel, (r.channel for r in cohort)),
        median_first_response=_median([r.first_response_at - r.received_at for r in cohort if r.first_response_at]),
        median_resolution=_median([r.resolved_at - r.received_at for r in resolved]),
        first_response_on_time=_on_time(((r.first_response_at, r.first_response_due) for r in cohort), now),
        resolved_on_time=_on_time(((r.resolved_at, r.resolution_due) for r in cohort), now),
        follow_up_done=follow_up_done,
        satisfaction_total=sum(scores),
        satisfaction_count=len(scores),
        repeat_members=_repeat_members(session, first, end),
        came_back_resolved=came_back_resolved,
        came_back_unresolved=came_back_unresolved,
    )
