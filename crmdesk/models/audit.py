"""The audit log: who did what to which record, and when; and the requests already done (money operations sent
again after a network failure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crmdesk.models.base import Base, UtcDateTime, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    # The name is kept as well as the id: staff can be renamed, the log must not change.
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    staff_name: Mapped[str] = mapped_column(sa.String(60))
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class DoneRequest(Base):
    """A money operation a till asked for, by the id the till gave it: written in the operation's own transaction,
    so asking again -- after the connection broke just as the server committed -- finds it done (services/requests.py)."""

    __tablename__ = "done_request"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    member_id: Mapped[int | None]
    done_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # What the request made, when the till must be told again (the complaint a retried "log complaint" logged).
    made_id: Mapped[int | None]
