"""The counter's slips: the top-up receipt, the cash-out slip and the IOU (赊账单) the member signs.

With a receipt printer set for this computer (Settings → This computer) a slip goes straight to it, off the
UI thread so a slow or absent printer never holds the queue; without one it opens in the preview, for the
system printer. Either way ``done`` brings back the line to show: printed, or why not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtWidgets import QDialog, QWidget

from crmdesk import preferences
from crmdesk.errors import CrmdeskError
from crmdesk.texts import QT_TRANSLATE_NOOP
from crmdesk.views.background import BackgroundThread
from crmdesk.views.common import error_text
from crmdesk.views.state import AppState

if TYPE_CHECKING:
    from crmdesk.reports.documents import SlipRequest

SLIP_TITLES = {
    "topup": QT_TRANSLATE_NOOP("SlipPrinter", "Top-up receipt"),
    "cashout": QT_TRANSLATE_NOOP("SlipPrinter", "Cash-out slip"),
    "iou": QT_TRANSLATE_NOOP("SlipPrinter", "IOU"),
}


def slip_title(kind: str) -> str:
    return QCoreApplication.translate("SlipPrinter", SLIP_TITLES[kind])


class SlipThread(BackgroundThread):
    """Sends one slip to the receipt printer; ``done`` carries "" when it printed, else what went wrong."""

    done = Signal(str)

    def __init__(self, state: AppState, request: SlipRequest, address: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.request = request
        self.address = address

    def run(self) -> None:
        from crmdesk.printing.receipt import print_slip  # python-escpos loads only when a slip is printed

        try:
            print_slip(self._state.db, self._state.actor, self.request, self.address)
        except CrmdeskError as exc:
            self.done.emit(error_text(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a driver's error must reach the cashier, not end the thread
            self.done.emit(str(exc))
            return
        self.done.emit("")


class SlipPrinter(QObject):
    """Prints slips for one screen; ``done`` says what happened, in a line for the screen's result."""

    done = Signal(str)

    def __init__(self, state: AppState, parent: QWidget) -> None:
        super().__init__(parent)
        self._state = state
        self._parent = parent
        self.preview: QDialog | None = None
        self.thread: SlipThread | None = None

    def print_slip(self, kind: str, entry_id: int) -> None:
        from crmdesk.reports.documents import SlipRequest  # reportlab loads with the first slip, not at start

        prefs = preferences.load()
        request = SlipRequest(kind, entry_id, prefs.slip_width_mm)
        if prefs.receipt_printer:
            thread = SlipThread(self._state, request, prefs.receipt_printer)
            thread.done.connect(lambda problem, k=kind: self._printed(k, problem))
            self.thread = thread
            thread.start_kept()
            return
        from crmdesk.views.report_preview import ReportPreviewDialog

        self.preview = ReportPreviewDialog(self._state, request, slip_title(kind), parent=self._parent)
        self.preview.finished.connect(lambda _result: self._preview_closed())
        self.preview.open()

    def _printed(self, kind: str, problem: str) -> None:
        self.thread = None
        if problem:
            self.done.emit(self.tr("{slip} not printed: {problem} Ctrl+P tries again.").format(slip=slip_title(kind), problem=problem))
        else:
            self.done.emit(self.tr("{slip} printed.").format(slip=slip_title(kind)))

    def _preview_closed(self) -> None:
        self.preview = None
        self.done.emit("")
