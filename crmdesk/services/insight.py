"""Customer insight: every member's RFM, ABC class, lifecycle stage, churn alert and BG/NBD estimates, rebuilt by
``refresh`` in set-based SQL (no Python loop over members), and read back by the dashboard, the member list, the
counter and the command line. The rules are in ``services.insight_rules``.

A refresh reads the purchases into temporary tables of the refresh's own connection (per member and day, then
per member), so the shop's tables are only read while it computes; it then replaces the stored figures one
range of members at a time, each a short write transaction, so tills recording sales are not held up. The
dashboard's counts and the shop's days are written last, with the run's record, in one transaction.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.functions import FunctionElement

from crmdesk import shop_time
from crmdesk.db import Database, widened_page_cache
from crmdesk.errors import InvalidInput
from crmdesk.models import (
    INSIGHT_SETTINGS_ROW_ID, InsightCount, InsightRun, InsightSettings, Member, MemberInsight, MemberStatus, PointsEntry,
    PointsKind, Purchase, PurchaseKind, ShopDay, Tier,
)
from crmdesk.services import audit
from crmdesk.services import insight_rules as rules
from crmdesk.services.auth import Permission, require
from crmdesk.services.driver_sql import DriverStatement
from crmdesk.services.uow import Actor, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP

if TYPE_CHECKING:
    from crmdesk.services import clv_model  # numpy and scipy load only when a model is fitted

EPOCH = date(1970, 1, 1)
SHOP_OFFSET_SECONDS = int(shop_time.SHOP_ZONE.utcoffset(None).total_seconds())  # type: ignore[union-attr]
WRITE_CHUNK = 50_000  # members replaced per write transaction
MODEL_SAMPLE = 100_000  # members the models are fitted on at most (every k-th, by id); all get their estimates
MAX_WINDOW_MONTHS = 60
SORT_CACHE_KIB = 131_072  # the refresh connection's page cache while it sorts (SQLite)


class Cancelled(Exception):
    """The person cancelled the refresh; nothing stored was changed by it."""


# --------------------------------------------------------------------------- SQL helpers


class shop_day_number(FunctionElement[int]):
    """The shop's calendar day of a stored moment as days since 1970-01-01 (an integer, cheap to subtract)."""

    type = sa.Integer()
    inherit_cache = True


@compiles(shop_day_number, "sqlite")
def _day_number_sqlite(element: shop_day_number, compiler: sa.sql.compiler.SQLCompiler, **kw: object) -> str:
    (moment,) = element.clauses
    return f"((CAST(strftime('%s', {compiler.process(moment, **kw)}) AS INTEGER) + {SHOP_OFFSET_SECONDS}) / 86400)"


@compiles(shop_day_number)
def _day_number_default(element: shop_day_number, compiler: sa.sql.compiler.SQLCompiler, **kw: object) -> str:
    (moment,) = element.clauses
    return f"CAST(floor((extract(epoch from {compiler.process(moment, **kw)}) + {SHOP_OFFSET_SECONDS}) / 86400) AS INTEGER)"


def day_number(day: date) -> int:
    return (day - EPOCH).days


def from_day_number(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


def _greatest(a: sa.ColumnElement[float], b: float) -> sa.ColumnElement[float]:
    return sa.case((a > b, a), else_=sa.literal(b))


def _months_before(day: date, months: int) -> date:
    """The same calendar day ``months`` earlier (the month's last day where it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


_temp = sa.MetaData()
VISIT = sa.Table(  # one row per member and shop day with a purchase or refund
    "insight_visit", _temp,
    sa.Column("member_id", sa.Integer), sa.Column("day", sa.Integer), sa.Column("sales", sa.BigInteger),
    sa.Column("refunds", sa.BigInteger), sa.Column("receipts", sa.Integer),
    prefixes=["TEMPORARY"],
)
FIGURES = sa.Table(  # one row per member who bought: the figures being computed
    "insight_member", _temp,
    sa.Column("member_id", sa.Integer, primary_key=True),
    sa.Column("first_day", sa.Integer), sa.Column("last_day", sa.Integer), sa.Column("days", sa.Integer),
    sa.Column("frequency", sa.Integer), sa.Column("gap_squares", sa.Float), sa.Column("last_gap", sa.Integer),
    sa.Column("monetary", sa.BigInteger), sa.Column("spend_all", sa.BigInteger), sa.Column("spend_recent", sa.BigInteger),
    sa.Column("spend_before", sa.BigInteger), sa.Column("recency", sa.Integer), sa.Column("gap", sa.Float),
    sa.Column("r_score", sa.Integer), sa.Column("f_score", sa.Integer), sa.Column("m_score", sa.Integer),
    sa.Column("segment", sa.String(20)), sa.Column("abc_class", sa.String(1)), sa.Column("stage", sa.String(12)),
    sa.Column("alert", sa.String(8)), sa.Column("alert_usual", sa.Float), sa.Column("alert_now", sa.Float),
    sa.Column("p_alive", sa.Float), sa.Column("expected_purchases", sa.Float), sa.Column("expected_value_fen", sa.BigInteger),
    prefixes=["TEMPORARY"],
)
ABC_RANK = sa.Table(
    "insight_abc", _temp, sa.Column("member_id", sa.Integer, primary_key=True), sa.Column("before", sa.BigInteger),
    prefixes=["TEMPORARY"],
)
MODEL = sa.Table(  # the BG/NBD estimates per distinct (x, t_x, T)
    "insight_model", _temp,
    sa.Column("x", sa.Integer, primary_key=True), sa.Column("t_x", sa.Integer, primary_key=True),
    sa.Column("big_t", sa.Integer, primary_key=True), sa.Column("p_alive", sa.Float), sa.Column("expected", sa.Float),
    prefixes=["TEMPORARY"],
)


# --------------------------------------------------------------------------- kept current by each purchase


_DAY_FIGURES = ("sales_fen", "refunds_fen", "receipts", "visits", "points_earned")


@functools.cache
def _add_to_shop_day(dialect: str) -> DriverStatement:
    """INSERT the day's figures, or add them to the day's row: built once, run by every sale."""
    insert = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(ShopDay).values(
        day=sa.bindparam("day"), new_members=0, points_redeemed=0, **{name: sa.bindparam(name) for name in _DAY_FIGURES})
    return DriverStatement(insert.on_conflict_do_update(
        index_elements=[ShopDay.day], set_={name: getattr(ShopDay, name) + getattr(insert.excluded, name) for name in _DAY_FIGURES}))


_SALE_ON_MEMBER = DriverStatement(sa.update(MemberInsight).where(MemberInsight.member_id == sa.bindparam("member")).values(
    last_day=sa.case((MemberInsight.last_day < sa.bindparam("day"), sa.bindparam("day")), else_=MemberInsight.last_day),
    recency_days=0, shopping_days=MemberInsight.shopping_days + sa.bindparam("new_day"),
    frequency=MemberInsight.frequency + sa.bindparam("new_day"), monetary_fen=MemberInsight.monetary_fen + sa.bindparam("amount"),
    alert=None, alert_usual=None, alert_now=None))
_REFUND_ON_MEMBER = DriverStatement(sa.update(MemberInsight).where(MemberInsight.member_id == sa.bindparam("member")).values(
    monetary_fen=sa.case((MemberInsight.monetary_fen > sa.bindparam("amount"), MemberInsight.monetary_fen - sa.bindparam("amount")),
                         else_=0)))


def note_purchase(session: Session, member_id: int, occurred_at: datetime, amount_fen: int, *, new_day: bool,
                  refund: bool = False, points: int = 0) -> None:
    """The cheap part of a refresh, done with each sale or refund at the counter: the shop's day (sales, refunds,
    receipts, visits, points earned) and the member's recency, frequency and spend. Stages, scores and the model
    wait for the next refresh; a sale clears the member's churn alert (they came back). Statements built once and
    run on the session's connection: this is part of every sale at the till."""
    day = shop_time.local_day(occurred_at)
    connection = session.connection()
    _add_to_shop_day(connection.dialect.name).run(connection, {
        "day": day, "sales_fen": 0 if refund else amount_fen, "refunds_fen": amount_fen if refund else 0,
        "receipts": 0 if refund else 1, "visits": int(new_day and not refund), "points_earned": points})
    if refund:
        _REFUND_ON_MEMBER.run(connection, {"member": member_id, "amount": amount_fen})
    else:
        _SALE_ON_MEMBER.run(connection, {"member": member_id, "day": day, "new_day": int(new_day), "amount": amount_fen})


# --------------------------------------------------------------------------- settings


def settings(session: Session) -> InsightSettings:
    row = session.get(InsightSettings, INSIGHT_SETTINGS_ROW_ID)
    if row is None:  # a database created before the settings row was seeded
        row = InsightSettings(id=INSIGHT_SETTINGS_ROW_ID, window_months=12)
        session.add(row)
        session.flush()
    return row


def set_window(session: Session, actor: Actor, months: int) -> None:
    """The RFM and ABC window in months (1-60): the owner's choice."""
    require(actor, Permission.CHANGE_SETTINGS)
    if not 1 <= months <= MAX_WINDOW_MONTHS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The window must be from 1 to {most} months, not {months}."),
                           field="window_months", most=MAX_WINDOW_MONTHS, months=months)
    row = settings(session)
    if row.window_months != months:
        audit.record(session, actor, "insight.window", "insight_settings", row.id, old=row.window_months, new=months)
        row.window_months = months


# --------------------------------------------------------------------------- the refresh


@dataclass(frozen=True)
class RefreshResult:
    as_of: date
    members: int
    purchases: int
    seconds: float
    fit: clv_model.BgNbdFit | None
    spend_fit: clv_model.GammaGammaFit | None
    model_note: str


Progress = Callable[[float, str], None]


def refresh(db: Database, actor: Actor, *, as_of: date | None = None, progress: Progress | None = None,
            cancelled: Callable[[], bool] | None = None) -> RefreshResult:
    """Recompute every member's figures and the dashboard's aggregates as of the end of ``as_of`` (the shop's
    day; today by default). ``progress(fraction, step)`` is told how far it is; ``cancelled()`` is asked between
    steps, and a cancelled refresh leaves the stored figures as they were (Cancelled is raised)."""
    require(actor, Permission.VIEW_SHOP_FIGURES)
    as_of = as_of or shop_time.today()
    started = shop_time.now()
    with unit_of_work(db) as session:
        window = settings(session).window_months

    def step(fraction: float, what: str) -> None:
        if cancelled is not None and cancelled():
            raise Cancelled()
        if progress is not None:
            progress(fraction, what)

    # SQLite sorts the refresh's groups in memory up to SORT_CACHE_KIB before spilling sorted runs to temporary
    # files (the default 2 MB spills a ten-million-row sort many times over).
    with db.engine.connect() as conn, widened_page_cache(conn, SORT_CACHE_KIB):
        try:
            _drop_temp(conn)
            with conn.begin():
                step(0.0, QT_TRANSLATE_NOOP("insight", "Reading purchases"))
                _fill_visits(conn, as_of)
                step(0.25, QT_TRANSLATE_NOOP("insight", "Figures per member"))
                members, purchases = _fill_figures(conn, as_of, window)
                step(0.45, QT_TRANSLATE_NOOP("insight", "Scores, segments and classes"))
                _score(conn)
                _abc(conn)
                _stage_and_alerts(conn, as_of)
                step(0.6, QT_TRANSLATE_NOOP("insight", "Fitting the purchase model"))
                fit, spend_fit, note, model_members = _fit_models(conn, as_of)
            step(0.75, QT_TRANSLATE_NOOP("insight", "Saving"))
            _store_members(conn, step)
            step(0.95, QT_TRANSLATE_NOOP("insight", "Dashboard figures"))
            _store_summary(conn, as_of, window, started, members, purchases, fit, spend_fit, note, model_members)
        finally:
            if conn.in_transaction():
                conn.rollback()
            _drop_temp(conn)
    if progress is not None:
        progress(1.0, QT_TRANSLATE_NOOP("insight", "Done"))
    return RefreshResult(as_of, members, purchases, (shop_time.now() - started).total_seconds(), fit, spend_fit, note)


@dataclass(frozen=True)
class FitResult:
    calibration_end: date
    fit: clv_model.BgNbdFit | None
    spend_fit: clv_model.GammaGammaFit | None
    model_note: str
    members: int  # members with a purchase by the calibration end
    holdout_days: int  # days after the calibration end up to today
    predicted_holdout: float | None  # shopping days the model expects of those members in the holdout
    actual_holdout: int  # shopping days they had


def fit(db: Database, actor: Actor, *, calibration_end: date | None = None, today: date | None = None) -> FitResult:
    """Fit BG/NBD and Gamma-Gamma on the purchases up to ``calibration_end`` without storing anything; when that is
    before ``today``, compare the shopping days the model expects in the days since with those that happened."""
    require(actor, Permission.VIEW_SHOP_FIGURES)
    today = today or shop_time.today()
    calibration_end = calibration_end or today
    if calibration_end > today:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The calibration cannot end after today ({today})."),
                           field="calibration_end", today=today.isoformat())
    with db.engine.connect() as conn, widened_page_cache(conn, SORT_CACHE_KIB):
        try:
            _drop_temp(conn)
            with conn.begin():
                _fill_visits(conn, today)
                conn.execute(sa.delete(VISIT).where(VISIT.c.day > day_number(calibration_end)))
                members, _purchases = _fill_figures(conn, calibration_end, 12)
                bg, gg, note, _used = _fit_models(conn, calibration_end)
                holdout = (today - calibration_end).days
                predicted, actual = None, 0
                if holdout > 0:
                    _fill_visits_again(conn, today)
                    actual = int(conn.scalar(sa.select(sa.func.count()).select_from(VISIT).where(
                        VISIT.c.day > day_number(calibration_end), VISIT.c.receipts > 0,
                        VISIT.c.member_id.in_(sa.select(FIGURES.c.member_id)))) or 0)
                    if bg is not None:
                        predicted = _predicted_total(conn, bg, calibration_end, holdout)
        finally:
            if conn.in_transaction():
                conn.rollback()
            _drop_temp(conn)
    return FitResult(calibration_end, bg, gg, note, members, holdout, predicted, actual)


def _fill_visits_again(conn: sa.Connection, as_of: date) -> None:
    VISIT.drop(conn)
    _fill_visits(conn, as_of)


def _predicted_total(conn: sa.Connection, bg: clv_model.BgNbdFit, calibration_end: date, days: int) -> float:
    import numpy as np

    from crmdesk.services import clv_model

    f = FIGURES.c
    x, t_x, big_t = f.days - 1, f.last_day - f.first_day, day_number(calibration_end) - f.first_day
    data = np.array(conn.execute(sa.select(x, t_x, big_t, sa.func.count()).group_by(x, t_x, big_t)).all(), dtype=float)
    expected = clv_model.expected_purchases(bg, days, data[:, 0], data[:, 1], data[:, 2])
    return float((expected * data[:, 3]).sum())


def _drop_temp(conn: sa.Connection) -> None:
    with conn.begin():
        for table in (MODEL, ABC_RANK, FIGURES, VISIT):
            table.drop(conn, checkfirst=True)


def _read_in_table_order(conn: sa.Connection, column: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    """On SQLite, the column as an expression no index serves (unary +), for the member and the time: the refresh then
    reads the table straight through and sorts, instead of walking (or skip-scanning) the member-and-time index and
    fetching every purchase row by its id -- ten million random reads, measured 2.5x slower at that size."""
    if conn.dialect.name != "sqlite":
        return column
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


def _fill_visits(conn: sa.Connection, as_of: date) -> None:
    VISIT.create(conn)
    day = shop_day_number(Purchase.occurred_at)
    is_sale = Purchase.kind == PurchaseKind.SALE
    per_day = (
        sa.select(Purchase.member_id, day.label("day"),
                  sa.func.sum(sa.case((is_sale, Purchase.amount_fen), else_=0)),
                  sa.func.sum(sa.case((is_sale, 0), else_=Purchase.amount_fen)),
                  sa.func.sum(sa.case((is_sale, 1), else_=0)))
        .where(_read_in_table_order(conn, Purchase.occurred_at) < shop_time.day_start(as_of + timedelta(days=1)))
        .group_by(_read_in_table_order(conn, Purchase.member_id), day)
    )
    conn.execute(sa.insert(VISIT).from_select(["member_id", "day", "sales", "refunds", "receipts"], per_day))


def _fill_figures(conn: sa.Connection, as_of: date, window_months: int) -> tuple[int, int]:
    """Per member: first and last shopping day, shopping days, the window's frequency and spend, the gaps' squares,
    the gap before the last visit, and spend in the last 30 days and the 6 months before them."""
    FIGURES.create(conn)
    today = day_number(as_of)
    window_start = day_number(_months_before(as_of, window_months)) + 1
    v = VISIT.c
    ordered = {"partition_by": v.member_id, "order_by": v.day}
    gaps = (sa.select(v.member_id, v.day, (v.day - sa.func.lag(v.day).over(**ordered)).label("gap"),
                      sa.func.lead(v.day).over(**ordered).label("next_day"))
            .where(v.receipts > 0).subquery())
    visits = (
        sa.select(gaps.c.member_id, sa.func.min(gaps.c.day).label("first_day"), sa.func.max(gaps.c.day).label("last_day"),
                  sa.func.count().label("days"),
                  sa.func.sum(sa.case((gaps.c.day >= window_start, 1), else_=0)).label("frequency"),
                  sa.func.coalesce(sa.func.sum(sa.cast(gaps.c.gap, sa.Float) * gaps.c.gap), 0.0).label("gap_squares"),
                  sa.func.max(sa.case((gaps.c.next_day.is_(None), gaps.c.gap))).label("last_gap"))
        .group_by(gaps.c.member_id).subquery()
    )
    net = v.sales - v.refunds
    recent_from = today - 29
    before_from = recent_from - 30 * rules.SPEND_ALERT_MONTHS
    window_spend = sa.func.sum(sa.case((v.day >= window_start, net), else_=0))
    money = (
        sa.select(v.member_id,
                  sa.case((window_spend > 0, window_spend), else_=0).label("monetary"),
                  sa.func.sum(net).label("spend_all"),
                  sa.func.sum(sa.case((v.day >= recent_from, net), else_=0)).label("spend_recent"),
                  sa.func.sum(sa.case((sa.and_(v.day >= before_from, v.day < recent_from), net), else_=0)).label("spend_before"))
        .group_by(v.member_id).subquery()
    )
    # Two grouped passes over the member-days, joined once (a correlated lookup per member would scan them per member).
    columns = ["member_id", "first_day", "last_day", "days", "frequency", "gap_squares", "last_gap", "monetary", "spend_all",
               "spend_recent", "spend_before", "recency"]
    conn.execute(sa.insert(FIGURES).from_select(columns, sa.select(
        visits.c.member_id, visits.c.first_day, visits.c.last_day, visits.c.days, visits.c.frequency, visits.c.gap_squares,
        visits.c.last_gap, money.c.monetary, money.c.spend_all, money.c.spend_recent, money.c.spend_before,
        today - visits.c.last_day).join_from(visits, money, money.c.member_id == visits.c.member_id)))
    f = FIGURES.c
    # The member's rhythm: the mean gap; one shopping day only: the shop's median rhythm.
    conn.execute(sa.update(FIGURES).where(f.days > 1).values(
        gap=sa.cast(f.last_day - f.first_day, sa.Float) / (f.days - 1)))
    regulars = conn.scalar(sa.select(sa.func.count()).where(f.days > 1)) or 0
    shop_gap = rules.DEFAULT_GAP_DAYS
    if regulars:
        shop_gap = float(conn.scalar(sa.select(f.gap).where(f.days > 1).order_by(f.gap).offset(regulars // 2).limit(1)))
    conn.execute(sa.update(FIGURES).where(f.days == 1).values(gap=shop_gap))
    members = conn.scalar(sa.select(sa.func.count()).select_from(FIGURES)) or 0
    purchases = conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(v.receipts), 0))) or 0
    return int(members), int(purchases)


def quintile_cuts(conn: sa.Connection, column: sa.ColumnElement[int]) -> list[int]:
    """c_1..c_4: the values at positions ceil(k*n/5) of the members' values sorted ascending (insight_rules), read
    from one grouped, sorted pass (how many members have each value)."""
    cuts: list[int] = []
    seen, k, n = 0, 1, None
    histogram = conn.execute(sa.select(column, sa.func.count()).group_by(column).order_by(column)).all()
    n = sum(count for _value, count in histogram)
    for value, count in histogram:
        seen += count
        while k <= 4 and seen >= math.ceil(k * n / 5):
            cuts.append(int(value))
            k += 1
    return cuts + [0] * (4 - len(cuts))


def _above(column: sa.ColumnElement[int], cuts: list[int]) -> sa.ColumnElement[int]:
    return sum((sa.case((column > cut, 1), else_=0) for cut in cuts), sa.literal(0))


def _score(conn: sa.Connection) -> None:
    f = FIGURES.c
    r_cuts, f_cuts, m_cuts = (quintile_cuts(conn, c) for c in (f.recency, f.frequency, f.monetary))
    conn.execute(sa.update(FIGURES).values(
        r_score=5 - _above(f.recency, r_cuts), f_score=1 + _above(f.frequency, f_cuts), m_score=1 + _above(f.monetary, m_cuts)))
    high = rules.HIGH_SCORE
    conn.execute(sa.update(FIGURES).values(segment=sa.case(
        *(((sa.and_(f.r_score >= high if r else f.r_score < high, f.f_score >= high if fr else f.f_score < high,
                    f.m_score >= high if m else f.m_score < high)), name) for (r, fr, m), name in rules.SEGMENT_OF.items()))))


def _abc(conn: sa.Connection) -> None:
    f = FIGURES.c
    ABC_RANK.create(conn)
    before = (sa.func.sum(f.monetary).over(order_by=(f.monetary.desc(), f.member_id), rows=(None, 0)) - f.monetary)
    conn.execute(sa.insert(ABC_RANK).from_select(["member_id", "before"], sa.select(f.member_id, before).where(f.monetary > 0)))
    total = int(conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(f.monetary), 0)).where(f.monetary > 0)) or 0)
    a_share, b_share = rules.ABC_SHARES
    rank = sa.select(ABC_RANK.c.before).where(ABC_RANK.c.member_id == f.member_id).scalar_subquery()
    conn.execute(sa.update(FIGURES).where(f.monetary > 0).values(abc_class=sa.case(
        (rank * 100 < a_share * total, "A"), (rank * 100 < b_share * total, "B"), else_="C")))


def _stage_and_alerts(conn: sa.Connection, as_of: date) -> None:
    f = FIGURES.c
    today = day_number(as_of)
    gap, recency = f.gap, f.recency

    def within(stage: str) -> sa.ColumnElement[bool]:
        _name, times, floor = next(limit for limit in rules.STAGE_LIMITS if limit[0] == stage)
        return recency <= _greatest(gap * times, floor)

    # The rhythm before the last visit (for "won back"): without that last gap.
    gap_before = sa.case((f.days > 2, sa.cast(f.last_day - f.last_gap - f.first_day, sa.Float) / (f.days - 2)),
                         else_=sa.literal(rules.DEFAULT_GAP_DAYS))
    _n, lapsed_times, lapsed_floor = rules.STAGE_LIMITS[-1]
    was_lapsed = sa.and_(f.days > 1, f.last_gap > _greatest(gap_before * lapsed_times, lapsed_floor))
    conn.execute(sa.update(FIGURES).values(stage=sa.case(
        (f.first_day > today - rules.NEW_DAYS, "new"),
        (sa.and_(within("active"), was_lapsed), "won_back"),
        (within("active"), "active"),
        (within("cooling"), "cooling"),
        (within("at_risk"), "at_risk"),
        (sa.and_(within("lapsed"), recency <= rules.LOST_AFTER_DAYS), "lapsed"),
        else_="lost")))
    # Gap outlier: (recency - mean) > 3 sd, written without a square root: (recency - mean)^2 > 9 var.
    gaps = f.days - 1
    variance = f.gap_squares / gaps - gap * gap
    excess = recency - gap
    conn.execute(sa.update(FIGURES).where(
        f.days >= rules.ALERT_MIN_DAYS, f.stage != "lost", recency >= 7, recency >= 2 * gap, excess > 0,
        excess * excess > rules.ALERT_SIGMAS ** 2 * variance,
    ).values(alert="gap", alert_usual=gap, alert_now=recency))
    months = rules.SPEND_ALERT_MONTHS
    conn.execute(sa.update(FIGURES).where(
        f.alert.is_(None), recency < 30, f.first_day <= today - 30 * (months + 1),
        f.spend_before >= rules.SPEND_ALERT_MIN_MONTHLY_FEN * months,
        f.spend_recent * months * rules.SPEND_ALERT_FALL < f.spend_before,
    ).values(alert="spend", alert_usual=sa.cast(f.spend_before, sa.Float) / months, alert_now=f.spend_recent))


def _fit_models(conn: sa.Connection, as_of: date) -> tuple[clv_model.BgNbdFit | None, clv_model.GammaGammaFit | None, str, int]:
    """Fit BG/NBD on every member's (x, t_x, T) -- read grouped, so a million members are a few thousand rows --
    and Gamma-Gamma on the spend per shopping day of those who came back; store each member's estimates."""
    import numpy as np

    f = FIGURES.c
    today = day_number(as_of)
    x, t_x, big_t = f.days - 1, f.last_day - f.first_day, today - f.first_day
    rows = conn.execute(sa.select(x, t_x, big_t, sa.func.count()).group_by(x, t_x, big_t)).all()
    if not rows:
        return None, None, "few_members", 0
    data = np.array(rows, dtype=float)
    returning = int(data[data[:, 0] > 0, 3].sum())
    customers = int(data[:, 3].sum())
    if returning < rules.MIN_RETURNING:
        return None, None, "few_members", customers
    if data[:, 2].max() < rules.MIN_HISTORY_DAYS:
        return None, None, "short_history", customers
    from crmdesk.services import clv_model

    try:
        # Four parameters need no million members: fit on every k-th member (by id), at most MODEL_SAMPLE of them.
        stride = max(1, -(-customers // MODEL_SAMPLE))
        sample = data if stride == 1 else np.array(conn.execute(
            sa.select(x, t_x, big_t, sa.func.count()).where(f.member_id % stride == 0).group_by(x, t_x, big_t)).all(),
            dtype=float)
        fit = clv_model.fit_bgnbd(sample[:, 0], sample[:, 1], sample[:, 2], weights=sample[:, 3])
        alive = clv_model.p_alive(fit, data[:, 0], data[:, 1], data[:, 2])
        expected = clv_model.expected_purchases(fit, rules.HORIZON_DAYS, data[:, 0], data[:, 1], data[:, 2])
        step_rows = max(1, -(-returning // MODEL_SAMPLE))
        spend = conn.execute(sa.select(x, sa.cast(f.spend_all, sa.Float) / f.days)
                             .where(f.days > 1, f.spend_all > 0, f.member_id % step_rows == 0)).all()
        spend_data = np.array(spend, dtype=float).reshape(-1, 2)
        spend_fit = clv_model.fit_gamma_gamma(spend_data[:, 0], spend_data[:, 1])
    except (ValueError, FloatingPointError, ArithmeticError):
        return None, None, "no_fit", customers
    if not (np.all(np.isfinite(alive)) and np.all(np.isfinite(expected))) or spend_fit.q <= 1:
        return None, None, "no_fit", customers
    MODEL.create(conn)
    conn.execute(sa.insert(MODEL), [
        {"x": int(a), "t_x": int(b), "big_t": int(c), "p_alive": float(p), "expected": float(e)}
        for (a, b, c, _n), p, e in zip(rows, alive, expected, strict=True)])
    m = MODEL.c
    match = sa.and_(m.x == x, m.t_x == t_x, m.big_t == big_t)
    conn.execute(sa.update(FIGURES).values(
        p_alive=sa.select(m.p_alive).where(match).scalar_subquery(),
        expected_purchases=sa.select(m.expected).where(match).scalar_subquery()))
    # Gamma-Gamma's conditional mean spend per visit: (p (v + x m)) / (p x + q - 1); the population mean without repeats.
    p, q, v = spend_fit.p, spend_fit.q, spend_fit.v
    mean_spend = sa.cast(f.spend_all, sa.Float) / f.days
    per_visit = sa.case((sa.and_(f.days > 1, f.spend_all > 0), (p * (v + x * mean_spend)) / (p * x + q - 1)),
                        else_=sa.literal(p * v / (q - 1)))
    conn.execute(sa.update(FIGURES).values(expected_value_fen=sa.cast(sa.func.round(f.expected_purchases * per_visit), sa.BigInteger)))
    return fit, spend_fit, "", fit.customers


def _store_members(conn: sa.Connection, step: Callable[[float, str], None]) -> None:
    """Replace member_insight one range of member ids at a time (short write transactions: tills keep selling)."""
    f = FIGURES.c
    with conn.begin():
        top = int(conn.scalar(sa.select(sa.func.max(Member.id))) or 0)
    conn.execution_options(crmdesk_write=True)
    columns = ["member_id", "first_day", "last_day", "shopping_days", "recency_days", "frequency", "monetary_fen", "r_score",
               "f_score", "m_score", "segment", "abc_class", "typical_gap_days", "stage", "alert", "alert_usual",
               "alert_now", "p_alive", "expected_purchases", "expected_value_fen"]
    as_date = (sa.func.date(f.first_day * 86400, "unixepoch"), sa.func.date(f.last_day * 86400, "unixepoch")) \
        if conn.dialect.name == "sqlite" else (sa.literal(EPOCH) + f.first_day, sa.literal(EPOCH) + f.last_day)
    source = sa.select(f.member_id, *as_date, f.days, f.recency, f.frequency, f.monetary, f.r_score, f.f_score, f.m_score,
                       f.segment, f.abc_class, f.gap, f.stage, f.alert, f.alert_usual, f.alert_now, f.p_alive,
                       f.expected_purchases, f.expected_value_fen)
    for low in range(0, top + 1, WRITE_CHUNK):
        high = low + WRITE_CHUNK
        with conn.begin():
            conn.execute(sa.delete(MemberInsight).where(MemberInsight.member_id >= low, MemberInsight.member_id < high))
            conn.execute(sa.insert(MemberInsight).from_select(columns, source.where(f.member_id >= low, f.member_id < high)))
        step(0.75 + 0.2 * min(high, top) / max(top, 1), QT_TRANSLATE_NOOP("insight", "Saving"))
    conn.execution_options(crmdesk_write=False)


def _store_summary(conn: sa.Connection, as_of: date, window: int, started: datetime, members: int,
                   purchases: int, fit: clv_model.BgNbdFit | None, spend_fit: clv_model.GammaGammaFit | None,
                   note: str, model_members: int) -> None:
    f, v = FIGURES.c, VISIT.c
    counts = []
    for kind, column in (("segment", f.segment), ("abc", f.abc_class), ("stage", f.stage), ("alert", f.alert)):
        for key, n, spend in conn.execute(sa.select(column, sa.func.count(), sa.func.coalesce(sa.func.sum(f.monetary), 0))
                                          .where(column.is_not(None)).group_by(column)):
            counts.append({"kind": kind, "key": key, "members": int(n), "spend_fen": int(spend)})
    active = Member.status == MemberStatus.ACTIVE
    for tier_name, n in conn.execute(sa.select(sa.func.coalesce(Tier.name, ""), sa.func.count(Member.id))
                                     .select_from(Member).outerjoin(Tier, Tier.id == Member.tier_id)
                                     .where(active).group_by(Tier.name)):
        counts.append({"kind": "tier", "key": tier_name[:40], "members": int(n), "spend_fen": 0})
    day_rows = {int(d): {"day": from_day_number(d), "sales_fen": int(s), "refunds_fen": int(r), "receipts": int(n),
                         "visits": int(vis), "new_members": 0, "points_earned": 0, "points_redeemed": 0}
                for d, s, r, n, vis in conn.execute(sa.select(
                    v.day, sa.func.sum(v.sales), sa.func.sum(v.refunds), sa.func.sum(v.receipts),
                    sa.func.sum(sa.case((v.receipts > 0, 1), else_=0))).group_by(v.day))}

    def day_of(number: int) -> dict[str, object]:
        return day_rows.setdefault(number, {"day": from_day_number(number), "sales_fen": 0, "refunds_fen": 0, "receipts": 0,
                                            "visits": 0, "new_members": 0, "points_earned": 0, "points_redeemed": 0})

    last = day_number(as_of)
    for joined, n in conn.execute(sa.select(Member.joined_on, sa.func.count()).where(Member.joined_on <= as_of)
                                  .group_by(Member.joined_on)):
        day_of(day_number(joined if isinstance(joined, date) else date.fromisoformat(str(joined))))["new_members"] = int(n)
    points_day = shop_day_number(PointsEntry.at)
    for d, earned, redeemed in conn.execute(
            sa.select(points_day, sa.func.sum(sa.case((PointsEntry.kind == PointsKind.EARN, PointsEntry.points), else_=0)),
                      sa.func.sum(sa.case((PointsEntry.kind == PointsKind.REDEEM, -PointsEntry.points), else_=0)))
            .where(PointsEntry.at < shop_time.day_start(as_of + timedelta(days=1))).group_by(points_day)):
        if int(d) <= last:
            row = day_of(int(d))
            row["points_earned"], row["points_redeemed"] = int(earned or 0), int(redeemed or 0)
    wallet, owed = conn.execute(sa.select(
        sa.func.coalesce(sa.func.sum(Member.wallet_principal_fen + Member.wallet_bonus_fen), 0),
        sa.func.coalesce(sa.func.sum(Member.credit_owed_fen), 0))).one()
    conn.commit()  # the reads' transaction; the stored figures are replaced in one write transaction
    conn.execution_options(crmdesk_write=True)
    with conn.begin():
        conn.execute(sa.delete(InsightCount))
        if counts:
            conn.execute(sa.insert(InsightCount), counts)
        conn.execute(sa.delete(ShopDay).where(ShopDay.day <= as_of))
        if day_rows:
            conn.execute(sa.insert(ShopDay), list(day_rows.values()))
        run = {"as_of": as_of, "window_months": window, "started_at": started, "finished_at": shop_time.now(),
               "members": members, "purchases": purchases, "model_members": model_members, "model_note": note,
               "wallet_fen": int(wallet), "owed_fen": int(owed)}
        if fit is not None and spend_fit is not None:
            run.update(bgnbd_r=fit.r, bgnbd_alpha=fit.alpha, bgnbd_a=fit.a, bgnbd_b=fit.b,
                       bgnbd_log_likelihood=fit.log_likelihood, gg_p=spend_fit.p, gg_q=spend_fit.q, gg_v=spend_fit.v,
                       gg_log_likelihood=spend_fit.log_likelihood)
        conn.execute(sa.insert(InsightRun).values(**run))
