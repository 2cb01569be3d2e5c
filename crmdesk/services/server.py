"""Several tills on one PostgreSQL server: checking a till's connection, setting the server up, and the
line a till needs to join.

A till's connection problem is told in a shop owner's words (server not found, nothing listening,
no answer, wrong password, not let in, no such database, older crmdesk); libpq reports them as text
only, so they are told apart by its messages (English, and the server's Chinese ones).
"""

from __future__ import annotations

import os
import platform
import re
import secrets
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from crmdesk.connection_problems import CONNECT_TIMEOUT_S, DEFAULT_PORT, MSG_HOST_NOT_FOUND, MSG_NOTHING_LISTENING, \
    connection_problem
from crmdesk import preferences
from crmdesk.db import Database, alembic_config, open_database, server_connect_args
from crmdesk.errors import DatabaseTooNew, DatabaseUnavailable, InvalidInput, NotACrmdeskDatabase
from crmdesk.services.auth import Permission, require
from crmdesk.services.uow import Actor
from crmdesk.texts import QT_TRANSLATE_NOOP

DEFAULT_NAME = "crmdesk"  # the database and the role the tills sign in as
DRIVER = "postgresql+psycopg"

MSG_NOT_A_SERVER_LINE = QT_TRANSLATE_NOOP(
    "errors", "'{text}' is not a server line: it should look like postgresql://crmdesk:password@shop-pc:5432/crmdesk.")
MSG_EMPTY_DATABASE = QT_TRANSLATE_NOOP(
    "errors", "The database '{database}' on the server is empty. Run 'crmdesk server setup' on the server PC first.")
MSG_OLDER_CRMDESK = QT_TRANSLATE_NOOP(
    "errors", "The server's data was written by a newer crmdesk than this one (schema {revision}). Install the newer "
              "crmdesk on this computer, then connect again.")
MSG_PARTS_MISSING = QT_TRANSLATE_NOOP("errors", "Give the server, the database and the user name.")
MSG_NAME_THE_TILL = QT_TRANSLATE_NOOP(
    "errors", "Give this till a name (e.g. 01 or Front desk): it goes on its receipts, and every till of the shop needs "
              "its own.")
MSG_TILL_TOO_LONG = QT_TRANSLATE_NOOP("errors", "A till's name may have at most {count} characters.")
MSG_NOT_POSTGRES = QT_TRANSLATE_NOOP(
    "errors", "Only a PostgreSQL server can be shared by several tills; '{text}' is not one.")


# --------------------------------------------------------------------------- the line a till needs


def server_url(text: str) -> sa.URL:
    """The server a line names, with crmdesk's driver: accepts the setup's whole 'crmdesk connect …' line, a
    postgresql:// or postgres:// URL, or crmdesk's own postgresql+psycopg:// one."""
    cleaned = text.strip()
    cleaned = re.sub(r"^crmdesk\s+connect\s+", "", cleaned).strip().strip("'\"")
    try:
        url = make_url(cleaned)
    except sa.exc.ArgumentError:
        raise InvalidInput(MSG_NOT_A_SERVER_LINE, field="url", text=cleaned[:80]) from None
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise InvalidInput(MSG_NOT_POSTGRES, field="url", text=url.render_as_string(hide_password=True)[:80])
    if not url.host or not url.database:
        raise InvalidInput(MSG_NOT_A_SERVER_LINE, field="url", text=url.render_as_string(hide_password=True)[:80])
    return url.set(drivername=DRIVER)


def url_from_parts(host: str, port: int, database: str, user: str, password: str) -> sa.URL:
    """The server named field by field (Settings → Connect to server)."""
    host, database, user = host.strip(), database.strip(), user.strip()
    if not host or not database or not user:
        raise InvalidInput(MSG_PARTS_MISSING, field="host" if not host else "database" if not database else "user")
    return sa.URL.create(DRIVER, username=user, password=password or None, host=host, port=port or DEFAULT_PORT,
                         database=database)


def remembered_server() -> sa.URL | None:
    """The server this computer works on, or None (its own database file)."""
    text = preferences.load().server_url
    return server_url(text) if text else None


def remember_server(url: sa.URL | None, *, till: str | None = None) -> None:
    """Work on this server from the next start (None: on this computer's own file again); ``till`` names this
    computer's till too."""
    prefs = preferences.load()
    prefs.server_url = url.render_as_string(hide_password=False) if url is not None else ""
    if till is not None:
        prefs.till = till
    preferences.save(prefs)


def check_till_name(till: str) -> str:
    """Several tills on one server each need their own name: it goes on their receipts, whose numbers are unique
    per till."""
    from crmdesk.services.purchases import MAX_TILL_LENGTH

    till = till.strip()
    if not till:
        raise InvalidInput(MSG_NAME_THE_TILL, field="till")
    if len(till) > MAX_TILL_LENGTH:
        raise InvalidInput(MSG_TILL_TOO_LONG, field="till", count=MAX_TILL_LENGTH)
    return till


def choose_server(actor: Actor, url: sa.URL | None, *, till: str | None = None) -> ConnectionCheck | None:
    """The owner's choice in Settings: a server is checked (and refused with the reason) before it is remembered,
    with this computer's till name."""
    require(actor, Permission.CHANGE_SETTINGS)
    till = check_till_name(till) if url is not None and till is not None else None
    found = check_connection(url) if url is not None else None
    remember_server(url, till=till)
    return found


def till_line(url: sa.URL) -> str:
    """What a till's owner types (or pastes into Settings → Connect to server)."""
    return f"crmdesk connect {url.render_as_string(hide_password=False)}"


# --------------------------------------------------------------------------- checking a till's connection


@dataclass(frozen=True)
class ConnectionCheck:
    """What a till found on the server."""

    url: sa.URL
    server_version: str
    schema: str | None
    upgrade_needed: bool  # the server's data is older than this crmdesk: the first till to open it upgrades it
    initialised: bool  # an owner is set up (otherwise the first till to open it asks for one)
    store_name: str
    members: int
    milliseconds: float

    @property
    def where(self) -> str:
        return self.url.render_as_string(hide_password=True)


def check_connection(url: sa.URL, *, timeout_s: int = CONNECT_TIMEOUT_S) -> ConnectionCheck:
    """Connect to a server as a till would and say what is there, without changing anything. Raises a
    DatabaseError whose message names what is wrong in the owner's words."""
    from crmdesk.models import Member, STORE_ROW_ID, StoreSettings
    from crmdesk.services import store

    started = time.perf_counter()
    engine = sa.create_engine(url, poolclass=NullPool, hide_parameters=True,
                              connect_args={**server_connect_args(url), "connect_timeout": timeout_s})
    try:
        try:
            with engine.connect() as connection:
                version = str(connection.exec_driver_sql("SHOW server_version").scalar())
                tables = set(sa.inspect(connection).get_table_names())
                revision = MigrationContext.configure(connection).get_current_revision()
                if not tables:
                    raise DatabaseUnavailable(MSG_EMPTY_DATABASE, database=url.database)
                if "alembic_version" not in tables:
                    raise NotACrmdeskDatabase(QT_TRANSLATE_NOOP(
                        "errors", "{path} is not a crmdesk database (it holds other tables)."),
                        path=url.render_as_string(hide_password=True))
                script = ScriptDirectory.from_config(alembic_config())
                try:
                    script.get_revision(revision)
                except Exception:
                    raise DatabaseTooNew(MSG_OLDER_CRMDESK, revision=revision) from None
                upgrade_needed = revision != script.get_current_head()
                initialised, name, members = False, "", 0
                if not upgrade_needed:  # an older schema may lack what these read
                    with Session(connection) as session:
                        initialised = store.is_initialised(session)
                        settings = session.get(StoreSettings, STORE_ROW_ID)
                        name = settings.store_name if settings else ""
                        members = session.scalar(sa.select(sa.func.count()).select_from(Member)) or 0
        except sa.exc.OperationalError as exc:
            raise connection_problem(url, exc, timeout_s) from None
    finally:
        engine.dispose()
    return ConnectionCheck(url, version, revision, upgrade_needed, initialised, name, members,
                           (time.perf_counter() - started) * 1000)


# --------------------------------------------------------------------------- setting the server up

MSG_NO_POSTGRES = QT_TRANSLATE_NOOP(
    "errors", "PostgreSQL is not installed on this computer (nothing answers on {host}:{port}). Install it, then run "
              "'crmdesk server setup' again:\n{steps}")
MSG_POSTGRES_STOPPED = QT_TRANSLATE_NOOP(
    "errors", "PostgreSQL is installed here ({found}) but not running. Start it, then run 'crmdesk server setup' "
              "again:\n{steps}")
MSG_ADMIN_REFUSED = QT_TRANSLATE_NOOP(
    "errors", "PostgreSQL did not let crmdesk in as its administrator: {detail}\n{steps}")
MSG_ADMIN_RIGHTS = QT_TRANSLATE_NOOP(
    "errors", "'{user}' may not create databases and roles on this server. Sign in as PostgreSQL's administrator "
              "(postgres).")
MSG_ALREADY_SET_UP = QT_TRANSLATE_NOOP(
    "errors", "The server already has a database or role named '{name}'. Choose another name (--name), or, to give "
              "the tills a new password for it, run setup again with --new-password.")
MSG_BAD_NAME = QT_TRANSLATE_NOOP(
    "errors", "'{name}' cannot name a database: use lower-case letters, digits and _ (at most 40), starting with a letter.")
MSG_NOT_FRESH = QT_TRANSLATE_NOOP(
    "errors", "The server's database already holds a store; the copy goes only into a new one.")
MSG_COPY_DIFFERS = QT_TRANSLATE_NOOP(
    "errors", "The copy does not match the file ({detail}); nothing was kept on the server.")

INSTALL_WINDOWS = QT_TRANSLATE_NOOP(
    "server",
    "Windows: download the PostgreSQL installer from https://www.postgresql.org/download/windows/ and run it; "
    "note the password you give the 'postgres' user, keep port 5432, and let the installer add PostgreSQL to the "
    "firewall. Then run: crmdesk server setup --admin-password-stdin")
INSTALL_DEBIAN = QT_TRANSLATE_NOOP(
    "server",
    "Debian or Ubuntu: sudo apt install postgresql, give its 'postgres' user a password once (sudo -u postgres psql "
    "-c \"ALTER USER postgres PASSWORD 'a-password'\"), then run: crmdesk server setup --admin-password-stdin")
START_WINDOWS = QT_TRANSLATE_NOOP(
    "server", "Windows: open Services, find 'postgresql-x64-…', and choose Start (and Automatic start-up).")
START_DEBIAN = QT_TRANSLATE_NOOP("server", "Debian or Ubuntu: sudo systemctl enable --now postgresql")
ADMIN_HELP = QT_TRANSLATE_NOOP(
    "server",
    "Give the password of PostgreSQL's 'postgres' user (--admin-password-stdin); on Debian or Ubuntu give it one "
    "first: sudo -u postgres psql -c \"ALTER USER postgres PASSWORD 'a-password'\" (or run the setup as that user: "
    "sudo -u postgres crmdesk server setup). Or name the administrator's connection with --admin-url.")
LISTEN_LOCAL_ONLY = QT_TRANSLATE_NOOP(
    "server",
    "PostgreSQL listens on this computer only (listen_addresses = '{value}'), so the tills cannot reach it yet: set "
    "listen_addresses = '*' in postgresql.conf, add 'host {database} {role} samenet scram-sha-256' to pg_hba.conf, "
    "and restart PostgreSQL.")
FIREWALL_HINT = QT_TRANSLATE_NOOP(
    "server", "Let the tills through this computer's firewall on port {port} (TCP).")


def install_steps(system: str | None = None) -> list[str]:
    """How to install PostgreSQL here (the other system's way too, when the owner reads it elsewhere)."""
    system = system or platform.system()
    return [INSTALL_WINDOWS, INSTALL_DEBIAN] if system == "Windows" else [INSTALL_DEBIAN, INSTALL_WINDOWS]


def start_steps(system: str | None = None) -> list[str]:
    system = system or platform.system()
    return [START_WINDOWS, START_DEBIAN] if system == "Windows" else [START_DEBIAN, START_WINDOWS]


def find_postgresql() -> str | None:
    """Where PostgreSQL's programs are on this computer, or None: the PATH, Debian's and Windows' usual places."""
    for program in ("postgres", "pg_ctl", "pg_ctlcluster"):
        found = shutil.which(program)
        if found:
            return str(Path(found).parent)
    places = [Path("/usr/lib/postgresql")]
    for variable in ("ProgramFiles", "ProgramW6432"):
        if os.environ.get(variable):
            places.append(Path(os.environ[variable]) / "PostgreSQL")
    for place in places:
        versions = sorted(place.glob("*/bin"), reverse=True) if place.is_dir() else []
        if versions:
            return str(versions[0])
    return None


@dataclass(frozen=True)
class CopyReport:
    tables: int
    rows: int
    checked_sums: int  # sums of integer columns compared between the file and the server


@dataclass
class SetupResult:
    url: sa.URL  # what the tills connect with (password included)
    created: bool  # False: an existing database got a new password
    copied: CopyReport | None = None
    warnings: list[str] = field(default_factory=list)
    warning_params: list[dict[str, object]] = field(default_factory=list)

    @property
    def line(self) -> str:
        return till_line(self.url)


_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def admin_candidates(admin_url: str | None, password: str | None) -> list[sa.URL]:
    """The administrator connections to try, in order: the one given; else the local socket as 'postgres' (peer
    sign-in, when run as that user), then localhost over TCP (with the password, when one is given)."""
    if admin_url:
        return [make_url(admin_url).set(drivername=DRIVER)]
    tcp = sa.URL.create(DRIVER, username="postgres", password=password or None, host="localhost", port=DEFAULT_PORT,
                        database="postgres")
    if password or os.name == "nt":
        return [tcp]
    return [sa.URL.create(DRIVER, username="postgres", database="postgres"), tcp]


def _admin_engine(candidates: list[sa.URL]) -> sa.Engine:
    """The first administrator connection that works; otherwise the problem, with how to put it right."""
    last: BaseException | None = None
    for url in candidates:
        engine = sa.create_engine(url, poolclass=NullPool, hide_parameters=True, isolation_level="AUTOCOMMIT",
                                  connect_args=server_connect_args(url))
        try:
            with engine.connect():
                return engine
        except sa.exc.OperationalError as exc:
            engine.dispose()
            last = exc
    assert last is not None
    url = candidates[-1]
    problem = connection_problem(url, last)
    if problem.template in (MSG_NOTHING_LISTENING, MSG_HOST_NOT_FOUND):
        found = find_postgresql()
        if found is None:
            raise DatabaseUnavailable(MSG_NO_POSTGRES, host=url.host or "localhost", port=url.port or DEFAULT_PORT,
                                      steps="\n".join(install_steps()))
        raise DatabaseUnavailable(MSG_POSTGRES_STOPPED, found=found, steps="\n".join(start_steps()))
    raise DatabaseUnavailable(MSG_ADMIN_REFUSED, detail=problem.message, steps=ADMIN_HELP)


def setup_server(admin: list[sa.URL], *, name: str = DEFAULT_NAME, host_for_tills: str | None = None,
                 new_password: bool = False, copy_from: Database | None = None, progress=None) -> SetupResult:  # type: ignore[no-untyped-def]
    """Make the tills' role and database on the server (a generated password), bring the database to this crmdesk's
    schema, optionally copy a store file into it (verified), and say what a till needs. A failure before the end
    leaves no new role or database behind."""
    if not _NAME.match(name):
        raise InvalidInput(MSG_BAD_NAME, field="name", name=name)
    engine = _admin_engine(admin)
    try:
        admin_url = engine.url
        with engine.connect() as connection:
            user, superuser, can_create = connection.execute(sa.text(
                "SELECT current_user, rolsuper, rolcreatedb AND rolcreaterole FROM pg_roles "
                "WHERE rolname = current_user")).one()
            if not (superuser or can_create):
                raise DatabaseUnavailable(MSG_ADMIN_RIGHTS, user=user)
            role_exists = connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first()
            database_exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            password = secrets.token_urlsafe(18)
            url = sa.URL.create(DRIVER, username=name, password=password, host=host_for_tills or _this_computer(admin_url),
                                port=admin_url.port or DEFAULT_PORT, database=name)
            local = url.set(host=admin_url.host or "localhost")
            if role_exists or database_exists:
                if not (new_password and role_exists and database_exists):
                    raise InvalidInput(MSG_ALREADY_SET_UP, field="name", name=name)
                connection.exec_driver_sql(f'ALTER ROLE "{name}" WITH LOGIN PASSWORD {_literal(password)}')
                result = SetupResult(url, created=False)
                open_database(local).dispose()  # still a crmdesk database, now at this crmdesk's schema
            else:
                result = SetupResult(url, created=True)
                _create(connection, name, password, superuser=superuser)
                try:
                    target = open_database(local)
                    try:
                        if copy_from is not None:
                            result.copied = copy_store(copy_from, target, progress=progress)
                    finally:
                        target.dispose()
                except BaseException:
                    _drop(connection, name)
                    raise
                finally:
                    if not superuser and connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"),
                                                            {"n": name}).first():
                        connection.exec_driver_sql(f'REVOKE "{name}" FROM CURRENT_USER')
            listen = str(connection.exec_driver_sql("SHOW listen_addresses").scalar() or "")
        if listen.strip() in ("", "localhost", "127.0.0.1", "::1", "localhost, 127.0.0.1"):
            result.warnings.append(LISTEN_LOCAL_ONLY)
            result.warning_params.append({"value": listen, "database": name, "role": name})
        result.warnings.append(FIREWALL_HINT)
        result.warning_params.append({"port": url.port})
        return result
    finally:
        engine.dispose()


def _create(connection: sa.Connection, name: str, password: str, *, superuser: bool) -> None:
    """The role and its database. An administrator that is no superuser belongs to the role until the setup ends:
    PostgreSQL lets only a member make a database's owner the role, or drop the database again."""
    connection.exec_driver_sql(f'CREATE ROLE "{name}" WITH LOGIN PASSWORD {_literal(password)}')
    try:
        if not superuser:
            connection.exec_driver_sql(f'GRANT "{name}" TO CURRENT_USER')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" OWNER "{name}" ENCODING \'UTF8\' TEMPLATE template0')
    except BaseException:
        connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{name}"')
        raise


def _literal(password: str) -> str:
    """The generated password as an SQL literal (role statements take no parameters); it is URL-safe base64."""
    assert re.fullmatch(r"[A-Za-z0-9_-]+", password)
    return f"'{password}'"


def _drop(connection: sa.Connection, name: str) -> None:
    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{name}"')


def _this_computer(admin_url: sa.URL) -> str:
    """The server's name as the tills will use it: the admin connection's host unless that is this computer."""
    host = admin_url.host or ""
    if host and host not in ("localhost", "127.0.0.1", "::1"):
        return host
    return socket.gethostname() or "localhost"


# --------------------------------------------------------------------------- copying a store file onto the server


def copy_store(source: Database, target: Database, *, progress=None, batch: int = 5_000) -> CopyReport:  # type: ignore[no-untyped-def]
    """Every row of every table of ``source`` into the new, empty ``target`` (one transaction), then the counts
    and the sums of every integer column compared table by table; any difference undoes the copy."""
    from crmdesk.models import Base, Member, RulesStamp
    from crmdesk.services import store

    # The rules stamp goes last: the triggers on the rules' tables give it a new token as those are copied.
    tables = sorted(Base.metadata.sorted_tables, key=lambda table: table is RulesStamp.__table__)
    with target.write_sessions() as session, session.begin():
        if store.is_initialised(session) or session.scalar(sa.select(sa.func.count()).select_from(Member)):
            raise InvalidInput(MSG_NOT_FRESH)
        connection = session.connection()
        with source.engine.connect() as reading:
            total = sum(reading.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() for table in tables)
            copy_tables(reading, connection, tables, progress=lambda done: progress and progress(done, total), batch=batch)
            if target.url.get_backend_name() == "postgresql":
                _move_sequences(connection, tables)
            source_figures = _figures(reading, tables)
        target_figures = _figures(connection, tables)
        differences = [key for key in source_figures if source_figures[key] != target_figures.get(key)]
        if differences:
            table, what = differences[0]
            raise DatabaseUnavailable(MSG_COPY_DIFFERS, detail=f"{table}.{what}: {source_figures[differences[0]]} ≠ "
                                                               f"{target_figures.get(differences[0])}")
    return CopyReport(len(tables), total, sum(1 for _table, what in source_figures if what != "rows"))


def copy_tables(reading: sa.Connection, writing: sa.Connection, tables: list[sa.Table], *,
                progress: Callable[[int], None] | None = None, blank: dict[str, dict[str, object]] | None = None,
                batch: int = 5_000) -> dict[str, int]:
    """Every row of ``tables`` from one database into the same tables of another, in batches (memory stays small),
    what the writing side's migrations put there deleted first; ``blank`` sets columns of a table to a fixed value
    on the way (what must not be copied). Returns the rows copied per table; ``progress(rows so far)``."""
    blank = blank or {}
    write = _copy_rows if writing.dialect.name == "postgresql" else _insert_rows
    for table in reversed(tables):
        writing.execute(table.delete())
    copied: dict[str, int] = {}
    done = 0
    for table in tables:
        copied[table.name] = 0
        result = reading.execution_options(yield_per=batch).execute(sa.select(table))
        for rows in result.partitions():
            write(writing, table, [{**row._asdict(), **blank.get(table.name, {})} for row in rows])
            copied[table.name] += len(rows)
            done += len(rows)
            if progress:
                progress(done)
    return copied


def _insert_rows(connection: sa.Connection, table: sa.Table, rows: list[dict[str, object]]) -> None:
    connection.execute(table.insert(), rows)


def _copy_rows(connection: sa.Connection, table: sa.Table, rows: list[dict[str, object]]) -> None:
    """PostgreSQL's COPY, in the copy's transaction: each value bound by its column's type, as an INSERT would
    bind it (UTC times, the enums' stored words), several times faster than INSERTs for a large store."""
    dialect = connection.dialect
    binders = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in table.columns]
    names = ", ".join(dialect.identifier_preparer.quote(column.name) for column in table.columns)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {dialect.identifier_preparer.quote(table.name)} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[column.name] if bind is None or row[column.name] is None else bind(row[column.name])
                            for bind, column in zip(binders, table.columns, strict=True)])


def _figures(connection: sa.Connection, tables: list[sa.Table]) -> dict[tuple[str, str], int]:
    """Per table: its row count and the sum of each integer column (money, points, counts, keys)."""
    figures: dict[tuple[str, str], int] = {}
    for table in tables:
        numbers = [column for column in table.columns if isinstance(column.type, sa.Integer)]
        row = connection.execute(sa.select(sa.func.count(), *(sa.func.coalesce(sa.func.sum(c), 0) for c in numbers))
                                 .select_from(table)).one()
        figures[(table.name, "rows")] = int(row[0])
        for column, total in zip(numbers, row[1:], strict=True):
            figures[(table.name, column.name)] = int(total)
    return figures


def _move_sequences(connection: sa.Connection, tables: list[sa.Table]) -> None:
    """Ids were copied as they were: each table's id sequence continues after the highest."""
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, sa.Integer):
            continue
        column = keys[0].name
        connection.execute(sa.text(
            f'SELECT setval(seq, (SELECT COALESCE(MAX("{column}"), 0) + 1 FROM "{table.name}"), false) '
            "FROM pg_get_serial_sequence(:table, :column) AS seq WHERE seq IS NOT NULL"),
            {"table": table.name, "column": column})
