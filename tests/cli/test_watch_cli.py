"""`crmdesk watch DIR` end to end: --once hands off what is there (one line each), refuses a missing folder and
staff who may not import, and the watch runs until SIGTERM, then ends cleanly."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmdesk.cli import main
from crmdesk.models import Purchase
from crmdesk.services import handoff
from crmdesk.services.uow import read_session
from tests.services import test_members
from tests.services.test_handoff import HEADER, drop, rows
from tests.services.test_purchase_imports import setup_members

store_template, db, owner, cashier = test_members.store_template, test_members.db, test_members.owner, test_members.cashier
QUIET = "0.2"


@pytest.fixture
def shop(db, owner, db_path: Path) -> str:  # type: ignore[no-untyped-def]
    setup_members(db, owner)
    return str(db_path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "pos"
    path.mkdir()
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def purchase_count(db) -> int:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Purchase)) or 0)


def test_once_hands_off_what_is_there_one_line_each(capsys, shop, db, folder) -> None:  # type: ignore[no-untyped-def]
    drop(folder, "receipts.csv", rows("R1", "R2"))
    drop(folder, "mixed.csv", [*rows("R3"), ["R4", "01", "13812345678", "2025-03-01 09:30", "abc"]])
    (folder / "broken.csv").write_text("nothing,useful\n1,2\n", encoding="utf-8")
    code, out, err = run(capsys, "--db", shop, "watch", str(folder), "--once", "--quiet-seconds", QUIET)
    assert code == 0, err
    lines = sorted(line.split("  ", 1)[1] for line in out.splitlines())  # after the time
    assert lines == [
        "broken.csv: not imported: The file has no column receipt_no/小票号. Columns found: nothing, useful. "
        "-> rejected/broken.csv (why: rejected/broken.rejected.txt)",
        "mixed.csv: 1 receipt imported, 0 unchanged, 1 rejected -> rejected/mixed.csv (rejected rows: rejected/mixed.rejected.csv)",
        "receipts.csv: 2 receipts imported, 0 unchanged, 0 rejected -> done/receipts.csv",
    ]
    assert err == "" and purchase_count(db) == 3
    drop(folder, "receipts.csv", rows("R1", "R2"))  # the same receipts again
    code, out, _ = run(capsys, "--db", shop, "watch", str(folder), "--once", "--quiet-seconds", QUIET)
    assert code == 0 and "receipts.csv: 0 receipts imported, 2 unchanged, 0 rejected -> done/receipts-2.csv" in out
    assert purchase_count(db) == 3 and len(handoff.recent_handoffs()) == 4  # the log the app reads too


def test_a_missing_folder_and_staff_who_may_not_import_are_refused(capsys, shop, cashier, folder) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "--db", shop, "watch", str(folder / "typo"), "--once")
    assert (code, out) == (3, "") and err == f"crmdesk: There is no folder {folder / 'typo'}.\n"
    drop(folder, "receipts.csv", rows("R1"))
    code, out, err = run(capsys, "--db", shop, "--as", cashier.name, "watch", str(folder), "--once")
    assert (code, out) == (5, "") and "may not import purchases" in err
    assert sorted(p.name for p in folder.iterdir()) == ["receipts.csv"]  # left where it was
    with pytest.raises(SystemExit) as refused:
        main(["--db", shop, "watch", str(folder), "--quiet-seconds", "0"])
    assert refused.value.code == 2 and "is not a number of seconds" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM ends a Windows process at once")
def test_the_watch_runs_until_sigterm_and_ends_cleanly(shop, db, folder) -> None:  # type: ignore[no-untyped-def]
    process = subprocess.Popen(
        [sys.executable, "-m", "crmdesk", "--db", shop, "watch", str(folder), "--quiet-seconds", QUIET,
         "--rescan-seconds", "0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8", env={**os.environ},
    )
    try:
        assert "Watching" in _line(process.stderr)  # type: ignore[arg-type]
        drop(folder, "receipts.csv", rows("R1", "R2"), header=HEADER)
        assert "receipts.csv: 2 receipts imported" in _line(process.stdout)  # type: ignore[arg-type]
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and "Stopped." in err and "Traceback" not in err
    assert purchase_count(db) == 2 and (folder / "done" / "receipts.csv").exists()


def _line(stream, timeout: float = 20.0) -> str:  # type: ignore[no-untyped-def]
    """The next line the process writes to ``stream``, without waiting for ever."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=0.1):
                return stream.readline()
    raise AssertionError("the watch printed nothing")
