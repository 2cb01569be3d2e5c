"""Opening, creating, refusing and upgrading databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from crmdesk.db import (
    BULK_CACHE_KIB, CONNECT_TIMEOUT_S, DEFAULT_DB_FILENAME, alembic_config, head_revision, open_database, resolve_url,
    server_connect_args, sqlite_url,
)
from crmdesk.errors import DatabaseTooNew, DatabaseUnavailable, InvalidInput, NotACrmdeskDatabase
from crmdesk.models import Member, Role, Staff
from crmdesk.services.uow import read_session, unit_of_work


def test_new_database_is_created_at_head_with_sqlite_settings(db_path: Path) -> None:
    db = open_database(sqlite_url(db_path))
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL: durable commits
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
        assert db.backup_path is None
    finally:
        db.dispose()


def test_reopening_a_current_database_changes_nothing(db_path: Path) -> None:
    open_database(sqlite_url(db_path)).dispose()
    db = open_database(sqlite_url(db_path))
    db.dispose()
    assert db.backup_path is None and db.upgraded_from is None
    assert sorted(p.name for p in db_path.parent.iterdir() if p.suffix == ".sqlite") == [db_path.name]


def _database_at_first_revision(path: Path) -> None:
    engine = sa.create_engine(sqlite_url(path))
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
        conn.exec_driver_sql(
            "INSERT INTO staff (id, name, role, password_hash, active, failed_attempts, created_at) "
            "VALUES (1, '王店长', 'owner', 'x', 1, 0, '2025-01-01 00:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO member (id, member_no, name, phone, gender, address, email, tags, notes, company, "
            "marketing_consent, source, status, joined_on, points_balance, created_at, updated_at) VALUES "
            "(1, 'M001', '张三', '+8613812345678', 'male', '', '', '老顾客', '', '', 'sms', '', 'active', "
            "'2024-03-01', 120, '2024-03-01 02:00:00', '2024-03-01 02:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO card (id, number, member_id, status, imported, issued_at) "
            "VALUES (1, '2900000000017', 1, 'active', 0, '2024-03-01 02:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO purchase (id, member_id, till, receipt_no, kind, occurred_at, amount_fen, payment_method, created_at) "
            "VALUES (1, 1, '01', 'R1', 'sale', '2024-03-02 03:00:00', 12050, '现金', '2024-03-02 03:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO points_entry (id, member_id, at, kind, points, reason) "
            "VALUES (1, 1, '2024-03-02 03:00:00', 'earn', 120, '')"
        )
    engine.dispose()


def test_first_revision_upgrades_to_head_with_data_intact_and_a_backup(db_path: Path) -> None:
    _database_at_first_revision(db_path)
    db = open_database(sqlite_url(db_path))
    try:
        assert db.upgraded_from == "0001"
        with read_session(db) as session:
            member = session.get(Member, 1)
            assert member is not None
            assert (member.name, member.phone, member.points_balance) == ("张三", "+8613812345678", 120)
            # The upgrade computed the new search keys for existing members.
            assert (member.name_pinyin, member.name_initials, member.phone_last4) == ("zhangsan", "zs", "5678")
            assert [card.number for card in member.cards] == ["2900000000017"]
            # Later revisions carried the old data over: tags became rows, totals were computed.
            assert member.tags == ["老顾客"]
            assert (member.visit_count, member.total_spend_fen) == (1, 12050)
            assert member.last_visit_at is not None and member.last_visit_at.tzinfo is not None
            assert session.scalar(sa.text("SELECT next_card_serial FROM store_settings")) in (None, 2)
            assert session.get(Staff, 1).role is Role.OWNER
            assert session.scalar(sa.text("SELECT amount_fen FROM purchase WHERE receipt_no = 'R1'")) == 12050
        # The backup is a copy at the old revision, next to the database.
        assert db.backup_path is not None and db.backup_path.parent == db_path.parent
        with sqlite3.connect(db.backup_path) as backup:
            assert backup.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
            assert backup.execute("SELECT name FROM member").fetchall() == [("张三",)]
    finally:
        db.dispose()


def test_empty_database_at_old_revision_upgrades_without_backup(db_path: Path) -> None:
    engine = sa.create_engine(sqlite_url(db_path))
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    engine.dispose()
    db = open_database(sqlite_url(db_path))
    db.dispose()
    assert db.upgraded_from == "0001" and db.backup_path is None


def test_missing_folder_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "store.sqlite"
    with pytest.raises(DatabaseUnavailable, match="does not exist"):
        open_database(sqlite_url(target))
    assert not target.parent.exists()


def test_a_folder_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="is a folder"):
        open_database(sqlite_url(tmp_path))


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    target = tmp_path / "notes.sqlite"
    target.write_bytes(b"these are my shopping notes, not a database\n" * 10)
    before = target.read_bytes()
    with pytest.raises(NotACrmdeskDatabase, match="not an SQLite file"):
        open_database(sqlite_url(target))
    assert target.read_bytes() == before
    assert not any(p.name.startswith("notes.sqlite-") for p in tmp_path.iterdir())


def test_another_programs_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    target = tmp_path / "other.sqlite"
    with sqlite3.connect(target) as conn:
        conn.execute("CREATE TABLE recipes (id INTEGER PRIMARY KEY, title TEXT)")
        conn.execute("INSERT INTO recipes (title) VALUES ('红烧肉')")
    conn.close()
    before = target.read_bytes()
    with pytest.raises(NotACrmdeskDatabase, match="holds other tables"):
        open_database(sqlite_url(target))
    assert target.read_bytes() == before


def test_a_database_from_a_newer_crmdesk_is_refused_untouched(db_path: Path) -> None:
    open_database(sqlite_url(db_path)).dispose()
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    conn.close()
    before = db_path.read_bytes()
    with pytest.raises(DatabaseTooNew, match="newer version of crmdesk"):
        open_database(sqlite_url(db_path))
    assert db_path.read_bytes() == before


def test_url_resolution_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, isolated_data_dir: Path) -> None:
    assert resolve_url().database == str(isolated_data_dir / DEFAULT_DB_FILENAME)
    monkeypatch.setenv("CRMDESK_DB", str(tmp_path / "env.sqlite"))
    assert resolve_url().database == str(tmp_path / "env.sqlite")
    monkeypatch.setenv("CRMDESK_DATABASE_URL", "postgresql+psycopg://shop@localhost/crmdesk")
    assert resolve_url().get_backend_name() == "postgresql"
    assert resolve_url(db_path=tmp_path / "arg.sqlite").database == str(tmp_path / "arg.sqlite")
    with pytest.raises(InvalidInput):
        resolve_url(db_path="a.sqlite", database_url="sqlite:///b.sqlite")
    with pytest.raises(InvalidInput):
        resolve_url(database_url="not a url")


def test_unit_of_work_commits_all_or_nothing(db, owner) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError):
        with unit_of_work(db) as session:
            session.add(Staff(name="临时工", role=Role.CASHIER, pin_hash="x", active=True, failed_attempts=0))
            session.flush()
            raise RuntimeError("power cut halfway")
    with read_session(db) as session:
        assert session.scalar(sa.select(Staff).where(Staff.name == "临时工")) is None


def test_a_bulk_unit_of_work_has_a_larger_page_cache_and_gives_it_back_at_its_end(db, owner) -> None:  # type: ignore[no-untyped-def]
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's page cache")

    def cache_and_driver(session):  # type: ignore[no-untyped-def]
        connection = session.connection()
        return connection.exec_driver_sql("PRAGMA cache_size").scalar(), connection.connection.driver_connection

    with unit_of_work(db) as session:
        everyday, driver = cache_and_driver(session)
    assert everyday != -BULK_CACHE_KIB
    with unit_of_work(db, bulk=True) as session:
        assert cache_and_driver(session) == (-BULK_CACHE_KIB, driver)
        session.add(Staff(name="导入员", role=Role.CASHIER, pin_hash="x", active=True, failed_attempts=0))
    with pytest.raises(RuntimeError), unit_of_work(db, bulk=True) as session:
        assert cache_and_driver(session) == (-BULK_CACHE_KIB, driver)
        raise RuntimeError("the import stopped")
    with unit_of_work(db) as session:  # the same pooled connection, back to the everyday cache
        assert cache_and_driver(session) == (everyday, driver)
    with read_session(db) as session:
        assert session.scalar(sa.select(Staff.name).where(Staff.name == "导入员")) == "导入员"


def test_migrations_build_exactly_the_schema_the_models_describe(db) -> None:  # type: ignore[no-untyped-def]
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from crmdesk.models import Base

    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_a_server_connection_keeps_the_name_its_url_gives_it() -> None:
    # Keyword arguments override the URL's query: a name or timeout the URL sets must not be replaced.
    named = sa.make_url("postgresql+psycopg://till@server/crmdesk?application_name=till-2&connect_timeout=9")
    assert server_connect_args(named) == {}
    assert server_connect_args(sa.make_url("postgresql+psycopg://till@server/crmdesk")) == {
        "connect_timeout": CONNECT_TIMEOUT_S, "application_name": "crmdesk"}
