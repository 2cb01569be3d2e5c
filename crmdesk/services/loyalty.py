"""The points programme: rules, earning, redeeming, adjusting, expiring, and tier upgrades.

The ledger (points_entry) is append-only; a member's balance is the sum of their
entries, and ``Member.points_balance`` caches it in the same transaction. All
arithmetic is in integers: fen, points and percentages.
"""

from __future__ import annotations

import heapq
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.errors import InvalidInput, NotFound
from crmdesk.models import (
    RULES_STAMP_ROW_ID, CategoryRule, ExpiryMode, LoyaltyRules, Member, MemberStatus, Offer, OfferKind, PointsEntry, PointsKind,
    Purchase, PurchaseKind, RulesStamp, Staff, Tier,
)
from crmdesk.services import requests
from crmdesk.services import audit
from crmdesk.services.auth import Permission, require
from crmdesk.services.driver_sql import DriverStatement
from crmdesk.services.member_query import member_status_term
from crmdesk.services.uow import Actor
from crmdesk.shop_time import SHOP_ZONE, local_day
from crmdesk.texts import QT_TRANSLATE_NOOP

RULES_ROW_ID = 1
MAX_REASON = 300  # characters of a ledger entry's reason (the column's size)
TIER_WINDOW = timedelta(days=365)
# What each kind of ledger entry is called (translated in the "terms" context).
POINTS_KIND_LABELS = {
    PointsKind.EARN: QT_TRANSLATE_NOOP("terms", "Earned"),
    PointsKind.REDEEM: QT_TRANSLATE_NOOP("terms", "Redeemed"),
    PointsKind.REFUND_REVERSAL: QT_TRANSLATE_NOOP("terms", "Refund"),
    PointsKind.ADJUSTMENT: QT_TRANSLATE_NOOP("terms", "Adjustment"),
    PointsKind.EXPIRY: QT_TRANSLATE_NOOP("terms", "Expired"),
    PointsKind.GOODWILL: QT_TRANSLATE_NOOP("terms", "Goodwill"),
    PointsKind.IMPORT: QT_TRANSLATE_NOOP("terms", "Imported"),
}


# Reasons the program writes on ledger entries itself: stored in English (the command line and exports
# show them so), put on screen in the interface's language ("ledger" context) by reason_parts. A reason a
# person typed (an adjustment, a redemption note) is none of these and is shown as it was typed.
REASON_GOODWILL = QT_TRANSLATE_NOOP("ledger", "complaint {complaint}")
REASON_EXPIRED = QT_TRANSLATE_NOOP("ledger", "expired before {date}")
REASON_ALREADY_SPENT = QT_TRANSLATE_NOOP("ledger", "{points} points were already spent")
REASON_OFFER = QT_TRANSLATE_NOOP("ledger", "offer {offer}: {name}")
REASON_IMPORT = QT_TRANSLATE_NOOP("ledger", "import {file}")
REASON_RECEIPT = QT_TRANSLATE_NOOP("ledger", "receipt {receipt}")
REASON_RECEIPT_NOTE = QT_TRANSLATE_NOOP("ledger", "receipt {receipt}: {note}")
REASON_OVERDUE = QT_TRANSLATE_NOOP("ledger", "overdue {days} days")  # credit stopped by itself (services/credit.py)
SYSTEM_REASONS = (REASON_GOODWILL, REASON_EXPIRED, REASON_ALREADY_SPENT, REASON_OFFER, REASON_IMPORT, REASON_RECEIPT_NOTE,
                  REASON_RECEIPT, REASON_OVERDUE)


def _reason_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)" for index, part in enumerate(parts))
    return re.compile(f"^{regex}$", re.DOTALL)


_REASON_PATTERNS = [(template, _reason_pattern(template)) for template in SYSTEM_REASONS]


def reason_parts(reason: str) -> tuple[str, dict[str, str]] | None:
    """(template, values) of a reason the program wrote; None for one a person typed."""
    for template, pattern in _REASON_PATTERNS:
        found = pattern.match(reason)
        if found:
            return template, found.groupdict()
    return None


@dataclass(frozen=True)
class Rules:
    points_per_yuan: int = 1
    redeem_points_per_yuan: int = 100
    expiry_mode: ExpiryMode = ExpiryMode.CALENDAR
    expiry_months: int = 12
    bonus_weekdays: tuple[int, ...] = ()
    bonus_dates: tuple[str, ...] = ()
    bonus_multiplier_pct: int = 200
    category_multipliers: tuple[tuple[str, int], ...] = ()

    def category_pct(self, category: str) -> int:
        return dict(self.category_multipliers).get(category.strip(), 100)

    def day_pct(self, day: date) -> int:
        bonus = day.weekday() in self.bonus_weekdays or day.isoformat() in self.bonus_dates
        return self.bonus_multiplier_pct if bonus else 100

    def expires_on(self, earned_on: date) -> date:
        """The last day points earned on ``earned_on`` can be used."""
        if self.expiry_mode is ExpiryMode.CALENDAR:
            return date(earned_on.year + 1, 12, 31)
        month = earned_on.month - 1 + self.expiry_months
        year, month = earned_on.year + month // 12, month % 12 + 1
        last_day = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
        return date(year, month, min(earned_on.day, last_day))


# --------------------------------------------------------------------------- rules


def get_rules(session: Session) -> Rules:
    # Plain columns, not the mapped object: every purchase at the counter reads the rules.
    row = session.execute(sa.select(
        LoyaltyRules.points_per_yuan, LoyaltyRules.redeem_points_per_yuan, LoyaltyRules.expiry_mode, LoyaltyRules.expiry_months,
        LoyaltyRules.bonus_weekdays, LoyaltyRules.bonus_dates, LoyaltyRules.bonus_multiplier_pct,
    ).where(LoyaltyRules.id == RULES_ROW_ID)).first()
    categories = tuple(session.execute(sa.select(CategoryRule.category, CategoryRule.multiplier_pct).order_by(CategoryRule.category)).all())
    if row is None:
        return Rules(category_multipliers=categories)
    return Rules(
        points_per_yuan=row.points_per_yuan,
        redeem_points_per_yuan=row.redeem_points_per_yuan,
        expiry_mode=row.expiry_mode,
        expiry_months=row.expiry_months,
        bonus_weekdays=tuple(row.bonus_weekdays or ()),
        bonus_dates=tuple(row.bonus_dates or ()),
        bonus_multiplier_pct=row.bonus_multiplier_pct,
        category_multipliers=categories,
    )


@dataclass(frozen=True)
class TierStep:
    """A tier as the counter needs it: to earn with its multiplier and to lift a member into it."""

    id: int
    rank: int
    name: str
    min_spend_fen: int
    multiplier_pct: int


@dataclass(frozen=True)
class CounterConfig:
    """What every sale reads besides the member: the rules, the tiers (by rank) and whether any
    points offer is active. Kept per database until the rules stamp changes (models.RulesStamp)."""

    token: int
    rules: Rules
    tiers: tuple[TierStep, ...]
    points_offers: bool

    def tier(self, tier_id: int | None) -> TierStep | None:
        return next((tier for tier in self.tiers if tier.id == tier_id), None)

    def reached(self, tier_id: int | None, spend_12_months_fen: int) -> TierStep | None:
        """The highest tier above the member's that this 12-month spend reaches, or None. The rule of the
        counter and of imports: a member is lifted the moment a threshold is crossed and never lowered here
        (only the monthly review, review_tiers, moves members down)."""
        current = self.tier(tier_id)
        above = current.rank if current else -1
        return next((tier for tier in reversed(self.tiers) if tier.rank > above and tier.min_spend_fen <= spend_12_months_fen),
                    None)

    def lift(self, tier_id: int | None, lifetime_fen: int, spend_12_months: Callable[[], int]) -> TierStep | None:
        """reached() for a sale at the counter. The 12-month spend is read only when the member's lifetime
        spend reaches the next threshold (it can never be more than that)."""
        current = self.tier(tier_id)
        higher = [tier for tier in self.tiers if tier.rank > (current.rank if current else -1)]
        if not higher or lifetime_fen < higher[0].min_spend_fen:
            return None
        return self.reached(tier_id, spend_12_months())


_counter_configs: weakref.WeakKeyDictionary[sa.Engine, CounterConfig] = weakref.WeakKeyDictionary()


def rules_token_column() -> sa.ScalarSelect[int]:
    """The rules stamp's token, to read in the same statement as the member a sale is for."""
    return sa.select(RulesStamp.token).where(RulesStamp.id == RULES_STAMP_ROW_ID).scalar_subquery()


def counter_config(session: Session, token: int | None) -> CounterConfig:
    """The rules, tiers and offers as of ``token`` (read with rules_token_column): from memory while the
    token is the one they were read with, else read again (two queries and one for the tiers)."""
    engine = session.get_bind().engine
    kept = _counter_configs.get(engine)
    if kept is not None and token is not None and kept.token == token:
        return kept
    connection = session.connection()
    tiers = tuple(TierStep(*row) for row in connection.execute(sa.select(
        Tier.id, Tier.rank, Tier.name, Tier.min_spend_fen, Tier.points_multiplier_pct).order_by(Tier.rank)))
    offers_on = connection.execute(sa.select(Offer.id).where(
        Offer.active.is_(True), Offer.kind == OfferKind.POINTS_MULTIPLIER).limit(1)).first() is not None
    config = CounterConfig(token or 0, get_rules(session), tiers, offers_on)
    if token is not None:
        _counter_configs[engine] = config
    return config


def set_rules(session: Session, actor: Actor, rules: Rules) -> Rules:
    """Save the owner's rules; they apply to purchases recorded from now on."""
    require(actor, Permission.CHANGE_LOYALTY_RULES)
    checks = (
        (1 <= rules.points_per_yuan <= 100, "points_per_yuan", QT_TRANSLATE_NOOP("errors", "Points per yuan must be from 1 to 100.")),
        (1 <= rules.redeem_points_per_yuan <= 100_000, "redeem_points_per_yuan",
         QT_TRANSLATE_NOOP("errors", "The points needed for ¥1 off must be from 1 to 100000.")),
        (1 <= rules.expiry_months <= 120, "expiry_months", QT_TRANSLATE_NOOP("errors", "Points must last from 1 to 120 months.")),
        (100 <= rules.bonus_multiplier_pct <= 1000, "bonus_multiplier_pct",
         QT_TRANSLATE_NOOP("errors", "The bonus-day multiplier must be from 100 % to 1000 %.")),
        (all(0 <= d <= 6 for d in rules.bonus_weekdays), "bonus_weekdays", QT_TRANSLATE_NOOP("errors", "Weekdays run from 0 (Monday) to 6 (Sunday).")),
        (all(0 <= pct <= 1000 for _c, pct in rules.category_multipliers), "category_multipliers",
         QT_TRANSLATE_NOOP("errors", "A category earns from 0 % to 1000 %.")),
    )
    for ok, field, message in checks:
        if not ok:
            raise InvalidInput(message, field=field)
    names = [category.strip() for category, _pct in rules.category_multipliers if category.strip()]
    if len(names) != len(set(names)):
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A category is listed twice."), field="category_multipliers")
    for text in rules.bonus_dates:
        try:
            date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{date}' is not a date (YYYY-MM-DD)."), field="bonus_dates", date=text) from None
    row = session.get(LoyaltyRules, RULES_ROW_ID, with_for_update=True)  # the stored row, to change it
    if row is None:
        row = LoyaltyRules(id=RULES_ROW_ID)
        session.add(row)
    row.points_per_yuan = rules.points_per_yuan
    row.redeem_points_per_yuan = rules.redeem_points_per_yuan
    row.expiry_mode = rules.expiry_mode
    row.expiry_months = rules.expiry_months
    row.bonus_weekdays = sorted(set(rules.bonus_weekdays))
    row.bonus_dates = sorted(set(rules.bonus_dates))
    row.bonus_multiplier_pct = rules.bonus_multiplier_pct
    session.execute(sa.delete(CategoryRule))
    session.add_all(CategoryRule(category=c.strip(), multiplier_pct=pct) for c, pct in rules.category_multipliers if c.strip())
    audit.record(session, actor, "loyalty.rules", "loyalty_rules", RULES_ROW_ID)
    session.flush()
    return get_rules(session)


def points_value_fen(rules: Rules, points: int) -> int:
    """What ``points`` are worth as money off a receipt, in fen, at the points rules' rate
    (``rules.redeem_points_per_yuan`` points = ¥1), rounded down to the fen.

    The one rate at which points become money: redeeming at the counter, offers that
    take money off for points, and the figures that value points owed. A negative number
    of points gives the same amount, negative."""
    return value_at_rate(points, rules.redeem_points_per_yuan)


def value_at_rate(points: int, redeem_points_per_yuan: int) -> int:
    """Points as fen at a given rate (a rate the rules had on some day, for the figures of that day)."""
    value = abs(points) * 100 // max(1, redeem_points_per_yuan)
    return -value if points < 0 else value


# --------------------------------------------------------------------------- earning


@dataclass(frozen=True)
class EarnLine:
    category: str
    amount_fen: int


def points_for(
    rules: Rules, *, amount_fen: int, lines: Sequence[EarnLine], tier_pct: int, day: date, offer_pct: int = 100
) -> int:
    """Points a receipt earns: 1 point per full ¥1 by default, categories weighted (0 % earns
    nothing), times the tier, bonus-day and points-offer multipliers, rounded down once at the end."""
    weighted = sum(line.amount_fen * rules.category_pct(line.category) for line in lines) if lines else amount_fen * 100
    # weighted is fen x percent; then points/yuan and three percentages.
    numerator = weighted * rules.points_per_yuan * tier_pct * rules.day_pct(day) * offer_pct
    return max(0, numerator // (100 * 100 * 100 * 100 * 100))


def _post(session: Session, member: Member, kind: PointsKind, points: int, *, at: datetime, actor: Actor | None,
          reason: str = "", expires_on: date | None = None, purchase_id: int | None = None,
          complaint_id: int | None = None) -> PointsEntry:
    entry = PointsEntry(member_id=member.id, at=at, kind=kind, points=points, expires_on=expires_on,
                        purchase_id=purchase_id, complaint_id=complaint_id,
                        staff_id=actor.staff_id if actor else None, reason=reason)
    session.add(entry)
    member.points_balance += points
    return entry


def earn(session: Session, member: Member, points: int, *, at: datetime, rules: Rules, purchase_id: int,
         actor: Actor | None) -> None:
    if points > 0:
        _post(session, member, PointsKind.EARN, points, at=at, actor=actor, purchase_id=purchase_id,
              expires_on=rules.expires_on(local_day(at)))


def reverse(session: Session, member: Member, points: int, *, at: datetime, purchase_id: int, actor: Actor | None) -> int:
    """Take back points for a refund; never below zero (points already spent stay spent, and the entry says so)."""
    taken = min(points, member.points_balance)
    if taken > 0:
        reason = "" if taken == points else REASON_ALREADY_SPENT.format(points=points - taken)
        _post(session, member, PointsKind.REFUND_REVERSAL, -taken, at=at, actor=actor, purchase_id=purchase_id, reason=reason)
    return taken


def goodwill(session: Session, member: Member, points: int, *, at: datetime, actor: Actor, complaint_id: int,
             rules: Rules | None = None) -> PointsEntry:
    """Points given to make up for a complaint; they expire like points earned that day. ``member``
    comes from member_for_update, so the balance is read under the ledger's row lock."""
    rules = rules or get_rules(session)
    return _post(session, member, PointsKind.GOODWILL, points, at=at, actor=actor, reason=REASON_GOODWILL.format(complaint=complaint_id),
                 expires_on=rules.expires_on(local_day(at)), complaint_id=complaint_id)


# --------------------------------------------------------------------------- redeeming and adjusting


def member_for_update(session: Session, member_id: int) -> Member:
    """The member row, locked for the rest of the transaction: what every change to a balance reads first."""
    return _member_for_update(session, member_id)


def _member_for_update(session: Session, member_id: int) -> Member:
    member = session.execute(sa.select(Member).where(Member.id == member_id).with_for_update()).scalar_one_or_none()
    if member is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    return member


def _check_reason(reason: str) -> None:
    if len(reason) > MAX_REASON:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The note is too long: at most {count} characters."), field="reason",
                           count=MAX_REASON)


def redeem(session: Session, actor: Actor, member_id: int, points: int, *, reason: str = "",
           purchase_id: int | None = None, now: datetime | None = None, request_id: str | None = None) -> int:
    """Spend points (e.g. 100 points = ¥1 off); refused beyond the balance. Returns the new balance. A till's
    ``request_id`` makes asking again after a network failure safe (services/requests.py).

    Run inside unit_of_work: the balance is read under the write lock, so a
    redemption at another till a moment ago is seen and counted."""
    if points <= 0:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Redeem a positive number of points."), field="points")
    _check_reason(reason)
    requests.once(session, request_id, "points.redeem", member_id)
    member = _member_for_update(session, member_id)
    if member.status is not MemberStatus.ACTIVE:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{name}'s membership is {status}; points cannot be used."),
                           name=member.name, status=member_status_term(member.status))
    if points > member.points_balance:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "{name} has {balance} points; {points} cannot be redeemed."),
            field="points", name=member.name, balance=member.points_balance, points=points,
        )
    _post(session, member, PointsKind.REDEEM, -points, at=now or datetime.now(timezone.utc), actor=actor,
          reason=reason, purchase_id=purchase_id)
    audit.record(session, actor, "points.redeem", "member", member.id, points=points)
    session.flush()
    return member.points_balance


def adjust(session: Session, actor: Actor, member_id: int, points: int, *, reason: str,
           now: datetime | None = None) -> int:
    """A manual correction (supervisor or owner), always with a reason. Returns the new balance."""
    require(actor, Permission.ADJUST_POINTS)
    if not reason.strip():
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Give the reason for the adjustment."), field="reason")
    _check_reason(reason)
    if points == 0:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "An adjustment must add or take away points."), field="points")
    member = _member_for_update(session, member_id)
    if member.points_balance + points < 0:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "{name} has {balance} points; taking away {points} would leave a negative balance."),
            field="points", name=member.name, balance=member.points_balance, points=-points,
        )
    _post(session, member, PointsKind.ADJUSTMENT, points, at=now or datetime.now(timezone.utc), actor=actor,
          reason=reason.strip())
    audit.record(session, actor, "points.adjust", "member", member.id, points=points, reason=reason.strip())
    session.flush()
    return member.points_balance


# --------------------------------------------------------------------------- expiry


@dataclass(frozen=True)
class ExpiringLot:
    expires_on: date
    points: int


def open_lots(session: Session, member_id: int) -> list[ExpiringLot]:
    """The member's unspent points by expiry date: spending and expiry use the oldest first."""
    entries = session.execute(
        sa.select(PointsEntry.points, PointsEntry.expires_on).where(PointsEntry.member_id == member_id).order_by(PointsEntry.at, PointsEntry.id)
    ).all()
    # A heap of [expires_on, order, remaining]: spending takes the soonest-expiring lot first,
    # and equal dates go in the order earned. O(n log n) even for a member with years of receipts.
    lots: list[list[Any]] = []
    for order, (points, expires_on) in enumerate(entries):
        if points > 0:
            heapq.heappush(lots, [expires_on or date.max, order, points])
            continue
        to_take = -points
        while to_take and lots:
            lot = lots[0]
            used = min(lot[2], to_take)
            lot[2] -= used
            to_take -= used
            if lot[2] == 0:
                heapq.heappop(lots)
    return [ExpiringLot(expires_on, remaining) for expires_on, _order, remaining in sorted(lots) if remaining > 0]


def by_expiry_day(lots: Sequence[ExpiringLot]) -> list[ExpiringLot]:
    """Lots that lapse on the same day as one figure per day, soonest first."""
    days: dict[date, int] = {}
    for lot in sorted(lots, key=lambda lot: lot.expires_on):
        days[lot.expires_on] = days.get(lot.expires_on, 0) + lot.points
    return [ExpiringLot(day, points) for day, points in days.items()]


def expiring_soon(session: Session, member_id: int, today: date, within_days: int = 60) -> list[ExpiringLot]:
    """The member's points that lapse within ``within_days``, one figure per day."""
    horizon = today + timedelta(days=within_days)
    return by_expiry_day([lot for lot in open_lots(session, member_id) if lot.expires_on <= horizon])


def expire(session: Session, today: date, *, actor: Actor | None = None) -> int:
    """Write off every lot whose last day is before ``today``; returns the points expired.

    Idempotent: run it daily (start-up, or `crmdesk points expire`)."""
    candidates = session.scalars(
        sa.select(PointsEntry.member_id).where(PointsEntry.points > 0, PointsEntry.expires_on < today).distinct()
    ).all()
    total = 0
    for member_id in candidates:
        lapsed = sum(lot.points for lot in open_lots(session, member_id) if lot.expires_on < today)
        if lapsed > 0:
            member = _member_for_update(session, member_id)
            midnight = datetime.combine(today, datetime.min.time(), tzinfo=SHOP_ZONE)
            _post(session, member, PointsKind.EXPIRY, -lapsed, at=midnight.astimezone(timezone.utc), actor=actor,
                  reason=REASON_EXPIRED.format(date=today.isoformat()))
            total += lapsed
    session.flush()
    return total


# --------------------------------------------------------------------------- tiers


_SPEND_SINCE = DriverStatement(sa.select(sa.func.coalesce(sa.func.sum(
    sa.case((Purchase.kind == PurchaseKind.SALE, Purchase.amount_fen), else_=-Purchase.amount_fen)), 0)).where(
    Purchase.member_id == sa.bindparam("member"), Purchase.occurred_at >= sa.bindparam("since")))  # read by a sale


def spend_12_months(session: Session, member_id: int, now: datetime) -> int:
    """Sales less refunds over the 365 days to ``now``: what tiers are earned with."""
    found = _SPEND_SINCE.first(session.connection(), {"member": member_id, "since": now - TIER_WINDOW})
    return int(found[0] or 0) if found else 0  # type: ignore[call-overload]


def review_tiers(session: Session, actor: Actor, now: datetime) -> dict[str, int]:
    """The monthly review: every member gets the tier their last 12 months earn, up or down."""
    require(actor, Permission.CHANGE_LOYALTY_RULES)
    tiers = session.execute(sa.select(Tier.id, Tier.min_spend_fen).order_by(Tier.min_spend_fen.desc())).all()
    since = now - TIER_WINDOW
    sign = sa.case((Purchase.kind == PurchaseKind.SALE, Purchase.amount_fen), else_=-Purchase.amount_fen)
    spend = dict(session.execute(
        sa.select(Purchase.member_id, sa.func.sum(sign)).where(Purchase.occurred_at >= since).group_by(Purchase.member_id)
    ).all())
    changed = {"up": 0, "down": 0}
    ranks = dict(session.execute(sa.select(Tier.id, Tier.rank)).all())
    for member_id, tier_id in session.execute(sa.select(Member.id, Member.tier_id).where(Member.status != MemberStatus.CLOSED)).all():
        amount = int(spend.get(member_id, 0) or 0)
        target = next((tid for tid, threshold in tiers if threshold <= amount), None)
        if target != tier_id:
            direction = "up" if ranks.get(target, -1) > ranks.get(tier_id, -1) else "down"
            changed[direction] += 1
            session.execute(sa.update(Member).where(Member.id == member_id).values(tier_id=target, updated_at=Member.updated_at))
    audit.record(session, actor, "tiers.review", "tier", None, **changed)
    return changed


# --------------------------------------------------------------------------- the ledger, for people to read


@dataclass(frozen=True)
class LedgerRow:
    at: datetime
    kind: PointsKind
    points: int
    reason: str
    staff_name: str
    receipt_no: str
    expires_on: date | None


def ledger_page(session: Session, member_id: int, *, offset: int = 0, limit: int = 100) -> list[LedgerRow]:
    """The member's points entries, newest first, one page at a time."""
    rows = session.execute(
        sa.select(PointsEntry.at, PointsEntry.kind, PointsEntry.points, PointsEntry.reason, Staff.name, Purchase.receipt_no,
                  PointsEntry.expires_on)
        .outerjoin(Staff, Staff.id == PointsEntry.staff_id)
        .outerjoin(Purchase, Purchase.id == PointsEntry.purchase_id)
        .where(PointsEntry.member_id == member_id)
        .order_by(PointsEntry.at.desc(), PointsEntry.id.desc())
        .offset(offset).limit(limit)
    ).all()
    return [LedgerRow(at, kind, points, reason or "", staff or "", receipt or "", expires) for at, kind, points, reason, staff, receipt, expires in rows]
