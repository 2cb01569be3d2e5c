"""Complaints and the timeline of events that takes each one to closure.

Besides the complaint and its events: the remedies given when it was resolved
(complaint_resolution), the follow-up visits (complaint_follow_up), photos and
scans kept in the database itself so a backup carries them (complaint_attachment),
and the owner's editable lists of channels and categories (with each category's
resolution deadline and default priority). The rules live in
crmdesk/services/complaints.py.

``Complaint.channel`` and ``Complaint.category`` hold the stable codes of those
lists (not foreign keys: a list entry is switched off, never deleted, and codes
outlive renames).
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmdesk.models.base import Base, UtcDateTime, str_enum, utcnow


class ComplaintStatus(enum.Enum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"


class Priority(enum.Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Remedy(enum.Enum):
    """What was done to put things right; several may apply to one resolution."""

    REFUND = "refund"
    EXCHANGE = "exchange"
    APOLOGY = "apology"
    GOODWILL = "goodwill"  # compensation in points, posted to the points ledger
    COUPON = "coupon"  # compensation as a single-use coupon bound to the member
    OTHER = "other"


class FollowUpMethod(enum.Enum):
    """How the follow-up visit (回访) reached the customer."""

    PHONE = "phone"
    VISIT = "visit"  # in person, in the store or at home
    SMS = "sms"
    WECHAT = "wechat"
    OTHER = "other"


class Complaint(Base):
    __tablename__ = "complaint"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A walk-in without a card has no member, optionally a name and phone.
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("member.id"), index=True)
    walk_in_name: Mapped[str] = mapped_column(sa.String(100), default="")
    walk_in_phone: Mapped[str] = mapped_column(sa.String(20), default="")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    channel: Mapped[str] = mapped_column(sa.String(40))
    category: Mapped[str] = mapped_column(sa.String(40), index=True)
    status: Mapped[ComplaintStatus] = mapped_column(
        str_enum(ComplaintStatus), default=ComplaintStatus.NEW, index=True
    )
    priority: Mapped[Priority] = mapped_column(str_enum(Priority), default=Priority.NORMAL)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    customer_request: Mapped[str] = mapped_column(sa.Text, default="")
    # The purchase complained about when it is on record; else the receipt as typed.
    related_purchase_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase.id"))
    related_receipt: Mapped[str] = mapped_column(sa.String(60), default="")
    owner_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    department: Mapped[str] = mapped_column(sa.String(60), default="")
    first_response_due: Mapped[datetime | None] = mapped_column(UtcDateTime())
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolution_due: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.at", cascade="all, delete-orphan"
    )


class ComplaintEvent(Base):
    __tablename__ = "complaint_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    kind: Mapped[str] = mapped_column(sa.String(30))  # logged, assigned, status, note, ...
    from_status: Mapped[ComplaintStatus | None] = mapped_column(str_enum(ComplaintStatus))
    to_status: Mapped[ComplaintStatus | None] = mapped_column(str_enum(ComplaintStatus))
    note: Mapped[str] = mapped_column(sa.Text, default="")

    complaint: Mapped[Complaint] = relationship(back_populates="events")


class ComplaintChannel(Base):
    """How complaints reach the shop (counter, phone, ...): an owner-editable list."""

    __tablename__ = "complaint_channel"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    # Defaults are stored in English and translated by the GUI ("complaints" context).
    name: Mapped[str] = mapped_column(sa.String(60))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class ComplaintCategory(Base):
    """What a complaint is about, with its resolution deadline and default priority."""

    __tablename__ = "complaint_category"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # Resolution is due by the end of the local day this many days after the complaint came in.
    resolution_days: Mapped[int] = mapped_column(default=3)
    default_priority: Mapped[Priority] = mapped_column(str_enum(Priority), default=Priority.NORMAL)


class ComplaintSettings(Base):
    """The owner's complaint settings: one row (defaults apply while there is none)."""

    __tablename__ = "complaint_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_response_hours: Mapped[int] = mapped_column(default=24)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class ComplaintResolution(Base):
    """One resolution of a complaint (a reopened complaint is resolved again). Never updated."""

    __tablename__ = "complaint_resolution"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    remedies: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # Remedy values
    refund_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    goodwill_points: Mapped[int] = mapped_column(default=0)
    # The ledger entry and the coupon the compensation created, in the same transaction.
    points_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("points_entry.id"))
    coupon_id: Mapped[int | None] = mapped_column(sa.ForeignKey("coupon.id"))
    customer_told: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(sa.Text, default="")


class ComplaintFollowUp(Base):
    """The follow-up visit (回访) after a resolution: when, how, and how satisfied the customer is."""

    __tablename__ = "complaint_follow_up"
    __table_args__ = (sa.CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction_1_to_5"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), index=True)
    resolution_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint_resolution.id"))
    done_at: Mapped[datetime] = mapped_column(UtcDateTime())
    method: Mapped[FollowUpMethod] = mapped_column(str_enum(FollowUpMethod))
    satisfaction: Mapped[int] = mapped_column(sa.SmallInteger)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ComplaintAttachment(Base):
    """A photo or scan, stored in the database so that a backup of it carries the file too."""

    __tablename__ = "complaint_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), index=True)
    file_name: Mapped[str] = mapped_column(sa.String(255))
    mime_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    # Deferred: listing attachments never loads their bytes.
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
