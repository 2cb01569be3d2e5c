"""Is the data sound? ``crmdesk check``, the check after a restore or an upgrade, and ``--repair``.

Three kinds of finding, for a person to read:
- the file itself (SQLite's integrity check and foreign keys);
- cached figures that disagree with their source: points, stored value and credit owed against their
  ledgers (services/ledgers.py); visits, spend and last visit against the purchases; a coupon's "used"
  mark against the redemption that used it. These a repair recomputes from the source;
- impossible states no repair can decide: a negative balance, refunds above their sale, a debt
  settled for more than it was, a wallet or credit part above the purchase, a working card of a closed
  member. They are named with the member so the owner can look.

A repair never touches a ledger, a purchase or a redemption: only the figures cached from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from crmdesk import shop_time
from crmdesk.db import Database
from crmdesk.models import (
    Card, CardStatus, Coupon, CreditEntry, CreditSettlement, Member, MemberStatus, OfferRedemption, Purchase, PurchaseKind,
)
from crmdesk.services import audit, ledgers
from crmdesk.services.auth import Permission, require
from crmdesk.services.member_query import money_text
from crmdesk.services.members import refresh_member_totals
from crmdesk.services.uow import Actor, read_session, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP

# What each finding is, in words (the English source; screens translate it in the "check" context).
FINDINGS = {
    "integrity": QT_TRANSLATE_NOOP("check", "The database file is damaged (SQLite integrity check)"),
    "foreign_key": QT_TRANSLATE_NOOP("check", "A row points at a row that does not exist"),
    "points": QT_TRANSLATE_NOOP("check", "Points balance differs from the points ledger"),
    "wallet principal": QT_TRANSLATE_NOOP("check", "Stored value (principal) differs from the wallet ledger"),
    "wallet bonus": QT_TRANSLATE_NOOP("check", "Stored value (bonus) differs from the wallet ledger"),
    "credit owed": QT_TRANSLATE_NOOP("check", "Money owed differs from the credit ledger"),
    "visits": QT_TRANSLATE_NOOP("check", "Visit count differs from the purchases"),
    "spend": QT_TRANSLATE_NOOP("check", "Total spend differs from the purchases"),
    "last visit": QT_TRANSLATE_NOOP("check", "Last visit differs from the purchases"),
    "coupon": QT_TRANSLATE_NOOP("check", "A coupon's use mark differs from its redemption"),
    "negative": QT_TRANSLATE_NOOP("check", "A balance is below zero"),
    "over-refunded": QT_TRANSLATE_NOOP("check", "Refunds add up to more than their sale"),
    "over-settled": QT_TRANSLATE_NOOP("check", "A debt was settled for more than it was"),
    "over-paid": QT_TRANSLATE_NOOP("check", "Stored value and credit pay more than the purchase"),
    "closed card": QT_TRANSLATE_NOOP("check", "A closed member still has a working card"),
}
MONEY = frozenset({"wallet principal", "wallet bonus", "credit owed", "spend", "over-refunded", "over-settled", "over-paid"})
REPAIRABLE = frozenset({"points", "wallet principal", "wallet bonus", "credit owed", "visits", "spend", "last visit", "coupon"})


@dataclass(frozen=True)
class Finding:
    kind: str  # a key of FINDINGS
    member_id: int | None = None
    member_no: str = ""
    cached: object = None  # the figure as stored
    expected: object = None  # the figure its source gives
    detail: str = ""  # which row, for the file-level findings and impossible states

    @property
    def repairable(self) -> bool:
        return self.kind in REPAIRABLE

    def shown(self, value: object) -> str:
        """A figure of this finding as a person reads it: money as ¥, times on the shop's clock."""
        if value is None:
            return "-"
        if isinstance(value, datetime):
            return shop_time.format_time(value)
        if isinstance(value, int) and (self.kind in MONEY or (self.kind == "negative" and self.detail in MONEY)):
            return money_text(value)
        return str(value)

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "what": FINDINGS[self.kind], "member_id": self.member_id, "member_no": self.member_no,
                "cached": _plain(self.cached), "expected": _plain(self.expected), "detail": self.detail,
                "repairable": self.repairable}


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    checked_members: int = 0

    @property
    def sound(self) -> bool:
        return not self.findings

    @property
    def repairable(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.repairable]


def run(db: Database) -> Report:
    """Every check, read-only."""
    report = Report()
    if db.is_sqlite:
        report.findings += _file_findings(db)
        if any(finding.kind == "integrity" for finding in report.findings):
            return report  # a damaged file's figures mean nothing; restoring comes first
    with read_session(db) as session:
        report.checked_members = session.scalar(sa.select(sa.func.count()).select_from(Member)) or 0
        found = figure_findings(session) + impossible_states(session)
        numbers = _member_numbers(session, {f.member_id for f in found if f.member_id is not None})
    report.findings += [Finding(f.kind, f.member_id, numbers.get(f.member_id or 0, ""), f.cached, f.expected, f.detail)
                        for f in found]
    return report


def _file_findings(db: Database) -> list[Finding]:
    findings: list[Finding] = []
    with db.engine.connect() as connection:
        verdicts = [row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check").fetchall()]
        if verdicts != ["ok"]:
            findings += [Finding("integrity", detail=text) for text in verdicts[:20]]
            return findings
        for table, rowid, parent, _ in connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()[:100]:
            findings.append(Finding("foreign_key", detail=f"{table} #{rowid} → {parent}"))
    return findings


def figure_findings(session: Session) -> list[Finding]:
    """Cached figures against their sources (the ones a repair puts right)."""
    findings = [Finding(d.figure, d.member_id, cached=d.cached, expected=d.ledger) for d in ledgers.disagreements(session)]
    findings += _totals_findings(session)
    findings += _coupon_findings(session)
    return findings


def _totals_findings(session: Session) -> list[Finding]:
    sales = (sa.select(Purchase.member_id, sa.func.count(Purchase.id).label("visits"),
                       sa.func.sum(Purchase.amount_fen).label("sold"), sa.func.max(Purchase.occurred_at).label("last"))
             .where(Purchase.kind == PurchaseKind.SALE).group_by(Purchase.member_id).subquery())
    refunds = (sa.select(Purchase.member_id, sa.func.sum(Purchase.amount_fen).label("refunded"))
               .where(Purchase.kind == PurchaseKind.REFUND).group_by(Purchase.member_id).subquery())
    visits = sa.func.coalesce(sales.c.visits, 0)
    spend = sa.func.coalesce(sales.c.sold, 0) - sa.func.coalesce(refunds.c.refunded, 0)
    rows = session.execute(
        sa.select(Member.id, Member.visit_count, visits, Member.total_spend_fen, spend, Member.last_visit_at, sales.c.last)
        .outerjoin(sales, sales.c.member_id == Member.id)
        .outerjoin(refunds, refunds.c.member_id == Member.id)
        .where(sa.or_(Member.visit_count != visits, Member.total_spend_fen != spend,
                      sa.and_(Member.last_visit_at.is_(None), sales.c.last.is_not(None)),
                      sa.and_(Member.last_visit_at.is_not(None), sales.c.last.is_(None)),
                      Member.last_visit_at != sales.c.last))
        .order_by(Member.id)
    ).all()
    findings: list[Finding] = []
    for member_id, cached_visits, real_visits, cached_spend, real_spend, cached_last, real_last in rows:
        if cached_visits != real_visits:
            findings.append(Finding("visits", member_id, cached=cached_visits, expected=int(real_visits)))
        if cached_spend != real_spend:
            findings.append(Finding("spend", member_id, cached=cached_spend, expected=int(real_spend)))
        if cached_last != real_last:
            findings.append(Finding("last visit", member_id, cached=cached_last, expected=real_last))
    return findings


def _coupon_findings(session: Session) -> list[Finding]:
    """A coupon is used exactly when a redemption names it (offer_redemption.coupon_id is the authority)."""
    rows = session.execute(
        sa.select(Coupon.id, Coupon.code, Coupon.member_id, Coupon.used_by_redemption_id, OfferRedemption.id)
        .outerjoin(OfferRedemption, OfferRedemption.coupon_id == Coupon.id)
        .where(sa.or_(sa.and_(OfferRedemption.id.is_(None), Coupon.used_at.is_not(None)),
                      sa.and_(OfferRedemption.id.is_not(None), Coupon.used_at.is_(None)),
                      sa.and_(OfferRedemption.id.is_not(None),
                              sa.func.coalesce(Coupon.used_by_redemption_id, 0) != OfferRedemption.id)))
    ).all()
    return [Finding("coupon", member_id, cached=used_by, expected=redemption, detail=code)
            for _, code, member_id, used_by, redemption in rows]


def impossible_states(session: Session) -> list[Finding]:
    findings: list[Finding] = []
    for member_id, points, principal, bonus, owed in session.execute(
        sa.select(Member.id, Member.points_balance, Member.wallet_principal_fen, Member.wallet_bonus_fen, Member.credit_owed_fen)
        .where(sa.or_(Member.points_balance < 0, Member.wallet_principal_fen < 0, Member.wallet_bonus_fen < 0,
                      Member.credit_owed_fen < 0))
    ):
        for name, value in (("points", points), ("wallet principal", principal), ("wallet bonus", bonus), ("credit owed", owed)):
            if value < 0:
                findings.append(Finding("negative", member_id, cached=value, expected=0, detail=name))
    refund = aliased(Purchase)
    for sale_id, member_id, receipt, sold, refunded in session.execute(
        sa.select(Purchase.id, Purchase.member_id, Purchase.receipt_no, Purchase.amount_fen, sa.func.sum(refund.amount_fen))
        .join(refund, refund.refund_of_id == Purchase.id)
        .group_by(Purchase.id, Purchase.member_id, Purchase.receipt_no, Purchase.amount_fen)
        .having(sa.func.sum(refund.amount_fen) > Purchase.amount_fen)
    ):
        findings.append(Finding("over-refunded", member_id, cached=int(refunded), expected=sold, detail=receipt))
    for charge_id, member_id, amount, settled in session.execute(
        sa.select(CreditEntry.id, CreditEntry.member_id, CreditEntry.amount_fen, sa.func.sum(CreditSettlement.amount_fen))
        .join(CreditSettlement, CreditSettlement.charge_id == CreditEntry.id)
        .group_by(CreditEntry.id, CreditEntry.member_id, CreditEntry.amount_fen)
        .having(sa.func.sum(CreditSettlement.amount_fen) > CreditEntry.amount_fen)
    ):
        findings.append(Finding("over-settled", member_id, cached=int(settled), expected=amount, detail=f"#{charge_id}"))
    for member_id, receipt, amount, wallet_part, credit_part in session.execute(
        sa.select(Purchase.member_id, Purchase.receipt_no, Purchase.amount_fen, Purchase.wallet_fen, Purchase.credit_fen)
        .where(Purchase.wallet_fen + Purchase.credit_fen > Purchase.amount_fen)
    ):
        findings.append(Finding("over-paid", member_id, cached=wallet_part + credit_part, expected=amount, detail=receipt))
    for member_id, number in session.execute(
        sa.select(Card.member_id, Card.number).join(Member, Member.id == Card.member_id)
        .where(Card.status == CardStatus.ACTIVE, Member.status == MemberStatus.CLOSED)
    ):
        findings.append(Finding("closed card", member_id, detail=number))
    return findings


def _member_numbers(session: Session, ids: set[int]) -> dict[int, str]:
    numbers: dict[int, str] = {}
    chunk = sorted(ids)
    for start in range(0, len(chunk), 500):
        part = chunk[start:start + 500]
        numbers.update(session.execute(sa.select(Member.id, Member.member_no).where(Member.id.in_(part))).all())
    return numbers


@dataclass(frozen=True)
class RepairResult:
    repaired: dict[str, int]  # finding kind -> how many were put right
    backup: str  # the copy taken first (file name), "" on a server
    after: Report


def repair(db: Database, actor: Actor) -> RepairResult:
    """Recompute every cached figure that disagrees with its source, after a backup; ledgers stay as they are."""
    require(actor, Permission.MANAGE_BACKUPS)
    from crmdesk.services import backups

    backup_name = ""
    if db.is_sqlite:
        backup_name = backups.take_backup(db, "before-repair").path.name
    repaired: dict[str, int] = {}
    with unit_of_work(db) as session:
        found = figure_findings(session)
        for finding in found:
            repaired[finding.kind] = repaired.get(finding.kind, 0) + 1
        _repair_balances(session, [f for f in found if f.kind in ("points", "wallet principal", "wallet bonus", "credit owed")])
        stale_totals = sorted({f.member_id for f in found if f.kind in ("visits", "spend", "last visit") and f.member_id})
        for start in range(0, len(stale_totals), 500):
            refresh_member_totals(session, stale_totals[start:start + 500])
        _repair_coupons(session, [f.detail for f in found if f.kind == "coupon"])
        if repaired:
            audit.record(session, actor, "database.repair", "database", None, repaired=repaired, backup=backup_name)
    return RepairResult(repaired, backup_name, run(db))


_BALANCE_COLUMNS = {"points": "points_balance", "wallet principal": "wallet_principal_fen", "wallet bonus": "wallet_bonus_fen",
                    "credit owed": "credit_owed_fen"}


def _repair_balances(session: Session, findings: list[Finding]) -> None:
    for finding in findings:
        session.execute(
            sa.update(Member).where(Member.id == finding.member_id)
            .values({_BALANCE_COLUMNS[finding.kind]: finding.expected, "updated_at": Member.updated_at})
            .execution_options(synchronize_session=False)
        )


def _repair_coupons(session: Session, codes: list[str]) -> None:
    """The coupons' use marks copied from the redemptions that name them (or cleared where none does)."""
    used = sa.select(OfferRedemption.id).where(OfferRedemption.coupon_id == Coupon.id).scalar_subquery()
    used_at = sa.select(OfferRedemption.at).where(OfferRedemption.coupon_id == Coupon.id).scalar_subquery()
    for start in range(0, len(codes), 500):
        session.execute(sa.update(Coupon).where(Coupon.code.in_(codes[start:start + 500]))
                        .values(used_by_redemption_id=used, used_at=used_at).execution_options(synchronize_session=False))
