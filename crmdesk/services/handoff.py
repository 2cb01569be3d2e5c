"""The POS hand-off folder: the till program drops its receipt exports there, crmdesk imports each one.

Most shops already run a till program; crmdesk sits beside it. The owner or a supervisor names
a folder where the till saves its receipt exports as CSV or XLSX, and every new file there is
imported with the purchase import (services.purchase_imports: plan, apply with ``skip_invalid``,
rejects file) -- the same columns, checks and idempotence as ``crmdesk import purchases``. The
app watches this computer's folder (Settings → This computer) while it is open;
``crmdesk watch DIR`` does the same without it, e.g. as a service on the shop's server.

Noticing files
--------------
``watchdog`` reports changes in the folder as they happen; a re-scan every RESCAN_SECONDS
(30 s) catches what it misses -- network folders, where changes made by another computer
raise no event, and a watch lost when the folder went away. Events only wake the watcher:
what it does is decided by listing the folder, so an event that never comes costs at most
one re-scan's delay.

Which files, and when
---------------------
* Only names ending in .csv, .xlsx, .xlsm or .xls are hand-offs (an .xls is refused with
  a reason: the import asks for .xlsx or CSV). Hidden and temporary names are never taken:
  dot-files (``.~lock…`` included), Excel's ``~$…`` owner files and names ending in
  .part, .partial, .tmp, .crdownload or ``~``: a program still writing uses such names.
  Sub-folders are never looked into.
* A file is taken only when complete: its size and modification time have stayed the same
  over the quiet period (QUIET_SECONDS, 5 s; a parameter), counted from when this watcher
  saw them last change -- not from the file's own time, which a network drive may keep on
  another clock -- and it can be opened for reading. A file written slowly keeps changing
  and so keeps waiting. An empty file is never taken (a till may create its file before it
  has anything to write). The quiet period must be longer than the till's longest pause
  while writing one file. Files are taken oldest first, so a refund's sale comes before it.
* Claiming: the file is renamed into a claim folder of its own, ``.working/<time>-<random>/``
  in the hand-off folder. A rename is atomic, so when two crmdesk processes (two tills, the
  app and ``crmdesk watch``) watch one folder exactly one of them gets each file; the other
  finds it gone and skips it. A file whose size or time changes after it was claimed (its
  writer had only paused) is not imported: the import is rolled back and the file goes back
  to wait again. (On Windows a file its writer still holds open cannot be renamed at all.)

Importing and where the file goes
---------------------------------
* Imported with ``skip_invalid``: one bad receipt never holds back the rest. Receipt
  numbers are unique per till, so receipts already in crmdesk are ``unchanged``: the same
  receipts dropped twice are still one purchase each.
* No invalid receipt: the file moves to ``done/``. Some invalid receipts: the valid ones are
  imported and the file moves to ``rejected/`` with its rejects file beside it
  (``NAME.rejected.csv``: the bad rows with their reasons; correct it and drop it into the
  folder again). A file that cannot be read at all (the import refuses it as a whole:
  damaged, wrong columns, not a table) moves to ``rejected/`` with ``NAME.rejected.txt``
  saying why. Nothing in done/ or rejected/ is ever replaced: a name already there becomes
  NAME-2, NAME-3, ... The rejects file is written inside the import's transaction, as by
  ``crmdesk import purchases``: when it cannot be written, nothing is imported.
* When the import cannot run now (the database is busy or unreachable, a disk is full) the
  file goes back into the folder under its own name and is tried again later: after a
  re-scan, then after twice as long each time, up to RETRY_MAX_SECONDS.
* A file left in ``.working/`` by a crmdesk that stopped mid-import (a crash, power loss) is
  put back into the folder after STALE_CLAIM (10 minutes) by whichever watcher sees it, and
  imported again; receipts already in are ``unchanged``.
* A large file is backed up for first, like any import (backups.before_import).

Problems
--------
A folder that cannot be reached (a network drive gone, the folder deleted or renamed, no
right to write in it) is a problem, never a crash: it is logged once, and watching resumes
by itself when the folder is back (logged as well; while it is gone the watcher looks for it
every MISSING_RESCAN_SECONDS, 5 s). Any problem is logged once, not at every look, and stands
(the status bar shows it in red) until the next file is handed off or the folder is back.

Who the import acts as
----------------------
A hand-off acts as a staff member with Permission.IMPORT_PURCHASES (supervisors and the
owner), whom the audit log names for each file that brought receipts in: on the command line ``--as NAME``,
else the owner, as every command; in the app the supervisor or owner who chose the folder
on this computer (``Preferences.handoff_staff``; staff without the permission cannot choose
it). The name is checked before each batch of files: a person disabled or moved to a role
without the permission stops the hand-off with a problem, and the files wait.

The log
-------
Each hand-off (time, folder, file, receipts imported, unchanged and rejected, where the file
went and its rejects or reason file) and each problem is one JSON line in ``handoff-log.jsonl``
in the data directory (paths.data_dir()); the newest LOG_KEEP are kept. The app's status bar
and hand-off log and ``crmdesk watch`` read and write it.
"""

from __future__ import annotations

import enum
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import EVENT_TYPE_CLOSED_NO_WRITE, EVENT_TYPE_OPENED, FileSystemEvent, FileSystemEventHandler

from crmdesk import preferences
from crmdesk.db import Database
from crmdesk.errors import CrmdeskError, InvalidInput, NotFound
from crmdesk.failures import explain
from crmdesk.paths import data_dir
from crmdesk.services import backups
from crmdesk.services import staff as staff_service
from crmdesk.services.auth import Permission, require
from crmdesk.services.uow import Actor, read_session, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver

# The import and the file events are loaded when a folder is first watched, not when the app starts
# (the status bar reads only the log): see HandoffWatcher._import and _keep_observer.

QUIET_SECONDS = 5.0  # a file's size and time unchanged this long: its writer is done
RESCAN_SECONDS = 30.0  # the folder is listed again at least this often, events or not
MISSING_RESCAN_SECONDS = 5.0  # ... and this often while it cannot be reached (no events come from a folder that is gone)
OBSERVER_STOP_S = 5.0  # the longest a stopping watch is waited for
RETRY_MAX_SECONDS = 600.0  # a file whose import failed is tried again at most this far apart
STALE_CLAIM = timedelta(minutes=10)  # a claim this old belongs to a crmdesk that stopped mid-import
LOG_FILENAME = "handoff-log.jsonl"
LOG_KEEP = 500  # hand-offs kept in the log
LOG_SLACK = 100  # lines the log may grow past LOG_KEEP before it is cut back (rarely rewritten)

WORKING_DIR = ".working"
DONE_DIR = "done"
REJECTED_DIR = "rejected"
HANDOFF_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls")
HIDDEN_PREFIXES = (".", "~$")  # dot-files (.~lock.x.csv# too), Excel's owner files
TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", "~")  # still being written or downloaded
REJECTS_SUFFIX = ".rejected.csv"  # as services.imports.rejects_path names it
REASON_SUFFIX = ".rejected.txt"
_CLAIM_TIME = "%Y%m%dT%H%M%SZ"  # claim folders start with the time of the claim, to tell a stale one

Translate = Callable[[str], str]  # an English template of the "errors" context -> the same in the user's language

MSG_NO_FOLDER = QT_TRANSLATE_NOOP("errors", "There is no folder {folder}.")
MSG_FOLDER_UNREACHABLE = QT_TRANSLATE_NOOP(
    "errors", "The hand-off folder {folder} cannot be reached ({detail}). Watching goes on; the receipts are imported "
              "when it is back."
)
MSG_FOLDER_NOT_WRITABLE = QT_TRANSLATE_NOOP(
    "errors", "Cannot move files in the hand-off folder {folder} ({detail}); the receipts wait there. Check that this "
              "computer may write in it."
)
MSG_NOT_MOVED = QT_TRANSLATE_NOOP(
    "errors", "{file} was imported but cannot be moved to {target} ({detail}); it is checked again later."
)
MSG_TRIED_AGAIN = QT_TRANSLATE_NOOP("errors", "{file} could not be imported now and is tried again later: {reason}")
MSG_REASON_NOTE = QT_TRANSLATE_NOOP(
    "errors", "{file} was not imported: {reason}\n\nCorrect the file and put it into the hand-off folder again."
)


class Outcome(enum.StrEnum):
    DONE = "done"  # imported; the file is in done/
    REJECTED = "rejected"  # the valid receipts imported; the file and its rejects file are in rejected/
    UNREADABLE = "unreadable"  # nothing imported: the file and a reason file are in rejected/
    PROBLEM = "problem"  # the folder or the database could not be used; the file (if any) waits
    RESUMED = "resumed"  # the folder can be reached again


@dataclass(frozen=True)
class Handoff:
    """One line of the hand-off log: a file handed off, or a problem."""

    at: datetime  # aware, UTC
    folder: str
    outcome: Outcome
    file: str = ""  # the name the till gave the file ("" for a problem of the whole folder)
    imported: int = 0  # receipts written (sales and refunds)
    unchanged: int = 0  # receipts already in crmdesk
    rejected: int = 0  # invalid receipts left out
    moved_to: str = ""  # where the file is now
    companion: str = ""  # its rejects file (REJECTED) or reason file (UNREADABLE)
    template: str = ""  # the reason or problem: an English template of the "errors" context ...
    params: Mapping[str, object] = field(default_factory=dict)  # ... and its values
    acting_as: str = ""

    @property
    def reason(self) -> str:
        """The reason or problem in English (the app translates ``template`` and fills in ``params``)."""
        return self.template.format(**self.params) if self.template else ""

    def to_json(self) -> str:
        document = asdict(self)
        document["at"] = self.at.isoformat()
        document["outcome"] = self.outcome.value
        document["params"] = _plain_params(self.params)
        return json.dumps(document, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Handoff:
        raw = json.loads(line)
        known = {key: raw[key] for key in cls.__dataclass_fields__ if key in raw}
        known["at"] = datetime.fromisoformat(known["at"])
        known["outcome"] = Outcome(known["outcome"])
        return cls(**known)


def shown_path(path: str, folder: str) -> str:
    """A path inside the hand-off folder as seen from it (done/receipts.csv); any other as it is."""
    if not path:
        return ""
    try:
        return Path(path).relative_to(folder).as_posix()
    except ValueError:
        return path


def _plain_params(params: Mapping[str, object]) -> dict[str, object]:
    """Values a JSON line keeps as they are: numbers stay numbers (a template may format them), the rest is text."""
    return {key: value if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
            for key, value in params.items()}


# --------------------------------------------------------------------------- names


def is_handoff_file(name: str) -> bool:
    """Whether a file of this name in the folder is a till's export to take (hidden and temporary names never are)."""
    lower = name.lower()
    if lower.startswith(HIDDEN_PREFIXES) or lower.endswith(TEMP_SUFFIXES):
        return False
    return lower.endswith(HANDOFF_SUFFIXES)


def _numbered(name: str) -> Iterable[str]:
    """receipts.csv, receipts-2.csv, receipts-3.csv, ..."""
    yield name
    path = Path(name)
    number = 2
    while True:
        yield f"{path.stem}-{number}{path.suffix}"
        number += 1


def _companion(name: str, suffix: str) -> str:
    """receipts.xlsx -> receipts.rejected.csv (suffix REJECTS_SUFFIX) or receipts.rejected.txt (REASON_SUFFIX)."""
    return Path(name).stem + suffix


def _rename_new(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``, failing with FileExistsError rather than replacing a file already there.

    os.rename replaces an existing target on POSIX (Windows refuses), and checking first leaves a moment in which
    another watcher could move a file of the same name there; a hard link fails atomically instead."""
    if os.name == "nt":
        os.rename(source, target)
        return
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links (FAT, some network shares): check, then rename
        if os.path.lexists(target):
            raise FileExistsError(target) from None
        os.rename(source, target)
        return
    os.unlink(source)


def _move_unique(source: Path, folder: Path, name: str, *, companion_suffix: str | None = None) -> Path:
    """Move ``source`` into ``folder`` as ``name``, or the first free NAME-2, NAME-3 ...; never over another file.

    With ``companion_suffix`` a name is taken only when its companion (the rejects or reason file that goes
    beside it) is free too."""
    folder.mkdir(exist_ok=True)
    for candidate in _numbered(name):
        if companion_suffix and os.path.lexists(folder / _companion(candidate, companion_suffix)):
            continue
        target = folder / candidate
        try:
            _rename_new(source, target)
        except FileExistsError:
            continue
        return target
    raise AssertionError("unreachable: _numbered never ends")


# --------------------------------------------------------------------------- the log


def log_path() -> Path:
    return data_dir() / LOG_FILENAME


def append_to_log(entry: Handoff, path: Path | None = None) -> None:
    """Add one hand-off to the log (one write in append mode: the app and `crmdesk watch` may both write)."""
    path = path or log_path()
    line = (entry.to_json() + "\n").encode("utf-8")
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)
    _trim_log(path)


def _trim_log(path: Path) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    if len(lines) <= LOG_KEEP + LOG_SLACK:
        return
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(b"".join(lines[-LOG_KEEP:]))
    os.replace(temporary, path)


def recent_handoffs(limit: int = LOG_KEEP, *, folder: str | Path | None = None, path: Path | None = None) -> list[Handoff]:
    """The latest hand-offs, newest first (only those of ``folder`` when given); unreadable lines are left out."""
    path = path or log_path()
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    wanted = str(folder) if folder is not None else None
    found: list[Handoff] = []
    for line in reversed(lines):
        try:
            entry = Handoff.from_json(line)
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a crash, or written by a newer crmdesk
        if wanted is None or entry.folder == wanted:
            found.append(entry)
            if len(found) >= limit:
                break
    return found


# --------------------------------------------------------------------------- this computer's folder


def set_handoff_folder(actor: Actor, folder: str | Path | None) -> preferences.Preferences:
    """Choose (or, with None or "", stop) this computer's hand-off folder; the hand-off then acts as ``actor``,
    who must be allowed to import purchases."""
    require(actor, Permission.IMPORT_PURCHASES)
    prefs = preferences.load()
    if folder is None or not str(folder).strip():
        prefs.handoff_folder = ""
        prefs.handoff_staff = ""
    else:
        path = Path(folder).expanduser().absolute()
        if not path.is_dir():
            raise NotFound(MSG_NO_FOLDER, folder=str(path))
        prefs.handoff_folder = str(path)
        prefs.handoff_staff = actor.name
    preferences.save(prefs)
    return prefs


# --------------------------------------------------------------------------- the watcher


@dataclass
class _Seen:
    """A file as last listed: its size and time, since when they have been so, and when it may be tried again."""

    size: int
    mtime_ns: int
    since: float  # monotonic
    retry_at: float = 0.0
    failures: int = 0


class _Waker(FileSystemEventHandler):
    """Wakes the watcher on any change in the folder; it then lists the folder to see what changed."""

    def __init__(self, wake: threading.Event) -> None:
        super().__init__()
        self._wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in (EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE):  # reading a file changes nothing
            self._wake.set()


class _StillWriting(Exception):
    """The claimed file changed while it was imported: its writer had only paused."""


class HandoffWatcher:
    """Watches one hand-off folder and imports each complete file once (see the module's description).

    ``scan()`` looks once; ``run_once()`` hands off what is there, waiting for files still being written;
    ``run()`` watches until ``stop()`` is called (from any thread). ``on_handoff`` hears of each new log entry,
    from the thread the watcher runs in."""

    def __init__(
        self,
        db: Database,
        folder: str | Path,
        *,
        acting_as: str | None = None,
        quiet_seconds: float = QUIET_SECONDS,
        rescan_seconds: float = RESCAN_SECONDS,
        on_handoff: Callable[[Handoff], None] | None = None,
        translate: Translate | None = None,
        log: Path | None = None,
    ) -> None:
        self.db = db
        self.folder = Path(folder).expanduser().absolute()
        self.acting_as = acting_as or None  # None: the owner
        self.quiet_seconds = quiet_seconds
        self.rescan_seconds = rescan_seconds
        self._on_handoff = on_handoff
        self._translate: Translate = translate or (lambda text: text)
        self._log = log
        self._seen: dict[str, _Seen] = {}
        self._failures: dict[str, int] = {}  # files whose import failed, by name: how many times in a row
        self._unreachable = False  # the folder could not be reached at the last look
        self._last_problem: tuple[str, str, str] | None = None  # (file, template, params): logged once
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._observer: BaseObserver | None = None  # while the folder can be watched
        self.problem: Handoff | None = None  # the problem that stands now, if any

    # -- running

    def run(self) -> None:
        """Watch until stop(): file events wake the watcher at once, and it looks again at least every
        ``rescan_seconds`` and when a file waiting for its quiet period may be complete."""
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    self.scan()
                except Exception as exc:  # noqa: BLE001 - whatever fails, watching goes on and says why
                    error = explain(exc)
                    self._report_once(error.template, **error.params)
                self._keep_observer()
                if self._stop.is_set():
                    break
                self._wake.wait(self._next_look())
        finally:
            self._stop_observer()

    def run_once(self, timeout: float | None = None) -> list[Handoff]:
        """Hand off every complete file the folder holds now, waiting for those still being written -- at most
        ``timeout`` seconds (default: four quiet periods, at least a minute); what is still written then waits."""
        deadline = time.monotonic() + (timeout if timeout is not None else max(60.0, 4 * self.quiet_seconds))
        handed = self.scan()
        while self.pending() and not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._wake.wait(min(self._next_look(), left))
            self._wake.clear()
            handed += self.scan()
        return handed

    def stop(self) -> None:
        """Ask run() or run_once() to end once the file in hand is done (safe from any thread or a signal handler)."""
        self._stop.set()
        self._wake.set()

    def pending(self) -> list[str]:
        """Files seen that may still be being written: they have not yet been quiet long enough, or cannot be
        opened. Empty files and files waiting to be tried again are not counted."""
        return sorted(name for name, seen in self._seen.items() if seen.size > 0 and not seen.failures)

    def _next_look(self) -> float:
        """Seconds until the next look: the rescan, or sooner when a file's quiet period or retry ends."""
        now = time.monotonic()
        wake = now + (min(self.rescan_seconds, MISSING_RESCAN_SECONDS) if self._unreachable else self.rescan_seconds)
        for seen in self._seen.values():
            ready_at = max(seen.since + self.quiet_seconds, seen.retry_at)
            if seen.size > 0 and ready_at > now:
                wake = min(wake, ready_at)
            elif seen.size > 0 and not seen.failures:
                wake = min(wake, now + min(self.quiet_seconds, 1.0))  # quiet, but could not be opened yet
        return max(0.05, wake - now)

    # -- file events (watchdog)

    def _keep_observer(self) -> None:
        """Events from watchdog while the folder can be watched; a watch that died with its folder is made anew."""
        if self._unreachable:
            self._stop_observer()
            return
        if self._observer is not None and all(emitter.is_alive() for emitter in self._observer.emitters):
            return
        self._stop_observer()
        from watchdog.observers import Observer  # the platform's own kind: inotify, FSEvents, ReadDirectoryChangesW

        observer = Observer()
        try:
            observer.schedule(_Waker(self._wake), str(self.folder), recursive=False)
            observer.start()
        except OSError:  # cannot be watched (gone again, or no events here): the re-scans go on alone
            return
        self._observer = observer
        self._wake.set()  # look once more: a file may have come before the watch began

    def _stop_observer(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            # Its threads are daemons: a watch stuck in the kernel (seen once in a loaded test run) must not keep
            # the watcher -- or a service being stopped -- from ending.
            observer.join(OBSERVER_STOP_S)

    # -- one look

    def scan(self) -> list[Handoff]:
        """Look at the folder once: note it gone or back, put stale claims back, import the complete files."""
        handed: list[Handoff] = []
        self._recover_stale_claims()  # first: a file put back is then seen with the others
        try:
            entries = list(os.scandir(self.folder))
        except OSError as exc:
            self._seen.clear()
            self._unreachable = True
            handed += self._report(MSG_FOLDER_UNREACHABLE, folder=str(self.folder), detail=_detail(exc))
            return handed
        if self._unreachable:
            self._unreachable = False
            self._last_problem = None
            self.problem = None
            handed.append(self._record(Handoff(_now(), str(self.folder), Outcome.RESUMED)))
        ready = self._complete_files(entries)
        if not ready:
            return handed
        try:
            actor = self._actor()
        except CrmdeskError as exc:  # the person named cannot import (any more): the files wait
            handed += self._report(exc.template, **exc.params)
            return handed
        except Exception as exc:  # noqa: BLE001 - the database cannot be reached: a problem, never the watcher's end
            error = explain(exc)
            handed += self._report(error.template, **error.params)
            return handed
        for path, seen in ready:
            if self._stop.is_set():
                break
            entry = self._hand_off(path, seen, actor)
            if entry is not None:
                handed.append(entry)
        return handed

    def _complete_files(self, entries: list[os.DirEntry[str]]) -> list[tuple[Path, _Seen]]:
        """The files whose size and time have not changed for the quiet period and that can be opened, oldest first."""
        now = time.monotonic()
        seen_now: dict[str, _Seen] = {}
        ready: list[tuple[int, str, _Seen]] = []
        for entry in entries:
            try:
                if not is_handoff_file(entry.name) or not entry.is_file(follow_symlinks=False):
                    continue
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # gone since it was listed
            before = self._seen.get(entry.name)
            if before is None or (before.size, before.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                seen_now[entry.name] = _Seen(stat.st_size, stat.st_mtime_ns, now)  # new or still changing
                continue
            seen_now[entry.name] = before
            if stat.st_size == 0 or now - before.since < self.quiet_seconds or now < before.retry_at:
                continue
            if _can_read(Path(entry.path)):
                ready.append((stat.st_mtime_ns, entry.name, before))
        self._seen = seen_now
        self._failures = {name: count for name, count in self._failures.items() if name in seen_now}
        return [(self.folder / name, seen) for _mtime, name, seen in sorted(ready, key=lambda r: (r[0], r[1]))]

    def _actor(self) -> Actor:
        with read_session(self.db) as session:
            actor = staff_service.actor_for(session, self.acting_as)
        require(actor, Permission.IMPORT_PURCHASES)
        return actor

    # -- one file

    def _hand_off(self, path: Path, seen: _Seen, actor: Actor) -> Handoff | None:
        """Claim, import and file away one complete file; None when another watcher took it first."""
        name = path.name
        try:
            claim = self._claim(path)
        except OSError as exc:
            if not path.exists():
                self._seen.pop(name, None)
                return None  # another watcher claimed it
            self._defer(name)  # locked by its writer (Windows), or the folder is read-only
            return self._report_once(MSG_FOLDER_NOT_WRITABLE, folder=str(self.folder), detail=_detail(exc))
        self._seen.pop(name, None)
        if claim is None:
            return None  # another watcher claimed it
        working = claim / name
        try:
            return self._import(working, name, seen, actor)
        except BaseException:  # stopped hard mid-import (Ctrl-C twice): the transaction rolled back; the file waits
            self._put_back(claim, name)
            raise

    def _claim(self, path: Path) -> Path | None:
        """Move the file into a claim folder of its own; None when it is gone (another watcher took it)."""
        working = self.folder / WORKING_DIR
        working.mkdir(exist_ok=True)
        claim = working / f"{datetime.now(UTC).strftime(_CLAIM_TIME)}-{uuid.uuid4().hex[:8]}"
        claim.mkdir()
        try:
            os.rename(path, claim / path.name)
        except FileNotFoundError:
            claim.rmdir()
            return None
        except OSError:
            claim.rmdir()
            raise
        return claim

    def _import(self, working: Path, name: str, seen: _Seen, actor: Actor) -> Handoff | None:
        """Import the claimed file and file it away; None when it turned out to be still written (it waits again)."""
        from crmdesk.services import purchase_imports

        notes = working.parent / "notes"  # the rejects or reason file, written before the file is filed away
        unreadable: InvalidInput | None = None
        result = None
        rejects: Path | None = None
        try:
            backups.before_import(self.db, working)
            with unit_of_work(self.db, bulk=True) as session:
                try:
                    plan = purchase_imports.plan_purchase_import(session, working)
                except InvalidInput as exc:
                    unreadable = exc
                else:
                    result = purchase_imports.apply_purchase_import(session, actor, plan, skip_invalid=True)
                    if result.plan.counts.invalid:
                        notes.mkdir(exist_ok=True)
                        # Inside the transaction, as `crmdesk import purchases`: no rejects file, no import.
                        rejects = purchase_imports.write_rejects(result.plan, notes / name, translate=self._translate)
                _check_unchanged(working, seen)  # before the commit: a file still being written is not imported
        except _StillWriting:
            self._put_back(working.parent, name)
            return None
        except Exception as exc:  # noqa: BLE001 - busy or unreachable database, full disk...: tried again later
            error = explain(exc)
            back = self._put_back(working.parent, name)
            if back is not None:
                self._defer(back.name)
            return self._report_once(MSG_TRIED_AGAIN, file=name, reason=_message(error, self._translate))
        if unreadable is not None:
            return self._file_unreadable(working, name, unreadable, actor)
        assert result is not None
        outcome = Outcome.REJECTED if rejects is not None else Outcome.DONE
        target_dir = self.folder / (REJECTED_DIR if rejects is not None else DONE_DIR)
        entry = Handoff(_now(), str(self.folder), outcome, name, imported=result.new, unchanged=result.unchanged,
                        rejected=result.skipped, acting_as=actor.name)
        return self._file_away(working, entry, target_dir, rejects, REJECTS_SUFFIX)

    def _file_unreadable(self, working: Path, name: str, error: InvalidInput, actor: Actor) -> Handoff:
        # The import's message names the file by its path in .working/; a person knows it by its name.
        params = {key: name if value == str(working) else value for key, value in error.params.items()}
        reason = self._translate(error.template).format(**params)
        notes = working.parent / "notes"
        notes.mkdir(exist_ok=True)
        note = notes / _companion(name, REASON_SUFFIX)
        note.write_text(self._translate(MSG_REASON_NOTE).format(file=name, reason=reason) + "\n", encoding="utf-8-sig")
        entry = Handoff(_now(), str(self.folder), Outcome.UNREADABLE, name, template=error.template, params=params,
                        acting_as=actor.name)
        return self._file_away(working, entry, self.folder / REJECTED_DIR, note, REASON_SUFFIX)

    def _file_away(self, working: Path, entry: Handoff, target_dir: Path, companion: Path | None,
                   companion_suffix: str) -> Handoff:
        """The imported file into done/ or rejected/ (its companion beside it), the claim folder removed."""
        claim = working.parent
        moved: Path | None = None
        moved_companion: Path | None = None
        try:
            moved = _move_unique(working, target_dir, entry.file, companion_suffix=companion_suffix if companion else None)
            if companion is not None:
                moved_companion = _move_unique(companion, target_dir, _companion(moved.name, companion_suffix))
            _remove_claim(claim)
        except OSError as exc:
            # Imported, but not filed away: a file left in .working/ is put back after STALE_CLAIM and imported
            # again, every receipt unchanged.
            problem = Handoff(entry.at, entry.folder, Outcome.PROBLEM, entry.file, entry.imported, entry.unchanged,
                              entry.rejected, str(moved or working), str(moved_companion or ""), MSG_NOT_MOVED,
                              {"file": entry.file, "target": str(target_dir), "detail": _detail(exc)}, entry.acting_as)
            self.problem = problem
            return self._record(problem)
        self._last_problem = None
        self.problem = None
        self._failures.pop(entry.file, None)
        done = Handoff(entry.at, entry.folder, entry.outcome, entry.file, entry.imported, entry.unchanged, entry.rejected,
                       str(moved), str(moved_companion or ""), entry.template, entry.params, entry.acting_as)
        return self._record(done)

    def _put_back(self, claim: Path, name: str) -> Path | None:
        """A claimed file back into the folder to wait (under its own name unless a newer file took it)."""
        try:
            back = _move_unique(claim / name, self.folder, name)
            _remove_claim(claim)
        except OSError:
            return None  # the folder is gone: the claim stays, and is put back once stale
        return back

    def _defer(self, name: str) -> None:
        """Try a file again later: after a re-scan, then twice as long each time, up to RETRY_MAX_SECONDS."""
        try:
            stat = (self.folder / name).stat()
        except OSError:
            return
        previous = self._failures.get(name, 0) + 1
        self._failures[name] = previous
        now = time.monotonic()
        wait = min(RETRY_MAX_SECONDS, self.rescan_seconds * 2 ** (previous - 1))
        self._seen[name] = _Seen(stat.st_size, stat.st_mtime_ns, now - self.quiet_seconds, now + wait, previous)

    def _recover_stale_claims(self) -> None:
        """Files a stopped crmdesk left in .working/: taken over (a rename, so by one watcher only) and put back."""
        working = self.folder / WORKING_DIR
        try:
            claims = [entry for entry in os.scandir(working) if entry.is_dir(follow_symlinks=False)]
        except OSError:
            return
        now = datetime.now(UTC)
        for entry in claims:
            try:
                claimed_at = datetime.strptime(entry.name.split("-", 1)[0], _CLAIM_TIME).replace(tzinfo=UTC)
            except ValueError:
                continue  # not a claim of crmdesk's
            if now - claimed_at < STALE_CLAIM:
                continue
            mine = working / f"{now.strftime(_CLAIM_TIME)}-{uuid.uuid4().hex[:8]}"
            try:
                os.rename(entry.path, mine)
            except OSError:
                continue  # another watcher took it over first
            try:
                for item in [item for item in mine.iterdir() if item.is_file()]:  # the claimed file (notes/ is a folder)
                    _move_unique(item, self.folder, item.name)
                _remove_claim(mine)
            except OSError:
                continue  # the folder went away meanwhile: tried again at a later look

    # -- log entries

    def _record(self, entry: Handoff) -> Handoff:
        try:
            append_to_log(entry, self._log)
        except OSError:
            pass  # a full disk must not stop the hand-off; the entry still reaches the screen or the terminal
        if self._on_handoff is not None:
            self._on_handoff(entry)
        return entry

    def _report(self, template: str, **params: object) -> list[Handoff]:
        entry = self._report_once(template, **params)
        return [entry] if entry is not None else []

    def _report_once(self, template: str, **params: object) -> Handoff | None:
        """A problem: logged when it is new, kept as the standing problem either way."""
        file = str(params.get("file", ""))
        key = (file, template, json.dumps(_plain_params(params), sort_keys=True, ensure_ascii=False))
        entry = Handoff(_now(), str(self.folder), Outcome.PROBLEM, file, template=template, params=params,
                        acting_as=self.acting_as or "")
        self.problem = entry
        if key == self._last_problem:
            return None
        self._last_problem = key
        return self._record(entry)


def _message(error: CrmdeskError, translate: Translate) -> str:
    """An error's message in the language of ``translate``."""
    return translate(error.template).format(**error.params)


def _check_unchanged(working: Path, seen: _Seen) -> None:
    stat = working.stat()
    if (stat.st_size, stat.st_mtime_ns) != (seen.size, seen.mtime_ns):
        raise _StillWriting


def _remove_claim(claim: Path) -> None:
    """Remove a claim folder and what is left in it (a rejects file of an import that was rolled back)."""
    for item in sorted(claim.rglob("*"), key=lambda p: len(p.parts), reverse=True):  # the deepest first
        if item.is_dir():
            item.rmdir()
        else:
            item.unlink()
    claim.rmdir()


def _can_read(path: Path) -> bool:
    """Whether the file opens for reading (on Windows a till still writing may hold it locked)."""
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError:
        return False
    return True


def _detail(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _now() -> datetime:
    return datetime.now(UTC)
