"""A file export running in its own thread, with a progress dialog and Cancel: the member list's and the
audit log's exports share it. The thread (ExportThread, AuditExportThread) emits progressed(done, total),
succeeded(rows, path), failed(text) and cancelled(); the page hears one ``reported`` line and ``ended``."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from crmdesk.views.background import BackgroundThread


class ExportProgress(QObject):
    reported = Signal(str, bool)  # what to tell the person, and whether it is a failure
    ended = Signal()

    def __init__(self, parent: QWidget, thread: BackgroundThread, label: str, total: int,
                 done_text: Callable[[int, str], str]) -> None:
        super().__init__(parent)
        self.thread = thread
        self._done_text = done_text
        self._dialog = QProgressDialog(label, self.tr("Cancel"), 0, max(total, 1), parent)
        self._dialog.setWindowTitle(self.tr("Export"))
        self._dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self._dialog.setMinimumDuration(300)
        self._dialog.setAutoClose(False)
        self._dialog.setAutoReset(False)
        self._dialog.canceled.connect(thread.cancel)
        thread.progressed.connect(self._progressed)  # type: ignore[attr-defined]
        thread.succeeded.connect(self._succeeded)  # type: ignore[attr-defined]
        thread.failed.connect(lambda text: self.reported.emit(text, True))  # type: ignore[attr-defined]
        thread.cancelled.connect(  # type: ignore[attr-defined]
            lambda: self.reported.emit(self.tr("Export cancelled; no file was written."), False))
        thread.finished.connect(self._finished)

    def start(self) -> None:
        self.thread.start_kept()  # type: ignore[attr-defined]

    def cancel(self) -> None:
        self.thread.cancel()  # type: ignore[attr-defined]

    def _progressed(self, done: int, total: int) -> None:
        self._dialog.setMaximum(max(total, 1))
        self._dialog.setValue(min(done, max(total, 1)))

    def _succeeded(self, rows: int, path: str) -> None:
        self.reported.emit(self._done_text(rows, path), False)

    def _finished(self) -> None:
        self._dialog.close()
        self._dialog.deleteLater()
        self.ended.emit()
        self.deleteLater()
