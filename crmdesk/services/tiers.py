"""Editing the membership tiers (普通, 银卡, 金卡, 钻石 ...) and their benefits.

Rules a saved list of tiers keeps (``save_tiers``):
- the list order is the rank: the first tier is the entry tier everyone starts in;
- names are not empty, at most 40 characters, and unique (ignoring case and spaces around);
- the entry tier needs ¥0 of 12-month spend; each higher tier needs strictly more than the one below;
- points multipliers run from 0 % to 1000 %; member discounts from 0 % to 100 %, stored in basis points
  (500 = 5 %), never as floats;
- colours are #RRGGBB.

Deleting a tier that members are in: refused with ``TierInUse`` (saying how many members and which tier
they would go to) unless the caller passes ``move_members_down=True``; then those members move at once
to the nearest kept tier below (the new entry tier when the entry tier itself goes). They are never moved
up here: upgrades come with purchases, and the monthly review (loyalty.review_tiers) sorts everyone out.
A tier an offer is limited to cannot be deleted at all; change the offer first. Changing thresholds moves
nobody by itself either, for the same reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.errors import Conflict, InvalidInput
from crmdesk.models import Member, MemberStatus, Offer, Tier
from crmdesk.services import audit
from crmdesk.services.auth import Permission, require
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP

MAX_TIERS = 20
MAX_MULTIPLIER_PCT = 1000
MAX_DISCOUNT_BP = 10_000
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class TierSpec:
    """One tier as the editor shows it. ``id`` is None for a tier not saved yet."""

    id: int | None
    name: str
    min_spend_fen: int = 0
    points_multiplier_pct: int = 100
    discount_bp: int = 0
    colour: str = "#808080"
    member_count: int = 0  # read only: members in the tier now


class TierInUse(Conflict):
    """Deleting a tier members are in; ``move_members_down=True`` moves them to ``target``."""

    def __init__(self, template: str, *, tier: str, count: int, target: str) -> None:
        super().__init__(template, tier=tier, count=count, target=target)
        self.tier, self.count, self.target = tier, count, target


def list_tiers(session: Session) -> list[TierSpec]:
    """Every tier from the entry tier up, with how many active members are in it (as the overview counts them:
    frozen and closed members keep a tier but do not shop)."""
    counts = dict(session.execute(
        sa.select(Member.tier_id, sa.func.count(Member.id))
        .where(Member.tier_id.is_not(None), Member.status == MemberStatus.ACTIVE).group_by(Member.tier_id)
    ).all())
    return [
        TierSpec(t.id, t.name, t.min_spend_fen, t.points_multiplier_pct, t.discount_bp, t.colour, int(counts.get(t.id, 0)))
        for t in session.scalars(sa.select(Tier).order_by(Tier.rank))
    ]


def parse_percent(text: str, *, field: str) -> int:
    """'2.5' or '2.5%' -> 250 basis points; at most two decimals, no signs."""
    cleaned = (text or "").strip().replace("%", "").replace("％", "").strip()
    try:
        value = Decimal(cleaned or "0")
        ok = value.is_finite() and value >= 0 and value == value.quantize(Decimal("0.01")) and value < 10**6
    except InvalidOperation:
        ok = False
    if not ok:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{text}' is not a percentage with at most two decimals."),
                           field=field, text=text)
    return int(value * 100)


def _validate(tiers: Sequence[TierSpec]) -> list[TierSpec]:
    if not tiers:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Keep at least one tier: the one every member starts in."), field="tiers")
    if len(tiers) > MAX_TIERS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "At most {count} tiers."), field="tiers", count=MAX_TIERS)
    cleaned = [replace(t, name=" ".join(t.name.split()), colour=t.colour.strip()) for t in tiers]
    seen: set[str] = set()
    for number, tier in enumerate(cleaned, start=1):
        if not tier.name:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Tier {row} needs a name."), field="name", row=number)
        if len(tier.name) > 40:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The tier name '{name}' is longer than 40 characters."),
                               field="name", name=tier.name)
        if tier.name.casefold() in seen:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Two tiers are called '{name}'; tier names must differ."),
                               field="name", name=tier.name)
        seen.add(tier.name.casefold())
        if not 0 <= tier.points_multiplier_pct <= MAX_MULTIPLIER_PCT:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Tier '{name}': the points multiplier must be from 0 % to 1000 %."),
                               field="points_multiplier_pct", name=tier.name)
        if not 0 <= tier.discount_bp <= MAX_DISCOUNT_BP:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Tier '{name}': the member discount must be from 0 % to 100 %."),
                               field="discount_bp", name=tier.name)
        if not COLOUR.match(tier.colour):
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Tier '{name}': '{colour}' is not a colour like #d4af37."),
                               field="colour", name=tier.name, colour=tier.colour)
    if cleaned[0].min_spend_fen != 0:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The first tier, '{name}', is where everyone starts: its threshold must be ¥0."),
                           field="min_spend_fen", name=cleaned[0].name)
    for lower, higher in zip(cleaned, cleaned[1:]):
        if higher.min_spend_fen <= lower.min_spend_fen:
            raise InvalidInput(
                QT_TRANSLATE_NOOP("errors", "'{higher}' must need more 12-month spend than '{lower}' below it ({amount})."),
                field="min_spend_fen", higher=higher.name, lower=lower.name, amount=f"¥{lower.min_spend_fen / 100:,.2f}",
            )
    return cleaned


def save_tiers(session: Session, actor: Actor, tiers: Sequence[TierSpec], *, move_members_down: bool = False) -> list[TierSpec]:
    """Replace the tiers with ``tiers`` (lowest first). Tiers with an id are updated, without one added,
    and existing tiers missing from the list deleted (see the module notes for members in them)."""
    require(actor, Permission.CHANGE_LOYALTY_RULES)
    wanted = _validate(tiers)
    existing = {t.id: t for t in session.scalars(sa.select(Tier))}
    unknown = [t.id for t in wanted if t.id is not None and t.id not in existing]
    if unknown or len({t.id for t in wanted if t.id is not None}) != sum(t.id is not None for t in wanted):
        raise Conflict(QT_TRANSLATE_NOOP("errors", "The tiers were changed meanwhile; reopen the list and try again."))
    kept_ids = {t.id for t in wanted if t.id is not None}
    deleted = sorted((t for t in existing.values() if t.id not in kept_ids), key=lambda t: t.rank)

    # Where the members of each deleted tier go: the nearest kept tier below it, else the new entry tier.
    old_rank = {t.id: t.rank for t in existing.values()}
    moves: list[tuple[Tier, int, int | None]] = []  # (deleted tier, members, index in wanted of the target)
    offer_tiers = session.execute(sa.select(Offer.min_tier_id, Offer.target_tier_ids)).all()
    for gone in deleted:
        if any(min_tier == gone.id or gone.id in (targets or ()) for min_tier, targets in offer_tiers):
            raise Conflict(QT_TRANSLATE_NOOP("errors", "Offers are limited to the tier '{tier}'; change those offers before deleting it."),
                           tier=gone.name)
        count = int(session.scalar(sa.select(sa.func.count(Member.id)).where(Member.tier_id == gone.id)) or 0)
        below = [i for i, t in enumerate(wanted) if t.id is not None and old_rank[t.id] < gone.rank]
        target = max(below, key=lambda i: old_rank[wanted[i].id]) if below else 0  # type: ignore[index]
        if count and not move_members_down:
            raise TierInUse(
                QT_TRANSLATE_NOOP("errors", "{count} members are in the tier '{tier}'. Deleting it moves them down to '{target}'."),
                tier=gone.name, count=count, target=wanted[target].name,
            )
        moves.append((gone, count, target))

    # Unique names and ranks: park the kept rows out of the way first, so swaps and renames never collide.
    for tier in existing.values():
        tier.rank = -tier.id - 1_000
        tier.name = f"\x00{tier.id}"
    session.flush()
    rows: list[Tier] = []
    for rank, spec in enumerate(wanted):
        row = existing[spec.id] if spec.id is not None else Tier()
        row.name, row.rank, row.min_spend_fen = spec.name, rank, spec.min_spend_fen
        row.points_multiplier_pct, row.discount_bp, row.colour = spec.points_multiplier_pct, spec.discount_bp, spec.colour
        if spec.id is None:
            session.add(row)
        rows.append(row)
    session.flush()
    moved = 0
    for gone, count, target in moves:
        if count:
            session.execute(sa.update(Member).where(Member.tier_id == gone.id)
                            .values(tier_id=rows[target].id, updated_at=Member.updated_at))
            moved += count
        session.delete(gone)
    session.flush()
    audit.record(session, actor, "tiers.save", "tier", None,
                 tiers=[f"{t.name}:{t.min_spend_fen}:{t.points_multiplier_pct}:{t.discount_bp}" for t in wanted],
                 deleted=[f"{t.id}" for t, _c, _t in moves], members_moved=moved)
    session.flush()
    return list_tiers(session)
