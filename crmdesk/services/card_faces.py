"""What goes on the printed membership cards: one face per member with a working card.

The members come either from a member-list filter (the whole filtered list, in
the list's order, streamed page by page) or from an explicit choice of member
ids (printed in the order given). Members without an active card are skipped
and counted, so the caller can say "3 of the chosen members have no card".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.errors import NotFound
from crmdesk.models import Card, CardStatus, Member, Tier
from crmdesk.services import member_query
from crmdesk.services.member_query import MemberFilter
from crmdesk.texts import QT_TRANSLATE_NOOP

# Printed for a member without a tier (there always is one unless tiers were never set up).
NO_TIER_COLOUR = "#808080"
# Explicit ids are looked up this many at a time: well below SQLite's limit of bound variables.
ID_CHUNK = 500


@dataclass(frozen=True)
class CardFace:
    """Everything printed on one member's card."""

    member_id: int
    member_no: str
    name: str
    card_number: str
    tier_name: str
    tier_colour: str  # "#RRGGBB"


@dataclass(frozen=True)
class CardFaces:
    faces: tuple[CardFace, ...]
    without_card: int  # members chosen who have no active card (skipped)


def card_faces(
    session: Session,
    *,
    flt: MemberFilter | None = None,
    member_ids: Sequence[int] | None = None,
    sort: str = member_query.DEFAULT_SORT,
    descending: bool = False,
) -> CardFaces:
    """The card faces of the members a filter lets through (in the list's ``sort`` order),
    or of the members ``member_ids`` names (in that order; ``sort`` is then not used).

    Give exactly one of ``flt`` and ``member_ids``. An id of no member is NotFound."""
    if (flt is None) == (member_ids is None):
        raise ValueError("give either flt or member_ids")
    colours = _tier_colours(session)
    if flt is not None:
        rows = (
            (row.id, row.member_no, row.name, row.card_number, row.tier_name)
            for chunk in member_query.iter_pages(session, flt, sort, descending)
            for row in chunk
        )
    else:
        assert member_ids is not None
        rows = _rows_by_id(session, member_ids)
    faces: list[CardFace] = []
    without_card = 0
    for member_id, member_no, name, card_number, tier_name in rows:
        if not card_number:
            without_card += 1
            continue
        faces.append(CardFace(member_id, member_no, name, card_number, tier_name, colours.get(tier_name, NO_TIER_COLOUR)))
    return CardFaces(tuple(faces), without_card)


def _tier_colours(session: Session) -> dict[str, str]:
    # Tier names are unique, and the member list gives rows the tier's name.
    return {name: colour for name, colour in session.execute(sa.select(Tier.name, Tier.colour))}


def _rows_by_id(session: Session, member_ids: Sequence[int]) -> Iterable[tuple[int, str, str, str | None, str]]:
    """(id, member_no, name, active card number or None, tier name) of each member, in the order given.

    A member chosen twice gets one card."""
    wanted = list(dict.fromkeys(int(member_id) for member_id in member_ids))
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start:start + ID_CHUNK]
        statement = (
            sa.select(Member.id, Member.member_no, Member.name, Card.number, Tier.name)
            .outerjoin(Card, sa.and_(Card.member_id == Member.id, Card.status == CardStatus.ACTIVE))
            .outerjoin(Tier, Tier.id == Member.tier_id)
            .where(Member.id.in_(chunk))
        )
        found = {row[0]: row for row in session.execute(statement)}
        for member_id in chunk:
            row = found.get(member_id)
            if row is None:
                raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
            yield row[0], row[1], row[2], row[3], row[4] or ""
