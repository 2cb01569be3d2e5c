"""The store-scale benchmark: the real code paths, timed, next to their targets.

Every figure comes from the code the app runs (services, the Qt list model),
with random keys drawn from the whole store so caches do not flatter, and,
where it helps to judge them, next to the floor (the same lookup with raw
sqlite3) and the naive way (preloading every member into a standard item model).

Money: a top-up and a payment from the wallet each commit one durable
transaction, so they are shown beside the floor measured in the same run -- a
raw sqlite3 INSERT of a ledger entry and UPDATE of the member row, committed
with the application's own durability (WAL, synchronous=FULL). Credit aging
runs over a store where every member (up to 100,000) has a credit account.
"""

from __future__ import annotations

import concurrent.futures
import csv
import itertools
import multiprocessing
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from crmdesk import memory
from crmdesk.bench.synthetic import GIVEN, SURNAMES, build_store
from crmdesk.db import BULK_CACHE_KIB, Database, open_database, sqlite_url
from crmdesk.services import credit, members, purchases, search, wallet
from crmdesk.services import staff as staff_service
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.shop_time import local_day

NAIVE_LIMIT_SECONDS = 60.0
LOOKUP_REPEATS = 300
MONEY_REPEATS = 200  # each a durable commit; fewer on a small store (see _money_repeats)
CREDIT_ACCOUNTS = 100_000  # the synthetic store's credit accounts: every member's, up to this many
AGING_REPEATS = 3
SEARCH_REPEATS = 200
IMPORT_ROWS = 20_000  # rows per import figure (see _import_rows)
LARGE_IMPORT_ROWS = 1_000_000  # the large-import section's file (CRMDESK_BENCH_LARGE_ROWS sets it)
LARGE_IMPORT_MB = 500  # its peak memory target
IMPORT_TARGETS = {"import purchases from CSV": 50_000, "import members from CSV": 30_000}  # rows/s
PURCHASE_FLOOR_FACTOR = 1.5  # a sale may cost this much more than its bare writes and durable commit (p95)


@dataclass
class Figure:
    """One line of the table: samples in seconds (latency) or a single rate/size."""

    name: str
    unit: str  # "ms", "rows/s", "MB", "purchases/s", "x"
    target: float | None = None
    higher_is_better: bool = False
    samples: list[float] = field(default_factory=list)
    value: float | None = None
    note: str = ""

    @property
    def p50(self) -> float | None:
        return statistics.median(self.samples) * 1000 if self.samples else None

    @property
    def p95(self) -> float | None:
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000

    @property
    def max(self) -> float | None:
        return max(self.samples) * 1000 if self.samples else None

    @property
    def judged(self) -> float | None:
        """The figure compared with the target: p95 for latencies, else the value."""
        return self.p95 if self.samples else self.value

    @property
    def met(self) -> bool | None:
        if self.target is None or self.judged is None:
            return None
        return self.judged >= self.target if self.higher_is_better else self.judged <= self.target

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "unit": self.unit, "p50": self.p50, "p95": self.p95, "max": self.max,
                "value": self.value, "target": self.target, "met": self.met, "note": self.note,
                "repetitions": len(self.samples)}


@dataclass
class Report:
    members: int
    purchases_per_member: float
    seed: int
    figures: list[Figure]
    machine: dict[str, Any]
    database: str

    def as_dict(self) -> dict[str, Any]:
        return {"members": self.members, "purchases_per_member": self.purchases_per_member, "seed": self.seed,
                "machine": self.machine, "database": self.database, "figures": [f.as_dict() for f in self.figures]}


def _timed(samples: list[float], call: Callable[[], object]) -> None:
    started = time.perf_counter()
    call()
    samples.append(time.perf_counter() - started)


def peak_rss_mb() -> float:
    return _maxrss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _maxrss_mb(maxrss: int) -> float:
    """ru_maxrss in MB: the kernel counts KiB on Linux, bytes on macOS."""
    return maxrss / 1024 if platform.system() != "Darwin" else maxrss / 1024 / 1024


@contextmanager
def _store(members_count: int, purchases_per_member: float, seed: int, keep: Path | None,
           say: Callable[[str], None]) -> Iterator[tuple[Path, Figure]]:
    folder = tempfile.TemporaryDirectory(prefix="crmdesk-bench-")
    path = keep or Path(folder.name) / "bench.sqlite"
    try:
        say(f"building a store of {members_count:,} members ...")
        # In a child process, so the peak memory measured below is the application's, not the generator's.
        with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            built = pool.submit(build_store, path, members=members_count, purchases_per_member=purchases_per_member,
                                seed=seed, credit_accounts=min(members_count, CREDIT_ACCOUNTS)).result()
        figure = Figure("generate store (rows/s)", "rows/s", 200_000, True, value=built.rows_per_second,
                        note=f"{built.rows:,} rows in {built.seconds:.1f} s (indexes {built.index_seconds:.1f} s)")
        yield path, figure
    finally:
        folder.cleanup()


SECTIONS = ("counter", "list", "money", "import", "safety", "documents", "insight")
# Measured only when named (minutes each): a purchase file of LARGE_IMPORT_ROWS rows imported by the command line.
EXTRA_SECTIONS = ("large-import",)


def run_bench(members_count: int, purchases_per_member: float, seed: int, *, keep: Path | None = None,
              progress: Callable[[str], None] | None = None, only: tuple[str, ...] = SECTIONS,
              server_url: Any = None) -> Report:
    """Build the synthetic store and measure the ``only`` sections of SECTIONS on it (all by default); with
    ``server_url`` (an empty PostgreSQL database) the counter's figures there too (bench/server.py)."""
    say = progress or (lambda _m: None)
    figures: list[Figure] = []
    with _store(members_count, purchases_per_member, seed, keep, say) as (path, generation):
        figures.append(generation)
        db = open_database(sqlite_url(path))
        try:
            rng = random.Random(seed + 1)
            raw = sqlite3.connect(path)
            ids = []
            while len(ids) < LOOKUP_REPEATS:  # active members, so purchases can be recorded for them
                member_id = rng.randrange(1, members_count + 1)
                if raw.execute("SELECT status FROM member WHERE id = ?", (member_id,)).fetchone()[0] == "active":
                    ids.append(member_id)
            keys = [raw.execute(
                "SELECT c.number, m.phone, m.name, m.name_initials FROM member m JOIN card c ON c.member_id = m.id "
                "WHERE m.id = ?", (member_id,)).fetchone() for member_id in ids]
            memory.settle_after_startup()  # as the application does once it has started (crmdesk/app.py)
            if "counter" in only:
                say("lookups ...")
                figures += _lookups(db, raw, keys)
                say("search as you type ...")
                figures += _searches(db, keys)
            if "list" in only:
                say("member list ...")
                figures += _member_list(db, members_count)
            if "counter" in only:
                say("purchases ...")
                figures += _purchases(db, path, ids)
            if "money" in only:
                say("stored value and credit ...")
                figures += _money(db, path, ids, members_count)
            if "import" in only:
                say("imports ...")
                figures += _imports(db, path, members_count, rng)
            if "large-import" in only:
                say("a large purchase file, imported from the command line ...")
                figures.append(_large_import(path, rng))
            if "safety" in only:
                say("backup and the data check ...")
                figures += _data_safety(db, path)
            if "counter" in only:
                say("member profile ...")
                figures.append(_profile(db, ids))
            if "documents" in only:
                say("printed documents ...")
                figures += _documents(db, ids)
            if "insight" in only:
                say("customer insight ...")
                figures += _insight(db, path)
            if server_url is not None:
                from crmdesk.bench.server import measure_on_server

                figures += measure_on_server(db, server_url, ids, keys, say)
            figures.append(Figure("peak memory (RSS)", "MB", 300, value=peak_rss_mb(),
                                  note="the application's work above, the list scrolled to the end"))
            if "list" in only:
                say("the naive way ...")
                figures.append(_naive_preload(db, members_count))
            raw.close()
        finally:
            db.dispose()
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
               "platform": platform.platform()}
    return Report(members_count, purchases_per_member, seed, figures, machine,
                  "sqlite" if server_url is None else "sqlite, postgresql")


def _lookups(db: Database, raw: sqlite3.Connection, keys: list[tuple[str, str, str, str]]) -> list[Figure]:
    card = Figure("card lookup (service)", "ms", 2)
    phone = Figure("phone lookup (service)", "ms", 2)
    floor_card = Figure("card lookup (raw sqlite3 floor)", "ms")
    floor_phone = Figure("phone lookup (raw sqlite3 floor)", "ms")
    query = "SELECT m.* FROM card c JOIN member m ON m.id = c.member_id WHERE c.number = ?"
    with read_session(db) as session:
        for number, phone_e164, _name, _initials in keys:
            _timed(card.samples, lambda: search.lookup(session, number))
            _timed(phone.samples, lambda: search.lookup(session, phone_e164[3:]))
            _timed(floor_card.samples, lambda: raw.execute(query, (number,)).fetchone())
            _timed(floor_phone.samples, lambda: raw.execute("SELECT * FROM member WHERE phone = ?", (phone_e164,)).fetchone())
    card.note = f"{card.p50 / floor_card.p50:.0f}x the floor (p50)"
    phone.note = f"{phone.p50 / floor_phone.p50:.0f}x the floor (p50)"
    return [card, floor_card, phone, floor_phone]


def _searches(db: Database, keys: list[tuple[str, str, str, str]]) -> list[Figure]:
    figures = {
        "name": Figure("search: name prefix", "ms", 30),
        "initials": Figure("search: pinyin initials", "ms", 30),
        "tail": Figure("search: phone last 4", "ms", 30),
    }
    with read_session(db) as session:
        for _number, phone, name, initials in keys[:SEARCH_REPEATS]:
            _timed(figures["name"].samples, lambda: search.search(session, name[:2]))
            _timed(figures["initials"].samples, lambda: search.search(session, initials))
            _timed(figures["tail"].samples, lambda: search.search(session, phone[-4:]))
    return list(figures.values())


def _member_list(db: Database, members_count: int) -> list[Figure]:
    from PySide6.QtCore import Qt

    from crmdesk.services.member_query import COLUMNS, SORT_KEYS
    from crmdesk.views.member_list import MemberListModel

    visible_rows = 40
    first = Figure("member list: first screen", "ms", 100)
    started = time.perf_counter()
    model = MemberListModel(db)
    for row in range(min(visible_rows, model.rowCount())):
        for column in range(model.columnCount()):
            model.data(model.index(row, column))
    first.samples.append(time.perf_counter() - started)
    resort = Figure("member list: re-sort (each column, both ways)", "ms", 300)
    for column, key in enumerate(COLUMNS):
        if key not in SORT_KEYS:
            continue
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            started = time.perf_counter()
            model.sort(column, order)
            for row in range(min(visible_rows, model.rowCount())):
                model.data(model.index(row, 0))
            resort.samples.append(time.perf_counter() - started)
    model.sort(0, Qt.SortOrder.AscendingOrder)
    to_end = Figure("member list: scroll to the end", "ms", 300)
    started = time.perf_counter()
    last = model.rowCount() - 1
    for row in range(max(0, last - visible_rows), last + 1):
        model.data(model.index(row, 0))
    to_end.samples.append(time.perf_counter() - started)

    return [first, resort, to_end]


def _naive_preload(db: Database, members_count: int) -> Figure:
    """What preloading clients do: every member into a standard item model. Run last: its memory
    would otherwise swamp the application's peak."""
    from PySide6.QtGui import QStandardItem, QStandardItemModel

    before = peak_rss_mb()
    naive = Figure("naive: preload all into QStandardItemModel", "ms")
    started = time.perf_counter()
    standard = QStandardItemModel()
    loaded = 0
    with read_session(db) as session:
        rows = session.connection().exec_driver_sql(
            "SELECT member_no, name, phone, birthday, points_balance, visit_count, total_spend_fen, joined_on, status FROM member"
        )
        for values in rows:
            standard.appendRow([QStandardItem(str(v)) for v in values])
            loaded += 1
            if loaded % 1000 == 0 and time.perf_counter() - started > NAIVE_LIMIT_SECONDS:
                break
    elapsed = time.perf_counter() - started
    if loaded < members_count:
        naive.value = None
        naive.note = f"> {NAIVE_LIMIT_SECONDS:.0f} s limit ({loaded:,} of {members_count:,} rows loaded)"
    else:
        naive.samples.append(elapsed)
        naive.note = f"{members_count:,} rows; peak memory then {peak_rss_mb():,.0f} MB (from {before:,.0f})"
    return naive


def _purchases(db: Database, path: Path, ids: list[int]) -> list[Figure]:
    """Recording a sale (points, tier, totals, the day's figures) beside the floor under it, taken in turns so
    both meet the same disk and the same neighbours: raw sqlite3 reading the member and writing the same purchase
    row, points entry, member update, day's figures and member insight in one durable commit. The target is the
    floor's p95 times PURCHASE_FLOOR_FACTOR."""
    raw = _durable_connection(path)
    try:
        return sales_beside_floor(db, ids, lambda *sale: _raw_sale(raw, *sale),
                                  floor_label="raw sqlite3, the same writes, durable commit")
    finally:
        raw.close()


def sales_beside_floor(db: Database, ids: list[int], raw_sale: Callable[[int, str, int, datetime], None], *,
                       floor_label: str, prefix: str = "", receipts: str = "") -> list[Figure]:
    """Sales one by one through the service and through ``raw_sale`` (member, receipt, amount, time: the floor),
    in turns; then as many as each manages in two seconds on one connection. ``prefix`` names the database in
    the figures, ``receipts`` keeps one run's receipt numbers apart from another's."""
    with read_session(db) as session:
        actor = staff_service.actor_for(session)
    record = Figure(f"{prefix}record purchase (points + tier)", "ms")
    floor = Figure(f"{prefix}  floor: {floor_label}", "ms")
    now = datetime.now(timezone.utc)
    for number, member_id in enumerate(ids):
        def one() -> None:
            with unit_of_work(db) as session:
                purchases.record_purchase(session, actor, member_id, receipt_no=f"{receipts}B{number:08d}", till="bench",
                                          amount_fen=1_000 + number, occurred_at=now - timedelta(minutes=number), now=now)
        _timed(record.samples, one)
        _timed(floor.samples, lambda: raw_sale(member_id, f"{receipts}F{number:08d}", 1_000 + number, now))
    sustained = Figure(f"{prefix}sustained purchases on one connection", "purchases/s", 300, True)
    sustained_floor = Figure(f"{prefix}  floor: {floor_label.split(',')[0]}, the same writes", "purchases/s", None, True)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < 2.0:
        with unit_of_work(db) as session:
            purchases.record_purchase(session, actor, ids[count % len(ids)], receipt_no=f"{receipts}S{count:08d}",
                                      till="bench", amount_fen=2_000, occurred_at=now, now=now)
        count += 1
    sustained.value = count / (time.perf_counter() - started)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < 2.0:
        raw_sale(ids[count % len(ids)], f"{receipts}T{count:08d}", 2_000, now)
        count += 1
    sustained_floor.value = count / (time.perf_counter() - started)
    record.target = PURCHASE_FLOOR_FACTOR * floor.p95  # type: ignore[operator]
    record.note = (f"{record.p50 / floor.p50:.1f}x the floor (p50), {record.p95 / floor.p95:.1f}x (p95); "  # type: ignore[operator]
                   f"target {PURCHASE_FLOOR_FACTOR:g}x the floor's p95")
    sustained.note = f"{sustained.value / sustained_floor.value:.0%} of the floor's rate"
    return [record, floor, sustained, sustained_floor]


def _durable_connection(path: Path) -> sqlite3.Connection:
    """A raw sqlite3 connection committing as the application does (WAL, synchronous=FULL, foreign keys checked)."""
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode = WAL")
    raw.execute("PRAGMA synchronous = FULL")
    raw.execute("PRAGMA busy_timeout = 5000")
    raw.execute("PRAGMA foreign_keys = ON")  # checked by the application's connections too
    return raw


def _raw_sale(raw: sqlite3.Connection, member_id: int, receipt_no: str, amount_fen: int, at: datetime) -> None:
    """What a sale reads and writes, by hand: the member read, the purchase, its points entry, the member's balance
    and totals, the shop day's figures and the member's recency and spend (services/insight.note_purchase)."""
    stamp = at.strftime("%Y-%m-%d %H:%M:%S.%f")
    day = local_day(at).isoformat()
    raw.execute("BEGIN IMMEDIATE")
    raw.execute("SELECT id, name, status, tier_id, points_balance, total_spend_fen, last_visit_at FROM member WHERE id = ?",
                (member_id,)).fetchone()
    purchase_id = raw.execute(
        "INSERT INTO purchase (member_id, till, receipt_no, kind, occurred_at, amount_fen, payment_method, wallet_fen, credit_fen, "
        "created_at) VALUES (?, 'floor', ?, 'sale', ?, ?, '', 0, 0, ?) RETURNING id",
        (member_id, receipt_no, stamp, amount_fen, stamp)).fetchone()[0]
    raw.execute("INSERT INTO points_entry (member_id, at, kind, points, expires_on, purchase_id, reason) "
                "VALUES (?, ?, 'earn', ?, '2027-12-31', ?, '')", (member_id, stamp, amount_fen // 100, purchase_id))
    raw.execute("UPDATE member SET points_balance = points_balance + ?, visit_count = visit_count + 1, "
                "total_spend_fen = total_spend_fen + ?, last_visit_at = ? WHERE id = ?", (amount_fen // 100, amount_fen, stamp, member_id))
    raw.execute(RAW_SHOP_DAY.replace("%s", "?"), (day, amount_fen, amount_fen // 100))
    raw.execute(RAW_MEMBER_INSIGHT.replace("%s", "?"), (day, day, 1, 1, amount_fen, member_id))
    raw.execute("COMMIT")


# The day's figures and the member's recency and spend, as every sale keeps them (the floors' SQL, both databases).
RAW_SHOP_DAY = ("INSERT INTO shop_day (day, sales_fen, refunds_fen, receipts, visits, new_members, points_earned, points_redeemed) "
                "VALUES (%s, %s, 0, 1, 0, 0, %s, 0) ON CONFLICT (day) DO UPDATE SET sales_fen = shop_day.sales_fen + "
                "excluded.sales_fen, receipts = shop_day.receipts + 1, points_earned = shop_day.points_earned + excluded.points_earned")
RAW_MEMBER_INSIGHT = ("UPDATE member_insight SET last_day = CASE WHEN last_day < %s THEN %s ELSE last_day END, recency_days = 0, "
                      "shopping_days = shopping_days + %s, frequency = frequency + %s, monetary_fen = monetary_fen + %s, alert = NULL, alert_usual = NULL, alert_now = NULL WHERE member_id = %s")


def _money_repeats(members_count: int) -> int:
    """Durable commits per money figure: MONEY_REPEATS on a store of 20,000 members or more, fewer below
    (a small store checks that the code runs, it is no measurement)."""
    return max(20, min(MONEY_REPEATS, members_count // 100))


def _money(db: Database, path: Path, ids: list[int], members_count: int) -> list[Figure]:
    """Top-ups and wallet payments beside the durable-commit floor; credit aging; the overdue filter."""
    from crmdesk.services import member_query

    repeats = _money_repeats(members_count)
    chosen = ids[:repeats]
    with unit_of_work(db) as session:
        actor = staff_service.actor_for(session)
        for minimum, bonus in ((20_000, 2_000), (50_000, 6_000)):  # 充200送20, 充500送60: the rule lookup is part of a top-up
            wallet.add_bonus_rule(session, actor, min_topup_fen=minimum, bonus_fen=bonus)
    topup = Figure("top up (bonus rules, cap)", "ms", 5)
    for member_id in chosen:
        def one_topup(member_id: int = member_id) -> None:
            with unit_of_work(db) as session:
                wallet.top_up(session, actor, member_id, 20_000, payment_method="cash")
        _timed(topup.samples, one_topup)
    pay = Figure("pay from the wallet (purchase + points)", "ms", 5)
    now = datetime.now(timezone.utc)
    for number, member_id in enumerate(chosen):
        def one_payment(number: int = number, member_id: int = member_id) -> None:
            with unit_of_work(db) as session:
                purchases.record_purchase(session, actor, member_id, receipt_no=f"W{number:08d}", till="bench", amount_fen=1_000 + number,
                                          occurred_at=now, now=now, wallet_fen=1_000 + number)
        _timed(pay.samples, one_payment)
    floor = _durable_floor(path, chosen)
    for figure in (topup, pay):
        figure.note = f"{figure.p50 / floor.p50:.1f}x the durable-commit floor (p50), {figure.p95 / floor.p95:.1f}x (p95)"
    aging = Figure(f"credit aging, {min(members_count, CREDIT_ACCOUNTS):,} accounts", "ms", 1_000)
    for _ in range(AGING_REPEATS):
        def one_aging() -> None:
            with read_session(db) as session:
                aging.note = f"{credit.aging(session).members:,} members owing"
        _timed(aging.samples, one_aging)
    overdue = Figure("member list: overdue filter (count + first page)", "ms")
    for _ in range(AGING_REPEATS):
        def one_filter() -> None:
            with read_session(db) as session:
                flt = member_query.MemberFilter(overdue=True)
                total = member_query.count(session, flt)
                member_query.page(session, flt, "member_no", False, 0, 200, total=total)
                overdue.note = f"{total:,} overdue; each debtor checked through the credit indexes"
        _timed(overdue.samples, one_filter)
    return [topup, pay, floor, aging, overdue]


def _durable_floor(path: Path, member_ids: list[int]) -> Figure:
    """What one durable commit of a money movement costs SQLite alone: a ledger entry inserted and the member's
    cached balance updated in one transaction, committed as the application commits (WAL, synchronous=FULL)."""
    figure = Figure("  floor: raw sqlite3 insert + update, durable commit", "ms")
    raw = _durable_connection(path)
    try:
        at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
        for member_id in member_ids:
            def one(member_id: int = member_id) -> None:
                raw.execute("BEGIN IMMEDIATE")
                raw.execute("INSERT INTO wallet_entry (member_id, at, kind, principal_fen, bonus_fen, payment_method, reason) "
                            "VALUES (?, ?, 'adjustment', 1, 0, '', 'bench floor')", (member_id, at))
                raw.execute("UPDATE member SET wallet_principal_fen = wallet_principal_fen + 1 WHERE id = ?", (member_id,))
                raw.execute("COMMIT")
            _timed(figure.samples, one)
    finally:
        raw.close()
    return figure


def _import_rows(members_count: int) -> int:
    """Rows per import figure: IMPORT_ROWS on a store of 100,000 members or more, fewer below (a small store only
    checks that the code runs); CRMDESK_BENCH_IMPORT_ROWS sets it."""
    wanted = os.environ.get("CRMDESK_BENCH_IMPORT_ROWS")
    return int(wanted) if wanted else max(500, min(IMPORT_ROWS, members_count // 5))


def _imports(db: Database, path: Path, members_count: int, rng: random.Random) -> list[Figure]:
    """Both imports, as the app runs them (checked in a read-only session, then written in one unit of work), beside
    a raw-sqlite3 floor that writes the same rows for the same members in one durable transaction. The purchase
    file's members are drawn from the whole store (as a till's export is), by phone."""
    from crmdesk.services import imports, purchase_imports

    rows = _import_rows(members_count)
    with read_session(db) as session:
        actor = staff_service.actor_for(session)
    purchase_file = _purchase_file(path.parent / "bench-purchases.csv", rows, path, rng, "I")
    member_file = path.parent / "bench-members.csv"
    with open(member_file, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["姓名", "手机", "卡号", "性别", "生日", "积分"])
        for number in range(rows):
            # 192 and 197 (the floor's) are prefixes the synthetic store never hands out: every row is a new member.
            writer.writerow([rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN), f"192{number:08d}",
                             f"IMPORT{number:08d}", rng.choice("男女"), f"19{rng.randrange(50, 99)}-0{rng.randrange(1, 9)}-1{rng.randrange(9)}",
                             rng.randrange(3_000)])
    figures = []
    for label, file, steps, floor in (("import purchases from CSV", purchase_file, purchase_imports.STEPS, _purchase_floor),
                                      ("import members from CSV", member_file, imports.STEPS, _member_floor)):
        figure = Figure(label, "rows/s", IMPORT_TARGETS[label], True)
        started = time.perf_counter()
        with read_session(db) as session:
            plan = steps.plan(session, file)
        checked = time.perf_counter()
        with unit_of_work(db, bulk=True) as session:
            steps.apply(session, actor, plan)
        finished = time.perf_counter()
        figure.value = rows / (finished - started)
        floor_figure = floor(db, file)
        figure.note = (f"{rows:,} rows; {figure.value / floor_figure.value:.0%} of the floor's rate; write lock held "
                       f"{finished - checked:.2f} s (checked before it in {checked - started:.2f} s)")
        figures += [figure, floor_figure]
    return figures


def _purchase_file(file: Path, rows: int, path: Path, rng: random.Random, prefix: str) -> Path:
    """A till's export of ``rows`` sales, a minute apart over the last days, each for an active member of the
    store at ``path`` drawn at random and named by phone (as a till's export names them)."""
    raw = sqlite3.connect(path)
    phones = [phone for (phone,) in raw.execute("SELECT phone FROM member WHERE status = 'active' AND phone IS NOT NULL")]
    raw.close()
    start = datetime.now(timezone.utc) - max(timedelta(days=60), timedelta(minutes=rows + 24 * 60))
    shop_time = timezone(timedelta(hours=8))
    with open(file, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["receipt_no", "phone", "time", "amount", "till"])
        for number in range(rows):
            moment = (start + timedelta(seconds=number * 60)).astimezone(shop_time)
            writer.writerow([f"{prefix}{number:08d}", rng.choice(phones)[3:], moment.strftime("%Y-%m-%d %H:%M:%S"),
                             f"{rng.randrange(100, 50_000) / 100:.2f}", "import"])
    return file


def _large_import(path: Path, rng: random.Random) -> Figure:
    """A purchase file of LARGE_IMPORT_ROWS rows imported by ``crmdesk import purchases`` in a process of its own,
    as a shop moving from an old system runs it once: its peak memory, which must not grow with the file."""
    rows = int(os.environ.get("CRMDESK_BENCH_LARGE_ROWS") or LARGE_IMPORT_ROWS)
    figure = Figure(f"import {rows:,} purchase rows (own process): peak memory", "MB", LARGE_IMPORT_MB)
    file = _purchase_file(path.parent / "bench-large-purchases.csv", rows, path, rng, "L")
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "crmdesk", "--db", str(path), "import", "purchases", str(file)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    errors = child.stderr.read() if child.stderr else b""
    # The child's own peak, which only wait4 tells (the bench runs where `resource` does, as peak_rss_mb).
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = status  # reaped here: Popen must not wait for it again
    seconds = time.perf_counter() - started
    file.unlink()
    if status != 0:
        raise RuntimeError(f"the large import failed: {errors.decode(errors='replace')[-2000:]}")
    figure.value = _maxrss_mb(usage.ru_maxrss)
    figure.note = f"{rows / seconds:,.0f} rows/s read, checked and written in {seconds:.0f} s"
    return figure


def _durable_bulk(path: str) -> sqlite3.Connection:
    """A raw connection with the page cache an import's write has (crmdesk.db.BULK_CACHE_KIB), in its transaction."""
    raw = _durable_connection(Path(path))
    raw.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    raw.execute("BEGIN IMMEDIATE")
    return raw


def _purchase_floor(db: Database, path: Path) -> Figure:
    """What SQLite alone costs for the purchase import's writes: the file read, each phone looked up, the purchases and
    their points entries inserted and every member's balance and totals updated, one durable transaction."""
    figure = Figure("  floor: raw sqlite3, the same rows and members", "rows/s", None, True)
    started = time.perf_counter()
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    raw = _durable_bulk(str(db.engine.url.database))
    member_of: dict[str, int] = {}
    for start in range(0, len(rows), 500):
        chunk = sorted({"+86" + r[1] for r in rows[start:start + 500]})
        member_of.update(raw.execute(f"SELECT phone, id FROM member WHERE phone IN ({','.join('?' * len(chunk))})", chunk))
    first = raw.execute("SELECT coalesce(max(id), 0) + 1 FROM purchase").fetchone()[0]
    written = [(first + i, member_of["+86" + r[1]], r[0], r[2] + ".000000", round(float(r[3]) * 100)) for i, r in enumerate(rows)]
    raw.executemany("INSERT INTO purchase (id, member_id, till, receipt_no, kind, occurred_at, amount_fen, payment_method, "
                    "created_at, wallet_fen, credit_fen) VALUES (?, ?, 'floor', ?, 'sale', ?, ?, '', ?, 0, 0)",
                    [(pid, member, receipt, at, amount, at) for pid, member, receipt, at, amount in written])
    raw.executemany("INSERT INTO points_entry (member_id, at, kind, points, expires_on, purchase_id, reason) "
                    "VALUES (?, ?, 'earn', ?, '2027-12-31', ?, '')",
                    [(member, at, amount // 100, pid) for pid, member, _receipt, at, amount in written])
    totals: dict[int, list[object]] = {}
    for _pid, member, _receipt, at, amount in written:
        total = totals.setdefault(member, [0, 0, 0, at])
        total[0], total[1], total[2], total[3] = total[0] + amount // 100, total[1] + 1, total[2] + amount, max(total[3], at)
    raw.executemany("UPDATE member SET points_balance = points_balance + ?, visit_count = visit_count + ?, "
                    "total_spend_fen = total_spend_fen + ?, last_visit_at = max(coalesce(last_visit_at, ''), ?) WHERE id = ?",
                    [(*total, member) for member, total in totals.items()])
    raw.execute("COMMIT")
    figure.value = len(rows) / (time.perf_counter() - started)
    raw.close()
    return figure


def _member_floor(db: Database, path: Path) -> Figure:
    """What SQLite alone costs for the member import's writes: the members (with their search keys), their cards,
    opening points entries, history and audit lines, one durable transaction."""
    figure = Figure("  floor: raw sqlite3, the same rows", "rows/s", None, True)
    started = time.perf_counter()
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    raw = _durable_bulk(str(db.engine.url.database))
    first = raw.execute("SELECT coalesce(max(id), 0) + 1 FROM member").fetchone()[0]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    raw.executemany(
        "INSERT INTO member (id, member_no, name, name_pinyin, name_initials, phone, phone_last4, gender, birthday, birth_month, "
        "address, email, notes, company, marketing_consent, source, joined_on, status, points_balance, visit_count, "
        "total_spend_fen, wallet_principal_fen, wallet_bonus_fen, credit_owed_fen, created_at, updated_at) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', '', '', 'none', 'import', ?, 'active', ?, 0, 0, 0, 0, 0, ?, ?)",
        [(first + i, f"F{first + i:08d}", r[0], r[0], r[0], "+86197" + r[1][3:], r[1][-4:], "female" if r[3] == "女" else "male",
          r[4], int(r[4][5:7]), now[:10], int(r[5]), now, now) for i, r in enumerate(rows)])  # other phones, cards: kept
    raw.executemany("INSERT INTO card (number, member_id, status, imported, issued_at) VALUES (?, ?, 'active', 1, ?)",
                    [("F" + r[2], first + i, now) for i, r in enumerate(rows)])
    raw.executemany("INSERT INTO points_entry (member_id, at, kind, points, reason) VALUES (?, ?, 'import', ?, 'floor')",
                    [(first + i, now, int(r[5])) for i, r in enumerate(rows) if int(r[5])])
    # The history and the audit log, as the import keeps them: "created" and "card issued" for each member.
    raw.executemany("INSERT INTO member_change (member_id, at, staff_id, staff_name, field, old_value, new_value) "
                    "VALUES (?, ?, 1, 'floor', ?, '', ?)",
                    [(first + i, now, field, value) for i, r in enumerate(rows)
                     for field, value in (("created", f"F{first + i:08d}"), ("card_issued", "F" + r[2]))])
    raw.executemany("INSERT INTO audit_event (at, staff_id, staff_name, action, entity_type, entity_id, details) "
                    "VALUES (?, 1, 'floor', ?, 'member', ?, ?)",
                    [(now, action, first + i, details) for i, r in enumerate(rows)
                     for action, details in (("member.add", f'{{"member_no": "F{first + i:08d}", "name": "{r[0]}"}}'),
                                             ("card.issue", f'{{"number": "F{r[2]}"}}'))])
    raw.execute("COMMIT")
    figure.value = len(rows) / (time.perf_counter() - started)
    raw.close()
    return figure


def _data_safety(db: Database, path: Path) -> list[Figure]:
    """A verified, compressed backup beside the bare copy SQLite's backup API makes; the whole data check beside
    SQLite's integrity check alone (the part of it no cached figure needs)."""
    import tempfile

    from crmdesk.services import backups, data_check

    backup = Figure("backup: online copy, integrity check, gzip, SHA-256", "ms")
    copy_floor = Figure("  floor: sqlite3 backup API copy alone", "ms")
    check = Figure("crmdesk check: file, every cached figure, impossible states", "ms")
    check_floor = Figure("  floor: PRAGMA integrity_check alone", "ms")
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        for number in range(2):
            _timed(backup.samples, lambda: backups.take_backup(db, "manual", to=Path(scratch)))

            def bare_copy(number: int = number) -> None:
                source, target = sqlite3.connect(path), sqlite3.connect(Path(scratch) / f"floor-{number}.sqlite")
                source.backup(target)
                target.close()
                source.close()

            _timed(copy_floor.samples, bare_copy)
            _timed(check.samples, lambda: data_check.run(db))
            raw = sqlite3.connect(path)
            _timed(check_floor.samples, lambda: raw.execute("PRAGMA integrity_check").fetchall())
            raw.close()
    backup.note = f"{backup.p50 / copy_floor.p50:.1f}x the bare copy (p50)"
    check.note = f"{check.p50 / check_floor.p50:.1f}x the integrity check alone (p50)"
    return [backup, copy_floor, check, check_floor]


def _insight(db: Database, path: Path) -> list[Figure]:
    """The whole refresh of every member's figures beside one raw pass that groups the purchases per member and
    shop day (the least any refresh must read); then the dashboard opening on the stored figures."""
    from crmdesk.services import insight, insight_figures

    with read_session(db) as session:
        actor = staff_service.actor_for(session)
    today = date.today()
    refresh = Figure("insight refresh: every member's figures", "ms", 60_000)
    result = None

    def run() -> None:
        nonlocal result
        result = insight.refresh(db, actor, as_of=today)

    _timed(refresh.samples, run)
    floor = Figure("  floor: raw sqlite3 GROUP BY member and day over purchases", "ms")
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA cache_size = -{insight.SORT_CACHE_KIB}")  # the sort room the refresh has
    _timed(floor.samples, lambda: raw.execute(  # the refresh's first pass alone, read the same way (table order)
        "SELECT count(*) FROM (SELECT member_id, (CAST(strftime('%s', occurred_at) AS INTEGER) + 28800) / 86400 AS day, "
        "sum(amount_fen) FROM purchase WHERE +occurred_at < '9999' GROUP BY +member_id, day)").fetchone())
    raw.close()
    assert result is not None
    model = "model not fitted: " + result.model_note if result.model_note else "BG/NBD and Gamma-Gamma fitted"
    refresh.note = (f"{result.members:,} members, {result.purchases:,} purchases; {model}; "
                    f"{refresh.p50 / floor.p50:.1f}x the floor")
    board = Figure("dashboard opens (last 30 days, by day)", "ms", 300)
    for _ in range(20):
        def open_board() -> None:
            with read_session(db) as session:
                insight_figures.dashboard(session, actor, today - timedelta(days=29), today, "day")
        _timed(board.samples, open_board)
    year = Figure("dashboard opens (12 months, by month)", "ms", 300)
    for _ in range(10):
        def open_year() -> None:
            with read_session(db) as session:
                insight_figures.dashboard(session, actor, today - timedelta(days=364), today, "month")
        _timed(year.samples, open_year)
    return [refresh, floor, board, year]


def _profile(db: Database, ids: list[int]) -> Figure:
    figure = Figure("member profile + history first page", "ms", 50)
    for member_id in ids[:100]:
        def one() -> None:
            with read_session(db) as session:
                members.profile(session, member_id)
                purchases.history_page(session, member_id, limit=50)
                purchases.totals(session, member_id)
        _timed(figure.samples, one)
    return figure


def _documents(db: Database, ids: list[int]) -> list[Figure]:
    """The member report as the GUI and `crmdesk report member` make it, and a 10,000-row member list."""
    from crmdesk.reports.base import ReportContext
    from crmdesk.reports.documents import MemberReportRequest, make_document
    from crmdesk.reports.member_list import ListHeading, render_member_list
    from crmdesk.services import member_query

    with read_session(db) as session:
        actor = staff_service.actor_for(session)
    report = Figure("member report (PDF)", "ms", 300)
    for member_id in ids[:30]:
        _timed(report.samples, lambda member_id=member_id: make_document(db, actor, MemberReportRequest(member_id)))
    listing = Figure("member list PDF, 10,000 rows", "ms", 10_000, note="read from the database and laid out")
    for _ in range(2):
        def one() -> None:
            with read_session(db) as session:
                pages = member_query.iter_pages(session, member_query.MemberFilter(), "member_no", False)
                rows = list(itertools.islice((row for page in pages for row in page), 10_000))
            ctx = ReportContext("bench", actor.name, datetime.now(timezone.utc))
            pdf = render_member_list(rows, len(rows), ListHeading((), "member_no", False), ctx)
            listing.note = f"read from the database and laid out: {len(pdf) // 1024:,} KB"
        _timed(listing.samples, one)
    return [report, listing]


def format_table(report: Report) -> str:
    lines = [f"crmdesk bench: {report.members:,} members, {report.purchases_per_member:g} purchases per member, "
             f"seed {report.seed}; {report.machine['cpus']} CPUs, SQLite {report.machine['sqlite']}", ""]
    header = f"{'operation':46} {'p50':>10} {'p95':>10} {'max':>10} {'target':>12}   "
    lines += [header, "-" * len(header)]
    for f in report.figures:
        if f.samples:
            cells = [f"{f.p50:.2f} ms", f"{f.p95:.2f} ms", f"{f.max:.2f} ms"]
        else:
            shown = "-" if f.value is None else (f"{f.value:,.0f} {f.unit}" if f.value >= 100 else f"{f.value:,.1f} {f.unit}")
            cells = ["", shown, ""]
        target = "" if f.target is None else (f"≥ {f.target:,.0f} {f.unit}" if f.higher_is_better else f"≤ {f.target:.3g} {f.unit}")
        mark = {True: "✓", False: "✗", None: ""}[f.met]
        lines.append(f"{f.name:46} {cells[0]:>10} {cells[1]:>10} {cells[2]:>10} {target:>12}  {mark}  {f.note}".rstrip())
    return "\n".join(lines)


def report_json(report: Report) -> dict[str, Any]:
    return report.as_dict()

