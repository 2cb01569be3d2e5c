"""Failures outside crmdesk's rules reach a person as a message, never as a traceback, and change nothing.

A busy database (another till holds the write lock past the busy timeout), a full database or disk,
a read-only database and an unwritable output folder, each reproduced for real where the test
machine allows it (SQLite's own page limit fills the database; ``query_only`` makes it read-only).
"""

from __future__ import annotations

import errno
import io
import os
import sqlite3
import stat
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk import cli, db as db_module
from crmdesk.cli import main
from crmdesk.db import open_database, sqlite_url

OWNER_PASSWORD = "cli-owner-pass"
NAMES = ("欧阳娜娜", "司马相如", "诸葛明月")


def run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def dump(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


@pytest.fixture
def shop(capsys, monkeypatch, db_path: Path) -> Path:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.StringIO(OWNER_PASSWORD + "\n"))
    code, _, err = run(capsys, "--db", str(db_path), "init", "--owner", "王店长", "--password-stdin")
    assert code == 0, err
    code, _, err = run(capsys, "--db", str(db_path), "member", "add", "--name", "张三", "--phone", "13812345678")
    assert code == 0, err
    return db_path


def no_traceback(err: str) -> None:
    assert "Traceback" not in err and 'File "' not in err and "sqlalchemy" not in err.lower(), err


def members_csv(folder: Path, count: int = 3) -> Path:
    path = folder / "members.csv"
    rows = ["姓名,手机"] + [f"{NAMES[i % 3]}{i},139{i:08d}" for i in range(count)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def with_connection_setup(monkeypatch, *statements: str) -> None:  # type: ignore[no-untyped-def]
    """Every database the command line opens runs these statements on each new connection."""
    real = cli.database_for

    def database_for(args):  # type: ignore[no-untyped-def]
        database = real(args)
        database.engine.dispose()

        @sa.event.listens_for(database.engine, "connect")
        def _setup(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            for statement in statements:
                dbapi_connection.execute(statement)

        return database

    monkeypatch.setattr(cli, "database_for", database_for)


def test_a_busy_database_says_so_and_the_purchase_is_not_half_written(capsys, monkeypatch, shop: Path) -> None:
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 200)
    with_connection_setup(monkeypatch, "PRAGMA busy_timeout = 200")
    before = dump(shop)
    other_till = sqlite3.connect(shop, isolation_level=None)
    other_till.execute("BEGIN IMMEDIATE")  # another till mid-way through a long import
    try:
        code, _, err = run(capsys, "--db", str(shop), "purchase", "add", "--member", "13812345678", "--amount", "12.50")
    finally:
        other_till.execute("ROLLBACK")
        other_till.close()
    assert code == 8
    assert "The database is busy" in err and "try again" in err
    no_traceback(err)
    assert dump(shop) == before


def test_a_full_database_during_an_import_names_no_member_and_imports_nothing(
    capsys, monkeypatch, shop: Path, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    pages = sqlite3.connect(shop).execute("PRAGMA page_count").fetchone()[0]
    with_connection_setup(monkeypatch, f"PRAGMA max_page_count = {pages + 2}")  # room for almost nothing
    before = dump(shop)
    code, _, err = run(capsys, "--db", str(shop), "import", "members", str(members_csv(tmp_path, 400)))
    assert code == 8
    assert "The disk is full" in err and "Nothing was saved" in err
    no_traceback(err)
    assert not any(name in err for name in NAMES) and "139" not in err
    assert dump(shop) == before


def test_a_read_only_database_says_so(capsys, monkeypatch, shop: Path) -> None:
    with_connection_setup(monkeypatch, "PRAGMA query_only = 1")
    before = dump(shop)
    code, _, err = run(capsys, "--db", str(shop), "purchase", "add", "--member", "13812345678", "--amount", "3.00")
    assert code == 8 and "read-only" in err
    no_traceback(err)
    assert dump(shop) == before


@pytest.mark.parametrize("error", [PermissionError(errno.EACCES, "Permission denied"), OSError(errno.EROFS, "Read-only file system"),
                                   OSError(errno.ENOSPC, "No space left on device")])
def test_an_unwritable_output_folder_says_what_to_do(capsys, monkeypatch, shop: Path, tmp_path: Path, error: OSError) -> None:
    import tempfile

    target = tmp_path / "out"
    target.mkdir()

    def refuse(*_args, dir=None, **_kwargs):  # type: ignore[no-untyped-def]
        raise type(error)(error.errno, error.strerror, str(dir))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    for argv in (("export", "members", "--out", str(target / "members.csv")),
                 ("report", "members", "--out", str(target / "members.pdf"))):
        code, _, err = run(capsys, "--db", str(shop), *argv)
        assert code == 8, err
        no_traceback(err)
        assert str(target) in err
        assert ("read-only" in err) if error.errno != errno.ENOSPC else ("The disk is full" in err)
    assert list(target.iterdir()) == []


def test_an_unexpected_failure_is_logged_privately_and_named_only_by_kind(
    capsys, monkeypatch, shop: Path, isolated_data_dir: Path  # type: ignore[no-untyped-def]
) -> None:
    def broken(_args):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("张三 13812345678")

    monkeypatch.setattr(cli, "database_for", broken)
    code, _, err = run(capsys, "--db", str(shop), "member", "show", "13812345678")
    assert code == 8
    assert "ZeroDivisionError" in err and "张三" not in err and "138" not in err
    no_traceback(err)
    log = isolated_data_dir / "errors.log"
    assert "张三" in log.read_text(encoding="utf-8")  # the details are kept, for whoever looks after the PC
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_the_database_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    fresh = tmp_path / "new.sqlite"
    open_database(sqlite_url(fresh)).dispose()
    for path in (fresh, Path(f"{fresh}-wal"), Path(f"{fresh}-shm")):
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    loose = tmp_path / "loose.sqlite"
    open_database(sqlite_url(loose)).dispose()
    loose.chmod(0o644)
    open_database(sqlite_url(loose)).dispose()  # an older file is tightened when opened
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600
