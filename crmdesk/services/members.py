"""Member profiles: registering, validating, changing (with history), statuses, duplicates, merging.

Lookups and search-as-you-type live in services/search.py; card rules in
services/cards.py; the member list's filters in services/member_query.py.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from typing import Any

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk import shop_time
from crmdesk.errors import Conflict, InvalidInput, NotFound
from crmdesk.models import (
    Card, CardStatus, Complaint, CreditAccount, ComplaintStatus, Gender, MarketingConsent, Member, MemberChange, MemberStatus,
    MemberTag, PointsEntry, Purchase, PurchaseKind, Tier, utcnow,
)
from crmdesk.services import audit
from crmdesk.services.auth import Permission, require
from crmdesk.services.search_keys import name_search_keys, phone_last4
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP

DEFAULT_REGION = "CN"
# Mainland mobile numbers as the phonenumbers metadata describes them (the same test is_valid_number makes for them).
_MAINLAND_MOBILE = re.compile(phonenumbers.PhoneMetadata.metadata_for_region("CN").mobile.national_number_pattern)
MAX_TAG_LENGTH = 40
EARLIEST_BIRTHDAY = date(1900, 1, 1)
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Fields a person edits on the profile, with their length limits.
TEXT_LIMITS = {"name": 100, "address": 300, "email": 200, "notes": 4000, "company": 200, "source": 40}
# Where members come from: the codes crmdesk writes itself, with their labels ("terms" context).
# A shop may type its own source on the profile; that text is shown as it is.
SOURCE_LABELS = {
    "counter": QT_TRANSLATE_NOOP("terms", "Counter"),
    "wechat": QT_TRANSLATE_NOOP("terms", "WeChat"),
    "event": QT_TRANSLATE_NOOP("terms", "Event"),
    "import": QT_TRANSLATE_NOOP("terms", "Import"),
    "cli": QT_TRANSLATE_NOOP("terms", "Back office"),
}


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class MemberInput:
    """What a person types (or an import row holds) to register a member."""

    name: str
    phone: str = ""
    gender: Gender = Gender.UNKNOWN
    birthday: date | None = None
    address: str = ""
    email: str = ""
    tags: tuple[str, ...] = ()
    notes: str = ""
    company: str = ""
    marketing_consent: MarketingConsent = MarketingConsent.NONE
    consent_at: datetime | None = None
    joined_on: date | None = None
    source: str = ""
    member_no: str | None = None  # an old system's number, kept on import


@dataclass(frozen=True)
class MemberBrief:
    """One line about a member: search results, duplicate warnings, the member list."""

    id: int
    member_no: str
    name: str
    phone: str | None
    status: MemberStatus
    tier_name: str
    points_balance: int
    card_number: str | None  # the active card, if any
    last_visit_at: datetime | None


@dataclass(frozen=True)
class CardInfo:
    number: str
    status: CardStatus
    imported: bool
    issued_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class ChangeInfo:
    at: datetime
    staff_name: str
    field: str
    old_value: str
    new_value: str


@dataclass(frozen=True)
class VisitInfo:
    occurred_at: datetime
    till: str
    receipt_no: str
    amount_fen: int
    refund: bool


@dataclass(frozen=True)
class MemberProfile:
    id: int
    member_no: str
    name: str
    phone: str | None
    gender: Gender
    birthday: date | None
    address: str
    email: str
    tags: tuple[str, ...]
    notes: str
    company: str
    marketing_consent: MarketingConsent
    consent_at: datetime | None
    joined_on: date
    source: str
    status: MemberStatus
    tier_name: str
    tier_colour: str
    points_balance: int
    visit_count: int
    total_spend_fen: int
    last_visit_at: datetime | None
    cards: tuple[CardInfo, ...]
    open_complaints: int
    recent_visits: tuple[VisitInfo, ...] = field(default=())
    tier_discount_bp: int = 0  # the member discount the tier gives at the till (basis points: 200 = 2 %)
    # The member's money with the shop (services/wallet.py, credit.py), as the member row caches it.
    wallet_principal_fen: int = 0
    wallet_bonus_fen: int = 0
    credit_owed_fen: int = 0
    credit_limit_fen: int | None = None  # None: no credit account
    credit_frozen: bool = False
    has_pay_pin: bool = False
    # Consent with who recorded it (the staff member's name, kept as it was), and the erasure of the personal data.
    consent_by: str = ""
    data_consent_at: datetime | None = None
    data_consent_by: str = ""
    erased_at: datetime | None = None

    @property
    def wallet_fen(self) -> int:
        return self.wallet_principal_fen + self.wallet_bonus_fen

    @property
    def credit_available_fen(self) -> int:
        if self.credit_limit_fen is None or self.credit_frozen:
            return 0
        return max(0, self.credit_limit_fen - self.credit_owed_fen)

    @property
    def active_card(self) -> CardInfo | None:
        return next((card for card in self.cards if card.status is CardStatus.ACTIVE), None)

    @property
    def lost_cards(self) -> tuple[CardInfo, ...]:
        return tuple(card for card in self.cards if card.status is CardStatus.LOST)

    @property
    def average_basket_fen(self) -> int:
        return self.total_spend_fen // self.visit_count if self.visit_count else 0

    def birthday_in_month(self, today: date) -> bool:
        return self.birthday is not None and self.birthday.month == today.month


class DuplicateMember(Conflict):
    """Registering or changing would clash with members already there; ``existing`` names them."""

    def __init__(self, template: str, existing: Sequence[MemberBrief], *, blocking: bool, **params: object) -> None:
        self.existing = tuple(existing)
        self.blocking = blocking  # a phone clash blocks; a similar name and birthday only warns
        super().__init__(template, **params)


# --------------------------------------------------------------------------- validation


def normalize_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """A mobile number in E.164 (+8613812345678), or None when empty.

    Mainland numbers must be mobiles (11 digits starting with 1); numbers of other
    regions are accepted with their country code (+852 ..., +1 ...)."""
    text = (raw or "").strip()
    if not text:
        return None
    cleaned = re.sub(r"[\s\-()（）]", "", unicodedata.normalize("NFKC", text))
    # The usual case, read straight off the library's own mobile pattern (an import reads thousands of numbers).
    mainland = cleaned[3:] if cleaned.startswith("+86") else cleaned if region == "CN" else ""
    if len(mainland) == 11 and _MAINLAND_MOBILE.fullmatch(mainland):
        return "+86" + mainland
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        if cleaned.isdigit() and len(cleaned) == 11 and cleaned.startswith("1"):
            raise InvalidInput(
                QT_TRANSLATE_NOOP("errors", "'{phone}' is not a mobile number in use in China: check the first digits."),
                field="phone",
                phone=text,
            )
        if cleaned.isdigit() and not cleaned.startswith("0"):
            raise InvalidInput(
                QT_TRANSLATE_NOOP(
                    "errors",
                    "'{phone}' is not a valid mobile number: a mainland number has 11 digits and starts with 1 ({count} digits given).",
                ) if len(cleaned) != 1 else QT_TRANSLATE_NOOP(
                    "errors", "'{phone}' is not a valid mobile number: a mainland number has 11 digits and starts with 1 (1 digit given).",
                ),
                field="phone",
                phone=text,
                count=len(cleaned),
            )
        raise InvalidInput(
            QT_TRANSLATE_NOOP(
                "errors", "'{phone}' is not a valid phone number. Numbers outside the mainland start with + and the country code."
            ),
            field="phone",
            phone=text,
        )
    kind = phonenumbers.number_type(number)
    if number.country_code == 86 and kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "'{phone}' is a landline; enter the member's mobile number (11 digits starting with 1)."),
            field="phone",
            phone=text,
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str | None) -> str:
    """How a stored number is shown: mainland numbers as 138 1234 5678, others internationally."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 86:
        national = str(number.national_number)
        return f"{national[:3]} {national[3:7]} {national[7:]}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def masked_phone(e164: str | None) -> str:
    """A number as printed on paper that leaves the counter: 138****5678 (the middle hidden)."""
    if not e164:
        return ""
    if len(e164) == 14 and e164.startswith("+861") and e164[1:].isdigit():  # the usual mobile, without parsing
        return f"{e164[3:6]}****{e164[10:]}"
    try:
        national = str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        national = e164.lstrip("+")
    hidden = max(4, len(national) - 7)  # mainland 11 digits: 3 shown, 4 hidden, 4 shown
    tail = min(4, len(national) - hidden) if len(national) > hidden else 0
    head = max(0, len(national) - hidden - tail)
    return national[:head] + "*" * (len(national) - head - tail) + national[len(national) - tail:]


def clean_tags(tags: Iterable[str] | str) -> tuple[str, ...]:
    """Tags from a list or from one text ("老顾客，宝妈"), trimmed, without repeats."""
    if isinstance(tags, str):
        tags = (tags,)
    cleaned: dict[str, None] = {}
    for raw in tags:
        for part in re.split(r"[,，;；、]", raw or ""):
            tag = " ".join(part.split())
            if not tag:
                continue
            if len(tag) > MAX_TAG_LENGTH:
                raise InvalidInput(
                    QT_TRANSLATE_NOOP("errors", "The tag '{tag}' is too long (at most {count} characters)."),
                    field="tags",
                    tag=tag,
                    count=MAX_TAG_LENGTH,
                )
            cleaned[tag] = None
    return tuple(cleaned)


def _clean_text(field_name: str, value: str) -> str:
    value = (value or "").strip() if field_name != "notes" else (value or "").rstrip()
    if field_name == "name":
        value = " ".join(value.split())
        if not value:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Enter the member's name."), field="name")
    limit = TEXT_LIMITS[field_name]
    if len(value) > limit:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "'{label}' may have at most {count} characters."),
            field=field_name,
            label=field_name,
            count=limit,
        )
    if field_name == "email" and value and not EMAIL_PATTERN.match(value):
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{email}' is not an e-mail address."), field="email", email=value)
    return value


MSG_NOT_A_BIRTHDAY = QT_TRANSLATE_NOOP(
    "errors", "'{value}' is not a date; write it like 1985-06-02 (also 1985/6/2, 1985.6.2, 19850602 or 1985年6月2日)."
)
MSG_IMPOSSIBLE_DATE = QT_TRANSLATE_NOOP("errors", "'{value}' is not a real date: that day does not exist.")
_BIRTHDAY_FORMS = (
    # 1985-06-02, 1985/6/2, 1985.6.2; a time after it (00:00:00 in some exports) is left out.
    re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"),
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?"),  # 1985年6月2日
    re.compile(r"(\d{4})(\d{2})(\d{2})"),  # 19850602
)


def parse_birthday(text: str | None, today: date | None = None) -> date | None:
    """A birthday as people type it -- 1985-06-02, 1985/6/2, 1985.6.2, 19850602 or 1985年6月2日, full-width
    digits too -- or None when nothing was typed. A day that does not exist and a day before 1900 or
    after ``today`` (the shop's) are refused with a message saying so.

    The one birthday parser: the command line and the imports use it, and the GUI's forms can."""
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    if not cleaned:
        return None
    for form in _BIRTHDAY_FORMS:
        match = form.fullmatch(cleaned)
        if match is None:
            continue
        try:
            birthday = date(*(int(part) for part in match.groups()))
        except ValueError:
            raise InvalidInput(MSG_IMPOSSIBLE_DATE, field="birthday", value=(text or "").strip()) from None
        _check_birthday(birthday, today or shop_time.today())
        return birthday
    raise InvalidInput(MSG_NOT_A_BIRTHDAY, field="birthday", value=(text or "").strip())


def _check_birthday(birthday: date | None, today: date) -> None:
    if birthday is not None and not (EARLIEST_BIRTHDAY <= birthday <= today):
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "The birthday {date} is impossible: it must lie between 1900 and today."),
            field="birthday",
            date=birthday.isoformat(),
        )


def validate(data: MemberInput, today: date | None = None) -> MemberInput:
    """The input with every field cleaned, or InvalidInput naming the first bad field."""
    today = today or shop_time.today()
    cleaned = {name: _clean_text(name, getattr(data, name)) for name in TEXT_LIMITS}
    _check_birthday(data.birthday, today)
    joined_on = data.joined_on or today
    if joined_on > today:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "The join date {date} lies in the future."), field="joined_on", date=joined_on.isoformat()
        )
    consent_at = data.consent_at
    if data.marketing_consent is MarketingConsent.NONE:
        consent_at = None
    elif consent_at is None:
        consent_at = utcnow()
    member_no = (data.member_no or "").strip() or None
    if member_no is not None and len(member_no) > 32:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A member number may have at most 32 characters."), field="member_no")
    return replace(
        data,
        **cleaned,
        phone=normalize_phone(data.phone) or "",
        tags=clean_tags(data.tags),
        joined_on=joined_on,
        consent_at=consent_at,
        member_no=member_no,
    )


# --------------------------------------------------------------------------- reading


def briefs(session: Session, members: Sequence[Member]) -> list[MemberBrief]:
    """Briefs of several members with one query, whatever their number."""
    ids = [member.id for member in members]
    extras = {
        member_id: (tier_name or "", card_number)
        for member_id, tier_name, card_number in session.execute(
            sa.select(Member.id, Tier.name, Card.number)
            .outerjoin(Tier, Tier.id == Member.tier_id)
            .outerjoin(Card, sa.and_(Card.member_id == Member.id, Card.status == CardStatus.ACTIVE))
            .where(Member.id.in_(ids))
        )
    } if ids else {}
    return [
        MemberBrief(
            id=m.id,
            member_no=m.member_no,
            name=m.name,
            phone=m.phone,
            status=m.status,
            tier_name=extras.get(m.id, ("", None))[0],
            points_balance=m.points_balance,
            card_number=extras.get(m.id, ("", None))[1],
            last_visit_at=m.last_visit_at,
        )
        for m in members
    ]


def _refuse_erased(member: Member) -> None:
    """An erased member stays anonymous: no edit may put personal data back, nor reopen them."""
    if member.erased_at is not None:
        raise Conflict(QT_TRANSLATE_NOOP(
            "errors", "Member {member_no}'s personal data was erased on request; the record cannot be changed or reopened. "
                      "Register the person again as a new member."), member_no=member.member_no)


def get_member_row(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    return member


def profile(session: Session, member_id: int, *, recent_visits: int = 5) -> MemberProfile:
    member = get_member_row(session, member_id)
    tier = session.get(Tier, member.tier_id) if member.tier_id else None
    account = session.get(CreditAccount, member.id)
    tier_name, tier_colour, tier_discount_bp = (tier.name, tier.colour, tier.discount_bp) if tier is not None else ("", "", 0)
    cards = tuple(
        CardInfo(c.number, c.status, c.imported, c.issued_at, c.ended_at)
        for c in session.scalars(sa.select(Card).where(Card.member_id == member.id).order_by(Card.issued_at, Card.id))
    )
    open_complaints = session.scalar(
        sa.select(sa.func.count()).select_from(Complaint).where(
            Complaint.member_id == member.id, Complaint.status != ComplaintStatus.CLOSED
        )
    ) or 0
    visits = tuple(
        VisitInfo(p.occurred_at, p.till, p.receipt_no, p.amount_fen, p.kind is PurchaseKind.REFUND)
        for p in session.scalars(
            sa.select(Purchase).where(Purchase.member_id == member.id).order_by(Purchase.occurred_at.desc()).limit(recent_visits)
        )
    )
    return MemberProfile(
        id=member.id,
        member_no=member.member_no,
        name=member.name,
        phone=member.phone,
        gender=member.gender,
        birthday=member.birthday,
        address=member.address,
        email=member.email,
        tags=tuple(member.tags),
        notes=member.notes,
        company=member.company,
        marketing_consent=member.marketing_consent,
        consent_at=member.consent_at,
        joined_on=member.joined_on,
        source=member.source,
        status=member.status,
        tier_name=tier_name,
        tier_colour=tier_colour,
        points_balance=member.points_balance,
        visit_count=member.visit_count,
        total_spend_fen=member.total_spend_fen,
        last_visit_at=member.last_visit_at,
        cards=cards,
        open_complaints=open_complaints,
        recent_visits=visits,
        tier_discount_bp=tier_discount_bp,
        wallet_principal_fen=member.wallet_principal_fen,
        wallet_bonus_fen=member.wallet_bonus_fen,
        credit_owed_fen=member.credit_owed_fen,
        credit_limit_fen=int(account.limit_fen) if account is not None else None,
        credit_frozen=bool(account and account.frozen),
        has_pay_pin=bool(member.pay_pin_hash),
        consent_by=member.consent_by,
        data_consent_at=member.data_consent_at,
        data_consent_by=member.data_consent_by,
        erased_at=member.erased_at,
    )


def history(session: Session, member_id: int, *, limit: int = 200) -> list[ChangeInfo]:
    """The member's changes, newest first."""
    get_member_row(session, member_id)
    rows = session.scalars(
        sa.select(MemberChange).where(MemberChange.member_id == member_id).order_by(MemberChange.at.desc(), MemberChange.id.desc()).limit(limit)
    )
    return [ChangeInfo(r.at, r.staff_name, r.field, r.old_value, r.new_value) for r in rows]


# --------------------------------------------------------------------------- duplicates


def find_duplicates(
    session: Session, *, name: str, phone: str | None, birthday: date | None, exclude_id: int | None = None
) -> tuple[list[MemberBrief], list[MemberBrief]]:
    """(members holding this phone, members with a very similar name and the same birthday).

    A similar name sounds the same (same pinyin: 张三 / 章三) or is written the same."""
    phone_query = sa.select(Member).where(Member.phone == phone, Member.status != MemberStatus.CLOSED) if phone else None
    same_phone = list(session.scalars(phone_query)) if phone_query is not None else []
    similar: list[Member] = []
    if birthday is not None and name.strip():
        pinyin, _ = name_search_keys(name)
        similar = list(
            session.scalars(
                sa.select(Member).where(
                    Member.birthday == birthday,
                    sa.or_(Member.name == " ".join(name.split()), Member.name_pinyin == pinyin) if pinyin else Member.name == name,
                    Member.status != MemberStatus.CLOSED,
                ).limit(10)
            )
        )
    if exclude_id is not None:
        same_phone = [m for m in same_phone if m.id != exclude_id]
        similar = [m for m in similar if m.id != exclude_id]
    phone_ids = {m.id for m in same_phone}
    similar = [m for m in similar if m.id not in phone_ids]
    return briefs(session, same_phone), briefs(session, similar)


def _refuse_duplicates(session: Session, data: MemberInput, *, confirm_similar: bool, exclude_id: int | None = None) -> None:
    same_phone, similar = find_duplicates(
        session, name=data.name, phone=data.phone or None, birthday=data.birthday, exclude_id=exclude_id
    )
    if same_phone:
        raise DuplicateMember(
            QT_TRANSLATE_NOOP("errors", "The phone {phone} already belongs to member {name} ({member_no})."),
            same_phone,
            blocking=True,
            phone=display_phone(data.phone),
            name=same_phone[0].name,
            member_no=same_phone[0].member_no,
        )
    if similar and not confirm_similar:
        raise DuplicateMember(
            QT_TRANSLATE_NOOP(
                "errors", "{name} with the birthday {birthday} may already be a member ({member_no}). Open that member, or confirm this is someone else."
            ),
            similar,
            blocking=False,
            name=similar[0].name,
            birthday=data.birthday.isoformat() if data.birthday else "",
            member_no=similar[0].member_no,
        )


# --------------------------------------------------------------------------- writing


def _record_change(session: Session, actor: Actor | None, member_id: int, field_name: str, old: object, new: object) -> None:
    session.add(
        MemberChange(
            member_id=member_id,
            staff_id=actor.staff_id if actor else None,
            staff_name=actor.name if actor else "",
            field=field_name,
            old_value=_as_text(old),
            new_value=_as_text(new),
        )
    )


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "value"):
        return str(value.value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def entry_tier_id(session: Session) -> int | None:
    """Everyone starts in the lowest tier."""
    return session.scalar(sa.select(Tier.id).order_by(Tier.rank).limit(1))


def register(
    session: Session,
    actor: Actor,
    data: MemberInput,
    *,
    card_number: str | None = None,
    confirm_similar: bool = False,
    today: date | None = None,
) -> MemberProfile:
    """Register a member, optionally with the blank card just scanned, in one transaction.

    A phone that an open member already has is refused; a similar name with the
    same birthday is refused unless ``confirm_similar`` (the person checked)."""
    from crmdesk.services import cards  # cards needs members' readers; imported here to avoid a cycle

    data = validate(data, today)
    _refuse_duplicates(session, data, confirm_similar=confirm_similar)
    if data.member_no and session.scalar(sa.select(Member.id).where(Member.member_no == data.member_no)) is not None:
        raise Conflict(
            QT_TRANSLATE_NOOP("errors", "The member number {member_no} is already in use."), member_no=data.member_no
        )
    member = Member(
        # A placeholder unique number until the id is known (rolled back with everything on error).
        member_no=data.member_no or f"new-{uuid.uuid4().hex[:24]}",
        status=MemberStatus.ACTIVE,
        points_balance=0,
        visit_count=0,
        total_spend_fen=0,
        tier_id=entry_tier_id(session),
        **column_values(data),
    )
    # Marketing consent is recorded with the staff member who took it (个人信息保护法).
    member.consent_by = actor.name if data.marketing_consent is not MarketingConsent.NONE else ""
    session.add(member)
    session.flush()
    if not data.member_no:
        member.member_no = f"M{member.id:08d}"
    session.add_all(MemberTag(member_id=member.id, tag=tag) for tag in data.tags)
    _record_change(session, actor, member.id, "created", "", member.member_no)
    audit.record(session, actor, "member.add", "member", member.id, member_no=member.member_no, name=member.name)
    session.flush()
    if card_number:
        cards.issue(session, actor, member.id, card_number)
    return profile(session, member.id)


def column_values(data: MemberInput) -> dict[str, Any]:
    """The member table's columns for validated input, search keys included (register, update, import)."""
    pinyin, initials = name_search_keys(data.name)
    return {
        "name": data.name,
        "name_pinyin": pinyin,
        "name_initials": initials,
        "phone": data.phone or None,
        "phone_last4": phone_last4(data.phone),
        "gender": data.gender,
        "birthday": data.birthday,
        "birth_month": data.birthday.month if data.birthday else None,
        "address": data.address,
        "email": data.email,
        "notes": data.notes,
        "company": data.company,
        "marketing_consent": data.marketing_consent,
        "consent_at": data.consent_at,
        "joined_on": data.joined_on,
        "source": data.source,
    }


EDITABLE = ("name", "phone", "gender", "birthday", "address", "email", "tags", "notes", "company", "marketing_consent", "source")


def update(session: Session, actor: Actor, member_id: int, *, confirm_similar: bool = True, **changes: Any) -> MemberProfile:
    """Change profile fields; every changed field is kept in the member's history."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "These fields cannot be changed here: {fields}."), fields=", ".join(sorted(unknown)))
    member = get_member_row(session, member_id)
    _refuse_erased(member)
    current = _input_of(member)
    wanted = replace(current, **changes)
    if "marketing_consent" in changes and changes["marketing_consent"] is not current.marketing_consent:
        wanted = replace(wanted, consent_at=None)  # a new consent is dated now
    data = validate(wanted)
    if data.phone != current.phone or data.name != current.name or data.birthday != current.birthday:
        _refuse_duplicates(session, data, confirm_similar=confirm_similar, exclude_id=member.id)
    changed = [f.name for f in fields(MemberInput) if f.name in EDITABLE and getattr(data, f.name) != getattr(current, f.name)]
    if not changed:
        return profile(session, member.id)
    for name in changed:
        _record_change(session, actor, member.id, name, getattr(current, name), getattr(data, name))
    values = column_values(replace(data, joined_on=member.joined_on))
    for key, value in values.items():
        setattr(member, key, value)
    if "marketing_consent" in changed:
        # A new consent (or its withdrawal) is dated now and names who recorded it.
        member.consent_by = actor.name if data.marketing_consent is not MarketingConsent.NONE else ""
    if "tags" in changed:
        session.execute(sa.delete(MemberTag).where(MemberTag.member_id == member.id))
        session.add_all(MemberTag(member_id=member.id, tag=tag) for tag in data.tags)
        session.flush()
        session.expire(member, ["tag_rows"])  # the rows were replaced behind the loaded list
    audit.record(session, actor, "member.update", "member", member.id, fields=changed)
    session.flush()
    return profile(session, member.id)


def _input_of(member: Member) -> MemberInput:
    return MemberInput(
        name=member.name,
        phone=member.phone or "",
        gender=member.gender,
        birthday=member.birthday,
        address=member.address,
        email=member.email,
        tags=tuple(member.tags),
        notes=member.notes,
        company=member.company,
        marketing_consent=member.marketing_consent,
        consent_at=member.consent_at,
        joined_on=member.joined_on,
        source=member.source,
        member_no=member.member_no,
    )


def set_status(session: Session, actor: Actor, member_id: int, status: MemberStatus, *, reason: str = "") -> MemberProfile:
    """Freeze, close or reactivate a member (supervisor or owner)."""
    require(actor, Permission.CHANGE_MEMBER_STATUS)
    member = get_member_row(session, member_id)
    _refuse_erased(member)
    if member.status is status:
        return profile(session, member.id)
    if status is not MemberStatus.CLOSED and member.phone:
        same_phone, _ = find_duplicates(session, name="", phone=member.phone, birthday=None, exclude_id=member.id)
        if same_phone:
            raise DuplicateMember(
                QT_TRANSLATE_NOOP("errors", "The phone {phone} now belongs to member {name} ({member_no}); change one of the numbers first."),
                same_phone,
                blocking=True,
                phone=display_phone(member.phone),
                name=same_phone[0].name,
                member_no=same_phone[0].member_no,
            )
    _record_change(session, actor, member.id, "status", member.status, status)
    if reason.strip():
        _record_change(session, actor, member.id, "status_reason", "", reason.strip())
    audit.record(session, actor, "member.status", "member", member.id, old=member.status.value, new=status.value, reason=reason)
    member.status = status
    if status is MemberStatus.CLOSED:
        # A closed member's card stops working; the number stays theirs in the history.
        for card in session.scalars(sa.select(Card).where(Card.member_id == member.id, Card.status == CardStatus.ACTIVE)):
            card.status = CardStatus.CLOSED
            card.ended_at = utcnow()
    session.flush()
    return profile(session, member.id)


def refresh_member_totals(session: Session, member_ids: Sequence[int] | None = None) -> None:
    """Recompute the cached purchase totals (visits, net spend, last visit) from the purchases."""
    sales = sa.and_(Purchase.member_id == Member.id, Purchase.kind == PurchaseKind.SALE)
    refunds = sa.and_(Purchase.member_id == Member.id, Purchase.kind == PurchaseKind.REFUND)
    statement = sa.update(Member).values(
        visit_count=sa.select(sa.func.count(Purchase.id)).where(sales).scalar_subquery(),
        total_spend_fen=sa.select(sa.func.coalesce(sa.func.sum(Purchase.amount_fen), 0)).where(sales).scalar_subquery()
        - sa.select(sa.func.coalesce(sa.func.sum(Purchase.amount_fen), 0)).where(refunds).scalar_subquery(),
        last_visit_at=sa.select(sa.func.max(Purchase.occurred_at)).where(sales).scalar_subquery(),
        updated_at=Member.updated_at,  # a cache refresh is not a change to the profile
    )
    if member_ids is not None:
        statement = statement.where(Member.id.in_(list(member_ids)))
    session.execute(statement.execution_options(synchronize_session=False))


def merge(session: Session, actor: Actor, keep_id: int, merge_id: int) -> MemberProfile:
    """Move everything of one member (cards, purchases, points, complaints, tags, history) onto
    another and close the first; one transaction, recorded in the audit log."""
    require(actor, Permission.MERGE_MEMBERS)
    if keep_id == merge_id:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Choose two different members to merge."))
    keep = get_member_row(session, keep_id)
    gone = get_member_row(session, merge_id)
    if keep.status is MemberStatus.CLOSED:
        raise Conflict(
            QT_TRANSLATE_NOOP("errors", "{name} ({member_no}) is closed; merge into a member who is not."),
            name=keep.name, member_no=keep.member_no,
        )
    keep_has_card = session.scalar(
        sa.select(Card.id).where(Card.member_id == keep.id, Card.status == CardStatus.ACTIVE)
    ) is not None
    if keep_has_card:
        # One working card per member: the merged member's card stops; its number stays in the history.
        session.execute(
            sa.update(Card)
            .where(Card.member_id == gone.id, Card.status == CardStatus.ACTIVE)
            .values(status=CardStatus.REPLACED, ended_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    moved = {}
    for model, column in ((Card, Card.member_id), (Purchase, Purchase.member_id), (PointsEntry, PointsEntry.member_id),
                          (Complaint, Complaint.member_id), (MemberChange, MemberChange.member_id)):
        result = session.execute(
            sa.update(model).where(column == gone.id).values(member_id=keep.id).execution_options(synchronize_session=False)
        )
        moved[model.__tablename__] = result.rowcount
    existing_tags = set(session.scalars(sa.select(MemberTag.tag).where(MemberTag.member_id == keep.id)))
    gone_tags = list(session.scalars(sa.select(MemberTag.tag).where(MemberTag.member_id == gone.id)))
    session.execute(sa.delete(MemberTag).where(MemberTag.member_id == gone.id))
    session.add_all(MemberTag(member_id=keep.id, tag=tag) for tag in gone_tags if tag not in existing_tags)
    keep.points_balance = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.points), 0)).where(PointsEntry.member_id == keep.id)
    ) or 0
    gone.points_balance = 0
    keep.joined_on = min(keep.joined_on, gone.joined_on)
    gone.status = MemberStatus.CLOSED
    _record_change(session, actor, keep.id, "merged_from", "", f"{gone.member_no} {gone.name}")
    _record_change(session, actor, gone.id, "merged_into", "", f"{keep.member_no} {keep.name}")
    session.flush()
    refresh_member_totals(session, [keep.id, gone.id])
    session.expire_all()
    audit.record(session, actor, "member.merge", "member", keep.id, merged=gone.member_no, kept=keep.member_no, moved=moved)
    return profile(session, keep_id)


# The words for a member's marketing consent and for what a line of their history is about (profile fields and
# events of members.py, cards.py, privacy.py): one list for the profile's History tab and the member's copy of their data.
CONSENT_LABELS = {
    MarketingConsent.NONE: QT_TRANSLATE_NOOP("terms", "No marketing"),
    MarketingConsent.SMS: QT_TRANSLATE_NOOP("terms", "Text messages"),
    MarketingConsent.EMAIL: QT_TRANSLATE_NOOP("terms", "E-mail"),
}

HISTORY_LABELS = {
    "created": QT_TRANSLATE_NOOP("history", "Registered"),
    "name": QT_TRANSLATE_NOOP("history", "Name"),
    "phone": QT_TRANSLATE_NOOP("history", "Phone"),
    "gender": QT_TRANSLATE_NOOP("history", "Gender"),
    "birthday": QT_TRANSLATE_NOOP("history", "Birthday"),
    "address": QT_TRANSLATE_NOOP("history", "Address"),
    "email": QT_TRANSLATE_NOOP("history", "E-mail"),
    "tags": QT_TRANSLATE_NOOP("history", "Tags"),
    "notes": QT_TRANSLATE_NOOP("history", "Notes"),
    "company": QT_TRANSLATE_NOOP("history", "Company"),
    "marketing_consent": QT_TRANSLATE_NOOP("history", "Marketing consent"),
    "data_consent": QT_TRANSLATE_NOOP("history", "Consent to keeping personal data"),
    "source": QT_TRANSLATE_NOOP("history", "Source"),
    "status": QT_TRANSLATE_NOOP("history", "Status"),
    "status_reason": QT_TRANSLATE_NOOP("history", "Reason for the status"),
    "merged_from": QT_TRANSLATE_NOOP("history", "Merged in another member"),
    "merged_into": QT_TRANSLATE_NOOP("history", "Merged into another member"),
    "card_issued": QT_TRANSLATE_NOOP("history", "Card issued"),
    "card_replaced": QT_TRANSLATE_NOOP("history", "Card replaced"),
    "card_lost": QT_TRANSLATE_NOOP("history", "Card reported lost"),
    "card_closed": QT_TRANSLATE_NOOP("history", "Card stopped"),
    "erased": QT_TRANSLATE_NOOP("history", "Personal data erased"),
}
