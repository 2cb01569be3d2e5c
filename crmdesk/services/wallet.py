"""Stored value (储值): top-ups with the owner's bonus rules, paying from the wallet, refunds back into it,
cash-out, corrections, opening balances, and the member's own payment PIN.

The rules kept here:

* The ledger (wallet_entry) is append-only; ``Member.wallet_principal_fen`` and ``wallet_bonus_fen``
  cache its sums and change in the same transaction as the entry. Neither can go below zero: every
  check and the write that depends on it happen with the member's row locked (SQLite holds the write
  lock from BEGIN; PostgreSQL locks the row with SELECT ... FOR UPDATE), so two tills paying from one
  wallet at once are counted one after the other, and a database CHECK refuses a negative balance
  whatever happens.
* Principal (what the member paid in) and bonus (what the shop added) are kept apart. A payment draws
  on them as the owner chose (proportionally by default); a refund puts back what that payment took,
  in the same proportion; a cash-out (退卡退余额) pays back the principal only and forfeits the bonus.
* Under China's single-purpose prepaid card rules (on by default, services/money_settings.py) a
  member's wallet never holds more than the cap (¥5,000 for a named card), bonus included, and never
  expires.
* A payment above the owner's threshold needs the member's PIN when they have one; five wrong PINs
  stop wallet payments for fifteen minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from crmdesk import shop_time
from crmdesk.db import Database
from crmdesk.errors import AuthenticationFailed, InvalidInput, NotFound
from crmdesk.models import (
    DrawOrder, Member, MemberStatus, Purchase, Staff, Tier, WalletBonusRule, WalletEntry, WalletKind,
)
from crmdesk.services import requests
from crmdesk.services import audit, money_settings
from crmdesk.services.auth import Permission, require, validate_pin
from crmdesk.services.member_query import member_status_term, money_text
from crmdesk.services.money_settings import MoneyRules
from crmdesk.services.uow import Actor, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP

MAX_TOPUP_FEN = 10_000_000  # ¥100,000 in one top-up is a typo, whatever the rules
TOPUP_METHODS = ("cash", "wechat", "alipay", "card")  # recorded, not processed; never the wallet or credit itself
PIN_TRIES = 5
PIN_LOCK = timedelta(minutes=15)
MAX_REASON = 300

KIND_LABELS = {
    WalletKind.TOPUP: QT_TRANSLATE_NOOP("terms", "Top-up"),
    WalletKind.PAYMENT: QT_TRANSLATE_NOOP("terms", "Payment"),
    WalletKind.REFUND: QT_TRANSLATE_NOOP("terms", "Refund"),
    WalletKind.CASHOUT: QT_TRANSLATE_NOOP("terms", "Cash-out"),
    WalletKind.ADJUSTMENT: QT_TRANSLATE_NOOP("terms", "Adjustment"),
    WalletKind.OPENING: QT_TRANSLATE_NOOP("terms", "Opening balance"),
}
DRAW_LABELS = {
    DrawOrder.PROPORTIONAL: QT_TRANSLATE_NOOP("terms", "Principal and bonus in proportion"),
    DrawOrder.PRINCIPAL_FIRST: QT_TRANSLATE_NOOP("terms", "Principal first"),
    DrawOrder.BONUS_FIRST: QT_TRANSLATE_NOOP("terms", "Bonus first"),
}

_hasher = PasswordHasher()


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Balance:
    principal_fen: int
    bonus_fen: int

    @property
    def total_fen(self) -> int:
        return self.principal_fen + self.bonus_fen


@dataclass(frozen=True)
class BonusRule:
    id: int
    min_topup_fen: int
    bonus_fen: int
    starts_on: date | None
    ends_on: date | None
    tier_id: int | None
    tier_name: str
    active: bool

    @property
    def label(self) -> str:
        """充200送20: how shops name such a rule, the same in every language."""
        return f"充{money_text(self.min_topup_fen)[1:]}送{money_text(self.bonus_fen)[1:]}".replace(".00", "")


@dataclass(frozen=True)
class TopUpResult:
    entry_id: int
    principal_fen: int
    bonus_fen: int
    rule: BonusRule | None
    balance: Balance
    why: tuple[str, dict[str, object]]  # which bonus rule applied and why (or why none): a template and its values


@dataclass(frozen=True)
class Draw:
    """What a wallet payment took: principal and bonus, both positive."""

    principal_fen: int
    bonus_fen: int

    @property
    def total_fen(self) -> int:
        return self.principal_fen + self.bonus_fen


@dataclass(frozen=True)
class CashOutResult:
    entry_id: int
    principal_fen: int  # paid back to the member
    bonus_forfeited_fen: int


@dataclass(frozen=True)
class WalletRow:
    id: int
    at: datetime
    kind: WalletKind
    principal_fen: int
    bonus_fen: int
    receipt_no: str
    payment_method: str
    staff_name: str
    reason: str


# Why a top-up got the bonus it got (translated in the "errors" context like any message).
WHY_RULE = QT_TRANSLATE_NOOP("errors", "{rule}: a top-up of {amount} reaches {threshold}, so {bonus} is added.")
WHY_NO_RULE = QT_TRANSLATE_NOOP("errors", "No top-up bonus applies today.")
WHY_BELOW = QT_TRANSLATE_NOOP("errors", "No bonus: {rule} needs a top-up of at least {threshold}.")


# --------------------------------------------------------------------------- reading


def balance(session: Session, member_id: int) -> Balance:
    row = session.execute(sa.select(Member.wallet_principal_fen, Member.wallet_bonus_fen).where(Member.id == member_id)).first()
    if row is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    return Balance(int(row[0]), int(row[1]))


@dataclass(frozen=True)
class Liability:
    """What the shop owes its members in stored value now."""

    principal_fen: int
    bonus_fen: int
    wallets: int  # members holding any

    @property
    def total_fen(self) -> int:
        return self.principal_fen + self.bonus_fen


def liability(session: Session) -> Liability:
    principal, bonus, wallets = session.execute(sa.select(
        sa.func.coalesce(sa.func.sum(Member.wallet_principal_fen), 0), sa.func.coalesce(sa.func.sum(Member.wallet_bonus_fen), 0),
        sa.func.count().filter((Member.wallet_principal_fen + Member.wallet_bonus_fen) > 0))).one()
    return Liability(int(principal), int(bonus), int(wallets))


def ledger_sums(session: Session, member_id: int) -> Balance:
    """The ledger's own sums, to check the cached balance against."""
    principal, bonus = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(WalletEntry.principal_fen), 0), sa.func.coalesce(sa.func.sum(WalletEntry.bonus_fen), 0))
        .where(WalletEntry.member_id == member_id)
    ).one()
    return Balance(int(principal), int(bonus))


def ledger_page(session: Session, member_id: int, *, offset: int = 0, limit: int = 100) -> list[WalletRow]:
    """The member's wallet entries, newest first."""
    rows = session.execute(
        sa.select(WalletEntry.id, WalletEntry.at, WalletEntry.kind, WalletEntry.principal_fen, WalletEntry.bonus_fen,
                  Purchase.receipt_no, WalletEntry.payment_method, Staff.name, WalletEntry.reason)
        .outerjoin(Purchase, Purchase.id == WalletEntry.purchase_id)
        .outerjoin(Staff, Staff.id == WalletEntry.staff_id)
        .where(WalletEntry.member_id == member_id)
        .order_by(WalletEntry.at.desc(), WalletEntry.id.desc()).offset(offset).limit(limit)
    ).all()
    return [WalletRow(r[0], r[1], r[2], int(r[3]), int(r[4]), r[5] or "", r[6], r[7] or "", r[8]) for r in rows]


def moved_by_purchase(session: Session, purchase_id: int) -> Balance:
    """What a purchase moved in the wallet, signed: a sale's payment takes (negative), a refund's puts back."""
    principal, bonus = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(WalletEntry.principal_fen), 0), sa.func.coalesce(sa.func.sum(WalletEntry.bonus_fen), 0))
        .where(WalletEntry.purchase_id == purchase_id)
    ).one()
    return Balance(int(principal), int(bonus))


def has_pin(session: Session, member_id: int) -> bool:
    """Whether the member chose a payment PIN for their wallet."""
    return bool(session.scalar(sa.select(Member.pay_pin_hash.is_not(None)).where(Member.id == member_id)))


# --------------------------------------------------------------------------- bonus rules


def _rule(row: WalletBonusRule, tier_names: dict[int, str]) -> BonusRule:
    return BonusRule(row.id, int(row.min_topup_fen), int(row.bonus_fen), row.starts_on, row.ends_on, row.tier_id,
                     tier_names.get(row.tier_id, "") if row.tier_id else "", row.active)


def _tier_names(session: Session) -> dict[int, str]:
    return dict(session.execute(sa.select(Tier.id, Tier.name)).all())


def bonus_rules(session: Session, *, include_inactive: bool = False) -> list[BonusRule]:
    query = sa.select(WalletBonusRule).order_by(WalletBonusRule.min_topup_fen, WalletBonusRule.id)
    if not include_inactive:
        query = query.where(WalletBonusRule.active.is_(True))
    names = _tier_names(session)
    return [_rule(row, names) for row in session.scalars(query)]


def add_bonus_rule(session: Session, actor: Actor, *, min_topup_fen: int, bonus_fen: int, starts_on: date | None = None,
                   ends_on: date | None = None, tier_id: int | None = None) -> BonusRule:
    """充200送20: the owner's rule; the best rule a top-up reaches applies, one per top-up."""
    require(actor, Permission.MANAGE_MONEY_RULES)
    if not 0 < min_topup_fen <= MAX_TOPUP_FEN:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A top-up bonus needs a top-up of more than ¥0.00."), field="min_topup")
    if not 0 < bonus_fen < min_topup_fen:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The bonus must be more than ¥0.00 and less than the top-up it rewards."),
                           field="bonus")
    if starts_on and ends_on and ends_on < starts_on:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The bonus ends before it starts."), field="ends_on")
    if tier_id is not None and session.get(Tier, tier_id) is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No tier with id {id}."), id=tier_id)
    row = WalletBonusRule(min_topup_fen=min_topup_fen, bonus_fen=bonus_fen, starts_on=starts_on, ends_on=ends_on, tier_id=tier_id,
                          active=True)
    session.add(row)
    session.flush()
    audit.record(session, actor, "wallet.bonus_rule", "wallet_bonus_rule", row.id, min_topup_fen=min_topup_fen,
                 bonus_fen=bonus_fen, starts_on=starts_on.isoformat() if starts_on else None,
                 ends_on=ends_on.isoformat() if ends_on else None, tier_id=tier_id)
    return _rule(row, _tier_names(session))


def end_bonus_rule(session: Session, actor: Actor, rule_id: int) -> None:
    """A rule stops applying to top-ups from now on; those it rewarded keep their bonus."""
    require(actor, Permission.MANAGE_MONEY_RULES)
    row = session.get(WalletBonusRule, rule_id)
    if row is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No top-up bonus with id {id}."), id=rule_id)
    row.active = False
    audit.record(session, actor, "wallet.bonus_rule_end", "wallet_bonus_rule", rule_id)


def bonus_for(session: Session, member: Member, amount_fen: int, day: date) -> tuple[BonusRule | None, tuple[str, dict[str, object]]]:
    """The rule a top-up of ``amount_fen`` gets today (the biggest bonus it reaches) and why, or why none."""
    rules = [rule for rule in bonus_rules(session)
             if (rule.starts_on is None or rule.starts_on <= day) and (rule.ends_on is None or rule.ends_on >= day)
             and (rule.tier_id is None or rule.tier_id == member.tier_id)]
    reached = [rule for rule in rules if rule.min_topup_fen <= amount_fen]
    if reached:
        best = max(reached, key=lambda rule: (rule.bonus_fen, rule.min_topup_fen))
        return best, (WHY_RULE, {"rule": best.label, "amount": money_text(amount_fen), "threshold": money_text(best.min_topup_fen),
                                 "bonus": money_text(best.bonus_fen)})
    if rules:
        nearest = min(rules, key=lambda rule: rule.min_topup_fen)
        return None, (WHY_BELOW, {"rule": nearest.label, "threshold": money_text(nearest.min_topup_fen)})
    return None, (WHY_NO_RULE, {})


def bonus_preview(session: Session, member_id: int, amount_fen: int, day: date | None = None) -> tuple[BonusRule | None, tuple[str, dict[str, object]]]:
    """What a top-up of ``amount_fen`` would get today (for the counter to show while it is typed); writes nothing."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    return bonus_for(session, member, amount_fen, day or shop_time.today())


# --------------------------------------------------------------------------- writing


def member_for_update(session: Session, member_id: int) -> Member:
    """The member's row, locked until the transaction ends: the one lock every wallet and credit change takes."""
    member = session.execute(sa.select(Member).where(Member.id == member_id).with_for_update()).scalar_one_or_none()
    if member is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    return member


def _post(session: Session, member: Member, kind: WalletKind, principal_fen: int, bonus_fen: int, *, at: datetime,
          actor: Actor | None, purchase_id: int | None = None, rule_id: int | None = None, method: str = "",
          reason: str = "") -> WalletEntry:
    entry = WalletEntry(member_id=member.id, at=at, kind=kind, principal_fen=principal_fen, bonus_fen=bonus_fen,
                        purchase_id=purchase_id, bonus_rule_id=rule_id, payment_method=method,
                        staff_id=actor.staff_id if actor else None, reason=reason)
    session.add(entry)
    member.wallet_principal_fen += principal_fen
    member.wallet_bonus_fen += bonus_fen
    return entry


def _check_active(member: Member) -> None:
    if member.status is not MemberStatus.ACTIVE:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{name}'s membership is {status}: the wallet cannot be used."),
                           name=member.name, status=member_status_term(member.status))


def _check_reason(reason: str, *, required: bool = False) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Give the reason."), field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The note is too long: at most {count} characters."), field="reason",
                           count=MAX_REASON)
    return reason


def _check_cap(member: Member, adding_fen: int, rules: MoneyRules) -> None:
    cap = rules.cap_fen
    if cap is not None and member.wallet_principal_fen + member.wallet_bonus_fen + adding_fen > cap:
        room = max(0, cap - member.wallet_principal_fen - member.wallet_bonus_fen)
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "A member's stored value may not exceed {cap} under the prepaid card rules: "
                                        "{name} holds {balance}, so {room} more at most (bonus included)."),
            field="amount", cap=money_text(cap), name=member.name,
            balance=money_text(member.wallet_principal_fen + member.wallet_bonus_fen), room=money_text(room))


def top_up(session: Session, actor: Actor, member_id: int, amount_fen: int, *, payment_method: str,
           now: datetime | None = None, request_id: str | None = None) -> TopUpResult:
    """Money paid in at the counter (recorded, not processed), with the bonus the owner's rules give. A till's
    ``request_id`` makes asking again after a network failure safe (services/requests.py)."""
    now = now or datetime.now(timezone.utc)
    if not 0 < amount_fen <= MAX_TOPUP_FEN:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A top-up must be more than ¥0.00 and at most ¥100,000.00."), field="amount")
    if payment_method not in TOPUP_METHODS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A top-up is paid in cash, by WeChat Pay, Alipay or bank card, not '{method}'."),
                           field="payment_method", method=payment_method)
    requests.once(session, request_id, "wallet.top_up", member_id)
    member = member_for_update(session, member_id)
    _check_active(member)
    rule, why = bonus_for(session, member, amount_fen, shop_time.local_day(now))
    bonus = rule.bonus_fen if rule else 0
    _check_cap(member, amount_fen + bonus, money_settings.get(session))
    entry = _post(session, member, WalletKind.TOPUP, amount_fen, bonus, at=now, actor=actor,
                  rule_id=rule.id if rule else None, method=payment_method)
    session.flush()
    audit.record(session, actor, "wallet.topup", "member", member.id, entry=entry.id, amount_fen=amount_fen, bonus_fen=bonus,
                 payment_method=payment_method)
    return TopUpResult(entry.id, amount_fen, bonus, rule, Balance(member.wallet_principal_fen, member.wallet_bonus_fen), why)


def _split(member: Member, amount_fen: int, order: DrawOrder) -> Draw:
    principal, bonus = member.wallet_principal_fen, member.wallet_bonus_fen
    if order is DrawOrder.PRINCIPAL_FIRST:
        from_principal = min(amount_fen, principal)
    elif order is DrawOrder.BONUS_FIRST:
        from_principal = amount_fen - min(amount_fen, bonus)
    else:  # in the balance's own proportion, the odd fen from the principal
        from_principal = -(-amount_fen * principal // (principal + bonus))
        from_principal = max(amount_fen - bonus, min(from_principal, principal))
    return Draw(from_principal, amount_fen - from_principal)


def spend(session: Session, actor: Actor, member: Member, amount_fen: int, *, purchase_id: int, at: datetime,
          pay_pin: str | None = None) -> Draw:
    """Pay ``amount_fen`` of a purchase from the wallet. ``member`` is locked by the caller (the purchase's own
    transaction); refused beyond the balance, for a member who is not active, and without the member's PIN when
    the owner asks for it above an amount."""
    _check_active(member)
    total = member.wallet_principal_fen + member.wallet_bonus_fen
    if amount_fen > total:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{name}'s wallet holds {balance}; {amount} cannot be paid from it."),
                           field="wallet", name=member.name, balance=money_text(total), amount=money_text(amount_fen))
    rules = money_settings.get(session)
    if pin_needed(member, amount_fen, rules) and not _pin_matches(member, pay_pin or ""):
        raise AuthenticationFailed(QT_TRANSLATE_NOOP("errors", "The member's payment PIN is needed for {amount} from the wallet."),
                                   amount=money_text(amount_fen), field="pay_pin")
    draw = _split(member, amount_fen, rules.draw_order)
    _post(session, member, WalletKind.PAYMENT, -draw.principal_fen, -draw.bonus_fen, at=at, actor=actor, purchase_id=purchase_id)
    return draw


def refund_spend(session: Session, actor: Actor, member: Member, *, sale_id: int, refund_id: int, back_by_now_fen: int,
                 at: datetime) -> Draw:
    """Put a refunded purchase's wallet part back into the wallet it was paid from, so that ``back_by_now_fen`` in
    all has come back for that sale (refunds of it in part add up): principal and bonus in the proportion the sale
    took them, never more of either than it took. What came back with this refund."""
    took_principal, took_bonus = (int(v) for v in session.execute(
        sa.select(sa.func.coalesce(-sa.func.sum(WalletEntry.principal_fen), 0), sa.func.coalesce(-sa.func.sum(WalletEntry.bonus_fen), 0))
        .where(WalletEntry.purchase_id == sale_id, WalletEntry.kind == WalletKind.PAYMENT)
    ).one())
    back_principal, back_bonus = (int(v) for v in session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(WalletEntry.principal_fen), 0), sa.func.coalesce(sa.func.sum(WalletEntry.bonus_fen), 0))
        .join(Purchase, Purchase.id == WalletEntry.purchase_id)
        .where(Purchase.refund_of_id == sale_id, WalletEntry.kind == WalletKind.REFUND)
    ).one())
    took = took_principal + took_bonus
    target = min(back_by_now_fen, took)
    amount_fen = target - back_principal - back_bonus
    if amount_fen <= 0:
        return Draw(0, 0)
    principal = took_principal * target // took - back_principal
    draw = Draw(principal, amount_fen - principal)
    _post(session, member, WalletKind.REFUND, draw.principal_fen, draw.bonus_fen, at=at, actor=actor, purchase_id=refund_id)
    return draw


def cash_out(session: Session, actor: Actor, member_id: int, *, payment_method: str = "cash", reason: str = "",
             now: datetime | None = None, request_id: str | None = None) -> CashOutResult:
    """退卡退余额: pay the principal back and close the wallet; the bonus is forfeited. A supervisor or the owner."""
    require(actor, Permission.CASH_OUT_WALLET)
    requests.once(session, request_id, "wallet.cashout", member_id)  # sent again after a network failure: done once
    reason = _check_reason(reason)
    if payment_method not in TOPUP_METHODS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A cash-out is paid in cash, by WeChat Pay, Alipay or bank card, not '{method}'."),
                           field="payment_method", method=payment_method)
    now = now or datetime.now(timezone.utc)
    member = member_for_update(session, member_id)
    principal, bonus = member.wallet_principal_fen, member.wallet_bonus_fen
    if principal + bonus == 0:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{name}'s wallet is empty: there is nothing to pay back."), name=member.name)
    entry = _post(session, member, WalletKind.CASHOUT, -principal, -bonus, at=now, actor=actor, method=payment_method, reason=reason)
    session.flush()
    audit.record(session, actor, "wallet.cashout", "member", member.id, entry=entry.id, principal_fen=principal,
                 bonus_forfeited_fen=bonus, payment_method=payment_method, reason=reason)
    return CashOutResult(entry.id, principal, bonus)


def adjust(session: Session, actor: Actor, member_id: int, *, principal_fen: int = 0, bonus_fen: int = 0, reason: str,
           now: datetime | None = None, request_id: str | None = None) -> Balance:
    """A correction by the owner, with its reason: never below zero, never above the cap."""
    require(actor, Permission.ADJUST_MONEY)
    requests.once(session, request_id, "wallet.adjust", member_id)  # sent again after a network failure: done once
    reason = _check_reason(reason, required=True)
    if principal_fen == 0 and bonus_fen == 0:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A correction must change the principal or the bonus."), field="amount")
    member = member_for_update(session, member_id)
    if member.wallet_principal_fen + principal_fen < 0 or member.wallet_bonus_fen + bonus_fen < 0:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{name}'s wallet holds {principal} principal and {bonus} bonus; "
                                                       "it cannot go below zero."),
                           field="amount", name=member.name, principal=money_text(member.wallet_principal_fen),
                           bonus=money_text(member.wallet_bonus_fen))
    if principal_fen + bonus_fen > 0:
        _check_cap(member, principal_fen + bonus_fen, money_settings.get(session))
    entry = _post(session, member, WalletKind.ADJUSTMENT, principal_fen, bonus_fen, at=now or datetime.now(timezone.utc),
                  actor=actor, reason=reason)
    session.flush()
    audit.record(session, actor, "wallet.adjust", "member", member.id, entry=entry.id, principal_fen=principal_fen,
                 bonus_fen=bonus_fen, reason=reason)
    return Balance(member.wallet_principal_fen, member.wallet_bonus_fen)


def open_balance(session: Session, actor: Actor, member: Member, *, principal_fen: int, bonus_fen: int = 0, reason: str,
                 at: datetime) -> None:
    """A balance brought over from an old system (the import, in its own transaction with the member locked)."""
    require(actor, Permission.IMPORT_MEMBERS)
    if principal_fen < 0 or bonus_fen < 0:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "An opening balance cannot be negative."), field="wallet")
    if principal_fen or bonus_fen:
        _check_cap(member, principal_fen + bonus_fen, money_settings.get(session))
        _post(session, member, WalletKind.OPENING, principal_fen, bonus_fen, at=at, actor=actor, reason=reason[:MAX_REASON])


# --------------------------------------------------------------------------- the member's payment PIN


def _pin_matches(member: Member, pin: str) -> bool:
    if not member.pay_pin_hash:
        return False
    try:
        return _hasher.verify(member.pay_pin_hash, validate_pin(pin))
    except (VerificationError, InvalidHashError, InvalidInput):
        return False


def pin_needed(member: Member, amount_fen: int, rules: MoneyRules) -> bool:
    """The member chose a PIN, and this payment is above the small amount the owner lets through without it."""
    return pin_needed_for(bool(member.pay_pin_hash), amount_fen, rules)


def pin_needed_for(has_pin: bool, amount_fen: int, rules: MoneyRules) -> bool:
    return has_pin and amount_fen > rules.pin_above_fen


def set_pin(session: Session, actor: Actor, member_id: int, pin: str | None) -> None:
    """The member chooses (or, with None, removes) their wallet payment PIN at the counter."""
    member = member_for_update(session, member_id)
    member.pay_pin_hash = _hasher.hash(validate_pin(pin)) if pin else None
    member.pay_pin_failures = 0
    member.pay_pin_locked_until = None
    audit.record(session, actor, "wallet.pin_set" if pin else "wallet.pin_removed", "member", member.id)


def check_pin(db: Database, member_id: int, pin: str, *, now: datetime | None = None) -> None:
    """Check the member's PIN before a wallet payment, counting wrong ones (in its own transaction, so a wrong
    PIN is counted although the payment does not happen); five wrong ones stop wallet payments for a while."""
    now = now or datetime.now(timezone.utc)
    failure: AuthenticationFailed | None = None
    with unit_of_work(db) as session:
        member = member_for_update(session, member_id)
        if member.pay_pin_locked_until is not None and member.pay_pin_locked_until > now:
            minutes = shop_time.minutes_until(member.pay_pin_locked_until, now)
            raise AuthenticationFailed(QT_TRANSLATE_NOOP("errors", "Too many wrong PINs: wallet payments of {name} wait {minutes} min."),
                                       name=member.name, minutes=minutes, field="pay_pin")
        if _pin_matches(member, pin):
            member.pay_pin_failures = 0
            return
        member.pay_pin_failures += 1
        if member.pay_pin_failures >= PIN_TRIES:
            member.pay_pin_failures = 0
            member.pay_pin_locked_until = now + PIN_LOCK
            audit.record(session, None, "wallet.pin_locked", "member", member.id)
            failure = AuthenticationFailed(QT_TRANSLATE_NOOP("errors", "Too many wrong PINs: wallet payments of {name} wait {minutes} min."),
                                           name=member.name, minutes=int(PIN_LOCK.total_seconds() // 60), field="pay_pin")
        else:
            failure = AuthenticationFailed(QT_TRANSLATE_NOOP("errors", "Wrong payment PIN. Tries left: {left}."),
                                           left=PIN_TRIES - member.pay_pin_failures, field="pay_pin")
    raise failure
