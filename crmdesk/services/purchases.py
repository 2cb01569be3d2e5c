"""Purchases and refunds: recording them with their points, totals and tier in one transaction.

A receipt number is unique per till: posting the same receipt again changes
nothing and says so, because POS hand-offs and imports retry.

A sale recorded without a receipt number (a shop without a POS, a quick entry at
the counter) gets one: the shop-local day of the sale and a running number for
that till and day, ``YYYYMMDD-NNNN`` (``20261204-0007`` is the seventh generated
receipt of 4 December 2026 at that till). They read well, sort in the order they
were given, and are found by one lookup on the (till, receipt_no) unique index:
the highest number of the day at the till, plus one. Generated numbers stop at
9999 a till and day (a shop that busy has a POS that numbers its receipts).
Two tills recording at once cannot get the same number: on SQLite the unit of
work holds the write lock from BEGIN, and on PostgreSQL the insert is an
INSERT ... ON CONFLICT DO NOTHING, so one that loses the race on the unique index
inserts nothing and takes the next number. A generated number, like one given, is
part of the result (``PurchaseResult.receipt_no``) for the counter to show.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from crmdesk.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crmdesk.models import Member, MemberStatus, PointsEntry, PointsKind, Purchase, PurchaseKind, PurchaseLine, Tier
from crmdesk.services import audit, credit, insight, loyalty, offers, payments, requests, wallet
from crmdesk.services.money import parse_yuan as parse_yuan  # the one money parser, re-exported for every caller
from crmdesk.services.auth import Permission, can
from crmdesk.services.driver_sql import DriverStatement
from crmdesk.services.member_query import member_status_term
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP

MAX_AMOUNT_FEN = 10_000_000  # ¥100,000 on one receipt is beyond any neighbourhood shop: a typo
FUTURE_TOLERANCE = timedelta(minutes=10)  # tills' clocks drift a little
MAX_LINES = 500
MAX_TILL_LENGTH = 20  # a till's name goes on every receipt it records
MAX_RECEIPT_LENGTH = 40
GENERATED_DIGITS = 4  # 20261204-0007: up to 9999 generated receipts a till and day
RECEIPT_ATTEMPTS = 20  # tries for a generated number when other tills take the next one first


# What a receipt is called (translated in the "terms" context).
PURCHASE_KIND_LABELS = {
    PurchaseKind.SALE: QT_TRANSLATE_NOOP("terms", "Sale"),
    PurchaseKind.REFUND: QT_TRANSLATE_NOOP("terms", "Refund"),
}

@dataclass(frozen=True)
class LineInput:
    item_code: str = ""
    name: str = ""
    category: str = ""
    quantity_milli: int = 1000
    unit_price_fen: int = 0
    amount_fen: int = 0


@dataclass(frozen=True)
class PurchaseResult:
    purchase_id: int
    member_id: int
    points: int  # earned (sale) or taken back (refund, negative)
    balance: int
    new_tier: str | None  # set when this purchase lifted the member to a higher tier
    already_recorded: bool = False
    receipt_no: str = ""  # the receipt number used: as given, or generated for a sale recorded without one


def check_amount(amount_fen: int, field: str = "amount") -> None:
    if amount_fen <= 0:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "An amount must be more than ¥0.00."), field=field)
    if amount_fen > MAX_AMOUNT_FEN:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "¥{amount} on one receipt is not plausible; check the amount."),
            field=field, amount=f"{amount_fen / 100:,.2f}",
        )


def _check_time(occurred_at: datetime, now: datetime) -> None:
    if occurred_at.tzinfo is None:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The purchase time needs a time zone."), field="time")
    if occurred_at > now + FUTURE_TOLERANCE:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "The purchase time {time} lies in the future."), field="time",
            time=occurred_at.astimezone(loyalty.SHOP_ZONE).strftime("%Y-%m-%d %H:%M"),
        )


def check_lines(lines: Sequence[LineInput], amount_fen: int) -> None:
    if len(lines) > MAX_LINES:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A receipt may have at most {count} lines."), field="lines", count=MAX_LINES)
    for number, line in enumerate(lines, start=1):
        if line.quantity_milli <= 0 or line.unit_price_fen < 0 or line.amount_fen < 0:
            raise InvalidInput(
                QT_TRANSLATE_NOOP("errors", "Line {line}: quantity must be positive and prices not negative."), field="lines", line=number
            )
        if len(line.name) > 200 or len(line.item_code) > 40 or len(line.category) > 60:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Line {line}: a text is too long."), field="lines", line=number)
    if lines and sum(line.amount_fen for line in lines) != amount_fen:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "The lines add up to ¥{lines}, the receipt says ¥{amount}."),
            field="lines", lines=f"{sum(line.amount_fen for line in lines) / 100:.2f}", amount=f"{amount_fen / 100:.2f}",
        )


@dataclass(frozen=True)
class _CounterMember:
    """The member's columns a sale reads and writes, read as plain values (no mapped object at the till)."""

    id: int
    name: str
    status: MemberStatus
    tier_id: int | None
    points_balance: int
    total_spend_fen: int
    last_visit_at: datetime | None
    rules_token: int | None


_COUNTER_MEMBER = DriverStatement(sa.select(
    Member.id, Member.name, Member.status, Member.tier_id, Member.points_balance, Member.total_spend_fen, Member.last_visit_at,
    loyalty.rules_token_column(),
).where(Member.id == sa.bindparam("member")).with_for_update(of=Member))


def _member_for_counter(session: Session, member_id: int, approved_by: Actor | None = None) -> _CounterMember | None:
    """The member (locked for the update, with the rules stamp's token), or None when their status forbids the
    sale -- the caller then says why, unless the receipt was recorded before. A frozen member's purchase needs
    ``approved_by``: a supervisor or the owner who signed at the till."""
    found = _COUNTER_MEMBER.first(session.connection(), {"member": member_id})
    if found is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    member = _CounterMember(*found)
    if member.status is MemberStatus.FROZEN and approved_by is not None:
        if not can(approved_by, Permission.CHANGE_MEMBER_STATUS):
            raise PermissionDenied(
                QT_TRANSLATE_NOOP("errors", "{name} may not approve purchases of frozen members; ask a supervisor or the owner."),
                name=approved_by.name)
    elif member.status is not MemberStatus.ACTIVE:
        return None
    return member


def _not_for_sale(session: Session, member_id: int) -> InvalidInput:
    name, status = session.connection().execute(sa.select(Member.name, Member.status).where(Member.id == member_id)).one()
    return InvalidInput(
        QT_TRANSLATE_NOOP("errors", "{name}'s membership is {status}: purchases cannot be recorded for it."),
        name=name, status=member_status_term(status),
    )


def _points_earned(session: Session, config: loyalty.CounterConfig, member_id: int, tier_pct: int, amount_fen: int,
                   lines: Sequence[LineInput], occurred_at: datetime) -> int:
    """The points a sale earns this member: the rules, the tier, the day and any points offer."""
    day = loyalty.local_day(occurred_at)
    offer_pct = offers.points_multiplier_pct(session, member_id, day) if config.points_offers else 100
    return loyalty.points_for(
        config.rules, amount_fen=amount_fen, lines=[loyalty.EarnLine(line.category, line.amount_fen) for line in lines],
        tier_pct=tier_pct or 100, day=day, offer_pct=offer_pct,
    )


def _existing(session: Session, till: str, receipt_no: str) -> Purchase | None:
    return session.scalar(sa.select(Purchase).where(Purchase.till == till, Purchase.receipt_no == receipt_no))


def next_receipt_no(session: Session, till: str, day: date) -> str:
    """The next generated receipt number of a till on a shop day, e.g. 20261204-0007.

    One lookup along the (till, receipt_no) unique index: the highest number of that day at
    that till that has the generated shape (given or generated) plus one. A hand-typed number
    of another shape (20261204-2) is not counted; should it be the next one anyway, the insert
    moves on past it (_insert_purchase)."""
    prefix = f"{day:%Y%m%d}-"
    last = session.scalar(
        sa.select(Purchase.receipt_no)
        .where(Purchase.till == till, Purchase.receipt_no >= prefix + "0" * GENERATED_DIGITS,
               Purchase.receipt_no <= prefix + "9" * GENERATED_DIGITS,
               sa.func.length(Purchase.receipt_no) == len(prefix) + GENERATED_DIGITS)
        .order_by(Purchase.receipt_no.desc()).limit(1)
    )
    suffix = last[len(prefix):] if last else ""
    return _generated(prefix, (int(suffix) if suffix.isdigit() else 0) + 1, till, day)


def _generated(prefix: str, number: int, till: str, day: date) -> str:
    if number >= 10**GENERATED_DIGITS:
        raise Conflict(
            QT_TRANSLATE_NOOP("errors", "Till {till} has used every generated receipt number of {day}; enter the receipt number."),
            till=till or "-", day=day.isoformat(),
        )
    return f"{prefix}{number:0{GENERATED_DIGITS}d}"


def _points_of(session: Session, purchase_id: int) -> int:
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.points), 0)).where(PointsEntry.purchase_id == purchase_id)) or 0)


def record_purchase(
    session: Session,
    actor: Actor,
    member_id: int,
    *,
    receipt_no: str = "",
    till: str,
    amount_fen: int,
    occurred_at: datetime | None = None,
    lines: Sequence[LineInput] = (),
    payment_method: str = "",
    now: datetime | None = None,
    approved_by: Actor | None = None,
    wallet_fen: int = 0,
    credit_fen: int = 0,
    pay_pin: str | None = None,
    request_id: str | None = None,
) -> PurchaseResult:
    """Record a sale with its points, the member's totals and any tier upgrade. A frozen member's sale
    needs ``approved_by`` (a supervisor or the owner who signed at the till); it is audited.

    ``wallet_fen`` of it is paid from the member's stored value (with ``pay_pin`` when the owner asks for
    the member's PIN above an amount) and ``credit_fen`` put on their credit account (``approved_by`` lets a
    charge pass the limit); ``payment_method`` (cash, WeChat Pay ...) pays the rest. All of it happens in this
    one transaction with the member's row locked: the wallet is never overdrawn, the limit never passed by
    another till at the same moment, and a crash leaves the sale and its money both or neither.

    An empty ``receipt_no`` gets a generated one (see the module's notes); a given
    one already recorded with the same details changes nothing. ``request_id`` (the till's id for this sale) makes
    sending it again after the connection broke at commit safe, with or without a receipt number: the second time
    raises requests.AlreadyDone (services/requests.py)."""
    now = now or datetime.now(timezone.utc)
    occurred_at = occurred_at or now
    receipt_no, till = (receipt_no or "").strip(), till.strip()
    if len(receipt_no) > MAX_RECEIPT_LENGTH or len(till) > MAX_TILL_LENGTH:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The receipt number or till name is too long."), field="receipt_no")
    check_amount(amount_fen)
    _check_time(occurred_at, now)
    check_lines(lines, amount_fen)
    payment_method = _check_payment(amount_fen, wallet_fen, credit_fen, payment_method)
    # The till's hot path: plain statements on the session's connection, no mapped objects. Whatever the
    # caller changed through the session so far goes out first, so the relative UPDATEs below build on it.
    session.flush()
    connection = session.connection()
    member = _member_for_counter(session, member_id, approved_by)
    if member is None:  # a closed or frozen member: posting a receipt recorded before still says it is done
        done = _already_recorded(session, member_id, till, receipt_no, amount_fen) if receipt_no else None
        if done is not None:
            return done
        raise _not_for_sale(session, member_id)
    config = loyalty.counter_config(session, member.rules_token)
    tier = config.tier(member.tier_id)
    points = _points_earned(session, config, member.id, tier.multiplier_pct if tier else 100, amount_fen, lines, occurred_at)
    row = {"member_id": member.id, "till": till, "kind": PurchaseKind.SALE, "occurred_at": occurred_at,
           "amount_fen": amount_fen, "payment_method": payment_method, "wallet_fen": wallet_fen, "credit_fen": credit_fen,
           "cashier_id": actor.staff_id, "refund_of_id": None}
    requests.once(session, request_id, "purchase.sale", member.id)
    inserted = _insert_purchase(session, row, receipt_no, loyalty.local_day(occurred_at))
    if inserted is None:  # posted before (a retry, or another till a moment ago)
        done = _already_recorded(session, member_id, till, receipt_no, amount_fen)
        if done is not None:
            return done
        raise Conflict(QT_TRANSLATE_NOOP("errors", "Receipt {receipt} of till {till} is already recorded with other details."),
                       receipt=receipt_no, till=till or "-")
    purchase_id, used = inserted
    if lines:
        connection.execute(sa.insert(PurchaseLine), [{
            "purchase_id": purchase_id, "item_code": l.item_code, "name": l.name, "category": l.category.strip(),
            "quantity_milli": l.quantity_milli, "unit_price_fen": l.unit_price_fen, "amount_fen": l.amount_fen} for l in lines])
    if points > 0:
        _EARN_ENTRY.run(connection, {
            "member_id": member.id, "at": occurred_at, "kind": PointsKind.EARN, "points": points,
            "expires_on": config.rules.expires_on(loyalty.local_day(occurred_at)), "purchase_id": purchase_id,
            "complaint_id": None, "staff_id": actor.staff_id, "reason": ""})
    new_day = member.last_visit_at is None or loyalty.local_day(member.last_visit_at) < loyalty.local_day(occurred_at)
    new_tier = config.lift(member.tier_id, member.total_spend_fen + amount_fen,
                           lambda: loyalty.spend_12_months(session, member.id, now))
    on_member = {"member": member.id, "points": points, "amount": amount_fen,
                 "last_visit": occurred_at if member.last_visit_at is None or occurred_at > member.last_visit_at else member.last_visit_at}
    if new_tier is None:
        _SALE_ON_MEMBER.run(connection, on_member)
    else:
        _SALE_LIFTING_MEMBER.run(connection, {**on_member, "tier": new_tier.id})
    insight.note_purchase(session, member.id, occurred_at, amount_fen, new_day=new_day, points=points)
    _forget_member(session, member.id)  # a mapped copy the caller holds would show the figures before this sale
    if wallet_fen or credit_fen:
        # Stored value and credit keep their own rules (PIN, cap, limit) on the mapped member, read after the update above.
        account = session.get(Member, member.id, populate_existing=True)
        assert account is not None
        if wallet_fen:
            wallet.spend(session, actor, account, wallet_fen, purchase_id=purchase_id, at=occurred_at, pay_pin=pay_pin)
        if credit_fen:
            credit.charge(session, actor, account, credit_fen, purchase_id=purchase_id, at=occurred_at, approved_by=approved_by)
    # No audit event for an everyday sale: the purchase row (cashier, time) and its ledger entry are the record.
    if member.status is MemberStatus.FROZEN and approved_by is not None:
        audit.record(session, actor, "purchase.frozen_override", "purchase", purchase_id, member=member.id,
                     approved_by=approved_by.name, amount_fen=amount_fen)
    session.flush()
    return PurchaseResult(purchase_id, member.id, points, member.points_balance + points, new_tier.name if new_tier else None,
                          receipt_no=used)


# The sale's statements go to the driver itself on SQLite (services/driver_sql.py): SQLAlchemy's work for each
# execution was most of a sale's time beside the durable commit.
_EARN_ENTRY = DriverStatement(sa.insert(PointsEntry))
_SALE_ON_MEMBER_UPDATE = sa.update(Member).where(Member.id == sa.bindparam("member")).values(
    points_balance=Member.points_balance + sa.bindparam("points"), visit_count=Member.visit_count + 1,
    total_spend_fen=Member.total_spend_fen + sa.bindparam("amount"), last_visit_at=sa.bindparam("last_visit"))
_SALE_ON_MEMBER = DriverStatement(_SALE_ON_MEMBER_UPDATE)
# tier_id only when the sale lifts the member: setting a foreign key column costs SQLite a check of the tier and a
# statement journal, twice the update's work (measured on a million members).
_SALE_LIFTING_MEMBER = DriverStatement(_SALE_ON_MEMBER_UPDATE.values(tier_id=sa.bindparam("tier")))


def _forget_member(session: Session, member_id: int) -> None:
    """Expire the session's mapped copy of the member, if it holds one, after a plain UPDATE changed the row."""
    held = session.identity_map.get(identity_key(Member, member_id))
    if held is not None:
        session.expire(held)


def _check_payment(amount_fen: int, wallet_fen: int, credit_fen: int, method: str) -> str:
    """The method of the part not paid from the wallet or on credit ("" when nothing is left to pay)."""
    method = (method or "").strip()
    if wallet_fen < 0 or credit_fen < 0 or wallet_fen + credit_fen > amount_fen:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The parts paid from the wallet and on credit add up to more than the amount."),
                           field="payment")
    if wallet_fen + credit_fen == amount_fen:
        return ""
    if method in payments.ACCOUNT_METHODS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Say how much of the amount is paid from the wallet or on credit."),
                           field="payment")
    if len(method) > 20:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{method}' is not a way of paying."), field="payment", method=method[:40])
    return method


@functools.cache
def _insert_new_receipt(dialect: str) -> DriverStatement:
    insert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(Purchase)
    return DriverStatement(insert.on_conflict_do_nothing(index_elements=[Purchase.till, Purchase.receipt_no]).returning(Purchase.id))


def _insert_purchase(session: Session, row: dict[str, object], receipt_no: str, day: date) -> tuple[int, str] | None:
    """Insert a purchase row (sale or refund) with ``receipt_no``, or a generated number when it is empty:
    (id, receipt number used). None when a given number is already taken.

    INSERT ... ON CONFLICT DO NOTHING on the (till, receipt_no) index (SQLite and PostgreSQL): a number
    taken -- posted before, or by another till a moment ago -- inserts nothing and returns no id, with no
    look-up before and no savepoint around it. A generated number then takes the next one; a given one is
    left to the caller."""
    till = str(row["till"])
    connection = session.connection()
    statement = _insert_new_receipt(connection.dialect.name)
    used = receipt_no or next_receipt_no(session, till, day)
    for _attempt in range(RECEIPT_ATTEMPTS):
        inserted = statement.first(connection, {**row, "receipt_no": used})
        if inserted is not None:
            return int(inserted[0]), used  # type: ignore[call-overload]
        if receipt_no:
            return None
        # Taken meanwhile (another till) or by hand: the one after it, never the same one again.
        prefix, number = used[:-GENERATED_DIGITS], int(used[-GENERATED_DIGITS:])
        used = max(_generated(prefix, number + 1, till, day), next_receipt_no(session, till, day))
    raise Conflict(
        QT_TRANSLATE_NOOP("errors", "Other tills kept taking the next receipt number of till {till}; record the purchase again."),
        till=till or "-",
    )


def _already_recorded(session: Session, member_id: int, till: str, receipt_no: str, amount_fen: int) -> PurchaseResult | None:
    """The result of an earlier posting of this very sale (nothing to do), or None when the receipt is new.
    The same receipt number with other details is a conflict."""
    existing = _existing(session, till, receipt_no)
    if existing is None:
        return None
    if existing.member_id == member_id and existing.amount_fen == amount_fen and existing.kind is PurchaseKind.SALE:
        balance = session.scalar(sa.select(Member.points_balance).where(Member.id == member_id)) or 0
        return PurchaseResult(existing.id, member_id, _points_of(session, existing.id), balance, None, already_recorded=True,
                              receipt_no=receipt_no)
    raise Conflict(
        QT_TRANSLATE_NOOP("errors", "Receipt {receipt} of till {till} is already recorded with other details."),
        receipt=receipt_no, till=till or "-",
    )


def _wallet_and_credit_back(sale: Purchase, refunded_fen: int) -> tuple[int, int]:
    """What refunds of ``refunded_fen`` in all give back into the wallet and off the debt, in proportion to how the
    sale was paid. The two parts are rounded together (their sum is floored once), so no refund gives back more than
    its own amount and the last one gives back exactly what is left."""
    non_cash = (sale.wallet_fen + sale.credit_fen) * refunded_fen // sale.amount_fen
    wallet_part = sale.wallet_fen * refunded_fen // sale.amount_fen
    return wallet_part, non_cash - wallet_part


def refund(
    session: Session,
    actor: Actor,
    *,
    original_till: str,
    original_receipt: str,
    refund_receipt: str = "",
    amount_fen: int,
    occurred_at: datetime | None = None,
    now: datetime | None = None,
    member_id: int | None = None,
    request_id: str | None = None,
) -> PurchaseResult:
    """Give money back on a sale (whole or part): its points go back in proportion; never more
    than was paid. Tiers are not lowered here, only at the monthly review. The refund gets its own
    receipt number at the sale's till: as given (posting it again changes nothing), or generated.
    ``member_id``: the member at the counter, whose sale it must be (a typed receipt of someone else's
    sale is refused). ``request_id``: as for a sale -- asked again after the connection broke at commit,
    requests.AlreadyDone instead of a second refund."""
    now = now or datetime.now(timezone.utc)
    occurred_at = occurred_at or now
    check_amount(amount_fen)
    _check_time(occurred_at, now)
    refund_receipt = (refund_receipt or "").strip()
    if len(refund_receipt) > MAX_RECEIPT_LENGTH:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The receipt number or till name is too long."), field="receipt_no")
    # The sale is locked first: two tills refunding it at once are counted one after the other.
    original = session.scalar(sa.select(Purchase).where(
        Purchase.till == original_till.strip(), Purchase.receipt_no == original_receipt.strip()).with_for_update())
    if original is None or original.kind is not PurchaseKind.SALE or (member_id is not None and original.member_id != member_id):
        raise NotFound(
            QT_TRANSLATE_NOOP("errors", "No sale with receipt {receipt} at till {till}."),
            receipt=original_receipt, till=original_till or "-",
        )
    again = _existing(session, original.till, refund_receipt) if refund_receipt else None
    if again is not None:
        if again.refund_of_id == original.id and again.amount_fen == amount_fen:
            balance = session.scalar(sa.select(Member.points_balance).where(Member.id == original.member_id)) or 0
            return PurchaseResult(again.id, original.member_id, _points_of(session, again.id), balance, None, already_recorded=True,
                                  receipt_no=again.receipt_no)
        raise Conflict(QT_TRANSLATE_NOOP("errors", "Receipt {receipt} of till {till} is already recorded with other details."),
                       receipt=refund_receipt, till=original.till or "-")
    requests.once(session, request_id, "purchase.refund", original.member_id)
    refunded_before = int(session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Purchase.amount_fen), 0)).where(Purchase.refund_of_id == original.id)
    ) or 0)
    if refunded_before + amount_fen > original.amount_fen:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "Only ¥{left} of this ¥{paid} receipt can still be refunded."),
            field="amount", left=f"{(original.amount_fen - refunded_before) / 100:.2f}", paid=f"{original.amount_fen / 100:.2f}",
        )
    member = session.execute(sa.select(Member).where(Member.id == original.member_id).with_for_update()).scalar_one()
    earned = int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.points), 0)).where(
        PointsEntry.purchase_id == original.id, PointsEntry.kind == PointsKind.EARN)) or 0)
    # Proportional and cumulative, so several part refunds never take back more than was earned.
    due_total = earned * (refunded_before + amount_fen) // original.amount_fen
    taken_before = -int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.points), 0)).join(
        Purchase, Purchase.id == PointsEntry.purchase_id).where(Purchase.refund_of_id == original.id)) or 0)
    row = {"member_id": member.id, "till": original.till, "kind": PurchaseKind.REFUND, "refund_of_id": original.id,
           "occurred_at": occurred_at, "amount_fen": amount_fen, "payment_method": original.payment_method,
           "cashier_id": actor.staff_id}
    inserted = _insert_purchase(session, row, refund_receipt, loyalty.local_day(occurred_at))
    if inserted is None:
        raise Conflict(QT_TRANSLATE_NOOP("errors", "Receipt {receipt} of till {till} is already recorded with other details."),
                       receipt=refund_receipt, till=original.till or "-")
    refund_id, used = inserted
    # The money goes back where it came from: the wallet part into the wallet, the credit part off the debt (both in
    # proportion over part refunds), the rest in the sale's own way of paying.
    wallet_back = credit_back = 0
    wallet_by_now, credit_by_now = _wallet_and_credit_back(original, refunded_before + amount_fen)
    if original.wallet_fen:
        wallet_back = wallet.refund_spend(session, actor, member, sale_id=original.id, refund_id=refund_id, at=occurred_at,
                                          back_by_now_fen=wallet_by_now).total_fen
    if original.credit_fen:
        credit_back = credit.refund_charge(
            session, actor, member, sale_id=original.id, refund_id=refund_id, at=occurred_at, back_by_now_fen=credit_by_now,
            back_before_fen=_wallet_and_credit_back(original, refunded_before)[1])
    if wallet_back or credit_back:
        session.execute(sa.update(Purchase).where(Purchase.id == refund_id).values(wallet_fen=wallet_back, credit_fen=credit_back))
    taken = loyalty.reverse(session, member, max(0, due_total - taken_before), at=occurred_at, purchase_id=refund_id, actor=actor)
    member.total_spend_fen -= amount_fen
    insight.note_purchase(session, member.id, occurred_at, amount_fen, new_day=False, refund=True, points=0)
    audit.record(session, actor, "purchase.refund", "purchase", refund_id, original=original.id, amount_fen=amount_fen, points=-taken)
    session.flush()
    return PurchaseResult(refund_id, member.id, -taken, member.points_balance, None, receipt_no=used)


@dataclass(frozen=True)
class PurchaseRow:
    id: int
    occurred_at: datetime
    till: str
    receipt_no: str
    kind: PurchaseKind
    amount_fen: int
    points: int
    payment_method: str
    line_count: int


@dataclass(frozen=True)
class PurchaseTotals:
    visits: int
    spend_fen: int
    average_basket_fen: int
    first_visit: datetime | None
    last_visit: datetime | None


def history_page(session: Session, member_id: int, *, offset: int = 0, limit: int = 50) -> list[PurchaseRow]:
    """The member's purchases and refunds, newest first, one page at a time."""
    rows = session.execute(
        sa.select(Purchase.id, Purchase.occurred_at, Purchase.till, Purchase.receipt_no, Purchase.kind, Purchase.amount_fen,
                  Purchase.payment_method)
        .where(Purchase.member_id == member_id)
        .order_by(Purchase.occurred_at.desc(), Purchase.id.desc())
        .offset(offset).limit(limit)
    ).all()
    ids = [row.id for row in rows]
    # Per-page lookups by id rather than correlated subqueries: the plan stays an index lookup even
    # where statistics say most ledger entries have no purchase (imported opening balances).
    points = dict(session.execute(
        sa.select(PointsEntry.purchase_id, sa.func.sum(PointsEntry.points)).where(PointsEntry.purchase_id.in_(ids))
        .group_by(PointsEntry.purchase_id)
    ).all()) if ids else {}
    lines = dict(session.execute(
        sa.select(PurchaseLine.purchase_id, sa.func.count(PurchaseLine.id)).where(PurchaseLine.purchase_id.in_(ids))
        .group_by(PurchaseLine.purchase_id)
    ).all()) if ids else {}
    return [
        PurchaseRow(row.id, row.occurred_at, row.till, row.receipt_no, row.kind, row.amount_fen, int(points.get(row.id, 0)),
                    row.payment_method, int(lines.get(row.id, 0)))
        for row in rows
    ]


def totals(session: Session, member_id: int) -> PurchaseTotals:
    sales = sa.and_(Purchase.member_id == member_id, Purchase.kind == PurchaseKind.SALE)
    visits, first, last = session.execute(
        sa.select(sa.func.count(Purchase.id), sa.func.min(Purchase.occurred_at), sa.func.max(Purchase.occurred_at)).where(sales)
    ).one()
    sign = sa.case((Purchase.kind == PurchaseKind.SALE, Purchase.amount_fen), else_=-Purchase.amount_fen)
    spend = int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(sign), 0)).where(Purchase.member_id == member_id)) or 0)
    if first is not None and first.tzinfo is None:  # aggregate results bypass the column type on SQLite
        first, last = (datetime.fromisoformat(str(v)).replace(tzinfo=timezone.utc) for v in (first, last))
    return PurchaseTotals(visits, spend, spend // visits if visits else 0, first, last)


@dataclass(frozen=True)
class RefundableSale:
    till: str
    receipt_no: str
    occurred_at: datetime
    amount_fen: int
    refundable_fen: int  # what is left after earlier refunds


def refundable_sales(session: Session, member_id: int, *, limit: int = 20) -> list[RefundableSale]:
    """The member's latest sales with money left to refund, newest first."""
    refunded = (
        sa.select(Purchase.refund_of_id.label("sale_id"), sa.func.sum(Purchase.amount_fen).label("refunded"))
        .where(Purchase.refund_of_id.is_not(None)).group_by(Purchase.refund_of_id).subquery()
    )
    left = Purchase.amount_fen - sa.func.coalesce(refunded.c.refunded, 0)
    rows = session.execute(
        sa.select(Purchase.till, Purchase.receipt_no, Purchase.occurred_at, Purchase.amount_fen, left)
        .outerjoin(refunded, refunded.c.sale_id == Purchase.id)
        .where(Purchase.member_id == member_id, Purchase.kind == PurchaseKind.SALE, left > 0)
        .order_by(Purchase.occurred_at.desc(), Purchase.id.desc())
        .limit(limit)
    ).all()
    return [RefundableSale(till, receipt, at, amount, int(remaining)) for till, receipt, at, amount, remaining in rows]


@dataclass(frozen=True)
class PurchasePreview:
    """What recording a sale would do, for the counter to show while the amount is typed."""

    points: int  # the points it would earn
    tier_name: str
    discount_bp: int  # the member discount the tier gives (basis points), for the till to apply
    discount_fen: int  # that discount on this amount, rounded down to the fen


def preview_purchase(session: Session, member_id: int, amount_fen: int, lines: Sequence[LineInput] = (),
                     occurred_at: datetime | None = None) -> PurchasePreview:
    """The points a sale of ``amount_fen`` would earn and the tier discount on it; writes nothing."""
    found = session.execute(
        sa.select(Tier.name, Tier.points_multiplier_pct, Tier.discount_bp, loyalty.rules_token_column()).select_from(Member)
        .outerjoin(Tier, Tier.id == Member.tier_id).where(Member.id == member_id)
    ).first()
    if found is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with id {id}."), id=member_id)
    tier_name, tier_pct, discount_bp = found.name or "", found.points_multiplier_pct or 100, found.discount_bp or 0
    amount_fen = max(0, amount_fen)
    points = _points_earned(session, loyalty.counter_config(session, found[3]), member_id, tier_pct, amount_fen, lines,
                            occurred_at or datetime.now(timezone.utc))
    return PurchasePreview(points, tier_name, discount_bp, amount_fen * discount_bp // 10_000)
