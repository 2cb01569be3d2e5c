"""What the counter's slips say: a top-up receipt, a cash-out slip the member signs, an IOU slip (赊账单).

Each slip is read from its ledger entry by id (a wallet entry for the first two, a credit charge for
the IOU), so a slip can be printed again later and says the same: balances are those right after the
entry (the sum of the member's entries up to it; the ledger is append-only and a member's entries are
written one after the other under the member's lock, so id order is the order they happened in).
Phone numbers are masked: a slip leaves the counter with the member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk import shop_time
from crmdesk.errors import InvalidInput, NotFound
from crmdesk.models import (
    CreditAccount, CreditEntry, CreditKind, Member, Purchase, PurchaseLine, Staff, WalletBonusRule, WalletEntry, WalletKind,
)
from crmdesk.services import members, store, wallet
from crmdesk.services.member_query import money_text
from crmdesk.texts import QT_TRANSLATE_NOOP

SLIP_KINDS = ("topup", "cashout", "iou")


@dataclass(frozen=True)
class SlipShop:
    name: str
    address: str
    phone: str


@dataclass(frozen=True)
class SlipMember:
    member_no: str
    name: str
    phone: str  # masked


@dataclass(frozen=True)
class TopUpSlip:
    entry_id: int
    at: datetime
    shop: SlipShop
    member: SlipMember
    paid_fen: int  # principal paid in
    bonus_fen: int
    payment_method: str
    rule_label: str  # 充200送20, or "" when no bonus rule applied
    why: tuple[str, dict[str, object]] | None  # the rule applied ("errors" context template and values)
    principal_after_fen: int
    bonus_after_fen: int
    staff_name: str

    @property
    def number(self) -> str:
        return f"W{self.entry_id:06d}"


@dataclass(frozen=True)
class CashOutSlip:
    entry_id: int
    at: datetime
    shop: SlipShop
    member: SlipMember
    principal_fen: int  # paid back to the member (positive)
    bonus_forfeited_fen: int  # positive
    payment_method: str
    reason: str
    staff_name: str  # who paid it out (a supervisor or the owner)

    @property
    def number(self) -> str:
        return f"W{self.entry_id:06d}"


@dataclass(frozen=True)
class IouItem:
    name: str
    quantity_milli: int
    amount_fen: int


@dataclass(frozen=True)
class IouSlip:
    entry_id: int
    at: datetime
    shop: SlipShop
    member: SlipMember
    amount_fen: int  # put on credit
    purchase_fen: int | None  # the whole purchase (a basket may be paid partly in cash)
    receipt_no: str
    till: str
    items: tuple[IouItem, ...]
    due_on: date
    owed_after_fen: int  # everything the member owes after this charge
    limit_fen: int | None
    approved_by: str  # who let it pass the limit, or ""
    staff_name: str

    @property
    def number(self) -> str:
        return f"C{self.entry_id:06d}"


Slip = TopUpSlip | CashOutSlip | IouSlip


def _shop(session: Session) -> SlipShop:
    info = store.get_store(session)
    return SlipShop(info.store_name, info.address, info.phone)


def _member(session: Session, member_id: int) -> SlipMember:
    member_no, name, phone = session.execute(
        sa.select(Member.member_no, Member.name, Member.phone).where(Member.id == member_id)).one()
    return SlipMember(member_no, name, members.masked_phone(phone))


def _staff_name(session: Session, staff_id: int | None) -> str:
    return (session.scalar(sa.select(Staff.name).where(Staff.id == staff_id)) or "") if staff_id is not None else ""


NOT_A_TOPUP = QT_TRANSLATE_NOOP("errors", "Stored-value entry {id} is not a top-up: no top-up receipt for it.")
NOT_A_CASHOUT = QT_TRANSLATE_NOOP("errors", "Stored-value entry {id} is not a cash-out: no cash-out slip for it.")


def _wallet_entry(session: Session, entry_id: int, kind: WalletKind) -> WalletEntry:
    entry = session.get(WalletEntry, entry_id)
    if entry is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No stored-value entry {id}."), id=entry_id)
    if entry.kind is not kind:
        raise InvalidInput(NOT_A_TOPUP if kind is WalletKind.TOPUP else NOT_A_CASHOUT, field="entry", id=entry_id)
    return entry


def topup_slip(session: Session, entry_id: int) -> TopUpSlip:
    """The receipt of a top-up: paid in, how, the bonus and the rule that gave it, the balance after."""
    entry = _wallet_entry(session, entry_id, WalletKind.TOPUP)
    label, why = "", None
    rule = session.get(WalletBonusRule, entry.bonus_rule_id) if entry.bonus_rule_id is not None else None
    if rule is not None and entry.bonus_fen:
        label = f"充{money_text(rule.min_topup_fen)[1:]}送{money_text(rule.bonus_fen)[1:]}".replace(".00", "")
        why = (wallet.WHY_RULE, {"rule": label, "amount": money_text(entry.principal_fen),
                                 "threshold": money_text(rule.min_topup_fen), "bonus": money_text(entry.bonus_fen)})
    after = wallet_after(session, entry)
    return TopUpSlip(entry.id, entry.at, _shop(session), _member(session, entry.member_id), int(entry.principal_fen),
                     int(entry.bonus_fen), entry.payment_method, label, why, after.principal_fen, after.bonus_fen,
                     _staff_name(session, entry.staff_id))


def cashout_slip(session: Session, entry_id: int) -> CashOutSlip:
    """退卡退余额: the principal paid back, the bonus forfeited, for the member to sign."""
    entry = _wallet_entry(session, entry_id, WalletKind.CASHOUT)
    return CashOutSlip(entry.id, entry.at, _shop(session), _member(session, entry.member_id), -int(entry.principal_fen),
                       -int(entry.bonus_fen), entry.payment_method, entry.reason, _staff_name(session, entry.staff_id))


def iou_slip(session: Session, entry_id: int) -> IouSlip:
    """赊账单: what was bought on credit, the items if the till sent them, the due day, for the member to sign."""
    entry = session.get(CreditEntry, entry_id)
    if entry is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No credit entry {id}."), id=entry_id)
    if entry.kind is not CreditKind.CHARGE:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Credit entry {id} is not a purchase on credit: no IOU slip for it."),
                           field="entry", id=entry_id)
    purchase = session.get(Purchase, entry.purchase_id) if entry.purchase_id is not None else None
    items: tuple[IouItem, ...] = ()
    if purchase is not None:
        items = tuple(IouItem(name, int(quantity), int(amount)) for name, quantity, amount in session.execute(
            sa.select(PurchaseLine.name, PurchaseLine.quantity_milli, PurchaseLine.amount_fen)
            .where(PurchaseLine.purchase_id == purchase.id).order_by(PurchaseLine.id)))
    owed = int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(CreditEntry.amount_fen), 0)).where(
        CreditEntry.member_id == entry.member_id, CreditEntry.id <= entry.id)) or 0)
    account = session.get(CreditAccount, entry.member_id)
    return IouSlip(
        entry.id, entry.at, _shop(session), _member(session, entry.member_id), int(entry.amount_fen),
        int(purchase.amount_fen) if purchase is not None else None, purchase.receipt_no if purchase is not None else "",
        purchase.till if purchase is not None else "", items, entry.due_on or shop_time.local_day(entry.at), owed,
        int(account.limit_fen) if account is not None else None, _staff_name(session, entry.approved_by_id),
        _staff_name(session, entry.staff_id))


def wallet_after(session: Session, entry: WalletEntry) -> wallet.Balance:
    """The member's balance right after ``entry``."""
    principal, bonus = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(WalletEntry.principal_fen), 0), sa.func.coalesce(sa.func.sum(WalletEntry.bonus_fen), 0))
        .where(WalletEntry.member_id == entry.member_id, WalletEntry.id <= entry.id)
    ).one()
    return wallet.Balance(int(principal), int(bonus))


def slip(session: Session, kind: str, entry_id: int) -> Slip:
    """One of SLIP_KINDS by its entry id."""
    if kind == "topup":
        return topup_slip(session, entry_id)
    if kind == "cashout":
        return cashout_slip(session, entry_id)
    if kind == "iou":
        return iou_slip(session, entry_id)
    raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{kind}' is not a slip: topup, cashout or iou."), field="kind", kind=kind)
