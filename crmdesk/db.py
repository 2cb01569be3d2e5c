"""Opening the database: choosing it, checking it is ours, upgrading it, tuning SQLite.

Every entry point (GUI, command line, tests) goes through ``open_database``, so
the checks and the start-up migration happen in exactly one place.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from crmdesk import shop_time
from crmdesk.connection_problems import CONNECT_TIMEOUT_S, connection_problem
from crmdesk.errors import DatabaseTooNew, DatabaseUnavailable, InvalidInput, NotACrmdeskDatabase
from crmdesk.paths import data_dir, package_path
from crmdesk.texts import QT_TRANSLATE_NOOP

DEFAULT_DB_FILENAME = "crmdesk.sqlite"
DEMO_DB_FILENAME = "demo.sqlite"
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000
# SQLite's page cache for an import's one big write (its own default, 2 MB, for everyday work). Writing 20,000
# purchases for members spread over a 100,000-member store touches tens of thousands of index pages; with 2 MB most
# are read again and again (measured: the raw writes 2.5-2.9 s with the default, 1.7-1.9 s with 64 MB, little more
# gained with 256 MB). A connection only grows its cache as far as the pages it touches.
BULK_CACHE_KIB = 65_536


@dataclass
class Database:
    """An open, current crmdesk database."""

    url: sa.URL
    engine: sa.Engine
    # Sessions for reading; writes go through ``write_sessions`` (see unit_of_work).
    sessions: sessionmaker[Session]
    write_sessions: sessionmaker[Session]
    backup_path: Path | None = None
    upgraded_from: str | None = field(default=None)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        return Path(self.url.database) if self.is_sqlite and self.url.database else None

    def describe(self) -> str:
        """What the status bar and messages show: a file path, or the server URL without password."""
        path = self.sqlite_path
        return str(path) if path else self.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def resolve_url(db_path: str | os.PathLike[str] | None = None, database_url: str | None = None) -> sa.URL:
    """Pick the database: explicit options first, then the environment, then the default file."""
    if db_path and database_url:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Give either --db or --database-url, not both."))
    if database_url:
        return _parse_url(database_url)
    if db_path:
        return sqlite_url(Path(db_path))
    if os.environ.get("CRMDESK_DATABASE_URL"):
        return _parse_url(os.environ["CRMDESK_DATABASE_URL"])
    if os.environ.get("CRMDESK_DB"):
        return sqlite_url(Path(os.environ["CRMDESK_DB"]))
    from crmdesk import preferences  # this computer's choice: the shop's server ('crmdesk connect')

    remembered = preferences.load().server_url
    if remembered:
        return _parse_url(remembered)
    return sqlite_url(data_dir() / DEFAULT_DB_FILENAME)


def sqlite_url(path: Path) -> sa.URL:
    return sa.URL.create("sqlite", database=str(path.expanduser().absolute()))


def _parse_url(text: str) -> sa.URL:
    try:
        return make_url(text)
    except sa.exc.ArgumentError:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "'{url}' is not a database URL (expected e.g. postgresql+psycopg://user@host/crmdesk)."),
            url=text,
        ) from None


def open_database(url: sa.URL, *, migrate: bool = True) -> Database:
    """Open a crmdesk database, creating or upgrading it to the current schema.

    Refuses, without touching the file, a path that cannot be written, a file
    that is not a crmdesk database and a database written by a newer crmdesk.
    Before upgrading a database that holds data, an SQLite file is copied to a
    timestamped backup beside it."""
    created_file: Path | None = None
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        _check_sqlite_path(path)
        if not path.exists():
            created_file = path
        make_private(path)
    engine = _create_engine(url)
    try:
        backup_path, upgraded_from = _check_and_migrate(engine, url, migrate)
    except BaseException:
        engine.dispose()
        if created_file is not None:
            remove_sqlite_files(created_file)
        raise
    sessions = sessionmaker(_snapshot_reads(engine), expire_on_commit=False)
    write_engine = engine.execution_options(crmdesk_write=True)
    write_sessions = sessionmaker(write_engine, expire_on_commit=False)
    return Database(url, engine, sessions, write_sessions, backup_path, upgraded_from)


def _snapshot_reads(engine: sa.Engine) -> sa.Engine:
    """The engine read sessions use: each read transaction sees one moment of the data throughout.

    SQLite's read transactions already do (WAL keeps the snapshot of the first read). PostgreSQL's
    default, READ COMMITTED, lets each statement see the latest commit: a balance read just before
    another till's sale and its ledger summed just after would disagree, and ``crmdesk check``
    would report money that is not wrong. A read-only REPEATABLE READ transaction never waits and
    never fails for it."""
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)


def _check_sqlite_path(path: Path) -> None:
    if str(path) in ("", ":memory:"):
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "An in-memory database cannot hold a store; give a file path."))
    if path.is_dir():
        raise DatabaseUnavailable(QT_TRANSLATE_NOOP("errors", "{path} is a folder, not a database file."), path=path)
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            raise DatabaseUnavailable(
                QT_TRANSLATE_NOOP("errors", "Cannot read and write {path}: check the file's permissions."), path=path
            )
        with open(path, "rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
        if header and header != SQLITE_HEADER:
            raise NotACrmdeskDatabase(
                QT_TRANSLATE_NOOP("errors", "{path} is not a crmdesk database (it is not an SQLite file)."), path=path
            )
        return
    folder = path.parent
    if not folder.is_dir():
        raise DatabaseUnavailable(
            QT_TRANSLATE_NOOP("errors", "Cannot create {path}: the folder {folder} does not exist."),
            path=path,
            folder=folder,
        )
    if not os.access(folder, os.W_OK):
        raise DatabaseUnavailable(
            QT_TRANSLATE_NOOP("errors", "Cannot create {path}: the folder {folder} is not writable."),
            path=path,
            folder=folder,
        )


def server_connect_args(url: sa.URL | None = None) -> dict[str, object]:
    """How crmdesk connects to a PostgreSQL server: a server that does not answer is given up on after a few
    seconds, not the network's minutes; the server's activity list names crmdesk -- unless the URL names the
    connection itself (keyword arguments would override the URL's own ``application_name``)."""
    args: dict[str, object] = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "crmdesk"}
    for key in ("connect_timeout", "application_name"):
        if url is not None and key in url.query:
            del args[key]
    return args


def _create_engine(url: sa.URL) -> sa.Engine:
    if url.get_backend_name() != "sqlite":
        try:
            extra = {"connect_args": server_connect_args(url)} if url.get_backend_name() == "postgresql" else {}
            return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True, **extra)
        except (ImportError, sa.exc.NoSuchModuleError) as exc:
            raise DatabaseUnavailable(
                QT_TRANSLATE_NOOP("errors", "No driver for {url}: {detail}. For PostgreSQL install crmdesk[postgres]."),
                url=url.render_as_string(hide_password=True),
                detail=str(exc),
            ) from None
    # hide_parameters: an error's text never carries the values of the failing statement (members' names, phones).
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, hide_parameters=True)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy's "begin" below decide how transactions start, rather
        # than the sqlite3 module's implicit BEGIN before the first write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # FULL makes each commit durable in WAL mode too (NORMAL may lose the last
        # commits on power loss, which for a till means lost purchases).
        cursor.execute("PRAGMA synchronous = FULL")
        # Deleted and overwritten content is zeroed on disk, so an erased member's data leaves the file.
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # A write transaction takes the write lock at BEGIN, so two tills never
        # both read a balance and then both spend it; readers stay concurrent.
        # Straight to the driver: this runs before every sale, and SQLAlchemy's statement work would double its cost.
        sqlite_driver_execute(connection, "BEGIN IMMEDIATE" if connection.get_execution_options().get("crmdesk_write") else "BEGIN")

    return engine


@contextmanager
def widened_page_cache(connection: sa.Connection, kib: int) -> Iterator[None]:
    """On SQLite, a page cache of ``kib`` KiB for the work inside, then the connection's own size again (which frees
    the pages above it): for the few big reads and writes that touch far more pages than everyday work. Inside a unit
    of work it is put back before the commit, which costs the commit nothing (measured)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = sqlite_driver_execute(connection, "PRAGMA cache_size").fetchone()[0]
    sqlite_driver_execute(connection, f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        with suppress(sa.exc.DBAPIError):  # a broken connection is thrown away by the pool, cache and all
            sqlite_driver_execute(connection, f"PRAGMA cache_size = {int(before)}")


def sqlite_driver_execute(connection: sa.Connection, sql: str, parameters: Sequence[object] = ()) -> sqlite3.Cursor:
    """Run ``sql`` on the SQLite driver's own connection under ``connection``, failing as SQLAlchemy would (a locked
    database is sa.exc.OperationalError, a broken constraint sa.exc.IntegrityError, values hidden): for the few
    statements whose cost is mostly SQLAlchemy's own work (services/driver_sql.py). Listeners of the engine's
    cursor events still see each statement (the tests that make every query slow, or count them, rely on it)."""
    driver = connection.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    cursor = driver.cursor()
    events = connection.dispatch
    if events.before_cursor_execute:
        events.before_cursor_execute(connection, cursor, sql, parameters, None, False)
    try:
        cursor.execute(sql, parameters)
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, None, exc, sqlite3.Error, hide_parameters=True) from exc  # type: ignore[arg-type]
    if events.after_cursor_execute:
        events.after_cursor_execute(connection, cursor, sql, parameters, None, False)
    return cursor


def alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(package_path("migrations")))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _check_and_migrate(engine: sa.Engine, url: sa.URL, migrate: bool) -> tuple[Path | None, str | None]:
    script = ScriptDirectory.from_config(alembic_config())
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            current = MigrationContext.configure(conn).get_current_revision()
    except sa.exc.DatabaseError as exc:
        raise _describe_connect_error(url, exc) from None
    where = _describe(url)
    if tables and "alembic_version" not in tables:
        raise NotACrmdeskDatabase(
            QT_TRANSLATE_NOOP("errors", "{path} is not a crmdesk database (it holds other tables)."), path=where
        )
    if current is not None:
        try:
            script.get_revision(current)
        except Exception:
            raise DatabaseTooNew(
                QT_TRANSLATE_NOOP(
                    "errors",
                    "{path} was written by a newer version of crmdesk (schema {revision}). Install the newer crmdesk to open it.",
                ),
                path=where,
                revision=current,
            ) from None
    head = script.get_current_head()
    if url.get_backend_name() == "sqlite":
        _enable_wal(engine)
    if not migrate or current == head:
        return None, None
    backup_path = None
    if current is not None and url.get_backend_name() == "sqlite" and _has_data(engine, tables):
        backup_path = backup_sqlite(Path(url.database or ""), reason=f"before-upgrade-{current}")
    _upgrade(engine, url)
    return backup_path, current


def _upgrade(engine: sa.Engine, url: sa.URL) -> None:
    if url.get_backend_name() != "sqlite":
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        return
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        # SQLite alters a table by copying it, which foreign keys would block; they
        # are switched off for the upgrade (only possible outside a transaction)
        # and every reference is checked before the upgrade commits.
        raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                command.upgrade(alembic_config(conn), "head")
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise DatabaseUnavailable(
                        QT_TRANSLATE_NOOP("errors", "Upgrading {path} would break {count} references; nothing was changed."),
                        path=url.database,
                        count=len(broken),
                    )
        finally:
            raw.execute("PRAGMA foreign_keys = ON")


def _describe(url: sa.URL) -> str:
    return url.database if url.get_backend_name() == "sqlite" else url.render_as_string(hide_password=True)


def _describe_connect_error(url: sa.URL, exc: sa.exc.DatabaseError) -> Exception:
    detail = str(getattr(exc, "orig", exc))
    if url.get_backend_name() == "postgresql" and isinstance(exc, sa.exc.OperationalError):
        return connection_problem(url, exc)
    if url.get_backend_name() == "sqlite" and "not a database" in detail:
        return NotACrmdeskDatabase(
            QT_TRANSLATE_NOOP("errors", "{path} is not a crmdesk database (it is not an SQLite file)."),
            path=url.database,
        )
    return DatabaseUnavailable(
        QT_TRANSLATE_NOOP("errors", "Cannot open the database {path}: {detail}"), path=_describe(url), detail=detail
    )


def _enable_wal(engine: sa.Engine) -> None:
    # journal_mode cannot change inside a transaction, so use the raw connection.
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA journal_mode = WAL")
    finally:
        raw.close()


def _has_data(engine: sa.Engine, tables: set[str]) -> bool:
    with engine.connect() as conn:
        for table in sorted(tables - {"alembic_version"}):
            if conn.exec_driver_sql(f'SELECT 1 FROM "{table}" LIMIT 1').first() is not None:
                return True
    return False


def backup_sqlite(path: Path, *, reason: str = "backup") -> Path:
    """Copy an SQLite database consistently (online backup API, safe with WAL) beside itself."""
    stamp = shop_time.to_shop(shop_time.now()).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.stem}.{stamp}.{reason}{path.suffix}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.stem}.{stamp}-{counter}.{reason}{path.suffix}")
    make_private(target)
    source = sqlite3.connect(path)
    try:
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()
    return target


def make_private(path: Path) -> None:
    """The database (and its journal files) readable by its owner only: it holds every member's phone.

    A missing file is created empty with those permissions, and SQLite gives the files it adds
    beside it (-wal, -shm) the database file's own. Files of another account are left as they are."""
    if os.name == "nt":  # Windows keeps files in the user's profile private through its folder ACLs
        return
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(str(path) + suffix)
        try:
            info = candidate.stat()
            if info.st_uid == os.getuid() and info.st_mode & 0o077:
                candidate.chmod(0o600)
        except OSError:
            continue  # gone meanwhile, or not ours to change


def remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            candidate.unlink()
