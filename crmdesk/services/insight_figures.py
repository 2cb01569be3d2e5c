"""Reading customer insight back: one member's figures, the counts per segment, ABC class, stage and tier, the
churn alerts, the dashboard's series (from the stored days and counts, so it opens at once at any size), and
turning any of those groups into a saved member group."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.errors import InvalidInput
from crmdesk.models import (
    Complaint, ComplaintCategory, InsightCount, InsightRun, Member, MemberInsight, MemberStatus, ShopDay, SurveyResponse,
    SurveyScore, Tier,
)
from crmdesk.services import insight_rules as rules
from crmdesk.services import member_query
from crmdesk.services.auth import Permission, require
from crmdesk.services.member_query import MemberFilter, money_text
from crmdesk.services.uow import Actor
from crmdesk.shop_time import day_start
from crmdesk.texts import QT_TRANSLATE_NOOP

GRAINS = ("day", "week", "month")
MAX_PERIODS = 400
Translate = Callable[[str, str], str]


def _plain(_context: str, text: str) -> str:
    return text


# --------------------------------------------------------------------------- one member


@dataclass(frozen=True)
class MemberFigures:
    as_of: date
    recency_days: int
    frequency: int
    monetary_fen: int
    r_score: int
    f_score: int
    m_score: int
    segment: str
    abc_class: str | None
    stage: str
    typical_gap_days: float
    alert: str | None
    alert_usual: float | None
    alert_now: float | None
    p_alive: float | None
    expected_purchases: float | None
    expected_value_fen: int | None

    def alert_reason(self, translate: Translate = _plain) -> str:
        """"usually every 4 days; 19 days now" (in the interface's language with ``translate``)."""
        return alert_reason(self.alert, self.alert_usual, self.alert_now, translate)

    @property
    def drifting(self) -> bool:
        """Worth a word at the counter: an alert, or a stage between active and lost -- unless they have bought since
        the refresh (note_purchase clears the alert and the recency)."""
        return self.alert is not None or (self.stage in rules.DRIFTING_STAGES and self.recency_days > 0)

    def to_json(self) -> dict[str, object]:
        return {"insight_as_of": self.as_of.isoformat(), "recency_days": self.recency_days, "frequency": self.frequency,
                "monetary_fen": self.monetary_fen, "r_score": self.r_score, "f_score": self.f_score, "m_score": self.m_score,
                "segment": self.segment, "abc_class": self.abc_class, "stage": self.stage,
                "typical_gap_days": round(self.typical_gap_days, 2), "alert": self.alert,
                "alert_reason": self.alert_reason() if self.alert else None,
                "p_alive": None if self.p_alive is None else round(self.p_alive, 4),
                "expected_purchases": None if self.expected_purchases is None else round(self.expected_purchases, 2),
                "expected_value_fen": self.expected_value_fen}


def alert_reason(alert: str | None, usual: float | None, now: float | None, translate: Translate = _plain) -> str:
    if alert is None or usual is None or now is None:
        return ""
    text = translate("insight", rules.ALERT_REASONS[alert])
    if alert == "gap":
        return text.format(usual=f"{usual:.0f}", now=f"{now:.0f}")
    return text.format(usual=money_text(round(usual)), now=money_text(round(now)))


def latest_run(session: Session) -> InsightRun | None:
    """The last refresh, detached from the session (a screen keeps it after the session ends)."""
    run = session.scalar(sa.select(InsightRun).order_by(InsightRun.id.desc()).limit(1))
    if run is not None:
        session.expunge(run)
    return run


def member_figures(session: Session, member_id: int) -> MemberFigures | None:
    """The member's figures at the last refresh, recency counted to the refresh's day; None: never bought, or no
    refresh yet."""
    run_day = session.scalar(sa.select(InsightRun.as_of).order_by(InsightRun.id.desc()).limit(1))
    row = session.get(MemberInsight, member_id)
    if row is None or run_day is None:
        return None
    return MemberFigures(run_day, row.recency_days, row.frequency, row.monetary_fen, row.r_score, row.f_score, row.m_score,
                         row.segment, row.abc_class, row.stage, row.typical_gap_days, row.alert, row.alert_usual,
                         row.alert_now, row.p_alive, row.expected_purchases, row.expected_value_fen)


# --------------------------------------------------------------------------- groups


@dataclass(frozen=True)
class GroupCount:
    kind: str  # segment, abc, stage, alert, tier
    key: str
    members: int
    spend_fen: int
    member_share: float  # of the members counted in this kind
    spend_share: float


KINDS = ("segment", "abc", "stage", "alert", "tier")
ORDER = {"segment": rules.SEGMENTS, "abc": rules.ABC_CLASSES, "stage": rules.STAGES, "alert": rules.ALERTS}
KIND_LABELS = {
    "segment": QT_TRANSLATE_NOOP("insight", "RFM segment"),
    "abc": QT_TRANSLATE_NOOP("insight", "ABC class"),
    "stage": QT_TRANSLATE_NOOP("insight", "Lifecycle stage"),
    "alert": QT_TRANSLATE_NOOP("insight", "Churn alert"),
    "tier": QT_TRANSLATE_NOOP("insight", "Tier"),
}


def check_group(kind: str, key: str) -> None:
    if kind not in KINDS or (kind in ORDER and key not in ORDER[kind]):
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "There is no group '{key}' of '{kind}'."), field="group", kind=kind, key=key)


def group_label(kind: str, key: str, translate: Translate = _plain) -> str:
    labels = {"segment": rules.SEGMENT_LABELS, "abc": rules.ABC_LABELS, "stage": rules.STAGE_LABELS,
              "alert": rules.ALERT_LABELS}.get(kind)
    if labels is None:
        return key or translate("insight", QT_TRANSLATE_NOOP("insight", "No tier"))
    return translate("insight", labels[key])


def counts(session: Session, kind: str) -> list[GroupCount]:
    """The groups of one kind at the last refresh, in the rules' order (every group, empty ones with 0)."""
    stored = {key: (n, spend) for key, n, spend in session.execute(
        sa.select(InsightCount.key, InsightCount.members, InsightCount.spend_fen).where(InsightCount.kind == kind))}
    keys = list(ORDER.get(kind, ())) or sorted(stored, key=lambda k: (-stored[k][0], k))
    members = sum(n for n, _s in stored.values()) if kind != "alert" else _customers(session)
    spend = sum(s for _n, s in stored.values()) if kind != "alert" else _window_spend(session)
    out = []
    for key in keys:
        n, s = stored.get(key, (0, 0))
        out.append(GroupCount(kind, key, n, s, n / members if members else 0.0, s / spend if spend else 0.0))
    return out


def _customers(session: Session) -> int:
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(InsightCount.members), 0)).where(InsightCount.kind == "stage")) or 0)


def _window_spend(session: Session) -> int:
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(InsightCount.spend_fen), 0)).where(InsightCount.kind == "stage")) or 0)


def group_filter(session: Session, kind: str, key: str) -> MemberFilter:
    """The member list's filter for one group: click a segment and the list shows its members."""
    check_group(kind, key)
    if kind == "segment":
        return MemberFilter(segments=(key,))
    if kind == "abc":
        return MemberFilter(abc_classes=(key,))
    if kind == "stage":
        return MemberFilter(stages=(key,))
    if kind == "alert":
        return MemberFilter(alerts=(key,))
    tier_id = session.scalar(sa.select(Tier.id).where(Tier.name == key))
    if tier_id is None:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "There is no tier called {name}."), field="tier", name=key)
    return MemberFilter(statuses=(MemberStatus.ACTIVE,), tier_ids=(tier_id,))


def save_group(session: Session, actor: Actor, kind: str, key: str, name: str) -> member_query.SavedFilterInfo:
    """The group as a saved member group (a smart group: it follows each refresh), for offers, lists and exports."""
    return member_query.save_filter(session, actor, name, group_filter(session, kind, key))


@dataclass(frozen=True)
class AlertRow:
    member_id: int
    member_no: str
    name: str
    phone: str | None
    alert: str
    usual: float
    now: float
    stage: str
    segment: str
    monetary_fen: int


def alerts(session: Session, actor: Actor, *, limit: int = 200, offset: int = 0) -> list[AlertRow]:
    """Members with a churn alert, the biggest spenders first."""
    require(actor, Permission.BROWSE_MEMBERS)
    rows = session.execute(
        sa.select(Member.id, Member.member_no, Member.name, Member.phone, MemberInsight.alert, MemberInsight.alert_usual,
                  MemberInsight.alert_now, MemberInsight.stage, MemberInsight.segment, MemberInsight.monetary_fen)
        .join(MemberInsight, MemberInsight.member_id == Member.id)
        .where(MemberInsight.alert.is_not(None), Member.status != MemberStatus.CLOSED)
        .order_by(MemberInsight.monetary_fen.desc(), Member.id).limit(limit).offset(offset))
    return [AlertRow(*row) for row in rows]


# --------------------------------------------------------------------------- the dashboard


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # the last day in it
    sales_fen: int  # refunds taken off
    receipts: int
    visits: int
    new_members: int
    points_earned: int
    points_redeemed: int
    last_year_sales_fen: int
    last_year_visits: int
    satisfaction: float | None  # average survey score (1-5) of the period; None: no survey

    @property
    def average_basket_fen(self) -> int:
        return round(self.sales_fen / self.receipts) if self.receipts else 0

    @property
    def visits_per_day(self) -> float:
        return self.visits / ((self.end - self.start).days + 1)


@dataclass(frozen=True)
class Dashboard:
    start: date
    end: date
    grain: str
    periods: list[Period]
    run: InsightRun | None
    groups: dict[str, list[GroupCount]] = field(default_factory=dict)
    complaints_by_category: list[tuple[str, int]] = field(default_factory=list)

    @property
    def totals(self) -> Period | None:
        if not self.periods:
            return None
        return Period(self.start, self.end, *(sum(getattr(p, name) for p in self.periods) for name in (
            "sales_fen", "receipts", "visits", "new_members", "points_earned", "points_redeemed", "last_year_sales_fen",
            "last_year_visits")), None)


def check_range(start: date, end: date, grain: str) -> None:
    if grain not in GRAINS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Group by day, week or month, not '{grain}'."), field="grain", grain=grain)
    if start > end:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The date range is reversed: {start} comes after {end}."),
                           field="range", start=start.isoformat(), end=end.isoformat())
    if len(period_starts(start, end, grain)) > MAX_PERIODS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "That is more than {count} bars; group by a longer period."),
                           field="grain", count=MAX_PERIODS)


def _period_start(day: date, grain: str) -> date:
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def _next_start(start: date, grain: str) -> date:
    if grain == "week":
        return start + timedelta(days=7)
    if grain == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def period_starts(start: date, end: date, grain: str) -> list[date]:
    out, current = [], _period_start(start, grain)
    while current <= end and len(out) <= MAX_PERIODS:
        out.append(current)
        current = _next_start(current, grain)
    return out


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def dashboard(session: Session, actor: Actor, start: date, end: date, grain: str = "day") -> Dashboard:
    """Sales, visits, new members, points and satisfaction per period of ``grain`` from ``start`` to ``end`` (both
    included; a period cut by the range counts its days inside it), with the same period a year earlier; the groups
    and balances at the last refresh; complaints by category in the range."""
    require(actor, Permission.VIEW_SHOP_FIGURES)
    check_range(start, end, grain)
    first_ly = _year_earlier(start)
    days = {row.day: row for row in session.scalars(sa.select(ShopDay).where(
        sa.or_(ShopDay.day.between(start, end), ShopDay.day.between(first_ly, _year_earlier(end)))))}
    scores = _daily_scores(session, start, end)
    periods = []
    for period_start in period_starts(start, end, grain):
        lo, hi = max(period_start, start), min(_next_start(period_start, grain) - timedelta(days=1), end)
        inside = [days[d] for d in _days(lo, hi) if d in days]
        before = [days[d] for d in {_year_earlier(d) for d in _days(lo, hi)} if d in days]
        rated = [s for d in _days(lo, hi) for s in scores.get(d, ())]
        periods.append(Period(
            lo, hi, sum(r.sales_fen - r.refunds_fen for r in inside), sum(r.receipts for r in inside),
            sum(r.visits for r in inside), sum(r.new_members for r in inside), sum(r.points_earned for r in inside),
            sum(r.points_redeemed for r in inside), sum(r.sales_fen - r.refunds_fen for r in before),
            sum(r.visits for r in before), sum(rated) / len(rated) if rated else None))
    complaints = session.execute(
        sa.select(sa.func.coalesce(ComplaintCategory.name, Complaint.category), sa.func.count())
        .select_from(Complaint).outerjoin(ComplaintCategory, ComplaintCategory.code == Complaint.category)
        .where(Complaint.received_at >= day_start(start), Complaint.received_at < day_start(end + timedelta(days=1)))
        .group_by(sa.func.coalesce(ComplaintCategory.name, Complaint.category)).order_by(sa.func.count().desc())).all()
    return Dashboard(start, end, grain, periods, latest_run(session), {kind: counts(session, kind) for kind in KINDS},
                     [(name, int(n)) for name, n in complaints])


def _days(lo: date, hi: date) -> list[date]:
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def _daily_scores(session: Session, start: date, end: date) -> dict[date, list[float]]:
    """Each survey's average score, by the shop's day it was taken."""
    from crmdesk.shop_time import local_day

    out: dict[date, list[float]] = {}
    for taken_at, score in session.execute(
            sa.select(SurveyResponse.taken_at, sa.func.avg(SurveyScore.score))
            .join(SurveyScore, SurveyScore.response_id == SurveyResponse.id)
            .where(SurveyResponse.taken_at >= day_start(start), SurveyResponse.taken_at < day_start(end + timedelta(days=1)))
            .group_by(SurveyResponse.id, SurveyResponse.taken_at)):
        out.setdefault(local_day(taken_at), []).append(float(score))
    return out
