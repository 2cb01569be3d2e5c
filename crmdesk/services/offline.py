"""A till that survives the network: while the shop's server cannot be reached, members are still found and
sales still taken.

* The member cache: a read-only copy of what the counter needs to find and show a member (members, cards,
  tags, tiers, the shop's points rules and settings), refreshed from the server while it is reachable. It is
  an ordinary crmdesk SQLite file, so the counter's own search and profile read it unchanged. It holds the
  members' phones like the server does: private to this computer's account, in the data folder.
* The sales queue: each sale taken offline is written durably to a queue file here, with its receipt number
  (typed, or made up as ``OFF`` + the shop's date and time + a sequence), and sent to the server when it is
  back (``replay``): a sale the server already has -- sent just before the connection broke -- is recognised by
  its receipt number and not recorded twice; one the server refuses is kept with the reason.
* Nothing that could overspend is taken offline -- redeeming points, paying from stored value, charging on
  credit, refunds: the balances live on the server (``refuse_offline``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from crmdesk import shop_time
from crmdesk.db import Database, make_private, open_database, remove_sqlite_files, sqlite_url
from crmdesk.errors import Conflict, InvalidInput
from crmdesk.models import Role
from crmdesk.paths import data_dir
from crmdesk.services import purchases, requests
from crmdesk.services.purchases import LineInput
from crmdesk.services.uow import Actor, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP

CACHE_FILENAME = "offline-cache.sqlite"
QUEUE_FILENAME = "offline-queue.sqlite"
CACHE_EVERY_S = 10 * 60  # the member cache is read again this often while the server answers

MSG_OFFLINE_REFUSED = QT_TRANSLATE_NOOP(
    "errors", "The server cannot be reached, so {what} cannot be done now: the balance lives on the server and could "
              "be spent twice. Take the sale in cash (or the like), or wait until the server is back.")
MSG_QUEUED_DIFFERENTLY = QT_TRANSLATE_NOOP(
    "errors", "Receipt {receipt} of till {till} is already waiting to be sent with other details.")
OFFLINE_WHAT = {
    "wallet": QT_TRANSLATE_NOOP("offline", "paying from stored value"),
    "credit": QT_TRANSLATE_NOOP("offline", "charging on credit"),
    "redeem": QT_TRANSLATE_NOOP("offline", "redeeming points"),
    "refund": QT_TRANSLATE_NOOP("offline", "a refund"),
    "top_up": QT_TRANSLATE_NOOP("offline", "a top-up"),
    "repay": QT_TRANSLATE_NOOP("offline", "a repayment"),
}


def refuse_offline(what: str) -> InvalidInput:
    """The error for an operation that cannot be done without the server (``what`` names it, see OFFLINE_WHAT)."""
    from crmdesk.texts import Term

    return InvalidInput(MSG_OFFLINE_REFUSED, field="offline", what=Term(OFFLINE_WHAT[what], "offline"))


# --------------------------------------------------------------------------- the member cache


def _cache_tables() -> list[sa.Table]:
    from crmdesk.models import (
        Card, CategoryRule, CreditAccount, LoyaltyRules, Member, MemberTag, MoneySettings, RulesStamp, Staff, StoreSettings,
        Tier,
    )

    return [model.__table__ for model in (StoreSettings, MoneySettings, Staff, Tier, LoyaltyRules, CategoryRule,
                                          RulesStamp, Member, Card, MemberTag, CreditAccount)]  # type: ignore[misc]


# Never copied to a till: the staff's passwords and PINs (the cache needs their names and roles only), and the
# members' payment PINs (paying from stored value is refused offline anyway).
KEPT_OFF_THE_TILL = {"staff": {"password_hash": None, "pin_hash": None}, "member": {"pay_pin_hash": None}}


@dataclass(frozen=True)
class CacheInfo:
    path: Path
    members: int
    seconds: float


def cache_path(folder: Path | None = None) -> Path:
    return (folder or data_dir()) / CACHE_FILENAME


def refresh_cache(db: Database, folder: Path | None = None) -> CacheInfo:
    """Copy what the counter needs from the server into a new cache file, then put it in place of the old one in
    one step (a refresh cut short leaves the old one). Memory stays small: rows go over in batches."""
    from crmdesk.services.server import copy_tables

    started = time.perf_counter()
    final = cache_path(folder)
    fresh = final.with_name(final.name + ".new")
    remove_sqlite_files(fresh)
    target = open_database(sqlite_url(fresh))
    try:
        with db.engine.connect() as reading, target.engine.begin() as writing:
            copied = copy_tables(reading, writing, _cache_tables(), blank=KEPT_OFF_THE_TILL)
    finally:
        target.dispose()  # the last connection closes the file whole: no write-ahead log is left beside it
    for suffix in ("-wal", "-shm"):  # the old file's, should any be left: never to be read with the new one
        Path(f"{final}{suffix}").unlink(missing_ok=True)
    os.replace(fresh, final)
    make_private(final)
    return CacheInfo(final, copied.get("member", 0), time.perf_counter() - started)


def open_cache(folder: Path | None = None) -> Database | None:
    """The member cache, or None when this computer has none yet."""
    path = cache_path(folder)
    return open_database(sqlite_url(path)) if path.exists() else None


def cache_age(folder: Path | None = None) -> datetime | None:
    """When the cache was last refreshed (UTC), or None."""
    path = cache_path(folder)
    return datetime.fromtimestamp(path.stat().st_mtime, UTC) if path.exists() else None


# --------------------------------------------------------------------------- the sales queue


@dataclass(frozen=True)
class QueuedSale:
    number: int
    till: str
    receipt_no: str
    member_id: int
    member_name: str
    amount_fen: int
    occurred_at: datetime
    payment_method: str
    lines: tuple[LineInput, ...]
    cashier: Actor
    state: str  # queued, sent, refused
    message: str = ""
    request_id: str = ""  # the id the sale had when the till first tried to send it (services/requests.py)


def queue_path(folder: Path | None = None) -> Path:
    return (folder or data_dir()) / QUEUE_FILENAME


def _queue(folder: Path | None) -> sqlite3.Connection:
    path = queue_path(folder)
    make_private(path)
    connection = sqlite3.connect(path, isolation_level=None, timeout=10)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")  # a queued sale survives a power cut, as a recorded one does
    connection.execute(
        "CREATE TABLE IF NOT EXISTS sale (number INTEGER PRIMARY KEY, till TEXT NOT NULL, receipt_no TEXT NOT NULL, "
        "member_id INTEGER NOT NULL, member_name TEXT NOT NULL, amount_fen INTEGER NOT NULL, occurred_at TEXT NOT NULL, "
        "payment_method TEXT NOT NULL, lines TEXT NOT NULL, cashier_id INTEGER NOT NULL, cashier_name TEXT NOT NULL, "
        "cashier_role TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued', message TEXT NOT NULL DEFAULT '', "
        "request_id TEXT NOT NULL DEFAULT '', UNIQUE (till, receipt_no))")
    if "request_id" not in {row[1] for row in connection.execute("PRAGMA table_info(sale)")}:
        connection.execute("ALTER TABLE sale ADD COLUMN request_id TEXT NOT NULL DEFAULT ''")  # a queue from before ids
    return connection


def queue_sale(actor: Actor, member_id: int, member_name: str, *, till: str, amount_fen: int, receipt_no: str = "",
               payment_method: str = "", occurred_at: datetime | None = None, lines: tuple[LineInput, ...] = (),
               wallet_fen: int = 0, credit_fen: int = 0, request_id: str = "", folder: Path | None = None) -> QueuedSale:
    """Take a sale while the server is away: checked as the counter checks it (amount, lines, till), refused when
    any of it is paid from stored value or on credit, and kept durably until ``replay`` sends it. The same receipt
    queued again with the same details is the same sale. ``request_id``: the id of a sale the till tried to send
    when the connection broke -- should the server have committed it after all, the replay recognises it by this
    id, even without a receipt number."""
    if wallet_fen:
        raise refuse_offline("wallet")
    if credit_fen:
        raise refuse_offline("credit")
    receipt_no, till = receipt_no.strip(), till.strip()
    if len(receipt_no) > purchases.MAX_RECEIPT_LENGTH or len(till) > purchases.MAX_TILL_LENGTH:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The receipt number or till name is too long."), field="receipt_no")
    purchases.check_amount(amount_fen)
    purchases.check_lines(lines, amount_fen)
    occurred_at = occurred_at or datetime.now(UTC)
    connection = _queue(folder)
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            if not receipt_no:
                count = connection.execute("SELECT count(*) FROM sale").fetchone()[0]
                receipt_no = f"OFF{shop_time.to_shop(occurred_at):%y%m%d%H%M}-{count + 1:04d}"
            row = (till, receipt_no, member_id, member_name, amount_fen, occurred_at.isoformat(), payment_method,
                   json.dumps([asdict(line) for line in lines], ensure_ascii=False), actor.staff_id, actor.name,
                   actor.role.value, request_id)
            existing = connection.execute(
                "SELECT number, member_id, amount_fen FROM sale WHERE till = ? AND receipt_no = ?", (till, receipt_no)).fetchone()
            if existing is not None:
                if (existing[1], existing[2]) != (member_id, amount_fen):
                    raise Conflict(MSG_QUEUED_DIFFERENTLY, receipt=receipt_no, till=till or "-")
                number = existing[0]
            else:
                number = connection.execute(
                    "INSERT INTO sale (till, receipt_no, member_id, member_name, amount_fen, occurred_at, payment_method, "
                    "lines, cashier_id, cashier_name, cashier_role, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row).lastrowid
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    finally:
        connection.close()
    return QueuedSale(number, till, receipt_no, member_id, member_name, amount_fen, occurred_at, payment_method, lines,
                      actor, "queued", request_id=request_id)


def queued_sales(folder: Path | None = None, *, state: str | None = "queued") -> list[QueuedSale]:
    """The sales in the queue (by default those still to send), oldest first."""
    if not queue_path(folder).exists():
        return []
    connection = _queue(folder)
    try:
        query = ("SELECT number, till, receipt_no, member_id, member_name, amount_fen, occurred_at, payment_method, lines, "
                 "cashier_id, cashier_name, cashier_role, state, message, request_id FROM sale")
        rows = connection.execute(query + (" WHERE state = ?" if state else "") + " ORDER BY number",
                                  (state,) if state else ()).fetchall()
    finally:
        connection.close()
    return [QueuedSale(number, till, receipt, member, name, amount, datetime.fromisoformat(at), method,
                       tuple(LineInput(**line) for line in json.loads(lines)), Actor(cashier_id, cashier, Role(role)),
                       sale_state, message, request_id)
            for (number, till, receipt, member, name, amount, at, method, lines, cashier_id, cashier, role, sale_state,
                 message, request_id) in rows]


def waiting(folder: Path | None = None) -> int:
    """How many sales wait to be sent (counted, not read)."""
    if not queue_path(folder).exists():
        return 0
    connection = _queue(folder)
    try:
        return int(connection.execute("SELECT count(*) FROM sale WHERE state = 'queued'").fetchone()[0])
    finally:
        connection.close()


def server_answers(db: Database) -> bool:
    """Whether the server can be reached now (one short query; a server that does not answer is given up on after
    the connection timeout)."""
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.DBAPIError:
        return False


@dataclass(frozen=True)
class ReplayResult:
    recorded: int  # sent and recorded now
    already: int  # the server had them already (sent just before the connection broke)
    refused: tuple[QueuedSale, ...]  # kept in the queue with the server's reason
    left: int  # still waiting: the server went away again


def replay(db: Database, folder: Path | None = None) -> ReplayResult:
    """Send the queued sales to the server in the order they were taken, each in its own transaction, as the
    cashier who took it. A sale's queue entry is marked only after the server committed it; should that mark be
    lost, the next replay finds the receipt recorded and counts it as ``already``. A failure of the server itself
    stops the replay (what is left is sent next time); a sale the server refuses is kept with the reason."""
    from crmdesk.failures import SystemFailure, explain

    recorded = already = 0
    refused: list[QueuedSale] = []
    pending = queued_sales(folder)
    for index, sale in enumerate(pending):
        try:
            with unit_of_work(db) as session:
                result = purchases.record_purchase(
                    session, sale.cashier, sale.member_id, receipt_no=sale.receipt_no, till=sale.till,
                    amount_fen=sale.amount_fen, occurred_at=sale.occurred_at, lines=sale.lines,
                    payment_method=sale.payment_method, request_id=sale.request_id or None)
        except requests.AlreadyDone:  # the server committed it as the connection broke, under another receipt number
            _mark(folder, sale.number, "sent", "")
            already += 1
            continue
        except Exception as exc:  # noqa: BLE001 - sorted below: the server away, or a refusal
            failure = explain(exc)
            if isinstance(failure, SystemFailure) or failure.exit_code == 7:  # the server went away again
                return ReplayResult(recorded, already, tuple(refused), len(pending) - index)
            _mark(folder, sale.number, "refused", failure.message)
            refused.append(replace(sale, state="refused", message=failure.message))
            continue
        _mark(folder, sale.number, "sent", "")
        if result.already_recorded:
            already += 1
        else:
            recorded += 1
    return ReplayResult(recorded, already, tuple(refused), 0)


def _mark(folder: Path | None, number: int, state: str, message: str) -> None:
    connection = _queue(folder)
    try:
        connection.execute("UPDATE sale SET state = ?, message = ? WHERE number = ?", (state, message, number))
    finally:
        connection.close()
