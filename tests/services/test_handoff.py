"""The POS hand-off folder: only complete files are taken, each exactly once (also by two watchers), the same
receipts twice are one purchase each, unreadable files and bad rows go to rejected/ with their reasons, a folder
that goes away is a problem that passes by itself, and the log."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk import preferences
from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.errors import NotFound, PermissionDenied
from crmdesk.models import Purchase
from crmdesk.services import handoff, purchase_imports
from crmdesk.services.handoff import Handoff, HandoffWatcher, Outcome
from crmdesk.services.uow import Actor, read_session
from tests.services.test_imports import write_csv
from tests.services import test_members
from tests.services.test_purchase_imports import setup_members

HEADER = ["小票号", "收银台", "手机", "时间", "金额"]
QUIET = 0.25  # seconds; the shops' default is handoff.QUIET_SECONDS

# A store copied from one made once per module (much faster than a new one per test), with its staff.
store_template, db, owner, cashier, supervisor = (
    test_members.store_template, test_members.db, test_members.owner, test_members.cashier, test_members.supervisor)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "pos"
    path.mkdir()
    return path


@pytest.fixture
def shop(db: Database, owner: Actor) -> Database:
    """The store with 张三 (13812345678) and 李四 (13912345678) among its members."""
    setup_members(db, owner)
    return db


def rows(*receipts: str, till: str = "01") -> list[list[str]]:
    """One sale of ¥12.50 for 张三 per receipt number."""
    return [[number, till, "13812345678", "2025-03-01 09:30", "12.50"] for number in receipts]


def csv_bytes(tmp_path: Path, body: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> bytes:
    return write_csv(tmp_path / "scratch.csv", [header, *body]).read_bytes()


def drop(folder: Path, name: str, body: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> Path:
    return write_csv(folder / name, [header, *body])


def purchase_count(db: Database) -> int:
    with read_session(db) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Purchase)) or 0)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def watcher(db: Database, folder: Path, **options: object) -> HandoffWatcher:
    settings: dict[str, object] = {"quiet_seconds": QUIET, "rescan_seconds": 0.05, **options}
    return HandoffWatcher(db, folder, **settings)  # type: ignore[arg-type]


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def scan_until(w: HandoffWatcher, condition: Callable[[list[Handoff]], bool], timeout: float = 5.0) -> list[Handoff]:
    """Look again and again (as run() does) until the entries so far satisfy ``condition``."""
    entries: list[Handoff] = []
    deadline = time.monotonic() + timeout
    while not condition(entries):
        assert time.monotonic() < deadline, f"timed out with {entries}"
        entries += w.scan()
        time.sleep(0.02)
    return entries


@contextmanager
def running(*watchers: HandoffWatcher) -> Iterator[None]:
    threads = [threading.Thread(target=w.run, daemon=True) for w in watchers]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for w in watchers:
            w.stop()
        for thread in threads:
            thread.join(10)
            assert not thread.is_alive(), "the watcher did not stop"


# --------------------------------------------------------------------------- complete files only, once


def test_a_file_written_in_pieces_is_taken_only_once_complete(shop, folder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    content = csv_bytes(tmp_path, rows("R1", "R2", "R3", "R4", "R5", "R6"))
    pieces = [content[i:i + 37] for i in range(0, len(content), 37)]  # cut in the middle of rows
    w = watcher(shop, folder)
    target = folder / "receipts.csv"
    for piece in pieces:
        with target.open("ab") as handle:
            handle.write(piece)
        assert w.scan() == [] and w.pending() == ["receipts.csv"]
        time.sleep(QUIET / 3)  # the till pauses, for less than the quiet period
    assert w.scan() == [] and purchase_count(shop) == 0  # complete, but not quiet long enough yet
    time.sleep(QUIET + 0.05)
    [entry] = w.scan()
    assert (entry.outcome, entry.file, entry.imported, entry.unchanged, entry.rejected) == (Outcome.DONE, "receipts.csv", 6, 0, 0)
    assert entry.moved_to == str(folder / "done" / "receipts.csv") and entry.acting_as == "王店长"
    assert (folder / "done" / "receipts.csv").read_bytes() == content
    assert purchase_count(shop) == 6 and names(folder) == [".working", "done"] and names(folder / ".working") == []
    time.sleep(QUIET + 0.05)
    assert w.scan() == [] and w.pending() == []


def test_a_slow_writer_while_the_watcher_runs_gets_one_import(shop, folder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    content = csv_bytes(tmp_path, rows(*(f"S{n}" for n in range(20))))
    pieces = [content[i:i + 200] for i in range(0, len(content), 200)]
    seen: list[Handoff] = []
    w = watcher(shop, folder, quiet_seconds=0.4, on_handoff=seen.append)
    with running(w):
        with (folder / "slow.csv").open("wb") as handle:
            for piece in pieces:
                handle.write(piece)
                handle.flush()
                time.sleep(0.12)
                assert seen == [] and not (folder / "done").exists(), "taken while still being written"
        wait_for(lambda: seen)
        time.sleep(0.3)  # and nothing more comes
    assert [(e.outcome, e.imported) for e in seen] == [(Outcome.DONE, 20)]
    assert (folder / "done" / "slow.csv").read_bytes() == content and purchase_count(shop) == 20
    assert [e.file for e in handoff.recent_handoffs()] == ["slow.csv"]


def test_a_file_that_changes_while_it_is_imported_waits_again(shop, folder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A writer that paused longer than the quiet period and goes on: the import is rolled back, the file waits."""
    real_plan = purchase_imports.plan_purchase_import
    appended: list[Path] = []

    def plan_while_written(session, path):  # type: ignore[no-untyped-def]
        if not appended:
            with Path(path).open("a", encoding="utf-8", newline="") as handle:
                handle.write("R3,01,13812345678,2025-03-01 09:30,12.50\r\n")
            appended.append(Path(path))
        return real_plan(session, path)

    monkeypatch.setattr(purchase_imports, "plan_purchase_import", plan_while_written)
    drop(folder, "paused.csv", rows("R1", "R2"))
    w = watcher(shop, folder)
    time.sleep(QUIET + 0.05)
    w.scan()  # seen
    time.sleep(QUIET + 0.05)
    assert w.scan() == [] and appended  # claimed, changed meanwhile: rolled back and put back
    assert purchase_count(shop) == 0 and names(folder) == [".working", "paused.csv"] and names(folder / ".working") == []
    [entry] = scan_until(w, lambda entries: bool(entries))
    assert (entry.outcome, entry.imported) == (Outcome.DONE, 3) and purchase_count(shop) == 3


def test_hidden_temporary_and_empty_files_are_left_alone(shop, folder) -> None:  # type: ignore[no-untyped-def]
    for name in (".~lock.r.csv#", "~$r.xlsx", "r.csv.part", "r.tmp", "r.csv.crdownload", ".r.csv", "notes.pdf", "r.csv~"):
        drop(folder, name, rows("R1"))
    (folder / "empty.csv").touch()
    (folder / "sub.csv").mkdir()
    before = names(folder)
    w = watcher(shop, folder)
    assert w.run_once(timeout=QUIET * 3) == []
    assert names(folder) == before and purchase_count(shop) == 0


@pytest.mark.parametrize(("name", "taken"), [
    ("receipts.csv", True), ("RECEIPTS.XLSX", True), ("r.xlsm", True), ("old.xls", True), ("r.rejected.csv", True),
    (".receipts.csv", False), (".~lock.receipts.csv#", False), ("~$receipts.xlsx", False), ("receipts.csv.part", False),
    ("receipts.tmp", False), ("receipts.csv.crdownload", False), ("receipts.partial", False), ("receipts.txt", False),
])
def test_which_names_are_hand_offs(name: str, taken: bool) -> None:
    assert handoff.is_handoff_file(name) is taken


# --------------------------------------------------------------------------- idempotence and where files go


def test_the_same_receipts_dropped_twice_are_one_purchase_each(shop, folder) -> None:  # type: ignore[no-untyped-def]
    drop(folder, "receipts.csv", rows("R1", "R2"))
    [first] = watcher(shop, folder).run_once()
    drop(folder, "receipts.csv", rows("R1", "R2"))
    [second] = watcher(shop, folder).run_once()
    assert (first.outcome, first.imported, first.unchanged) == (Outcome.DONE, 2, 0)
    assert (second.outcome, second.imported, second.unchanged) == (Outcome.DONE, 0, 2)
    assert names(folder / "done") == ["receipts-2.csv", "receipts.csv"]  # never one over the other
    assert second.moved_to == str(folder / "done" / "receipts-2.csv")
    assert purchase_count(shop) == 2


def test_a_file_that_cannot_be_read_goes_to_rejected_with_the_reason(shop, folder) -> None:  # type: ignore[no-untyped-def]
    drop(folder, "columns.csv", [["R1", "01", "13812345678", "12.50"]], header=["小票号", "收银台", "手机", "金额"])
    (folder / "damaged.xlsx").write_bytes(b"PK\x03\x04 cut short by the network")
    entries = watcher(shop, folder).run_once()
    assert sorted((e.file, e.outcome) for e in entries) == [("columns.csv", Outcome.UNREADABLE), ("damaged.xlsx", Outcome.UNREADABLE)]
    rejected = folder / "rejected"
    assert names(rejected) == ["columns.csv", "columns.rejected.txt", "damaged.rejected.txt", "damaged.xlsx"]
    why = (rejected / "columns.rejected.txt").read_text(encoding="utf-8-sig")
    assert why.startswith("columns.csv was not imported: The file has no column time/时间.")
    damaged = (rejected / "damaged.rejected.txt").read_text(encoding="utf-8-sig")
    assert "damaged.xlsx cannot be read as an Excel workbook" in damaged and ".working" not in damaged
    entry = next(e for e in entries if e.file == "damaged.xlsx")
    assert entry.companion == str(rejected / "damaged.rejected.txt") and "damaged.xlsx cannot be read" in entry.reason
    assert purchase_count(shop) == 0
    # The same broken file again: both kept, with their own reason files.
    drop(folder, "columns.csv", [["R1", "01", "13812345678", "12.50"]], header=["小票号", "收银台", "手机", "金额"])
    watcher(shop, folder).run_once()
    assert {"columns-2.csv", "columns-2.rejected.txt"} <= set(names(rejected))


def test_bad_rows_are_left_out_and_the_rest_imported(shop, folder) -> None:  # type: ignore[no-untyped-def]
    body = [*rows("R1", "R2"), ["R3", "01", "13812345678", "2025-03-01 09:30", "12.345"], *rows("R4")]
    drop(folder, "mixed.csv", body)
    [entry] = watcher(shop, folder).run_once()
    assert (entry.outcome, entry.imported, entry.unchanged, entry.rejected) == (Outcome.REJECTED, 3, 0, 1)
    rejected = folder / "rejected"
    assert names(rejected) == ["mixed.csv", "mixed.rejected.csv"] and entry.companion == str(rejected / "mixed.rejected.csv")
    rejects = (rejected / "mixed.rejected.csv").read_text(encoding="utf-8-sig")
    assert "R3" in rejects and "R1" not in rejects and "行号" in rejects
    assert purchase_count(shop) == 3
    # Corrected, the rejects file goes back into the folder: the missing receipt comes in, the rest is unchanged.
    drop(folder, "mixed.rejected.csv", rows("R3"), header=HEADER)
    [again] = watcher(shop, folder).run_once()
    assert (again.outcome, again.imported) == (Outcome.DONE, 1) and purchase_count(shop) == 4


# --------------------------------------------------------------------------- problems


def test_a_folder_that_disappears_is_a_problem_and_watching_resumes(shop, folder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(handoff, "MISSING_RESCAN_SECONDS", 0.05)
    seen: list[Handoff] = []
    # A long re-scan: the files below are noticed by their events, also after the folder came back.
    w = watcher(shop, folder, rescan_seconds=30, on_handoff=seen.append)
    away = folder.with_name("pos-unplugged")
    with running(w):
        drop(folder, "before.csv", rows("R1"))
        wait_for(lambda: any(e.file == "before.csv" for e in seen))
        folder.rename(away)  # the network drive goes
        wait_for(lambda: any(e.outcome is Outcome.PROBLEM for e in seen))
        time.sleep(0.3)  # looked for again and again, told once
        away.rename(folder)  # and comes back
        wait_for(lambda: seen[-1].outcome is Outcome.RESUMED)
        drop(folder, "after.csv", rows("R2"))
        wait_for(lambda: seen[-1].file == "after.csv")
    problem = next(e for e in seen if e.outcome is Outcome.PROBLEM)
    assert "cannot be reached" in problem.reason and str(folder) in problem.reason
    assert [e.outcome for e in seen] == [Outcome.DONE, Outcome.PROBLEM, Outcome.RESUMED, Outcome.DONE]
    assert w.problem is None and purchase_count(shop) == 2
    assert [e.outcome for e in handoff.recent_handoffs(folder=folder)] == [Outcome.DONE, Outcome.RESUMED, Outcome.PROBLEM,
                                                                           Outcome.DONE]


def test_a_failed_import_puts_the_file_back_and_tries_again(shop, folder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real_apply = purchase_imports.apply_purchase_import
    calls: list[int] = []

    def busy_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(purchase_imports, "apply_purchase_import", busy_once)
    drop(folder, "receipts.csv", rows("R1"))
    w = watcher(shop, folder)
    entries = scan_until(w, lambda found: len(found) >= 2)
    problem, done = entries
    assert problem.outcome is Outcome.PROBLEM and problem.file == "receipts.csv"
    assert "tried again later" in problem.reason and "busy" in problem.reason
    assert (done.outcome, done.imported) == (Outcome.DONE, 1) and w.problem is None and purchase_count(shop) == 1


def test_an_actor_without_the_permission_leaves_the_files_waiting(shop, folder, cashier) -> None:  # type: ignore[no-untyped-def]
    drop(folder, "receipts.csv", rows("R1"))
    w = watcher(shop, folder, acting_as=cashier.name)
    [problem] = w.run_once(timeout=QUIET * 3)
    assert problem.outcome is Outcome.PROBLEM and "may not import purchases" in problem.reason
    time.sleep(0.1)
    assert w.scan() == []  # told once
    assert w.problem is not None and names(folder) == ["receipts.csv"] and purchase_count(shop) == 0


def test_a_claim_left_by_a_stopped_crmdesk_is_put_back_and_imported(shop, folder) -> None:  # type: ignore[no-untyped-def]
    claim = folder / ".working" / "20000101T000000Z-deadbeef"
    (claim / "notes").mkdir(parents=True)
    drop(claim, "receipts.csv", rows("R1", "R2"))
    (claim / "notes" / "receipts.rejected.csv").write_text("half written", encoding="utf-8")
    fresh = folder / ".working" / "29990101T000000Z-0badf00d"  # another watcher's claim in progress: left alone
    fresh.mkdir()
    drop(fresh, "busy.csv", rows("R9"))
    [entry] = watcher(shop, folder).run_once()
    assert (entry.file, entry.outcome, entry.imported) == ("receipts.csv", Outcome.DONE, 2)
    assert names(folder / ".working") == [fresh.name] and names(fresh) == ["busy.csv"]


# --------------------------------------------------------------------------- two watchers


def test_two_watchers_on_one_folder_import_each_file_once(shop, folder, db_path) -> None:  # type: ignore[no-untyped-def]
    other_till = open_database(sqlite_url(db_path))  # as a second crmdesk process would
    try:
        seen: list[Handoff] = []
        lock = threading.Lock()

        def note(entry: Handoff) -> None:
            with lock:
                seen.append(entry)

        first = watcher(shop, folder, quiet_seconds=0.2, rescan_seconds=0.01, on_handoff=note)
        second = watcher(other_till, folder, quiet_seconds=0.2, rescan_seconds=0.01, on_handoff=note)
        files = [f"till-{n}.csv" for n in range(8)]
        with running(first, second):
            for n, name in enumerate(files):
                drop(folder, name, rows(f"A{n}", f"B{n}"))
            wait_for(lambda: len(names(folder / "done")) >= len(files))
            time.sleep(0.3)
        assert names(folder / "done") == sorted(files)
        assert sorted(e.file for e in seen) == sorted(files)
        assert all((e.outcome, e.imported, e.unchanged) == (Outcome.DONE, 2, 0) for e in seen)
        assert purchase_count(shop) == 16
    finally:
        other_till.dispose()


# --------------------------------------------------------------------------- the log and the setting


def test_the_log_keeps_the_latest_entries_newest_first(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    for n in range(handoff.LOG_KEEP + handoff.LOG_SLACK + 1):
        handoff.append_to_log(Handoff(handoff._now(), "/pos", Outcome.DONE, f"{n}.csv", imported=n), log)
    with log.open("a", encoding="utf-8") as handle:
        handle.write('{"cut short\n')
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == handoff.LOG_KEEP + 1
    latest = handoff.recent_handoffs(3, path=log)
    assert [e.file for e in latest] == [f"{n}.csv" for n in (600, 599, 598)] and latest[0].imported == 600
    assert handoff.recent_handoffs(folder="/elsewhere", path=log) == []


def test_the_reason_keeps_its_template_for_translation(tmp_path: Path) -> None:
    entry = Handoff(handoff._now(), "/pos", Outcome.PROBLEM, template=handoff.MSG_FOLDER_UNREACHABLE,
                    params={"folder": "/pos", "detail": "No such file or directory"})
    again = Handoff.from_json(entry.to_json())
    assert again == entry and again.reason.startswith("The hand-off folder /pos cannot be reached")


def test_choosing_the_folder_needs_the_permission_and_a_folder(folder, owner, supervisor, cashier) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        handoff.set_handoff_folder(cashier, folder)
    with pytest.raises(NotFound):
        handoff.set_handoff_folder(owner, folder / "missing")
    assert preferences.load().handoff_folder == ""
    handoff.set_handoff_folder(supervisor, folder)
    prefs = preferences.load()
    assert (prefs.handoff_folder, prefs.handoff_staff) == (str(folder), "值班经理")
    handoff.set_handoff_folder(owner, None)
    assert (preferences.load().handoff_folder, preferences.load().handoff_staff) == ("", "")
