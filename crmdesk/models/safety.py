"""The owner's data-safety settings: how backups are kept and where, and how long closed members' data is kept."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crmdesk.models.base import Base, UtcDateTime, utcnow

SAFETY_SETTINGS_ROW_ID = 1


class DataSafetySettings(Base):
    __tablename__ = "data_safety_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Rotation: every copy from today and yesterday is kept, then the newest copy of each of the
    # last N days, weeks and months (the scheme trusted desktop programs use).
    keep_daily: Mapped[int] = mapped_column(default=12)
    keep_weekly: Mapped[int] = mapped_column(default=10)
    keep_monthly: Mapped[int] = mapped_column(default=9)
    # A second place (a USB stick, a network drive) each backup is copied to; empty: none.
    second_place: Mapped[str] = mapped_column(sa.String(500), default="")
    # Members closed for more than this many years are anonymised with the backups; 0: never.
    retention_years: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
