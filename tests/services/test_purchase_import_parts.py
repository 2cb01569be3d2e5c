"""A large purchases file is staged on disk and planned and written in parts (purchase_imports.PART_ROWS): the
parts must add up to exactly what the file imported as one part gives -- the same purchases, lines, points, totals
and tiers, the same refusals, rejects and progress -- and the staging file must not outlive its plan.

The tests make parts of a few dozen rows, so that a file of a few hundred rows is cut into many."""

from __future__ import annotations

import csv
import gc
import os
import random
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.errors import InvalidInput
from crmdesk.models import Member, MemberStatus, PointsEntry, Purchase, PurchaseLine
from crmdesk.services import cards, members, purchase_imports, purchases, store
from crmdesk.services.imports import ImportCancelled
from crmdesk.services.purchase_imports import apply_purchase_import, plan_purchase_import, write_rejects
from crmdesk.services.uow import Actor, read_session, unit_of_work
from tests.services.test_imports import write_xlsx
from tests.services.test_purchase_imports import NOW, ZH, purchases_file, snapshot
from tests.test_postgres import pg  # noqa: F401 - the emptied scratch PostgreSQL database, a fixture

HEADER = [*ZH, "类型", "原小票号", "商品名称", "小计"]
MEMBERS = 30
SMALL_PART = 40  # rows per part in these tests


def shop(tmp_path: Path, name: str) -> tuple[Database, Actor]:
    database = open_database(sqlite_url(tmp_path / f"{name}.sqlite"))
    return database, stock(database)


def stock(database: Database) -> Actor:
    """MEMBERS members, member i with card M{i:03d} and phone 1380000{i:04d}; the owner."""
    with unit_of_work(database) as session:
        actor = store.initialise(session, owner_name="店长", owner_password="owner-secret-1")
        for i in range(MEMBERS):
            member = members.register(session, actor, members.MemberInput(name=f"会员{i}", phone=f"1380000{i:04d}"))
            cards.issue(session, actor, member.id, f"M{i:03d}", imported=True)
    return actor


def receipts_file(path: Path, seed: int = 7, *, bad_rows: int = 0) -> Path:
    """Sales named by card or phone (some with item lines), refunds of sales earlier in the file, and refunds of the
    stored sales S0..S9 (see stored_sales)."""
    chance = random.Random(seed)
    rows: list[list[str]] = []
    sales: list[tuple[str, int]] = []
    for n in range(220):
        member = chance.randrange(MEMBERS)
        card, phone = (f"M{member:03d}", "") if chance.random() < 0.6 else ("", f"1380000{member:04d}")
        at = f"2026-11-{1 + n // 20:02d} {8 + n % 12:02d}:{n % 60:02d}"
        roll = chance.random()
        if roll < 0.1 and sales:
            till, sold = chance.choice(sales)
            rows.append([f"T{n}", till, "", "", at, f"{chance.randint(1, 5)}.00", "退货", sold, "", ""])
        elif roll < 0.15:
            rows.append([f"U{n}", "01", "", "", at, "3.00", "退货", f"S{chance.randrange(10)}", "", ""])
        elif roll < 0.35:
            first, second = chance.randint(100, 9_000), chance.randint(100, 9_000)
            amount = f"{(first + second) / 100:.2f}"
            rows.append([f"R{n}", "02", card, phone, at, amount, "消费", "", "米", f"{first / 100:.2f}"])
            rows.append([f"R{n}", "02", "", "", "", "", "", "", "油", f"{second / 100:.2f}"])
            sales.append(("02", f"R{n}"))
        else:
            rows.append([f"R{n}", "01", card, phone, at, f"{chance.randint(500, 300_000) / 100:.2f}", "", "", "", ""])
            sales.append(("01", f"R{n}"))
    if bad_rows:  # amounts that are not amounts, all one member's (one part), in the second half of the file
        for n in range(bad_rows):
            rows.insert(len(rows) // 2 + n * 20, [f"X{n}", "01", "M005", "", "2026-11-20 10:00", "九块", "", "", "", ""])
    return purchases_file(path, rows, HEADER)


def stored_sales(database: Database, actor: Actor) -> None:
    """Sales S0..S9 at till 01 recorded at the counter before the file is imported."""
    with unit_of_work(database) as session:
        ids = session.scalars(sa.select(Member.id).order_by(Member.id)).all()
        for n in range(10):
            purchases.record_purchase(session, actor, ids[n * 3], receipt_no=f"S{n}", till="01", amount_fen=50_000,
                                      now=NOW)


def contents(database: Database) -> dict[str, list[tuple[object, ...]]]:
    """What an import writes, told by receipt rather than by row id (parts write receipts in another order)."""
    with read_session(database) as session:
        receipt = {pid: (till, no) for pid, till, no in session.execute(sa.select(Purchase.id, Purchase.till, Purchase.receipt_no))}
        return {
            "members": [tuple(r) for r in session.execute(sa.select(
                Member.id, Member.points_balance, Member.visit_count, Member.total_spend_fen, Member.last_visit_at,
                Member.tier_id).order_by(Member.id))],
            "purchases": sorted((till, no, kind.value, member_id, amount, receipt.get(refund_of), at) for till, no, kind, member_id, amount, refund_of, at in session.execute(
                sa.select(Purchase.till, Purchase.receipt_no, Purchase.kind, Purchase.member_id, Purchase.amount_fen,
                          Purchase.refund_of_id, Purchase.occurred_at))),
            "lines": sorted((receipt[pid], name, amount) for pid, name, amount in session.execute(
                sa.select(PurchaseLine.purchase_id, PurchaseLine.name, PurchaseLine.amount_fen))),
            "points": sorted((member_id, receipt.get(pid), kind.value, points, at, expires, reason) for member_id, pid, kind, points, at, expires, reason in session.execute(
                sa.select(PointsEntry.member_id, PointsEntry.purchase_id, PointsEntry.kind, PointsEntry.points,
                          PointsEntry.at, PointsEntry.expires_on, PointsEntry.reason))),
        }


@pytest.fixture
def two_shops(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The same store twice: one imports each file as one part, the other in parts of SMALL_PART rows."""
    whole, parted = shop(tmp_path, "whole"), shop(tmp_path, "parted")
    for database, actor in (whole, parted):
        stored_sales(database, actor)
    yield whole, parted
    whole[0].dispose()
    parted[0].dispose()


def in_parts(monkeypatch: pytest.MonkeyPatch, rows: int = SMALL_PART) -> None:
    monkeypatch.setattr(purchase_imports, "PART_ROWS", rows)


def import_file(database: Database, actor: Actor, path: Path, **options: object):  # type: ignore[no-untyped-def]
    with unit_of_work(database) as session:
        plan = plan_purchase_import(session, path, now=NOW)
        return apply_purchase_import(session, actor, plan, now=NOW, **options)  # type: ignore[arg-type]


def outcome(result) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    return (result.new, result.sales, result.refunds, result.unchanged, result.skipped, result.skipped_rows,
            result.points_earned, result.points_reversed, result.members, result.upgrades)


def test_a_file_imported_in_parts_writes_what_it_writes_in_one(two_shops, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (whole, whole_owner), (parted, parted_owner) = two_shops
    path = receipts_file(tmp_path / "receipts.csv")
    one = import_file(whole, whole_owner, path)
    in_parts(monkeypatch)
    with read_session(parted) as session:
        plan = plan_purchase_import(session, path, now=NOW)
        assert plan.staging is not None and len(plan.parts) >= 5
        assert len({r.row for r in plan.receipts}) == len(plan.receipts) == plan.counts.new + plan.counts.unchanged
    many = import_file(parted, parted_owner, path)
    assert outcome(many) == outcome(one) and one.refunds > 10 and one.upgrades > 0
    assert contents(parted) == contents(whole)
    before = snapshot(parted)
    again = import_file(parted, parted_owner, path)  # idempotent in parts too
    assert (again.new, again.unchanged) == (0, one.new)
    assert snapshot(parted) == before


def test_a_workbook_in_parts_reads_its_cells_as_one_part_does(two_shops, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A part's rows are checked again from the cells as read: Excel's dates and numbers come back the same."""
    (whole, whole_owner), (parted, parted_owner) = two_shops
    rows = [list(row) for row in csv.reader(receipts_file(tmp_path / "r.csv").read_text(encoding="utf-8-sig").splitlines())]
    for row in rows[1:]:
        if row[4]:
            row[4] = datetime.strptime(row[4], "%Y-%m-%d %H:%M")
        if row[5]:
            row[5] = float(row[5])
        row[3] = int(row[3]) if row[3] else None
    workbook = write_xlsx(tmp_path / "r.xlsx", rows)
    one = import_file(whole, whole_owner, workbook)
    in_parts(monkeypatch)
    many = import_file(parted, parted_owner, workbook)
    assert many.plan.staging is not None and outcome(many) == outcome(one) and one.new > 150
    assert contents(parted) == contents(whole)


def test_bad_rows_in_late_parts_refuse_the_whole_file(two_shops, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (whole, whole_owner), (parted, parted_owner) = two_shops
    path = receipts_file(tmp_path / "bad.csv", bad_rows=6)
    with read_session(whole) as session:
        one = plan_purchase_import(session, path, now=NOW)
    in_parts(monkeypatch)
    before = snapshot(parted)
    with pytest.raises(InvalidInput) as refused:
        import_file(parted, parted_owner, path)
    assert "Nothing was imported" in refused.value.message
    assert snapshot(parted) == before
    # Planned in one transaction and imported in another, the parts are written until the bad one: still nothing stays.
    monkeypatch.setattr(purchase_imports, "PREVIEW_ROWS", 2)  # a part keeps two receipts at hand, the rest is read back
    with read_session(parted) as session:
        plan = plan_purchase_import(session, path, now=NOW)
    assert any(part.counts.invalid > len(part.invalid) for part in plan.parts)
    assert [p.describe() for p in plan.errors] == [p.describe() for p in one.errors]
    assert plan.counts == one.counts
    assert [(r.row, r.action) for r in plan.preview(2)] == [(r.row, r.action) for r in one.preview(2)]
    with pytest.raises(InvalidInput), unit_of_work(parted) as session:
        apply_purchase_import(session, parted_owner, plan, now=NOW)
    assert snapshot(parted) == before
    # Skipping it imports the rest, exactly as one part does, and rejects the same row.
    monkeypatch.undo()
    whole_result = import_file(whole, whole_owner, path, skip_invalid=True)
    whole_rejects = write_rejects(whole_result.plan, path).read_text(encoding="utf-8-sig")
    in_parts(monkeypatch)
    parted_result = import_file(parted, parted_owner, path, skip_invalid=True)
    assert outcome(parted_result) == outcome(whole_result) and parted_result.skipped == 6
    assert write_rejects(parted_result.plan, path).read_text(encoding="utf-8-sig") == whole_rejects
    assert contents(parted) == contents(whole)


def test_a_till_sale_between_checking_and_importing_is_taken_into_account(two_shops, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The file is checked, then a till sells to a member of the file and records one of its receipts by hand: the
    part holding that receipt is matched again, the member's points are worked out from the new sale."""
    path = receipts_file(tmp_path / "receipts.csv")
    results = []
    for number, ((database, actor), parts) in enumerate(zip(two_shops, (10**6, SMALL_PART), strict=True)):
        in_parts(monkeypatch, parts)
        with read_session(database) as session:
            plan = plan_purchase_import(session, path, now=NOW)
        assert (plan.staging is None) == (number == 0)
        with unit_of_work(database) as session:
            ids = session.scalars(sa.select(Member.id).order_by(Member.id)).all()
            purchases.record_purchase(session, actor, ids[4], receipt_no="COUNTER1", till="03", amount_fen=900_000, now=NOW)
            first = plan.receipts[0]
            purchases.record_purchase(session, actor, first.member_id, receipt_no=first.receipt_no, till=first.till,
                                      amount_fen=first.amount_fen, occurred_at=first.occurred_at, now=NOW,
                                      lines=list(first.lines))
        with unit_of_work(database) as session:
            results.append(apply_purchase_import(session, actor, plan, now=NOW))
    assert outcome(results[1]) == outcome(results[0]) and results[0].unchanged == 1
    assert contents(two_shops[1][0]) == contents(two_shops[0][0])


def test_a_cancelled_import_leaves_its_plan_as_it_was_checked(two_shops, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Parts matched again while importing (a till recorded one of the file's receipts) are kept beside the plan's
    own: cancelled at the very end, the plan imports later exactly as a fresh one-part import does."""
    (whole, whole_owner), (parted, parted_owner) = two_shops
    path = receipts_file(tmp_path / "receipts.csv")
    in_parts(monkeypatch)
    with read_session(parted) as session:
        plan = plan_purchase_import(session, path, now=NOW)
    checked = [[(r.row, r.action, r.member_id) for r in plan.contents(part)[0]] for part in plan.parts]
    for database, actor in ((whole, whole_owner), (parted, parted_owner)):
        first = plan.receipts[0]
        with unit_of_work(database) as session:
            purchases.record_purchase(session, actor, first.member_id, receipt_no=first.receipt_no, till=first.till,
                                      amount_fen=first.amount_fen, occurred_at=first.occurred_at, now=NOW,
                                      lines=list(first.lines))
    before = snapshot(parted)
    reported: list[int] = []
    with pytest.raises(ImportCancelled), unit_of_work(parted) as session:
        apply_purchase_import(session, parted_owner, plan, now=NOW, progress=lambda done, _total: reported.append(done),
                              should_cancel=lambda: bool(reported) and reported[-1] == plan.counts.new - 1)  # all written
    assert snapshot(parted) == before
    assert [[(r.row, r.action, r.member_id) for r in plan.contents(part)[0]] for part in plan.parts] == checked
    with unit_of_work(parted) as session:
        result = apply_purchase_import(session, parted_owner, plan, now=NOW)
    monkeypatch.undo()
    expected = import_file(whole, whole_owner, path)
    assert outcome(result) == outcome(expected) and result.unchanged == 1
    assert contents(parted) == contents(whole)


def test_a_phone_a_closed_member_had_names_its_open_holder_in_every_part(two_shops, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (whole, whole_owner), (parted, parted_owner) = two_shops
    for database, actor in ((whole, whole_owner), (parted, parted_owner)):
        with unit_of_work(database) as session:  # 会员7 closed; the number is a new member's now
            former = session.scalar(sa.select(Member.id).where(Member.phone == "+8613800000007"))
            members.set_status(session, actor, former, MemberStatus.CLOSED, reason="moved away")
            members.register(session, actor, members.MemberInput(name="新会员", phone="13800000007"))
    path = receipts_file(tmp_path / "receipts.csv")
    one = import_file(whole, whole_owner, path, skip_invalid=True)  # the closed card's receipts are refused
    in_parts(monkeypatch)
    many = import_file(parted, parted_owner, path, skip_invalid=True)
    assert outcome(many) == outcome(one) and one.skipped > 0
    assert contents(parted) == contents(whole)
    with read_session(parted) as session:
        holder = session.scalar(sa.select(Member.id).where(Member.phone == "+8613800000007", Member.status != MemberStatus.CLOSED))
        assert session.scalar(sa.select(sa.func.count()).select_from(Purchase).where(Purchase.member_id == holder)) > 0


def test_progress_runs_once_from_nothing_to_everything(two_shops, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _whole, (parted, parted_owner) = two_shops
    in_parts(monkeypatch)
    monkeypatch.setattr(purchase_imports, "WRITE_CHUNK", 7)
    reported: list[tuple[int, int]] = []
    result = import_file(parted, parted_owner, receipts_file(tmp_path / "r.csv"),
                         progress=lambda done, total: reported.append((done, total)))
    done = [d for d, _t in reported]
    assert done[0] == 0 and done.count(0) == 1 and done == sorted(done)
    assert reported[-1] == (result.new, result.new)


def test_the_staging_file_goes_with_its_plan(two_shops, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _whole, (parted, _owner) = two_shops
    in_parts(monkeypatch)
    with read_session(parted) as session:
        plan = plan_purchase_import(session, receipts_file(tmp_path / "r.csv"), now=NOW)
    folder = plan.staging.folder
    assert os.path.isdir(folder)
    del plan, session
    gc.collect()
    assert not os.path.exists(folder)


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("CRMDESK_TEST_POSTGRES_URL"), reason="set CRMDESK_TEST_POSTGRES_URL to a scratch PostgreSQL database")
def test_parts_on_postgresql_write_what_one_part_writes_on_sqlite(pg, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = receipts_file(tmp_path / "receipts.csv", bad_rows=2)
    whole, whole_owner = shop(tmp_path, "whole")
    stored_sales(whole, whole_owner)
    owner = stock(pg)
    stored_sales(pg, owner)
    expected = import_file(whole, whole_owner, path, skip_invalid=True)
    in_parts(monkeypatch)
    with read_session(pg) as session:  # checked in one transaction, written in another, as the app does
        plan = plan_purchase_import(session, path, now=NOW)
    assert plan.staging is not None
    with unit_of_work(pg) as session:
        result = apply_purchase_import(session, owner, plan, now=NOW, skip_invalid=True)
    assert outcome(result) == outcome(expected)
    assert contents(pg) == contents(whole)
    whole.dispose()


def test_a_staging_file_that_cannot_be_written_is_told_and_nothing_is_imported(two_shops, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _whole, (parted, parted_owner) = two_shops
    path = receipts_file(tmp_path / "r.csv")
    in_parts(monkeypatch)
    before = snapshot(parted)

    def full(*_args: object, **_kwargs: object) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    with pytest.MonkeyPatch.context() as disk:
        disk.setattr(purchase_imports._Staging, "store", full)
        with pytest.raises(InvalidInput) as refused, read_session(parted) as session:
            plan_purchase_import(session, path, now=NOW)
    assert "database or disk is full" in refused.value.message and "crmdesk-import-" in refused.value.message
    assert "nothing was imported" in refused.value.message
    with read_session(parted) as session:
        plan = plan_purchase_import(session, path, now=NOW)
    monkeypatch.setattr(purchase_imports._Staging, "load", full)
    with pytest.raises(InvalidInput, match="Free some disk space"), unit_of_work(parted) as session:
        apply_purchase_import(session, parted_owner, plan, now=NOW)
    assert snapshot(parted) == before
