"""Preview, print and save any printed document.

The document is made in the background (progress and cancel), then shown page
by page; only the pages in view are rasterised, so a 200-page member list opens
as fast as a one-page report. Options that change the document (orientation,
full phone numbers, card layout, month, period) sit above the preview and make
it again. Printing goes through the system print dialog; saving writes the very
PDF that is shown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pypdfium2 as pdfium
from PySide6.QtCore import QDate, QObject, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QKeySequence, QPainter, QPixmap
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDateEdit, QDialog, QFileDialog, QHBoxLayout, QLabel, QMessageBox, QProgressBar, QProgressDialog,
    QPushButton, QScrollArea, QVBoxLayout, QWidget,
)

from crmdesk import shop_time
from crmdesk.errors import CrmdeskError
from crmdesk.failures import explain
from crmdesk.reports.base import ReportCancelled
from crmdesk.reports.cards import CardLayout
from crmdesk.reports.documents import (
    AgingRequest, CardsRequest, ComplaintsMonthRequest, DocumentRequest, LiabilityRequest, LoyaltySummaryRequest, MemberListRequest,
    MemberReportRequest, StatementRequest, make_document, suggested_file_name, write_pdf,
)
from crmdesk.services.auth import Permission, can
from crmdesk.views.background import BackgroundThread
from crmdesk.views.common import error_text
from crmdesk.views.state import AppState

PAGE_GAP = 12  # pixels between pages in the preview
MAX_ZOOM = 96 / 72 * 2.5  # pixels per point: at most two and a half times the paper's size on a 96-dpi screen
PRINT_DPI_LIMIT = 600  # printers report more; text is sharp at this and pages stay quick


class DocumentThread(BackgroundThread):
    """Makes one document off the UI thread; the PDF (or what went wrong) comes back by signal."""

    progressed = Signal(int, int)
    succeeded = Signal(bytes)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, state: AppState, request: DocumentRequest, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.request = request

    def run(self) -> None:
        try:
            pdf = make_document(self._state.db, self._state.actor, self.request,
                                progress=self.progressed.emit, should_cancel=self.should_cancel)
        except ReportCancelled:
            self.cancelled.emit()
            return
        except Exception as exc:  # noqa: BLE001 - a full disk or a locked file must reach the person, not end the thread
            self.failed.emit(error_text(explain(exc)))
            return
        self.succeeded.emit(pdf)


@contextmanager
def _opened(pdf: bytes) -> Iterator[pdfium.PdfDocument]:
    document = pdfium.PdfDocument(pdf)
    try:
        yield document
    finally:
        document.close()


def page_image(page: pdfium.PdfPage, scale: float) -> QImage:
    """One PDF page as an image at ``scale`` pixels per point."""
    bitmap = page.render(scale=scale, rev_byteorder=True)  # RGB byte order, as QImage expects
    image = QImage(bytes(bitmap.buffer), bitmap.width, bitmap.height, bitmap.stride, QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels; the bitmap's buffer goes away


class PagesView(QScrollArea):
    """The document's pages one under the other, as wide as the view; pages are drawn when seen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.setStyleSheet("QScrollArea { background: #8a939c; }")
        self._pdf: bytes | None = None  # opened only while pages are drawn or printed
        self._labels: list[QLabel] = []
        self._drawn_width: dict[int, int] = {}
        self._sizes: list[tuple[float, float]] = []
        self._inner = QWidget()
        self._inner.setStyleSheet("background: #8a939c;")
        self._column = QVBoxLayout(self._inner)
        self._column.setSpacing(PAGE_GAP)
        self._column.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setWidget(self._inner)
        self.verticalScrollBar().valueChanged.connect(self._draw_visible)
        self._relayout = QTimer(self, singleShot=True, interval=80, timeout=self._fit)

    @property
    def page_count(self) -> int:
        return len(self._sizes)

    def drawn_pages(self) -> list[int]:
        return sorted(self._drawn_width)

    def show_pdf(self, pdf: bytes) -> None:
        self.clear()
        self._pdf = pdf
        with _opened(pdf) as document:
            self._sizes = [document.get_page_size(index) for index in range(len(document))]
        for _ in self._sizes:
            label = QLabel()
            label.setStyleSheet("background: white;")
            self._column.addWidget(label, 0, Qt.AlignmentFlag.AlignHCenter)
            self._labels.append(label)
        self._fit()

    def clear(self) -> None:
        for label in self._labels:
            label.deleteLater()
        self._labels.clear()
        self._drawn_width.clear()
        self._sizes = []
        self._pdf = None

    def _page_width(self) -> int:
        return max(200, self.viewport().width() - 2 * PAGE_GAP)

    def _fit(self) -> None:
        """Size every page to the view's width, then draw those in view."""
        for label, (page_w, page_h) in zip(self._labels, self._sizes, strict=True):
            width = min(self._page_width(), round(page_w * MAX_ZOOM))  # a card is not blown up to the window's width
            label.setFixedSize(width, round(width * page_h / page_w))
        self._inner.adjustSize()
        QTimer.singleShot(0, self, self._draw_visible)  # tied to this view: never runs after it is gone

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._relayout.start()

    def _draw_visible(self) -> None:
        if self._pdf is None:
            return
        top = self.verticalScrollBar().value()
        bottom = top + self.viewport().height()
        ratio = self.devicePixelRatioF()
        due = [index for index, label in enumerate(self._labels)
               if not (label.y() + label.height() < top or label.y() > bottom) and self._drawn_width.get(index) != label.width()]
        if not due:
            return
        with _opened(self._pdf) as document:
            for index in due:
                label = self._labels[index]
                page = document[index]
                image = page_image(page, label.width() * ratio / self._sizes[index][0])
                page.close()
                pixmap = QPixmap.fromImage(image)
                pixmap.setDevicePixelRatio(ratio)
                label.setPixmap(pixmap)
                self._drawn_width[index] = label.width()

    def print_to(self, printer: QPrinter, progress: QProgressDialog | None = None) -> int:
        """Send the pages (the printer's page range, if one was chosen) to ``printer``; the number printed."""
        assert self._pdf is not None
        first = max(printer.fromPage(), 1) if printer.fromPage() else 1
        last = min(printer.toPage(), self.page_count) if printer.toPage() else self.page_count
        dpi = min(printer.resolution(), PRINT_DPI_LIMIT)
        painter = QPainter()
        if not painter.begin(printer):
            return 0
        printed = 0
        document = pdfium.PdfDocument(self._pdf)
        try:
            for number in range(first, last + 1):
                if progress is not None:
                    progress.setValue(number - first)
                    if progress.wasCanceled():
                        break
                if number > first:
                    printer.newPage()
                page = document[number - 1]
                image = page_image(page, dpi / 72)
                page.close()
                target = painter.viewport()
                scaled = image.size().scaled(target.size(), Qt.AspectRatioMode.KeepAspectRatio)
                painter.setViewport(target.x(), target.y(), scaled.width(), scaled.height())
                painter.setWindow(image.rect())
                painter.drawImage(0, 0, image)
                painter.setViewport(target)
                printed += 1
        finally:
            painter.end()
            document.close()
        return printed


class ReportPreviewDialog(QDialog):
    """One document: its options, a preview, Print… and Save as PDF…."""

    documentReady = Signal()

    def __init__(self, state: AppState, request: DocumentRequest, title: str, *, subject: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.request = request
        self._subject = subject  # who or what the file name mentions
        self.pdf: bytes | None = None
        self._thread: DocumentThread | None = None
        self.last_message = ""
        self.setWindowTitle(title)
        self.resize(900, 1000)

        layout = QVBoxLayout(self)
        self.options_row = QHBoxLayout()
        self._build_options()
        self.options_row.addStretch(1)
        layout.addLayout(self.options_row)

        busy = QHBoxLayout()
        self.status_label = QLabel()
        busy.addWidget(self.status_label, 1)
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(320)
        busy.addWidget(self.progress_bar)
        self.cancel_button = QPushButton(self.tr("Stop"))
        self.cancel_button.clicked.connect(self.cancel)
        busy.addWidget(self.cancel_button)
        layout.addLayout(busy)

        self.pages = PagesView()
        layout.addWidget(self.pages, 1)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.print_button = QPushButton(self.tr("Print… (Ctrl+P)"))
        self.print_button.setShortcut(QKeySequence.StandardKey.Print)
        self.print_button.clicked.connect(self.ask_print)
        self.save_button = QPushButton(self.tr("Save as PDF… (Ctrl+S)"))
        self.save_button.setShortcut(QKeySequence.StandardKey.Save)
        self.save_button.clicked.connect(self.ask_save)
        close = QPushButton(self.tr("Close"))
        close.clicked.connect(self.reject)
        for button in (self.print_button, self.save_button, close):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.make()

    # ---- options per document

    def _build_options(self) -> None:
        request = self.request
        owner = can(self._state.actor, Permission.EXPORT_MEMBERS)
        if isinstance(request, MemberListRequest):
            self.landscape_box = QCheckBox(self.tr("Landscape (more columns)"))
            self.landscape_box.setChecked(request.landscape)
            self.landscape_box.toggled.connect(lambda on: self._change(landscape=on, columns=None))
            self.options_row.addWidget(self.landscape_box)
        if isinstance(request, (MemberListRequest, MemberReportRequest, StatementRequest)) and owner:
            self.full_phones_box = QCheckBox(self.tr("Full phone numbers (recorded in the audit log)"))
            self.full_phones_box.setChecked(request.full_phones)
            self.full_phones_box.toggled.connect(lambda on: self._change(full_phones=on))
            self.options_row.addWidget(self.full_phones_box)
        if isinstance(request, CardsRequest):
            self.layout_combo = QComboBox()
            self.layout_combo.addItem(self.tr("A4 sheets, 10 cards per page"), CardLayout.SHEET)
            self.layout_combo.addItem(self.tr("Single cards (85.6 × 54 mm card printer)"), CardLayout.SINGLE)
            self.layout_combo.setCurrentIndex(self.layout_combo.findData(request.layout))
            self.layout_combo.currentIndexChanged.connect(lambda _i: self._change(layout=self.layout_combo.currentData()))
            self.qr_box = QCheckBox(self.tr("QR code"))
            self.qr_box.setChecked(request.qr)
            self.qr_box.toggled.connect(lambda on: self._change(qr=on))
            self.options_row.addWidget(QLabel(self.tr("Layout:")))
            self.options_row.addWidget(self.layout_combo)
            self.options_row.addWidget(self.qr_box)
        if isinstance(request, (ComplaintsMonthRequest, LiabilityRequest)):
            self.month_edit = QDateEdit(QDate(request.month.year, request.month.month, 1))
            self.month_edit.setDisplayFormat("yyyy-MM")
            self.month_edit.setCalendarPopup(False)
            self.month_edit.dateChanged.connect(lambda d: self._change(month=date(d.year(), d.month(), 1)))
            self.options_row.addWidget(QLabel(self.tr("Month:")))
            self.options_row.addWidget(self.month_edit)
        if isinstance(request, AgingRequest):
            self.as_of_edit = self._date_edit(request.as_of or shop_time.today())
            self.as_of_edit.dateChanged.connect(lambda d: self._change(as_of=d.toPython()))
            self.options_row.addWidget(QLabel(self.tr("As of the end of:")))
            self.options_row.addWidget(self.as_of_edit)
        if isinstance(request, StatementRequest):
            self.start_edit = self._date_edit(request.first)
            self.end_edit = self._date_edit(request.last)
            self.start_edit.dateChanged.connect(lambda d: self._change(first=d.toPython()))
            self.end_edit.dateChanged.connect(lambda d: self._change(last=d.toPython()))
            self.options_row.addWidget(QLabel(self.tr("From:")))
            self.options_row.addWidget(self.start_edit)
            self.options_row.addWidget(QLabel(self.tr("To:")))
            self.options_row.addWidget(self.end_edit)
        if isinstance(request, LoyaltySummaryRequest):
            self.start_edit = self._date_edit(request.start)
            self.end_edit = self._date_edit(request.end)
            self.start_edit.dateChanged.connect(lambda d: self._change(start=d.toPython()))
            self.end_edit.dateChanged.connect(lambda d: self._change(end=d.toPython()))
            self.options_row.addWidget(QLabel(self.tr("From:")))
            self.options_row.addWidget(self.start_edit)
            self.options_row.addWidget(QLabel(self.tr("To:")))
            self.options_row.addWidget(self.end_edit)

    @staticmethod
    def _date_edit(day: date) -> QDateEdit:
        edit = QDateEdit(QDate(day.year, day.month, day.day))
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setCalendarPopup(True)
        return edit

    def _change(self, **changes: object) -> None:
        self.request = dataclasses.replace(self.request, **changes)  # type: ignore[type-var]
        self.make()

    # ---- making the document

    def make(self) -> None:
        """(Re)make the document for the current options, stopping one still being made."""
        if self._thread is not None:
            self._thread.cancel()
            self._thread.progressed.disconnect()
            self._thread.succeeded.disconnect()
            self._thread.failed.disconnect()
            self._thread.cancelled.disconnect()
        self.pdf = None
        self.pages.clear()
        self._set_busy(True)
        self.status_label.setText(self.tr("Preparing the document…"))
        self.progress_bar.setRange(0, 0)
        thread = DocumentThread(self._state, self.request)
        thread.progressed.connect(self._on_progress)
        thread.succeeded.connect(self._on_ready)
        thread.failed.connect(self._on_failed)
        thread.cancelled.connect(self._on_cancelled)
        self._thread = thread
        thread.start_kept()

    def cancel(self) -> None:
        if self._thread is not None:
            self._thread.cancel()

    def is_busy(self) -> bool:
        return self._thread is not None

    def _set_busy(self, busy: bool) -> None:
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.print_button.setEnabled(not busy and self.pdf is not None)
        self.save_button.setEnabled(not busy and self.pdf is not None)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(min(done, total))

    def _on_ready(self, pdf: bytes) -> None:
        self._thread = None
        self.pdf = pdf
        self.pages.show_pdf(pdf)
        self._set_busy(False)
        self.status_label.setText(self.tr("%n page(s)", "", self.pages.page_count))
        self.documentReady.emit()

    def _on_failed(self, message: str) -> None:
        self._thread = None
        self._set_busy(False)
        self.status_label.setText(message)
        self.last_message = message
        self.documentReady.emit()

    def _on_cancelled(self) -> None:
        self._thread = None
        self._set_busy(False)
        self.status_label.setText(self.tr("Stopped; change an option to make the document again."))
        self.documentReady.emit()

    # ---- print and save

    def ask_save(self) -> None:
        if self.pdf is None:
            return
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        suggested = f"{folder}/{suggested_file_name(self.request, self._subject)}"
        path, _filter = QFileDialog.getSaveFileName(self, self.tr("Save as PDF"), suggested, self.tr("PDF files (*.pdf)"))
        if path:
            if not path.lower().endswith(".pdf"):
                path += ".pdf"
            self.save_to(path)

    def save_to(self, path: str) -> bool:
        assert self.pdf is not None
        try:
            saved = write_pdf(path, self.pdf)
        except CrmdeskError as exc:
            self.last_message = error_text(exc)
        except OSError as exc:
            self.last_message = self.tr("Could not save {path}: {reason}").format(path=path, reason=exc.strerror or exc)
        else:
            self.last_message = self.tr("Saved {path}.").format(path=str(saved))
            self.status_label.setText(self.last_message)
            return True
        QMessageBox.warning(self, self.tr("Not saved"), self.last_message)
        return False

    def ask_print(self) -> None:
        if self.pdf is None:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(self.windowTitle())
        dialog = QPrintDialog(printer, self)
        dialog.setMinMax(1, self.pages.page_count)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.print_with(printer)

    def print_with(self, printer: QPrinter) -> int:
        pages = self.pages.page_count
        progress = QProgressDialog(self.tr("Printing…"), self.tr("Cancel"), 0, pages, self)
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(500)
        printed = self.pages.print_to(printer, progress)
        progress.setValue(pages)
        self.last_message = self.tr("Sent %n page(s) to the printer.", "", printed)
        self.status_label.setText(self.last_message)
        return printed

    def done(self, result: int) -> None:  # noqa: D401 - Qt's name
        self.cancel()
        self.pages.clear()
        super().done(result)



def open_preview(parent: QWidget, state: AppState, request: DocumentRequest, title: str, *,
                 subject: str = "") -> ReportPreviewDialog:
    """Open the preview of a document beside the window it was asked from (not blocking it)."""
    dialog = ReportPreviewDialog(state, request, title, subject=subject, parent=parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
