"""Credit (赊账), before, during and after the sale (事前、事中、事后).

* Before: a supervisor or the owner grants a member a limit and a term (``set_limit``); crmdesk
  suggests a limit from the member's history and says why (``suggest_limit``); a person decides.
  Granting, changing and freezing are audited.
* During: a purchase paid (partly) on credit is a charge due ``term_days`` after the sale; it is
  refused beyond the available credit, for a frozen account or one overdue past the owner's limit,
  unless a supervisor or the owner approves it at the till (audited on the entry itself).
* After: repayments (partial allowed), refunds and write-offs settle the oldest charges first
  (credit_settlement records which); aging in buckets; an overdue list with the collection log and
  the promises that passed; the owner's bad-debt write-off; a statement of account for a period.

The ledger (credit_entry) is append-only; ``Member.credit_owed_fen`` caches its sum in the same
transaction. Every check and its write happen with the member's row locked (see wallet.member_for_update),
so four tills charging one account at once never pass its limit, and a CHECK keeps the debt >= 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

from crmdesk import shop_time
from crmdesk.errors import InvalidInput, NotFound, PermissionDenied
from crmdesk.models import (
    CollectionNote, CreditAccount, CreditEntry, CreditKind, CreditSettlement, Member, MemberStatus, Purchase, PurchaseKind, Staff,
)
from crmdesk.services import requests
from crmdesk.services import audit, loyalty, money_settings
from crmdesk.services.auth import Permission, can, require
from crmdesk.services.member_query import member_status_term, money_text
from crmdesk.services.uow import Actor
from crmdesk.services.wallet import member_for_update
from crmdesk.texts import QT_TRANSLATE_NOOP

MAX_LIMIT_FEN = 100_000_000
TERMS = range(1, 366)  # days to pay
REPAY_METHODS = ("cash", "wechat", "alipay", "card")
NOTE_CHANNELS = ("phone", "visit", "sms", "wechat", "other")
MAX_REASON = 300
# Aging buckets: days overdue (inclusive ranges); "current" is not yet due.
BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")

KIND_LABELS = {
    CreditKind.CHARGE: QT_TRANSLATE_NOOP("terms", "On credit"),
    CreditKind.REPAYMENT: QT_TRANSLATE_NOOP("terms", "Repayment"),
    CreditKind.REFUND: QT_TRANSLATE_NOOP("terms", "Refund"),
    CreditKind.WRITE_OFF: QT_TRANSLATE_NOOP("terms", "Written off"),
    CreditKind.OPENING: QT_TRANSLATE_NOOP("terms", "Opening debt"),
}
BUCKET_LABELS = {
    "current": QT_TRANSLATE_NOOP("terms", "Not yet due"),
    "1-30": QT_TRANSLATE_NOOP("terms", "1–30 days overdue"),
    "31-60": QT_TRANSLATE_NOOP("terms", "31–60 days overdue"),
    "61-90": QT_TRANSLATE_NOOP("terms", "61–90 days overdue"),
    "90+": QT_TRANSLATE_NOOP("terms", "Over 90 days overdue"),
}
CHANNEL_LABELS = {
    "phone": QT_TRANSLATE_NOOP("terms", "Phone call"),
    "visit": QT_TRANSLATE_NOOP("terms", "At the shop"),
    "sms": QT_TRANSLATE_NOOP("terms", "Text message"),
    "wechat": QT_TRANSLATE_NOOP("terms", "WeChat"),
    "other": QT_TRANSLATE_NOOP("terms", "Other"),
}


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class CreditInfo:
    member_id: int
    has_account: bool
    limit_fen: int
    term_days: int
    frozen: bool
    frozen_reason: str
    owed_fen: int
    overdue_fen: int
    oldest_overdue_days: int  # 0 when nothing is overdue

    @property
    def available_fen(self) -> int:
        return 0 if self.frozen else max(0, self.limit_fen - self.owed_fen)


@dataclass(frozen=True)
class OpenCharge:
    """A charge with money still owed on it, as of a day."""

    id: int
    at: datetime
    due_on: date
    amount_fen: int
    outstanding_fen: int
    receipt_no: str
    days_overdue: int  # 0 when not yet due

    @property
    def bucket(self) -> str:
        return bucket_of(self.days_overdue)


@dataclass(frozen=True)
class Suggestion:
    limit_fen: int
    term_days: int
    reasons: tuple[tuple[str, dict[str, object]], ...]  # templates ("errors" context) and their values


@dataclass(frozen=True)
class RepayResult:
    entry_id: int
    amount_fen: int
    owed_fen: int  # after it
    settled: tuple[tuple[int, int], ...]  # (charge id, fen) oldest first


@dataclass
class Aging:
    as_of: date
    buckets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    members: int = 0

    @property
    def total_fen(self) -> int:
        return sum(self.buckets.values())

    @property
    def overdue_fen(self) -> int:
        return self.total_fen - self.buckets["current"]


@dataclass(frozen=True)
class OverdueMember:
    member_id: int
    member_no: str
    name: str
    phone: str | None
    owed_fen: int
    overdue_fen: int
    oldest_overdue_days: int
    last_note_at: datetime | None
    promised_on: date | None  # the latest promise
    promise_passed: bool


@dataclass(frozen=True)
class NoteRow:
    id: int
    at: datetime
    channel: str
    text: str
    promised_on: date | None
    promised_fen: int | None
    staff_name: str


@dataclass(frozen=True)
class CreditRow:
    id: int
    at: datetime
    kind: CreditKind
    amount_fen: int
    due_on: date | None
    receipt_no: str
    payment_method: str
    staff_name: str
    approved_by: str
    reason: str
    outstanding_fen: int | None  # charges: what is still owed on it now


@dataclass(frozen=True)
class Statement:
    member_id: int
    first: date
    last: date
    opening_fen: int
    closing_fen: int
    rows: tuple[CreditRow, ...]  # within the period, oldest first
    charged_fen: int
    repaid_fen: int  # repayments, refunds and write-offs together (what reduced the debt)


def bucket_of(days_overdue: int) -> str:
    if days_overdue <= 0:
        return "current"
    if days_overdue <= 30:
        return "1-30"
    if days_overdue <= 60:
        return "31-60"
    if days_overdue <= 90:
        return "61-90"
    return "90+"


# --------------------------------------------------------------------------- reading


def _end_of(day: date) -> datetime:
    """The first moment after the shop's day ``day``: entries before it happened on or before that day."""
    return shop_time.day_start(day + timedelta(days=1))


def open_charges(session: Session, member_ids: Sequence[int] | None, as_of: date) -> dict[int, list[OpenCharge]]:
    """Per member, their charges with money still owed as of the end of ``as_of``, oldest due first."""
    until = _end_of(as_of)
    settling = (
        sa.select(CreditSettlement.charge_id, sa.func.sum(CreditSettlement.amount_fen).label("settled"))
        .join(CreditEntry, CreditEntry.id == CreditSettlement.settled_by_id)
        .where(CreditEntry.at < until)
    )
    if member_ids is not None:  # only what settled these members' charges, not every settlement of the shop
        mine = aliased(CreditEntry)
        settling = settling.where(CreditSettlement.charge_id.in_(sa.select(mine.id).where(mine.member_id.in_(list(member_ids)))))
    settled = settling.group_by(CreditSettlement.charge_id).subquery()
    query = (
        sa.select(CreditEntry.id, CreditEntry.member_id, CreditEntry.at, CreditEntry.due_on, CreditEntry.amount_fen,
                  sa.func.coalesce(settled.c.settled, 0), Purchase.receipt_no)
        .outerjoin(settled, settled.c.charge_id == CreditEntry.id)
        .outerjoin(Purchase, Purchase.id == CreditEntry.purchase_id)
        .where(CreditEntry.kind.in_((CreditKind.CHARGE, CreditKind.OPENING)), CreditEntry.at < until,
               CreditEntry.amount_fen > sa.func.coalesce(settled.c.settled, 0))
        .order_by(CreditEntry.member_id, CreditEntry.due_on, CreditEntry.id)
    )
    if member_ids is not None:
        query = query.where(CreditEntry.member_id.in_(list(member_ids)))
    result: dict[int, list[OpenCharge]] = {}
    for charge_id, member_id, at, due_on, amount, done, receipt in session.execute(query):
        due = due_on or shop_time.local_day(at)
        result.setdefault(member_id, []).append(
            OpenCharge(charge_id, at, due, int(amount), int(amount) - int(done), receipt or "", max(0, (as_of - due).days)))
    return result


def info(session: Session, member_id: int, *, today: date | None = None) -> CreditInfo:
    today = today or shop_time.today()
    owed = session.scalar(sa.select(Member.credit_owed_fen).where(Member.id == member_id))
    if owed is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    account = session.get(CreditAccount, member_id)
    charges = open_charges(session, [member_id], today).get(member_id, [])
    overdue = [c for c in charges if c.days_overdue > 0]
    return CreditInfo(
        member_id, account is not None, int(account.limit_fen) if account else 0, account.term_days if account else 30,
        bool(account and account.frozen), account.frozen_reason if account else "", int(owed),
        sum(c.outstanding_fen for c in overdue), max((c.days_overdue for c in overdue), default=0))


def ledger_sum(session: Session, member_id: int) -> int:
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(CreditEntry.amount_fen), 0))
                              .where(CreditEntry.member_id == member_id)) or 0)


def ledger_page(session: Session, member_id: int, *, offset: int = 0, limit: int = 100, today: date | None = None) -> list[CreditRow]:
    """The member's credit entries, newest first, each charge with what is still owed on it."""
    open_now = {c.id: c.outstanding_fen for c in open_charges(session, [member_id], today or shop_time.today()).get(member_id, [])}
    approver = aliased(Staff)
    rows = session.execute(
        sa.select(CreditEntry.id, CreditEntry.at, CreditEntry.kind, CreditEntry.amount_fen, CreditEntry.due_on, Purchase.receipt_no,
                  CreditEntry.payment_method, Staff.name, approver.name, CreditEntry.reason)
        .outerjoin(Purchase, Purchase.id == CreditEntry.purchase_id)
        .outerjoin(Staff, Staff.id == CreditEntry.staff_id)
        .outerjoin(approver, approver.id == CreditEntry.approved_by_id)
        .where(CreditEntry.member_id == member_id)
        .order_by(CreditEntry.at.desc(), CreditEntry.id.desc()).offset(offset).limit(limit)
    ).all()
    return [CreditRow(r[0], r[1], r[2], int(r[3]), r[4], r[5] or "", r[6], r[7] or "", r[8] or "", r[9],
                      open_now.get(r[0], 0) if r[2] in (CreditKind.CHARGE, CreditKind.OPENING) else None) for r in rows]


def moved_by_purchase(session: Session, purchase_id: int) -> tuple[int, date | None]:
    """What a purchase moved on the debt, signed (a sale's charge +, a refund's -), and the charge's due day."""
    amount, due_on = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(CreditEntry.amount_fen), 0), sa.func.max(CreditEntry.due_on))
        .where(CreditEntry.purchase_id == purchase_id)
    ).one()
    return int(amount), due_on


def charge_of(session: Session, purchase_id: int) -> int | None:
    """The credit charge a sale made (its IOU slip prints it), or None when nothing of it went on credit."""
    return session.scalar(sa.select(CreditEntry.id).where(CreditEntry.purchase_id == purchase_id,
                                                          CreditEntry.kind == CreditKind.CHARGE))


@dataclass(frozen=True)
class Settled:
    """A part of a charge that one repayment, refund or write-off paid off."""

    charge_id: int
    at: datetime  # when the charge was made
    due_on: date | None
    receipt_no: str
    amount_fen: int


def settlements(session: Session, entry_id: int) -> list[Settled]:
    """The charges a repayment, refund or write-off settled, oldest due first, with what it paid on each."""
    rows = session.execute(
        sa.select(CreditEntry.id, CreditEntry.at, CreditEntry.due_on, Purchase.receipt_no, CreditSettlement.amount_fen)
        .join(CreditSettlement, CreditSettlement.charge_id == CreditEntry.id)
        .outerjoin(Purchase, Purchase.id == CreditEntry.purchase_id)
        .where(CreditSettlement.settled_by_id == entry_id)
        .order_by(CreditEntry.due_on, CreditEntry.id)
    ).all()
    return [Settled(r[0], r[1], r[2], r[3] or "", int(r[4])) for r in rows]


def latest_notes(session: Session, member_ids: Sequence[int]) -> dict[int, NoteRow]:
    """Each member's latest collection note (members without one are left out)."""
    latest: dict[int, NoteRow] = {}
    if not member_ids:
        return latest
    for note, name in session.execute(
        sa.select(CollectionNote, Staff.name).outerjoin(Staff, Staff.id == CollectionNote.staff_id)
        .where(CollectionNote.member_id.in_(list(member_ids))).order_by(CollectionNote.at, CollectionNote.id)
    ):
        latest[note.member_id] = NoteRow(note.id, note.at, note.channel, note.text, note.promised_on,
                                         int(note.promised_fen) if note.promised_fen is not None else None, name or "")
    return latest


# --------------------------------------------------------------------------- before the sale


def _check_reason(reason: str, *, required: bool = False) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Give the reason."), field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The note is too long: at most {count} characters."), field="reason",
                           count=MAX_REASON)
    return reason


def set_limit(session: Session, actor: Actor, member_id: int, limit_fen: int, *, term_days: int = 30, reason: str = "") -> CreditInfo:
    """Grant or change a member's credit limit and term (0 stops new credit; what is owed stays owed)."""
    require(actor, Permission.MANAGE_CREDIT)
    reason = _check_reason(reason)
    if not 0 <= limit_fen <= MAX_LIMIT_FEN:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A credit limit runs from ¥0.00 to ¥1,000,000.00."), field="limit")
    if term_days not in TERMS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Credit is due within 1 to 365 days."), field="term_days")
    member = member_for_update(session, member_id)
    if member.status is MemberStatus.CLOSED:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{name}'s membership is {status}: no credit can be granted."),
                           name=member.name, status=member_status_term(member.status))
    account = session.get(CreditAccount, member_id)
    before = (int(account.limit_fen), account.term_days) if account else (0, 0)
    if account is None:
        account = CreditAccount(member_id=member_id, limit_fen=limit_fen, term_days=term_days, granted_by_id=actor.staff_id)
        session.add(account)
    account.limit_fen, account.term_days, account.granted_by_id = limit_fen, term_days, actor.staff_id
    audit.record(session, actor, "credit.limit", "member", member_id, old_limit_fen=before[0], old_term_days=before[1],
                 limit_fen=limit_fen, term_days=term_days, reason=reason)
    session.flush()
    return info(session, member_id)


def set_frozen(session: Session, actor: Actor, member_id: int, frozen: bool, *, reason: str = "") -> CreditInfo:
    """Stop (or allow again) new credit for a member; what is owed stays owed and can be repaid."""
    require(actor, Permission.MANAGE_CREDIT)
    reason = _check_reason(reason, required=frozen)
    member_for_update(session, member_id)
    account = session.get(CreditAccount, member_id)
    if account is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "This member has no credit account."), id=member_id)
    account.frozen, account.frozen_reason = frozen, reason if frozen else ""
    audit.record(session, actor, "credit.freeze" if frozen else "credit.unfreeze", "member", member_id, reason=reason)
    session.flush()
    return info(session, member_id)


# Why a limit is suggested (templates in the "errors" context, like every message).
WHY_TENURE = QT_TRANSLATE_NOOP("errors", "A member for {months} months.")
WHY_SPEND = QT_TRANSLATE_NOOP("errors", "{visits} visits and {spend} spent in the last 12 months ({monthly} a month).")
WHY_NEW = QT_TRANSLATE_NOOP("errors", "Too new or too few visits to give credit yet (at least 3 months and 6 visits).")
WHY_ON_TIME = QT_TRANSLATE_NOOP("errors", "Repaid on time before: the suggestion is one month of spending, and more for long-standing members.")
WHY_LATE = QT_TRANSLATE_NOOP("errors", "Repaid late before (up to {days} days): the suggestion is halved.")
WHY_WRITTEN_OFF = QT_TRANSLATE_NOOP("errors", "A debt was written off before: no credit is suggested.")
WHY_CAPPED = QT_TRANSLATE_NOOP("errors", "Capped at the shop's highest suggested limit, {cap}.")


def suggest_limit(session: Session, member_id: int, *, today: date | None = None) -> Suggestion:
    """A limit from the member's own history, with the reasons; a person decides.

    One month of the member's average spending over the last 12 months, rounded down to ¥10: half of it
    for members of under a year, one and a half times for members of two years or more with 24 visits
    or more; halved after any repayment more than 30 days late; nothing for members of under three
    months or with fewer than six visits, or after a write-off; never above the owner's cap."""
    today = today or shop_time.today()
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    rules = money_settings.get(session)
    since = shop_time.day_start(today - timedelta(days=365))
    sign = sa.case((Purchase.kind == PurchaseKind.SALE, Purchase.amount_fen), else_=-Purchase.amount_fen)
    visits, spend = session.execute(
        sa.select(sa.func.count(sa.distinct(sa.case((Purchase.kind == PurchaseKind.SALE, Purchase.id)))),
                  sa.func.coalesce(sa.func.sum(sign), 0))
        .where(Purchase.member_id == member_id, Purchase.occurred_at >= since)
    ).one()
    months = (today.year - member.joined_on.year) * 12 + today.month - member.joined_on.month
    monthly = int(spend) // 12
    reasons: list[tuple[str, dict[str, object]]] = [
        (WHY_TENURE, {"months": months}),
        (WHY_SPEND, {"visits": int(visits), "spend": money_text(int(spend)), "monthly": money_text(monthly)}),
    ]
    written_off = session.scalar(sa.select(sa.func.count()).select_from(CreditEntry).where(
        CreditEntry.member_id == member_id, CreditEntry.kind == CreditKind.WRITE_OFF)) or 0
    if written_off:
        return Suggestion(0, 30, (*reasons, (WHY_WRITTEN_OFF, {})))
    if months < 3 or int(visits) < 6:
        return Suggestion(0, 30, (*reasons, (WHY_NEW, {})))
    factor_pct = 50 if months < 12 else 150 if months >= 24 and int(visits) >= 24 else 100
    late = _worst_lateness(session, member_id)
    if late > 30:
        factor_pct //= 2
        reasons.append((WHY_LATE, {"days": late}))
    else:
        reasons.append((WHY_ON_TIME, {}))
    limit = monthly * factor_pct // 100 // 1000 * 1000
    if limit > rules.credit_max_limit_fen:
        limit = rules.credit_max_limit_fen
        reasons.append((WHY_CAPPED, {"cap": money_text(rules.credit_max_limit_fen)}))
    return Suggestion(limit, 30, tuple(reasons))


def _worst_lateness(session: Session, member_id: int) -> int:
    """The most days any charge of the member was settled after its due day (or is overdue now)."""
    worst = 0
    payer = aliased(CreditEntry)
    rows = session.execute(
        sa.select(CreditEntry.due_on, sa.func.max(payer.at))
        .join(CreditSettlement, CreditSettlement.charge_id == CreditEntry.id)
        .join(payer, payer.id == CreditSettlement.settled_by_id)
        .where(CreditEntry.member_id == member_id, payer.kind == CreditKind.REPAYMENT)
        .group_by(CreditEntry.id, CreditEntry.due_on)
    ).all()
    for due_on, last_paid in rows:
        if due_on is not None and last_paid is not None:
            worst = max(worst, (shop_time.local_day(last_paid) - due_on).days)
    for charge in open_charges(session, [member_id], shop_time.today()).get(member_id, []):
        worst = max(worst, charge.days_overdue)
    return worst


# --------------------------------------------------------------------------- during the sale


def _post(session: Session, member: Member, kind: CreditKind, amount_fen: int, *, at: datetime, actor: Actor | None,
          due_on: date | None = None, purchase_id: int | None = None, method: str = "", approved_by: Actor | None = None,
          reason: str = "") -> CreditEntry:
    entry = CreditEntry(member_id=member.id, at=at, kind=kind, amount_fen=amount_fen, due_on=due_on, purchase_id=purchase_id,
                        payment_method=method, staff_id=actor.staff_id if actor else None,
                        approved_by_id=approved_by.staff_id if approved_by else None, reason=reason)
    session.add(entry)
    member.credit_owed_fen += amount_fen
    return entry


def charge(session: Session, actor: Actor, member: Member, amount_fen: int, *, purchase_id: int, at: datetime,
           approved_by: Actor | None = None) -> CreditEntry:
    """Put ``amount_fen`` of a purchase on the member's account, due after the account's term. ``member`` is
    locked by the caller (the purchase's transaction). Refused without an account, for a frozen one, one
    overdue past the owner's limit, or beyond the available credit -- unless ``approved_by`` (a supervisor or
    the owner who signed at the till) approves it, which the entry records."""
    if member.status is not MemberStatus.ACTIVE:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{name}'s membership is {status}: nothing can be bought on credit."),
                           name=member.name, status=member_status_term(member.status))
    account = session.get(CreditAccount, member.id)
    if account is None:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{name} has no credit: a supervisor or the owner grants it first."),
                           field="credit", name=member.name)
    if approved_by is not None and not can(approved_by, Permission.MANAGE_CREDIT):
        raise PermissionDenied(QT_TRANSLATE_NOOP("errors", "{name} may not approve credit beyond the limit; ask a supervisor or the owner."),
                               name=approved_by.name)
    day = shop_time.local_day(at)
    if approved_by is None:
        if account.frozen:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{name}'s credit is stopped: {reason}"), field="credit",
                               name=member.name, reason=account.frozen_reason or "—")
        freeze_days = money_settings.get(session).credit_freeze_after_days
        oldest = max((c.days_overdue for c in open_charges(session, [member.id], day).get(member.id, [])), default=0)
        if freeze_days and oldest > freeze_days:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{name} is {days} days overdue: new credit waits until the debt is paid."),
                               field="credit", name=member.name, days=oldest)
        available = max(0, int(account.limit_fen) - member.credit_owed_fen)
        if amount_fen > available:
            raise InvalidInput(
                QT_TRANSLATE_NOOP("errors", "{name} has {available} of credit left (limit {limit}, owed {owed}); "
                                            "{amount} on credit needs a supervisor's approval."),
                field="credit", name=member.name, available=money_text(available), limit=money_text(int(account.limit_fen)),
                owed=money_text(member.credit_owed_fen), amount=money_text(amount_fen))
    entry = _post(session, member, CreditKind.CHARGE, amount_fen, at=at, actor=actor, due_on=day + timedelta(days=account.term_days),
                  purchase_id=purchase_id, approved_by=approved_by)
    if approved_by is not None:
        session.flush()
        audit.record(session, actor, "credit.override", "member", member.id, entry=entry.id, amount_fen=amount_fen,
                     approved_by=approved_by.name)
    return entry


def _settle(session: Session, member: Member, settler: CreditEntry, amount_fen: int, *, first: int | None = None) -> list[tuple[int, int]]:
    """Record which open charges ``settler`` pays off: ``first`` (a refunded sale's own charge), then the oldest due."""
    session.flush()  # the settler's id
    charges = open_charges(session, [member.id], shop_time.local_day(settler.at) + timedelta(days=1)).get(member.id, [])
    charges.sort(key=lambda c: (c.id != first, c.due_on, c.id))
    settled = []
    left = amount_fen
    for charge_row in charges:
        if left <= 0:
            break
        part = min(left, charge_row.outstanding_fen)
        session.add(CreditSettlement(charge_id=charge_row.id, settled_by_id=settler.id, amount_fen=part))
        settled.append((charge_row.id, part))
        left -= part
    return settled


def refund_charge(session: Session, actor: Actor, member: Member, *, sale_id: int, refund_id: int, back_by_now_fen: int,
                  back_before_fen: int, at: datetime) -> int:
    """Take a refunded credit purchase's part off the debt: this refund's own share, ``back_by_now_fen`` (what the
    sale's refunds should take off in all, with this one) less ``back_before_fen`` (without it). Never more than the
    sale put on, nor than is owed now: a share the debt cannot take (it was repaid meanwhile) goes back in the sale's
    own way of paying and is not taken again by a later refund. The refunded sale's own charge is settled first.
    The fen taken off with this refund."""
    charged = int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(CreditEntry.amount_fen), 0)).where(
        CreditEntry.purchase_id == sale_id, CreditEntry.kind == CreditKind.CHARGE)) or 0)
    taken = -int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(CreditEntry.amount_fen), 0))
                                .join(Purchase, Purchase.id == CreditEntry.purchase_id)
                                .where(Purchase.refund_of_id == sale_id, CreditEntry.kind == CreditKind.REFUND)) or 0)
    amount_fen = min(back_by_now_fen - back_before_fen, charged - taken, member.credit_owed_fen)
    if amount_fen <= 0:
        return 0
    entry = _post(session, member, CreditKind.REFUND, -amount_fen, at=at, actor=actor, purchase_id=refund_id)
    first = session.scalar(sa.select(CreditEntry.id).where(CreditEntry.purchase_id == sale_id, CreditEntry.kind == CreditKind.CHARGE))
    _settle(session, member, entry, amount_fen, first=first)
    return amount_fen


# --------------------------------------------------------------------------- after the sale


def repay(session: Session, actor: Actor, member_id: int, amount_fen: int, *, payment_method: str = "cash",
          now: datetime | None = None, request_id: str | None = None) -> RepayResult:
    """Money paid back (partly or in full), settling the oldest charges first; never more than is owed. A till's
    ``request_id`` makes asking again after a network failure safe (services/requests.py)."""
    if payment_method not in REPAY_METHODS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A repayment is made in cash, by WeChat Pay, Alipay or bank card, not '{method}'."),
                           field="payment_method", method=payment_method)
    if amount_fen <= 0:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "An amount must be more than ¥0.00."), field="amount")
    now = now or datetime.now(timezone.utc)
    requests.once(session, request_id, "credit.repay", member_id)
    member = member_for_update(session, member_id)
    if amount_fen > member.credit_owed_fen:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{name} owes {owed}; {amount} is more than that."),
                           field="amount", name=member.name, owed=money_text(member.credit_owed_fen), amount=money_text(amount_fen))
    entry = _post(session, member, CreditKind.REPAYMENT, -amount_fen, at=now, actor=actor, method=payment_method)
    settled = _settle(session, member, entry, amount_fen)
    audit.record(session, actor, "credit.repay", "member", member.id, entry=entry.id, amount_fen=amount_fen,
                 payment_method=payment_method)
    return RepayResult(entry.id, amount_fen, member.credit_owed_fen, tuple(settled))


def write_off(session: Session, actor: Actor, member_id: int, *, amount_fen: int | None = None, reason: str,
              now: datetime | None = None, request_id: str | None = None) -> RepayResult:
    """坏账核销: the owner writes off (part of) a debt that will not be paid, with the reason; oldest charges first."""
    require(actor, Permission.WRITE_OFF_DEBT)
    requests.once(session, request_id, "credit.write_off", member_id)  # sent again after a network failure: done once
    reason = _check_reason(reason, required=True)
    member = member_for_update(session, member_id)
    amount_fen = member.credit_owed_fen if amount_fen is None else amount_fen
    if not 0 < amount_fen <= member.credit_owed_fen:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{name} owes {owed}: write off more than ¥0.00 and at most that."),
                           field="amount", name=member.name, owed=money_text(member.credit_owed_fen))
    entry = _post(session, member, CreditKind.WRITE_OFF, -amount_fen, at=now or datetime.now(timezone.utc), actor=actor,
                  reason=reason)
    settled = _settle(session, member, entry, amount_fen)
    audit.record(session, actor, "credit.write_off", "member", member.id, entry=entry.id, amount_fen=amount_fen, reason=reason)
    return RepayResult(entry.id, amount_fen, member.credit_owed_fen, tuple(settled))


def open_debt(session: Session, actor: Actor, member: Member, *, amount_fen: int, due_on: date, reason: str, at: datetime) -> None:
    """A debt brought over from an old system (the import, with the member locked)."""
    require(actor, Permission.IMPORT_MEMBERS)
    if amount_fen < 0:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "An opening debt cannot be negative."), field="credit")
    if amount_fen:
        _post(session, member, CreditKind.OPENING, amount_fen, at=at, actor=actor, due_on=due_on, reason=reason[:MAX_REASON])


def aging(session: Session, *, as_of: date | None = None, member_id: int | None = None) -> Aging:
    """What is owed, by how long past its due day, as of the end of ``as_of``: for the shop, or one member."""
    as_of = as_of or shop_time.today()
    if member_id is None:
        return shop_aging(session, as_of=as_of)
    result = Aging(as_of)
    charges = open_charges(session, [member_id], as_of)
    for rows in charges.values():
        for row in rows:
            result.buckets[row.bucket] += row.outstanding_fen
    result.members = len(charges)
    return result


def shop_aging(session: Session, *, as_of: date | None = None) -> Aging:
    """The shop's aging as of the end of ``as_of``, summed by the database in one pass over the ledger
    (open_charges builds every open charge: seconds for a hundred thousand accounts). The same figures."""
    as_of = as_of or shop_time.today()
    until = _end_of(as_of)
    payer = aliased(CreditEntry)
    # What settled each charge by then, looked up per charge (ix_credit_settlement_charge_id): no table of every
    # settlement is built in memory.
    settled = (sa.select(sa.func.coalesce(sa.func.sum(CreditSettlement.amount_fen), 0))
               .join(payer, payer.id == CreditSettlement.settled_by_id)
               .where(CreditSettlement.charge_id == CreditEntry.id, payer.at < until)
               .correlate(CreditEntry).scalar_subquery())
    at: sa.ColumnElement[datetime] = CreditEntry.at
    if session.get_bind().dialect.name == "sqlite":  # read the ledger straight through, not row by row along the `at` index
        at = UnaryExpression(CreditEntry.at, operator=operators.custom_op("+"), type_=CreditEntry.at.type)
    # days overdue = as_of - due_on: "current" up to 0, then 1-30, 31-60, 61-90, over 90
    bucket = sa.case(*((CreditEntry.due_on >= as_of - timedelta(days=days), index) for index, days in enumerate((0, 30, 60, 90))),
                     else_=len(BUCKETS) - 1)
    charges = (
        sa.select(CreditEntry.member_id.label("member_id"), bucket.label("bucket"), (CreditEntry.amount_fen - settled).label("outstanding"))
        .where(CreditEntry.kind.in_((CreditKind.CHARGE, CreditKind.OPENING)), at < until, CreditEntry.due_on.is_not(None))
        .subquery()
    )
    open_rows = sa.select(charges).where(charges.c.outstanding > 0).subquery()
    sums = [sa.func.coalesce(sa.func.sum(sa.case((open_rows.c.bucket == index, open_rows.c.outstanding), else_=0)), 0)
            for index in range(len(BUCKETS))]
    *totals, members = session.execute(sa.select(*sums, sa.func.count(sa.distinct(open_rows.c.member_id)))).one()
    result = Aging(as_of, dict(zip(BUCKETS, (int(total) for total in totals), strict=True)), int(members))
    # A charge without a due day (none is written so) counts from its own day, as open_charges has it.
    undated = [row for row in session.execute(
        sa.select(CreditEntry.id, CreditEntry.member_id).where(
            CreditEntry.kind.in_((CreditKind.CHARGE, CreditKind.OPENING)), CreditEntry.due_on.is_(None), CreditEntry.at < until))]
    if undated:
        dated_members = set(session.scalars(sa.select(open_rows.c.member_id).distinct()))
        ids = {charge_id for charge_id, _member in undated}
        for member_id, rows in open_charges(session, sorted({member for _id, member in undated}), as_of).items():
            for row in rows:
                if row.id in ids:
                    result.buckets[row.bucket] += row.outstanding_fen
            result.members += member_id not in dated_members
    return result


def overdue_members(session: Session, *, as_of: date | None = None) -> list[OverdueMember]:
    """Everyone with money overdue, longest overdue first, with their latest collection note and promise."""
    as_of = as_of or shop_time.today()
    charges = open_charges(session, None, as_of)
    overdue = {member_id: [c for c in rows if c.days_overdue > 0] for member_id, rows in charges.items()}
    overdue = {member_id: rows for member_id, rows in overdue.items() if rows}
    if not overdue:
        return []
    people = {row.id: row for row in session.execute(
        sa.select(Member.id, Member.member_no, Member.name, Member.phone, Member.credit_owed_fen).where(Member.id.in_(list(overdue))))}
    latest = {}
    for note in session.scalars(sa.select(CollectionNote).where(CollectionNote.member_id.in_(list(overdue)))
                                .order_by(CollectionNote.at, CollectionNote.id)):
        latest[note.member_id] = note
    result = []
    for member_id, rows in overdue.items():
        person, note = people[member_id], latest.get(member_id)
        promised = note.promised_on if note else None
        result.append(OverdueMember(member_id, person.member_no, person.name, person.phone, int(person.credit_owed_fen),
                                    sum(c.outstanding_fen for c in rows), max(c.days_overdue for c in rows),
                                    note.at if note else None, promised, promised is not None and promised < as_of))
    return sorted(result, key=lambda row: (-row.oldest_overdue_days, -row.overdue_fen, row.member_no))


def add_note(session: Session, actor: Actor, member_id: int, *, text: str, channel: str = "phone",
             promised_on: date | None = None, promised_fen: int | None = None, now: datetime | None = None) -> NoteRow:
    """催收: a contact about the debt, and what was promised by when."""
    if channel not in NOTE_CHANNELS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{channel}' is not a way of contact (phone, visit, sms, wechat, other)."),
                           field="channel", channel=channel)
    text = (text or "").strip()
    if not text:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Write what was said."), field="text")
    if len(text) > 2000:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The note is too long: at most {count} characters."), field="text", count=2000)
    if promised_fen is not None and promised_fen <= 0:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "An amount must be more than ¥0.00."), field="promised_fen")
    now = now or datetime.now(timezone.utc)
    if promised_on is not None and promised_on < shop_time.local_day(now):
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A promise is for a day to come, not {date}."), field="promised_on",
                           date=promised_on.isoformat())
    if session.get(Member, member_id) is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    note = CollectionNote(member_id=member_id, at=now, channel=channel, text=text, promised_on=promised_on,
                          promised_fen=promised_fen, staff_id=actor.staff_id)
    session.add(note)
    session.flush()
    audit.record(session, actor, "credit.note", "member", member_id, note=note.id)
    return NoteRow(note.id, now, channel, text, promised_on, promised_fen, actor.name)


def notes(session: Session, member_id: int) -> list[NoteRow]:
    rows = session.execute(
        sa.select(CollectionNote, Staff.name).outerjoin(Staff, Staff.id == CollectionNote.staff_id)
        .where(CollectionNote.member_id == member_id).order_by(CollectionNote.at.desc(), CollectionNote.id.desc())
    ).all()
    return [NoteRow(n.id, n.at, n.channel, n.text, n.promised_on, int(n.promised_fen) if n.promised_fen is not None else None,
                    name or "") for n, name in rows]


def broken_promises(session: Session, *, today: date | None = None) -> list[OverdueMember]:
    """The members whose latest promise to pay has passed while they still owe: the reminders of the day."""
    return [row for row in overdue_members(session, as_of=today) if row.promise_passed]


def freeze_overdue(session: Session, *, today: date | None = None) -> int:
    """Stop credit by itself for accounts overdue past the owner's limit (run daily; idempotent). How many."""
    days = money_settings.get(session).credit_freeze_after_days
    if not days:
        return 0
    today = today or shop_time.today()
    frozen = 0
    for row in overdue_members(session, as_of=today):
        # Locked and read afresh: two tills starting together freeze an account once.
        account = session.get(CreditAccount, row.member_id, with_for_update=True, populate_existing=True)
        if account is not None and not account.frozen and row.oldest_overdue_days > days:
            account.frozen, account.frozen_reason = True, loyalty.REASON_OVERDUE.format(days=row.oldest_overdue_days)
            audit.record(session, None, "credit.freeze", "member", row.member_id, reason=account.frozen_reason)
            frozen += 1
    session.flush()
    return frozen


def statement(session: Session, member_id: int, first: date, last: date) -> Statement:
    """对账单: what the member owed at the start of ``first``, every movement up to the end of ``last``, what they owed then."""
    if last < first:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The period ends before it starts."), field="period")
    if session.get(Member, member_id) is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    start, end = shop_time.day_start(first), _end_of(last)
    opening = int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(CreditEntry.amount_fen), 0)).where(
        CreditEntry.member_id == member_id, CreditEntry.at < start)) or 0)
    approver = aliased(Staff)
    rows = tuple(
        CreditRow(r[0], r[1], r[2], int(r[3]), r[4], r[5] or "", r[6], r[7] or "", r[8] or "", r[9], None)
        for r in session.execute(
            sa.select(CreditEntry.id, CreditEntry.at, CreditEntry.kind, CreditEntry.amount_fen, CreditEntry.due_on, Purchase.receipt_no,
                      CreditEntry.payment_method, Staff.name, approver.name, CreditEntry.reason)
            .outerjoin(Purchase, Purchase.id == CreditEntry.purchase_id)
            .outerjoin(Staff, Staff.id == CreditEntry.staff_id)
            .outerjoin(approver, approver.id == CreditEntry.approved_by_id)
            .where(CreditEntry.member_id == member_id, CreditEntry.at >= start, CreditEntry.at < end)
            .order_by(CreditEntry.at, CreditEntry.id)
        ).all())
    charged = sum(r.amount_fen for r in rows if r.amount_fen > 0)
    reduced = -sum(r.amount_fen for r in rows if r.amount_fen < 0)
    return Statement(member_id, first, last, opening, opening + charged - reduced, rows, charged, reduced)
