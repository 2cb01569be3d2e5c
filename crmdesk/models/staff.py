"""Staff accounts and their roles."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crmdesk.models.base import Base, UtcDateTime, str_enum, utcnow


class Role(enum.Enum):
    """Ordered from least to most trusted."""

    CASHIER = "cashier"
    SUPERVISOR = "supervisor"
    OWNER = "owner"


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    # Slow salted hashes only (argon2); never the secret itself.
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    pin_hash: Mapped[str | None] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
