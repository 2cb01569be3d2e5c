"""Store settings: one row describing the shop this database belongs to."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crmdesk.models.base import Base, UtcDateTime, utcnow

STORE_ROW_ID = 1


class StoreSettings(Base):
    __tablename__ = "store_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_name: Mapped[str] = mapped_column(sa.String(100), default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    # Two-digit GS1 "in-store" prefix (20-29) for card numbers crmdesk issues.
    card_prefix: Mapped[str] = mapped_column(sa.String(4), default="29")
    # Serial of the next card number crmdesk issues (before prefix and check digit).
    next_card_serial: Mapped[int] = mapped_column(sa.BigInteger, default=1)
    # A demo database shows its sign-in hint; a real store never does.
    is_demo: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
