"""Members and their membership cards."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmdesk.models.base import Base, UtcDateTime, str_enum, utcnow


class MemberStatus(enum.Enum):
    ACTIVE = "active"
    FROZEN = "frozen"
    CLOSED = "closed"


class Gender(enum.Enum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class MarketingConsent(enum.Enum):
    NONE = "none"
    SMS = "sms"
    EMAIL = "email"


class CardStatus(enum.Enum):
    ACTIVE = "active"
    REPLACED = "replaced"
    LOST = "lost"
    CLOSED = "closed"


class Member(Base):
    __tablename__ = "member"
    __table_args__ = (
        # A phone number identifies one member who is not closed (a frozen member
        # may come back); closed members keep theirs for the record.
        sa.Index(
            "uq_member_open_phone",
            "phone",
            unique=True,
            sqlite_where=sa.text("status <> 'closed'"),
            postgresql_where=sa.text("status <> 'closed'"),
        ),
        # "Same name and birthday as an open member" (a possible duplicate) asked without reading every namesake.
        sa.Index("ix_member_name_birthday", "name", "birthday"),
        sa.CheckConstraint("points_balance >= 0", name="points_balance_not_negative"),
        sa.CheckConstraint("wallet_principal_fen >= 0 AND wallet_bonus_fen >= 0", name="wallet_not_negative"),
        sa.CheckConstraint("credit_owed_fen >= 0", name="credit_owed_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), index=True)
    # Search keys kept in step with name and phone by the members service.
    name_pinyin: Mapped[str] = mapped_column(sa.String(300), default="", index=True)
    name_initials: Mapped[str] = mapped_column(sa.String(100), default="", index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(20), index=True)  # E.164, e.g. +8613812345678
    phone_last4: Mapped[str | None] = mapped_column(sa.String(4), index=True)
    gender: Mapped[Gender] = mapped_column(str_enum(Gender), default=Gender.UNKNOWN)
    birthday: Mapped[date | None] = mapped_column(index=True)
    # Kept with birthday so "birthday this month" is an indexed lookup.
    birth_month: Mapped[int | None] = mapped_column(sa.SmallInteger, index=True)
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    email: Mapped[str] = mapped_column(sa.String(200), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    company: Mapped[str] = mapped_column(sa.String(200), default="")
    marketing_consent: Mapped[MarketingConsent] = mapped_column(
        str_enum(MarketingConsent), default=MarketingConsent.NONE
    )
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    consent_by: Mapped[str] = mapped_column(sa.String(60), default="")  # the staff member who recorded the marketing consent
    # Consent to keeping the member's personal data (个人信息保护法), with when and who recorded it.
    data_consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    data_consent_by: Mapped[str] = mapped_column(sa.String(60), default="")
    # Set when the member's personal data was erased on request or by the retention rule.
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    source: Mapped[str] = mapped_column(sa.String(40), default="")
    status: Mapped[MemberStatus] = mapped_column(str_enum(MemberStatus), default=MemberStatus.ACTIVE, index=True)
    joined_on: Mapped[date] = mapped_column(index=True)
    tier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tier.id"), index=True)
    # Cached sum of the member's points ledger, updated in the same transaction.
    points_balance: Mapped[int] = mapped_column(default=0, index=True)
    # Cached from the member's purchases (sales minus refunds), updated with them;
    # they let the member list sort and filter a million members by an index.
    visit_count: Mapped[int] = mapped_column(default=0, index=True)
    total_spend_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0, index=True)
    last_visit_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    # Cached sums of the member's wallet and credit ledgers (models/money.py), updated with them.
    wallet_principal_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    wallet_bonus_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    credit_owed_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0, index=True)
    # The member's own payment PIN for the wallet (hashed like staff PINs), and its lock after wrong tries.
    pay_pin_hash: Mapped[str | None] = mapped_column(sa.String(200))
    pay_pin_failures: Mapped[int] = mapped_column(default=0)
    pay_pin_locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    cards: Mapped[list[Card]] = relationship(back_populates="member", order_by="Card.issued_at")
    tag_rows: Mapped[list[MemberTag]] = relationship(cascade="all, delete-orphan", order_by="MemberTag.tag")

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class MemberTag(Base):
    """One tag of a member (老顾客, 宝妈 ...): a table, so filtering by tag uses an index."""

    __tablename__ = "member_tag"

    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(40), primary_key=True, index=True)


class MemberChange(Base):
    """The member's history: one row per changed field (or event), who and when."""

    __tablename__ = "member_change"
    __table_args__ = (sa.Index("ix_member_change_member_at", "member_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    staff_name: Mapped[str] = mapped_column(sa.String(60), default="")
    field: Mapped[str] = mapped_column(sa.String(40))  # a column name, or an event: created, merged, card_issued ...
    old_value: Mapped[str] = mapped_column(sa.Text, default="")
    new_value: Mapped[str] = mapped_column(sa.Text, default="")


class SavedFilter(Base):
    """A named member-list filter ("smart group"): the criteria are kept, so the group stays current."""

    __tablename__ = "saved_filter"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    criteria: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class Card(Base):
    """A membership card. A member has a history of cards; a number is never reused."""

    __tablename__ = "card"
    __table_args__ = (
        # At most one working card per member; older ones stay as history.
        sa.Index(
            "uq_card_active_member",
            "member_id",
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"), index=True)
    status: Mapped[CardStatus] = mapped_column(str_enum(CardStatus), default=CardStatus.ACTIVE)
    # Cards from an old system keep their numbers and are not checked for a check digit.
    imported: Mapped[bool] = mapped_column(default=False)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    member: Mapped[Member] = relationship(back_populates="cards")
