"""The counter's figures on a PostgreSQL server (`crmdesk bench --database-url URL`), beside SQLite's.

The synthetic store is copied onto the server (the set-up's own copy, services/server.copy_store, which refuses
a database that already holds a store -- the bench never touches a shop's data), then the counter's look-ups
and sales are timed there against their floor in the same run: raw psycopg on one connection, the same
look-up, and the same three writes in one commit (the server's default synchronous_commit: durable).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from crmdesk.bench.run import PURCHASE_FLOOR_FACTOR, Figure, _timed
from crmdesk.db import Database, open_database
from crmdesk.services import purchases, search, server
from crmdesk.services import staff as staff_service
from crmdesk.services.uow import read_session, unit_of_work

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
    """The purchase, its points entry and the member's balance and totals, in one commit."""
    purchase_id = raw.execute(
        "INSERT INTO purchase (member_id, till, receipt_no, kind, occurred_at, amount_fen, payment_method, wallet_fen, "
        "credit_fen, created_at) VALUES (%s, 'floor', %s, 'sale', %s, %s, '', 0, 0, %s) RETURNING id",
        (member_id, receipt_no, at, amount_fen, at)).fetchone()[0]
    raw.execute("INSERT INTO points_entry (member_id, at, kind, points, expires_on, purchase_id, reason) "
                "VALUES (%s, %s, 'earn', %s, '2027-12-31', %s, '')", (member_id, at, amount_fen // 100, purchase_id))
    raw.execute("UPDATE member SET points_balance = points_balance + %s, visit_count = visit_count + 1, "
                "total_spend_fen = total_spend_fen + %s, last_visit_at = %s WHERE id = %s",
                (amount_fen // 100, amount_fen, at, member_id))
    raw.commit()


def _purchases(db: Database, raw, ids: list[int]) -> list[Figure]:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        actor = staff_service.actor_for(session)
    record = Figure(f"{PREFIX}record purchase (points + tier)", "ms")
    floor = Figure(f"{PREFIX}  floor: raw psycopg, the same writes, one commit", "ms")
    now = datetime.now(timezone.utc)
    for number, member_id in enumerate(ids):
        def one() -> None:
            with unit_of_work(db) as session:
                purchases.record_purchase(session, actor, member_id, receipt_no=f"PB{number:08d}", till="bench",
                                          amount_fen=1_000 + number, occurred_at=now - timedelta(minutes=number), now=now)
        _timed(record.samples, one)
        _timed(floor.samples, lambda: _raw_sale(raw, member_id, f"PF{number:08d}", 1_000 + number, now))
    sustained = Figure(f"{PREFIX}sustained purchases on one connection", "purchases/s", 300, True)
    sustained_floor = Figure(f"{PREFIX}  floor: raw psycopg, the same writes", "purchases/s", None, True)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < 2.0:
        with unit_of_work(db) as session:
            purchases.record_purchase(session, actor, ids[count % len(ids)], receipt_no=f"PS{count:08d}", till="bench",
                                      amount_fen=2_000, occurred_at=now, now=now)
        count += 1
    sustained.value = count / (time.perf_counter() - started)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < 2.0:
        _raw_sale(raw, ids[count % len(ids)], f"PT{count:08d}", 2_000, now)
        count += 1
    sustained_floor.value = count / (time.perf_counter() - started)
    record.target = PURCHASE_FLOOR_FACTOR * floor.p95  # type: ignore[operator]
    record.note = (f"{record.p50 / floor.p50:.1f}x the floor (p50), {record.p95 / floor.p95:.1f}x (p95); "  # type: ignore[operator]
                   f"target {PURCHASE_FLOOR_FACTOR:g}x the floor's p95")
    sustained.note = f"{sustained.value / sustained_floor.value:.0%} of the floor's rate"
    return [record, floor, sustained, sustained_floor]
