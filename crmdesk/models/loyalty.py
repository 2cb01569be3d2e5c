"""Tiers and the append-only points ledger."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crmdesk.models.base import Base, UtcDateTime, str_enum, utcnow

RULES_STAMP_ROW_ID = 1


class Tier(Base):
    __tablename__ = "tier"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    rank: Mapped[int] = mapped_column(unique=True)  # 0 = entry tier
    # Spend over the last 12 months, in fen, that qualifies for the tier.
    min_spend_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Multiplier in percent (100 = x1) and discount in basis points (500 = 5 %): no floats.
    points_multiplier_pct: Mapped[int] = mapped_column(default=100)
    discount_bp: Mapped[int] = mapped_column(default=0)
    colour: Mapped[str] = mapped_column(sa.String(9), default="#808080")


class PointsKind(enum.Enum):
    EARN = "earn"
    REDEEM = "redeem"
    REFUND_REVERSAL = "refund"
    ADJUSTMENT = "adjustment"
    EXPIRY = "expiry"
    GOODWILL = "goodwill"
    IMPORT = "import"


class PointsEntry(Base):
    """One movement of points. Entries are never updated or deleted; the balance is their sum."""

    __tablename__ = "points_entry"
    __table_args__ = (
        sa.Index("ix_points_entry_member_at", "member_id", "at"),
        # Goodwill given for a complaint: only such entries are in it.
        sa.Index("ix_points_entry_complaint_id", "complaint_id", sqlite_where=sa.text("complaint_id IS NOT NULL"),
                 postgresql_where=sa.text("complaint_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    kind: Mapped[PointsKind] = mapped_column(str_enum(PointsKind))
    points: Mapped[int]  # signed: earnings positive, redemptions and expiry negative
    expires_on: Mapped[date | None]
    purchase_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaint.id"))
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(sa.String(300), default="")


class ExpiryMode(enum.Enum):
    CALENDAR = "calendar"  # end of the calendar year after the one the points were earned in
    ROLLING = "rolling"  # a number of months after earning


class LoyaltyRules(Base):
    """The owner's points rules: one row. Rates are integers (percent, points), never floats."""

    __tablename__ = "loyalty_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    points_per_yuan: Mapped[int] = mapped_column(default=1)  # per full ¥1 of each receipt, rounded down
    redeem_points_per_yuan: Mapped[int] = mapped_column(default=100)  # 100 points = ¥1 off
    expiry_mode: Mapped[ExpiryMode] = mapped_column(str_enum(ExpiryMode), default=ExpiryMode.CALENDAR)
    expiry_months: Mapped[int] = mapped_column(default=12)
    # Double-points days: weekdays (0 = Monday) and single dates, with their multiplier.
    bonus_weekdays: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    bonus_dates: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    bonus_multiplier_pct: Mapped[int] = mapped_column(default=200)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class CategoryRule(Base):
    """How a product category earns: 0 % earns nothing (tobacco), 200 % earns double."""

    __tablename__ = "category_rule"

    category: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    multiplier_pct: Mapped[int] = mapped_column(default=100)


class RulesStamp(Base):
    """One row whose ``token`` changes whenever the points rules, a category rule, a tier or an offer
    changes. Database triggers set it (migration 0010), so every writer -- this program, another till,
    a hand-made fix -- is covered. The counter keeps the rules, tiers and offers it read together with
    the token, and reads them again only when the token differs. A random token, not a counter: a
    change rolled back and another committed can never leave the same value behind."""

    __tablename__ = "rules_stamp"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[int] = mapped_column(sa.BigInteger, default=0)
