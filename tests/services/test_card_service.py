"""Issuing, replacing, losing and closing membership cards."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crmdesk.errors import Conflict, InvalidInput, NotFound
from crmdesk.models import AuditEvent, CardStatus, MemberStatus, StoreSettings
from crmdesk.services import cards, members
from crmdesk.services.members import MemberInput
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, refused, store_template, supervisor  # noqa: F401 - fast fixtures


def _member(db, actor, name: str, phone: str) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, actor, MemberInput(name=name, phone=phone)).id


@pytest.fixture
def zhang(db, cashier) -> int:  # type: ignore[no-untyped-def]
    return _member(db, cashier, "张三", "13800138000")


@pytest.fixture
def li(db, cashier) -> int:  # type: ignore[no-untyped-def]
    return _member(db, cashier, "李四", "13900000001")


def _cards(db, member_id: int) -> list[tuple[str, CardStatus]]:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return [(c.number, c.status) for c in members.profile(session, member_id).cards]


def _history(db, member_id: int) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    """Card events of the member's history, oldest first: (event, staff, old, new)."""
    with read_session(db) as session:
        rows = members.history(session, member_id)
    return [(r.field, r.staff_name, r.old_value, r.new_value) for r in reversed(rows) if r.field.startswith("card_")]


def test_generated_numbers_are_valid_ean13_with_increasing_serials(db, cashier, zhang, li) -> None:
    third = _member(db, cashier, "王五", "13700000002")
    with unit_of_work(db) as session:
        numbers = [cards.issue(session, cashier, member_id) for member_id in (zhang, li, third)]
    assert numbers == ["2900000000018", "2900000000025", "2900000000032"]
    assert all(cards.is_valid_issued_number(n) for n in numbers)
    with read_session(db) as session:
        assert session.get(StoreSettings, 1).next_card_serial == 4
    assert _cards(db, zhang) == [("2900000000018", CardStatus.ACTIVE)]
    assert _history(db, zhang) == [("card_issued", "收银员小李", "", "2900000000018")]


def test_a_serial_taken_by_a_scanned_blank_card_is_skipped(db, cashier, zhang, li) -> None:
    with unit_of_work(db) as session:
        assert cards.issue(session, cashier, zhang, cards.make_card_number("29", 1)) == "2900000000018"
        # A scanned card does not move the counter; the generator steps over the taken serial.
        assert cards.issue(session, cashier, li) == cards.make_card_number("29", 2)


def test_a_scanned_blank_card_is_issued_as_it_is(db, cashier, zhang) -> None:
    with unit_of_work(db) as session:
        assert cards.issue(session, cashier, zhang, " 2912345678906 ") == "2912345678906"
    with read_session(db) as session:
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "card.issue")).one()
        assert (event.entity_id, event.details) == (zhang, {"number": "2912345678906"})
    assert _cards(db, zhang) == [("2912345678906", CardStatus.ACTIVE)]


def test_registering_with_a_blank_card_issues_it_in_the_same_step(db, cashier) -> None:
    with unit_of_work(db) as session:
        created = members.register(session, cashier, MemberInput(name="王五", phone="13700000002"), card_number="2900000000049")
    assert created.active_card is not None and created.active_card.number == "2900000000049"
    # A bad card number refuses the whole registration.
    refused(db, lambda s: members.register(s, cashier, MemberInput(name="赵六", phone="13700000003"), card_number="2900000000048"),
            InvalidInput, "check digit")


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("2900000000017", "wrong check digit"),  # last digit mistyped
        ("2900000000081", "wrong check digit"),  # two digits swapped
        ("4006381333931", "not a card of this store"),  # a product barcode
        ("29000000000", "not a card of this store"),
        ("   ", "Scan or type the card number"),
        ("2" * 33, "at most 32"),
    ],
)
def test_a_number_that_is_not_ours_is_refused(db, cashier, zhang, number: str, message: str) -> None:
    error = refused(db, lambda s: cards.issue(s, cashier, zhang, number), InvalidInput, message)
    assert error.field == "card_number"  # type: ignore[attr-defined]


def test_a_number_of_another_member_is_refused_even_after_they_are_closed(db, cashier, supervisor, zhang, li) -> None:
    with unit_of_work(db) as session:
        cards.issue(session, cashier, zhang, "2900000000018")
    refused(db, lambda s: cards.issue(s, cashier, li, "2900000000018"), Conflict, r"already belongs to 张三 \(M00000001\)")
    with unit_of_work(db) as session:
        members.set_status(session, supervisor, zhang, MemberStatus.CLOSED, reason="搬家")
    refused(db, lambda s: cards.issue(s, cashier, li, "2900000000018"), Conflict, "never given to anyone else")
    # Nor does the generator hand it out again.
    with unit_of_work(db) as session:
        assert cards.issue(session, cashier, li) == "2900000000025"


def test_one_working_card_per_member_a_second_is_a_replacement(db, cashier, zhang) -> None:
    with unit_of_work(db) as session:
        first = cards.issue(session, cashier, zhang)
    refused(db, lambda s: cards.issue(s, cashier, zhang, "2900000000049"), Conflict, "replace it instead")
    with unit_of_work(db) as session:
        second = cards.replace_card(session, cashier, zhang, "2900000000049")
    assert second == "2900000000049"
    assert _cards(db, zhang) == [(first, CardStatus.REPLACED), (second, CardStatus.ACTIVE)]
    assert _history(db, zhang) == [
        ("card_issued", "收银员小李", "", first),
        ("card_issued", "收银员小李", "", second),
        ("card_replaced", "收银员小李", first, second),
    ]
    with read_session(db) as session:
        old = members.profile(session, zhang).cards[0]
    assert old.ended_at is not None


def test_a_lost_card_stops_and_a_replacement_gets_a_new_number(db, cashier, zhang) -> None:
    with unit_of_work(db) as session:
        first = cards.issue(session, cashier, zhang)
    with unit_of_work(db) as session:
        cards.report_lost(session, cashier, f" {first} ")
    assert _cards(db, zhang) == [(first, CardStatus.LOST)]
    with read_session(db) as session:
        assert [c.number for c in members.profile(session, zhang).lost_cards] == [first]
        assert session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("card.%"))).all() == ["card.issue", "card.lost"]
    # Reporting it twice, or the lost card itself coming back, is refused.
    refused(db, lambda s: cards.report_lost(s, cashier, first), Conflict, "not in use any more")
    refused(db, lambda s: cards.replace_card(s, cashier, zhang, first), Conflict, "already belongs to")
    with unit_of_work(db) as session:
        new = cards.replace_card(session, cashier, zhang)
    assert new != first and _cards(db, zhang) == [(first, CardStatus.LOST), (new, CardStatus.ACTIVE)]
    assert _history(db, zhang)[-1] == ("card_replaced", "收银员小李", "", new)
    assert ("card_lost", "收银员小李", first, "") in _history(db, zhang)


def test_closing_a_card(db, cashier, zhang) -> None:
    with unit_of_work(db) as session:
        number = cards.issue(session, cashier, zhang)
        cards.close_card(session, cashier, number)
    assert _cards(db, zhang) == [(number, CardStatus.CLOSED)]
    assert _history(db, zhang)[-1] == ("card_closed", "收银员小李", number, "")
    refused(db, lambda s: cards.close_card(s, cashier, number), Conflict)
    refused(db, lambda s: cards.report_lost(s, cashier, "2999999999991"), NotFound, "No card with the number")
    # Without a working card the member may be issued a new one directly.
    with unit_of_work(db) as session:
        assert cards.issue(session, cashier, zhang) != number


def test_a_closed_member_gets_no_card(db, cashier, supervisor, zhang) -> None:
    with unit_of_work(db) as session:
        members.set_status(session, supervisor, zhang, MemberStatus.CLOSED)
    refused(db, lambda s: cards.issue(s, cashier, zhang), Conflict, "reopen the membership")
    refused(db, lambda s: cards.replace_card(s, cashier, zhang), Conflict, "reopen the membership")
    refused(db, lambda s: cards.issue(s, cashier, 9999), NotFound)
