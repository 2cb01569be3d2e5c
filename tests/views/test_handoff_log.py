"""The POS hand-off folder in the app: chosen in Settings → This computer (supervisors and owners), watched by
the main window on its own thread with the last hand-off on the status bar, the log dialog, and all of it within
a 1024×768 screen."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QSize

from crmdesk import preferences
from crmdesk.app import create_application
from crmdesk.models import Purchase
from crmdesk.services import handoff
from crmdesk.services.handoff import Handoff, Outcome
from crmdesk.services.uow import read_session
from crmdesk.views import handoff_log
from crmdesk.views.handoff_log import HandoffLogDialog
from crmdesk.views.main_window import MainWindow
from crmdesk.views.screen import largest_content, pretend_screen
from crmdesk.views.settings_page import ComputerTab
from crmdesk.views.state import AppState
from tests.services.test_handoff import drop, folder, rows  # noqa: F401 - the folder fixture
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures
from tests.services.test_purchase_imports import setup_members
from tests.views.fit import out_of_view, settle


@pytest.fixture
def owner_here(qapp, db, owner) -> AppState:  # type: ignore[no-untyped-def]
    return AppState(db, owner, "en")


@pytest.fixture
def counter_screen(qapp) -> Iterator[QSize]:  # type: ignore[no-untyped-def]
    """The smallest counter PC's screen, with the program's own style sheet and fonts."""
    style, font = qapp.styleSheet(), qapp.font()
    create_application()
    size = QSize(1024, 768)
    pretend_screen(size)
    yield size
    pretend_screen(None)
    qapp.setStyleSheet(style)
    qapp.setFont(font)


def log_entries(folder: Path) -> list[Handoff]:
    """A morning's hand-offs: an import, one with bad rows, an unreadable file, a problem and its end."""
    start = datetime(2026, 4, 12, 1, 0, tzinfo=UTC)
    where = str(folder)
    entries = [
        Handoff(start, where, Outcome.DONE, "receipts-0411.csv", imported=52, moved_to=f"{where}/done/receipts-0411.csv",
                acting_as="王店长"),
        Handoff(start + timedelta(minutes=5), where, Outcome.REJECTED, "receipts-0412.csv", imported=37, unchanged=3,
                rejected=2, moved_to=f"{where}/rejected/receipts-0412.csv",
                companion=f"{where}/rejected/receipts-0412.rejected.csv", acting_as="王店长"),
        Handoff(start + timedelta(minutes=9), where, Outcome.UNREADABLE, "export.xlsx", moved_to=f"{where}/rejected/export.xlsx",
                companion=f"{where}/rejected/export.rejected.txt",
                template="The file has no column {missing}. Columns found: {found}.",
                params={"missing": "time/时间", "found": "小票号, 金额"}),
        Handoff(start + timedelta(minutes=20), where, Outcome.PROBLEM, template=handoff.MSG_FOLDER_UNREACHABLE,
                params={"folder": where, "detail": "No such file or directory"}),
        Handoff(start + timedelta(minutes=25), where, Outcome.RESUMED),
    ]
    for entry in entries:
        handoff.append_to_log(entry)
    return entries


def purchase_count(db) -> int:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Purchase)) or 0)


# --------------------------------------------------------------------------- the log dialog


def test_the_log_lists_the_latest_hand_offs_newest_first(qtbot, folder) -> None:  # type: ignore[no-untyped-def]
    log_entries(folder)
    handoff.append_to_log(Handoff(datetime.now(UTC), "/another/folder", Outcome.DONE, "elsewhere.csv"))
    dialog = HandoffLogDialog(str(folder))
    qtbot.addWidget(dialog)
    table = dialog.table
    assert table.rowCount() == 5 and not dialog.empty_label.isVisibleTo(dialog)
    cells = [[table.item(row, column).text() for column in range(table.columnCount())] for row in range(table.rowCount())]
    assert [row[5] for row in cells] == ["Folder back", "Problem", "Not read", "Rows rejected", "Imported"]
    assert cells[3][:5] == ["2026-04-12 09:05", "receipts-0412.csv", "37", "3", "2"]  # on the shop's clock
    assert cells[3][6] == "rejected/receipts-0412.csv  +  rejected/receipts-0412.rejected.csv"  # seen from the folder
    assert cells[2][2:5] == ["", "", ""] and cells[2][6].startswith("The file has no column time/时间.")
    assert "cannot be reached" in cells[1][6]
    assert table.item(1, 0).foreground().color().name() == handoff_log.ATTENTION_COLOUR  # what needs a look is red
    assert table.item(3, 0).foreground().color().name() != handoff_log.ATTENTION_COLOUR


def test_an_empty_log_says_so(qtbot, folder) -> None:  # type: ignore[no-untyped-def]
    dialog = HandoffLogDialog(str(folder))
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 0 and dialog.empty_label.isVisibleTo(dialog) and dialog.open_button.isEnabled()


# --------------------------------------------------------------------------- Settings → This computer


def test_a_supervisor_chooses_the_folder_and_gives_it_up(qtbot, db, supervisor, folder) -> None:  # type: ignore[no-untyped-def]
    tab = ComputerTab(AppState(db, supervisor, "en"))
    qtbot.addWidget(tab)
    assert tab.handoff_choose.isEnabled() and not tab.handoff_stop.isEnabled() and tab.handoff_edit.text() == ""
    with qtbot.waitSignal(tab.handoffFolderChanged):
        assert tab.set_handoff_folder(str(folder))
    prefs = preferences.load()
    assert (prefs.handoff_folder, prefs.handoff_staff) == (str(folder), "值班经理")
    assert tab.handoff_edit.text() == str(folder) and "as 值班经理" in tab.handoff_hint.text() and tab.handoff_stop.isEnabled()
    assert not tab.set_handoff_folder(str(folder / "missing"))  # refused with a reason, the folder kept
    assert f"There is no folder {folder / 'missing'}." == tab.status.text() and preferences.load().handoff_folder == str(folder)
    with qtbot.waitSignal(tab.handoffFolderChanged):
        tab.handoff_stop.click()
    assert preferences.load().handoff_folder == "" and tab.handoff_edit.text() == "" and not tab.handoff_stop.isEnabled()


def test_a_cashier_cannot_choose_the_folder(qtbot, db, cashier, folder) -> None:  # type: ignore[no-untyped-def]
    tab = ComputerTab(AppState(db, cashier, "en"))
    qtbot.addWidget(tab)
    assert not tab.handoff_choose.isEnabled() and not tab.handoff_stop.isEnabled()
    assert "Only a supervisor or the owner" in tab.handoff_hint.text()
    assert not tab.set_handoff_folder(str(folder))  # the service refuses too, not only the button
    assert "may not import purchases" in tab.status.text() and preferences.load().handoff_folder == ""


# --------------------------------------------------------------------------- the main window


def test_the_window_watches_the_folder_and_shows_each_hand_off(qtbot, monkeypatch, owner_here, folder) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(handoff, "QUIET_SECONDS", 0.2)
    monkeypatch.setattr(handoff, "RESCAN_SECONDS", 0.05)
    setup_members(owner_here.db, owner_here.actor)
    window = MainWindow(owner_here)
    qtbot.addWidget(window)
    button = window.handoff_button
    assert not window.handoff.running and button.isHidden()  # no folder on this computer: nothing shown
    window.settings_page.computer_tab.set_handoff_folder(str(folder))  # starts the watcher at once
    assert window.handoff.running and window.handoff.folder == str(folder)
    assert not button.isHidden() and button.text() == "Hand-off: waiting for receipts"
    drop(folder, "receipts-0412.csv", rows("R1", "R2"))
    qtbot.waitUntil(lambda: "imported" in button.full_text, timeout=5_000)
    assert button.full_text == "Hand-off: receipts-0412.csv — 2 imported, 0 unchanged" and not button.warning
    assert purchase_count(owner_here.db) == 2 and (folder / "done" / "receipts-0412.csv").exists()
    (folder / "broken.csv").write_text("nothing,useful\n1,2\n", encoding="utf-8")
    qtbot.waitUntil(lambda: "broken.csv" in button.full_text, timeout=5_000)
    assert button.warning and "not read: The file has no column receipt_no/小票号" in button.full_text
    assert "Click for the hand-off log" in button.toolTip()
    opened: list[HandoffLogDialog] = []
    monkeypatch.setattr(HandoffLogDialog, "exec", lambda dialog: opened.append(dialog) or 0)
    button.click()
    assert [d.table.rowCount() for d in opened] == [2]
    window.close()
    assert not window.handoff.running  # stopped with the window: the database closes after it


def test_the_window_starts_where_this_computer_left_off(qtbot, owner_here, folder) -> None:  # type: ignore[no-untyped-def]
    log_entries(folder)
    prefs = preferences.load()
    prefs.handoff_folder, prefs.handoff_staff = str(folder), "王店长"
    preferences.save(prefs)
    window = MainWindow(owner_here)  # a test is not the running app: the log is shown, nothing watched
    qtbot.addWidget(window)
    button = window.handoff_button
    assert not window.handoff.running and not button.isHidden()
    # The last file handed off, not a problem of an earlier session (the watcher tells it again if it stands).
    assert button.full_text == "Hand-off: export.xlsx — not read: The file has no column time/时间. Columns found: 小票号, 金额."
    assert button.warning and len(button.text()) < len(button.full_text)  # shortened to fit the status bar


# --------------------------------------------------------------------------- fits a 1024×768 screen


def test_the_status_bar_and_the_log_fit_a_1024_screen(qtbot, owner_here, folder, counter_screen) -> None:  # type: ignore[no-untyped-def]
    log_entries(folder)
    prefs = preferences.load()
    prefs.handoff_folder, prefs.handoff_staff = str(folder), "王店长"
    preferences.save(prefs)
    window = MainWindow(owner_here)
    qtbot.addWidget(window)
    window.resize(largest_content(window))
    window.show()
    window.show_view("settings")
    window.settings_page.setCurrentWidget(window.settings_page.computer_tab)
    settle()
    assert window.handoff_button.isVisible()
    assert out_of_view(window) == []
    dialog = HandoffLogDialog(str(folder), window)
    qtbot.addWidget(dialog)
    dialog.show()
    settle()
    assert out_of_view(dialog) == []
