"""Complaints and the timeline of events that takes each one to closure."""

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
