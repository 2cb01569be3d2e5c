"""The counter's figures on a PostgreSQL server (`crmdesk bench --database-url URL`), beside SQLite's.

The synthetic store is copied onto the server (the set-up's own copy, services/server.copy_store, which refuses
a database that already holds a store -- the bench never touches a shop's data), then the counter's look-ups
and sales are timed there against their floor in the same run: raw psycopg on one connection, the same
look-up, and the same reads and writes in one commit (the server's default synchronous_commit: durable).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from crmdesk.bench.run import RAW_MEMBER_INSIGHT, RAW_SHOP_DAY, Figure, _timed, sales_beside_floor
from crmdesk.db import Database, open_database
from crmdesk.services import search, server
from crmdesk.services.uow import read_session
from crmdesk.shop_time import local_day

PREFIX = "PostgreSQL: "


def measure_on_server(source: Database, url: sa.URL, ids: list[int], keys: list[tuple[str, str, str, str]],
                      say: Callable[[str], None]) -> list[Figure]:
    import psycopg

    target = open_database(url)
    try:
        say("copying the store to PostgreSQL ...")
        started = time.perf_counter()
        copied = server.copy_store(source, target)
        seconds = time.perf_counter() - started
        with target.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")  # as after any bulk load: the planner learns the new tables
        copy = Figure(f"{PREFIX}copy the store (rows/s)", "rows/s", None, True, value=copied.rows / seconds,
                      note=f"{copied.rows:,} rows in {seconds:.1f} s, checked in counts and sums")
        raw = psycopg.connect(host=url.host, port=url.port, dbname=url.database, user=url.username, password=url.password)
        try:
            say("PostgreSQL: lookups and purchases ...")
            return [copy, *_lookups(target, raw, keys), *_purchases(target, raw, ids)]
        finally:
            raw.close()
    finally:
        target.dispose()


def _lookups(db: Database, raw, keys: list[tuple[str, str, str, str]]) -> list[Figure]:  # type: ignore[no-untyped-def]
    card = Figure(f"{PREFIX}card lookup (service)", "ms", 2)
    floor = Figure(f"{PREFIX}  floor: raw psycopg, the same look-up", "ms")
    query = "SELECT m.* FROM card c JOIN member m ON m.id = c.member_id WHERE c.number = %s"
    with read_session(db) as session:
        for number, _phone, _name, _initials in keys:
            _timed(card.samples, lambda: search.lookup(session, number))
            _timed(floor.samples, lambda: raw.execute(query, (number,)).fetchone())
    raw.rollback()
    card.note = f"{card.p50 / floor.p50:.0f}x the floor (p50)"
    return [card, floor]


def _raw_sale(raw, member_id: int, receipt_no: str, amount_fen: int, at: datetime) -> None:  # type: ignore[no-untyped-def]
    """What a sale reads and writes, in one commit: the member read and locked, the purchase, its points entry, the
    member's balance and totals, the shop day's figures and the member's recency and spend."""
    day = local_day(at)
    raw.execute("SELECT id, name, status, tier_id, points_balance, total_spend_fen, last_visit_at FROM member WHERE id = %s "
                "FOR UPDATE", (member_id,)).fetchone()
    purchase_id = raw.execute(
        "INSERT INTO purchase (member_id, till, receipt_no, kind, occurred_at, amount_fen, payment_method, wallet_fen, "
        "credit_fen, created_at) VALUES (%s, 'floor', %s, 'sale', %s, %s, '', 0, 0, %s) RETURNING id",
        (member_id, receipt_no, at, amount_fen, at)).fetchone()[0]
    raw.execute("INSERT INTO points_entry (member_id, at, kind, points, expires_on, purchase_id, reason) "
                "VALUES (%s, %s, 'earn', %s, '2027-12-31', %s, '')", (member_id, at, amount_fen // 100, purchase_id))
    raw.execute("UPDATE member SET points_balance = points_balance + %s, visit_count = visit_count + 1, "
                "total_spend_fen = total_spend_fen + %s, last_visit_at = %s WHERE id = %s",
                (amount_fen // 100, amount_fen, at, member_id))
    raw.execute(RAW_SHOP_DAY, (day, amount_fen, amount_fen // 100))
    raw.execute(RAW_MEMBER_INSIGHT, (day, day, 1, 1, amount_fen, member_id))
    raw.commit()


def _purchases(db: Database, raw, ids: list[int]) -> list[Figure]:  # type: ignore[no-untyped-def]
    return sales_beside_floor(db, ids, lambda *sale: _raw_sale(raw, *sale), floor_label="raw psycopg, the same writes, "
                              "one commit", prefix=PREFIX, receipts="P")
