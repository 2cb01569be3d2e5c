"""What a person is told when something outside crmdesk's rules fails: the disk, the database, the OS.

The command line and the app both pass every exception through ``explain``: crmdesk's own errors
come back as they are; a busy or full database, a full disk, a read-only file or folder, a damaged
database file or an unreachable server become a typed error that says what happened and what to
do, with no personal data (the engine hides SQL parameters, and no message quotes the failing
statement). Anything else is logged to a private file in the data folder and named only by its
kind, so no Python traceback ever reaches a person.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import traceback
from datetime import UTC, datetime
from pathlib import Path

from crmdesk.errors import CrmdeskError
from crmdesk.texts import QT_TRANSLATE_NOOP

LOG_FILENAME = "errors.log"


class SystemFailure(CrmdeskError):
    """The computer, its disk or the database server failed; nothing crmdesk did was wrong."""

    exit_code = 8


MSG_BUSY = QT_TRANSLATE_NOOP(
    "errors",
    "The database is busy: another till or a long import is writing to it. Nothing was changed; try again in a moment.",
)
MSG_DISK_FULL = QT_TRANSLATE_NOOP(
    "errors",
    "The disk is full{where}. Nothing was saved; free some space (old files, the recycle bin) and try again.",
)
MSG_READ_ONLY = QT_TRANSLATE_NOOP(
    "errors",
    "Cannot write{where}: it is read-only or belongs to another account. Nothing was changed; "
    "choose another place, or ask whoever looks after this computer.",
)
MSG_DAMAGED = QT_TRANSLATE_NOOP(
    "errors",
    "The database file is damaged. Stop using it and restore the latest backup "
    "(Settings → Backup and restore, or 'crmdesk restore').",
)
MSG_DISK_ERROR = QT_TRANSLATE_NOOP(
    "errors",
    "The disk could not be read or written{where}. Nothing was changed; check the disk or USB stick and try again.",
)
MSG_SERVER = QT_TRANSLATE_NOOP(
    "errors",
    "The database server cannot be reached, or the connection to it broke. Check the network and that the server "
    "is running, then try again: a sale or a money operation that reached the server before the break is "
    "recognised, not done twice.",
)
MSG_UNEXPECTED = QT_TRANSLATE_NOOP(
    "errors",
    "Something failed that crmdesk did not expect ({kind}). The details are in {log}; "
    "send that file to whoever looks after this computer.",
)


def explain(exc: BaseException) -> CrmdeskError:
    """The error to show a person for ``exc`` (crmdesk's own errors unchanged)."""
    if isinstance(exc, CrmdeskError):
        return exc
    known = _explain_database(exc) or _explain_os(exc)
    if known is not None:
        return known
    return SystemFailure(MSG_UNEXPECTED, kind=type(exc).__name__, log=str(log_unexpected(exc)))


def _explain_database(exc: BaseException) -> CrmdeskError | None:
    import sqlalchemy as sa

    original = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    if not isinstance(exc, sa.exc.DBAPIError | sqlite3.Error):
        return None
    text = str(original).lower()
    if "locked" in text or "busy" in text:
        return SystemFailure(MSG_BUSY)
    if "disk is full" in text or "no space" in text:
        return SystemFailure(MSG_DISK_FULL, where="")
    if "readonly" in text or "read-only" in text or "read only" in text:
        return SystemFailure(MSG_READ_ONLY, where="")
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return SystemFailure(MSG_DAMAGED)
    if "disk i/o" in text:
        return SystemFailure(MSG_DISK_ERROR, where="")
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) and not isinstance(original, sqlite3.Error):
        return SystemFailure(MSG_SERVER)  # a server's connection failed or dropped
    return None


def _explain_os(exc: BaseException) -> CrmdeskError | None:
    if not isinstance(exc, OSError):
        return None
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return SystemFailure(MSG_DISK_FULL, where=where)
    if isinstance(exc, PermissionError) or exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return SystemFailure(MSG_READ_ONLY, where=f" {exc.filename}" if exc.filename else "")
    if exc.errno == errno.EIO:
        return SystemFailure(MSG_DISK_ERROR, where=where)
    return None


def log_unexpected(exc: BaseException) -> Path:
    """Append the full traceback to the private error log (owner-only); where it went."""
    from crmdesk.paths import data_dir

    path = data_dir() / LOG_FILENAME
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(f"--- {datetime.now(UTC).isoformat(timespec='seconds')}\n{text}\n")
    except OSError:
        pass  # the log is a courtesy; failing to write it must not hide the message itself
    return path
