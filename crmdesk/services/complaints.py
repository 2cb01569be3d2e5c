"""Complaints from logging to closure: owner, status, deadlines, remedies, follow-up, the board.

Decisions a reader needs (the GUI, the command line and the tests rely on them):

* **Status.** new -> assigned -> in progress -> resolved -> followed up -> closed.
  A complaint may skip ahead (resolved on the spot at the counter, started
  without a formal assignment), and a resolved, followed-up or closed one may be
  reopened (back to in progress, with a reason). Every change is a
  ComplaintEvent (who, when, from -> to, note); anything else is refused with a
  message naming both statuses.
* **Who may do what.** Anyone logs a complaint and adds attachments. Staff work
  the complaints they own, or ones nobody owns yet (acting on one takes it);
  Permission.MANAGE_COMPLAINTS (supervisor, owner) works every complaint and
  assigns to others. Goodwill points and coupons need Permission.COMPENSATE,
  closing without the follow-up needs Permission.SKIP_FOLLOW_UP and a reason.
* **First response** is the first time staff act towards the customer: the
  first contact note, or the first move to in progress or resolved, whichever
  comes first. Assigning is internal routing and does not count. It is set once.
* **Deadlines** are stored as aware UTC instants *from which the complaint is
  late*: it is overdue when ``now >= due``, on time when done ``< due``. The
  first response is due ``first_response_hours`` (default 24) after it came in.
  Resolution is due by the end of the local (SHOP_ZONE) day ``resolution_days``
  of its category after the day it came in, so ``resolution_due`` is the local
  midnight that ends that day (``due_day`` gives the day to show). Both are
  fixed when the complaint is logged; later changes to the settings or a reopen
  do not move them.
* **Overdue** means not yet resolved and past the resolution deadline, or not
  yet answered and past the first-response deadline.
* **Priority** defaults to the category's, one step higher for members of a
  tier ranked VIP_TIER_RANK or above; staff may change it.
* **Compensation posts exactly once.** Goodwill points (PointsKind.GOODWILL,
  with complaint_id) and a coupon bound to the member are created in the same
  transaction as the resolution. A complaint that already gave goodwill (or a
  coupon) refuses more unless the remedy says ``additional_compensation``; a
  second resolve without reopening is an invalid transition anyway.
* **Editable lists** (channels, categories, survey dimensions) have a stable
  code and a display name. The defaults are stored with their English name and
  marked with QT_TRANSLATE_NOOP (context "complaints", "surveys") so the GUI
  shows them translated; a name the owner typed is shown as typed.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import mimetypes
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import PurePath
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from crmdesk.errors import Conflict, InvalidInput, NotFound
from crmdesk.models import (
    Complaint, ComplaintAttachment, ComplaintCategory, ComplaintChannel, ComplaintEvent, ComplaintFollowUp,
    ComplaintResolution, ComplaintSettings, ComplaintStatus, Coupon, FollowUpMethod, Member, MemberStatus, PointsEntry,
    PointsKind, Priority, Purchase, PurchaseKind, Remedy, Staff, Tier,
)
from crmdesk.services import audit, loyalty, offers, requests
from crmdesk.services.auth import Permission, can, require
from crmdesk.services.members import normalize_phone
from crmdesk.services.member_query import member_status_term
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP, Term

SETTINGS_ROW_ID = 1
DEFAULT_FIRST_RESPONSE_HOURS = 24
MAX_FIRST_RESPONSE_HOURS = 7 * 24
MAX_RESOLUTION_DAYS = 90
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = frozenset({
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff", "image/heic", "image/heif",
    "application/pdf",
})
MAX_GOODWILL_POINTS = 100_000
MAX_REFUND_FEN = 10_000_000
FUTURE_TOLERANCE = timedelta(minutes=10)  # tills' clocks drift a little
MAX_TEXT = 4000
MAX_NAME = 60
VIP_TIER_RANK = 2  # 金卡 and above in the default tiers

OPEN_STATUSES = (ComplaintStatus.NEW, ComplaintStatus.ASSIGNED, ComplaintStatus.IN_PROGRESS)
DONE_STATUSES = (ComplaintStatus.RESOLVED, ComplaintStatus.FOLLOWED_UP, ComplaintStatus.CLOSED)
PRIORITIES = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)

# Where each status may go; reopening is the way back to in progress.
TRANSITIONS: dict[ComplaintStatus, frozenset[ComplaintStatus]] = {
    ComplaintStatus.NEW: frozenset({ComplaintStatus.ASSIGNED, ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED}),
    ComplaintStatus.ASSIGNED: frozenset({ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED}),
    ComplaintStatus.IN_PROGRESS: frozenset({ComplaintStatus.RESOLVED}),
    ComplaintStatus.RESOLVED: frozenset({ComplaintStatus.FOLLOWED_UP, ComplaintStatus.CLOSED, ComplaintStatus.IN_PROGRESS}),
    ComplaintStatus.FOLLOWED_UP: frozenset({ComplaintStatus.CLOSED, ComplaintStatus.IN_PROGRESS}),
    ComplaintStatus.CLOSED: frozenset({ComplaintStatus.IN_PROGRESS}),
}

# English labels (translated by the GUI in the "complaints" context); also used in messages.
STATUS_LABELS = {
    ComplaintStatus.NEW: QT_TRANSLATE_NOOP("complaints", "new"),
    ComplaintStatus.ASSIGNED: QT_TRANSLATE_NOOP("complaints", "assigned"),
    ComplaintStatus.IN_PROGRESS: QT_TRANSLATE_NOOP("complaints", "in progress"),
    ComplaintStatus.RESOLVED: QT_TRANSLATE_NOOP("complaints", "resolved"),
    ComplaintStatus.FOLLOWED_UP: QT_TRANSLATE_NOOP("complaints", "followed up"),
    ComplaintStatus.CLOSED: QT_TRANSLATE_NOOP("complaints", "closed"),
}


def _status_term(status: ComplaintStatus) -> Term:
    return Term(STATUS_LABELS[status], "complaints")


PRIORITY_LABELS = {
    Priority.LOW: QT_TRANSLATE_NOOP("complaints", "low"),
    Priority.NORMAL: QT_TRANSLATE_NOOP("complaints", "normal"),
    Priority.HIGH: QT_TRANSLATE_NOOP("complaints", "high"),
    Priority.URGENT: QT_TRANSLATE_NOOP("complaints", "urgent"),
}
REMEDY_LABELS = {
    Remedy.REFUND: QT_TRANSLATE_NOOP("complaints", "refund"),
    Remedy.EXCHANGE: QT_TRANSLATE_NOOP("complaints", "exchange"),
    Remedy.APOLOGY: QT_TRANSLATE_NOOP("complaints", "apology"),
    Remedy.GOODWILL: QT_TRANSLATE_NOOP("complaints", "goodwill points"),
    Remedy.COUPON: QT_TRANSLATE_NOOP("complaints", "coupon"),
    Remedy.OTHER: QT_TRANSLATE_NOOP("complaints", "other"),
}
METHOD_LABELS = {
    FollowUpMethod.PHONE: QT_TRANSLATE_NOOP("complaints", "phone call"),
    FollowUpMethod.VISIT: QT_TRANSLATE_NOOP("complaints", "in person"),
    FollowUpMethod.SMS: QT_TRANSLATE_NOOP("complaints", "text message"),
    FollowUpMethod.WECHAT: QT_TRANSLATE_NOOP("complaints", "WeChat"),
    FollowUpMethod.OTHER: QT_TRANSLATE_NOOP("complaints", "other"),
}


class EventKind(enum.Enum):
    """What a timeline entry records (ComplaintEvent.kind holds the value)."""

    LOGGED = "logged"
    ASSIGNED = "assigned"
    STATUS = "status"
    NOTE = "note"
    CONTACT = "contact"  # staff reached the customer: counts as the first response
    PRIORITY = "priority"
    ATTACHMENT = "attachment"
    RESOLVED = "resolved"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"
    CLOSED_WITHOUT_FOLLOW_UP = "closed_without_follow_up"
    REOPENED = "reopened"


# What each kind of timeline entry is called (the complaint's timeline and the member's copy of their data).
EVENT_LABELS = {
    EventKind.LOGGED.value: QT_TRANSLATE_NOOP("complaints", "Logged"),
    EventKind.ASSIGNED.value: QT_TRANSLATE_NOOP("complaints", "Assigned"),
    EventKind.STATUS.value: QT_TRANSLATE_NOOP("complaints", "Status changed"),
    EventKind.NOTE.value: QT_TRANSLATE_NOOP("complaints", "Note"),
    EventKind.CONTACT.value: QT_TRANSLATE_NOOP("complaints", "Customer contacted"),
    EventKind.PRIORITY.value: QT_TRANSLATE_NOOP("complaints", "Priority changed"),
    EventKind.ATTACHMENT.value: QT_TRANSLATE_NOOP("complaints", "Attachment added"),
    EventKind.RESOLVED.value: QT_TRANSLATE_NOOP("complaints", "Resolved"),
    EventKind.FOLLOWED_UP.value: QT_TRANSLATE_NOOP("complaints", "Followed up"),
    EventKind.CLOSED.value: QT_TRANSLATE_NOOP("complaints", "Closed"),
    EventKind.CLOSED_WITHOUT_FOLLOW_UP.value: QT_TRANSLATE_NOOP("complaints", "Closed without follow-up"),
    EventKind.REOPENED.value: QT_TRANSLATE_NOOP("complaints", "Reopened"),
}


# Default lists: the migration (0006) inserts the same rows; a test keeps the two in step.
DEFAULT_CHANNELS = (
    ("counter", QT_TRANSLATE_NOOP("complaints", "Counter")),
    ("phone", QT_TRANSLATE_NOOP("complaints", "Phone")),
    ("box", QT_TRANSLATE_NOOP("complaints", "Suggestion box")),
    ("online", QT_TRANSLATE_NOOP("complaints", "Online message")),
    ("letter", QT_TRANSLATE_NOOP("complaints", "Letter")),
)
# (code, name, resolution days, default priority)
DEFAULT_CATEGORIES = (
    ("quality", QT_TRANSLATE_NOOP("complaints", "Product quality"), 3, Priority.NORMAL),
    ("expired", QT_TRANSLATE_NOOP("complaints", "Expired or spoiled goods"), 1, Priority.HIGH),
    ("price", QT_TRANSLATE_NOOP("complaints", "Price or checkout error"), 1, Priority.NORMAL),
    ("attitude", QT_TRANSLATE_NOOP("complaints", "Staff attitude"), 3, Priority.NORMAL),
    ("waiting", QT_TRANSLATE_NOOP("complaints", "Waiting time"), 3, Priority.NORMAL),
    ("environment", QT_TRANSLATE_NOOP("complaints", "Store environment"), 3, Priority.NORMAL),
    ("returns", QT_TRANSLATE_NOOP("complaints", "Returns and exchanges"), 2, Priority.NORMAL),
    ("other", QT_TRANSLATE_NOOP("complaints", "Other"), 7, Priority.LOW),
)

MSG_NO_COMPLAINT = QT_TRANSLATE_NOOP("errors", "No complaint with id {id}.")
MSG_TRANSITION = QT_TRANSLATE_NOOP("errors", "Complaint {id} is {from_status}; it cannot be moved to {to_status}.")
MSG_TOO_LONG = QT_TRANSLATE_NOOP("errors", "The text is too long: at most {count} characters.")


# --------------------------------------------------------------------------- plain results


def jsonable(value: Any) -> Any:
    """A result as plain JSON values: dataclasses become dicts, enums their values, times ISO text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Fields, plus the computed properties a class lists in JSON_PROPERTIES.
        names = [f.name for f in dataclasses.fields(value)] + list(getattr(value, "JSON_PROPERTIES", ()))
        return {name: jsonable(getattr(value, name)) for name in names}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {(k.value if isinstance(k, enum.Enum) else k): jsonable(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class ChoiceInfo:
    """An entry of an editable list (a channel or a survey dimension)."""

    code: str
    name: str
    active: bool
    position: int


@dataclass(frozen=True)
class CategoryInfo:
    code: str
    name: str
    active: bool
    position: int
    resolution_days: int
    default_priority: Priority


@dataclass(frozen=True)
class ComplaintInfo:
    """One complaint as the board, the counter and the command line show it, as of ``as_of``."""

    id: int
    member_id: int | None
    member_name: str
    member_no: str
    walk_in_name: str
    walk_in_phone: str
    received_at: datetime
    channel: str
    channel_name: str
    category: str
    category_name: str
    status: ComplaintStatus
    priority: Priority
    description: str
    customer_request: str
    related_purchase_id: int | None
    related_receipt: str
    owner_staff_id: int | None
    owner_name: str
    department: str
    first_response_due: datetime | None
    first_response_at: datetime | None
    resolution_due: datetime | None
    resolution_due_day: date | None  # the local day it must be resolved by (resolution_due is that day's end)
    resolved_at: datetime | None
    closed_at: datetime | None
    as_of: datetime
    overdue: bool  # not resolved and past a deadline (see the module notes)
    response_overdue: bool  # no first response and past its deadline

    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("customer",)

    @property
    def customer(self) -> str:
        return self.member_name or self.walk_in_name

    def to_json(self) -> dict[str, Any]:
        return jsonable(self)


@dataclass(frozen=True)
class EventInfo:
    at: datetime
    staff_name: str
    kind: str  # an EventKind value (older data may hold others)
    from_status: ComplaintStatus | None
    to_status: ComplaintStatus | None
    note: str


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    file_name: str
    mime_type: str
    size_bytes: int
    added_at: datetime
    staff_name: str


@dataclass(frozen=True)
class ResolutionInfo:
    id: int
    at: datetime
    staff_name: str
    remedies: tuple[Remedy, ...]
    refund_fen: int
    goodwill_points: int
    coupon_code: str | None
    customer_told: bool
    note: str


@dataclass(frozen=True)
class FollowUpInfo:
    id: int
    done_at: datetime
    method: FollowUpMethod
    satisfaction: int
    comment: str
    staff_name: str


@dataclass(frozen=True)
class ComplaintDetail:
    """A complaint with its timeline (oldest first), attachments, resolutions and follow-ups."""

    complaint: ComplaintInfo
    timeline: tuple[EventInfo, ...]
    attachments: tuple[AttachmentInfo, ...]
    resolutions: tuple[ResolutionInfo, ...]
    follow_ups: tuple[FollowUpInfo, ...]

    def to_json(self) -> dict[str, Any]:
        return jsonable(self)


@dataclass(frozen=True)
class AttachmentInput:
    file_name: str
    data: bytes
    mime_type: str = ""  # guessed from the file name when empty


@dataclass(frozen=True)
class ComplaintInput:
    channel: str  # a channel code
    category: str  # a category code
    description: str
    member_id: int | None = None  # None: a walk-in, optionally with a name and phone
    walk_in_name: str = ""
    walk_in_phone: str = ""
    received_at: datetime | None = None  # default: now
    customer_request: str = ""
    related_purchase_id: int | None = None  # picked from the member's purchases
    related_receipt: str = ""  # or typed
    priority: Priority | None = None  # None: from the category and the member's tier
    attachments: tuple[AttachmentInput, ...] = ()


@dataclass(frozen=True)
class RemedyInput:
    """What resolved the complaint. Goodwill points, a coupon and a refund amount imply their remedy."""

    remedies: tuple[Remedy, ...] = ()
    note: str = ""
    customer_told: bool = False
    refund_fen: int = 0  # the money given back, for the record (the till's refund is a purchase refund)
    goodwill_points: int = 0
    coupon_offer_id: int | None = None  # a coupon offer: one coupon is made, bound to the member
    additional_compensation: bool = False  # explicitly give compensation again after an earlier one

    def kinds(self) -> tuple[Remedy, ...]:
        implied = {Remedy.REFUND: self.refund_fen != 0, Remedy.GOODWILL: self.goodwill_points != 0,
                   Remedy.COUPON: self.coupon_offer_id is not None}
        chosen = set(self.remedies) | {kind for kind, given in implied.items() if given}
        return tuple(kind for kind in Remedy if kind in chosen)


@dataclass(frozen=True)
class FollowUpInput:
    satisfaction: int  # 1 (very dissatisfied) .. 5 (very satisfied)
    method: FollowUpMethod = FollowUpMethod.PHONE
    comment: str = ""
    done_at: datetime | None = None  # default: now


class ComplaintOrder(enum.Enum):
    DUE = "due"  # open complaints first, the next deadline first
    RECEIVED = "received"  # newest first


@dataclass(frozen=True)
class ComplaintFilter:
    """The complaints board's filters; empty means everything. Dates are local days, both included."""

    statuses: tuple[ComplaintStatus, ...] = ()
    open_only: bool = False
    overdue: bool = False
    category: str | None = None
    channel: str | None = None
    owner_staff_id: int | None = None
    department: str | None = None
    member_id: int | None = None
    received_from: date | None = None
    received_to: date | None = None
    order: ComplaintOrder = ComplaintOrder.DUE


@dataclass(frozen=True)
class BoardCounts:
    """The figures at the top of the complaints board."""

    by_status: tuple[tuple[ComplaintStatus, int], ...]  # every status, in workflow order
    overdue: int

    def count(self, status: ComplaintStatus) -> int:
        return dict(self.by_status)[status]

    @property
    def open(self) -> int:
        return sum(n for status, n in self.by_status if status in OPEN_STATUSES)

    def to_json(self) -> dict[str, Any]:
        return {"by_status": {s.value: n for s, n in self.by_status}, "open": self.open, "overdue": self.overdue}


@dataclass(frozen=True)
class ComplaintSettingsInfo:
    first_response_hours: int


# --------------------------------------------------------------------------- deadlines


def resolution_due_for(received_at: datetime, days: int) -> datetime:
    """The end of the local day ``days`` after the day it came in: the instant it becomes late."""
    last_day = loyalty.local_day(received_at) + timedelta(days=days)
    return datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=loyalty.SHOP_ZONE).astimezone(UTC)


def due_day(due: datetime) -> date:
    """The local day to show for a resolution deadline (the day whose end it is)."""
    return loyalty.local_day(due - timedelta(microseconds=1))


def _overdue_clause(now: datetime) -> sa.ColumnElement[bool]:
    unanswered = sa.and_(Complaint.first_response_at.is_(None), Complaint.first_response_due <= now)
    return sa.and_(Complaint.status.in_(OPEN_STATUSES), sa.or_(Complaint.resolution_due <= now, unanswered))


def _is_overdue(c: Complaint, now: datetime) -> tuple[bool, bool]:
    if c.status not in OPEN_STATUSES:
        return False, False
    response_late = c.first_response_at is None and c.first_response_due is not None and now >= c.first_response_due
    return response_late or (c.resolution_due is not None and now >= c.resolution_due), response_late


# --------------------------------------------------------------------------- editable lists


def list_entries(session: Session, model: type, *, include_inactive: bool = False) -> list[Any]:
    """The rows of an editable list (channels, categories, survey dimensions) in their order."""
    statement = sa.select(model).order_by(model.position, model.code)
    if not include_inactive:
        statement = statement.where(model.active.is_(True))
    return list(session.scalars(statement))


def get_entry(session: Session, model: type, code: str) -> Any:
    row = session.get(model, (code or "").strip())
    if row is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "Nothing in the list has the code '{code}'."), code=code)
    return row


def find_entry(session: Session, model: type, key: str) -> Any:
    """An entry by its code or its name (any case), active or not."""
    key = " ".join((key or "").split())
    row = session.get(model, key)
    if row is None:
        row = next((r for r in list_entries(session, model, include_inactive=True) if r.name.casefold() == key.casefold()), None)
    if row is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "Nothing in the list is called '{key}'."), key=key)
    return row


def _clean_entry_name(session: Session, model: type, name: str, *, exclude: str | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Enter a name."), field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A name may have at most {count} characters."), field="name", count=MAX_NAME)
    clash = [r for r in list_entries(session, model, include_inactive=True) if r.name.casefold() == name.casefold() and r.code != exclude]
    if clash:
        raise Conflict(QT_TRANSLATE_NOOP("errors", "'{name}' is already in the list."), name=name)
    return name


def _new_code(session: Session, model: type, name: str, code: str | None) -> str:
    if code:
        code = code.strip()
        if not re.fullmatch(r"[a-z0-9_]{1,40}", code):
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A code is 1 to 40 lower-case letters, digits or underscores."), field="code")
        if session.get(model, code) is not None:
            raise Conflict(QT_TRANSLATE_NOOP("errors", "The code '{code}' is already taken."), code=code)
        return code
    # From an English name when there is one ("Parking" -> "parking"), else numbered.
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:32] or "custom"
    candidate, n = base, 1
    while session.get(model, candidate) is not None:
        n += 1
        candidate = f"{base}_{n}"
    return candidate


def add_entry(session: Session, actor: Actor, model: type, name: str, *, code: str | None = None, **values: Any) -> Any:
    """Add an entry at the end of an editable list (owner's settings)."""
    require(actor, Permission.MANAGE_COMPLAINT_SETTINGS)
    name = _clean_entry_name(session, model, name)
    row = model(code=_new_code(session, model, name, code), name=name, active=True,
                position=(session.scalar(sa.select(sa.func.max(model.position))) or 0) + 1, **values)
    session.add(row)
    session.flush()
    audit.record(session, actor, f"{model.__tablename__}.add", model.__tablename__, None, code=row.code, name=name, **jsonable(values))
    return row


def rename_entry(session: Session, actor: Actor, model: type, code: str, name: str) -> Any:
    require(actor, Permission.MANAGE_COMPLAINT_SETTINGS)
    row = get_entry(session, model, code)
    name = _clean_entry_name(session, model, name, exclude=row.code)
    if name != row.name:
        audit.record(session, actor, f"{model.__tablename__}.rename", model.__tablename__, None, code=row.code,
                     changed=[row.name, name])
        row.name = name
    return row


def set_entry_active(session: Session, actor: Actor, model: type, code: str, active: bool) -> Any:
    """Switch an entry off (kept for the records that use it) or on again; the list keeps one active entry."""
    require(actor, Permission.MANAGE_COMPLAINT_SETTINGS)
    row = get_entry(session, model, code)
    if not active and row.active and len(list_entries(session, model)) <= 1:
        raise Conflict(QT_TRANSLATE_NOOP("errors", "The list needs at least one entry that is switched on."))
    if row.active != active:
        row.active = active
        audit.record(session, actor, f"{model.__tablename__}.{'on' if active else 'off'}", model.__tablename__, None, code=row.code)
    return row


def choice_info(row: Any) -> ChoiceInfo:
    return ChoiceInfo(row.code, row.name, row.active, row.position)


def _category(row: ComplaintCategory) -> CategoryInfo:
    return CategoryInfo(row.code, row.name, row.active, row.position, row.resolution_days, row.default_priority)


def list_channels(session: Session, *, include_inactive: bool = False) -> list[ChoiceInfo]:
    return [choice_info(r) for r in list_entries(session, ComplaintChannel, include_inactive=include_inactive)]


def find_channel(session: Session, key: str) -> ChoiceInfo:
    return choice_info(find_entry(session, ComplaintChannel, key))


def add_channel(session: Session, actor: Actor, name: str, *, code: str | None = None) -> ChoiceInfo:
    return choice_info(add_entry(session, actor, ComplaintChannel, name, code=code))


def rename_channel(session: Session, actor: Actor, code: str, name: str) -> ChoiceInfo:
    return choice_info(rename_entry(session, actor, ComplaintChannel, code, name))


def set_channel_active(session: Session, actor: Actor, code: str, active: bool) -> ChoiceInfo:
    return choice_info(set_entry_active(session, actor, ComplaintChannel, code, active))


def list_categories(session: Session, *, include_inactive: bool = False) -> list[CategoryInfo]:
    return [_category(r) for r in list_entries(session, ComplaintCategory, include_inactive=include_inactive)]


def find_category(session: Session, key: str) -> CategoryInfo:
    return _category(find_entry(session, ComplaintCategory, key))


def _check_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_RESOLUTION_DAYS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Resolution days must be from 0 (the same day) to {max}."),
                           field="resolution_days", max=MAX_RESOLUTION_DAYS)
    return days


def add_category(session: Session, actor: Actor, name: str, *, resolution_days: int = 3,
                 default_priority: Priority = Priority.NORMAL, code: str | None = None) -> CategoryInfo:
    _check_days(resolution_days)
    return _category(add_entry(session, actor, ComplaintCategory, name, code=code, resolution_days=resolution_days,
                               default_priority=default_priority))


def update_category(session: Session, actor: Actor, code: str, *, name: str | None = None, resolution_days: int | None = None,
                    default_priority: Priority | None = None) -> CategoryInfo:
    """Rename a category or change its deadline or default priority (for complaints logged from now on)."""
    require(actor, Permission.MANAGE_COMPLAINT_SETTINGS)
    row = rename_entry(session, actor, ComplaintCategory, code, name) if name is not None else get_entry(session, ComplaintCategory, code)
    changed: dict[str, list[Any]] = {}
    if resolution_days is not None and _check_days(resolution_days) != row.resolution_days:
        changed["resolution_days"] = [row.resolution_days, resolution_days]
        row.resolution_days = resolution_days
    if default_priority is not None and default_priority is not row.default_priority:
        changed["default_priority"] = [row.default_priority.value, default_priority.value]
        row.default_priority = default_priority
    if changed:
        audit.record(session, actor, "complaint_category.update", "complaint_category", None, code=row.code, changed=changed)
    return _category(row)


def set_category_active(session: Session, actor: Actor, code: str, active: bool) -> CategoryInfo:
    return _category(set_entry_active(session, actor, ComplaintCategory, code, active))


def get_settings(session: Session) -> ComplaintSettingsInfo:
    row = session.get(ComplaintSettings, SETTINGS_ROW_ID)
    return ComplaintSettingsInfo(row.first_response_hours if row else DEFAULT_FIRST_RESPONSE_HOURS)


def set_first_response_hours(session: Session, actor: Actor, hours: int) -> ComplaintSettingsInfo:
    require(actor, Permission.MANAGE_COMPLAINT_SETTINGS)
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_FIRST_RESPONSE_HOURS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The first response must be due within 1 to {max} hours."),
                           field="first_response_hours", max=MAX_FIRST_RESPONSE_HOURS)
    row = session.get(ComplaintSettings, SETTINGS_ROW_ID)
    if row is None:
        row = ComplaintSettings(id=SETTINGS_ROW_ID)
        session.add(row)
    row.first_response_hours = hours
    audit.record(session, actor, "complaint.settings", "complaint_settings", SETTINGS_ROW_ID, first_response_hours=hours)
    session.flush()
    return get_settings(session)


# --------------------------------------------------------------------------- reading


def _info_statement() -> sa.Select[Any]:
    owner = aliased(Staff)
    return (
        sa.select(Complaint, Member.name, Member.member_no, owner.name, ComplaintChannel.name, ComplaintCategory.name)
        .outerjoin(Member, Member.id == Complaint.member_id)
        .outerjoin(owner, owner.id == Complaint.owner_staff_id)
        .outerjoin(ComplaintChannel, ComplaintChannel.code == Complaint.channel)
        .outerjoin(ComplaintCategory, ComplaintCategory.code == Complaint.category)
    )


def _info(row: Any, now: datetime) -> ComplaintInfo:
    c, member_name, member_no, owner_name, channel_name, category_name = row
    overdue, response_overdue = _is_overdue(c, now)
    return ComplaintInfo(
        id=c.id, member_id=c.member_id, member_name=member_name or "", member_no=member_no or "", walk_in_name=c.walk_in_name,
        walk_in_phone=c.walk_in_phone, received_at=c.received_at, channel=c.channel, channel_name=channel_name or c.channel,
        category=c.category, category_name=category_name or c.category, status=c.status, priority=c.priority,
        description=c.description, customer_request=c.customer_request, related_purchase_id=c.related_purchase_id,
        related_receipt=c.related_receipt, owner_staff_id=c.owner_staff_id, owner_name=owner_name or "", department=c.department,
        first_response_due=c.first_response_due, first_response_at=c.first_response_at, resolution_due=c.resolution_due,
        resolution_due_day=due_day(c.resolution_due) if c.resolution_due else None, resolved_at=c.resolved_at,
        closed_at=c.closed_at, as_of=now, overdue=overdue, response_overdue=response_overdue,
    )


def get_info(session: Session, complaint_id: int, *, now: datetime | None = None) -> ComplaintInfo:
    row = session.execute(_info_statement().where(Complaint.id == complaint_id)).first()
    if row is None:
        raise NotFound(MSG_NO_COMPLAINT, id=complaint_id)
    return _info(row, now or datetime.now(UTC))


def _staff_names(session: Session) -> dict[int, str]:
    return dict(session.execute(sa.select(Staff.id, Staff.name)).all())


def get_complaint(session: Session, complaint_id: int, *, now: datetime | None = None) -> ComplaintDetail:
    """Everything about one complaint: the details screen and `crmdesk complaint show`."""
    info = get_info(session, complaint_id, now=now)
    names = _staff_names(session)
    events = session.scalars(sa.select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id)
                             .order_by(ComplaintEvent.at, ComplaintEvent.id))
    files = session.scalars(sa.select(ComplaintAttachment).where(ComplaintAttachment.complaint_id == complaint_id)
                            .order_by(ComplaintAttachment.id))
    resolutions = session.execute(sa.select(ComplaintResolution, Coupon.code).outerjoin(Coupon, Coupon.id == ComplaintResolution.coupon_id)
                                  .where(ComplaintResolution.complaint_id == complaint_id).order_by(ComplaintResolution.id))
    follow_ups = session.scalars(sa.select(ComplaintFollowUp).where(ComplaintFollowUp.complaint_id == complaint_id)
                                 .order_by(ComplaintFollowUp.id))
    return ComplaintDetail(
        info,
        tuple(EventInfo(e.at, names.get(e.staff_id, ""), e.kind, e.from_status, e.to_status, e.note) for e in events),
        tuple(AttachmentInfo(f.id, f.file_name, f.mime_type, f.size_bytes, f.added_at, names.get(f.staff_id, "")) for f in files),
        tuple(ResolutionInfo(r.id, r.at, names.get(r.staff_id, ""), tuple(Remedy(k) for k in r.remedies), r.refund_fen,
                             r.goodwill_points, code, r.customer_told, r.note) for r, code in resolutions),
        tuple(FollowUpInfo(f.id, f.done_at, f.method, f.satisfaction, f.comment, names.get(f.staff_id, "")) for f in follow_ups),
    )


def attachment_data(session: Session, attachment_id: int) -> tuple[AttachmentInfo, bytes]:
    """One attachment with its bytes (to show or save it)."""
    row = session.get(ComplaintAttachment, attachment_id)
    if row is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No attachment with id {id}."), id=attachment_id)
    staff = session.get(Staff, row.staff_id) if row.staff_id else None
    return AttachmentInfo(row.id, row.file_name, row.mime_type, row.size_bytes, row.added_at, staff.name if staff else ""), row.data


def _local_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    def start(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=loyalty.SHOP_ZONE).astimezone(UTC)
    return (start(first) if first else None, start(last + timedelta(days=1)) if last else None)


def _conditions(filters: ComplaintFilter, now: datetime) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.statuses:
        conditions.append(Complaint.status.in_(filters.statuses))
    if filters.open_only:
        conditions.append(Complaint.status.in_(OPEN_STATUSES))
    if filters.overdue:
        conditions.append(_overdue_clause(now))
    simple = ((Complaint.category, filters.category), (Complaint.channel, filters.channel),
              (Complaint.owner_staff_id, filters.owner_staff_id), (Complaint.department, filters.department),
              (Complaint.member_id, filters.member_id))
    conditions += [column == value for column, value in simple if value is not None]
    since, until = _local_bounds(filters.received_from, filters.received_to)
    if since is not None:
        conditions.append(Complaint.received_at >= since)
    if until is not None:
        conditions.append(Complaint.received_at < until)
    return conditions


def next_due_column() -> sa.ColumnElement[Any]:
    """The next deadline: the first response while it is pending and earlier, else the resolution."""
    return sa.case(
        (sa.and_(Complaint.first_response_at.is_(None), Complaint.first_response_due < Complaint.resolution_due),
         Complaint.first_response_due),
        else_=Complaint.resolution_due,
    )


def list_complaints(session: Session, filters: ComplaintFilter = ComplaintFilter(), *, now: datetime | None = None,
                    offset: int = 0, limit: int = 200) -> list[ComplaintInfo]:
    """One page of the complaints board, by default open ones first with the next deadline first."""
    now = now or datetime.now(UTC)
    statement = _info_statement().where(*_conditions(filters, now))
    if filters.order is ComplaintOrder.RECEIVED:
        statement = statement.order_by(Complaint.received_at.desc(), Complaint.id.desc())
    else:
        is_done = sa.case((Complaint.status.in_(OPEN_STATUSES), 0), else_=1)
        statement = statement.order_by(is_done, next_due_column().is_(None), next_due_column(), Complaint.id)
    return [_info(row, now) for row in session.execute(statement.offset(offset).limit(limit))]


def count_complaints(session: Session, filters: ComplaintFilter = ComplaintFilter(), *, now: datetime | None = None) -> int:
    """How many complaints match the filters (for a paged list)."""
    now = now or datetime.now(UTC)
    return session.scalar(sa.select(sa.func.count()).select_from(Complaint).where(*_conditions(filters, now))) or 0


def overdue_count(session: Session, now: datetime) -> int:
    """Overdue complaints, for the navigation badge: one indexed count over the open ones."""
    return session.scalar(sa.select(sa.func.count()).select_from(Complaint).where(_overdue_clause(now))) or 0


def board_counts(session: Session, now: datetime) -> BoardCounts:
    found = dict(session.execute(sa.select(Complaint.status, sa.func.count()).group_by(Complaint.status)).all())
    return BoardCounts(tuple((status, found.get(status, 0)) for status in ComplaintStatus), overdue_count(session, now))


# --------------------------------------------------------------------------- logging


def clean_text(value: str, field: str, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise InvalidInput(MSG_TOO_LONG, field=field, count=limit)
    return value


def check_time(moment: datetime, now: datetime, field: str) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The time needs a time zone."), field=field)
    if moment > now + FUTURE_TOLERANCE:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The time {time} lies in the future."), field=field,
                           time=moment.astimezone(loyalty.SHOP_ZONE).strftime("%Y-%m-%d %H:%M"))
    return moment.astimezone(UTC)


def active_entry(session: Session, model: type, code: str, field: str) -> Any:
    row = session.get(model, (code or "").strip())
    if row is None or not row.active:
        template = (QT_TRANSLATE_NOOP("errors", "'{code}' is not a channel in use.") if model is ComplaintChannel
                    else QT_TRANSLATE_NOOP("errors", "'{code}' is not a complaint category in use."))
        raise InvalidInput(template, field=field, code=code)
    return row


def _walk_in_phone(text: str) -> str:
    """A mobile in E.164; a landline (or a foreign number) as typed, as long as it looks like a phone number."""
    text = (text or "").strip()
    if not text:
        return ""
    if not re.fullmatch(r"\+?[\d\s\-()]{5,20}", text):
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{phone}' is not a phone number."), field="walk_in_phone", phone=text)
    digits = re.sub(r"\D", "", text)
    if digits.startswith("1") and not text.startswith("+"):
        # A mainland mobile (landlines start with 0): checked, so a digit too many or too few is caught.
        return normalize_phone(digits) or ""
    return text


def default_priority(session: Session, category: str, member_id: int | None) -> Priority:
    """The category's default priority, one step up for members of a tier ranked VIP_TIER_RANK or above."""
    row = session.get(ComplaintCategory, category)
    return _for_member(row.default_priority if row else Priority.NORMAL, _tier_rank(session, member_id))


def default_priorities(session: Session, member_id: int | None) -> dict[str, Priority]:
    """``default_priority`` of every active category for this member (or a walk-in customer), in one read."""
    rank = _tier_rank(session, member_id)
    return {row.code: _for_member(row.default_priority, rank) for row in list_entries(session, ComplaintCategory)}


def _tier_rank(session: Session, member_id: int | None) -> int | None:
    if member_id is None:
        return None
    return session.scalar(sa.select(Tier.rank).join(Member, Member.tier_id == Tier.id).where(Member.id == member_id))


def _for_member(priority: Priority, rank: int | None) -> Priority:
    if rank is not None and rank >= VIP_TIER_RANK:
        return PRIORITIES[min(PRIORITIES.index(priority) + 1, len(PRIORITIES) - 1)]
    return priority


def _receipt_text(purchase: Purchase) -> str:
    return f"{purchase.till}-{purchase.receipt_no}" if purchase.till else purchase.receipt_no


def _related(session: Session, member_id: int | None, purchase_id: int | None, typed: str) -> tuple[int | None, str]:
    """The purchase complained about: picked by id (it must be the member's), or typed and linked when it matches one."""
    if purchase_id is not None:
        purchase = session.get(Purchase, purchase_id)
        if purchase is None or purchase.member_id != member_id:
            raise NotFound(QT_TRANSLATE_NOOP("errors", "No purchase with id {id} for this customer."), id=purchase_id)
        return purchase.id, _receipt_text(purchase)
    typed = clean_text(typed, "related_receipt", 60)
    if typed and member_id is not None:
        sales = session.scalars(sa.select(Purchase).where(Purchase.member_id == member_id, Purchase.kind == PurchaseKind.SALE,
                                                          Purchase.receipt_no.in_((typed, typed.split("-", 1)[-1])))).all()
        matches = [p for p in sales if typed in (p.receipt_no, _receipt_text(p))]
        if len(matches) == 1:
            return matches[0].id, typed
    return None, typed


def _check_attachment(item: AttachmentInput) -> tuple[str, str, bytes]:
    name = clean_text(PurePath((item.file_name or "").replace("\\", "/")).name, "attachments", 255)
    if not name:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "An attachment needs a file name."), field="attachments")
    mime = (item.mime_type or mimetypes.guess_type(name)[0] or "").lower()
    if mime not in ATTACHMENT_TYPES:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "'{name}' is not a photo or a PDF scan; attach JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC or PDF files."),
            field="attachments", name=name)
    check_attachment_size(name, len(item.data or b""))
    return name, mime, bytes(item.data)


def check_attachment_size(name: str, size: int) -> None:
    """Refuse an empty file or one over MAX_ATTACHMENT_BYTES (callers may check before reading a file)."""
    if size <= 0:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The file '{name}' is empty."), field="attachments", name=name)
    if size > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "The file '{name}' has {size} MB; an attachment may have at most {max} MB."),
            field="attachments", name=name, size=f"{math.ceil(size * 10 / 1024 / 1024) / 10:.1f}", max=MAX_ATTACHMENT_BYTES // 1024 // 1024)


def _attach(session: Session, actor: Actor, complaint_id: int, item: AttachmentInput, now: datetime) -> ComplaintAttachment:
    name, mime, data = _check_attachment(item)
    row = ComplaintAttachment(complaint_id=complaint_id, file_name=name, mime_type=mime, size_bytes=len(data), data=data,
                              added_at=now, staff_id=actor.staff_id)
    session.add(row)
    return row


def _member_of(session: Session, data: ComplaintInput) -> Member | None:
    if data.member_id is None:
        return None
    if data.walk_in_name.strip() or data.walk_in_phone.strip():
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A complaint comes from a member or from a walk-in customer, not both."),
                           field="walk_in_name")
    member = session.get(Member, data.member_id)
    if member is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=data.member_id)
    return member


def log_complaint(session: Session, actor: Actor, data: ComplaintInput, *, now: datetime | None = None,
                  request_id: str | None = None) -> ComplaintInfo:
    """Log a complaint from the counter or the complaints area, with its photos, in one transaction. Any staff may.
    ``request_id`` (the form's id for it): saved again after the connection broke at commit, it is logged once and
    requests.AlreadyDone names the complaint logged the first time."""
    now = now or datetime.now(UTC)
    received_at = check_time(data.received_at or now, now, "received_at")
    channel = active_entry(session, ComplaintChannel, data.channel, "channel")
    category = active_entry(session, ComplaintCategory, data.category, "category")
    description = clean_text(data.description, "description")
    if not description:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Describe the complaint."), field="description")
    member = _member_of(session, data)
    member_id = member.id if member else None
    purchase_id, receipt = _related(session, member_id, data.related_purchase_id, data.related_receipt)
    checked = [_check_attachment(item) for item in data.attachments]  # refuse a bad file before writing anything
    requests.once(session, request_id, "complaint.log", member_id)
    complaint = Complaint(
        member_id=member_id, walk_in_name=clean_text(data.walk_in_name, "walk_in_name", 100), walk_in_phone=_walk_in_phone(data.walk_in_phone),
        received_at=received_at, channel=channel.code, category=category.code, status=ComplaintStatus.NEW,
        priority=data.priority or default_priority(session, category.code, member_id), description=description,
        customer_request=clean_text(data.customer_request, "customer_request"), related_purchase_id=purchase_id, related_receipt=receipt,
        department="", first_response_due=received_at + timedelta(hours=get_settings(session).first_response_hours),
        resolution_due=resolution_due_for(received_at, category.resolution_days), created_by_id=actor.staff_id, created_at=now,
    )
    session.add(complaint)
    session.flush()
    requests.made(session, request_id, complaint.id)
    for name, mime, blob in checked:
        _attach(session, actor, complaint.id, AttachmentInput(name, blob, mime), now)
    _event(session, complaint, actor, EventKind.LOGGED, now, to_status=ComplaintStatus.NEW)
    audit.record(session, actor, "complaint.log", "complaint", complaint.id, member_id=member_id, category=category.code,
                 channel=channel.code, attachments=len(checked))
    session.flush()
    return get_info(session, complaint.id, now=now)


def add_attachment(session: Session, actor: Actor, complaint_id: int, item: AttachmentInput, *,
                   now: datetime | None = None) -> AttachmentInfo:
    """Attach a photo or scan later (the customer sends it in). Any staff may."""
    now = now or datetime.now(UTC)
    complaint = _complaint_for_update(session, complaint_id)
    row = _attach(session, actor, complaint.id, item, now)
    session.flush()
    _event(session, complaint, actor, EventKind.ATTACHMENT, now, note=row.file_name)
    audit.record(session, actor, "complaint.attach", "complaint", complaint.id, file_name=row.file_name, size=row.size_bytes)
    return AttachmentInfo(row.id, row.file_name, row.mime_type, row.size_bytes, row.added_at, actor.name)


# --------------------------------------------------------------------------- working it


def _complaint_for_update(session: Session, complaint_id: int) -> Complaint:
    complaint = session.execute(sa.select(Complaint).where(Complaint.id == complaint_id).with_for_update()).scalar_one_or_none()
    if complaint is None:
        raise NotFound(MSG_NO_COMPLAINT, id=complaint_id)
    return complaint


def _event(session: Session, complaint: Complaint, actor: Actor, kind: EventKind, now: datetime, *, note: str = "",
           from_status: ComplaintStatus | None = None, to_status: ComplaintStatus | None = None) -> None:
    session.add(ComplaintEvent(complaint_id=complaint.id, at=now, staff_id=actor.staff_id, kind=kind.value,
                               from_status=from_status, to_status=to_status, note=note))


def may_work(actor: Actor, owner_staff_id: int | None) -> bool:
    """Staff work their own complaints and unowned ones; MANAGE_COMPLAINTS works every one."""
    return owner_staff_id in (None, actor.staff_id) or can(actor, Permission.MANAGE_COMPLAINTS)


def _may_work(actor: Actor, complaint: Complaint) -> None:
    if not may_work(actor, complaint.owner_staff_id):
        require(actor, Permission.MANAGE_COMPLAINTS)


def _take(actor: Actor, complaint: Complaint) -> None:
    # Whoever acts on an unowned complaint becomes its owner, so it never drifts without one.
    if complaint.owner_staff_id is None:
        complaint.owner_staff_id = actor.staff_id


def _responded(complaint: Complaint, now: datetime) -> None:
    if complaint.first_response_at is None:
        complaint.first_response_at = now


def _move(session: Session, actor: Actor, complaint: Complaint, to: ComplaintStatus, now: datetime, kind: EventKind,
          note: str = "") -> None:
    """Change the status along an allowed transition and record it on the timeline."""
    before = complaint.status
    if to not in TRANSITIONS[before]:
        raise Conflict(MSG_TRANSITION, id=complaint.id, from_status=_status_term(before), to_status=_status_term(to))
    complaint.status = to
    if to in (ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED):
        _responded(complaint, now)
    _event(session, complaint, actor, kind, now, note=note, from_status=before, to_status=to)


def _not_closed(complaint: Complaint) -> None:
    if complaint.status is ComplaintStatus.CLOSED:
        raise Conflict(QT_TRANSLATE_NOOP("errors", "Complaint {id} is closed; reopen it first."), id=complaint.id)


def assign(session: Session, actor: Actor, complaint_id: int, *, staff_id: int | None = None, department: str | None = None,
           note: str = "", now: datetime | None = None) -> ComplaintInfo:
    """Give the complaint an owner (a staff member and/or a department). A new complaint becomes assigned.

    Staff may take a complaint themselves; assigning it to someone else needs MANAGE_COMPLAINTS."""
    now = now or datetime.now(UTC)
    complaint = _complaint_for_update(session, complaint_id)
    _not_closed(complaint)
    _may_work(actor, complaint)
    if staff_id is None and department is None:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Name the staff member or the department to assign the complaint to."),
                           field="owner")
    parts = []
    if staff_id is not None:
        if staff_id != actor.staff_id:
            require(actor, Permission.MANAGE_COMPLAINTS)
        staff = session.get(Staff, staff_id)
        if staff is None or not staff.active:
            raise NotFound(QT_TRANSLATE_NOOP("errors", "No active staff member with id {id}."), id=staff_id)
        complaint.owner_staff_id = staff.id
        parts.append(staff.name)
    if department is not None:
        complaint.department = clean_text(department, "department", 60)
        parts.append(complaint.department)
    note = " / ".join(p for p in parts if p) + (f": {note.strip()}" if note.strip() else "")
    if complaint.status is ComplaintStatus.NEW:
        _move(session, actor, complaint, ComplaintStatus.ASSIGNED, now, EventKind.ASSIGNED, note)
    else:
        _event(session, complaint, actor, EventKind.ASSIGNED, now, note=note)
    audit.record(session, actor, "complaint.assign", "complaint", complaint.id, staff_id=complaint.owner_staff_id,
                 department=complaint.department)
    session.flush()
    return get_info(session, complaint.id, now=now)


def set_priority(session: Session, actor: Actor, complaint_id: int, priority: Priority, *, note: str = "",
                 now: datetime | None = None) -> ComplaintInfo:
    now = now or datetime.now(UTC)
    complaint = _complaint_for_update(session, complaint_id)
    _not_closed(complaint)
    _may_work(actor, complaint)
    if priority is not complaint.priority:
        text = f"{PRIORITY_LABELS[complaint.priority]} → {PRIORITY_LABELS[priority]}" + (f": {note.strip()}" if note.strip() else "")
        _event(session, complaint, actor, EventKind.PRIORITY, now, note=text)
        audit.record(session, actor, "complaint.priority", "complaint", complaint.id, changed=[complaint.priority.value, priority.value])
        complaint.priority = priority
        session.flush()
    return get_info(session, complaint.id, now=now)


def start_work(session: Session, actor: Actor, complaint_id: int, *, note: str = "", now: datetime | None = None) -> ComplaintInfo:
    """New or assigned -> in progress (a first response, if there was none)."""
    now = now or datetime.now(UTC)
    complaint = _complaint_for_update(session, complaint_id)
    _may_work(actor, complaint)
    if complaint.status not in (ComplaintStatus.NEW, ComplaintStatus.ASSIGNED):
        raise Conflict(MSG_TRANSITION, id=complaint.id, from_status=_status_term(complaint.status),
                       to_status=_status_term(ComplaintStatus.IN_PROGRESS))
    _take(actor, complaint)
    _move(session, actor, complaint, ComplaintStatus.IN_PROGRESS, now, EventKind.STATUS, clean_text(note, "note"))
    audit.record(session, actor, "complaint.start", "complaint", complaint.id)
    session.flush()
    return get_info(session, complaint.id, now=now)


def add_note(session: Session, actor: Actor, complaint_id: int, note: str, *, contact: bool = False,
             now: datetime | None = None) -> ComplaintInfo:
    """A note on the timeline; ``contact`` says staff reached the customer (the first response, if none yet)."""
    now = now or datetime.now(UTC)
    complaint = _complaint_for_update(session, complaint_id)
    _may_work(actor, complaint)
    note = clean_text(note, "note")
    if not note:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Write the note."), field="note")
    if contact:
        _take(actor, complaint)
        _responded(complaint, now)
    _event(session, complaint, actor, EventKind.CONTACT if contact else EventKind.NOTE, now, note=note)
    audit.record(session, actor, "complaint.contact" if contact else "complaint.note", "complaint", complaint.id)
    session.flush()
    return get_info(session, complaint.id, now=now)


def _check_remedy(remedy: RemedyInput) -> tuple[Remedy, ...]:
    kinds = remedy.kinds()
    if not kinds:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Say what was done: a refund, exchange, apology, compensation or something else."),
                           field="remedies")
    if Remedy.OTHER in kinds and not remedy.note.strip():
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Describe the other remedy in the note."), field="note")
    if Remedy.GOODWILL in kinds and remedy.goodwill_points <= 0:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Goodwill compensation must be a positive number of points."),
                           field="goodwill_points")
    if remedy.goodwill_points > MAX_GOODWILL_POINTS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{points} goodwill points is not plausible (at most {max}); check the number."),
                           field="goodwill_points", points=remedy.goodwill_points, max=MAX_GOODWILL_POINTS)
    if Remedy.COUPON in kinds and remedy.coupon_offer_id is None:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Choose the coupon offer to give."), field="coupon_offer")
    if not 0 <= remedy.refund_fen <= MAX_REFUND_FEN:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The refund amount is not plausible; check it."), field="refund")
    return kinds


def _compensated_member(session: Session, actor: Actor, complaint: Complaint, remedy: RemedyInput) -> Member:
    """The member who receives compensation, checked: permission, a member, active, not compensated before."""
    require(actor, Permission.COMPENSATE)
    if complaint.member_id is None:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Compensation goes to a member; this complaint is from a walk-in customer."),
                           field="remedies")
    member = loyalty.member_for_update(session, complaint.member_id)
    if member.status is not MemberStatus.ACTIVE:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{name}'s membership is {status}; no compensation can be given."),
                           field="remedies", name=member.name, status=member_status_term(member.status))
    if not remedy.additional_compensation:
        given = session.execute(sa.select(sa.func.coalesce(sa.func.sum(ComplaintResolution.goodwill_points), 0),
                                          sa.func.count(ComplaintResolution.coupon_id))
                                .where(ComplaintResolution.complaint_id == complaint.id)).one()
        if given[0] or given[1]:
            raise Conflict(
                QT_TRANSLATE_NOOP("errors", "Complaint {id} was already compensated (points: {points}, coupons: {coupons}); "
                                            "give more only as additional compensation."),
                id=complaint.id, points=given[0], coupons=given[1])
    return member


def _coupon_for(session: Session, actor: Actor, member: Member, offer_id: int, complaint_id: int, today: date) -> Coupon:
    """One coupon of the offer, bound to the member, made through the offers service."""
    offer = offers.get_offer(session, offer_id)
    if not offer.active or (offer.ends_on is not None and offer.ends_on < today):
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The offer '{name}' is switched off or over; choose another coupon."),
                           field="coupon_offer", name=offer.name)
    code = offers.generate_coupons(session, actor, offer_id, 1, member.id, batch=f"complaint {complaint_id}")[0]
    return session.scalars(sa.select(Coupon).where(Coupon.code == code)).one()


def resolve(session: Session, actor: Actor, complaint_id: int, remedy: RemedyInput, *, now: datetime | None = None) -> ComplaintInfo:
    """Record the remedy and whether the customer was told; goodwill points go to the ledger and a
    coupon to the member in this same transaction. Compensation is given once (see the module notes)."""
    now = now or datetime.now(UTC)
    complaint = _complaint_for_update(session, complaint_id)
    _may_work(actor, complaint)
    if ComplaintStatus.RESOLVED not in TRANSITIONS[complaint.status]:
        raise Conflict(MSG_TRANSITION, id=complaint.id, from_status=_status_term(complaint.status),
                       to_status=_status_term(ComplaintStatus.RESOLVED))
    kinds = _check_remedy(remedy)
    note = clean_text(remedy.note, "note")
    entry, coupon = None, None
    if Remedy.GOODWILL in kinds or Remedy.COUPON in kinds:
        member = _compensated_member(session, actor, complaint, remedy)
        if Remedy.GOODWILL in kinds:
            entry = loyalty.goodwill(session, member, remedy.goodwill_points, at=now, actor=actor, complaint_id=complaint.id)
        if Remedy.COUPON in kinds:
            coupon = _coupon_for(session, actor, member, remedy.coupon_offer_id, complaint.id, loyalty.local_day(now))
        session.flush()
    _take(actor, complaint)
    _move(session, actor, complaint, ComplaintStatus.RESOLVED, now, EventKind.RESOLVED, note)
    complaint.resolved_at = now
    session.add(ComplaintResolution(
        complaint_id=complaint.id, at=now, staff_id=actor.staff_id, remedies=[k.value for k in kinds], refund_fen=remedy.refund_fen,
        goodwill_points=remedy.goodwill_points, points_entry_id=entry.id if entry else None, coupon_id=coupon.id if coupon else None,
        customer_told=remedy.customer_told, note=note,
    ))
    audit.record(session, actor, "complaint.resolve", "complaint", complaint.id, remedies=[k.value for k in kinds],
                 goodwill_points=remedy.goodwill_points, coupon=coupon.code if coupon else None, refund_fen=remedy.refund_fen,
                 customer_told=remedy.customer_told)
    session.flush()
    return get_info(session, complaint.id, now=now)


def record_follow_up(session: Session, actor: Actor, complaint_id: int, follow_up: FollowUpInput, *,
                     now: datetime | None = None) -> ComplaintInfo:
    """The follow-up visit (回访) after the resolution: resolved -> followed up."""
    now = now or datetime.now(UTC)
    complaint = _complaint_for_update(session, complaint_id)
    _may_work(actor, complaint)
    score = follow_up.satisfaction
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Satisfaction runs from 1 (very dissatisfied) to 5 (very satisfied); {score} is not on the scale."),
                           field="satisfaction", score=score)
    done_at = check_time(follow_up.done_at or now, now, "done_at")
    if complaint.resolved_at is not None and done_at < complaint.resolved_at:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The follow-up cannot come before the complaint was resolved."), field="done_at")
    comment = clean_text(follow_up.comment, "comment")
    _move(session, actor, complaint, ComplaintStatus.FOLLOWED_UP, now, EventKind.FOLLOWED_UP, f"{score}/5" + (f": {comment}" if comment else ""))
    resolution_id = session.scalar(sa.select(sa.func.max(ComplaintResolution.id)).where(ComplaintResolution.complaint_id == complaint.id))
    session.add(ComplaintFollowUp(complaint_id=complaint.id, resolution_id=resolution_id, done_at=done_at, method=follow_up.method,
                                  satisfaction=score, comment=comment, staff_id=actor.staff_id, recorded_at=now))
    audit.record(session, actor, "complaint.follow_up", "complaint", complaint.id, satisfaction=score, method=follow_up.method.value)
    session.flush()
    return get_info(session, complaint.id, now=now)


def close(session: Session, actor: Actor, complaint_id: int, *, skip_follow_up_reason: str | None = None, note: str = "",
          now: datetime | None = None) -> ComplaintInfo:
    """Close after the follow-up; or, for SKIP_FOLLOW_UP (supervisor, owner), without it and with the reason."""
    now = now or datetime.now(UTC)
    complaint = _complaint_for_update(session, complaint_id)
    _may_work(actor, complaint)
    note = clean_text(note, "note")
    kind = EventKind.CLOSED
    if complaint.status is ComplaintStatus.RESOLVED:
        if skip_follow_up_reason is None:
            raise Conflict(QT_TRANSLATE_NOOP("errors", "Complaint {id} has had no follow-up yet: record the follow-up first, "
                                                       "or a supervisor closes it with the reason for skipping it."), id=complaint.id)
        require(actor, Permission.SKIP_FOLLOW_UP)
        reason = clean_text(skip_follow_up_reason, "skip_follow_up_reason", 300)
        if not reason:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Give the reason for skipping the follow-up."), field="skip_follow_up_reason")
        kind, note = EventKind.CLOSED_WITHOUT_FOLLOW_UP, reason + (f" — {note}" if note else "")
    elif skip_follow_up_reason is not None and complaint.status is ComplaintStatus.FOLLOWED_UP:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Complaint {id} was followed up already; there is no follow-up to skip."),
                           field="skip_follow_up_reason", id=complaint.id)
    _move(session, actor, complaint, ComplaintStatus.CLOSED, now, kind, note)
    complaint.closed_at = now
    audit.record(session, actor, "complaint.close", "complaint", complaint.id, skipped_follow_up=kind is EventKind.CLOSED_WITHOUT_FOLLOW_UP)
    session.flush()
    return get_info(session, complaint.id, now=now)


def reopen(session: Session, actor: Actor, complaint_id: int, reason: str, *, now: datetime | None = None) -> ComplaintInfo:
    """Back to in progress, with the reason. Its deadlines stay: the customer's wait counts from the start."""
    now = now or datetime.now(UTC)
    complaint = _complaint_for_update(session, complaint_id)
    _may_work(actor, complaint)
    if complaint.status not in DONE_STATUSES:
        raise Conflict(QT_TRANSLATE_NOOP("errors", "Complaint {id} is {status}; only a resolved or closed complaint can be reopened."),
                       id=complaint.id, status=_status_term(complaint.status))
    reason = clean_text(reason, "reason")
    if not reason:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Give the reason for reopening the complaint."), field="reason")
    _move(session, actor, complaint, ComplaintStatus.IN_PROGRESS, now, EventKind.REOPENED, reason)
    complaint.resolved_at = None
    complaint.closed_at = None
    audit.record(session, actor, "complaint.reopen", "complaint", complaint.id, reason=reason)
    session.flush()
    return get_info(session, complaint.id, now=now)


def goodwill_given(session: Session, complaint_id: int) -> int:
    """Goodwill points the ledger holds for a complaint (what the tests and the details screen check)."""
    return session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.points), 0))
                          .where(PointsEntry.complaint_id == complaint_id, PointsEntry.kind == PointsKind.GOODWILL)) or 0


def member_complaints(session: Session, member_id: int, *, now: datetime | None = None, limit: int = 50) -> list[ComplaintInfo]:
    """A member's complaints, newest first (the counter's and the profile's list)."""
    return list_complaints(session, ComplaintFilter(member_id=member_id, order=ComplaintOrder.RECEIVED), now=now, limit=limit)
