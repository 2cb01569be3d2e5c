"""Finding a member at the counter: exact lookups and search-as-you-type.

Every query here is a bounded index lookup (equality or a prefix range on an
indexed column, LIMITed in index order), so it stays fast with a million members.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.errors import InvalidInput
from crmdesk.models import Card, CardStatus, Member, MemberStatus
from crmdesk.services.members import MemberBrief, briefs, normalize_phone

DEFAULT_LIMIT = 20
# Above every character: "abc" <= x < "abc" + HIGHEST is "x starts with abc", as an index range.
HIGHEST = "\U0010ffff"


class MatchedBy(enum.Enum):
    CARD = "card"
    MEMBER_NO = "member_no"
    PHONE = "phone"
    PHONE_TAIL = "phone_tail"
    PHONE_PREFIX = "phone_prefix"
    INITIALS = "initials"
    PINYIN = "pinyin"
    NAME = "name"


@dataclass(frozen=True)
class CardWarning:
    """A scanned card that no longer opens its member: lost, replaced or closed."""

    number: str
    status: CardStatus
    ended_at: datetime | None
    member_name: str
    member_no: str


@dataclass(frozen=True)
class Lookup:
    """The result of an exact key: the member, or a warning about the card, or nothing."""

    member: MemberBrief | None
    matched_by: MatchedBy | None
    card_warning: CardWarning | None = None


@dataclass(frozen=True)
class Hit:
    member: MemberBrief
    matched_by: MatchedBy


def lookup(session: Session, key: str) -> Lookup:
    """An exact key: a card number (scanned), a member number or a full phone number.

    A key shaped like a mainland mobile is tried as a phone first (the common case at the
    counter); an old system's card with such a number is still found right after."""
    key = _compact(key)
    if not key:
        return Lookup(None, None)
    phone = _phone_or_none(key)
    mobile_first = phone is not None and re.fullmatch(r"1\d{10}", key) is not None
    if mobile_first:
        found = _by_phone(session, phone)
        if found is not None:
            return found
    card = session.execute(
        sa.select(Card, Member).join(Member, Member.id == Card.member_id).where(Card.number == key)
    ).first()
    if card is not None:
        found_card, member = card
        if found_card.status is CardStatus.ACTIVE:
            return Lookup(briefs(session, [member])[0], MatchedBy.CARD)
        return Lookup(
            None,
            MatchedBy.CARD,
            CardWarning(found_card.number, found_card.status, found_card.ended_at, member.name, member.member_no),
        )
    if phone is not None and not mobile_first:
        found = _by_phone(session, phone)
        if found is not None:
            return found
    member = session.scalar(sa.select(Member).where(Member.member_no.in_({key, key.upper()})).limit(1))
    if member is not None:
        return Lookup(briefs(session, [member])[0], MatchedBy.MEMBER_NO)
    return Lookup(None, None)


def _by_phone(session: Session, phone: str) -> Lookup | None:
    # An open member holds the number; a closed one may have had it before.
    member = session.scalar(
        sa.select(Member).where(Member.phone == phone).order_by((Member.status == MemberStatus.CLOSED), Member.id.desc()).limit(1)
    )
    return Lookup(briefs(session, [member])[0], MatchedBy.PHONE) if member is not None else None


def _compact(text: str) -> str:
    """Without spaces, full-width forms folded (１３８ → 138), and phone punctuation dropped
    from what looks like a number: 138-0013-8000 and (138)0013 8000 are 13800138000."""
    text = "".join(unicodedata.normalize("NFKC", text or "").split())
    if re.fullmatch(r"\+?[\d\-()]+", text):
        text = re.sub(r"[\-()]", "", text)
    return text


def _phone_or_none(key: str) -> str | None:
    if re.fullmatch(r"1\d{10}", key):  # a mainland mobile, the common case: no parsing needed
        return "+86" + key
    if not re.fullmatch(r"\+?\d{7,15}", key):
        return None
    try:
        return normalize_phone(key)
    except InvalidInput:
        return None


def _starts_with(column: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
    return sa.and_(column >= prefix, column < prefix + HIGHEST)


def search(session: Session, query: str, *, limit: int = DEFAULT_LIMIT) -> list[Hit]:
    """Ranked matches for what the cashier has typed so far.

    Exact keys first (card, member number, phone), then phone tails and prefixes,
    pinyin initials (zs), full pinyin (zhangsan) and names (张三, 张)."""
    text = " ".join(unicodedata.normalize("NFKC", query or "").split())
    if not text:
        return []
    hits: dict[int, Hit] = {}

    def add(rows: list[Member], matched_by: MatchedBy) -> None:
        for brief in briefs(session, [row for row in rows if row.id not in hits]):
            if len(hits) < limit:
                hits[brief.id] = Hit(brief, matched_by)

    exact = lookup(session, text)
    if exact.member is not None and exact.matched_by is not None:
        hits[exact.member.id] = Hit(exact.member, exact.matched_by)
    compact = _compact(text)
    candidates: list[tuple[sa.Select[tuple[Member]], MatchedBy]] = []
    if compact.isdigit():
        if len(compact) == 4:
            candidates.append((sa.select(Member).where(Member.phone_last4 == compact).order_by(Member.id.desc()), MatchedBy.PHONE_TAIL))
        if 3 <= len(compact) <= 11 and compact.startswith("1"):
            candidates.append(
                (sa.select(Member).where(_starts_with(Member.phone, "+86" + compact)).order_by(Member.phone), MatchedBy.PHONE_PREFIX)
            )
    else:
        latin = compact.lower()
        if latin.isascii() and latin.isalpha():
            candidates.append((sa.select(Member).where(Member.name_initials == latin).order_by(Member.id.desc()), MatchedBy.INITIALS))
            candidates.append((sa.select(Member).where(_starts_with(Member.name_pinyin, latin)).order_by(Member.name_pinyin), MatchedBy.PINYIN))
            candidates.append((sa.select(Member).where(_starts_with(Member.name_initials, latin)).order_by(Member.name_initials), MatchedBy.INITIALS))
        candidates.append((sa.select(Member).where(_starts_with(Member.name, text)).order_by(Member.name), MatchedBy.NAME))
    for statement, matched_by in candidates:
        if len(hits) >= limit:
            break
        add(list(session.scalars(statement.limit(limit))), matched_by)
    ranked = list(hits.values())
    # Open members before closed ones; otherwise keep the order of the match kinds.
    ranked.sort(key=lambda hit: hit.member.status is MemberStatus.CLOSED)
    return ranked
