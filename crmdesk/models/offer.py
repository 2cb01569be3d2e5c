"""Loyalty offers shown to eligible members at the counter."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crmdesk.models.base import Base, UtcDateTime, str_enum, utcnow


class OfferKind(enum.Enum):
    PERCENT_OFF = "percent_off"  # value in basis points
    AMOUNT_OFF = "amount_off"  # value in fen
    GIFT = "gift"  # value unused; description names the gift
    POINTS_MULTIPLIER = "points_x"  # value in percent (200 = double points)


class Offer(Base):
    __tablename__ = "offer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[OfferKind] = mapped_column(str_enum(OfferKind))
    value: Mapped[int] = mapped_column(default=0)
    points_cost: Mapped[int] = mapped_column(default=0)
    min_tier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tier.id"))
    min_spend_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
