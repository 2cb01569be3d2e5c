"""Backups of the shop's database: taken online, verified, compressed, rotated, copied to a second place.

A backup of an SQLite database is made with SQLite's online backup API (tills keep working while it
runs), checked (``integrity_check`` on the copy, its members counted, its schema read), compressed
with gzip and described by a small JSON file beside it holding its SHA-256, so a copy can be checked
again before it is trusted. Copies live in a folder beside the database (``<name>-backups``) and,
when the owner names one, in a second place (a USB stick, a network drive).

Rotation keeps every copy from today and yesterday, then the newest copy of each of the last
``keep_daily`` days, ``keep_weekly`` weeks and ``keep_monthly`` months, and never deletes the newest
good copy. A restore checks the file, backs up the current database, then copies the backup into
the live database with the same backup API, in one transaction: other tills' connections stay
valid and see the restored data; they are told to reopen by the restore's audit entry.

On PostgreSQL, ``pg_dump`` makes the backup when it is installed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from crmdesk import shop_time
from crmdesk.db import SQLITE_HEADER, Database, head_revision, make_private
from crmdesk.errors import DatabaseTooNew, DatabaseUnavailable, InvalidInput, NotACrmdeskDatabase
from crmdesk.failures import SystemFailure
from crmdesk.services import audit, safety_settings
from crmdesk.services.auth import Permission, require
from crmdesk.services.safety_settings import SafetyRules
from crmdesk.services.uow import Actor, read_session, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP

SUFFIX = ".sqlite.gz"
PG_SUFFIX = ".pgdump"
META_SUFFIX = ".json"
STATE_FILE = "second-place.json"
STALE_AFTER = timedelta(days=3)  # no good backup for this long: the status bar turns red
DAILY_AFTER = timedelta(days=1)  # start-up takes a backup when the newest is older than this
PERIOD = timedelta(minutes=30)  # during use, a backup this often when something changed

# Why a copy was taken (kept in its description; the screens translate them).
REASONS = {
    "daily": QT_TRANSLATE_NOOP("terms", "daily"),
    "periodic": QT_TRANSLATE_NOOP("terms", "during use"),
    "close": QT_TRANSLATE_NOOP("terms", "at close"),
    "manual": QT_TRANSLATE_NOOP("terms", "by hand"),
    "before-restore": QT_TRANSLATE_NOOP("terms", "before a restore"),
    "before-import": QT_TRANSLATE_NOOP("terms", "before an import"),
    "before-repair": QT_TRANSLATE_NOOP("terms", "before a repair"),
    "before-retention": QT_TRANSLATE_NOOP("terms", "before anonymising"),
    "damaged": QT_TRANSLATE_NOOP("terms", "damaged database kept"),
}


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    created_at: datetime  # UTC
    reason: str
    size: int  # bytes on disk (compressed)
    sha256: str
    members: int | None
    revision: str | None
    verified: bool  # the copy passed integrity_check when it was written

    def to_json(self) -> dict[str, object]:
        document = asdict(self)
        document["path"] = str(self.path)
        document["created_at"] = self.created_at.isoformat()
        return document


@dataclass(frozen=True)
class SecondPlace:
    folder: str
    last_ok_at: datetime | None
    missing_since: datetime | None  # first failed copy since the last good one
    problem: str  # what went wrong last time, for a person ("" when the last copy went there)


@dataclass(frozen=True)
class BackupStatus:
    last_good: BackupInfo | None
    second_place: SecondPlace | None
    stale: bool  # no good backup for STALE_AFTER
    second_place_missing: bool  # named, and the last copy could not go there

    @property
    def warning(self) -> bool:
        return self.stale or self.second_place_missing


def backup_folder(db: Database) -> Path:
    """Where this database's copies are kept: beside an SQLite file, in the data folder for a server."""
    path = db.sqlite_path
    if path is not None:
        return path.with_name(f"{path.stem}-backups")
    from crmdesk.paths import data_dir

    return data_dir() / "server-backups"


# --- taking a backup -------------------------------------------------------------------------------


def take_backup(db: Database, reason: str, *, to: Path | None = None, actor: Actor | None = None,
                now: datetime | None = None) -> BackupInfo:
    """Back the database up now into ``to`` (default: its backup folder), verified; then copy and rotate."""
    now = now or shop_time.now()
    folder = to or backup_folder(db)
    _ensure_folder(folder)
    remove_leftovers(folder, now)
    if not db.is_sqlite:
        info = _pg_dump(db, folder, reason, now)
    else:
        assert db.sqlite_path is not None
        info = _sqlite_backup(db.sqlite_path, folder, reason, now)
    with read_session(db) as session:
        rules = safety_settings.get(session)
    if to is None:
        if rules.second_place:
            copy_to_second_place(folder, info, Path(rules.second_place), rules, now=now)
        rotate(folder, rules, today=shop_time.to_shop(now).date())
    if actor is not None:
        with unit_of_work(db) as session:
            audit.record(session, actor, "backup.create", "backup", None, file=info.path.name, reason=reason)
    return info


def _ensure_folder(folder: Path) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{path} is a file, not a folder for backups."), path=str(folder)) from None


def _name(stem: str, reason: str, now: datetime, suffix: str, folder: Path) -> Path:
    stamp = shop_time.to_shop(now).strftime("%Y%m%d-%H%M%S")
    target = folder / f"{stem}-{stamp}-{reason}{suffix}"
    counter = 1
    while target.exists():
        counter += 1
        target = folder / f"{stem}-{stamp}-{counter}-{reason}{suffix}"
    return target


def _sqlite_backup(source: Path, folder: Path, reason: str, now: datetime) -> BackupInfo:
    target = _name(source.stem, reason, now, SUFFIX, folder)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".partial-") as scratch:
        copy = Path(scratch) / "copy.sqlite"
        make_private(copy)
        _online_copy(source, copy)
        members, revision = inspect_copy(copy)
        partial = Path(scratch) / target.name
        _compress(copy, partial)
        digest = _sha256(partial)
        os.replace(partial, target)  # the copy appears whole or not at all
    info = BackupInfo(target, now, reason, target.stat().st_size, digest, members, revision, True)
    _write_meta(info)
    return info


def _online_copy(source: Path, target: Path) -> None:
    """A consistent copy while tills keep writing (the backup API reads one snapshot in WAL mode)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dest = sqlite3.connect(target)
        try:
            src.backup(dest)
            dest.execute("PRAGMA journal_mode = DELETE")  # a copy is one self-contained file
        finally:
            dest.close()
    finally:
        src.close()


def inspect_copy(path: Path) -> tuple[int, str | None]:
    """(members, schema revision) of a database copy that passes SQLite's integrity check; refused otherwise."""
    with open(path, "rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise NotACrmdeskDatabase(QT_TRANSLATE_NOOP("errors", "{path} is not a crmdesk database or backup."), path=path.name)
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        try:
            verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError:
            verdict, tables = "unreadable", set()
        if verdict != "ok":
            raise SystemFailure(QT_TRANSLATE_NOOP("errors", "{path} is damaged: SQLite's integrity check fails on it."), path=path.name)
        if not {"alembic_version", "member"} <= tables:
            raise NotACrmdeskDatabase(QT_TRANSLATE_NOOP("errors", "{path} is not a crmdesk database or backup."), path=path.name)
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        members = connection.execute("SELECT count(*) FROM member").fetchone()[0]
    finally:
        connection.close()
    return members, revision[0] if revision else None


def _compress(source: Path, target: Path) -> None:
    # Level 1: about a third of level 6's time for a file some 15% larger; a backup at close is waited for.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as packed, \
            open(source, "rb") as plain:
        shutil.copyfileobj(plain, packed, 1 << 20)
    with open(target, "rb+") as handle:
        os.fsync(handle.fileno())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + META_SUFFIX)


def _write_meta(info: BackupInfo) -> None:
    meta = _meta_path(info.path)
    partial = meta.with_name("." + meta.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({key: value for key, value in info.to_json().items() if key != "path"}, handle, ensure_ascii=False, indent=1)
    os.replace(partial, meta)


def _pg_dump(db: Database, folder: Path, reason: str, now: datetime) -> BackupInfo:
    program = shutil.which("pg_dump")
    if program is None:
        raise DatabaseUnavailable(QT_TRANSLATE_NOOP(
            "errors",
            "Backing up a PostgreSQL database needs pg_dump, which is not installed here. Install the PostgreSQL client "
            "tools (Debian/Ubuntu: apt install postgresql-client; Windows: the PostgreSQL installer's command line tools), "
            "or back up on the server with pg_dump.",
        ))
    url = db.url
    target = _name(url.database or "crmdesk", reason, now, PG_SUFFIX, folder)
    environment = dict(os.environ, PGPASSWORD=url.password or "") if url.password else dict(os.environ)
    command = [program, "--format=custom", "--no-owner", f"--file={target}", f"--dbname={url.database}"]
    if url.host:
        command.append(f"--host={url.host}")
    if url.port:
        command.append(f"--port={url.port}")
    if url.username:
        command.append(f"--username={url.username}")
    result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=3600)
    if result.returncode != 0:
        target.unlink(missing_ok=True)
        raise SystemFailure(QT_TRANSLATE_NOOP("errors", "pg_dump could not back up the database: {detail}"),
                            detail=result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode)
    target.chmod(0o600)
    with read_session(db) as session:
        members = session.scalar(sa.text("SELECT count(*) FROM member"))
    info = BackupInfo(target, now, reason, target.stat().st_size, _sha256(target), members, head_revision(), True)
    _write_meta(info)
    return info


LARGE_IMPORT_BYTES = 64 * 1024  # about a thousand rows: a file this size is backed up for before it is imported


def before_import(db: Database, path: Path) -> BackupInfo | None:
    """A backup before a large import (the one copy that undoes it); nothing for a small file or a server."""
    try:
        large = path.stat().st_size >= LARGE_IMPORT_BYTES
    except OSError:
        return None  # the import itself says the file is missing
    return take_backup(db, "before-import") if large and db.is_sqlite else None


# --- listing and checking copies -------------------------------------------------------------------


def list_backups(folder: Path) -> list[BackupInfo]:
    """Every described copy in the folder, newest first."""
    found: list[BackupInfo] = []
    if not folder.is_dir():
        return found
    for meta in folder.glob("*" + META_SUFFIX):
        if meta.name == STATE_FILE:
            continue
        copy = meta.with_name(meta.name[: -len(META_SUFFIX)])
        if not copy.exists():
            continue
        try:
            raw = json.loads(meta.read_text(encoding="utf-8"))
            found.append(BackupInfo(copy, datetime.fromisoformat(raw["created_at"]), raw["reason"], copy.stat().st_size,
                                    raw["sha256"], raw.get("members"), raw.get("revision"), bool(raw.get("verified"))))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a description that cannot be read: the copy is not offered, never deleted by rotation
    found.sort(key=lambda info: info.created_at, reverse=True)
    return found


def describe_backup(path: Path) -> BackupInfo | None:
    meta = _meta_path(path)
    for info in list_backups(path.parent) if meta.exists() else []:
        if info.path == path:
            return info
    return None


# --- rotation --------------------------------------------------------------------------------------


def plan_rotation(backups: Sequence[BackupInfo], rules: SafetyRules, today: date) -> set[Path]:
    """The copies to keep: all from today and yesterday, then the newest of each of the last days, weeks and
    months, as many as the rules say; always the newest verified copy."""
    keep: set[Path] = set()
    days: set[date] = set()
    weeks: set[tuple[int, int]] = set()
    months: set[tuple[int, int]] = set()
    kept = {"daily": 0, "weekly": 0, "monthly": 0}
    limits = {"daily": rules.keep_daily, "weekly": rules.keep_weekly, "monthly": rules.keep_monthly}
    for info in sorted(backups, key=lambda b: b.created_at, reverse=True):
        day = shop_time.to_shop(info.created_at).date()
        week = tuple(day.isocalendar()[:2])
        month = (day.year, day.month)
        # A copy fills the first slot it can: a day not yet kept, else a week, else a month.
        if day >= today - timedelta(days=1):
            slot = "recent"
        elif day not in days and kept["daily"] < limits["daily"]:
            slot = "daily"
        elif week not in weeks and kept["weekly"] < limits["weekly"]:
            slot = "weekly"
        elif month not in months and kept["monthly"] < limits["monthly"]:
            slot = "monthly"
        else:
            continue
        if slot != "recent":
            kept[slot] += 1
        keep.add(info.path)
        days.add(day)
        weeks.add(week)  # type: ignore[arg-type]
        months.add(month)
    good = [info for info in backups if info.verified]
    if good:
        keep.add(max(good, key=lambda b: b.created_at).path)
    return keep


def rotate(folder: Path, rules: SafetyRules, *, today: date) -> list[Path]:
    """Delete the copies the rotation does not keep; the deleted paths."""
    backups = list_backups(folder)
    keep = plan_rotation(backups, rules, today)
    removed: list[Path] = []
    for info in backups:
        if info.path not in keep:
            info.path.unlink(missing_ok=True)
            _meta_path(info.path).unlink(missing_ok=True)
            removed.append(info.path)
    return removed


# --- the second place ------------------------------------------------------------------------------


def copy_to_second_place(folder: Path, info: BackupInfo, place: Path, rules: SafetyRules, *, now: datetime) -> bool:
    """Copy one backup (and its description) to the second place and check it arrived whole; the outcome is
    remembered for the status bar. A missing or full place never fails the backup itself."""
    target_folder = place / folder.name
    problem = ""
    try:
        if not place.is_dir():
            problem = "missing"
        else:
            target_folder.mkdir(mode=0o700, exist_ok=True)
            copied = target_folder / info.path.name
            partial = target_folder / ("." + info.path.name + ".partial")
            shutil.copyfile(info.path, partial)
            if _sha256(partial) != info.sha256:
                partial.unlink(missing_ok=True)
                problem = "corrupt"
            else:
                os.replace(partial, copied)
                shutil.copyfile(_meta_path(info.path), _meta_path(copied))
                for path in (copied, _meta_path(copied)):
                    try:
                        path.chmod(0o600)
                    except OSError:
                        pass  # some USB file systems keep no permissions
                rotate(target_folder, rules, today=shop_time.to_shop(now).date())
    except OSError as exc:
        problem = f"error: {exc.strerror or type(exc).__name__}"
    state = _read_state(folder)
    if problem:
        state.update(problem=problem, missing_since=state.get("missing_since") or now.isoformat(), folder=str(place))
    else:
        state.update(problem="", missing_since=None, last_ok_at=now.isoformat(), folder=str(place))
    _write_state(folder, state)
    return not problem


def _read_state(folder: Path) -> dict[str, object]:
    try:
        raw = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        return raw if isinstance(raw, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_state(folder: Path, state: dict[str, object]) -> None:
    path = folder / STATE_FILE
    partial = folder / ("." + STATE_FILE + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state, handle, ensure_ascii=False, indent=1)
    os.replace(partial, path)


def _parse_time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


# --- status ----------------------------------------------------------------------------------------


def status(db: Database, *, now: datetime | None = None) -> BackupStatus:
    now = now or shop_time.now()
    folder = backup_folder(db)
    good = [info for info in list_backups(folder) if info.verified]
    last_good = good[0] if good else None
    with read_session(db) as session:
        rules = safety_settings.get(session)
    second: SecondPlace | None = None
    missing = False
    if rules.second_place:
        state = _read_state(folder)
        same_place = state.get("folder") == rules.second_place
        second = SecondPlace(rules.second_place, _parse_time(state.get("last_ok_at")) if same_place else None,
                             _parse_time(state.get("missing_since")) if same_place else None,
                             str(state.get("problem") or "") if same_place else "")
        missing = bool(second.problem) or not Path(rules.second_place).is_dir()
    stale = last_good is None or now - last_good.created_at > STALE_AFTER
    return BackupStatus(last_good, second, stale, missing)


def due(db: Database, *, now: datetime | None = None) -> str | None:
    """Why an automatic backup is due now ("daily", "periodic"), or None: the newest copy is older than a day,
    or older than the period and the database changed since."""
    now = now or shop_time.now()
    newest = next(iter(list_backups(backup_folder(db))), None)
    if newest is None or now - newest.created_at >= DAILY_AFTER:
        return "daily"
    if now - newest.created_at >= PERIOD and changed_since(db, newest.created_at):
        return "periodic"
    return None


def changed_since(db: Database, moment: datetime) -> bool:
    """Whether the database was written after ``moment`` (its file or its write-ahead log is newer)."""
    path = db.sqlite_path
    if path is None:
        return True
    latest = max((Path(str(path) + suffix).stat().st_mtime for suffix in ("", "-wal") if Path(str(path) + suffix).exists()),
                 default=0.0)
    return latest > moment.timestamp()


# --- restore ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreResult:
    restored_from: Path
    safety_copy: Path  # the database as it was just before the restore
    members: int
    revision: str | None


def check_backup_file(path: Path, scratch: Path) -> tuple[Path, int, str | None]:
    """The backup unpacked into ``scratch`` and checked: (plain copy, members, revision). Refuses a file that
    is not a crmdesk database, fails its checksum or integrity check, or comes from a newer crmdesk."""
    if not path.is_file():
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "There is no backup file {path}."), path=str(path))
    info = describe_backup(path)
    if info is not None and _sha256(path) != info.sha256:
        raise SystemFailure(QT_TRANSLATE_NOOP(
            "errors", "{path} has changed since it was written (its checksum differs): it is damaged; choose another copy."),
            path=path.name)
    plain = scratch / "restore.sqlite"
    make_private(plain)
    with open(path, "rb") as handle:
        packed = handle.read(2) == b"\x1f\x8b"
    try:
        if packed:
            with gzip.open(path, "rb") as source, open(plain, "wb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
        else:
            shutil.copyfile(path, plain)
    except (OSError, EOFError, gzip.BadGzipFile):
        raise SystemFailure(QT_TRANSLATE_NOOP("errors", "{path} is damaged: it cannot be unpacked; choose another copy."),
                            path=path.name) from None
    members, revision = inspect_copy(plain)
    from crmdesk.db import alembic_config
    from alembic.script import ScriptDirectory

    if revision is not None:
        try:
            ScriptDirectory.from_config(alembic_config()).get_revision(revision)
        except Exception:
            raise DatabaseTooNew(QT_TRANSLATE_NOOP(
                "errors", "{path} was written by a newer version of crmdesk (schema {revision}). Install the newer crmdesk to restore it."),
                path=path.name, revision=revision) from None
    return plain, members, revision


def restore(db: Database, path: Path, actor: Actor, *, now: datetime | None = None) -> RestoreResult:
    """Replace the database's contents with a backup's, after checking it and backing up what is there now.

    The current database is copied first (a damaged one is kept as it is); then the backup is written into the
    live file in one transaction; then the restore is recorded in the audit log of the restored database."""
    require(actor, Permission.MANAGE_BACKUPS)
    now = now or shop_time.now()
    target = db.sqlite_path
    if target is None:
        raise InvalidInput(QT_TRANSLATE_NOOP(
            "errors",
            "A PostgreSQL database is restored on the server with pg_restore (pg_restore --clean --dbname=NAME FILE), "
            "with every till closed.",
        ))
    folder = backup_folder(db)
    _ensure_folder(folder)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".restore-") as scratch:
        plain, members, revision = check_backup_file(path, Path(scratch))
        safety = _keep_current(target, folder, now)
        db.engine.dispose()  # this process's pooled connections hold no transaction during the copy
        source = sqlite3.connect(f"file:{plain}?mode=ro", uri=True)
        try:
            live = sqlite3.connect(target, timeout=30)
            try:
                source.backup(live)
            finally:
                live.close()
        finally:
            source.close()
    db.engine.dispose()
    if revision != head_revision():  # a copy from an older crmdesk: brought up to date as opening it would
        from crmdesk.db import open_database

        open_database(db.url).dispose()
    with unit_of_work(db) as session:
        audit.record(session, actor, "database.restore", "database", None, file=path.name, safety_copy=safety.name,
                     members=members)
    return RestoreResult(path, safety, members, revision)


def _keep_current(target: Path, folder: Path, now: datetime) -> Path:
    """The database as it is now, as a backup; a damaged one is copied byte for byte instead."""
    try:
        return _sqlite_backup(target, folder, "before-restore", now).path
    except (SystemFailure, NotACrmdeskDatabase, sqlite3.DatabaseError):
        copy = _name(target.stem, "damaged", now, ".sqlite", folder)
        make_private(copy)
        shutil.copyfile(target, copy)
        return copy


def last_restore_at(db: Database) -> datetime | None:
    """When the database was last restored (the tills compare it with when they opened it)."""
    from crmdesk.models import AuditEvent

    with read_session(db) as session:
        return session.scalar(sa.select(sa.func.max(AuditEvent.at)).where(AuditEvent.action == "database.restore"))


def remove_leftovers(folder: Path, now: datetime) -> None:
    """Remove the scratch folders of backups and restores a crash interrupted (none is ever a finished copy);
    recent ones may belong to a backup running in another window."""
    for path in [*folder.glob(".partial-*"), *folder.glob(".restore-*")]:
        try:
            if path.is_dir() and now.timestamp() - path.stat().st_mtime > 3600:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue
