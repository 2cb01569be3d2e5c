"""Offers: defining them, who may use which one now (and why not), applying them, coupons.

UI-free. The rules chosen here:

* Validity windows are local calendar days in the shop's zone (UTC+8); both the
  first and the last day count.
* Targets: everyone, members with any of some tags, or the members a saved filter
  ("group") lets through *today* (the criteria are evaluated when asked, so a group
  stays current); and, with any of these, optionally only some tiers. There is one
  notion of "which tiers": a list of tiers (``tier_ids``). A legacy minimum tier
  (``Offer.min_tier_id``: that rank or higher) is read as the list of tiers of that
  rank or higher, intersected with the offer's own list if it has one; ``OfferInfo``
  shows the result, and saving an offer stores it as the list (the minimum tier is
  then cleared), so the counter, the offer list and the editor always agree.
* Points and money: points are worth the same everywhere, at the points rules' rate
  (``loyalty.points_value_fen``). A money-off offer (满减 kind) that costs points has no
  amount of its own: it takes off what its points are worth at the rate in force when
  it is used (``OfferInfo.reduction_fen`` shows that amount now). Offers that give
  something else for points (a gift, a percentage, buy X get Y) keep their points cost.
* 满减 (AMOUNT_OFF): "spend ¥100, get ¥10 off" takes ¥10 off *once* per
  receipt by default; with ``repeat_threshold`` (每满减) it is taken once per full
  ¥100 (¥250 → ¥20). Percent discounts are rounded down to the fen. A discount
  never exceeds the basket.
* Buy X get Y: for every X+Y matching units on the purchase's lines Y are free,
  priced at the cheapest matching unit; without lines, the caller gives the unit
  price and one set is given.
* Limits count redemptions (rows of offer_redemption, never deleted): per member
  and in total. A coupon is used at most once: checked under the write lock
  (SQLite takes it at BEGIN, PostgreSQL locks the offer and coupon rows with
  SELECT ... FOR UPDATE) and guaranteed by a unique index on the redemption's
  coupon_id.
* Points-multiplier offers are not "applied": ``points_multiplier_pct`` tells the
  purchase service the best multiplier for a member on a day (offers do not
  stack with each other: the highest wins; 100 = none).
* Creating, changing, deactivating offers and generating coupons need
  MANAGE_OFFERS; applying an offer at the counter is open to every signed-in staff.
"""

from __future__ import annotations

import enum
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.errors import Conflict, InvalidInput, NotFound
from crmdesk.models import (
    Member,
    MemberStatus,
    MemberTag,
    Purchase,
    PurchaseKind,
    PurchaseLine,
    SavedFilter,
    Tier,
)
from crmdesk.models.offer import Coupon, Offer, OfferKind, OfferRedemption, OfferTarget
from crmdesk.services import audit, loyalty, requests
from crmdesk.services.auth import Permission, require
from crmdesk.services.member_query import MemberFilter, conditions, format_yuan
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP

# Codes people read off paper and type: no 0/O, 1/I/L, and 10 characters (~50 bits).
COUPON_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
COUPON_LENGTH = 10
MAX_COUPONS_PER_BATCH = 5000
MAX_NAME = 100
MAX_LIMIT = 1_000_000
MAX_FEN = 10_000_000

KIND_LABELS = {
    OfferKind.AMOUNT_OFF: QT_TRANSLATE_NOOP("offers", "Spend and save (满减)"),
    OfferKind.PERCENT_OFF: QT_TRANSLATE_NOOP("offers", "Percentage off"),
    OfferKind.GIFT: QT_TRANSLATE_NOOP("offers", "Gift"),
    OfferKind.BIRTHDAY: QT_TRANSLATE_NOOP("offers", "Birthday month"),
    OfferKind.BUY_X_GET_Y: QT_TRANSLATE_NOOP("offers", "Buy X get Y"),
    OfferKind.POINTS_MULTIPLIER: QT_TRANSLATE_NOOP("offers", "Extra points days"),
}
TARGET_LABELS = {
    OfferTarget.EVERYONE: QT_TRANSLATE_NOOP("offers", "Everyone"),
    OfferTarget.TIERS: QT_TRANSLATE_NOOP("offers", "Tiers"),
    OfferTarget.TAGS: QT_TRANSLATE_NOOP("offers", "Tags"),
    OfferTarget.GROUP: QT_TRANSLATE_NOOP("offers", "Saved group"),
}


class Reason(enum.Enum):
    """Why a member cannot use an offer now. The value is the English template (context "offers")."""

    NOT_STARTED = QT_TRANSLATE_NOOP("offers", "Not yet started: from {date}.")
    ENDED = QT_TRANSLATE_NOOP("offers", "Ended on {date}.")
    MEMBER_NOT_ACTIVE = QT_TRANSLATE_NOOP("offers", "The membership is {status}.")
    NOT_IN_TIER = QT_TRANSLATE_NOOP("offers", "Only for tiers: {tiers}.")
    NOT_TAGGED = QT_TRANSLATE_NOOP("offers", "Only for members tagged: {tags}.")
    NOT_IN_GROUP = QT_TRANSLATE_NOOP("offers", "Only for the group {group}.")
    MEMBER_LIMIT = QT_TRANSLATE_NOOP("offers", "Limit reached: used {used} of {limit} times by this member.")
    TOTAL_LIMIT = QT_TRANSLATE_NOOP("offers", "Total limit reached: all {limit} uses are taken.")
    BELOW_THRESHOLD = QT_TRANSLATE_NOOP("offers", "The basket ¥{basket} is below ¥{threshold}.")
    NOT_BIRTHDAY_MONTH = QT_TRANSLATE_NOOP("offers", "Only in the member's birthday month.")
    NOT_TODAY = QT_TRANSLATE_NOOP("offers", "Not on this day of the week.")
    COUPON_NEEDED = QT_TRANSLATE_NOOP("offers", "Needs a coupon; this member has none.")
    NOT_ENOUGH_POINTS = QT_TRANSLATE_NOOP("offers", "Costs {cost} points; the member has {balance}.")

    def text(self, **params: object) -> str:
        """The reason in English (the CLI's language); lists are joined with ", "."""
        return fill(self.value, params)


def fill(template: str, params: dict[str, Any], separator: str = ", ") -> str:
    """``template`` filled with ``params``; a list or tuple value (the tiers or tags of a reason)
    is joined with ``separator``, so a view can pass its translated one (Chinese uses 、)."""
    return template.format(**{key: separator.join(str(v) for v in value) if isinstance(value, list | tuple) else value
                              for key, value in params.items()})


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class OfferInput:
    """What the owner types to define an offer. Money in fen, percentages as integers."""

    name: str
    kind: OfferKind
    description: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    target: OfferTarget = OfferTarget.EVERYONE  # EVERYONE with tier_ids is the same as TIERS
    tier_ids: tuple[int, ...] = ()  # only these tiers (with any target); empty: every tier
    tags: tuple[str, ...] = ()
    group_id: int | None = None
    per_member_limit: int | None = None
    total_limit: int | None = None
    coupon_required: bool = False
    threshold_fen: int = 0  # AMOUNT_OFF threshold; minimum basket for the other discounts
    reduction_fen: int = 0  # AMOUNT_OFF; with a points cost leave it 0: the points rules set the amount
    repeat_threshold: bool = False  # AMOUNT_OFF: per full threshold (每满)
    percent_bp: int = 0  # PERCENT_OFF, BIRTHDAY (optional): basis points, 500 = 5 %
    gift: str = ""  # GIFT, BIRTHDAY (optional)
    buy_qty: int = 0
    get_qty: int = 0
    item_code: str = ""
    item_category: str = ""
    multiplier_pct: int = 0  # POINTS_MULTIPLIER: 200 = double points
    weekdays: tuple[int, ...] = ()  # POINTS_MULTIPLIER: 0 = Monday; empty = every day
    points_cost: int = 0  # points the member spends to use the offer

    def __post_init__(self) -> None:
        object.__setattr__(self, "tier_ids", tuple(dict.fromkeys(int(t) for t in self.tier_ids)))
        object.__setattr__(self, "tags", tuple(dict.fromkeys(t.strip() for t in self.tags if t and t.strip())))
        object.__setattr__(self, "weekdays", tuple(sorted({int(d) for d in self.weekdays})))


@dataclass(frozen=True)
class OfferInfo:
    id: int
    name: str
    description: str
    kind: OfferKind
    active: bool
    starts_on: date | None
    ends_on: date | None
    target: OfferTarget  # TIERS when the offer is for everyone in some tiers
    tier_ids: tuple[int, ...]  # the tiers it is limited to, lowest rank first (a legacy minimum tier included); empty: all
    tier_names: tuple[str, ...]
    tags: tuple[str, ...]
    group_id: int | None
    group_name: str
    min_tier_id: int | None  # the legacy minimum tier as stored (already part of tier_ids)
    per_member_limit: int | None
    total_limit: int | None
    coupon_required: bool
    threshold_fen: int
    reduction_fen: int  # AMOUNT_OFF: the amount off; with a points cost, what the points are worth now
    repeat_threshold: bool
    percent_bp: int
    gift: str
    buy_qty: int
    get_qty: int
    item_code: str
    item_category: str
    multiplier_pct: int
    weekdays: tuple[int, ...]
    points_cost: int
    points_worth_fen: int = 0  # what points_cost is worth as money at the points rules' rate now
    used: int = 0  # redemptions so far
    coupons_issued: int = 0
    coupons_used: int = 0

    @property
    def paid_with_points(self) -> bool:
        """Money off bought with points: its amount follows the points rules, it has none of its own."""
        return self.kind is OfferKind.AMOUNT_OFF and self.points_cost > 0

    def to_input(self) -> OfferInput:
        return OfferInput(
            name=self.name, kind=self.kind, description=self.description, starts_on=self.starts_on, ends_on=self.ends_on,
            target=self.target, tier_ids=self.tier_ids, tags=self.tags, group_id=self.group_id,
            per_member_limit=self.per_member_limit, total_limit=self.total_limit, coupon_required=self.coupon_required,
            threshold_fen=self.threshold_fen, reduction_fen=0 if self.paid_with_points else self.reduction_fen,
            repeat_threshold=self.repeat_threshold,
            percent_bp=self.percent_bp, gift=self.gift, buy_qty=self.buy_qty, get_qty=self.get_qty, item_code=self.item_code,
            item_category=self.item_category, multiplier_pct=self.multiplier_pct, weekdays=self.weekdays,
            points_cost=self.points_cost,
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["target"] = self.target.value
        for key in ("starts_on", "ends_on"):
            data[key] = data[key].isoformat() if data[key] else None
        for key in ("tier_ids", "tier_names", "tags", "weekdays"):
            data[key] = list(data[key])
        return data


@dataclass(frozen=True)
class OfferStatus:
    """One offer as the counter sees it for one member now."""

    offer: OfferInfo
    reason: Reason | None  # None: the member can use it now
    params: dict[str, Any] = field(default_factory=dict)
    needs_coupon: bool = False
    automatic: bool = False  # points multipliers apply by themselves when the purchase is recorded
    discount_fen: int | None = None  # with a basket: what applying would take off
    coupon_codes: tuple[str, ...] = ()  # the member's own unused coupons for this offer

    @property
    def usable(self) -> bool:
        return self.reason is None

    @property
    def reason_text(self) -> str:
        return self.reason.text(**self.params) if self.reason else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "offer_id": self.offer.id, "name": self.offer.name, "kind": self.offer.kind.value, "usable": self.usable,
            "reason": self.reason.name.lower() if self.reason else None, "reason_text": self.reason_text,
            "needs_coupon": self.needs_coupon, "automatic": self.automatic, "discount_fen": self.discount_fen,
            "coupon_codes": list(self.coupon_codes),
        }


@dataclass(frozen=True)
class Redemption:
    id: int
    offer_id: int
    offer_name: str
    member_id: int
    purchase_id: int | None
    coupon_code: str | None
    discount_fen: int
    points_spent: int
    gift: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


# --------------------------------------------------------------------------- validation


def _bad(template: str, field_name: str, **params: object) -> InvalidInput:
    return InvalidInput(template, field=field_name, **params)


def _validate(session: Session, data: OfferInput) -> OfferInput:
    name = " ".join((data.name or "").split())
    if not name:
        raise _bad(QT_TRANSLATE_NOOP("errors", "Give the offer a name."), "name")
    if len(name) > MAX_NAME:
        raise _bad(QT_TRANSLATE_NOOP("errors", "An offer name may have at most {count} characters."), "name", count=MAX_NAME)
    if data.starts_on and data.ends_on and data.starts_on > data.ends_on:
        raise _bad(QT_TRANSLATE_NOOP("errors", "The offer ends ({end}) before it starts ({start})."), "ends_on",
                   start=data.starts_on.isoformat(), end=data.ends_on.isoformat())
    for value, field_name in ((data.per_member_limit, "per_member_limit"), (data.total_limit, "total_limit")):
        if value is not None and not 1 <= value <= MAX_LIMIT:
            raise _bad(QT_TRANSLATE_NOOP("errors", "A limit must be from 1 to {max}, or left empty for no limit."), field_name,
                       max=MAX_LIMIT)
    if not 0 <= data.points_cost <= 1_000_000:
        raise _bad(QT_TRANSLATE_NOOP("errors", "The points cost must be from 0 to 1000000."), "points_cost")
    if not 0 <= data.threshold_fen <= MAX_FEN:
        raise _bad(QT_TRANSLATE_NOOP("errors", "The minimum spend must be from ¥0 to ¥100,000."), "threshold_fen")
    kind = data.kind
    if kind is OfferKind.AMOUNT_OFF and data.points_cost:
        data = replace(data, reduction_fen=_check_points_money(session, data))
    elif kind is OfferKind.AMOUNT_OFF:
        if not 0 < data.reduction_fen <= MAX_FEN:
            raise _bad(QT_TRANSLATE_NOOP("errors", "Give the amount taken off (more than ¥0)."), "reduction_fen")
        if data.threshold_fen and data.reduction_fen >= data.threshold_fen:
            raise _bad(QT_TRANSLATE_NOOP("errors", "The amount off (¥{off}) must be less than the spend it needs (¥{spend})."),
                       "reduction_fen", off=format_yuan(data.reduction_fen), spend=format_yuan(data.threshold_fen))
        if data.repeat_threshold and not data.threshold_fen:
            raise _bad(QT_TRANSLATE_NOOP("errors", "'For every full amount' needs a spend threshold."), "threshold_fen")
    elif kind is OfferKind.PERCENT_OFF:
        if not 1 <= data.percent_bp <= 9_999:
            raise _bad(QT_TRANSLATE_NOOP("errors", "The discount must be from 0.01 % to 99.99 %."), "percent_bp")
    elif kind is OfferKind.GIFT:
        if not data.gift.strip():
            raise _bad(QT_TRANSLATE_NOOP("errors", "Name the gift."), "gift")
    elif kind is OfferKind.BIRTHDAY:
        if not data.gift.strip() and not data.percent_bp:
            raise _bad(QT_TRANSLATE_NOOP("errors", "A birthday offer needs a gift, a discount, or both."), "gift")
        if not 0 <= data.percent_bp <= 9_999:
            raise _bad(QT_TRANSLATE_NOOP("errors", "The discount must be from 0.01 % to 99.99 %."), "percent_bp")
    elif kind is OfferKind.BUY_X_GET_Y:
        if not (1 <= data.buy_qty <= 100 and 1 <= data.get_qty <= 100):
            raise _bad(QT_TRANSLATE_NOOP("errors", "Buy and get quantities must be from 1 to 100."), "buy_qty")
        if bool(data.item_code.strip()) == bool(data.item_category.strip()):
            raise _bad(QT_TRANSLATE_NOOP("errors", "Give either the item code or the category the offer is for (one of them)."),
                       "item_code")
    elif kind is OfferKind.POINTS_MULTIPLIER:
        if not 101 <= data.multiplier_pct <= 1000:
            raise _bad(QT_TRANSLATE_NOOP("errors", "The points multiplier must be from 101 % to 1000 %."), "multiplier_pct")
        if data.per_member_limit or data.total_limit or data.coupon_required or data.points_cost:
            raise _bad(QT_TRANSLATE_NOOP("errors", "Extra points days apply by themselves: they take no limits, coupons or points cost."),
                       "per_member_limit")
    if not all(0 <= d <= 6 for d in data.weekdays):
        raise _bad(QT_TRANSLATE_NOOP("errors", "Weekdays run from 0 (Monday) to 6 (Sunday)."), "weekdays")
    if len(data.gift) > 200 or len(data.item_code) > 40 or len(data.item_category) > 60:
        raise _bad(QT_TRANSLATE_NOOP("errors", "A text of the offer is too long."), "gift")
    target = data.target
    if target is OfferTarget.EVERYONE and data.tier_ids:
        target = OfferTarget.TIERS  # everyone in some tiers
    if target is OfferTarget.TIERS and not data.tier_ids:
        raise _bad(QT_TRANSLATE_NOOP("errors", "Choose at least one tier the offer is for."), "tier_ids")
    if data.tier_ids:
        known = set(session.scalars(sa.select(Tier.id).where(Tier.id.in_(data.tier_ids))))
        if known != set(data.tier_ids):
            raise _bad(QT_TRANSLATE_NOOP("errors", "A chosen tier no longer exists; choose again."), "tier_ids")
    if data.target is OfferTarget.TAGS:
        if not data.tags:
            raise _bad(QT_TRANSLATE_NOOP("errors", "Give at least one tag the offer is for."), "tags")
    elif data.target is OfferTarget.GROUP and (data.group_id is None or session.get(SavedFilter, data.group_id) is None):
        raise _bad(QT_TRANSLATE_NOOP("errors", "Choose the saved group the offer is for."), "group_id")
    return replace(data, name=name, description=data.description.strip(), gift=data.gift.strip(), target=target,
                   item_code=data.item_code.strip(), item_category=data.item_category.strip())


def _check_points_money(session: Session, data: OfferInput) -> int:
    """Money off for points: the amount is what the points are worth at the points rules' rate, never
    an amount of its own. Returns 0, what is stored (the amount is worked out when the offer is used)."""
    rules = loyalty.get_rules(session)
    worth = loyalty.points_value_fen(rules, data.points_cost)
    rate = f"{rules.redeem_points_per_yuan:,}"
    if worth <= 0:
        raise _bad(QT_TRANSLATE_NOOP("errors", "{points} points are worth less than ¥0.01 at the points rules' rate "
                                               "({rate} points = ¥1); ask for more points."),
                   "points_cost", points=data.points_cost, rate=rate)
    if data.reduction_fen not in (0, worth):
        raise _bad(QT_TRANSLATE_NOOP("errors", "At the points rules' rate ({rate} points = ¥1), {points} points are worth "
                                               "¥{worth}, not ¥{off}. Money off for points follows that rate: leave the "
                                               "amount off empty, or change the points cost."),
                   "reduction_fen", rate=rate, points=data.points_cost, worth=format_yuan(worth), off=format_yuan(data.reduction_fen))
    if data.repeat_threshold:
        raise _bad(QT_TRANSLATE_NOOP("errors", "Money off for points is taken once per use; it cannot be 'for every full amount'."),
                   "repeat_threshold")
    if data.threshold_fen and worth >= data.threshold_fen:
        raise _bad(QT_TRANSLATE_NOOP("errors", "The amount off (¥{off}) must be less than the spend it needs (¥{spend})."),
                   "threshold_fen", off=format_yuan(worth), spend=format_yuan(data.threshold_fen))
    return 0


def _write(row: Offer, data: OfferInput) -> None:
    kind = data.kind
    value = {
        OfferKind.AMOUNT_OFF: data.reduction_fen,
        OfferKind.PERCENT_OFF: data.percent_bp,
        OfferKind.BIRTHDAY: data.percent_bp,
        OfferKind.POINTS_MULTIPLIER: data.multiplier_pct,
    }.get(kind, 0)
    row.name, row.description, row.kind, row.value = data.name, data.description, kind, value
    row.points_cost = data.points_cost
    row.min_spend_fen = data.threshold_fen if kind is not OfferKind.POINTS_MULTIPLIER else 0
    row.starts_on, row.ends_on = data.starts_on, data.ends_on
    row.target = data.target
    # One notion of "which tiers": the list replaces a legacy minimum tier (_tier_ids read both the same way).
    row.target_tier_ids = list(data.tier_ids)
    row.min_tier_id = None
    row.target_tags = list(data.tags) if data.target is OfferTarget.TAGS else []
    row.target_filter_id = data.group_id if data.target is OfferTarget.GROUP else None
    row.per_member_limit, row.total_limit = data.per_member_limit, data.total_limit
    row.coupon_required = data.coupon_required
    row.repeat_threshold = data.repeat_threshold and kind is OfferKind.AMOUNT_OFF
    row.gift = data.gift if kind in (OfferKind.GIFT, OfferKind.BIRTHDAY) else ""
    buy_x = kind is OfferKind.BUY_X_GET_Y
    row.buy_qty, row.get_qty = (data.buy_qty, data.get_qty) if buy_x else (0, 0)
    row.item_code, row.item_category = (data.item_code, data.item_category) if buy_x else ("", "")
    row.weekdays = list(data.weekdays) if kind is OfferKind.POINTS_MULTIPLIER else []


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Context:
    """What reading offers needs besides the offer rows: the tiers and the points rules, read once."""

    tiers: dict[int, tuple[int, str]]  # tier id -> (rank, name)
    rules: loyalty.Rules

    def rank(self, tier_id: int | None) -> int:
        return self.tiers[tier_id][0] if tier_id in self.tiers else -1

    def names(self, tier_ids: Sequence[int]) -> tuple[str, ...]:
        return tuple(self.tiers[t][1] for t in tier_ids if t in self.tiers)


def _context(session: Session) -> _Context:
    tiers = {tier_id: (rank, name) for tier_id, rank, name in session.execute(sa.select(Tier.id, Tier.rank, Tier.name))}
    return _Context(tiers, loyalty.get_rules(session))


def _tier_ids(row: Offer, ctx: _Context) -> tuple[int, ...] | None:
    """The tiers the offer is limited to, lowest rank first, or None for no tier limit: the offer's
    own list, and a legacy minimum tier read as every tier of that rank or higher."""
    allowed: set[int] | None = set(row.target_tier_ids) if row.target_tier_ids else None
    if row.target is OfferTarget.TIERS and allowed is None:
        allowed = set()  # aimed at tiers without any: nobody (the editor never saves that)
    if row.min_tier_id is not None:
        floor = ctx.tiers.get(row.min_tier_id, (0, ""))[0]
        at_least = {tier_id for tier_id, (rank, _name) in ctx.tiers.items() if rank >= floor}
        allowed = at_least if allowed is None else allowed & at_least
    return None if allowed is None else tuple(sorted(allowed, key=ctx.rank))


def _points_worth(row: Offer, ctx: _Context) -> int:
    return loyalty.points_value_fen(ctx.rules, row.points_cost) if row.points_cost else 0


def _reduction_fen(row: Offer, ctx: _Context) -> int:
    """A money-off offer's amount: its own, or, when it costs points, what the points are worth now."""
    if row.kind is not OfferKind.AMOUNT_OFF:
        return 0
    return _points_worth(row, ctx) if row.points_cost else row.value


def _info(session: Session, row: Offer, counts: dict[str, dict[int, int]] | None = None, ctx: _Context | None = None) -> OfferInfo:
    counts = counts if counts is not None else _counts(session, [row.id])
    ctx = ctx or _context(session)
    tier_ids = _tier_ids(row, ctx)
    target = row.target
    if tier_ids is not None and target is OfferTarget.EVERYONE:
        target = OfferTarget.TIERS  # a legacy minimum tier on an offer for everyone
    group = session.get(SavedFilter, row.target_filter_id) if row.target_filter_id else None
    kind = row.kind
    return OfferInfo(
        id=row.id, name=row.name, description=row.description or "", kind=kind, active=row.active,
        starts_on=row.starts_on, ends_on=row.ends_on, target=target, tier_ids=tier_ids or (),
        tier_names=ctx.names(tier_ids or ()), tags=tuple(row.target_tags or ()), group_id=row.target_filter_id,
        group_name=group.name if group else "", min_tier_id=row.min_tier_id, per_member_limit=row.per_member_limit,
        total_limit=row.total_limit, coupon_required=row.coupon_required, threshold_fen=row.min_spend_fen,
        reduction_fen=_reduction_fen(row, ctx), repeat_threshold=row.repeat_threshold,
        percent_bp=row.value if kind in (OfferKind.PERCENT_OFF, OfferKind.BIRTHDAY) else 0, gift=row.gift or "",
        buy_qty=row.buy_qty, get_qty=row.get_qty, item_code=row.item_code or "", item_category=row.item_category or "",
        multiplier_pct=row.value if kind is OfferKind.POINTS_MULTIPLIER else 0, weekdays=tuple(row.weekdays or ()),
        points_cost=row.points_cost, points_worth_fen=_points_worth(row, ctx), used=counts["used"].get(row.id, 0),
        coupons_issued=counts["issued"].get(row.id, 0), coupons_used=counts["coupons_used"].get(row.id, 0),
    )


def _counts(session: Session, offer_ids: Sequence[int]) -> dict[str, dict[int, int]]:
    used = dict(session.execute(
        sa.select(OfferRedemption.offer_id, sa.func.count()).where(OfferRedemption.offer_id.in_(offer_ids)).group_by(OfferRedemption.offer_id)
    ).all())
    issued = dict(session.execute(
        sa.select(Coupon.offer_id, sa.func.count()).where(Coupon.offer_id.in_(offer_ids)).group_by(Coupon.offer_id)
    ).all())
    coupons_used = dict(session.execute(
        sa.select(Coupon.offer_id, sa.func.count()).where(Coupon.offer_id.in_(offer_ids), Coupon.used_at.is_not(None))
        .group_by(Coupon.offer_id)
    ).all())
    return {"used": used, "issued": issued, "coupons_used": coupons_used}


def _row(session: Session, offer_id: int, *, for_update: bool = False) -> Offer:
    statement = sa.select(Offer).where(Offer.id == offer_id)
    row = session.execute(statement.with_for_update() if for_update else statement).scalar_one_or_none()
    if row is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No offer with id {id}."), id=offer_id)
    return row


def get_offer(session: Session, offer_id: int) -> OfferInfo:
    return _info(session, _row(session, offer_id))


def list_offers(session: Session, *, include_inactive: bool = True) -> list[OfferInfo]:
    """Every offer with its usage counts: active ones first, then by start day and name."""
    statement = sa.select(Offer)
    if not include_inactive:
        statement = statement.where(Offer.active.is_(True))
    rows = list(session.scalars(statement.order_by(Offer.active.desc(), Offer.name, Offer.id)))
    counts = _counts(session, [r.id for r in rows])
    ctx = _context(session)
    return [_info(session, r, counts, ctx) for r in rows]


def find_offer(session: Session, key: str) -> OfferInfo:
    """An offer by id or by exact name (for the command line)."""
    key = (key or "").strip()
    row = None
    if key.isdigit():
        row = session.get(Offer, int(key))
    if row is None:
        matches = list(session.scalars(sa.select(Offer).where(Offer.name == " ".join(key.split()))))
        if len(matches) > 1:
            raise Conflict(QT_TRANSLATE_NOOP("errors", "Several offers are named '{name}'; use the offer's id."), name=key)
        row = matches[0] if matches else None
    if row is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No offer with the id or name '{key}'."), key=key)
    return _info(session, row)


# --------------------------------------------------------------------------- changing


def create_offer(session: Session, actor: Actor, data: OfferInput) -> OfferInfo:
    require(actor, Permission.MANAGE_OFFERS)
    data = _validate(session, data)
    row = Offer(active=True)
    _write(row, data)
    session.add(row)
    session.flush()
    audit.record(session, actor, "offer.add", "offer", row.id, name=row.name, kind=row.kind.value)
    return _info(session, row)


def update_offer(session: Session, actor: Actor, offer_id: int, data: OfferInput) -> OfferInfo:
    """Change an offer; redemptions already made keep the discount they gave."""
    require(actor, Permission.MANAGE_OFFERS)
    row = _row(session, offer_id, for_update=True)
    data = _validate(session, data)
    _write(row, data)
    session.flush()
    audit.record(session, actor, "offer.update", "offer", row.id, name=row.name, kind=row.kind.value)
    return _info(session, row)


def set_active(session: Session, actor: Actor, offer_id: int, active: bool) -> OfferInfo:
    require(actor, Permission.MANAGE_OFFERS)
    row = _row(session, offer_id, for_update=True)
    row.active = active
    session.flush()
    audit.record(session, actor, "offer.activate" if active else "offer.deactivate", "offer", row.id, name=row.name)
    return _info(session, row)


def deactivate_offer(session: Session, actor: Actor, offer_id: int) -> OfferInfo:
    """Switch an offer off: the counter stops listing it; its history stays."""
    return set_active(session, actor, offer_id, False)


# --------------------------------------------------------------------------- coupons


def normalize_code(text: str) -> str:
    """What a person typed (any case, spaces, dashes, full-width) as a stored code."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text or "").upper() if ch.isalnum())


def display_code(code: str) -> str:
    """ABCDE23456 -> ABCDE-23456, easier to read aloud and to type."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}" if len(code) >= 8 else code


def _new_code() -> str:
    return "".join(secrets.choice(COUPON_ALPHABET) for _ in range(COUPON_LENGTH))


def generate_coupons(session: Session, actor: Actor, offer_id: int, count: int, member_id: int | None = None,
                     *, batch: str = "") -> list[str]:
    """Make ``count`` single-use codes for a coupon offer, optionally bound to one member.
    Returns the codes (stored form; ``display_code`` for paper)."""
    require(actor, Permission.MANAGE_OFFERS)
    row = _row(session, offer_id)
    if not row.coupon_required:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The offer '{name}' does not take coupons; switch on 'needs a coupon' first."),
                           field="offer", name=row.name)
    if not 1 <= count <= MAX_COUPONS_PER_BATCH:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Make from 1 to {max} coupons at a time."), field="count",
                           max=MAX_COUPONS_PER_BATCH)
    if member_id is not None and session.get(Member, member_id) is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    now = datetime.now(UTC)
    batch = (batch or "").strip()[:60] or now.astimezone(loyalty.SHOP_ZONE).strftime("%Y-%m-%d %H:%M")
    codes: set[str] = set()
    while len(codes) < count:
        wanted = {_new_code() for _ in range(count - len(codes))} - codes
        taken = set(session.scalars(sa.select(Coupon.code).where(Coupon.code.in_(wanted))))
        codes |= wanted - taken
    ordered = sorted(codes)
    session.add_all(Coupon(code=code, offer_id=row.id, member_id=member_id, batch=batch, created_at=now) for code in ordered)
    session.flush()
    audit.record(session, actor, "offer.coupons", "offer", row.id, count=count, member_id=member_id, batch=batch)
    return ordered


@dataclass(frozen=True)
class CouponInfo:
    code: str
    offer_id: int
    member_id: int | None
    batch: str
    created_at: datetime
    used_at: datetime | None


def list_coupons(session: Session, offer_id: int, *, unused_only: bool = False) -> list[CouponInfo]:
    statement = sa.select(Coupon).where(Coupon.offer_id == offer_id)
    if unused_only:
        statement = statement.where(Coupon.used_at.is_(None))
    return [CouponInfo(c.code, c.offer_id, c.member_id, c.batch, c.created_at, c.used_at)
            for c in session.scalars(statement.order_by(Coupon.created_at, Coupon.code))]


# --------------------------------------------------------------------------- eligibility


def _in_group(session: Session, filter_id: int, member_id: int) -> bool:
    saved = session.get(SavedFilter, filter_id)
    if saved is None:
        return False
    flt = MemberFilter.from_dict(saved.criteria or {})
    return session.scalar(sa.select(Member.id).where(Member.id == member_id, *conditions(flt))) is not None


def _used(session: Session, offer_id: int, member_id: int | None = None) -> int:
    statement = sa.select(sa.func.count()).select_from(OfferRedemption).where(OfferRedemption.offer_id == offer_id)
    if member_id is not None:
        statement = statement.where(OfferRedemption.member_id == member_id)
    return int(session.scalar(statement) or 0)


def _member_coupons(session: Session, offer_id: int, member_id: int) -> tuple[str, ...]:
    return tuple(session.scalars(
        sa.select(Coupon.code).where(Coupon.offer_id == offer_id, Coupon.member_id == member_id, Coupon.used_at.is_(None))
        .order_by(Coupon.created_at, Coupon.code)
    ))


def _any_open_coupon(session: Session, offer_id: int) -> bool:
    return session.scalar(sa.select(Coupon.id).where(
        Coupon.offer_id == offer_id, Coupon.member_id.is_(None), Coupon.used_at.is_(None)).limit(1)) is not None


def _targeted(session: Session, row: Offer, member: Member, tags: set[str], ctx: _Context) -> tuple[Reason, dict[str, Any]] | None:
    allowed = _tier_ids(row, ctx)
    if allowed is not None and member.tier_id not in allowed:
        return Reason.NOT_IN_TIER, {"tiers": ctx.names(allowed)}
    if row.target is OfferTarget.TAGS and not tags & set(row.target_tags or []):
        return Reason.NOT_TAGGED, {"tags": tuple(row.target_tags or ())}
    if row.target is OfferTarget.GROUP and (row.target_filter_id is None or not _in_group(session, row.target_filter_id, member.id)):
        group = session.get(SavedFilter, row.target_filter_id) if row.target_filter_id else None
        return Reason.NOT_IN_GROUP, {"group": group.name if group else "-"}
    return None


def _check(session: Session, row: Offer, member: Member, today: date, basket_fen: int | None, *, tags: set[str],
           ctx: _Context) -> tuple[Reason | None, dict[str, Any]]:
    """The first reason the member cannot use the offer today, or (None, {})."""
    if row.starts_on is not None and today < row.starts_on:
        return Reason.NOT_STARTED, {"date": row.starts_on.isoformat()}
    if row.ends_on is not None and today > row.ends_on:
        return Reason.ENDED, {"date": row.ends_on.isoformat()}
    if member.status is not MemberStatus.ACTIVE:
        return Reason.MEMBER_NOT_ACTIVE, {"status": member.status.value}
    missed = _targeted(session, row, member, tags, ctx)
    if missed is not None:
        return missed
    if row.kind is OfferKind.BIRTHDAY and member.birth_month != today.month:
        return Reason.NOT_BIRTHDAY_MONTH, {}
    if row.kind is OfferKind.POINTS_MULTIPLIER:
        if row.weekdays and today.weekday() not in row.weekdays:
            return Reason.NOT_TODAY, {}
        return None, {}
    if row.per_member_limit is not None:
        used = _used(session, row.id, member.id)
        if used >= row.per_member_limit:
            return Reason.MEMBER_LIMIT, {"used": used, "limit": row.per_member_limit}
    if row.total_limit is not None and _used(session, row.id) >= row.total_limit:
        return Reason.TOTAL_LIMIT, {"limit": row.total_limit}
    if row.points_cost and member.points_balance < row.points_cost:
        return Reason.NOT_ENOUGH_POINTS, {"cost": row.points_cost, "balance": member.points_balance}
    if row.coupon_required and not _member_coupons(session, row.id, member.id) and not _any_open_coupon(session, row.id):
        return Reason.COUPON_NEEDED, {}
    if basket_fen is not None and row.min_spend_fen and basket_fen < row.min_spend_fen:
        return Reason.BELOW_THRESHOLD, {"basket": format_yuan(basket_fen), "threshold": format_yuan(row.min_spend_fen)}
    return None, {}


def discount_for(offer: OfferInfo, basket_fen: int) -> int:
    """The discount a basket gets from a money offer (0 for gifts and buy-X-get-Y without lines).
    A money-off offer that costs points takes off ``offer.reduction_fen``, its points' worth when read."""
    threshold = offer.threshold_fen
    if basket_fen <= 0 or basket_fen < threshold:
        return 0
    if offer.kind is OfferKind.AMOUNT_OFF:
        times = basket_fen // threshold if offer.repeat_threshold and threshold and not offer.points_cost else 1
        return min(basket_fen, offer.reduction_fen * times)
    if offer.kind in (OfferKind.PERCENT_OFF, OfferKind.BIRTHDAY):
        return basket_fen * offer.percent_bp // 10_000
    return 0


def _member(session: Session, member_id: int, *, for_update: bool = False) -> Member:
    statement = sa.select(Member).where(Member.id == member_id)
    member = session.execute(statement.with_for_update() if for_update else statement).scalar_one_or_none()
    if member is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    return member


def eligibility(session: Session, member_id: int, *, today: date | None = None, basket_fen: int | None = None) -> list[OfferStatus]:
    """Every active offer for this member today: usable ones first, each other one with its reason."""
    today = today or loyalty.local_day(datetime.now(UTC))
    member = _member(session, member_id)
    tags = set(session.scalars(sa.select(MemberTag.tag).where(MemberTag.member_id == member_id)))
    ctx = _context(session)
    rows = list(session.scalars(sa.select(Offer).where(Offer.active.is_(True)).order_by(Offer.name, Offer.id)))
    counts = _counts(session, [r.id for r in rows])
    out = []
    for row in rows:
        reason, params = _check(session, row, member, today, basket_fen, tags=tags, ctx=ctx)
        info = _info(session, row, counts, ctx)
        automatic = row.kind is OfferKind.POINTS_MULTIPLIER
        discount = discount_for(info, basket_fen) if basket_fen is not None and reason is None and not automatic else None
        out.append(OfferStatus(
            info, reason, params, needs_coupon=row.coupon_required, automatic=automatic,
            discount_fen=discount, coupon_codes=_member_coupons(session, row.id, member_id) if row.coupon_required else (),
        ))
    out.sort(key=lambda s: (not s.usable, s.automatic))
    return out


def points_multiplier_pct(session: Session, member_id: int, day: date) -> int:
    """The best active points-multiplier offer for the member on ``day`` (100 = none).
    Offers do not stack with each other; the purchase multiplies this with the tier's
    and the bonus-day multipliers."""
    wanted = (Offer.active.is_(True), Offer.kind == OfferKind.POINTS_MULTIPLIER)
    if session.execute(sa.select(Offer.id).where(*wanted).limit(1)).first() is None:
        return 100  # the common case at the till: one cheap query and done
    candidates = list(session.scalars(sa.select(Offer).where(*wanted)))
    member = _member(session, member_id)
    tags = set(session.scalars(sa.select(MemberTag.tag).where(MemberTag.member_id == member_id)))
    ctx = _context(session)
    best = 100
    for row in candidates:
        reason, _params = _check(session, row, member, day, None, tags=tags, ctx=ctx)
        if reason is None:
            best = max(best, row.value)
    return best


# --------------------------------------------------------------------------- what else points can buy


WEEKDAY_ABBREVIATIONS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def plain_summary(info: OfferInfo) -> str:
    """What the offer gives, in one line of plain English (the command line's language; a view shows
    the same in the user's language with crmdesk.views.offers_page.offer_summary)."""
    kind = info.kind
    if kind is OfferKind.AMOUNT_OFF:
        text = f"¥{format_yuan(info.reduction_fen)} off"
        if info.threshold_fen:
            text += f" {'for every' if info.repeat_threshold else 'from'} ¥{format_yuan(info.threshold_fen)}"
    elif kind is OfferKind.PERCENT_OFF:
        text = f"{_percent_text(info.percent_bp)} % off"
    elif kind is OfferKind.GIFT:
        text = f"gift: {info.gift}"
    elif kind is OfferKind.BIRTHDAY:
        parts = [f"gift: {info.gift}"] if info.gift else []
        parts += [f"{_percent_text(info.percent_bp)} % off"] if info.percent_bp else []
        text = "birthday month, " + " and ".join(parts)
    elif kind is OfferKind.BUY_X_GET_Y:
        text = f"buy {info.buy_qty} get {info.get_qty} free of {info.item_code or info.item_category}"
    else:
        days = ", ".join(WEEKDAY_ABBREVIATIONS[d] for d in info.weekdays) or "every day"
        text = f"{info.multiplier_pct} % points on {days}"
    if info.threshold_fen and kind is not OfferKind.AMOUNT_OFF:
        text += f", basket from ¥{format_yuan(info.threshold_fen)}"
    if info.points_cost:
        text += f", for {info.points_cost} points"
    if info.coupon_required:
        text += ", coupon needed"
    return text


def _percent_text(bp: int) -> str:
    whole, rest = divmod(bp, 100)
    return f"{whole}" if not rest else f"{whole}.{rest:02d}".rstrip("0")


@dataclass(frozen=True)
class PointsOfferHint:
    """One offer a member could spend points on instead of (or as well as) money off with F7.

    ``points_cost`` points buy what ``offer`` gives. ``gives_fen`` is the money it takes off when that is
    fixed in advance (money off for points: exactly ``worth_fen``, since points are worth the same
    everywhere), else None (a gift, a percentage of the basket, free items). ``worth_fen`` is what the
    same points take off a receipt with F7, at the points rules' rate, for comparison.
    ``reason`` is None when the member can use the offer now; otherwise why not, with ``params``
    (a view shows ``reason.value`` translated in the "offers" context, filled with
    ``fill(template, params, separator)`` and its translated list separator).
    """

    offer_id: int
    name: str
    kind: OfferKind
    summary: str  # plain English, e.g. "gift: 鸡蛋一盒, for 800 points"
    points_cost: int
    worth_fen: int
    gives_fen: int | None
    reason: Reason | None
    params: dict[str, Any]
    offer: OfferInfo

    @property
    def usable(self) -> bool:
        return self.reason is None

    @property
    def reason_text(self) -> str:
        return self.reason.text(**self.params) if self.reason else ""


# Reasons that mean the offer is not for this member at all: such offers are left out of the hints.
_NOT_FOR_THIS_MEMBER = frozenset({Reason.ENDED, Reason.NOT_IN_TIER, Reason.NOT_TAGGED, Reason.NOT_IN_GROUP})


def points_offers_for(session: Session, member_id: int, today: date | None = None, *,
                      basket_fen: int | None = None) -> list[PointsOfferHint]:
    """The active offers that cost points and that this member could use, for the counter's F7 dialog
    ("points can also buy: ...").

    Returns one PointsOfferHint per active offer with a points cost, except offers this member can
    never use: ended ones and ones aimed at other tiers, tags or groups. Every other one is listed,
    usable now (``reason`` None) or with the reason it is not, checked exactly as ``eligibility``
    and ``apply`` check it on ``today`` (default: the shop's today): not started yet, not the
    birthday month, a limit reached, not enough points, a coupon needed, and, only when
    ``basket_fen`` is given, a basket below the offer's minimum. Usable ones come first, then by
    points cost (cheapest first) and name. Nothing is written; NotFound for an unknown member.
    """
    today = today or loyalty.local_day(datetime.now(UTC))
    member = _member(session, member_id)
    tags = set(session.scalars(sa.select(MemberTag.tag).where(MemberTag.member_id == member_id)))
    ctx = _context(session)
    rows = list(session.scalars(sa.select(Offer).where(Offer.active.is_(True), Offer.points_cost > 0)
                                .order_by(Offer.points_cost, Offer.name, Offer.id)))
    counts = _counts(session, [r.id for r in rows])
    hints = []
    for row in rows:
        reason, params = _check(session, row, member, today, basket_fen, tags=tags, ctx=ctx)
        if reason in _NOT_FOR_THIS_MEMBER:
            continue
        info = _info(session, row, counts, ctx)
        hints.append(PointsOfferHint(
            offer_id=row.id, name=row.name, kind=row.kind, summary=plain_summary(info), points_cost=row.points_cost,
            worth_fen=info.points_worth_fen, gives_fen=info.reduction_fen if info.paid_with_points else None,
            reason=reason, params=params, offer=info,
        ))
    hints.sort(key=lambda h: (not h.usable, h.points_cost, h.name, h.offer_id))
    return hints


# --------------------------------------------------------------------------- applying


class OfferNotUsable(InvalidInput):
    """The member cannot use the offer now; ``reason`` and ``reason_params`` say why
    (a view translates ``reason.value`` in the "offers" context)."""

    def __init__(self, reason: Reason, params: dict[str, Any], offer_name: str) -> None:
        self.reason = reason
        self.reason_params = dict(params)
        super().__init__(QT_TRANSLATE_NOOP("errors", "Offer '{offer}' cannot be used: {why}"), field="offer", offer=offer_name,
                         why=reason.text(**params))


def _refuse(reason: Reason, params: dict[str, Any], offer_name: str) -> OfferNotUsable:
    return OfferNotUsable(reason, params, offer_name)


def _buy_x_get_y_discount(session: Session, row: Offer, purchase: Purchase | None, unit_price_fen: int | None) -> int:
    if purchase is not None:
        match = PurchaseLine.item_code == row.item_code if row.item_code else PurchaseLine.category == row.item_category
        lines = session.execute(sa.select(PurchaseLine.quantity_milli, PurchaseLine.unit_price_fen, PurchaseLine.amount_fen)
                                .where(PurchaseLine.purchase_id == purchase.id, match)).all()
        if lines:
            units = sum(q for q, _p, _a in lines) // 1000
            prices = [p or (a * 1000 // q if q else 0) for q, p, a in lines]
            sets = units // (row.buy_qty + row.get_qty)
            if sets == 0:
                raise InvalidInput(
                    QT_TRANSLATE_NOOP("errors", "The receipt has {units} of {item}; the offer needs {needed}."), field="offer",
                    units=units, item=row.item_code or row.item_category, needed=row.buy_qty + row.get_qty)
            return sets * row.get_qty * min(prices)
    if unit_price_fen is not None:
        if not 0 <= unit_price_fen <= MAX_FEN:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The item price is not plausible; check it."), field="unit_price")
        return row.get_qty * unit_price_fen
    return 0


def apply(
    session: Session,
    actor: Actor,
    offer_id: int,
    member_id: int,
    *,
    purchase_id: int | None = None,
    basket_fen: int | None = None,
    coupon_code: str | None = None,
    unit_price_fen: int | None = None,
    today: date | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> Redemption:
    """Use an offer for a member at the counter: checks everything ``eligibility`` does, computes
    the discount, spends the points it costs, uses the coupon, and records the redemption.
    ``request_id`` makes applying again after a network failure safe (services/requests.py): the
    second time raises AlreadyDone instead of spending the points or a use of the offer twice.

    Run inside unit_of_work: limits and the coupon are checked under the write lock
    (and on PostgreSQL with the offer and coupon rows locked), so two tills cannot both
    take the last use or the same coupon."""
    now = now or datetime.now(UTC)
    today = today or loyalty.local_day(now)
    requests.once(session, request_id, "offer.apply", member_id)
    row = _row(session, offer_id, for_update=True)
    if not row.active:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The offer '{name}' is switched off."), field="offer", name=row.name)
    if row.kind is OfferKind.POINTS_MULTIPLIER:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{name}' gives extra points by itself when the purchase is recorded."),
                           field="offer", name=row.name)
    member = _member(session, member_id, for_update=True)
    purchase = None
    if purchase_id is not None:
        purchase = session.get(Purchase, purchase_id)
        if purchase is None or purchase.member_id != member_id or purchase.kind is not PurchaseKind.SALE:
            raise NotFound(QT_TRANSLATE_NOOP("errors", "No sale with id {id} for this member."), id=purchase_id)
        if basket_fen is None:
            basket_fen = purchase.amount_fen
    if basket_fen is not None and not 0 <= basket_fen <= MAX_FEN:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The basket amount is not plausible; check it."), field="basket")
    needs_basket = row.min_spend_fen > 0 or row.kind in (OfferKind.AMOUNT_OFF, OfferKind.PERCENT_OFF) or (
        row.kind is OfferKind.BIRTHDAY and row.value > 0)
    if needs_basket and basket_fen is None:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Enter the basket amount to use '{name}'."), field="basket", name=row.name)
    tags = set(session.scalars(sa.select(MemberTag.tag).where(MemberTag.member_id == member_id)))
    ctx = _context(session)
    reason, params = _check(session, row, member, today, basket_fen, tags=tags, ctx=ctx)
    if reason is not None and reason is not Reason.COUPON_NEEDED:
        raise _refuse(reason, params, row.name)
    coupon = None
    if row.coupon_required:
        code = normalize_code(coupon_code or "")
        if not code:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{name}' needs a coupon: enter its code."), field="coupon", name=row.name)
        coupon = session.execute(sa.select(Coupon).where(Coupon.code == code).with_for_update()).scalar_one_or_none()
        if coupon is None or coupon.offer_id != row.id:
            raise NotFound(QT_TRANSLATE_NOOP("errors", "The coupon {code} is not a coupon for '{name}'; check the code."),
                           code=display_code(code), name=row.name)
        if coupon.used_at is not None:
            raise Conflict(QT_TRANSLATE_NOOP("errors", "The coupon {code} was already used on {date}."), code=display_code(code),
                           date=loyalty.local_day(coupon.used_at).isoformat())
        if coupon.member_id is not None and coupon.member_id != member_id:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The coupon {code} belongs to another member."), field="coupon",
                               code=display_code(code))
    elif coupon_code:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{name}' takes no coupon."), field="coupon", name=row.name)
    if row.kind is OfferKind.BUY_X_GET_Y:
        discount = _buy_x_get_y_discount(session, row, purchase, unit_price_fen)
    else:
        discount = discount_for(_info(session, row, ctx=ctx), basket_fen or 0)
    if basket_fen is not None:
        discount = min(discount, basket_fen)
    if row.points_cost:
        loyalty.redeem(session, actor, member_id, row.points_cost, reason=f"offer {row.id}: {row.name}"[:300],
                       purchase_id=purchase_id, now=now)
    redemption = OfferRedemption(
        offer_id=row.id, member_id=member_id, purchase_id=purchase_id, coupon_id=coupon.id if coupon else None, at=now,
        staff_id=actor.staff_id, discount_fen=discount, points_spent=row.points_cost,
        details={**({"basket_fen": basket_fen} if basket_fen is not None else {}),
                 # The rate the points were turned into money at, when they were.
                 **({"redeem_points_per_yuan": ctx.rules.redeem_points_per_yuan} if row.points_cost and discount else {})},
    )
    session.add(redemption)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(QT_TRANSLATE_NOOP("errors", "The coupon {code} was just used at another till."),
                       code=display_code(coupon.code) if coupon else "-") from None
    if coupon is not None:
        coupon.used_at = now
        coupon.used_by_redemption_id = redemption.id
    audit.record(session, actor, "offer.apply", "offer", row.id, member_id=member_id, purchase_id=purchase_id,
                 discount_fen=discount, coupon=coupon.code if coupon else None)
    requests.made(session, request_id, redemption.id)
    session.flush()
    return Redemption(redemption.id, row.id, row.name, member_id, purchase_id, coupon.code if coupon else None, discount,
                      row.points_cost, row.gift or "", now)


def redemptions(session: Session, *, offer_id: int | None = None, member_id: int | None = None, limit: int = 200) -> list[Redemption]:
    statement = (sa.select(OfferRedemption, Offer.name, Offer.gift, Coupon.code).join(Offer, Offer.id == OfferRedemption.offer_id)
                 .outerjoin(Coupon, Coupon.id == OfferRedemption.coupon_id))
    if offer_id is not None:
        statement = statement.where(OfferRedemption.offer_id == offer_id)
    if member_id is not None:
        statement = statement.where(OfferRedemption.member_id == member_id)
    rows = session.execute(statement.order_by(OfferRedemption.at.desc(), OfferRedemption.id.desc()).limit(limit)).all()
    return [Redemption(r.id, r.offer_id, name, r.member_id, r.purchase_id, code, r.discount_fen, r.points_spent, gift or "", r.at)
            for r, name, gift, code in rows]
