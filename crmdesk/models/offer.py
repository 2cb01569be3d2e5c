"""Owner-defined offers, their redemptions at the counter, and single-use coupons.

An offer has a kind (what it gives), a validity window (local calendar days,
both ends included), a target (who may use it), optional limits (per member and
in total) and, optionally, needs a coupon code. The rules live in
crmdesk/services/offers.py; these classes only hold the data.

Kind-specific values (all integers, money in fen, no floats):

* AMOUNT_OFF (满减): ``min_spend_fen`` is the threshold, ``value`` the reduction in
  fen; with ``repeat_threshold`` the reduction applies per full threshold (每满).
* PERCENT_OFF: ``value`` in basis points (500 = 5 % off), ``min_spend_fen`` an
  optional minimum basket.
* GIFT: ``gift`` names the gift.
* BIRTHDAY: only in the member's birth month; ``gift`` and/or ``value`` as a
  discount in basis points.
* BUY_X_GET_Y: ``buy_qty`` + ``get_qty`` free, of ``item_code`` or ``item_category``.
* POINTS_MULTIPLIER: ``value`` in percent (200 = double points) on ``weekdays``
  (0 = Monday; empty = every day of the window).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crmdesk.models.base import Base, UtcDateTime, str_enum, utcnow


class OfferKind(enum.Enum):
    PERCENT_OFF = "percent_off"  # value in basis points
    AMOUNT_OFF = "amount_off"  # 满减: value in fen off, min_spend_fen the threshold
    GIFT = "gift"  # gift names the gift
    POINTS_MULTIPLIER = "points_x"  # value in percent (200 = double points)
    BIRTHDAY = "birthday"  # birth month only: gift and/or value in basis points
    BUY_X_GET_Y = "buy_x_get_y"  # buy_qty + get_qty free of item_code / item_category


class OfferTarget(enum.Enum):
    EVERYONE = "everyone"
    TIERS = "tiers"  # target_tier_ids
    TAGS = "tags"  # target_tags: any of them
    GROUP = "group"  # target_filter_id: a saved member filter


class Offer(Base):
    __tablename__ = "offer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[OfferKind] = mapped_column(str_enum(OfferKind))
    value: Mapped[int] = mapped_column(default=0)
    points_cost: Mapped[int] = mapped_column(default=0)
    # A minimum tier (this rank or higher), kept alongside the target.
    min_tier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tier.id"))
    min_spend_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    target: Mapped[OfferTarget] = mapped_column(str_enum(OfferTarget), default=OfferTarget.EVERYONE)
    target_tier_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    target_tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Deleting the saved filter leaves the offer aimed at nobody (it says so) rather than failing.
    target_filter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("saved_filter.id", ondelete="SET NULL"))
    per_member_limit: Mapped[int | None]
    total_limit: Mapped[int | None]
    coupon_required: Mapped[bool] = mapped_column(default=False)
    repeat_threshold: Mapped[bool] = mapped_column(default=False)
    gift: Mapped[str] = mapped_column(sa.String(200), default="")
    buy_qty: Mapped[int] = mapped_column(default=0)
    get_qty: Mapped[int] = mapped_column(default=0)
    item_code: Mapped[str] = mapped_column(sa.String(40), default="")
    item_category: Mapped[str] = mapped_column(sa.String(60), default="")
    weekdays: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), onupdate=utcnow)


class Coupon(Base):
    """A single-use code for an offer, made in batches, optionally bound to one member."""

    __tablename__ = "coupon"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("offer.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("member.id"), index=True)
    batch: Mapped[str] = mapped_column(sa.String(60), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The redemption that used it. offer_redemption.coupon_id (unique, with a foreign key)
    # is the authoritative link; this copy saves a join when listing coupons.
    used_by_redemption_id: Mapped[int | None]


class OfferRedemption(Base):
    """One use of an offer by a member. Never updated or deleted: limits count these rows."""

    __tablename__ = "offer_redemption"
    __table_args__ = (sa.Index("ix_offer_redemption_offer_member", "offer_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("offer.id"))
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"), index=True)
    purchase_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase.id"), index=True)
    # Unique: the database itself refuses a second use of a coupon.
    coupon_id: Mapped[int | None] = mapped_column(sa.ForeignKey("coupon.id"), unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    discount_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    points_spent: Mapped[int] = mapped_column(default=0)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
