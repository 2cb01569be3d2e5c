"""The processes the reliability trials kill and race, and the checks both trial files share.

Every till and every killed worker is its own process with its own database connection. Starting a
fresh Python for each would spend about a second importing crmdesk (pypinyin's dictionary above all),
so ``python -m tests.reliability.tills serve`` imports crmdesk once and then forks one process per
till or per trial when the test asks for it (one JSON request a line on its stdin, one JSON answer a
line on its stdout). A forked process opens its own database, writes ``ready`` and then one line to
its own output file after every operation it COMMITTED -- that is what SIGKILL interrupts.

Jobs (the ``JOBS`` table): ``sales`` (purchases earning points), ``redeem`` (points redeemed, by
loyalty.redeem and by an offer that costs points), ``wallet`` (purchases paid from stored value, some
partly on credit, and refunds of them), ``member_import`` and ``purchase_import`` (files of thousands
of rows, one transaction each, one after another) and ``till`` (one of four tills doing mixed work).
"""

from __future__ import annotations

import csv
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from crmdesk import failures
from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.errors import CrmdeskError, InvalidInput
from crmdesk.models import (
    AuditEvent, CreditEntry, CreditKind, OfferRedemption, PointsEntry, PointsKind, Purchase, PurchaseKind, WalletEntry,
    WalletKind,
)
from crmdesk.services import credit, data_check, imports, loyalty, offers, purchase_imports, purchases, store, wallet
from crmdesk.services.staff import actor_for
from crmdesk.services.uow import read_session, unit_of_work

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("CRMDESK_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"]
OWNER = ("王店长", "owner-secret-1")
NEEDS_FORK = pytest.mark.skipif(not hasattr(os, "fork"), reason="the trials fork their workers and SIGKILL them (POSIX)")
LIFETIME = 120.0  # a worker stops by itself after this long, should the test that started it be gone


class Figures:
    """The figures of a trial file, per backend; ``figures[key]`` are the running test's (``backend``)."""

    def __init__(self) -> None:
        self.per_backend: dict[str, Counter[str]] = {backend: Counter() for backend in BACKENDS}
        self.backend = "sqlite"

    def __getitem__(self, key: str) -> int:
        return self.per_backend[self.backend][key]

    def __setitem__(self, key: str, value: int) -> None:
        self.per_backend[self.backend][key] = value

    def ran(self) -> Iterator[tuple[str, Counter[str]]]:
        return ((backend, figures) for backend, figures in self.per_backend.items() if figures)


def trials(default: int) -> int:
    return max(1, int(os.environ.get("CRMDESK_RELIABILITY_TRIALS") or default))


# =========================================================================== the database of a test


def fresh_database(tmp_path: Path, backend: str) -> tuple[Database, str]:
    """An empty, migrated database of the backend (PostgreSQL: the scratch database, emptied), with a store."""
    if backend == "postgresql":
        if not PG_URL:
            pytest.skip("set CRMDESK_TEST_POSTGRES_URL to a scratch PostgreSQL database")
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
        url = PG_URL
    else:
        url = str(sqlite_url(tmp_path / "shop.sqlite"))
    db = open_database(sa.make_url(url))
    with unit_of_work(db) as session:
        store.initialise(session, owner_name=OWNER[0], owner_password=OWNER[1])
    return db, url


def worker_url(url: str, name: str) -> sa.URL:
    """The URL a worker connects with: on a server, named, so the test can wait for its connection to end."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.update_query_dict({"application_name": name})
    return parsed


def wait_until_disconnected(db: Database, name: str, timeout: float = 30.0) -> None:
    """On a server, wait until the killed worker's connection is gone: its transaction is then rolled back
    (or committed, when the kill came after COMMIT had reached the server) and its locks are free."""
    if db.is_sqlite:
        return  # the kernel drops a dead process's file locks at once
    deadline = time.monotonic() + timeout
    while True:
        with db.engine.connect() as conn:
            left = conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                                {"name": name}).scalar()
        if not left:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the server still has the connection of {name} after {timeout} s")
        time.sleep(0.02)


# =========================================================================== what must always hold


def half_written(session: sa.orm.Session) -> list[str]:
    """Operations of which only a part is in the database (empty when every one is whole).

    * every sale of ¥1 or more has exactly one points entry of its own (1 point per ¥1, tiers 100 % and up);
    * a sale's or refund's wallet and credit parts equal the wallet and credit entries that name it;
    * no wallet payment or refund, and no credit charge or refund, without its purchase;
    * every points redemption has its audit event, and every offer paid with points its points entry."""
    problems: list[str] = []
    # Each table is read on its own and compared here: a join of purchases with their entries may be planned
    # badly (quadratic) by a PostgreSQL whose statistics lag behind a bulk import.
    earned = Counter(session.scalars(sa.select(PointsEntry.purchase_id).where(
        PointsEntry.kind == PointsKind.EARN, PointsEntry.purchase_id.is_not(None))))
    wallet_moved: Counter[int] = Counter()
    for purchase_id, fen in session.execute(sa.select(WalletEntry.purchase_id, WalletEntry.principal_fen + WalletEntry.bonus_fen)
                                            .where(WalletEntry.purchase_id.is_not(None))):
        wallet_moved[purchase_id] += fen
    credit_moved: Counter[int] = Counter()
    for purchase_id, fen in session.execute(sa.select(CreditEntry.purchase_id, CreditEntry.amount_fen)
                                            .where(CreditEntry.purchase_id.is_not(None))):
        credit_moved[purchase_id] += fen
    for purchase_id, till, receipt, kind, amount, wallet_part, credit_part in session.execute(sa.select(
            Purchase.id, Purchase.till, Purchase.receipt_no, Purchase.kind, Purchase.amount_fen, Purchase.wallet_fen,
            Purchase.credit_fen)):
        sign = -1 if kind is PurchaseKind.SALE else 1  # a sale takes from the wallet and adds to the debt
        if kind is PurchaseKind.SALE and amount >= 100 and earned[purchase_id] != 1:
            problems.append(f"sale {till}/{receipt} has {earned[purchase_id]} points entries, not 1")
        if wallet_part != sign * wallet_moved[purchase_id]:
            problems.append(f"purchase {till}/{receipt} paid {wallet_part} fen from the wallet, "
                            f"its wallet entries move {wallet_moved[purchase_id]}")
        if credit_part != -sign * credit_moved[purchase_id]:
            problems.append(f"purchase {till}/{receipt} put {credit_part} fen on credit, "
                            f"its credit entries move {credit_moved[purchase_id]}")
    orphans = session.scalar(sa.select(sa.func.count()).select_from(WalletEntry).where(
        WalletEntry.kind.in_((WalletKind.PAYMENT, WalletKind.REFUND)), WalletEntry.purchase_id.is_(None)))
    if orphans:
        problems.append(f"{orphans} wallet payments or refunds name no purchase")
    orphans = session.scalar(sa.select(sa.func.count()).select_from(CreditEntry).where(
        CreditEntry.kind.in_((CreditKind.CHARGE, CreditKind.REFUND)), CreditEntry.purchase_id.is_(None)))
    if orphans:
        problems.append(f"{orphans} credit charges or refunds name no purchase")
    redeemed = session.scalar(sa.select(sa.func.count()).select_from(PointsEntry).where(PointsEntry.kind == PointsKind.REDEEM))
    audited = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "points.redeem"))
    if redeemed != audited:
        problems.append(f"{redeemed} points redemptions but {audited} audit events of them")
    paid_offers = session.scalar(sa.select(sa.func.count()).select_from(OfferRedemption).where(OfferRedemption.points_spent > 0))
    offer_points = session.scalar(sa.select(sa.func.count()).select_from(PointsEntry).where(
        PointsEntry.kind == PointsKind.REDEEM, PointsEntry.reason.like("offer %")))
    if paid_offers != offer_points:
        problems.append(f"{paid_offers} offers paid with points but {offer_points} points entries for offers")
    return problems


def violations(db: Database) -> list[str]:
    """What ``crmdesk check`` finds, and every half-written operation, as lines for a person."""
    report = data_check.run(db)
    found = [f"check: {f.kind} member={f.member_no or f.member_id} cached={f.cached} expected={f.expected} {f.detail}".rstrip()
             for f in report.findings]
    with read_session(db) as session:
        found += half_written(session)
    return found


# =========================================================================== files to import


def member_file(folder: Path, prefix: str, k: int, rows: int) -> Path:
    """File ``k`` of a member import: ``rows`` new members with cards ``{prefix}{k}-NNNN``, opening points,
    stored value and debts."""
    path = folder / f"{prefix}{k}.csv"
    base = int("".join(ch for ch in prefix if ch.isdigit()) or 0) % 1000 * 100_000 + k * 10_000
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["卡号", "姓名", "手机", "积分", "余额", "欠款"])
        for i in range(rows):
            p = member_row_points(i)
            out.writerow([f"{prefix}{k}-{i:04d}", f"导入{k}号{i}", f"139{base + i:08d}", p,
                          "12.50" if i % 3 == 0 else "", "8.00" if i % 5 == 0 else ""])
    return path


def member_row_points(i: int) -> int:
    return i % 7 * 10


def member_file_expects(rows: int) -> tuple[int, int, int, int]:
    """(members, opening points entries, opening wallet entries, opening debts) of a member file."""
    return (rows, sum(1 for i in range(rows) if member_row_points(i)), sum(1 for i in range(rows) if i % 3 == 0),
            sum(1 for i in range(rows) if i % 5 == 0))


def purchase_file(folder: Path, prefix: str, k: int, rows: int, cards: Sequence[str], seed: int) -> Path:
    """File ``k`` of a purchase import: ``rows`` sales of till IMP, receipts ``{prefix}{k}-NNNNN``, for ``cards``."""
    rng = random.Random(seed)
    path = folder / f"{prefix}{k}.csv"
    start = datetime.now(loyalty.SHOP_ZONE) - timedelta(days=2)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["小票号", "收银台", "卡号", "时间", "金额"])
        for i in range(rows):
            at = start + timedelta(seconds=i * 7)
            out.writerow([f"{prefix}{k}-{i:05d}", "IMP", rng.choice(cards), at.strftime("%Y-%m-%d %H:%M:%S"),
                          f"{rng.randint(1, 300)}.{rng.randint(0, 99):02d}"])
    return path


# =========================================================================== the workers (run in forked processes)


def say(*parts: object) -> None:
    print(*parts, flush=True)


def _open(url: str) -> tuple[Database, Any]:
    db = open_database(worker_url(url, f"trial-{os.getpid()}"))
    with read_session(db) as session:
        actor = actor_for(session)
    say("ready", os.getpid())
    return db, actor


def job_sales(url: str, prefix: str, till: str, member_ids: list[int], seed: int) -> None:
    """Sales paid in cash, earning points, one after another: ``ok N`` after receipt ``{prefix}N`` committed."""
    rng = random.Random(seed)
    db, actor = _open(url)
    deadline = time.monotonic() + LIFETIME
    n = 0
    while time.monotonic() < deadline:
        n += 1
        with unit_of_work(db) as session:
            purchases.record_purchase(session, actor, rng.choice(member_ids), receipt_no=f"{prefix}{n:06d}", till=till,
                                      amount_fen=rng.randint(100, 20_000), payment_method="cash")
        say("ok", n)


def job_redeem(url: str, prefix: str, member_id: int, offer_id: int, seed: int) -> None:
    """Points redeemed: ``ok N`` after loyalty.redeem with reason ``{prefix}N`` committed, ``offer N ID`` after the
    offer that costs points was used (redemption ID)."""
    rng = random.Random(seed)
    db, actor = _open(url)
    deadline = time.monotonic() + LIFETIME
    n = 0
    while time.monotonic() < deadline:
        n += 1
        if rng.random() < 0.25:
            with unit_of_work(db) as session:
                used = offers.apply(session, actor, offer_id, member_id)
            say("offer", n, used.id)
        else:
            with unit_of_work(db) as session:
                loyalty.redeem(session, actor, member_id, rng.randint(1, 50), reason=f"{prefix}{n:06d}")
            say("ok", n)


def job_wallet(url: str, prefix: str, till: str, member_ids: list[int], seed: int) -> None:
    """Sales paid from the wallet (some partly on credit and in cash) and refunds of them, each with receipt
    ``{prefix}N``: ``sale N`` / ``refund N`` after it committed, ``no N`` when it was refused."""
    rng = random.Random(seed)
    db, actor = _open(url)
    deadline = time.monotonic() + LIFETIME
    sold: list[tuple[str, int]] = []
    n = 0
    while time.monotonic() < deadline:
        n += 1
        receipt = f"{prefix}{n:06d}"
        try:
            if sold and rng.random() < 0.2:
                original, amount = rng.choice(sold)
                with unit_of_work(db) as session:
                    purchases.refund(session, actor, original_till=till, original_receipt=original, refund_receipt=receipt,
                                     amount_fen=rng.randint(1, amount))
                say("refund", n)
                continue
            amount = rng.randint(100, 3_000)
            style = rng.randrange(3)
            from_wallet = amount if style == 0 else amount // 2 if style == 1 else amount // 3
            on_credit = 0 if style == 0 else amount - from_wallet if style == 1 else amount // 3
            with unit_of_work(db) as session:
                purchases.record_purchase(session, actor, rng.choice(member_ids), receipt_no=receipt, till=till,
                                          amount_fen=amount, wallet_fen=from_wallet, credit_fen=on_credit,
                                          payment_method="" if from_wallet + on_credit == amount else "cash")
            sold.append((receipt, amount))
            say("sale", n)
        except InvalidInput:
            say("no", n)  # refunded beyond what is left of the sale, or the wallet is empty


def job_member_import(url: str, folder: str, prefix: str, rows: int, files: int) -> None:
    """Member files imported one after another, each in one transaction: ``file K SECONDS`` after file K committed."""
    db, actor = _open(url)
    for k in range(files):
        path = member_file(Path(folder), prefix, k, rows)
        started = time.monotonic()
        with unit_of_work(db) as session:
            plan = imports.plan_import(session, path)
            imports.apply_import(session, actor, plan)
        say("file", k, f"{time.monotonic() - started:.3f}")
    say("done")


def job_purchase_import(url: str, folder: str, prefix: str, rows: int, files: int, cards: list[str], seed: int) -> None:
    """Purchase files imported one after another, each in one transaction: ``file K SECONDS`` after file K committed."""
    db, actor = _open(url)
    for k in range(files):
        path = purchase_file(Path(folder), prefix, k, rows, cards, seed * 100 + k)
        started = time.monotonic()
        with unit_of_work(db) as session:
            plan = purchase_imports.plan_purchase_import(session, path)
            purchase_imports.apply_purchase_import(session, actor, plan)
        say("file", k, f"{time.monotonic() - started:.3f}")
    say("done")


# --------------------------------------------------------------------------- one of four tills


MOVES = ("principal", "bonus", "points", "credit")


def _barrier(folder: Path, name: str, till: str, tills: int, timeout: float = 30.0) -> bool:
    """Wait until every till has reached this point (files in ``folder``); False when one never came."""
    (folder / f"{name}.{till}").touch()
    deadline = time.monotonic() + timeout
    while sum(1 for _ in folder.glob(f"{name}.*")) < tills:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def job_till(url: str, till: str, seed: int, rounds: int, member_ids: list[int], offer_id: int, coupons: list[str],
             barrier: str, tills: int) -> None:
    """Mixed counter work on few members, racing the other tills; each round ends with every till trying the
    same coupon at the same moment. Prints one JSON document at the end: what succeeded, what each success
    moved per member, what was refused (by error type), and any database error that escaped."""
    rng = random.Random(seed)
    db, actor = _open(url)
    moved = {m: dict.fromkeys(MOVES, 0) for m in member_ids}
    done: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    busy: list[str] = []
    escaped: list[str] = []
    won: dict[str, int] = {}
    tried: list[str] = []
    late: list[str] = []

    def attempt(kind: str, work: Any) -> bool:
        """One operation in its own unit of work; what it moved counts only once it has committed."""
        pending: dict[int, dict[str, int]] = {}
        try:
            with unit_of_work(db) as session:
                if work(session, pending) is False:
                    return False  # nothing to do (no sale left to refund)
        except CrmdeskError as exc:
            refused[f"{kind}: {type(exc).__name__}"] += 1
            return False
        except sa.exc.DBAPIError as exc:
            told = failures.explain(exc)
            (busy if told.template == failures.MSG_BUSY else escaped).append(
                f"{kind}: {type(exc).__name__}({type(getattr(exc, 'orig', exc)).__name__}): {told.message}")
            return False
        done[kind] += 1
        for member, delta in pending.items():
            for key, value in delta.items():
                moved[member][key] += value
        return True

    def add(pending: dict[int, dict[str, int]], member: int, **delta: int) -> None:
        row = pending.setdefault(member, dict.fromkeys(MOVES, 0))
        for key, value in delta.items():
            row[key] += value

    def sale(session: Any, pending: dict[int, dict[str, int]]) -> None:
        member, amount = rng.choice(member_ids), rng.randint(100, 5_000)
        style = rng.choice(("cash", "wallet", "credit", "mixed"))
        from_wallet = amount if style == "wallet" else amount // 3 if style == "mixed" else 0
        on_credit = amount if style == "credit" else amount // 3 if style == "mixed" else 0
        result = purchases.record_purchase(session, actor, member, till=till, amount_fen=amount, wallet_fen=from_wallet,
                                           credit_fen=on_credit, payment_method="" if style in ("wallet", "credit") else "cash")
        draw = wallet.moved_by_purchase(session, result.purchase_id)
        assert draw.total_fen == -from_wallet, (draw, from_wallet)
        add(pending, member, principal=draw.principal_fen, bonus=draw.bonus_fen, points=result.points, credit=on_credit)

    def refund(session: Any, pending: dict[int, dict[str, int]]) -> bool:
        member = rng.choice(member_ids)
        left = purchases.refundable_sales(session, member, limit=10)
        if not left:
            return False
        sale_row = rng.choice(left)
        # Up to the whole sale, not what is left of it: another till may have refunded part of it already.
        result = purchases.refund(session, actor, original_till=sale_row.till, original_receipt=sale_row.receipt_no,
                                  amount_fen=rng.randint(1, sale_row.amount_fen), member_id=member)
        back = wallet.moved_by_purchase(session, result.purchase_id)
        add(pending, member, principal=back.principal_fen, bonus=back.bonus_fen, points=result.points,
            credit=credit.moved_by_purchase(session, result.purchase_id)[0])
        return True

    def redeem(session: Any, pending: dict[int, dict[str, int]]) -> None:
        member, points = rng.choice(member_ids), rng.randint(1, 300)
        loyalty.redeem(session, actor, member, points, reason=f"till {till}")
        add(pending, member, points=-points)

    def top_up(session: Any, pending: dict[int, dict[str, int]]) -> None:
        member = rng.choice(member_ids)
        result = wallet.top_up(session, actor, member, rng.choice((5_000, 10_000, 30_000, 80_000)), payment_method="cash")
        add(pending, member, principal=result.principal_fen, bonus=result.bonus_fen)

    def repay(session: Any, pending: dict[int, dict[str, int]]) -> None:
        member, amount = rng.choice(member_ids), rng.randint(100, 4_000)
        credit.repay(session, actor, member, amount)
        add(pending, member, credit=-amount)

    work = {"sale": sale, "refund": refund, "redeem": redeem, "top-up": top_up, "repay": repay}
    kinds, weights = list(work), [35, 15, 15, 15, 20]
    for number in range(rounds):
        for _ in range(rng.randint(3, 6)):
            kind = rng.choices(kinds, weights)[0]
            attempt(kind, work[kind])
        code = coupons[number]
        if not _barrier(Path(barrier), f"coupon{number}", till, tills):
            late.append(code)
        member = rng.choice(member_ids)
        tried.append(code)

        def use(session: Any, pending: dict[int, dict[str, int]], code: str = code, member: int = member) -> None:
            offers.apply(session, actor, offer_id, member, basket_fen=rng.randint(1_000, 5_000), coupon_code=code)

        if attempt("coupon", use):
            won[code] = member
    say(json.dumps({"till": till, "done": done, "refused": refused, "busy": busy, "escaped": escaped,
                    "moved": {str(m): v for m, v in moved.items()}, "won": won, "tried": tried, "late": late}))


JOBS = {"sales": job_sales, "redeem": job_redeem, "wallet": job_wallet, "member_import": job_member_import,
        "purchase_import": job_purchase_import, "till": job_till}


# =========================================================================== the fork server


def _run_forked(job: str, args: dict[str, Any], out: str) -> None:
    code = 1
    try:
        write = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        for fd, path, flags in ((1, out, write), (2, out + ".err", write), (0, os.devnull, os.O_RDONLY)):
            opened = os.open(path, flags, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        # Open for the rest of the worker's life, line-buffered: each line is written the moment it is printed.
        sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        JOBS[job](**args)
        code = 0
    except BaseException:  # noqa: BLE001 - the traceback goes to the worker's .err file for the test to show
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve() -> None:
    """Fork a worker per ``start`` request; ``wait`` reaps one and answers its exit status (-9: killed)."""
    answer = sys.stdout
    print(json.dumps({"ready": os.getpid()}), file=answer, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "start":
            answer.flush()
            pid = os.fork()
            if pid == 0:
                _run_forked(request["job"], request["args"], request["out"])
            reply: dict[str, Any] = {"pid": pid}
        elif request["op"] == "wait":
            _, status = os.waitpid(request["pid"], 0)
            reply = {"status": os.waitstatus_to_exitcode(status)}
        else:
            reply = {"error": f"unknown op {request['op']}"}
        print(json.dumps(reply), file=answer, flush=True)


@dataclass
class Worker:
    pid: int
    out: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def name(self) -> str:
        return f"trial-{self.pid}"

    def lines(self) -> list[list[str]]:
        """The complete lines written so far, split in words (a line cut by the kill is left out)."""
        try:
            text = self.out.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [line.split() for line in text.split("\n")[:-1] if line.strip()]

    def errors(self) -> str:
        try:
            return Path(str(self.out) + ".err").read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(words and words[0] == "ready" for words in self.lines()):
            if time.monotonic() > deadline:
                raise AssertionError(f"worker {self.pid} never became ready:\n{self.errors()}")
            time.sleep(0.005)


class Forks:
    """The test's end of the fork server (one per test)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.alive: set[int] = set()
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.tills", "serve"], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8")
        self.answers: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert "ready" in self._answer()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.answers.put(line)

    def _answer(self, timeout: float = 300.0) -> dict[str, Any]:
        try:
            return json.loads(self.answers.get(timeout=timeout))
        except queue.Empty:
            raise AssertionError("the fork server did not answer") from None

    def _ask(self, request: dict[str, Any], timeout: float = 300.0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._answer(timeout)

    def start(self, job: str, **args: Any) -> Worker:
        self.count += 1
        out = self.folder / f"worker{self.count}.out"
        pid = int(self._ask({"op": "start", "job": job, "args": args, "out": str(out)})["pid"])
        self.alive.add(pid)
        return Worker(pid, out)

    def wait(self, worker: Worker, timeout: float = 300.0) -> int:
        status = int(self._ask({"op": "wait", "pid": worker.pid}, timeout)["status"])
        self.alive.discard(worker.pid)
        return status

    def kill(self, worker: Worker) -> bool:
        """SIGKILL the worker; True when it was still running (not already finished)."""
        os.kill(worker.pid, signal.SIGKILL)
        return self.wait(worker) == -signal.SIGKILL

    def close(self) -> None:
        for pid in list(self.alive):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def forks_for(folder: Path) -> Iterator[Forks]:
    server = Forks(folder)
    try:
        yield server
    finally:
        server.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    else:
        sys.exit("usage: python -m tests.reliability.tills serve")
