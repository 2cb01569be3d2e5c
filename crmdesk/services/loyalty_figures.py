"""The figures of the printed loyalty summary: who holds points, how points moved, what they are worth.

Definitions (each pinned by a test on a hand-computed data set):

* The period is a run of shop-local calendar days (SHOP_ZONE), both ends
  included: from local midnight of ``start`` to local midnight after ``end``.
* **Members by tier** and **points outstanding** are as they stand at ``now``,
  over members who are not closed (active and frozen ones). A frozen member can
  be reactivated and spend their points, so their points are still owed; a
  closed member can no longer use points (and closing normally clears them),
  so whatever a closed member still holds is reported apart and not owed.
  Members without a tier get their own line (tier ``None``).
* The **liability** is the outstanding points at today's redemption rule
  (``Rules.redeem_points_per_yuan`` points = ¥1), rounded down to the fen.
* **Points movement** is every ledger entry in the period, of every member
  (closed ones too: the points moved then), summed per kind and direction:
  what was added (earned, goodwill, adjustments up, opening balances imported)
  and what was taken away (redeemed, expired, reversed by refunds, adjustments
  down). The net change is their sum.
* **Due to expire** within 30 and 90 days: points of members who are not closed
  whose last usable day is at most ``today + days`` (points already past their
  day but not yet written off count too). Points are spent oldest first, so a
  member's points due by a day are what they earned with that expiry or sooner,
  less everything ever taken from them, never below zero. That is worked out
  in one pass over the ledger in SQL; when points without an expiry date were
  spent before dated ones arrived it can undercount, never overcount.
* **Offer redemptions**: uses of each offer in the period, with the discount
  given, the coupons taken in and the points spent.

Every sum is done by the database (GROUP BY); no ledger row is loaded one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.errors import InvalidInput
from crmdesk.models import Member, MemberStatus, Offer, OfferRedemption, PointsEntry, PointsKind, Tier
from crmdesk.services import loyalty
from crmdesk.texts import QT_TRANSLATE_NOOP

EXPIRY_HORIZONS_DAYS = (30, 90)

# The order movements are listed in; kinds not listed here still count, after these.
ADDED_ORDER = (PointsKind.EARN, PointsKind.GOODWILL, PointsKind.ADJUSTMENT, PointsKind.IMPORT)
TAKEN_ORDER = (PointsKind.REDEEM, PointsKind.EXPIRY, PointsKind.REFUND_REVERSAL, PointsKind.ADJUSTMENT, PointsKind.IMPORT)
# Listed even when nothing of the kind happened, so one month reads like the next.
ALWAYS_ADDED = (PointsKind.EARN, PointsKind.GOODWILL, PointsKind.ADJUSTMENT)
ALWAYS_TAKEN = (PointsKind.REDEEM, PointsKind.EXPIRY, PointsKind.REFUND_REVERSAL, PointsKind.ADJUSTMENT)


@dataclass(frozen=True)
class TierLine:
    """Members of one tier who are not closed, and the points they hold now."""

    name: str | None  # None: members without a tier
    colour: str  # #RRGGBB
    members: int
    points: int


@dataclass(frozen=True)
class PointsMovement:
    """Ledger entries of one kind and direction in the period."""

    kind: PointsKind
    points: int  # signed: positive added, negative taken away
    entries: int


@dataclass(frozen=True)
class ExpiringPoints:
    days: int
    last_day: date  # points whose last usable day is on or before this day
    points: int
    value_fen: int


@dataclass(frozen=True)
class OfferUse:
    """One offer's redemptions in the period."""

    offer_id: int
    name: str
    uses: int
    discount_fen: int
    coupons: int  # uses that took in a coupon
    points_spent: int


@dataclass(frozen=True)
class LoyaltySummary:
    start: date
    end: date
    as_of: datetime  # when "now" figures (tiers, outstanding, expiring) were taken
    redeem_points_per_yuan: int  # the rule the values are worked out with
    tiers: tuple[TierLine, ...]  # lowest rank first; the no-tier line last
    points_outstanding: int
    liability_fen: int
    members_with_points: int
    closed_member_points: int  # held by closed members: not owed, not in the outstanding points
    added: tuple[PointsMovement, ...]  # points > 0 (or 0 for a kind always listed)
    taken: tuple[PointsMovement, ...]  # points < 0 (or 0 ...)
    expiring: tuple[ExpiringPoints, ...]  # one per EXPIRY_HORIZONS_DAYS
    offers: tuple[OfferUse, ...]  # most used first

    @property
    def members(self) -> int:
        return sum(line.members for line in self.tiers)

    @property
    def added_total(self) -> int:
        return sum(m.points for m in self.added)

    @property
    def taken_total(self) -> int:
        return sum(m.points for m in self.taken)  # negative or zero

    @property
    def net_change(self) -> int:
        return self.added_total + self.taken_total

    @property
    def has_movement(self) -> bool:
        return any(m.entries for m in (*self.added, *self.taken))

    @property
    def offer_uses(self) -> int:
        return sum(o.uses for o in self.offers)

    @property
    def offer_discount_fen(self) -> int:
        return sum(o.discount_fen for o in self.offers)

    @property
    def offer_coupons(self) -> int:
        return sum(o.coupons for o in self.offers)

    @property
    def offer_points_spent(self) -> int:
        return sum(o.points_spent for o in self.offers)

    def value_fen(self, points: int) -> int:
        return loyalty.value_at_rate(points, self.redeem_points_per_yuan)


def local_midnight(day: date) -> datetime:
    """The start of a shop-local day, as a UTC instant."""
    return datetime.combine(day, time.min, tzinfo=loyalty.SHOP_ZONE).astimezone(UTC)


# --------------------------------------------------------------------------- the figures


def loyalty_summary(session: Session, start: date, end: date, *, now: datetime | None = None) -> LoyaltySummary:
    """The loyalty figures for the local days ``start`` to ``end`` (see the module notes for each)."""
    if start > end:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The period ends ({end}) before it starts ({start})."),
                           field="end", start=start.isoformat(), end=end.isoformat())
    now = now or datetime.now(UTC)
    rate = loyalty.get_rules(session).redeem_points_per_yuan
    tiers = _tier_lines(session)
    outstanding = sum(line.points for line in tiers)
    since, until = local_midnight(start), local_midnight(end + timedelta(days=1))
    added, taken = _movements(session, since, until)
    return LoyaltySummary(
        start=start,
        end=end,
        as_of=now,
        redeem_points_per_yuan=rate,
        tiers=tiers,
        points_outstanding=outstanding,
        liability_fen=loyalty.value_at_rate(outstanding, rate),
        members_with_points=int(session.scalar(
            sa.select(sa.func.count()).select_from(Member).where(_not_closed(), Member.points_balance > 0)) or 0),
        closed_member_points=int(session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Member.points_balance), 0)).where(Member.status == MemberStatus.CLOSED)) or 0),
        added=added,
        taken=taken,
        expiring=_expiring(session, loyalty.local_day(now), rate),
        offers=_offer_uses(session, since, until),
    )


def _not_closed() -> sa.ColumnElement[bool]:
    return Member.status != MemberStatus.CLOSED


def _tier_lines(session: Session) -> tuple[TierLine, ...]:
    rows = session.execute(
        sa.select(Tier.name, Tier.colour, sa.func.count(Member.id), sa.func.coalesce(sa.func.sum(Member.points_balance), 0))
        .outerjoin(Member, sa.and_(Member.tier_id == Tier.id, _not_closed()))
        .group_by(Tier.id, Tier.name, Tier.colour, Tier.rank)
        .order_by(Tier.rank)
    ).all()
    lines = [TierLine(name, colour, int(count), int(points)) for name, colour, count, points in rows]
    count, points = session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Member.points_balance), 0))
        .select_from(Member).where(_not_closed(), Member.tier_id.is_(None))
    ).one()
    if count:
        lines.append(TierLine(None, "#9AA5B1", int(count), int(points)))
    return tuple(lines)


def _movements(session: Session, since: datetime, until: datetime) -> tuple[tuple[PointsMovement, ...], tuple[PointsMovement, ...]]:
    direction = sa.case((PointsEntry.points > 0, 1), else_=-1).label("direction")
    rows = session.execute(
        sa.select(PointsEntry.kind, direction, sa.func.count(), sa.func.sum(PointsEntry.points))
        .where(PointsEntry.at >= since, PointsEntry.at < until, PointsEntry.points != 0)
        .group_by(PointsEntry.kind, direction)
    ).all()
    found = {(kind, sign): PointsMovement(kind, int(points), int(count)) for kind, sign, count, points in rows}

    def listed(sign: int, order: tuple[PointsKind, ...], always: tuple[PointsKind, ...]) -> tuple[PointsMovement, ...]:
        kinds = [k for k in order if k in always or (k, sign) in found]
        kinds += [k for k in PointsKind if k not in kinds and (k, sign) in found]  # an unusual direction still counts
        return tuple(found.get((k, sign), PointsMovement(k, 0, 0)) for k in kinds)

    return listed(1, ADDED_ORDER, ALWAYS_ADDED), listed(-1, TAKEN_ORDER, ALWAYS_TAKEN)


def _expiring(session: Session, today: date, rate: int) -> tuple[ExpiringPoints, ...]:
    horizons = [(days, today + timedelta(days=days)) for days in EXPIRY_HORIZONS_DAYS]
    dated = [
        sa.func.sum(sa.case((sa.and_(PointsEntry.points > 0, PointsEntry.expires_on <= last_day), PointsEntry.points), else_=0))
        .label(f"due_{days}")
        for days, last_day in horizons
    ]
    taken = sa.func.sum(sa.case((PointsEntry.points < 0, -PointsEntry.points), else_=0)).label("taken")
    per_member = (
        sa.select(*dated, taken)
        .join(Member, Member.id == PointsEntry.member_id)
        .where(_not_closed(), Member.points_balance > 0)
        .group_by(PointsEntry.member_id)
        .subquery()
    )
    # Oldest first: what a member has taken away so far used up their earliest points.
    left = [per_member.c[f"due_{days}"] - per_member.c.taken for days, _ in horizons]
    totals = session.execute(
        sa.select(*[sa.func.coalesce(sa.func.sum(sa.case((due > 0, due), else_=0)), 0) for due in left])
    ).one()
    return tuple(ExpiringPoints(days, last_day, int(points), loyalty.value_at_rate(int(points), rate))
                 for (days, last_day), points in zip(horizons, totals, strict=True))


def _offer_uses(session: Session, since: datetime, until: datetime) -> tuple[OfferUse, ...]:
    uses = sa.func.count(OfferRedemption.id)
    rows = session.execute(
        sa.select(Offer.id, Offer.name, uses, sa.func.coalesce(sa.func.sum(OfferRedemption.discount_fen), 0),
                  sa.func.count(OfferRedemption.coupon_id), sa.func.coalesce(sa.func.sum(OfferRedemption.points_spent), 0))
        .join(Offer, Offer.id == OfferRedemption.offer_id)
        .where(OfferRedemption.at >= since, OfferRedemption.at < until)
        .group_by(Offer.id, Offer.name)
        .order_by(uses.desc(), Offer.name, Offer.id)
    ).all()
    return tuple(OfferUse(offer_id, name, int(n), int(discount), int(coupons), int(points))
                 for offer_id, name, n, discount, coupons, points in rows)
