"""A sale recorded without a receipt number gets one: YYYYMMDD-NNNN per till and shop day, unique also with two
processes recording at once; a given receipt number keeps its idempotency."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk.errors import Conflict
from crmdesk.models import Member, PointsEntry, Purchase
from crmdesk.services import members, purchases
from crmdesk.services.uow import read_session, unit_of_work

CN = timezone(timedelta(hours=8))
NOW = datetime(2026, 12, 4, 10, 0, tzinfo=CN)


@pytest.fixture
def member_id(db, owner) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return members.register(session, owner, members.MemberInput(name="张三", phone="13812345678")).id


def buy(db, actor, member_id, *, receipt="", till="01", amount_fen=1_000, at=NOW):  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        return purchases.record_purchase(session, actor, member_id, receipt_no=receipt, till=till, amount_fen=amount_fen,
                                         occurred_at=at, now=NOW + timedelta(hours=1))


def receipts(db) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return [tuple(r) for r in session.execute(sa.select(Purchase.till, Purchase.receipt_no).order_by(Purchase.id))]


def test_generated_numbers_are_readable_sortable_and_unique_per_till_and_day(db, owner, member_id) -> None:
    made = [buy(db, owner, member_id).receipt_no for _ in range(120)]
    assert made[:3] == ["20261204-0001", "20261204-0002", "20261204-0003"] and made[-1] == "20261204-0120"
    assert made == sorted(made) and len(set(made)) == len(made)
    # Another till has its own run; the shop's day is the day of the sale in shop time (23:30 UTC is the next day).
    assert buy(db, owner, member_id, till="02").receipt_no == "20261204-0001"
    assert buy(db, owner, member_id, at=datetime(2026, 12, 3, 23, 30, tzinfo=timezone.utc)).receipt_no == "20261204-0121"
    assert buy(db, owner, member_id, at=datetime(2026, 12, 3, 9, 0, tzinfo=CN)).receipt_no == "20261203-0001"
    assert buy(db, owner, member_id, till="").receipt_no == "20261204-0001"


def test_numbers_given_by_hand_in_the_same_form_are_continued_not_reused(db, owner, member_id) -> None:
    buy(db, owner, member_id, receipt="20261204-0041")
    buy(db, owner, member_id, receipt="R-77")  # any other receipt number is left alone
    assert buy(db, owner, member_id).receipt_no == "20261204-0042"


def test_a_given_receipt_keeps_its_idempotency_and_is_returned(db, owner, member_id) -> None:
    first = buy(db, owner, member_id, receipt="R1", amount_fen=5_000)
    again = buy(db, owner, member_id, receipt=" R1 ", amount_fen=5_000)
    assert (first.receipt_no, again.receipt_no, again.already_recorded, again.purchase_id) == ("R1", "R1", True, first.purchase_id)
    with pytest.raises(Conflict, match="already recorded with other details"):
        buy(db, owner, member_id, receipt="R1", amount_fen=6_000)
    with read_session(db) as session:
        assert session.scalar(sa.select(Member.points_balance).where(Member.id == member_id)) == 50
        assert session.scalar(sa.select(sa.func.count()).select_from(PointsEntry)) == 1


def test_the_lookup_of_the_next_number_walks_the_unique_index(db, owner, member_id) -> None:
    buy(db, owner, member_id)
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "receipt_no" in statement and "ORDER BY" in statement:
            captured.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with read_session(db) as session:
            assert purchases.next_receipt_no(session, "01", NOW.date()) == "20261204-0002"
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    (statement, parameters), = captured
    with db.engine.connect() as conn:
        plan = [str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]  # type: ignore[arg-type]
    assert plan and all("INDEX" in step for step in plan), plan  # a search along the index, no scan and no sort


def test_a_number_taken_by_another_till_meanwhile_is_skipped_within_the_transaction(db, owner, member_id, monkeypatch) -> None:
    """What happens on PostgreSQL when two tills compute the same next number: the loser's insert fails on the
    unique index inside its SAVEPOINT and it takes the next number, in the same transaction."""
    buy(db, owner, member_id)
    real = purchases.next_receipt_no
    calls: list[str] = []

    def stale_first(session, till, day):  # type: ignore[no-untyped-def]
        calls.append(till)
        return "20261204-0001" if len(calls) == 1 else real(session, till, day)

    monkeypatch.setattr(purchases, "next_receipt_no", stale_first)
    result = buy(db, owner, member_id)
    assert result.receipt_no == "20261204-0002" and len(calls) == 2
    assert receipts(db) == [("01", "20261204-0001"), ("01", "20261204-0002")]
    with read_session(db) as session:
        assert session.scalar(sa.select(Member.visit_count).where(Member.id == member_id)) == 2


def test_a_full_day_of_generated_numbers_says_what_to_do(db, owner, member_id) -> None:
    buy(db, owner, member_id, receipt="20261204-9999")
    before = receipts(db)
    with pytest.raises(Conflict, match="used every generated receipt number of 2026-12-04; enter the receipt number"):
        buy(db, owner, member_id)
    assert receipts(db) == before


SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from datetime import datetime, timedelta, timezone
    from crmdesk.db import open_database, sqlite_url
    from crmdesk.services import purchases
    from crmdesk.services.staff import actor_for
    from crmdesk.services.uow import read_session, unit_of_work

    db = open_database(sqlite_url(Path(sys.argv[1])))
    with read_session(db) as session:
        actor = actor_for(session)
    now = datetime(2026, 12, 4, 11, 0, tzinfo=timezone(timedelta(hours=8)))
    for _ in range(int(sys.argv[3])):
        with unit_of_work(db) as session:
            purchases.record_purchase(session, actor, int(sys.argv[2]), receipt_no="", till="01", amount_fen=100,
                                      occurred_at=now, now=now)
    db.dispose()
""")


@pytest.mark.slow
def test_two_processes_recording_at_once_on_one_till_get_different_numbers(db, owner, member_id, db_path: Path) -> None:
    db.dispose()
    each = 40
    runs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(db_path), str(member_id), str(each)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for run in runs:
        _out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    made = [receipt for _till, receipt in receipts(db)]
    assert len(made) == 2 * each and len(set(made)) == len(made)
    assert sorted(made) == [f"20261204-{n:04d}" for n in range(1, 2 * each + 1)]
    with read_session(db) as session:
        assert session.scalar(sa.select(Member.visit_count).where(Member.id == member_id)) == 2 * each
