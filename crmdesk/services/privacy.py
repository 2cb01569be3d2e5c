"""Privacy requests under China's personal information protection law (个人信息保护法): a member's copy of
their data, erasing a member's personal data on request, the retention rule for closed members, and
consent to keeping the member's data.

**A member's copy** (``member_data``, ``export_member_data``): everything crmdesk holds on one member —
profile, consent, cards, tags, purchases with their lines, the points, stored-value and credit ledgers,
the credit account with its settlements and collection notes, complaints with their timeline,
resolutions, follow-ups and attachments (names and sizes, never the bytes), survey answers, coupons and
offers used, and the change history — as a JSON file (UTF-8, money as fen and as yuan text, times in
ISO 8601 on the shop's clock) and a PDF a person reads (reports/member_data.py), written side by side
with the member number and the date in their names, readable by their owner only, never over an
existing file. Supervisor or owner (Permission.EXPORT_MEMBER_DATA); audited as ``member.export_data``.

**Erasing** (``erase_member``): the owner only (Permission.ERASE_MEMBERS), confirmed by typing the
member's name (or member number), refused while the member has stored value or owes money, and once
only. What is removed: name (and its search keys), phone (and its last four digits), gender, birthday
(and birth month), address, e-mail, company, notes, tags, both consents, the payment PIN; the free text
of their complaints (description, request, timeline notes, resolution notes, follow-up comments,
walk-in name and phone) and their attachments (rows and bytes); their survey comments; their
collection notes' text; the values of the personal fields in their change history; the name and phone
wherever they appear in their ledger reasons, change history and audit log (replaced by ``***``).
What is kept, so the shop's figures stay right: the member row with its number, join date, tier and
cached totals; cards (stopped); purchases and their lines; the points, stored-value and credit ledgers
(amounts, kinds, dates); complaints' categories, channels, statuses, deadlines and outcomes; survey
scores; coupons and offers used.

The name is replaced by one stable label, stored as it is: ``匿名会员 #<member_no>`` ("anonymous member", in
the shop's own language, so every list, search result and printout shows the same words; not 注销, which
the program already uses for closing a membership). Screens that know the member was erased
(``erased_at`` is set) show the translated "Erased member <member_no>" instead. The member is
closed, ``erased_at`` set, and an ``erased`` line added to the history. Audited as ``member.erase``,
with the fields and counts cleared but none of the values.

On SQLite the erasing transaction runs with ``secure_delete`` on, so removed text is overwritten in
the file rather than left in free space; after it commits, ``settle_storage(db)`` folds the write-ahead
log into the file so no older copy of the pages stays beside it. (Backups taken before the erasure
still hold the data until they rotate out.)

**Retention** (used by the automatic backups; keep these names and signatures):

* ``members_due_for_anonymising(session, today) -> list[DueMember]`` — members closed (status
  closed) for more than ``DataSafetySettings.retention_years`` years on ``today`` (the shop's day),
  not yet erased; an empty list when the setting is 0. The time a member was closed is the latest
  "status → closed" (or "merged into") line of their history, else the row's ``updated_at``.
* ``anonymise_due(session, actor, today) -> int`` — erases each of them through the same code as
  ``erase_member`` and returns how many were erased; members who still have stored value or owe money
  are skipped (``run_retention`` returns them too). Audited once as ``privacy.retention``. ``actor``
  is the staff member running it by hand (the owner), or None for the automatic run the owner's
  retention setting asks for.

**Consent**: ``record_data_consent(session, actor, member_id, given)`` records (or clears) the member's
consent to the shop keeping their data, with the time and the staff member's name; audited as
``member.consent``. Marketing consent is recorded with who took it by services/members.py.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk import shop_time
from crmdesk.db import Database
from crmdesk.errors import Conflict, InvalidInput, NotFound
from crmdesk.models import (
    SAFETY_SETTINGS_ROW_ID,
    AuditEvent,
    Card,
    CardStatus,
    CollectionNote,
    Complaint,
    ComplaintAttachment,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintEvent,
    ComplaintFollowUp,
    ComplaintResolution,
    Coupon,
    CreditAccount,
    CreditEntry,
    CreditSettlement,
    DataSafetySettings,
    Gender,
    MarketingConsent,
    Member,
    MemberChange,
    MemberStatus,
    MemberTag,
    Offer,
    OfferRedemption,
    PointsEntry,
    Purchase,
    PurchaseLine,
    Staff,
    SurveyDimension,
    SurveyResponse,
    SurveyScore,
    Tier,
    WalletEntry,
)
from crmdesk.services import audit, store
from crmdesk.services.auth import Permission, require
from crmdesk.services.member_query import format_yuan
from crmdesk.services.members import MemberProfile, display_phone
from crmdesk.services.members import profile as member_profile
from crmdesk.services.uow import Actor, read_session, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP

FORMAT = "crmdesk.member_data"
FORMAT_VERSION = 1
# The name an erased member keeps, stored as it is (see the module notes).
ERASED_NAME = "匿名会员 #{member_no}"
# What an erased complaint's description reads (it may not be empty).
ERASED_TEXT = "—"
REDACTED = "***"
# History fields whose old and new values are personal data: blanked when the member is erased.
PERSONAL_HISTORY_FIELDS = frozenset({"name", "phone", "gender", "birthday", "address", "email", "tags", "notes", "company"})
# What an erasure clears on the member row (named in the audit log; the values never are).
ERASED_FIELDS = ("name", "phone", "gender", "birthday", "address", "email", "company", "notes", "tags", "marketing_consent",
                 "data_consent", "pay_pin")

MSG_NO_MEMBER = QT_TRANSLATE_NOOP("errors", "No member with id {id}.")
MSG_NO_FOLDER = QT_TRANSLATE_NOOP("errors", "Cannot write into {folder}: it is not an existing folder.")
MSG_ALREADY_ERASED = QT_TRANSLATE_NOOP(
    "errors", "The personal data of member {member_no} was already erased on {date}; there is nothing left to erase.")
MSG_HAS_WALLET = QT_TRANSLATE_NOOP(
    "errors", "Member {member_no} still has {amount} of stored value: cash out the stored value first, then erase the personal data.")
MSG_OWES = QT_TRANSLATE_NOOP(
    "errors", "Member {member_no} still owes {amount}: settle or write off the debt first, then erase the personal data.")
MSG_HAS_WALLET_AND_OWES = QT_TRANSLATE_NOOP(
    "errors", "Member {member_no} still has {wallet} of stored value and owes {owed}: cash out the stored value and settle "
              "or write off the debt first, then erase the personal data.")
MSG_CONFIRM_EMPTY = QT_TRANSLATE_NOOP(
    "errors", "Type the member's name (or member number) to confirm that their personal data is to be erased.")
MSG_CONFIRM_WRONG = QT_TRANSLATE_NOOP(
    "errors", "'{typed}' is not this member's name or member number; nothing was erased. Type it exactly as registered.")
MSG_CONSENT_ERASED = QT_TRANSLATE_NOOP(
    "errors", "The personal data of member {member_no} was erased; there is no consent left to record.")


class MoneyStillHeld(Conflict):
    """Erasing is refused while the member has stored value or owes money: the shop must settle first."""


class AlreadyErased(Conflict):
    """The member's personal data was erased before."""


# --------------------------------------------------------------------------- plain values


def money(fen: int) -> dict[str, Any]:
    """Money in a JSON document: exact fen and the yuan text with two decimals (never a float)."""
    return {"fen": int(fen), "yuan": format_yuan(int(fen))}


def iso_time(moment: datetime | None) -> str | None:
    """A stored moment on the shop's clock, ISO 8601 with its offset: 2026-12-05T14:02:00+08:00."""
    return shop_time.to_shop(moment).isoformat(timespec="seconds") if moment is not None else None


def iso_day(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _offset_text(moment: datetime) -> str:
    """The shop's offset from UTC at that moment: "+08:00"."""
    offset = shop_time.to_shop(moment).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def erased_name(member_no: str) -> str:
    return ERASED_NAME.format(member_no=member_no)


@dataclass(frozen=True)
class ExportedFiles:
    json_path: Path
    pdf_path: Path


@dataclass(frozen=True)
class ErasedMember:
    member_id: int
    member_no: str
    label: str  # the name the member keeps
    erased_at: datetime
    counts: dict[str, int] = field(default_factory=dict)  # what was cleared, by kind (no values)


@dataclass(frozen=True)
class DueMember:
    """A closed member past the retention period."""

    id: int
    member_no: str
    name: str
    closed_at: datetime
    wallet_fen: int
    owed_fen: int

    @property
    def blocked(self) -> bool:
        """Still holding stored value or owing money: not erased until settled."""
        return self.wallet_fen > 0 or self.owed_fen > 0


@dataclass(frozen=True)
class RetentionResult:
    erased: tuple[str, ...]  # member numbers
    skipped: tuple[DueMember, ...]  # due but holding stored value or owing money
    retention_years: int

    @property
    def count(self) -> int:
        return len(self.erased)


# --------------------------------------------------------------------------- a member's copy


def _staff_names(session: Session) -> dict[int | None, str]:
    names: dict[int | None, str] = dict(session.execute(sa.select(Staff.id, Staff.name)).all())
    names[None] = ""
    return names


def _member_row(session: Session, member_id: int, *, for_update: bool = False) -> Member:
    statement = sa.select(Member).where(Member.id == member_id)
    member = session.execute(statement.with_for_update() if for_update else statement).scalar_one_or_none()
    if member is None:
        raise NotFound(MSG_NO_MEMBER, id=member_id)
    return member


def member_data(session: Session, actor: Actor, member_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything crmdesk holds on one member, as one JSON-ready document (see the module notes).

    Supervisor or owner. This reads only; ``export_member_data`` writes the files and the audit line."""
    require(actor, Permission.EXPORT_MEMBER_DATA)
    now = now or shop_time.now()
    member = _member_row(session, member_id)
    staff = _staff_names(session)
    tier = session.get(Tier, member.tier_id) if member.tier_id else None

    purchases = list(session.scalars(
        sa.select(Purchase).where(Purchase.member_id == member.id).order_by(Purchase.occurred_at, Purchase.id)))
    receipts = {p.id: p.receipt_no for p in purchases}
    lines: dict[int, list[PurchaseLine]] = defaultdict(list)
    for line in session.scalars(
        sa.select(PurchaseLine).join(Purchase, Purchase.id == PurchaseLine.purchase_id)
        .where(Purchase.member_id == member.id).order_by(PurchaseLine.purchase_id, PurchaseLine.id)
    ):
        lines[line.purchase_id].append(line)

    document: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "generated_at": iso_time(now),
        "generated_by": actor.name,
        "store": store.get_store(session).store_name,
        "time_zone": _offset_text(now),
        "member": _member_section(member, tier),
        "consent": _consent_section(member),
        "cards": [
            {"number": c.number, "status": c.status.value, "imported": c.imported, "issued_at": iso_time(c.issued_at),
             "ended_at": iso_time(c.ended_at)}
            for c in session.scalars(sa.select(Card).where(Card.member_id == member.id).order_by(Card.issued_at, Card.id))
        ],
        "tags": list(member.tags),
        "purchases": [_purchase(p, receipts, lines.get(p.id, []), staff) for p in purchases],
        "points_ledger": [
            {"at": iso_time(e.at), "kind": e.kind.value, "points": e.points, "expires_on": iso_day(e.expires_on),
             "receipt_no": receipts.get(e.purchase_id, "") if e.purchase_id else "", "complaint_id": e.complaint_id,
             "reason": e.reason, "staff": staff.get(e.staff_id, "")}
            for e in session.scalars(sa.select(PointsEntry).where(PointsEntry.member_id == member.id)
                                     .order_by(PointsEntry.at, PointsEntry.id))
        ],
        "wallet_ledger": [
            {"at": iso_time(e.at), "kind": e.kind.value, "principal": money(e.principal_fen), "bonus": money(e.bonus_fen),
             "receipt_no": receipts.get(e.purchase_id, "") if e.purchase_id else "", "payment_method": e.payment_method,
             "reason": e.reason, "staff": staff.get(e.staff_id, "")}
            for e in session.scalars(sa.select(WalletEntry).where(WalletEntry.member_id == member.id)
                                     .order_by(WalletEntry.at, WalletEntry.id))
        ],
        "credit": _credit_section(session, member, receipts, staff),
        "complaints": _complaints_section(session, member, staff),
        "surveys": _surveys_section(session, member, staff),
        "coupons": [
            {"code": code, "offer": offer_name, "batch": c.batch, "created_at": iso_time(c.created_at), "used_at": iso_time(c.used_at)}
            for c, code, offer_name in session.execute(
                sa.select(Coupon, Coupon.code, Offer.name).join(Offer, Offer.id == Coupon.offer_id)
                .where(Coupon.member_id == member.id).order_by(Coupon.created_at, Coupon.id)).all()
        ],
        "offer_redemptions": [
            {"at": iso_time(r.at), "offer": offer_name, "coupon": code, "receipt_no": receipts.get(r.purchase_id, "") if r.purchase_id else "",
             "discount": money(r.discount_fen), "points_spent": r.points_spent, "staff": staff.get(r.staff_id, "")}
            for r, offer_name, code in session.execute(
                sa.select(OfferRedemption, Offer.name, Coupon.code).join(Offer, Offer.id == OfferRedemption.offer_id)
                .outerjoin(Coupon, Coupon.id == OfferRedemption.coupon_id)
                .where(OfferRedemption.member_id == member.id).order_by(OfferRedemption.at, OfferRedemption.id)).all()
        ],
        "history": [
            {"at": iso_time(h.at), "staff": h.staff_name, "field": h.field, "old_value": h.old_value, "new_value": h.new_value}
            for h in session.scalars(sa.select(MemberChange).where(MemberChange.member_id == member.id)
                                     .order_by(MemberChange.at, MemberChange.id))
        ],
    }
    document["counts"] = {key: len(document[key]) for key in (
        "cards", "tags", "purchases", "points_ledger", "wallet_ledger", "complaints", "surveys", "coupons", "offer_redemptions", "history")}
    document["counts"].update(credit_entries=len(document["credit"]["entries"]),
                              collection_notes=len(document["credit"]["collection_notes"]))
    return document


def _member_section(member: Member, tier: Tier | None) -> dict[str, Any]:
    return {
        "id": member.id,
        "member_no": member.member_no,
        "name": member.name,
        "phone": member.phone,
        "phone_display": display_phone(member.phone),
        "gender": member.gender.value,
        "birthday": iso_day(member.birthday),
        "address": member.address,
        "email": member.email,
        "company": member.company,
        "notes": member.notes,
        "source": member.source,
        "status": member.status.value,
        "joined_on": iso_day(member.joined_on),
        "tier": tier.name if tier is not None else None,
        "points_balance": member.points_balance,
        "visit_count": member.visit_count,
        "total_spend": money(member.total_spend_fen),
        "last_visit_at": iso_time(member.last_visit_at),
        "stored_value": {"principal": money(member.wallet_principal_fen), "bonus": money(member.wallet_bonus_fen),
                         "total": money(member.wallet_principal_fen + member.wallet_bonus_fen)},
        "credit_owed": money(member.credit_owed_fen),
        "has_payment_pin": bool(member.pay_pin_hash),
        "created_at": iso_time(member.created_at),
        "updated_at": iso_time(member.updated_at),
        "erased_at": iso_time(member.erased_at),
    }


def _consent_section(member: Member) -> dict[str, Any]:
    return {
        "marketing": {"channel": member.marketing_consent.value, "at": iso_time(member.consent_at), "by": member.consent_by},
        "data": {"given": member.data_consent_at is not None, "at": iso_time(member.data_consent_at), "by": member.data_consent_by},
    }


def _purchase(p: Purchase, receipts: dict[int, str], lines: list[PurchaseLine], staff: dict[int | None, str]) -> dict[str, Any]:
    return {
        "id": p.id,
        "kind": p.kind.value,
        "occurred_at": iso_time(p.occurred_at),
        "till": p.till,
        "receipt_no": p.receipt_no,
        "refund_of": receipts.get(p.refund_of_id, "") if p.refund_of_id else None,
        "amount": money(p.amount_fen),
        "wallet": money(p.wallet_fen),
        "credit": money(p.credit_fen),
        "payment_method": p.payment_method,
        "cashier": staff.get(p.cashier_id, ""),
        "lines": [
            {"item_code": line.item_code, "name": line.name, "category": line.category, "quantity_milli": line.quantity_milli,
             "quantity": _quantity(line.quantity_milli), "unit_price": money(line.unit_price_fen), "amount": money(line.amount_fen)}
            for line in lines
        ],
    }


def _quantity(milli: int) -> str:
    """1500 -> "1.5", 1000 -> "1": thousandths of a unit as a person writes them."""
    sign = "-" if milli < 0 else ""
    whole, rest = divmod(abs(milli), 1000)
    return f"{sign}{whole}" + (f".{rest:03d}".rstrip("0") if rest else "")


def _credit_section(session: Session, member: Member, receipts: dict[int, str], staff: dict[int | None, str]) -> dict[str, Any]:
    account = session.get(CreditAccount, member.id)
    entries = list(session.scalars(sa.select(CreditEntry).where(CreditEntry.member_id == member.id)
                                   .order_by(CreditEntry.at, CreditEntry.id)))
    ids = [e.id for e in entries]
    settlements = list(session.scalars(
        sa.select(CreditSettlement).where(CreditSettlement.charge_id.in_(ids)).order_by(CreditSettlement.id))) if ids else []
    return {
        "account": None if account is None else {
            "limit": money(account.limit_fen), "term_days": account.term_days, "frozen": account.frozen,
            "frozen_reason": account.frozen_reason, "granted_at": iso_time(account.granted_at),
            "granted_by": staff.get(account.granted_by_id, ""), "updated_at": iso_time(account.updated_at),
        },
        "owed": money(member.credit_owed_fen),
        "entries": [
            {"id": e.id, "at": iso_time(e.at), "kind": e.kind.value, "amount": money(e.amount_fen), "due_on": iso_day(e.due_on),
             "receipt_no": receipts.get(e.purchase_id, "") if e.purchase_id else "", "payment_method": e.payment_method,
             "reason": e.reason, "staff": staff.get(e.staff_id, ""), "approved_by": staff.get(e.approved_by_id, "")}
            for e in entries
        ],
        "settlements": [{"charge_id": s.charge_id, "settled_by_id": s.settled_by_id, "amount": money(s.amount_fen)}
                        for s in settlements],
        "collection_notes": [
            {"at": iso_time(n.at), "channel": n.channel, "text": n.text, "promised_on": iso_day(n.promised_on),
             "promised": money(n.promised_fen) if n.promised_fen is not None else None, "staff": staff.get(n.staff_id, "")}
            for n in session.scalars(sa.select(CollectionNote).where(CollectionNote.member_id == member.id)
                                     .order_by(CollectionNote.at, CollectionNote.id))
        ],
    }


def _complaints_section(session: Session, member: Member, staff: dict[int | None, str]) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(Complaint, ComplaintChannel.name, ComplaintCategory.name)
        .outerjoin(ComplaintChannel, ComplaintChannel.code == Complaint.channel)
        .outerjoin(ComplaintCategory, ComplaintCategory.code == Complaint.category)
        .where(Complaint.member_id == member.id).order_by(Complaint.received_at, Complaint.id)
    ).all()
    ids = [c.id for c, _channel, _category in rows]
    events: dict[int, list[ComplaintEvent]] = defaultdict(list)
    resolutions: dict[int, list[tuple[ComplaintResolution, str | None]]] = defaultdict(list)
    follow_ups: dict[int, list[ComplaintFollowUp]] = defaultdict(list)
    files: dict[int, list[tuple[int, str, str, int, datetime, int | None]]] = defaultdict(list)
    if ids:
        for event in session.scalars(sa.select(ComplaintEvent).where(ComplaintEvent.complaint_id.in_(ids))
                                     .order_by(ComplaintEvent.at, ComplaintEvent.id)):
            events[event.complaint_id].append(event)
        for resolution, code in session.execute(
            sa.select(ComplaintResolution, Coupon.code).outerjoin(Coupon, Coupon.id == ComplaintResolution.coupon_id)
            .where(ComplaintResolution.complaint_id.in_(ids)).order_by(ComplaintResolution.id)
        ).all():
            resolutions[resolution.complaint_id].append((resolution, code))
        for follow_up in session.scalars(sa.select(ComplaintFollowUp).where(ComplaintFollowUp.complaint_id.in_(ids))
                                         .order_by(ComplaintFollowUp.id)):
            follow_ups[follow_up.complaint_id].append(follow_up)
        # Names and sizes only: the bytes are never loaded.
        for row in session.execute(
            sa.select(ComplaintAttachment.complaint_id, ComplaintAttachment.file_name, ComplaintAttachment.mime_type,
                      ComplaintAttachment.size_bytes, ComplaintAttachment.added_at, ComplaintAttachment.staff_id)
            .where(ComplaintAttachment.complaint_id.in_(ids)).order_by(ComplaintAttachment.id)
        ):
            files[row[0]].append(row)
    out = []
    for c, channel_name, category_name in rows:
        out.append({
            "id": c.id,
            "received_at": iso_time(c.received_at),
            "channel": c.channel, "channel_name": channel_name or c.channel,
            "category": c.category, "category_name": category_name or c.category,
            "status": c.status.value, "priority": c.priority.value,
            "description": c.description, "customer_request": c.customer_request,
            "walk_in_name": c.walk_in_name, "walk_in_phone": c.walk_in_phone,
            "related_receipt": c.related_receipt,
            "owner": staff.get(c.owner_staff_id, ""), "department": c.department,
            "first_response_due": iso_time(c.first_response_due), "first_response_at": iso_time(c.first_response_at),
            "resolution_due": iso_time(c.resolution_due), "resolved_at": iso_time(c.resolved_at), "closed_at": iso_time(c.closed_at),
            "events": [
                {"at": iso_time(e.at), "kind": e.kind, "from_status": e.from_status.value if e.from_status else None,
                 "to_status": e.to_status.value if e.to_status else None, "note": e.note, "staff": staff.get(e.staff_id, "")}
                for e in events.get(c.id, [])
            ],
            "resolutions": [
                {"at": iso_time(r.at), "remedies": list(r.remedies), "refund": money(r.refund_fen), "goodwill_points": r.goodwill_points,
                 "coupon": code, "customer_told": r.customer_told, "note": r.note, "staff": staff.get(r.staff_id, "")}
                for r, code in resolutions.get(c.id, [])
            ],
            "follow_ups": [
                {"done_at": iso_time(f.done_at), "method": f.method.value, "satisfaction": f.satisfaction, "comment": f.comment,
                 "staff": staff.get(f.staff_id, "")}
                for f in follow_ups.get(c.id, [])
            ],
            "attachments": [
                {"file_name": name, "mime_type": mime, "size_bytes": size, "added_at": iso_time(added), "staff": staff.get(staff_id, "")}
                for _cid, name, mime, size, added, staff_id in files.get(c.id, [])
            ],
        })
    return out


def _surveys_section(session: Session, member: Member, staff: dict[int | None, str]) -> list[dict[str, Any]]:
    responses = list(session.scalars(sa.select(SurveyResponse).where(SurveyResponse.member_id == member.id)
                                     .order_by(SurveyResponse.taken_at, SurveyResponse.id)))
    channels = dict(session.execute(sa.select(ComplaintChannel.code, ComplaintChannel.name)).all())
    scores: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    if responses:
        for response_id, code, name, score in session.execute(
            sa.select(SurveyScore.response_id, SurveyScore.dimension, SurveyDimension.name, SurveyScore.score)
            .join(SurveyDimension, SurveyDimension.code == SurveyScore.dimension)
            .where(SurveyScore.response_id.in_([r.id for r in responses])).order_by(SurveyDimension.position, SurveyDimension.code)
        ):
            scores[response_id].append((code, name, score))
    return [
        {"taken_at": iso_time(r.taken_at), "channel": r.channel, "channel_name": channels.get(r.channel, r.channel),
         "comment": r.comment, "staff": staff.get(r.staff_id, ""),
         "scores": [{"dimension": code, "name": name, "score": score} for code, name, score in scores.get(r.id, [])]}
        for r in responses
    ]


# --------------------------------------------------------------------------- writing the copy

_UNSAFE_IN_NAMES = re.compile(r"[^0-9A-Za-z._-]+")


def file_stem(member_no: str, day: date) -> str:
    """member-data-M00000012-2026-12-05: what and whose, and when (characters a file system refuses made safe)."""
    number = _UNSAFE_IN_NAMES.sub("_", member_no).strip("._") or "member"
    return f"member-data-{number}-{day.isoformat()}"


def _check_folder(out_dir: str | os.PathLike[str]) -> Path:
    folder = Path(out_dir)
    if not folder.is_dir():
        raise InvalidInput(MSG_NO_FOLDER, field="out_dir", folder=str(folder))
    return folder


def _reserve(folder: Path, stem: str, suffixes: tuple[str, ...]) -> list[Path]:
    """New, empty files for each suffix under one free name (stem, stem-2, stem-3 ...), made by us and readable by
    us only: an existing file is never written over, whoever made it meanwhile."""
    for attempt in range(1, 1000):
        name = stem if attempt == 1 else f"{stem}-{attempt}"
        made: list[Path] = []
        try:
            for suffix in suffixes:
                path = folder / f"{name}{suffix}"
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                made.append(path)
        except FileExistsError:
            for path in made:
                path.unlink(missing_ok=True)
            continue
        return made
    raise InvalidInput(MSG_NO_FOLDER, field="out_dir", folder=str(folder))  # a thousand copies of one day: something is wrong


def _write_private(target: Path, data: bytes) -> None:
    """Write beside the target first (a private temporary file), then move it over our empty placeholder in one step."""
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp_name, 0o600)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def export_member_data(
    db: Database,
    actor: Actor,
    member_id: int,
    out_dir: str | os.PathLike[str],
    *,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ExportedFiles:
    """Write the member's copy of their data into ``out_dir``: the JSON file and the PDF, named with the member
    number and today's date, readable by their owner only; an existing file is never replaced (a second copy
    the same day gets "-2"). Supervisor or owner; recorded in the audit log as ``member.export_data``.

    The PDF comes out in the language installed for the application (as every printed document)."""
    import json

    from crmdesk.reports.base import ReportContext
    from crmdesk.reports.member_data import (
        render_member_data,  # reports build on the services, not the other way
    )

    require(actor, Permission.EXPORT_MEMBER_DATA)
    folder = _check_folder(out_dir)
    now = now or shop_time.now()
    with read_session(db) as session:
        document = member_data(session, actor, member_id, now=now)
    ctx = ReportContext(document["store"], actor.name, now)
    pdf = render_member_data(document, ctx, progress=progress, should_cancel=should_cancel)
    text = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    json_path, pdf_path = _reserve(folder, file_stem(document["member"]["member_no"], shop_time.local_day(now)), (".json", ".pdf"))
    try:
        _write_private(json_path, text)
        _write_private(pdf_path, pdf)
        with unit_of_work(db) as session:
            audit.record(session, actor, "member.export_data", "member", member_id,
                         files=[json_path.name, pdf_path.name], sections=document["counts"])
    except BaseException:
        json_path.unlink(missing_ok=True)
        pdf_path.unlink(missing_ok=True)
        raise
    return ExportedFiles(json_path, pdf_path)


# --------------------------------------------------------------------------- erasing


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _refuse_money(member: Member) -> None:
    wallet = member.wallet_principal_fen + member.wallet_bonus_fen
    owed = member.credit_owed_fen
    from crmdesk.services.member_query import money_text

    if wallet > 0 and owed > 0:
        raise MoneyStillHeld(MSG_HAS_WALLET_AND_OWES, member_no=member.member_no, wallet=money_text(wallet), owed=money_text(owed))
    if wallet > 0:
        raise MoneyStillHeld(MSG_HAS_WALLET, member_no=member.member_no, amount=money_text(wallet))
    if owed > 0:
        raise MoneyStillHeld(MSG_OWES, member_no=member.member_no, amount=money_text(owed))


def _identifiers(member: Member) -> list[str]:
    """The member's identifying texts as they may appear inside other text, longest first."""
    found: set[str] = set()
    if member.phone:
        found |= {member.phone, member.phone.lstrip("+"), display_phone(member.phone), display_phone(member.phone).replace(" ", "")}
        if member.phone.startswith("+86"):
            found.add(member.phone[3:])
    for text in (member.name, member.email, member.address, member.company):
        if text and len(text.strip()) >= 2:  # a one-character text would blot out unrelated words
            found.add(text.strip())
    return sorted((t for t in found if len(t) >= 2), key=len, reverse=True)


def _redact(text: str, identifiers: list[str]) -> str:
    for identifier in identifiers:
        if identifier in text:
            text = text.replace(identifier, REDACTED)
    return text


def _redact_json(value: Any, identifiers: list[str], label: str) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "name" and isinstance(item, str):
                out[key] = label
            elif key == "file_name" and isinstance(item, str):
                out[key] = ""
            else:
                out[key] = _redact_json(item, identifiers, label)
        return out
    if isinstance(value, list):
        return [_redact_json(item, identifiers, label) for item in value]
    if isinstance(value, str):
        return _redact(value, identifiers)
    return value


def _secure_delete(session: Session) -> None:
    """On SQLite, overwrite what is deleted or shortened (else old text stays in the file's free space)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA secure_delete = ON")


def _erase(session: Session, actor: Actor | None, member: Member, now: datetime, *, via: str) -> ErasedMember:
    """Remove the member's personal data (module notes); the caller checked permission, confirmation and money."""
    _secure_delete(session)
    label = erased_name(member.member_no)
    identifiers = _identifiers(member)
    counts: dict[str, int] = {}
    member_id = member.id
    complaint_ids = list(session.scalars(sa.select(Complaint.id).where(Complaint.member_id == member_id)))
    survey_ids = list(session.scalars(sa.select(SurveyResponse.id).where(SurveyResponse.member_id == member_id)))

    # The history first: its personal values go; identifiers in other lines (reasons, merges) are blotted out.
    history = list(session.scalars(sa.select(MemberChange).where(MemberChange.member_id == member_id)))
    cleared = 0
    for change in history:
        if change.field in PERSONAL_HISTORY_FIELDS:
            if change.old_value or change.new_value:
                cleared += 1
            change.old_value = change.new_value = ""
        else:
            change.old_value = _redact(change.old_value, identifiers)
            change.new_value = _redact(change.new_value, identifiers)
    counts["history_values"] = cleared
    # Another member's "merged in" line names this one.
    for change in session.scalars(sa.select(MemberChange).where(
            MemberChange.member_id != member_id, MemberChange.field.in_(("merged_from", "merged_into")),
            MemberChange.new_value.startswith(f"{member.member_no} ", autoescape=True))):
        change.new_value = _redact(change.new_value, identifiers)

    # Complaints: the shop keeps what happened (category, dates, status, outcome), not what was said.
    if complaint_ids:
        counts["attachments"] = session.execute(
            sa.delete(ComplaintAttachment).where(ComplaintAttachment.complaint_id.in_(complaint_ids))
            .execution_options(synchronize_session=False)).rowcount or 0
        session.execute(sa.update(Complaint).where(Complaint.id.in_(complaint_ids)).values(
            description=ERASED_TEXT, customer_request="", walk_in_name="", walk_in_phone="").execution_options(synchronize_session=False))
        session.execute(sa.update(ComplaintEvent).where(ComplaintEvent.complaint_id.in_(complaint_ids)).values(note="")
                        .execution_options(synchronize_session=False))
        session.execute(sa.update(ComplaintResolution).where(ComplaintResolution.complaint_id.in_(complaint_ids)).values(note="")
                        .execution_options(synchronize_session=False))
        session.execute(sa.update(ComplaintFollowUp).where(ComplaintFollowUp.complaint_id.in_(complaint_ids)).values(comment="")
                        .execution_options(synchronize_session=False))
    counts["complaints"] = len(complaint_ids)
    counts.setdefault("attachments", 0)
    if survey_ids:
        session.execute(sa.update(SurveyResponse).where(SurveyResponse.id.in_(survey_ids)).values(comment="")
                        .execution_options(synchronize_session=False))
    counts["surveys"] = len(survey_ids)
    counts["collection_notes"] = session.execute(
        sa.update(CollectionNote).where(CollectionNote.member_id == member_id).values(text="")
        .execution_options(synchronize_session=False)).rowcount or 0

    # Ledgers keep every amount; only the identifiers inside a typed reason go.
    for model in (PointsEntry, WalletEntry, CreditEntry):
        for entry in session.scalars(sa.select(model).where(model.member_id == member_id, model.reason != "")):
            redacted = _redact(entry.reason, identifiers)
            if redacted != entry.reason:
                entry.reason = redacted
    account = session.get(CreditAccount, member_id)
    if account is not None and account.frozen_reason:
        account.frozen_reason = _redact(account.frozen_reason, identifiers)

    # The audit log keeps who did what and when; the member's name, phone and file names in it go.
    related = [sa.and_(AuditEvent.entity_type == "member", AuditEvent.entity_id == member_id)]
    if complaint_ids:
        related.append(sa.and_(AuditEvent.entity_type == "complaint", AuditEvent.entity_id.in_(complaint_ids)))
    if survey_ids:
        related.append(sa.and_(AuditEvent.entity_type == "survey_response", AuditEvent.entity_id.in_(survey_ids)))
    related.append(sa.and_(AuditEvent.entity_type == "purchase",
                           AuditEvent.entity_id.in_(sa.select(Purchase.id).where(Purchase.member_id == member_id))))
    for event in session.scalars(sa.select(AuditEvent).where(sa.or_(*related))):
        details = _redact_json(event.details or {}, identifiers, label)
        if details != event.details:
            event.details = details

    # The member row itself.
    session.execute(sa.delete(MemberTag).where(MemberTag.member_id == member_id).execution_options(synchronize_session=False))
    session.expire(member, ["tag_rows"])
    for card in session.scalars(sa.select(Card).where(Card.member_id == member_id, Card.status == CardStatus.ACTIVE)):
        card.status = CardStatus.CLOSED
        card.ended_at = now
    if member.status is not MemberStatus.CLOSED:
        session.add(MemberChange(member_id=member_id, at=now, staff_id=actor.staff_id if actor else None,
                                 staff_name=actor.name if actor else "", field="status", old_value=member.status.value,
                                 new_value=MemberStatus.CLOSED.value))
        member.status = MemberStatus.CLOSED
    member.name = label
    member.name_pinyin = ""
    member.name_initials = ""
    member.phone = None
    member.phone_last4 = None
    member.gender = Gender.UNKNOWN
    member.birthday = None
    member.birth_month = None
    member.address = ""
    member.email = ""
    member.notes = ""
    member.company = ""
    member.marketing_consent = MarketingConsent.NONE
    member.consent_at = None
    member.consent_by = ""
    member.data_consent_at = None
    member.data_consent_by = ""
    member.pay_pin_hash = None
    member.pay_pin_failures = 0
    member.pay_pin_locked_until = None
    member.erased_at = now
    session.add(MemberChange(member_id=member_id, at=now, staff_id=actor.staff_id if actor else None,
                             staff_name=actor.name if actor else "", field="erased", old_value="", new_value=via))
    session.flush()
    return ErasedMember(member_id, member.member_no, label, now, counts)


def erase_member(session: Session, actor: Actor, member_id: int, *, confirm_name: str, now: datetime | None = None) -> ErasedMember:
    """Erase the member's personal data on their request (module notes). The owner only; ``confirm_name`` must be
    the member's current name or member number. Refused, with nothing changed, while the member has stored
    value or owes money, and for a member erased before."""
    require(actor, Permission.ERASE_MEMBERS)
    member = _member_row(session, member_id, for_update=True)
    if member.erased_at is not None:
        raise AlreadyErased(MSG_ALREADY_ERASED, member_no=member.member_no, date=shop_time.format_date(member.erased_at))
    typed = (confirm_name or "").strip()
    if not typed:
        raise InvalidInput(MSG_CONFIRM_EMPTY, field="confirm_name")
    if not (_same_text(typed, member.name) or _same_text(typed, member.member_no)):
        raise InvalidInput(MSG_CONFIRM_WRONG, field="confirm_name", typed=typed)
    _refuse_money(member)
    erased = _erase(session, actor, member, now or shop_time.now(), via="request")
    audit.record(session, actor, "member.erase", "member", member_id, member_no=erased.member_no, via="request",
                 fields=list(ERASED_FIELDS), **erased.counts)
    session.flush()
    return erased


def settle_storage(db: Database) -> None:
    """After an erasure commits: fold SQLite's write-ahead log into the database file and empty it, so no
    earlier copy of the erased pages stays beside the file. Nothing to do on a database server."""
    if not db.is_sqlite:
        return
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


# --------------------------------------------------------------------------- consent


def record_data_consent(session: Session, actor: Actor, member_id: int, given: bool, *, now: datetime | None = None) -> MemberProfile:
    """Record that the member agreed to the shop keeping their data (with the time and the staff member), or clear
    it when they withdraw. Any staff member may record it; kept in the history and the audit log."""
    member = _member_row(session, member_id, for_update=True)
    if member.erased_at is not None:
        raise AlreadyErased(MSG_CONSENT_ERASED, member_no=member.member_no)
    before = "given" if member.data_consent_at is not None else ""
    if given:
        member.data_consent_at = now or shop_time.now()
        member.data_consent_by = actor.name
    else:
        member.data_consent_at = None
        member.data_consent_by = ""
    session.add(MemberChange(member_id=member.id, staff_id=actor.staff_id, staff_name=actor.name, field="data_consent",
                             old_value=before, new_value="given" if given else ""))
    audit.record(session, actor, "member.consent", "member", member.id, kind="data", given=given)
    session.flush()
    return member_profile(session, member.id)


# --------------------------------------------------------------------------- retention


def retention_years(session: Session) -> int:
    """How many years closed members' data is kept (DataSafetySettings); 0: kept until erased by hand."""
    row = session.get(DataSafetySettings, SAFETY_SETTINGS_ROW_ID)
    return max(0, int(row.retention_years)) if row is not None else 0


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _closed_at() -> sa.Subquery:
    """Per member, the latest time the history says they were closed (or merged into another member)."""
    return (
        sa.select(MemberChange.member_id, sa.func.max(MemberChange.at).label("closed_at"))
        .where(sa.or_(sa.and_(MemberChange.field == "status", MemberChange.new_value == MemberStatus.CLOSED.value),
                      MemberChange.field == "merged_into"))
        .group_by(MemberChange.member_id)
        .subquery()
    )


def members_due_for_anonymising(session: Session, today: date) -> list[DueMember]:
    """Members closed for more than the retention period on ``today`` (the shop's day) and not yet erased,
    longest closed first; none when the retention setting is 0. Money still held is shown on each."""
    years = retention_years(session)
    if years <= 0:
        return []
    cutoff = shop_time.day_start(_years_before(today, years))
    closed = _closed_at()
    closed_at = sa.func.coalesce(closed.c.closed_at, Member.updated_at)
    rows = session.execute(
        sa.select(Member.id, Member.member_no, Member.name, closed_at, Member.wallet_principal_fen + Member.wallet_bonus_fen,
                  Member.credit_owed_fen)
        .outerjoin(closed, closed.c.member_id == Member.id)
        .where(Member.status == MemberStatus.CLOSED, Member.erased_at.is_(None), closed_at < cutoff)
        .order_by(closed_at, Member.id)
    ).all()
    return [DueMember(member_id, member_no, name, _aware(at), int(wallet or 0), int(owed or 0))
            for member_id, member_no, name, at, wallet, owed in rows]


def _aware(moment: datetime | str) -> datetime:
    # An aggregate over a UTC column may come back from SQLite as naive or as text; it is UTC.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def run_retention(session: Session, actor: Actor | None, today: date, *, now: datetime | None = None) -> RetentionResult:
    """Erase every member due (``members_due_for_anonymising``) through the erasure's own code; those who still
    have stored value or owe money are skipped and returned. Audited once as ``privacy.retention``.

    ``actor``: the owner running it by hand, or None for the automatic run the owner's setting asks for."""
    if actor is not None:
        require(actor, Permission.ERASE_MEMBERS)
    now = now or shop_time.now()
    due = members_due_for_anonymising(session, today)
    erased: list[str] = []
    skipped: list[DueMember] = []
    for candidate in due:
        member = _member_row(session, candidate.id, for_update=True)
        if member.wallet_principal_fen + member.wallet_bonus_fen > 0 or member.credit_owed_fen > 0:
            skipped.append(candidate)
            continue
        _erase(session, actor, member, now, via="retention")
        audit.record(session, actor, "member.erase", "member", member.id, member_no=member.member_no, via="retention",
                     fields=list(ERASED_FIELDS))
        erased.append(member.member_no)
    years = retention_years(session)
    audit.record(session, actor, "privacy.retention", "member", None, count=len(erased), retention_years=years,
                 today=today.isoformat(), erased=erased, skipped=[m.member_no for m in skipped])
    session.flush()
    return RetentionResult(tuple(erased), tuple(skipped), years)


def anonymise_due(session: Session, actor: Actor | None, today: date) -> int:
    """Erase the members due under the retention rule; how many were erased (see ``run_retention``)."""
    return run_retention(session, actor, today).count
