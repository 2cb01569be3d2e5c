"""Customer insight kept in the database: each member's figures (RFM, ABC class, lifecycle stage, churn alert,
BG/NBD and Gamma-Gamma estimates), the settings and result of the last refresh, the counts the dashboard draws,
and the shop's figures per day.

All of it is derived: ``services.insight.refresh`` rebuilds it from purchases, points and members, so it can be
dropped and recomputed at any time and never holds anything the ledgers do not."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crmdesk.models.base import Base, UtcDateTime, utcnow

INSIGHT_SETTINGS_ROW_ID = 1


class InsightSettings(Base):
    __tablename__ = "insight_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The RFM and ABC window: frequency and spend count the purchases of the last N months.
    window_months: Mapped[int] = mapped_column(default=12)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class InsightRun(Base):
    """One refresh of every member's figures: when, as of which day, and the models it fitted."""

    __tablename__ = "insight_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date]
    window_months: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime())
    members: Mapped[int]  # members with a purchase up to as_of
    purchases: Mapped[int] = mapped_column(sa.BigInteger)
    # BG/NBD (time in days) and Gamma-Gamma (spend in fen); all None when the history is too short to trust.
    bgnbd_r: Mapped[float | None]
    bgnbd_alpha: Mapped[float | None]
    bgnbd_a: Mapped[float | None]
    bgnbd_b: Mapped[float | None]
    bgnbd_log_likelihood: Mapped[float | None]
    gg_p: Mapped[float | None]
    gg_q: Mapped[float | None]
    gg_v: Mapped[float | None]
    gg_log_likelihood: Mapped[float | None]
    model_members: Mapped[int] = mapped_column(default=0)  # the members the models were fitted on
    # Why the models were not fitted (a code: "few_members", "short_history", "no_fit"); empty when they were.
    model_note: Mapped[str] = mapped_column(sa.String(20), default="")
    # Money held for members at the refresh: stored value and credit owed (the dashboard's balance tiles).
    wallet_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    owed_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class InsightCount(Base):
    """Members and window spend per segment, ABC class, stage, alert kind and tier at the last refresh."""

    __tablename__ = "insight_count"

    kind: Mapped[str] = mapped_column(sa.String(12), primary_key=True)  # segment, abc, stage, alert, tier
    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    members: Mapped[int]
    spend_fen: Mapped[int] = mapped_column(sa.BigInteger)


class ShopDay(Base):
    """The shop's figures for one of its calendar days (kept current by each purchase, rebuilt by a refresh)."""

    __tablename__ = "shop_day"

    day: Mapped[date] = mapped_column(primary_key=True)
    sales_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    refunds_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    receipts: Mapped[int] = mapped_column(default=0)
    visits: Mapped[int] = mapped_column(default=0)  # members who bought that day (each once)
    new_members: Mapped[int] = mapped_column(default=0)
    points_earned: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    points_redeemed: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class MemberInsight(Base):
    """One member's figures at the last refresh (members who never bought have no row)."""

    __tablename__ = "member_insight"

    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)
    first_day: Mapped[date]
    last_day: Mapped[date]
    shopping_days: Mapped[int]  # distinct days with a sale, all time
    recency_days: Mapped[int]  # days from the last shopping day to the refresh's day
    frequency: Mapped[int]  # shopping days within the window
    monetary_fen: Mapped[int] = mapped_column(sa.BigInteger)  # spend within the window, refunds taken off
    r_score: Mapped[int] = mapped_column(sa.SmallInteger)
    f_score: Mapped[int] = mapped_column(sa.SmallInteger)
    m_score: Mapped[int] = mapped_column(sa.SmallInteger)
    segment: Mapped[str] = mapped_column(sa.String(20), index=True)
    abc_class: Mapped[str | None] = mapped_column(sa.String(1), index=True)  # None: nothing spent in the window
    typical_gap_days: Mapped[float]  # the member's own rhythm (the shop's typical gap for one shopping day)
    stage: Mapped[str] = mapped_column(sa.String(12), index=True)
    # A churn alert: "gap" (away far longer than usual) or "spend" (monthly spend fell far); the two figures that
    # explain it: usual and now (days, or fen per month).
    alert: Mapped[str | None] = mapped_column(sa.String(8), index=True)
    alert_usual: Mapped[float | None]
    alert_now: Mapped[float | None]
    p_alive: Mapped[float | None]
    expected_purchases: Mapped[float | None]  # in the next 12 months
    expected_value_fen: Mapped[int | None] = mapped_column(sa.BigInteger, index=True)  # in the next 12 months
