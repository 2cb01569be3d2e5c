"""The figures of the owner's money documents: the month's stored-value liability (储值负债), the credit
aging list (应收账款账龄) and one member's statement of account (对账单).

Definitions (each pinned by a test on hand-computed data, tests/reports/test_money_documents.py):

* A month is a run of the shop's calendar days (crmdesk/shop_time.py): from local midnight of its
  first day to local midnight after its last day, whatever zone the PC is set to.
* **Opening** is the sum of every wallet entry before the month starts, principal and bonus apart:
  what the shop owed its members at that moment. **Closing** is the opening plus every entry of the
  month, so a month's closing is the next month's opening, and (the ledger being the truth of the
  cached balances) the sum of the members' cached balances at the month's end. A month still under
  way closes at ``now``: nothing later is recorded yet.
* **Movements** are the month's wallet entries summed per kind in SQL (GROUP BY kind), every kind
  listed even when nothing of it happened, so one month reads like the next: top-ups (principal paid
  in and the bonus given with it), payments, refunds into wallets, cash-outs (principal paid back and
  bonus forfeited), corrections (net), opening balances imported. Every member counts, whatever their
  status: a closed member's balance not yet paid back is still owed.
* **Paid in and paid back** per payment method: the principal of top-ups and cash-outs of the month by
  cash, WeChat Pay, Alipay or bank card, to be matched with the till and the payment statements.
* **Aging**: what is owed as of the end of a day, by how many days past its due day (credit.aging's
  buckets), per member; members with anything overdue first, longest overdue first, then the members
  whose debt is not yet due, most owed first; with the latest promise to pay of the overdue ones.
* **Statement**: credit.statement for the period, with a running balance, the member's limit and term,
  and the charges still open at the end of the period with their due days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk import shop_time
from crmdesk.errors import InvalidInput, NotFound
from crmdesk.models import CreditAccount, Member, WalletEntry, WalletKind
from crmdesk.services import credit, members, money_settings
from crmdesk.services.complaint_figures import add_months
from crmdesk.texts import QT_TRANSLATE_NOOP

# The order the liability's movements are listed in.
WALLET_ORDER = (WalletKind.TOPUP, WalletKind.PAYMENT, WalletKind.REFUND, WalletKind.CASHOUT, WalletKind.ADJUSTMENT,
                WalletKind.OPENING)
METHOD_ORDER = ("cash", "wechat", "alipay", "card")


# --------------------------------------------------------------------------- stored-value liability


@dataclass(frozen=True)
class Split:
    """Money of the wallets, principal (paid in by members) and bonus (added by the shop) apart."""

    principal_fen: int = 0
    bonus_fen: int = 0

    @property
    def total_fen(self) -> int:
        return self.principal_fen + self.bonus_fen

    def __add__(self, other: Split) -> Split:
        return Split(self.principal_fen + other.principal_fen, self.bonus_fen + other.bonus_fen)


@dataclass(frozen=True)
class WalletMovement:
    """The month's wallet entries of one kind, summed (signed: + into the wallets, − out of them)."""

    kind: WalletKind
    money: Split
    entries: int
    principal_entries: int = 0  # of them, those that moved principal
    bonus_entries: int = 0  # ... and bonus


@dataclass(frozen=True)
class MethodLine:
    """Principal paid in by top-ups and paid back by cash-outs with one payment method in the month."""

    method: str
    topups: int
    topup_fen: int
    cashouts: int
    cashout_fen: int  # positive: what was paid back


@dataclass(frozen=True)
class LiabilityMonth:
    month: date  # its first day
    last_day: date
    as_of: datetime  # the closing moment: the month's end, or now for the month under way
    complete: bool  # the month is over
    opening: Split
    movements: tuple[WalletMovement, ...]  # in WALLET_ORDER
    closing: Split
    methods: tuple[MethodLine, ...]  # the usual methods first, any other after them
    members_holding: int  # members with stored value at the close
    largest_fen: int  # the largest balance at the close
    cap_fen: int | None  # the prepaid card rules' cap per member, when the shop applies them

    def movement(self, kind: WalletKind) -> WalletMovement:
        return next(m for m in self.movements if m.kind is kind)

    @property
    def change(self) -> Split:
        return Split(self.closing.principal_fen - self.opening.principal_fen, self.closing.bonus_fen - self.opening.bonus_fen)


def _sums(session: Session, *conditions: sa.ColumnElement[bool]) -> Split:
    principal, bonus = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(WalletEntry.principal_fen), 0), sa.func.coalesce(sa.func.sum(WalletEntry.bonus_fen), 0))
        .where(*conditions)
    ).one()
    return Split(int(principal), int(bonus))


def liability_month(session: Session, month: date, *, now: datetime | None = None) -> LiabilityMonth:
    """What the shop owed its members in stored value over the month that holds ``month`` (any day of it)."""
    now = now or datetime.now(UTC)
    first = month.replace(day=1)
    following = add_months(first, 1)
    if first > shop_time.local_day(now):
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{month} has not started yet."), field="month",
                           month=first.strftime("%Y-%m"))
    start, end = shop_time.day_start(first), shop_time.day_start(following)
    as_of = min(end, now)
    in_month = (WalletEntry.at >= start, WalletEntry.at < end)
    opening = _sums(session, WalletEntry.at < start)
    def moved(column: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
        return sa.func.sum(sa.case((column != 0, 1), else_=0))

    found = {
        kind: WalletMovement(kind, Split(int(principal), int(bonus)), int(count), int(with_principal), int(with_bonus))
        for kind, principal, bonus, count, with_principal, with_bonus in session.execute(
            sa.select(WalletEntry.kind, sa.func.sum(WalletEntry.principal_fen), sa.func.sum(WalletEntry.bonus_fen),
                      sa.func.count(), moved(WalletEntry.principal_fen), moved(WalletEntry.bonus_fen))
            .where(*in_month).group_by(WalletEntry.kind))
    }
    movements = tuple(found.get(kind, WalletMovement(kind, Split(), 0)) for kind in WALLET_ORDER)
    closing = opening
    for movement in movements:
        closing = closing + movement.money
    methods: dict[str, list[int]] = {}
    for kind, method, count, principal in session.execute(
        sa.select(WalletEntry.kind, WalletEntry.payment_method, sa.func.count(), sa.func.sum(WalletEntry.principal_fen))
        .where(*in_month, WalletEntry.kind.in_((WalletKind.TOPUP, WalletKind.CASHOUT)))
        .group_by(WalletEntry.kind, WalletEntry.payment_method)
    ):
        line = methods.setdefault(method or "cash", [0, 0, 0, 0])
        if kind is WalletKind.TOPUP:
            line[0] += int(count)
            line[1] += int(principal)
        else:
            line[2] += int(count)
            line[3] -= int(principal)
    ordered = [m for m in METHOD_ORDER if m in methods] + sorted(m for m in methods if m not in METHOD_ORDER)
    balances = (
        sa.select((sa.func.sum(WalletEntry.principal_fen) + sa.func.sum(WalletEntry.bonus_fen)).label("total"))
        .where(WalletEntry.at < end).group_by(WalletEntry.member_id).subquery()
    )
    holding, largest = session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(balances.c.total), 0)).where(balances.c.total > 0)
    ).one()
    return LiabilityMonth(
        first, following - timedelta(days=1), as_of, end <= now, opening, movements, closing,
        tuple(MethodLine(m, *methods[m]) for m in ordered), int(holding), int(largest), money_settings.get(session).cap_fen)


# --------------------------------------------------------------------------- credit aging


@dataclass(frozen=True)
class AgingLine:
    """One member's debt as of the day, by bucket."""

    member_id: int
    member_no: str
    name: str
    phone: str  # masked
    buckets: tuple[int, ...]  # fen per credit.BUCKETS
    oldest_overdue_days: int  # 0 when nothing is overdue
    last_note_at: datetime | None  # the latest collection note (overdue members)
    promised_on: date | None  # the latest promise to pay (overdue members)
    promise_passed: bool

    @property
    def owed_fen(self) -> int:
        return sum(self.buckets)

    @property
    def overdue_fen(self) -> int:
        return self.owed_fen - self.buckets[0]


@dataclass(frozen=True)
class AgingReport:
    as_of: date
    aging: credit.Aging  # the shop's buckets
    bucket_members: tuple[int, ...]  # members with money in each bucket, per credit.BUCKETS
    lines: tuple[AgingLine, ...]  # overdue first (longest overdue first), then not yet due (most owed first)
    limits_fen: int  # the credit granted to the members who owe (their limits, summed)

    @property
    def overdue_members(self) -> int:
        return sum(1 for line in self.lines if line.oldest_overdue_days > 0)


def aging_report(session: Session, *, as_of: date | None = None, today: date | None = None) -> AgingReport:
    """The shop's credit aging as of the end of ``as_of`` (today by default), member by member."""
    today = today or shop_time.today()
    as_of = as_of or today
    if as_of > today:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The aging is as of today or a day before, not {date}."), field="as_of",
                           date=as_of.isoformat())
    charges = credit.open_charges(session, None, as_of)
    overdue = {row.member_id: row for row in credit.overdue_members(session, as_of=as_of)}
    people = _people(session, charges)
    limits = {member_id: int(limit) for member_id, limit in session.execute(  # every account: no IN of every debtor
        sa.select(CreditAccount.member_id, CreditAccount.limit_fen))}
    aging = credit.Aging(as_of)
    counts = dict.fromkeys(credit.BUCKETS, 0)
    lines = []
    for member_id, rows in charges.items():
        buckets = dict.fromkeys(credit.BUCKETS, 0)
        for row in rows:
            buckets[row.bucket] += row.outstanding_fen
        for bucket, fen in buckets.items():
            aging.buckets[bucket] += fen
            counts[bucket] += 1 if fen else 0
        member_no, name, phone = people[member_id]
        late = overdue.get(member_id)
        lines.append(AgingLine(
            member_id, member_no, name, members.masked_phone(phone), tuple(buckets[b] for b in credit.BUCKETS),
            max((row.days_overdue for row in rows), default=0), late.last_note_at if late else None,
            late.promised_on if late else None, bool(late and late.promise_passed)))
    aging.members = len(lines)
    lines.sort(key=lambda line: (-line.oldest_overdue_days, -line.overdue_fen, -line.owed_fen, line.member_no))
    return AgingReport(as_of, aging, tuple(counts[b] for b in credit.BUCKETS), tuple(lines),
                       sum(limits.get(member_id, 0) for member_id in charges))


def _people(session: Session, member_ids: Iterable[int]) -> dict[int, tuple[str, str, str | None]]:
    ids = list(member_ids)
    found: dict[int, tuple[str, str, str | None]] = {}
    for start in range(0, len(ids), 5_000):  # within any database's limit of bound values
        for member_id, member_no, name, phone in session.execute(
            sa.select(Member.id, Member.member_no, Member.name, Member.phone).where(Member.id.in_(ids[start:start + 5_000]))
        ):
            found[member_id] = (member_no, name, phone)
    return found


# --------------------------------------------------------------------------- statement of account


@dataclass(frozen=True)
class StatementLine:
    row: credit.CreditRow
    balance_fen: int  # owed after this movement


@dataclass(frozen=True)
class StatementOfAccount:
    member_id: int
    member_no: str
    name: str
    phone_text: str  # masked unless full numbers were asked for
    first: date
    last: date
    opening_fen: int
    closing_fen: int
    charged_fen: int
    reduced_fen: int  # repaid, refunded and written off
    lines: tuple[StatementLine, ...]
    limit_fen: int | None  # None: no credit account
    term_days: int | None
    open_at_end: tuple[credit.OpenCharge, ...]  # charges still owed at the end of the period (or today), oldest due first


def statement_of_account(session: Session, member_id: int, first: date, last: date, *, full_phones: bool = False,
                         today: date | None = None) -> StatementOfAccount:
    """对账单: the member's debt from the start of ``first`` to the end of ``last``, movement by movement; the charges
    still open at the end of the period (or today, for a period not over yet) with the days they are overdue."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    statement = credit.statement(session, member_id, first, last)
    balance = statement.opening_fen
    lines = []
    for row in statement.rows:
        balance += row.amount_fen
        lines.append(StatementLine(row, balance))
    account = session.get(CreditAccount, member_id)
    open_at_end = credit.open_charges(session, [member_id], min(last, today or shop_time.today())).get(member_id, [])
    phone = members.display_phone(member.phone) if full_phones else members.masked_phone(member.phone)
    return StatementOfAccount(
        member_id, member.member_no, member.name, phone, first, last, statement.opening_fen, statement.closing_fen,
        statement.charged_fen, statement.repaid_fen, tuple(lines), int(account.limit_fen) if account else None,
        account.term_days if account else None, tuple(open_at_end))
