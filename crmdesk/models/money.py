"""The shop's money with its members: stored value (储值) and credit (赊账).

Both are append-only ledgers in fen. A member's wallet balance is the sum of their
wallet entries, principal and bonus apart; their debt is the sum of their credit
entries. The member row caches both, updated in the same transaction as the entry
(and checked against the ledgers by tests), so the counter reads one row.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crmdesk.models.base import Base, UtcDateTime, str_enum, utcnow

MONEY_SETTINGS_ROW_ID = 1


class WalletKind(enum.Enum):
    TOPUP = "topup"  # money paid in (principal), with any bonus the rules give
    PAYMENT = "payment"  # spent on a purchase (negative)
    REFUND = "refund"  # a refunded purchase's wallet part, back where it came from
    CASHOUT = "cashout"  # the principal paid back in cash; the bonus forfeited (both negative)
    ADJUSTMENT = "adjustment"  # a correction by a supervisor or the owner, with a reason
    OPENING = "opening"  # a balance brought over from an old system


class DrawOrder(enum.Enum):
    """How a payment from the wallet draws on principal and bonus."""

    PROPORTIONAL = "proportional"  # in the balance's own proportion (the default)
    PRINCIPAL_FIRST = "principal_first"
    BONUS_FIRST = "bonus_first"


class WalletEntry(Base):
    """One movement of a member's stored value. Never updated or deleted."""

    __tablename__ = "wallet_entry"
    __table_args__ = (
        sa.Index("ix_wallet_entry_member_at", "member_id", "at"),
        sa.CheckConstraint("principal_fen <> 0 OR bonus_fen <> 0", name="moves_money"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    kind: Mapped[WalletKind] = mapped_column(str_enum(WalletKind))
    principal_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # signed
    bonus_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # signed
    purchase_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase.id"), index=True)
    bonus_rule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("wallet_bonus_rule.id"))
    payment_method: Mapped[str] = mapped_column(sa.String(20), default="")  # how a top-up was paid, a cash-out paid back
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(sa.String(300), default="")


class WalletBonusRule(Base):
    """充200送20: a top-up of at least ``min_topup_fen`` gets ``bonus_fen``, within a window, maybe for a tier."""

    __tablename__ = "wallet_bonus_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    min_topup_fen: Mapped[int] = mapped_column(sa.BigInteger)
    bonus_fen: Mapped[int] = mapped_column(sa.BigInteger)
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    tier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tier.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CreditKind(enum.Enum):
    CHARGE = "charge"  # bought on credit: the debt grows (positive), due on due_on
    REPAYMENT = "repayment"  # paid back (negative), settling the oldest charges first
    REFUND = "refund"  # a refunded credit purchase: the debt shrinks (negative)
    WRITE_OFF = "write_off"  # bad debt written off by the owner (negative)
    OPENING = "opening"  # a debt brought over from an old system (positive)


class CreditAccount(Base):
    """A member's credit: the limit and term a supervisor or the owner granted."""

    __tablename__ = "credit_account"

    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"), primary_key=True)
    limit_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    term_days: Mapped[int] = mapped_column(default=30)
    frozen: Mapped[bool] = mapped_column(default=False)
    frozen_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class CreditEntry(Base):
    """One movement of a member's debt. Never updated or deleted."""

    __tablename__ = "credit_entry"
    __table_args__ = (
        sa.Index("ix_credit_entry_member_at", "member_id", "at"),
        sa.CheckConstraint("amount_fen <> 0", name="moves_money"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    kind: Mapped[CreditKind] = mapped_column(str_enum(CreditKind))
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)  # signed: the debt grows (+) or shrinks (-)
    due_on: Mapped[date | None] = mapped_column(index=True)  # charges and opening debts
    purchase_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase.id"), index=True)
    payment_method: Mapped[str] = mapped_column(sa.String(20), default="")  # how a repayment was paid
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))  # a charge beyond the limit
    reason: Mapped[str] = mapped_column(sa.String(300), default="")


class CreditSettlement(Base):
    """What part of a charge a repayment, refund or write-off settled (oldest charges first)."""

    __tablename__ = "credit_settlement"

    id: Mapped[int] = mapped_column(primary_key=True)
    charge_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_entry.id"), index=True)
    settled_by_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_entry.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)


class CollectionNote(Base):
    """催收: one contact about a debt, what was promised and by when."""

    __tablename__ = "collection_note"
    __table_args__ = (sa.Index("ix_collection_note_member_at", "member_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    channel: Mapped[str] = mapped_column(sa.String(20), default="")  # phone, visit, sms, wechat
    text: Mapped[str] = mapped_column(sa.Text, default="")
    promised_on: Mapped[date | None] = mapped_column(index=True)
    promised_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))


class MoneySettings(Base):
    """The owner's settings for stored value and credit: one row.

    The defaults follow China's single-purpose prepaid card rules (单用途商业预付卡管理办法, 商务部令
    2012年第9号): a named card holds at most ¥5,000 and has no expiry date."""

    __tablename__ = "money_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    prepaid_rules: Mapped[bool] = mapped_column(default=True)  # the regulation's limits enforced
    wallet_cap_fen: Mapped[int] = mapped_column(sa.BigInteger, default=500_000)
    draw_order: Mapped[DrawOrder] = mapped_column(str_enum(DrawOrder, 20), default=DrawOrder.PROPORTIONAL)
    pin_above_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # a member's PIN is asked above this (0: always)
    credit_freeze_after_days: Mapped[int] = mapped_column(default=0)  # 0: never freeze credit by itself
    credit_max_limit_fen: Mapped[int] = mapped_column(sa.BigInteger, default=200_000)  # the highest limit suggested
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
