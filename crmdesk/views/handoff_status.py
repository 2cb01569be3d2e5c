"""The POS hand-off folder while the app is open: the watcher on its own thread, and its word on the status bar.

``HandoffRunner`` runs services/handoff.py's watcher on a thread of its own (file reads and imports never
touch the UI thread); each hand-off and problem comes back by the ``handedOff`` signal. The main window
starts it when this computer has a hand-off folder (Settings → This computer) and stops it on close.
``HandoffStatusButton`` shows the last hand-off ("Hand-off: receipts-0412.csv — 37 imported, 2 rejected"),
in red when nothing of a file was imported or the hand-off is held up; clicking it opens the log.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal
from PySide6.QtWidgets import QPushButton, QWidget

from crmdesk import shop_time
from crmdesk.db import Database
from crmdesk.services import handoff
from crmdesk.services.handoff import Handoff, HandoffWatcher, Outcome
from crmdesk.views.common import mark_data
from crmdesk.views.handoff_log import ATTENTION, ATTENTION_COLOUR, entry_summary

MAX_TEXT_WIDTH = 340  # pixels of the status bar the button may take; the whole text is in its tooltip
WARNING_STYLE = f"QPushButton {{ color: {ATTENTION_COLOUR}; font-weight: bold; }}"


def _translate_error(text: str) -> str:
    return QCoreApplication.translate("errors", text)


class _WatcherThread(QThread):
    handedOff = Signal(object)  # noqa: N815 - Qt signal naming; a services.handoff.Handoff

    def __init__(self, db: Database, folder: str, acting_as: str, quiet_seconds: float, rescan_seconds: float,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        # on_handoff is called on this thread; the signal takes each entry to the UI thread.
        self.watcher = HandoffWatcher(db, folder, acting_as=acting_as or None, quiet_seconds=quiet_seconds,
                                      rescan_seconds=rescan_seconds, on_handoff=self.handedOff.emit,
                                      translate=_translate_error)

    def run(self) -> None:
        self.watcher.run()


class HandoffRunner(QObject):
    """Watches this computer's hand-off folder on its own thread while the window is open."""

    handedOff = Signal(object)  # noqa: N815 - each hand-off or problem (Handoff), on the UI thread

    def __init__(self, db: Database, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._thread: _WatcherThread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def folder(self) -> str:
        return str(self._thread.watcher.folder) if self._thread is not None else ""

    def start(self, folder: str, acting_as: str) -> None:
        """Watch ``folder`` (instead of any other), importing as ``acting_as`` ("": the owner)."""
        self.stop()
        thread = _WatcherThread(self._db, folder, acting_as, handoff.QUIET_SECONDS, handoff.RESCAN_SECONDS, self)
        thread.handedOff.connect(self.handedOff, Qt.ConnectionType.QueuedConnection)
        self._thread = thread
        thread.start()

    def stop(self) -> None:
        """Stop watching; waits for the file in hand (an import is one transaction, finished rather than cut)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.watcher.stop()
            thread.wait()


class HandoffStatusButton(QPushButton):
    """The status bar's word on the hand-off folder; hidden while this computer has none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFlat(True)
        self.setMaximumWidth(MAX_TEXT_WIDTH)
        mark_data(self)  # file names and messages; the words around them are translated
        self.warning = False
        self.folder = ""
        self.full_text = ""  # the text before it was shortened to fit
        self.hide()

    def watch(self, folder: str) -> None:
        """Show the folder's last hand-off (from the log) until the watcher reports anew; hide for no folder."""
        folder = str(Path(folder).expanduser().absolute()) if folder else ""  # as the watcher and its log name it
        self.folder = folder
        if not folder:
            self.setText("")
            self.hide()
            return
        # A problem from an earlier session may be over: the watcher reports it again if it is not.
        last = next((entry for entry in handoff.recent_handoffs(20, folder=folder)
                     if entry.outcome not in (Outcome.PROBLEM, Outcome.RESUMED)), None)
        if last is not None:
            self.show_entry(last)
        else:
            self._show(self.tr("Hand-off: waiting for receipts"),
                       self.tr("The till's exports saved in {folder} are imported as they appear.").format(folder=folder),
                       False)
        self.show()

    def show_entry(self, entry: Handoff) -> None:
        if entry.folder != self.folder:
            return  # from a watch of another folder, ended a moment ago
        summary = entry_summary(entry)
        when = shop_time.format_time(entry.at)
        tip = self.tr("{when}: {summary}\nFolder: {folder}\nClick for the hand-off log.").format(
            when=when, summary=summary, folder=entry.folder)
        self._show(self.tr("Hand-off: {summary}").format(summary=summary), tip, entry.outcome in ATTENTION)

    def _show(self, text: str, tip: str, warning: bool) -> None:
        self.warning = warning
        self.full_text = text
        # Elided to fit beside the other status bar words on a 1024-pixel screen; the tooltip has it all.
        room = MAX_TEXT_WIDTH - 2 * self.style().pixelMetric(self.style().PixelMetric.PM_ButtonMargin) - 8
        self.setText(self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, room))
        self.setToolTip(tip)
        self.setStyleSheet(WARNING_STYLE if warning else "")
