"""Counter satisfaction surveys: taking one, the owner's dimensions, and the monthly figures.

A response scores any of the active dimensions from 1 to 5 (5 非常满意 very
satisfied ... 1 非常不满意 very dissatisfied), with or without a member, with an
optional comment and the channel it came through (the complaint channels list).
Any staff may take a survey; the dimensions and the alert threshold are owner
settings (Permission.MANAGE_COMPLAINT_SETTINGS).

Monthly figures (local calendar months, SHOP_ZONE):

* **Satisfaction rate**: the share of all scores given in the month that are 4
  or 5 (per dimension as well).
* **Mean per dimension**, and its change from the previous month. A dimension
  is flagged when its mean fell by *more than* the owner's threshold (default
  0.30 points); the comparison is exact (fractions), never rounded floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.errors import InvalidInput, NotFound
from crmdesk.models import ComplaintChannel, Member, Staff, SurveyDimension, SurveyResponse, SurveyScore, SurveySettings
from crmdesk.services import audit, complaints, requests
from crmdesk.services.auth import Permission, require
from crmdesk.services.complaint_figures import Ratio, add_months, month_bounds, parse_month
from crmdesk.services.complaints import ChoiceInfo, jsonable
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP

SETTINGS_ROW_ID = 1
DEFAULT_DROP_ALERT_CENTI = 30  # 0.30 points
MAX_DROP_ALERT_CENTI = 400
MAX_COMMENT = 2000
SATISFIED = frozenset({4, 5})

# The scale as the survey shows it (translated by the GUI in the "surveys" context).
SCALE = (
    (5, QT_TRANSLATE_NOOP("surveys", "Very satisfied")),
    (4, QT_TRANSLATE_NOOP("surveys", "Satisfied")),
    (3, QT_TRANSLATE_NOOP("surveys", "Neutral")),
    (2, QT_TRANSLATE_NOOP("surveys", "Dissatisfied")),
    (1, QT_TRANSLATE_NOOP("surveys", "Very dissatisfied")),
)
# Default dimensions: the migration (0006) inserts the same rows.
DEFAULT_DIMENSIONS = (
    ("attitude", QT_TRANSLATE_NOOP("surveys", "Service attitude")),
    ("checkout", QT_TRANSLATE_NOOP("surveys", "Checkout speed")),
    ("quality", QT_TRANSLATE_NOOP("surveys", "Product quality")),
    ("price", QT_TRANSLATE_NOOP("surveys", "Price")),
    ("environment", QT_TRANSLATE_NOOP("surveys", "Store environment")),
)


@dataclass(frozen=True)
class SurveyInput:
    scores: tuple[tuple[str, int], ...]  # (dimension code, 1..5); dimensions not asked are left out
    member_id: int | None = None
    channel: str = "counter"
    comment: str = ""
    taken_at: datetime | None = None  # default: now


@dataclass(frozen=True)
class SurveyInfo:
    id: int
    member_id: int | None
    member_name: str
    taken_at: datetime
    channel: str
    channel_name: str
    comment: str
    scores: tuple[tuple[str, int], ...]
    staff_name: str

    def to_json(self) -> dict[str, Any]:
        return jsonable(self)


@dataclass(frozen=True)
class DimensionFigures:
    """One dimension in a month, with the previous month to compare."""

    code: str
    name: str
    count: int
    total: int  # sum of the scores
    satisfied: int  # scores of 4 or 5
    previous_count: int
    previous_total: int
    dropped: bool  # the mean fell by more than the alert threshold

    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("mean", "previous_mean", "change", "satisfaction_rate")

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def previous_mean(self) -> float | None:
        return self.previous_total / self.previous_count if self.previous_count else None

    @property
    def change(self) -> float | None:
        return self.mean - self.previous_mean if self.count and self.previous_count else None

    @property
    def satisfaction_rate(self) -> Ratio:
        return Ratio(self.satisfied, self.count)


@dataclass(frozen=True)
class SurveySummary:
    month: str
    previous_month: str
    responses: int
    satisfaction_rate: Ratio  # over every score of the month
    dimensions: tuple[DimensionFigures, ...]
    drop_alert_centi: int  # the threshold used, in hundredths of a point

    @property
    def alerts(self) -> tuple[DimensionFigures, ...]:
        return tuple(d for d in self.dimensions if d.dropped)

    def to_json(self) -> dict[str, Any]:
        return jsonable(self)


# --------------------------------------------------------------------------- dimensions and settings


def list_dimensions(session: Session, *, include_inactive: bool = False) -> list[ChoiceInfo]:
    return [complaints.choice_info(r) for r in complaints.list_entries(session, SurveyDimension, include_inactive=include_inactive)]


def find_dimension(session: Session, key: str) -> ChoiceInfo:
    return complaints.choice_info(complaints.find_entry(session, SurveyDimension, key))


def add_dimension(session: Session, actor: Actor, name: str, *, code: str | None = None) -> ChoiceInfo:
    return complaints.choice_info(complaints.add_entry(session, actor, SurveyDimension, name, code=code))


def rename_dimension(session: Session, actor: Actor, code: str, name: str) -> ChoiceInfo:
    return complaints.choice_info(complaints.rename_entry(session, actor, SurveyDimension, code, name))


def set_dimension_active(session: Session, actor: Actor, code: str, active: bool) -> ChoiceInfo:
    return complaints.choice_info(complaints.set_entry_active(session, actor, SurveyDimension, code, active))


def drop_alert_centi(session: Session) -> int:
    row = session.get(SurveySettings, SETTINGS_ROW_ID)
    return row.drop_alert_centi if row else DEFAULT_DROP_ALERT_CENTI


def set_drop_alert(session: Session, actor: Actor, centi: int) -> int:
    """The fall in a monthly mean, in hundredths of a point, from which a dimension is flagged."""
    require(actor, Permission.MANAGE_COMPLAINT_SETTINGS)
    if isinstance(centi, bool) or not isinstance(centi, int) or not 1 <= centi <= MAX_DROP_ALERT_CENTI:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The alert threshold must be from 0.01 to {max} points."),
                           field="drop_alert", max=f"{MAX_DROP_ALERT_CENTI / 100:.2f}")
    row = session.get(SurveySettings, SETTINGS_ROW_ID)
    if row is None:
        row = SurveySettings(id=SETTINGS_ROW_ID)
        session.add(row)
    row.drop_alert_centi = centi
    audit.record(session, actor, "survey.settings", "survey_settings", SETTINGS_ROW_ID, drop_alert_centi=centi)
    session.flush()
    return centi


# --------------------------------------------------------------------------- taking a survey


def _check_scores(session: Session, scores: tuple[tuple[str, int], ...]) -> list[tuple[str, int]]:
    if not scores:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Score at least one question."), field="scores")
    active = {d.code for d in list_dimensions(session)}
    seen: set[str] = set()
    for code, score in scores:
        if code not in active:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{code}' is not a survey question in use."), field="scores", code=code)
        if code in seen:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{code}' is scored twice."), field="scores", code=code)
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A score runs from 1 (very dissatisfied) to 5 (very satisfied); {score} is not on the scale."),
                               field="scores", score=score)
        seen.add(code)
    return list(scores)


def add_response(session: Session, actor: Actor, data: SurveyInput, *, now: datetime | None = None,
                 request_id: str | None = None) -> SurveyInfo:
    """Record one customer's answers. Any staff may. ``request_id``: saved again after a network failure, the
    answers are recorded once (services/requests.py)."""
    now = now or datetime.now(UTC)
    requests.once(session, request_id, "survey.add", data.member_id)
    taken_at = complaints.check_time(data.taken_at or now, now, "taken_at")
    scores = _check_scores(session, data.scores)
    complaints.active_entry(session, ComplaintChannel, data.channel, "channel")
    if data.member_id is not None and session.get(Member, data.member_id) is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=data.member_id)
    response = SurveyResponse(member_id=data.member_id, taken_at=taken_at, channel=data.channel.strip(),
                              comment=complaints.clean_text(data.comment, "comment", MAX_COMMENT), staff_id=actor.staff_id, created_at=now)
    session.add(response)
    session.flush()
    session.add_all(SurveyScore(response_id=response.id, dimension=code, score=score) for code, score in scores)
    audit.record(session, actor, "survey.add", "survey_response", response.id, member_id=data.member_id, scores=dict(scores))
    requests.made(session, request_id, response.id)
    session.flush()
    return get_response(session, response.id)


def get_response(session: Session, response_id: int) -> SurveyInfo:
    row = session.execute(
        sa.select(SurveyResponse, Member.name, ComplaintChannel.name, Staff.name)
        .outerjoin(Member, Member.id == SurveyResponse.member_id)
        .outerjoin(ComplaintChannel, ComplaintChannel.code == SurveyResponse.channel)
        .outerjoin(Staff, Staff.id == SurveyResponse.staff_id)
        .where(SurveyResponse.id == response_id)
    ).first()
    if row is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No survey response with id {id}."), id=response_id)
    response, member_name, channel_name, staff_name = row
    scores = session.execute(sa.select(SurveyScore.dimension, SurveyScore.score).where(SurveyScore.response_id == response_id)
                             .order_by(SurveyScore.dimension)).all()
    return SurveyInfo(response.id, response.member_id, member_name or "", response.taken_at, response.channel,
                      channel_name or response.channel, response.comment, tuple((d, s) for d, s in scores), staff_name or "")


def recent_responses(session: Session, *, limit: int = 50) -> list[SurveyInfo]:
    ids = session.scalars(sa.select(SurveyResponse.id).order_by(SurveyResponse.taken_at.desc(), SurveyResponse.id.desc()).limit(limit))
    return [get_response(session, response_id) for response_id in ids]


# --------------------------------------------------------------------------- figures


def _month_scores(session: Session, first: date) -> dict[str, list[int]]:
    start, end = month_bounds(first)
    rows = session.execute(sa.select(SurveyScore.dimension, SurveyScore.score).join(SurveyResponse)
                           .where(SurveyResponse.taken_at >= start, SurveyResponse.taken_at < end)).all()
    found: dict[str, list[int]] = {}
    for code, score in rows:
        found.setdefault(code, []).append(score)
    return found


def _dropped(now: list[int], before: list[int], threshold_centi: int) -> bool:
    if not now or not before:
        return False
    return Fraction(sum(before), len(before)) - Fraction(sum(now), len(now)) > Fraction(threshold_centi, 100)


def monthly_summary(session: Session, month: str | date) -> SurveySummary:
    """A month's satisfaction rate, each dimension's mean and its change from the month before."""
    first = parse_month(month)
    previous = add_months(first, -1)
    current, before = _month_scores(session, first), _month_scores(session, previous)
    threshold = drop_alert_centi(session)
    rows = complaints.list_entries(session, SurveyDimension, include_inactive=True)
    shown = [r for r in rows if r.active or r.code in current or r.code in before]
    dimensions = tuple(
        DimensionFigures(r.code, r.name, len(current.get(r.code, [])), sum(current.get(r.code, [])),
                         sum(1 for s in current.get(r.code, []) if s in SATISFIED), len(before.get(r.code, [])),
                         sum(before.get(r.code, [])), _dropped(current.get(r.code, []), before.get(r.code, []), threshold))
        for r in shown
    )
    start, end = month_bounds(first)
    responses = session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)
                               .where(SurveyResponse.taken_at >= start, SurveyResponse.taken_at < end)) or 0
    every = [s for scores in current.values() for s in scores]
    return SurveySummary(f"{first:%Y-%m}", f"{previous:%Y-%m}", responses, Ratio(sum(1 for s in every if s in SATISFIED), len(every)),
                         dimensions, threshold)
