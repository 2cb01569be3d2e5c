"""The feed of other tills' changes: notices read as members and complaints, an SQLite file's commits seen by
polling, and on PostgreSQL (CRMDESK_TEST_POSTGRES_URL) the database's own notices -- only for committed work,
one per statement however many rows, and "everything" after the listening connection was lost."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa

from crmdesk.db import Database, open_database
from crmdesk.models import Member
from crmdesk.services import complaints, demo, live, purchases
from crmdesk.services.complaints import ComplaintInput
from crmdesk.services.live import Changes, ChangeFeed, parse_notice
from crmdesk.services.uow import Actor, read_session, unit_of_work
from tests.services.test_members import db, owner, store_template  # noqa: F401 - fast fixtures

PG_URL = os.environ.get("CRMDESK_TEST_POSTGRES_URL")


def test_notices_are_read_as_members_and_complaints() -> None:
    sale = parse_notice("purchase:12,40")
    assert sale.members == {12, 40} and sale.tables == {"purchase"} and sale.members_changed
    assert sale.touches_member(12) and not sale.touches_member(13) and not sale.complaints_changed
    timeline = parse_notice("complaint_event:7")
    assert timeline.complaints == {7} and timeline.touches_complaint(7) and not timeline.touches_complaint(8)
    assert timeline.complaints_changed and not timeline.members_changed
    assert parse_notice("complaint:3").touches_complaint(99)  # a complaint row: the board and any open one
    bulk = parse_notice("points_entry:*")
    assert bulk.touches_member(123456) and not bulk.everything
    rules = parse_notice("tier:*")
    assert rules.touches_member(5)  # tiers and offers change what every member's screen shows
    assert parse_notice("something else").everything
    assert (sale | timeline).members == {12, 40} and (sale | timeline).complaints == {7}
    assert not Changes() and live.EVERYTHING


def test_an_sqlite_file_is_seen_to_change_when_another_connection_commits(db: Database) -> None:
    feed = ChangeFeed(db.url, str(db.sqlite_path))
    try:
        assert not feed.wait(0.2)  # the first look only learns where the file stands
        assert not feed.wait(0.2)
        with db.engine.begin() as connection:  # another connection: another till, an import, `crmdesk watch`
            connection.exec_driver_sql("UPDATE staff SET name = name")
        seen = feed.wait(3)
        assert seen.everything
        assert not feed.wait(0.2)
    finally:
        feed.close()
        feed.wait(0)


def test_close_ends_a_waiting_feed(db: Database) -> None:
    feed = ChangeFeed(db.url, str(db.sqlite_path))
    started = time.monotonic()
    threading.Timer(0.3, feed.close).start()
    feed.wait(30)
    assert time.monotonic() - started < 5


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg() -> Iterator[Database]:
    if not PG_URL:
        pytest.skip("set CRMDESK_TEST_POSTGRES_URL to a scratch PostgreSQL database")
    engine = sa.create_engine(PG_URL)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    database = open_database(sa.make_url(PG_URL))
    with unit_of_work(database) as session:
        demo.fill_demo_store(session, members=30, seed=2, today=date(2026, 11, 1))
    yield database
    database.dispose()


def _owner(database: Database) -> Actor:
    from crmdesk.models import Role, Staff

    with read_session(database) as session:
        staff = session.scalars(sa.select(Staff).where(Staff.role == Role.OWNER)).first()
        assert staff is not None
        return Actor(staff.id, staff.name, staff.role)


def _listening(pg: Database) -> ChangeFeed:
    feed = ChangeFeed(pg.url)
    feed.wait(0.1)  # connects and listens; anything before this is not its business
    assert feed.connected
    feed.wait(0.3)
    return feed


def test_a_sale_at_another_till_names_its_member(pg: Database) -> None:
    feed = _listening(pg)
    try:
        actor = _owner(pg)
        with read_session(pg) as session:
            member_id = session.scalar(sa.select(Member.id).where(Member.status == "active").order_by(Member.id).limit(1))
        started = time.monotonic()
        with unit_of_work(pg) as session:
            purchases.record_purchase(session, actor, member_id, till="02", amount_fen=12_300)
        seen = feed.wait(3)
        while "member" not in seen.tables and time.monotonic() - started < 3:
            seen = seen | feed.wait(0.5)
        assert member_id in seen.members and {"purchase", "member"} <= seen.tables
        assert seen.touches_member(member_id) and not seen.everything
        assert time.monotonic() - started < 2  # "within a second or two"
    finally:
        feed.close()
        feed.wait(0)


def test_work_rolled_back_is_never_announced(pg: Database) -> None:
    feed = _listening(pg)
    try:
        with pytest.raises(RuntimeError):
            with unit_of_work(pg) as session:
                session.execute(sa.update(Member).where(Member.id == 1).values(notes="x"))
                raise RuntimeError("the till crashed")
        assert not feed.wait(1)
    finally:
        feed.close()
        feed.wait(0)


def test_many_rows_in_one_statement_make_one_notice(pg: Database) -> None:
    feed = _listening(pg)
    try:
        with unit_of_work(pg) as session:
            session.execute(sa.update(Member).values(notes=Member.notes))
        seen = feed.wait(2)
        assert seen.tables == {"member"} and len(seen.members) == 30
        complaint_member = next(iter(seen.members))
        with unit_of_work(pg) as session:
            complaint = complaints.log_complaint(session, _owner(pg), ComplaintInput(
                channel="counter", category="quality", description="牛奶过期", member_id=complaint_member))
        seen = feed.wait(2) | feed.wait(0.3)
        assert seen.complaints_changed and seen.touches_member(complaint_member)
        assert complaint.id in seen.complaints or seen.touches_complaint(complaint.id)
    finally:
        feed.close()
        feed.wait(0)


def test_a_lost_listening_connection_says_everything_once_it_listens_again(pg: Database) -> None:
    feed = _listening(pg)
    try:
        with pg.engine.begin() as connection:
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'crmdesk live'")
        with pg.engine.begin() as connection:  # committed while nobody listens
            connection.exec_driver_sql("UPDATE member SET notes = notes WHERE id = 2")
        seen = Changes()
        deadline = time.monotonic() + 10
        while not seen.everything and time.monotonic() < deadline:
            seen = seen | feed.wait(1)
        assert seen.everything and feed.connected
    finally:
        feed.close()
        feed.wait(0)
