"""A process killed (SIGKILL) in the middle of its work never leaves half an operation, nor loses one it committed.

Five kinds of work, each killed again and again at a random (seeded) moment, on SQLite and -- when
CRMDESK_TEST_POSTGRES_URL is set -- on PostgreSQL:

* purchases earning points;
* points redemptions (loyalty.redeem, and an offer that costs points);
* purchases paid from stored value (some partly on credit), and refunds of them;
* a member import and a purchase import of thousands of rows each, one transaction per file, files
  one after another so the kill lands inside one of them;
* the same member import through the command line (``python -m crmdesk import members``).

The worker writes a line after every operation it committed (tests/reliability/tills.py). After each kill:
``crmdesk check`` (data_check.run) finds nothing, no operation is half written (tills.half_written), every
operation the worker reported is in the database, and at most the one it was doing when killed is there
besides (committed, but killed before it could say so); an import file is there with all its rows or none.

A few trials per case by default; CRMDESK_RELIABILITY_TRIALS=N runs N per case.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk import shop_time
from crmdesk.db import Database
from crmdesk.models import (
    AuditEvent, Card, CreditEntry, CreditKind, Member, OfferKind, OfferRedemption, PointsEntry, PointsKind, Purchase,
    WalletEntry, WalletKind,
)
from crmdesk.services import backups, credit, data_check, imports, loyalty, members, offers, purchases, wallet
from crmdesk.services.staff import actor_for
from crmdesk.services.uow import read_session, unit_of_work
from tests.reliability.tills import (
    BACKENDS, NEEDS_FORK, ROOT, Figures, Forks, Worker, forks_for, fresh_database, member_file,
    member_file_expects, trials, violations, wait_until_disconnected, worker_url,
)

pytestmark = [pytest.mark.slow, NEEDS_FORK]

TRIALS = trials(3)
ROWS = 2_000  # rows of each import file
FILES = 4  # files a worker imports one after another (it is killed during one of them)
FIGURE = Figures()


@pytest.fixture(scope="module", autouse=True)
def summary() -> Iterator[None]:
    yield
    for backend, figures in FIGURE.ran():
        print(f"\nkill trials on {backend}: {figures['trials']} trials, {figures['kills']} kills, "
              f"{figures['operations']} operations committed ({figures['rows']} import rows), "
              f"violations found = {figures['violations']}")


@pytest.fixture(params=BACKENDS)
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Database, str, str]]:
    db, url = fresh_database(tmp_path, request.param)
    FIGURE.backend = request.param
    yield db, url, request.param
    db.dispose()


@pytest.fixture(scope="module")
def forks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forks]:
    yield from forks_for(tmp_path_factory.mktemp("workers"))


# --------------------------------------------------------------------------- the trial itself


def kill_after(forks: Forks, db: Database, delay: float, job: str, **args: object) -> tuple[Worker, bool]:
    """Start a worker, let it work ``delay`` seconds after it is ready, SIGKILL it. (worker, killed while working)."""
    worker = forks.start(job, **args)
    worker.wait_ready()
    time.sleep(delay)
    killed = forks.kill(worker)
    wait_until_disconnected(db, worker.name)
    if not killed:
        assert any(words == ["done"] for words in worker.lines()), f"worker ended by itself:\n{worker.errors()}"
    FIGURE["trials"] += 1
    FIGURE["kills"] += killed
    return worker, killed


def assert_sound(db: Database) -> None:
    found = violations(db)
    FIGURE["violations"] += len(found)
    assert not found, "after the kill:\n" + "\n".join(found)


def assert_reported_are_stored(reported: set[int], last: int, stored: set[int], what: str) -> None:
    """Every operation reported committed is stored; besides them at most the next one (killed before it said so)."""
    FIGURE["operations"] += len(reported)
    missing = reported - stored
    extra = stored - reported
    if missing or not extra <= {last + 1}:
        FIGURE["violations"] += len(missing) + len(extra - {last + 1})
    assert not missing, f"{what} reported committed but not in the database: {sorted(missing)}"
    assert extra <= {last + 1}, f"{what} in the database that the worker never reached: {sorted(extra)} (last {last})"


def numbers(values: object, prefix: str) -> set[int]:
    return {int(value[len(prefix):]) for value in values}  # type: ignore[attr-defined]


def count_of(session: sa.orm.Session, column: sa.orm.InstrumentedAttribute[int], ids: object, *where: object) -> int:
    """Rows whose ``column`` is one of ``ids``, asked in chunks of a list: a subquery or a join could be planned
    badly by a PostgreSQL whose statistics lag behind a bulk import (seen: minutes for one check)."""
    ids = sorted(ids)  # type: ignore[call-overload]
    return sum(session.scalar(sa.select(sa.func.count()).select_from(column.class_).where(
        column.in_(ids[start:start + 1000]), *where)) or 0 for start in range(0, len(ids), 1000))


def earn_entries(session: sa.orm.Session, purchase_ids: object) -> Counter[int]:
    """How many points-earning entries each of the purchases has."""
    ids = sorted(purchase_ids)  # type: ignore[call-overload]
    found: Counter[int] = Counter()
    for start in range(0, len(ids), 1000):
        found.update(session.scalars(sa.select(PointsEntry.purchase_id).where(
            PointsEntry.purchase_id.in_(ids[start:start + 1000]), PointsEntry.kind == PointsKind.EARN)))
    return found


def register(db: Database, count: int) -> list[int]:
    with unit_of_work(db) as session:
        owner = actor_for(session)
        ids = [members.register(session, owner, members.MemberInput(name=f"顾客{n}", phone=f"138{n:08d}")).id
               for n in range(count)]
    return ids


# --------------------------------------------------------------------------- purchases


def test_killed_while_recording_purchases_with_points(shop, forks) -> None:  # type: ignore[no-untyped-def]
    db, url, backend = shop
    member_ids = register(db, 3)
    rng = random.Random(f"purchases/{backend}")
    for trial in range(TRIALS):
        prefix = f"S{trial:03d}-"
        worker, _ = kill_after(forks, db, rng.uniform(0.02, 0.6), "sales", url=url, prefix=prefix, till="K",
                               member_ids=member_ids, seed=trial)
        reported = {int(words[1]) for words in worker.lines() if words[0] == "ok"}
        with read_session(db) as session:
            receipts = dict(session.execute(sa.select(Purchase.id, Purchase.receipt_no).where(
                Purchase.till == "K", Purchase.receipt_no.like(prefix + "%"))).all())
            earned = earn_entries(session, receipts)
        assert_reported_are_stored(reported, max(reported, default=0), numbers(receipts.values(), prefix), "receipts")
        assert all(earned[i] == 1 for i in receipts), earned  # each receipt with its points entry
        assert_sound(db)


# --------------------------------------------------------------------------- points redemptions


def test_killed_while_redeeming_points(shop, forks) -> None:  # type: ignore[no-untyped-def]
    db, url, backend = shop
    (member_id,) = register(db, 1)
    with unit_of_work(db) as session:
        owner = actor_for(session)
        loyalty.adjust(session, owner, member_id, 1_000_000, reason="试验用积分")
        offer_id = offers.create_offer(session, owner, offers.OfferInput(
            name="积分换购毛巾", kind=OfferKind.GIFT, gift="毛巾", points_cost=30)).id
    rng = random.Random(f"redeem/{backend}")
    for trial in range(TRIALS):
        prefix = f"R{trial:03d}-"
        with read_session(db) as session:
            before = session.scalar(sa.select(sa.func.coalesce(sa.func.max(OfferRedemption.id), 0)))
        worker, _ = kill_after(forks, db, rng.uniform(0.02, 0.6), "redeem", url=url, prefix=prefix, member_id=member_id,
                               offer_id=offer_id, seed=trial)
        lines = worker.lines()
        redeemed = {int(words[1]) for words in lines if words[0] == "ok"}
        used = {int(words[2]) for words in lines if words[0] == "offer"}
        last = max((int(words[1]) for words in lines if words[0] in ("ok", "offer")), default=0)
        with read_session(db) as session:
            stored = numbers(session.scalars(sa.select(PointsEntry.reason).where(
                PointsEntry.kind == PointsKind.REDEEM, PointsEntry.reason.like(prefix + "%"))), prefix)
            stored_offers = set(session.scalars(sa.select(OfferRedemption.id).where(OfferRedemption.id > before)))
        FIGURE["operations"] += len(used)
        assert used <= stored_offers, f"offers reported used but not in the database: {sorted(used - stored_offers)}"
        late_offer = stored_offers - used
        assert len(late_offer) <= 1 and all(i > max(used, default=0) for i in late_offer), late_offer
        assert_reported_are_stored(redeemed, last, stored, "redemptions")
        assert not (late_offer and stored - redeemed), "two operations stored after the last one reported"
        assert_sound(db)


# --------------------------------------------------------------------------- wallet payments


def test_killed_while_paying_from_the_wallet(shop, forks) -> None:  # type: ignore[no-untyped-def]
    db, url, backend = shop
    member_ids = register(db, 2)
    rng = random.Random(f"wallet/{backend}")
    for trial in range(TRIALS):
        _refill(db, member_ids)
        prefix = f"W{trial:03d}-"
        worker, _ = kill_after(forks, db, rng.uniform(0.02, 0.8), "wallet", url=url, prefix=prefix, till="W",
                               member_ids=member_ids, seed=trial)
        lines = worker.lines()
        reported = {int(words[1]) for words in lines if words[0] in ("sale", "refund")}
        last = max((int(words[1]) for words in lines if words[0] in ("sale", "refund", "no")), default=0)
        with read_session(db) as session:
            rows = session.execute(sa.select(Purchase.receipt_no, Purchase.id, Purchase.wallet_fen).where(
                Purchase.till == "W", Purchase.receipt_no.like(prefix + "%"))).all()
            paid = dict(session.execute(sa.select(WalletEntry.purchase_id, sa.func.count()).where(
                WalletEntry.purchase_id.in_([r.id for r in rows])).group_by(WalletEntry.purchase_id)).all())
        assert_reported_are_stored(reported, last, numbers([r.receipt_no for r in rows], prefix), "wallet receipts")
        assert all(paid.get(r.id, 0) >= 1 for r in rows if r.wallet_fen), "a wallet purchase without its wallet entry"
        assert_sound(db)


def _refill(db: Database, member_ids: list[int]) -> None:
    """¥3,000 in each wallet (half of it bonus), ¥2,000 of credit and nothing owed, for the next trial."""
    with unit_of_work(db) as session:
        owner = actor_for(session)
        for member_id in member_ids:
            member = session.get(Member, member_id)
            assert member is not None
            if member.wallet_principal_fen < 150_000:
                wallet.adjust(session, owner, member_id, principal_fen=150_000 - member.wallet_principal_fen, reason="补足")
            if member.wallet_bonus_fen < 150_000:
                wallet.adjust(session, owner, member_id, bonus_fen=150_000 - member.wallet_bonus_fen, reason="补足")
            if member.credit_owed_fen:
                credit.repay(session, owner, member_id, member.credit_owed_fen)
            credit.set_limit(session, owner, member_id, 200_000)


# --------------------------------------------------------------------------- large imports


def _member_file_state(db: Database, prefix: str, k: int) -> tuple[int, int, int, int, bool]:
    """(members with the file's cards, their opening points, wallet and debt entries, the import's audit event)."""
    with read_session(db) as session:
        ids = set(session.scalars(sa.select(Card.member_id).where(Card.number.like(f"{prefix}{k}-%"))))
        count = count_of(session, Member.id, ids)
        points = count_of(session, PointsEntry.member_id, ids, PointsEntry.kind == PointsKind.IMPORT)
        wallets = count_of(session, WalletEntry.member_id, ids, WalletEntry.kind == WalletKind.OPENING)
        debts = count_of(session, CreditEntry.member_id, ids, CreditEntry.kind == CreditKind.OPENING)
        files = [event.details.get("file") for event in session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "member.import"))]
    return count, points, wallets, debts, f"{prefix}{k}.csv" in files


def _assert_member_file_whole(db: Database, prefix: str, k: int) -> bool:
    """The file's members are all there with their opening balances and its audit event, or none is. Whether they are."""
    state = _member_file_state(db, prefix, k)
    whole, none = (*member_file_expects(ROWS), True), (0, 0, 0, 0, False)
    if state not in (whole, none):
        FIGURE["violations"] += 1
    assert state in (whole, none), f"file {prefix}{k} half imported: {state}, expected {whole} or {none}"
    return state == whole


def _assert_files(db: Database, worker: Worker, prefix: str, whole: object) -> None:
    lines = worker.lines()
    reported = {int(words[1]) for words in lines if words[0] == "file"}
    stored = {k for k in range(FILES) if whole(db, prefix, k)}  # type: ignore[operator]
    assert_reported_are_stored(reported, max(reported, default=-1), stored, "import files")
    FIGURE["rows"] += ROWS * len(stored)


def _file_seconds(worker: Worker, estimate: float) -> float:
    seconds = [float(words[2]) for words in worker.lines() if words[0] == "file"]
    return max([estimate, *seconds]) if seconds else estimate


def test_killed_during_a_large_member_import(shop, forks, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, url, backend = shop
    rng = random.Random(f"member import/{backend}")
    estimate = 1.0  # seconds one file takes; learnt from the workers' reports
    for trial in range(TRIALS):
        prefix = f"M{trial:03d}-"
        worker, _ = kill_after(forks, db, rng.uniform(0.05, 2.5 * estimate), "member_import", url=url,
                               folder=str(tmp_path), prefix=prefix, rows=ROWS, files=FILES)
        estimate = _file_seconds(worker, estimate)
        _assert_files(db, worker, prefix, _assert_member_file_whole)
        assert_sound(db)


def _purchase_file_whole(db: Database, prefix: str, k: int) -> bool:
    with read_session(db) as session:
        ids = set(session.scalars(sa.select(Purchase.id).where(Purchase.till == "IMP",
                                                               Purchase.receipt_no.like(f"{prefix}{k}-%"))))
        count, earned = len(ids), sum(earn_entries(session, ids).values())
        files = [event.details.get("file") for event in session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "purchase.import"))]
    state = (count, earned, f"{prefix}{k}.csv" in files)
    if state not in ((ROWS, ROWS, True), (0, 0, False)):
        FIGURE["violations"] += 1
    assert state in ((ROWS, ROWS, True), (0, 0, False)), f"file {prefix}{k} half imported: {state}"
    return count == ROWS


def test_killed_during_a_large_purchase_import(shop, forks, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, url, backend = shop
    with unit_of_work(db) as session:
        owner = actor_for(session)
        imports.apply_import(session, owner, imports.plan_import(session, member_file(tmp_path, "PM", 9, 20)))
    cards = [f"PM9-{i:04d}" for i in range(20)]
    rng = random.Random(f"purchase import/{backend}")
    estimate = 1.0
    for trial in range(TRIALS):
        prefix = f"P{trial:03d}-"
        worker, _ = kill_after(forks, db, rng.uniform(0.05, 2.5 * estimate), "purchase_import", url=url,
                               folder=str(tmp_path), prefix=prefix, rows=ROWS, files=FILES, cards=cards, seed=trial)
        estimate = _file_seconds(worker, estimate)
        _assert_files(db, worker, prefix, _purchase_file_whole)
        assert_sound(db)


def test_killed_during_a_member_import_from_the_command_line(shop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`crmdesk import members FILE` (its backup first on SQLite, then one transaction), killed at a random moment."""
    db, url, backend = shop
    rng = random.Random(f"cli import/{backend}")
    estimate = 2.5  # seconds the whole command takes, start-up included; learnt from runs that finish
    for trial in range(TRIALS):
        prefix = f"C{trial:03d}-"
        path = member_file(tmp_path, prefix, 0, ROWS)
        name = f"cli-trial-{trial}"
        target = (["--db", str(db.sqlite_path)] if db.is_sqlite
                  else ["--database-url", worker_url(url, name).render_as_string(hide_password=False)])
        started = time.monotonic()
        run = subprocess.Popen([sys.executable, "-m", "crmdesk", *target, "import", "members", str(path)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
        try:
            run.wait(timeout=rng.uniform(0.5 * estimate, 1.15 * estimate))  # start-up takes about half
            killed = False
            estimate = time.monotonic() - started
        except subprocess.TimeoutExpired:
            run.kill()  # SIGKILL
            run.wait(timeout=60)
            killed = True
        out, err = run.communicate()
        wait_until_disconnected(db, name)
        FIGURE["trials"] += 1
        FIGURE["kills"] += killed
        if not killed:
            assert run.returncode == 0, err
        imported = _assert_member_file_whole(db, prefix, 0)
        said = "Imported: 2000 new" in out
        assert imported or not said, "the command said it imported the file, but the members are not there"
        FIGURE["operations"] += said
        FIGURE["rows"] += ROWS * imported
        assert_sound(db)
    if db.is_sqlite:  # a kill during the backup the command takes first leaves no broken copy on offer
        offered = backups.list_backups(backups.backup_folder(db))
        for number, info in enumerate(offered):
            scratch = tmp_path / f"restore{number}"
            scratch.mkdir()
            backups.check_backup_file(info.path, scratch)


# --------------------------------------------------------------------------- the checks themselves


def test_the_checks_see_a_half_written_operation(tmp_path: Path) -> None:
    """What the trials rely on: a sale without its points entry, a wallet payment without its sale, a purchase whose
    wallet part has no entry, a redemption without its audit event are each found (here planted by hand)."""
    db, _ = fresh_database(tmp_path, "sqlite")
    try:
        (member_id,) = register(db, 1)
        with unit_of_work(db) as session:
            owner = actor_for(session)
            wallet.adjust(session, owner, member_id, principal_fen=10_000, reason="开户")
            purchases.record_purchase(session, owner, member_id, receipt_no="H1", till="H", amount_fen=1_000, wallet_fen=600,
                                      payment_method="cash")
            purchases.record_purchase(session, owner, member_id, receipt_no="H2", till="H", amount_fen=1_000,
                                      payment_method="cash")
        with unit_of_work(db) as session:
            purchases.refund(session, owner, original_till="H", original_receipt="H1", refund_receipt="H3", amount_fen=100)
        assert violations(db) == []
        with db.engine.begin() as conn:  # a crash that kept half of each: what the trials must never find
            sale = conn.execute(sa.select(Purchase.id).where(Purchase.receipt_no == "H2")).scalar_one()
            conn.execute(sa.delete(PointsEntry).where(PointsEntry.purchase_id == sale))
            conn.execute(sa.update(Purchase).where(Purchase.id == sale).values(wallet_fen=300))
            conn.execute(sa.update(Purchase).where(Purchase.receipt_no == "H3").values(wallet_fen=160))
            conn.execute(sa.insert(WalletEntry).values(member_id=member_id, kind=WalletKind.PAYMENT, principal_fen=-100,
                                                       bonus_fen=0, at=shop_time.now()))
            conn.execute(sa.insert(PointsEntry).values(member_id=member_id, kind=PointsKind.REDEEM, points=-1,
                                                       at=shop_time.now(), reason="x"))
        found = "\n".join(violations(db))
        for words in ("sale H/H2 has 0 points entries", "purchase H/H2 paid 300 fen from the wallet, its wallet entries move 0",
                      "1 wallet payments or refunds name no purchase", "1 points redemptions but 0 audit events",
                      "check: points", "check: wallet principal", "check: over-paid"):
            assert words in found, found
    finally:
        db.dispose()


# --------------------------------------------------------------------------- part refunds round together


def test_part_refunds_of_a_wallet_and_credit_sale_never_give_back_more_than_their_amount(tmp_path: Path) -> None:
    db, _ = fresh_database(tmp_path, "sqlite")
    try:
        (member_id,) = register(db, 1)
        with unit_of_work(db) as session:
            owner = actor_for(session)
            wallet.adjust(session, owner, member_id, principal_fen=10_000, reason="开户")
            credit.set_limit(session, owner, member_id, 10_000)
        with unit_of_work(db) as session:  # ¥1.00: ¥0.50 from the wallet, ¥0.50 on credit
            purchases.record_purchase(session, owner, member_id, receipt_no="S1", till="01", amount_fen=100, wallet_fen=50,
                                      credit_fen=50)
        for receipt, amount in (("F1", 1), ("F2", 99)):  # ¥0.01 back (0 + 0 given), then the last ¥0.99 (0.50 + 0.50)
            with unit_of_work(db) as session:
                purchases.refund(session, owner, original_till="01", original_receipt="S1", refund_receipt=receipt,
                                 amount_fen=amount)
        with read_session(db) as session:
            parts = {r: (a, w + c) for r, a, w, c in session.execute(sa.select(
                Purchase.receipt_no, Purchase.amount_fen, Purchase.wallet_fen, Purchase.credit_fen).where(
                Purchase.receipt_no.in_(("F1", "F2"))))}
        report = data_check.run(db)
        assert report.sound, [(f.kind, f.detail, f.cached, f.expected) for f in report.findings]
        assert all(back <= amount for amount, back in parts.values()), parts
    finally:
        db.dispose()
