"""The figures on the overview page: how the store is doing at a glance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.models import (
    Card, CardStatus, Complaint, ComplaintStatus, Member, MemberStatus, Purchase, PurchaseKind, Tier,
)
from crmdesk.services.auth import Permission, require
from crmdesk.services.uow import Actor
from crmdesk.shop_time import SHOP_ZONE


@dataclass(frozen=True)
class TierCount:
    name: str
    colour: str
    members: int


@dataclass(frozen=True)
class Overview:
    active_members: int
    new_members_this_month: int
    active_cards: int
    purchases_this_month: int
    spend_this_month_fen: int
    open_complaints: int
    points_outstanding: int
    members_by_tier: list[TierCount]


def month_start(today: date) -> date:
    return today.replace(day=1)


def store_overview(session: Session, actor: Actor, today: date, local_zone: tzinfo = SHOP_ZONE) -> Overview:
    """Figures for the calendar month of ``today`` in the shop's time zone. Members by tier counts
    active members only, as the tiers in Settings do: frozen and closed members shop no more."""
    require(actor, Permission.VIEW_SHOP_FIGURES)
    first_day = month_start(today)
    since = datetime.combine(first_day, time.min, tzinfo=local_zone).astimezone(timezone.utc)
    until = datetime.combine(today + timedelta(days=1), time.min, tzinfo=local_zone).astimezone(timezone.utc)
    count = sa.func.count()
    active = Member.status == MemberStatus.ACTIVE
    sales = sa.and_(Purchase.kind == PurchaseKind.SALE, Purchase.occurred_at >= since, Purchase.occurred_at < until)
    purchases, spend = session.execute(
        sa.select(count, sa.func.coalesce(sa.func.sum(Purchase.amount_fen), 0)).where(sales)
    ).one()
    refunds = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Purchase.amount_fen), 0)).where(
            Purchase.kind == PurchaseKind.REFUND, Purchase.occurred_at >= since, Purchase.occurred_at < until
        )
    )
    tiers = session.execute(
        sa.select(Tier.name, Tier.colour, sa.func.count(Member.id))
        .outerjoin(Member, sa.and_(Member.tier_id == Tier.id, active))
        .group_by(Tier.id, Tier.name, Tier.colour, Tier.rank)
        .order_by(Tier.rank)
    ).all()
    return Overview(
        active_members=session.scalar(sa.select(count).select_from(Member).where(active)) or 0,
        new_members_this_month=session.scalar(
            sa.select(count).select_from(Member).where(Member.joined_on >= first_day, Member.joined_on <= today)
        ) or 0,
        active_cards=session.scalar(sa.select(count).select_from(Card).where(Card.status == CardStatus.ACTIVE)) or 0,
        purchases_this_month=purchases,
        spend_this_month_fen=int(spend) - int(refunds or 0),
        open_complaints=session.scalar(
            sa.select(count).select_from(Complaint).where(Complaint.status != ComplaintStatus.CLOSED)
        ) or 0,
        points_outstanding=int(
            session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Member.points_balance), 0)).where(Member.status != MemberStatus.CLOSED)) or 0
        ),
        members_by_tier=[TierCount(name, colour, members) for name, colour, members in tiers],
    )
