"""The shop's server: the line a till takes, connection problems in words, the store copied onto a server
(counted and summed, undone on any difference), the choice remembered per computer -- and on a real
PostgreSQL (CRMDESK_TEST_POSTGRES_URL, whose role may create roles and databases) the whole set-up."""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk import connection_problems, preferences
from crmdesk.cli import main
from crmdesk.db import Database, open_database, resolve_url, sqlite_url
from crmdesk.errors import DatabaseTooNew, DatabaseUnavailable, InvalidInput, NotACrmdeskDatabase
from crmdesk.models import Member, PointsEntry, Purchase
from crmdesk.services import demo, server, store
from crmdesk.services.uow import read_session, unit_of_work

PG_URL = os.environ.get("CRMDESK_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(not PG_URL, reason="set CRMDESK_TEST_POSTGRES_URL to a scratch PostgreSQL database")


# --------------------------------------------------------------------------- the line


@pytest.mark.parametrize("text", [
    "crmdesk connect postgresql+psycopg://crmdesk:pw@shop-pc:5432/crmdesk",
    "postgresql://crmdesk:pw@shop-pc:5432/crmdesk",
    "  'postgres://crmdesk:pw@shop-pc:5432/crmdesk'  ",
])
def test_a_server_line_is_taken_as_setup_prints_it_or_as_a_plain_url(text: str) -> None:
    url = server.server_url(text)
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql+psycopg", "crmdesk", "pw", "shop-pc", 5432, "crmdesk")
    assert server.server_url(server.till_line(url)) == url


@pytest.mark.parametrize("text", ["shop-pc", "sqlite:///C:/shop.sqlite", "postgresql:///crmdesk", "postgresql://shop-pc"])
def test_what_is_no_server_line_is_refused_in_words(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        server.server_url(text)
    assert "server" in refused.value.message or "PostgreSQL" in refused.value.message


# --------------------------------------------------------------------------- problems in words

URL = sa.make_url("postgresql+psycopg://crmdesk:pw@shop-pc:5432/crmdesk")


@pytest.mark.parametrize(("libpq_says", "template"), [
    ("failed to resolve host 'shop-pc': [Errno -2] Name or service not known", connection_problems.MSG_HOST_NOT_FOUND),
    ('connection to server at "10.0.0.2", port 5432 failed: Connection refused\n\tIs the server running on that host?',
     connection_problems.MSG_NOTHING_LISTENING),
    ("connection failed: timeout expired", connection_problems.MSG_NO_ANSWER),
    ('connection failed: FATAL:  password authentication failed for user "crmdesk"', connection_problems.MSG_WRONG_PASSWORD),
    ('connection failed: 致命错误:  用户 "crmdesk" Password 认证失败', connection_problems.MSG_WRONG_PASSWORD),
    ('FATAL:  no pg_hba.conf entry for host "10.0.0.7", user "crmdesk", database "crmdesk"', connection_problems.MSG_NOT_LET_IN),
    ('connection failed: FATAL:  database "crmdesk" does not exist', connection_problems.MSG_NO_DATABASE),
    ('致命错误:  数据库 "crmdesk" 不存在', connection_problems.MSG_NO_DATABASE),
    ("FATAL:  sorry, too many clients already", connection_problems.MSG_TOO_MANY),
    ("FATAL:  the database system is starting up", connection_problems.MSG_SERVER_REFUSED),
])
def test_each_connection_problem_is_named_in_the_owners_words(libpq_says: str, template: str) -> None:
    problem = connection_problems.connection_problem(URL, Exception(libpq_says))
    assert isinstance(problem, DatabaseUnavailable)
    assert problem.template == template
    assert "pw" not in problem.message.split()  # the password is never shown


def test_a_server_that_is_not_there_is_told_so_quickly() -> None:
    with pytest.raises(DatabaseUnavailable) as refused:
        server.check_connection(sa.make_url("postgresql+psycopg://crmdesk:pw@127.0.0.1:1/crmdesk"))
    assert refused.value.template == connection_problems.MSG_NOTHING_LISTENING


def test_setup_without_postgresql_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "find_postgresql", lambda: None)
    with pytest.raises(DatabaseUnavailable) as refused:
        server.setup_server(server.admin_candidates("postgresql://postgres@127.0.0.1:1/postgres", None))
    assert refused.value.template == server.MSG_NO_POSTGRES
    assert "apt install postgresql" in refused.value.message and "postgresql.org/download/windows" in refused.value.message


def test_setup_with_postgresql_stopped_says_how_to_start_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "find_postgresql", lambda: "/usr/lib/postgresql/15/bin")
    with pytest.raises(DatabaseUnavailable) as refused:
        server.setup_server(server.admin_candidates("postgresql://postgres@127.0.0.1:1/postgres", None))
    assert refused.value.template == server.MSG_POSTGRES_STOPPED
    assert "systemctl" in refused.value.message and "Services" in refused.value.message


def test_a_bad_database_name_is_refused_before_connecting() -> None:
    with pytest.raises(InvalidInput):
        server.setup_server([URL], name="Shop Data; DROP")


# --------------------------------------------------------------------------- the copy


@pytest.fixture
def demo_file(tmp_path: Path) -> Iterator[Database]:
    database = open_database(sqlite_url(tmp_path / "old.sqlite"))
    with unit_of_work(database) as session:
        demo.fill_demo_store(session, members=60, seed=3, today=date(2026, 11, 1))
    yield database
    database.dispose()


@pytest.fixture
def empty_target(tmp_path: Path) -> Iterator[Database]:
    database = open_database(sqlite_url(tmp_path / "new.sqlite"))
    yield database
    database.dispose()


def _counts(database: Database) -> tuple[int, int, int, int]:
    with read_session(database) as session:
        return (session.scalar(sa.select(sa.func.count()).select_from(Member)),  # type: ignore[return-value]
                session.scalar(sa.select(sa.func.count()).select_from(Purchase)),
                session.scalar(sa.select(sa.func.sum(PointsEntry.points))),
                session.scalar(sa.select(sa.func.sum(Member.points_balance))))


def test_the_store_is_copied_whole_and_checked(demo_file: Database, empty_target: Database) -> None:
    seen = []
    report = server.copy_store(demo_file, empty_target, progress=lambda done, total: seen.append((done, total)), batch=500)
    assert _counts(empty_target) == _counts(demo_file)
    assert report.rows == seen[-1][0] == seen[-1][1] and report.checked_sums > 50
    with read_session(empty_target) as session, read_session(demo_file) as source:
        assert store.is_initialised(session)
        assert store.get_store(session) == store.get_store(source)


def test_a_copy_that_does_not_add_up_leaves_nothing(demo_file: Database, empty_target: Database,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    real = server._figures
    calls = []

    def one_sum_off(connection, tables):  # type: ignore[no-untyped-def]
        figures = real(connection, tables)
        calls.append(1)
        if len(calls) == 2:  # the server's side
            figures[("purchase", "amount_fen")] += 1
        return figures

    monkeypatch.setattr(server, "_figures", one_sum_off)
    with pytest.raises(DatabaseUnavailable) as refused:
        server.copy_store(demo_file, empty_target)
    assert "purchase.amount_fen" in refused.value.message
    assert _counts(empty_target) == (0, 0, None, None)


def test_a_store_is_never_copied_over_another(demo_file: Database, empty_target: Database) -> None:
    server.copy_store(demo_file, empty_target)
    before = _counts(empty_target)
    with pytest.raises(InvalidInput):
        server.copy_store(demo_file, empty_target)
    assert _counts(empty_target) == before


# --------------------------------------------------------------------------- remembered per computer


def test_the_server_chosen_here_is_remembered_privately(isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolated_data_dir.mkdir(parents=True, exist_ok=True)
    prefs = preferences.load()
    prefs.server_url = "postgresql+psycopg://crmdesk:pw@shop-pc:5432/crmdesk"
    preferences.save(prefs)
    if os.name != "nt":
        assert stat.S_IMODE((isolated_data_dir / preferences.FILENAME).stat().st_mode) == 0o600
    assert resolve_url().host == "shop-pc"
    assert resolve_url(db_path=isolated_data_dir / "x.sqlite").get_backend_name() == "sqlite"  # an explicit choice wins
    monkeypatch.setenv("CRMDESK_DB", str(isolated_data_dir / "y.sqlite"))
    assert resolve_url().get_backend_name() == "sqlite"


def test_connect_refuses_a_bad_line_and_remembers_nothing(isolated_data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connect", "postgresql+psycopg://crmdesk:pw@127.0.0.1:1/crmdesk"]) == 7
    assert "no database server is listening on port 1" in capsys.readouterr().err
    assert main(["connect", "not a line"]) == 2
    assert preferences.load().server_url == ""
    assert main(["connect", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"server": None}


# --------------------------------------------------------------------------- on a real server


@contextmanager
def scratch_name() -> Iterator[tuple[list[sa.URL], str]]:
    """The administrator's connection and a fresh name; whatever was made under the name is dropped after."""
    name = f"crmdesk_t{uuid.uuid4().hex[:10]}"
    try:
        yield server.admin_candidates(PG_URL, None), name
    finally:
        engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            if connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first():
                connection.exec_driver_sql(f'GRANT "{name}" TO CURRENT_USER')
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                connection.exec_driver_sql(f'DROP ROLE "{name}"')
        engine.dispose()


@contextmanager
def scratch_server() -> Iterator[sa.URL]:
    """A server set up for the tills (an empty store), as its line names it; gone after."""
    with scratch_name() as (candidates, name):
        yield server.setup_server(candidates, name=name, host_for_tills=candidates[0].host).url


@pytest.fixture
def admin() -> Iterator[tuple[list[sa.URL], str]]:
    with scratch_name() as made:
        yield made


def _database_exists(name: str) -> bool:
    engine = sa.create_engine(PG_URL)
    with engine.connect() as connection:
        found = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None
    engine.dispose()
    return found


@needs_postgres
def test_setup_copies_the_store_and_a_till_connects_with_its_line(admin, demo_file: Database, isolated_data_dir: Path,  # type: ignore[no-untyped-def]
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    candidates, name = admin
    host = candidates[0].host
    result = server.setup_server(candidates, name=name, host_for_tills=host, copy_from=demo_file)
    assert result.created and result.copied is not None and result.url.password
    found = server.check_connection(result.url)
    assert (found.initialised, found.members, found.upgrade_needed) == (True, 60, False)
    server_db = open_database(result.url)
    try:
        assert _counts(server_db) == _counts(demo_file)
        with unit_of_work(server_db) as session:  # ids continue after the copied ones
            session.add(Member(member_no="M-NEW", name="新会员", phone="+8613900000001", phone_last4="0001",
                               joined_on=date(2026, 12, 1)))
            session.flush()
    finally:
        server_db.dispose()
    assert main(["connect", result.line]) == 0
    said = capsys.readouterr().out
    assert "61 members" in said and "Name this till" in said
    assert main(["connect", result.line, "--till", "02"]) == 0 and preferences.load().till == "02"
    assert main(["member", "search", "新会员"]) == 0  # commands now work on the server
    assert "M-NEW" in capsys.readouterr().out


@needs_postgres
def test_setup_twice_is_refused_and_a_new_password_replaces_the_old(admin) -> None:  # type: ignore[no-untyped-def]
    candidates, name = admin
    first = server.setup_server(candidates, name=name, host_for_tills=candidates[0].host)
    with pytest.raises(InvalidInput):
        server.setup_server(candidates, name=name)
    second = server.setup_server(candidates, name=name, host_for_tills=candidates[0].host, new_password=True)
    assert not second.created and second.url.password != first.url.password
    server.check_connection(second.url)
    with pytest.raises(DatabaseUnavailable) as refused:
        server.check_connection(first.url)
    assert refused.value.template == connection_problems.MSG_WRONG_PASSWORD


@needs_postgres
def test_a_failed_setup_leaves_no_database_or_role(admin, demo_file: Database, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    candidates, name = admin

    def power_cut(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise OSError("the copy was cut off")

    monkeypatch.setattr(server, "copy_store", power_cut)
    with pytest.raises(OSError):
        server.setup_server(candidates, name=name, copy_from=demo_file)
    assert not _database_exists(name)


@needs_postgres
def test_what_a_till_finds_on_the_server_is_named(admin) -> None:  # type: ignore[no-untyped-def]
    candidates, name = admin
    result = server.setup_server(candidates, name=name, host_for_tills=candidates[0].host)
    with pytest.raises(DatabaseUnavailable) as refused:
        server.check_connection(result.url.set(database=name + "_x"))
    assert refused.value.template == connection_problems.MSG_NO_DATABASE
    with pytest.raises(DatabaseUnavailable) as refused:  # the test database is empty until a test fills it
        engine = sa.create_engine(PG_URL)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
        server.check_connection(sa.make_url(PG_URL))
    assert refused.value.template == server.MSG_EMPTY_DATABASE
    engine = sa.create_engine(result.url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(DatabaseTooNew):
        server.check_connection(result.url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")
    engine.dispose()
    with pytest.raises(NotACrmdeskDatabase):
        server.check_connection(result.url)
