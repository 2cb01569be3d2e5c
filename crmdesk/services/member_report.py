"""Everything the printed member report shows about one member, gathered in one read.

The report summarises: however many purchases a member has, it reads totals
with GROUP BY and only the newest few receipts, so the report takes the same
time for a member with ten visits as for one with ten thousand.

Money with the shop, when the member has any: the stored value (principal and
bonus apart, the latest wallet entries) and credit (limit, term, what is owed
and overdue, the charges still open with their due days). A member who never
had a wallet entry, a credit account or a debt gets no such section.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk import shop_time
from crmdesk.models import (
    Complaint, CreditAccount, CreditEntry, OfferRedemption, PointsEntry, PointsKind, Purchase, PurchaseKind, PurchaseLine, WalletEntry,
)
from crmdesk.services import complaints, credit, loyalty, members, offers, purchases, wallet
from crmdesk.services.complaints import ComplaintInfo
from crmdesk.services.credit import CreditInfo, OpenCharge
from crmdesk.services.loyalty import SHOP_ZONE, ExpiringLot
from crmdesk.services.members import MemberProfile
from crmdesk.services.offers import Redemption
from crmdesk.services.purchases import PurchaseRow, PurchaseTotals
from crmdesk.services.wallet import WalletRow

LAST_PURCHASES = 12
TOP_CATEGORIES = 6
OFFERS_LISTED = 15
COMPLAINTS_LISTED = 15
EXPIRY_LINES = 8  # later lots are summed into one line
WALLET_ENTRIES = 8
OPEN_CHARGES_LISTED = 12


@dataclass(frozen=True)
class PointsByKind:
    kind: PointsKind
    entries: int
    points: int


@dataclass(frozen=True)
class MonthSpend:
    month: date  # first day, shop-local
    spend_fen: int  # sales less refunds
    visits: int


@dataclass(frozen=True)
class CategorySpend:
    category: str
    spend_fen: int
    lines: int


@dataclass(frozen=True)
class ComplaintOutcome:
    complaint: ComplaintInfo
    remedies: tuple[str, ...]  # Remedy values of every resolution, in order
    satisfaction: int | None  # the latest follow-up's score, 1-5


@dataclass(frozen=True)
class WalletSummary:
    """The member's stored value (储值) now and its latest movements."""

    principal_fen: int
    bonus_fen: int
    entries: int  # in the ledger, ever
    latest: tuple[WalletRow, ...]  # newest first

    @property
    def total_fen(self) -> int:
        return self.principal_fen + self.bonus_fen


@dataclass(frozen=True)
class CreditSummary:
    """The member's credit (赊账) as of the report's day: the account, the debt, the charges still open."""

    info: CreditInfo
    open_charges: tuple[OpenCharge, ...]  # oldest due first, at most OPEN_CHARGES_LISTED
    open_count: int


@dataclass(frozen=True)
class MemberReport:
    profile: MemberProfile
    phone_text: str  # masked unless full numbers were asked for
    as_of: datetime
    spend_12_months_fen: int
    monthly_spend: tuple[MonthSpend, ...]  # the last 12 shop-local months, oldest first
    points_by_kind: tuple[PointsByKind, ...]
    expiring: tuple[ExpiringLot, ...]  # soonest first; the last line may sum the rest
    totals: PurchaseTotals
    refunds: int
    refunded_fen: int
    categories: tuple[CategorySpend, ...]  # by spend, highest first; empty when receipts carry no lines
    last_purchases: tuple[PurchaseRow, ...]
    offers_used: tuple[Redemption, ...]
    offers_used_count: int
    offers_discount_fen: int
    complaints: tuple[ComplaintOutcome, ...]
    complaints_count: int
    wallet: WalletSummary | None = None  # None: the member never had stored value
    credit: CreditSummary | None = None  # None: no credit account and never a debt


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _months_back(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _as_utc(moment: datetime) -> datetime:
    # Values read back from SQLite aggregates or raw rows may come without a zone; they are UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _monthly_spend(session: Session, member_id: int, now: datetime) -> tuple[MonthSpend, ...]:
    this_month = _month_start(loyalty.local_day(now))
    first = _months_back(this_month, 11)
    since = datetime.combine(first, datetime.min.time(), tzinfo=SHOP_ZONE)
    buckets = {_months_back(this_month, back): [0, 0] for back in range(11, -1, -1)}
    rows = session.execute(
        sa.select(Purchase.occurred_at, Purchase.kind, Purchase.amount_fen)
        .where(Purchase.member_id == member_id, Purchase.occurred_at >= since)
    )
    for occurred_at, kind, amount in rows:
        bucket = buckets.get(_month_start(loyalty.local_day(_as_utc(occurred_at))))
        if bucket is None:
            continue
        if kind is PurchaseKind.SALE:
            bucket[0] += amount
            bucket[1] += 1
        else:
            bucket[0] -= amount
    return tuple(MonthSpend(month, spend, visits) for month, (spend, visits) in buckets.items())


def _points_by_kind(session: Session, member_id: int) -> tuple[PointsByKind, ...]:
    rows = session.execute(
        sa.select(PointsEntry.kind, sa.func.count(PointsEntry.id), sa.func.sum(PointsEntry.points))
        .where(PointsEntry.member_id == member_id).group_by(PointsEntry.kind)
    ).all()
    order = list(PointsKind)
    return tuple(sorted((PointsByKind(kind, int(n), int(total or 0)) for kind, n, total in rows), key=lambda p: order.index(p.kind)))


def _expiring(open_lots: list[ExpiringLot]) -> tuple[ExpiringLot, ...]:
    lots = loyalty.by_expiry_day(open_lots)
    if len(lots) <= EXPIRY_LINES:
        return tuple(lots)
    shown = lots[:EXPIRY_LINES - 1]
    rest = lots[EXPIRY_LINES - 1:]
    return (*shown, ExpiringLot(rest[-1].expires_on, sum(lot.points for lot in rest)))


def _refunds(session: Session, member_id: int) -> tuple[int, int]:
    count, total = session.execute(
        sa.select(sa.func.count(Purchase.id), sa.func.coalesce(sa.func.sum(Purchase.amount_fen), 0))
        .where(Purchase.member_id == member_id, Purchase.kind == PurchaseKind.REFUND)
    ).one()
    return int(count), int(total)


def _categories(session: Session, member_id: int) -> tuple[CategorySpend, ...]:
    spend = sa.func.sum(PurchaseLine.amount_fen)
    rows = session.execute(
        sa.select(PurchaseLine.category, spend, sa.func.count(PurchaseLine.id))
        .join(Purchase, Purchase.id == PurchaseLine.purchase_id)
        .where(Purchase.member_id == member_id, Purchase.kind == PurchaseKind.SALE, PurchaseLine.category != "")
        .group_by(PurchaseLine.category).order_by(spend.desc(), PurchaseLine.category).limit(TOP_CATEGORIES)
    ).all()
    return tuple(CategorySpend(category, int(total or 0), int(lines)) for category, total, lines in rows)


def _offers(session: Session, member_id: int) -> tuple[tuple[Redemption, ...], int, int]:
    listed = tuple(offers.redemptions(session, member_id=member_id, limit=OFFERS_LISTED))
    count, discount = session.execute(
        sa.select(sa.func.count(OfferRedemption.id), sa.func.coalesce(sa.func.sum(OfferRedemption.discount_fen), 0))
        .where(OfferRedemption.member_id == member_id)
    ).one()
    return listed, int(count), int(discount)


def _complaints(session: Session, member_id: int, now: datetime) -> tuple[tuple[ComplaintOutcome, ...], int]:
    listed = complaints.member_complaints(session, member_id, now=now, limit=COMPLAINTS_LISTED)
    outcomes = []
    for info in listed:
        detail = complaints.get_complaint(session, info.id, now=now)
        remedies = tuple(remedy.value for resolution in detail.resolutions for remedy in resolution.remedies)
        satisfaction = detail.follow_ups[-1].satisfaction if detail.follow_ups else None
        outcomes.append(ComplaintOutcome(info, tuple(dict.fromkeys(remedies)), satisfaction))
    total = int(session.scalar(sa.select(sa.func.count(Complaint.id)).where(Complaint.member_id == member_id)) or 0)
    return tuple(outcomes), total


def _wallet(session: Session, member_id: int) -> WalletSummary | None:
    entries = int(session.scalar(sa.select(sa.func.count(WalletEntry.id)).where(WalletEntry.member_id == member_id)) or 0)
    if not entries:
        return None
    balance = wallet.balance(session, member_id)
    latest = tuple(wallet.ledger_page(session, member_id, limit=WALLET_ENTRIES))
    return WalletSummary(balance.principal_fen, balance.bonus_fen, entries, latest)


def _credit(session: Session, member_id: int, now: datetime) -> CreditSummary | None:
    has_account = session.get(CreditAccount, member_id) is not None
    if not has_account and session.scalar(sa.select(CreditEntry.id).where(CreditEntry.member_id == member_id).limit(1)) is None:
        return None
    day = shop_time.local_day(now)
    charges = credit.open_charges(session, [member_id], day).get(member_id, [])
    return CreditSummary(credit.info(session, member_id, today=day), tuple(charges[:OPEN_CHARGES_LISTED]), len(charges))


def member_report(session: Session, member_id: int, *, now: datetime | None = None, full_phones: bool = False) -> MemberReport:
    """The member report's content as of ``now``. Phones are masked unless ``full_phones``
    (the caller checks who may ask for that and records it)."""
    now = now or datetime.now(timezone.utc)
    profile = members.profile(session, member_id, recent_visits=0)
    refunds, refunded = _refunds(session, member_id)
    used, used_count, discount = _offers(session, member_id)
    listed_complaints, complaints_count = _complaints(session, member_id, now)
    return MemberReport(
        profile=profile,
        phone_text=members.display_phone(profile.phone) if full_phones else members.masked_phone(profile.phone),
        as_of=now,
        spend_12_months_fen=loyalty.spend_12_months(session, member_id, now),
        monthly_spend=_monthly_spend(session, member_id, now),
        points_by_kind=_points_by_kind(session, member_id),
        expiring=_expiring(loyalty.open_lots(session, member_id)),
        totals=purchases.totals(session, member_id),
        refunds=refunds,
        refunded_fen=refunded,
        categories=_categories(session, member_id),
        last_purchases=tuple(purchases.history_page(session, member_id, limit=LAST_PURCHASES)),
        offers_used=used,
        offers_used_count=used_count,
        offers_discount_fen=discount,
        complaints=listed_complaints,
        complaints_count=complaints_count,
        wallet=_wallet(session, member_id),
        credit=_credit(session, member_id, now),
    )

