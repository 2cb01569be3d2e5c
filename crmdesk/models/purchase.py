"""Purchases (and refunds) with their optional item lines."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmdesk.models.base import Base, UtcDateTime, str_enum, utcnow


class PurchaseKind(enum.Enum):
    SALE = "sale"
    REFUND = "refund"


class Purchase(Base):
    __tablename__ = "purchase"
    __table_args__ = (
        # Posting the same receipt of the same till twice must change nothing.
        sa.UniqueConstraint("till", "receipt_no"),
        sa.Index("ix_purchase_member_at", "member_id", "occurred_at"),
        # What was refunded of a sale, asked at every refund: only refunds are in it.
        sa.Index("ix_purchase_refund_of_id", "refund_of_id", sqlite_where=sa.text("refund_of_id IS NOT NULL"),
                 postgresql_where=sa.text("refund_of_id IS NOT NULL")),
        sa.CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        # A refund always names the sale it gives money back for, and only a refund does.
        sa.CheckConstraint("(kind = 'refund') = (refund_of_id IS NOT NULL)", name="refund_has_original"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"))
    till: Mapped[str] = mapped_column(sa.String(20), default="")
    receipt_no: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[PurchaseKind] = mapped_column(str_enum(PurchaseKind), default=PurchaseKind.SALE)
    refund_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase.id"))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Positive for sales; refunds store the positive amount given back.
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    # How it was paid: the parts from the member's wallet and on credit, and the method of the rest.
    wallet_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    credit_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    payment_method: Mapped[str] = mapped_column(sa.String(20), default="")
    cashier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    lines: Mapped[list[PurchaseLine]] = relationship(back_populates="purchase", cascade="all, delete-orphan")


class PurchaseLine(Base):
    __tablename__ = "purchase_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase.id"), index=True)
    item_code: Mapped[str] = mapped_column(sa.String(40), default="")
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    category: Mapped[str] = mapped_column(sa.String(60), default="")
    # Thousandths of a unit, so weighed goods (0.355 kg) stay exact.
    quantity_milli: Mapped[int] = mapped_column(default=1000)
    unit_price_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    purchase: Mapped[Purchase] = relationship(back_populates="lines")
