"""Membership cards: their numbers, and issuing, replacing, losing and closing them.

Cards the shop issues carry EAN-13 numbers in the GS1 "restricted circulation"
range 20-29, which GS1 reserves for numbers used only inside one company, so
they can never clash with a product barcode and every till scanner reads them:

    29 0000000123 7
    |  |          `- check digit (EAN-13, computed by python-stdnum)
    |  `- serial, zero-padded to 10 digits
    `- two-digit in-store prefix (store setting ``card_prefix``, default "29")

Cards imported from an old system keep their own numbers and are not checked.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session
from stdnum import ean

from crmdesk.errors import Conflict, InvalidInput, NotFound
from crmdesk.models import STORE_ROW_ID, Card, CardStatus, Member, MemberChange, MemberStatus, StoreSettings, utcnow
from crmdesk.services import audit
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP, Term

# What a card's status is called (translated in the "terms" context).
CARD_STATUS_LABELS = {
    CardStatus.ACTIVE: QT_TRANSLATE_NOOP("terms", "In use"),
    CardStatus.REPLACED: QT_TRANSLATE_NOOP("terms", "Replaced"),
    CardStatus.LOST: QT_TRANSLATE_NOOP("terms", "Reported lost"),
    CardStatus.CLOSED: QT_TRANSLATE_NOOP("terms", "Stopped"),
}
# ... and as words inside a sentence ("it is reported lost").
CARD_STATUS_WORDS = {
    CardStatus.ACTIVE: QT_TRANSLATE_NOOP("terms", "in use"),
    CardStatus.REPLACED: QT_TRANSLATE_NOOP("terms", "replaced"),
    CardStatus.LOST: QT_TRANSLATE_NOOP("terms", "reported lost"),
    CardStatus.CLOSED: QT_TRANSLATE_NOOP("terms", "stopped"),
}

DEFAULT_CARD_PREFIX = "29"
SERIAL_DIGITS = 10
MIN_SERIAL = 1
MAX_SERIAL = 10**SERIAL_DIGITS - 1
CARD_NUMBER_LENGTH = 2 + SERIAL_DIGITS + 1
# GS1 in-store prefixes: numbers starting 20-29 are never assigned to products.
IN_STORE_PREFIXES = frozenset(str(n) for n in range(20, 30))


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit() also accepts "²" and full-width digits, which no scanner produces.
    return text.isascii() and text.isdigit()


def make_card_number(prefix: str, serial: int) -> str:
    """The EAN-13 number of the card with this serial, e.g. ("29", 1) -> "2900000000018"."""
    if not isinstance(prefix, str) or prefix not in IN_STORE_PREFIXES:
        raise InvalidInput(
            QT_TRANSLATE_NOOP(
                "errors",
                "The card number prefix must be two digits from 20 to 29 (GS1 in-store numbers), not '{prefix}'.",
            ),
            field="card_prefix",
            prefix=prefix,
        )
    # bool is an int subclass; True as a serial is a bug, not card number 1.
    if not isinstance(serial, int) or isinstance(serial, bool) or not MIN_SERIAL <= serial <= MAX_SERIAL:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "A card serial must be a whole number from {low} to {high}, not {serial}."),
            field="serial",
            low=MIN_SERIAL,
            high=MAX_SERIAL,
            serial=serial,
        )
    body = f"{prefix}{serial:0{SERIAL_DIGITS}d}"
    return body + ean.calc_check_digit(body)


def is_valid_issued_number(number: str) -> bool:
    """Whether ``number`` is exactly a number crmdesk could have issued: 13 plain
    digits, an in-store prefix and a correct check digit.

    Stricter than ``ean.is_valid``, which also accepts EAN-8/UPC/GTIN-14 and
    strips spaces and dashes."""
    return (
        isinstance(number, str)
        and len(number) == CARD_NUMBER_LENGTH
        and _is_ascii_digits(number)
        and number[:2] in IN_STORE_PREFIXES
        and ean.is_valid(number)
    )


# --------------------------------------------------------------------------- issuing and ending cards


def _member_label(member: Member) -> str:
    return f"{member.name} ({member.member_no})"


def check_new_number(session: Session, number: str, *, imported: bool = False) -> str:
    """A card number that may be given to a member now, or an error saying why not.

    Numbers crmdesk prints (13 digits, in-store prefix) must have a correct check
    digit, which catches a mistyped number. Other numbers come only from an old
    system's import. A number belongs to one member, ever."""
    number = "".join((number or "").split())
    if not number:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Scan or type the card number."), field="card_number")
    if len(number) > 32:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A card number may have at most 32 characters."), field="card_number")
    if not imported and not is_valid_issued_number(number):
        if len(number) == CARD_NUMBER_LENGTH and _is_ascii_digits(number) and number[:2] in IN_STORE_PREFIXES:
            raise InvalidInput(
                QT_TRANSLATE_NOOP("errors", "Card number {number} has a wrong check digit: it was probably mistyped."),
                field="card_number",
                number=number,
            )
        raise InvalidInput(
            QT_TRANSLATE_NOOP(
                "errors", "{number} is not a card of this store (13 digits starting 20-29). Cards of an old system come in by import."
            ),
            field="card_number",
            number=number,
        )
    owner = session.execute(
        sa.select(Member).join(Card, Card.member_id == Member.id).where(Card.number == number)
    ).scalar_one_or_none()
    if owner is not None:
        raise Conflict(
            QT_TRANSLATE_NOOP("errors", "Card {number} already belongs to {member}; a card number is never given to anyone else."),
            number=number,
            member=_member_label(owner),
        )
    return number


def _next_generated_number(session: Session) -> str:
    settings = session.execute(
        sa.select(StoreSettings).where(StoreSettings.id == STORE_ROW_ID).with_for_update()
    ).scalar_one_or_none()
    if settings is None:
        settings = StoreSettings(id=STORE_ROW_ID, store_name="", address="", phone="", card_prefix=DEFAULT_CARD_PREFIX,
                                 is_demo=False, next_card_serial=1)
        session.add(settings)
        session.flush()
    while True:
        number = make_card_number(settings.card_prefix, settings.next_card_serial)
        settings.next_card_serial += 1
        # A pre-printed blank card may already carry this serial: skip it.
        if session.scalar(sa.select(Card.id).where(Card.number == number)) is None:
            return number


def _active_card(session: Session, member_id: int) -> Card | None:
    return session.scalar(sa.select(Card).where(Card.member_id == member_id, Card.status == CardStatus.ACTIVE))


def _change(session: Session, actor: Actor, member_id: int, event: str, old: str, new: str) -> None:
    session.add(MemberChange(member_id=member_id, staff_id=actor.staff_id, staff_name=actor.name, field=event,
                             old_value=old, new_value=new))


def issue(session: Session, actor: Actor, member_id: int, number: str | None = None, *, imported: bool = False) -> str:
    """Give a member a card: the blank card scanned (``number``), or a new number crmdesk makes."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    if member.status is MemberStatus.CLOSED:
        raise Conflict(QT_TRANSLATE_NOOP("errors", "{member} is closed; reopen the membership before issuing a card."),
                       member=_member_label(member))
    current = _active_card(session, member_id)
    if current is not None:
        raise Conflict(
            QT_TRANSLATE_NOOP("errors", "{member} already has the working card {number}; replace it instead."),
            member=_member_label(member),
            number=current.number,
        )
    number = check_new_number(session, number, imported=imported) if number else _next_generated_number(session)
    session.add(Card(number=number, member_id=member_id, status=CardStatus.ACTIVE, imported=imported, issued_at=utcnow()))
    _change(session, actor, member_id, "card_issued", "", number)
    audit.record(session, actor, "card.issue", "member", member_id, number=number)
    session.flush()
    return number


def replace_card(session: Session, actor: Actor, member_id: int, number: str | None = None) -> str:
    """A new card for a worn or lost one: the old number stops working and stays in the history."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    new_number = check_new_number(session, number) if number else None
    old = _active_card(session, member_id)
    if old is not None:
        old.status = CardStatus.REPLACED
        old.ended_at = utcnow()
        session.flush()
    issued = issue(session, actor, member_id, new_number)
    _change(session, actor, member_id, "card_replaced", old.number if old else "", issued)
    return issued


def _card_by_number(session: Session, number: str) -> Card:
    card = session.scalar(sa.select(Card).where(Card.number == "".join((number or "").split())))
    if card is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No card with the number {number}."), number=number)
    return card


def report_lost(session: Session, actor: Actor, number: str) -> None:
    """A lost card stops working at once; scanning it later shows a warning, not the member."""
    _end(session, actor, number, CardStatus.LOST, "card_lost")


def close_card(session: Session, actor: Actor, number: str) -> None:
    _end(session, actor, number, CardStatus.CLOSED, "card_closed")


def _end(session: Session, actor: Actor, number: str, status: CardStatus, event: str) -> None:
    card = _card_by_number(session, number)
    if card.status is not CardStatus.ACTIVE:
        raise Conflict(
            QT_TRANSLATE_NOOP("errors", "Card {number} is not in use any more (it is {status})."),
            number=card.number,
            status=Term(CARD_STATUS_WORDS[card.status]),
        )
    card.status = status
    card.ended_at = utcnow()
    _change(session, actor, card.member_id, event, card.number, "")
    audit.record(session, actor, f"card.{status.value}", "member", card.member_id, number=card.number)
    session.flush()
