"""A key shaped like a mobile number is tried as a phone first, then as an old system's card."""

from __future__ import annotations

from crmdesk.services import cards, members, search
from crmdesk.services.uow import read_session, unit_of_work


def test_an_old_card_numbered_like_a_phone_is_still_found(db, owner) -> None:
    with unit_of_work(db) as session:
        holder = members.register(session, owner, members.MemberInput(name="张三", phone="13800138000"))
        other = members.register(session, owner, members.MemberInput(name="李四", phone="13900139000"))
        cards.issue(session, owner, other.id, "13700137000", imported=True)  # an old system's card number
    with read_session(db) as session:
        assert search.lookup(session, "13800138000").member.id == holder.id  # type: ignore[union-attr]
        found = search.lookup(session, "13700137000")
    assert found.member is not None and found.member.id == other.id and found.matched_by is search.MatchedBy.CARD
