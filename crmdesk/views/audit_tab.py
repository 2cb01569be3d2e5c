"""The audit log for owners (a Settings tab): who did what, when, to which member.

``AuditLogModel`` counts the filtered events and reads them a page at a time
(PagedRows over ``audit.list_events``), newest first; ``AuditTab`` puts the
filters (staff, action, days, member, sensitive only) and Export… around it.
The service checks the permission again on every read.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QCoreApplication, QDate, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Signal,
)
from PySide6.QtGui import QFont, QFontMetrics, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDateEdit, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
    QPushButton, QVBoxLayout, QWidget,
)

from crmdesk import shop_time
from crmdesk.errors import CrmdeskError
from crmdesk.services import audit, audit_actions
from crmdesk.services.audit import AuditFilter, AuditRow
from crmdesk.services.exports import FORMATS
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP
from crmdesk.views.background import BackgroundThread
from crmdesk.views.common import error_text, mark_data, mark_data_columns, paged_table
from crmdesk.views.export_progress import ExportProgress
from crmdesk.views.flow_layout import FlowLayout, side_by_side
from crmdesk.views.paged_rows import PagedTableModel
from crmdesk.views.state import AppState

PAGE_SIZE = 100
MAX_PAGES = 20
ROW_HEIGHT = 26
ACTION_WIDTH_MIN, ACTION_WIDTH_MAX = 110, 260
# The table's columns: key and header (the export's headers, "audit" context).
COLUMNS = ("at", "staff", "label", "member", "details")
HEADERS = dict(audit.EXPORT_COLUMNS)
# Who did what the program did by itself (a lock-out after wrong PINs, credit stopped when overdue).
NO_STAFF = QT_TRANSLATE_NOOP("audit", "(automatic)")
SENSITIVE_TIP = QT_TRANSLATE_NOOP("audit", "Sensitive: personal data left the program, data was erased or restored, "
                                           "or money or points were changed by hand.")


def _translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


def staff_text(name: str) -> str:
    return name or _translate("audit", NO_STAFF)


def display_values(row: AuditRow) -> tuple[str, ...]:
    """What each column shows for one event, in COLUMNS order."""
    return (shop_time.to_shop(row.at).strftime("%Y-%m-%d %H:%M:%S"), staff_text(row.staff_name), row.action_label,
            row.member_text, row.summary)


class AuditLogModel(PagedTableModel):
    """The filtered events, newest first, read a page at a time as the view asks for rows."""

    failed = Signal(str)

    def __init__(self, state: AppState, parent: QObject | None = None, *, page_size: int = PAGE_SIZE,
                 max_pages: int = MAX_PAGES) -> None:
        super().__init__(parent, page_size=page_size, max_pages=max_pages, operations=state.operations)
        self._state = state
        self._filter = AuditFilter()

    @property
    def audit_filter(self) -> AuditFilter:
        return self._filter

    def set_filter(self, flt: AuditFilter) -> None:
        """Show the events this filter lets through (InvalidInput if it is impossible; the list is then unchanged)."""
        flt.validate()
        self.beginResetModel()
        self._filter = flt
        self._recount()
        self.endResetModel()

    def _count_rows(self) -> int:
        try:
            with read_session(self._state.db) as session:
                return audit.count_events(session, self._state.actor, self._filter)
        except CrmdeskError as exc:
            self.failed.emit(error_text(exc))
            return 0

    def _fetch(self, offset: int, limit: int) -> list[tuple[AuditRow, tuple[str, ...]]]:
        try:
            with read_session(self._state.db) as session:
                rows = audit.list_events(session, self._state.actor, self._filter, limit=limit, offset=offset,
                                         translate=_translate)
        except CrmdeskError as exc:
            self.failed.emit(error_text(exc))
            return []
        return [(row, display_values(row)) for row in rows]

    def row_at(self, row: int) -> AuditRow | None:
        entry = self._entry(row)
        return entry[0] if entry else None

    # ---- Qt model interface

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                                               Qt.ItemDataRole.FontRole):
            return None
        entry = self._rows.get(index.row(), self._count)
        if entry is None:
            return None
        row, texts = entry
        if role == Qt.ItemDataRole.FontRole:
            if not row.sensitive:
                return None
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            key = COLUMNS[index.column()]
            if key == "label":
                tip = f"{row.action_label} ({row.action})"
                return tip + "\n" + _translate("audit", SENSITIVE_TIP) if row.sensitive else tip
            return texts[index.column()] if key in ("details", "member") and texts[index.column()] else None
        return texts[index.column()]

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt's name
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            return _translate("audit", HEADERS[COLUMNS[section]])
        return None


class AuditExportThread(BackgroundThread):
    """Writes one export off the UI thread and records it; results come back by signal."""

    progressed = Signal(int, int)
    succeeded = Signal(int, str)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, state: AppState, flt: AuditFilter, path: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._filter = flt
        self._path = path

    def run(self) -> None:
        from crmdesk.services.exports import ExportCancelled

        try:
            with read_session(self._state.db) as session:
                rows = audit.export_events(session, self._state.actor, self._filter, self._path, translate=_translate,
                                           progress=lambda done, total: self.progressed.emit(done, total),
                                           should_cancel=self.should_cancel)
            with unit_of_work(self._state.db) as session:
                audit.record_export(session, self._state.actor, self._path, rows, self._filter)
        except ExportCancelled:
            self.cancelled.emit()
            return
        except CrmdeskError as exc:
            self.failed.emit(error_text(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a disk or driver error must reach the person, not kill the thread
            self.failed.emit(str(exc))
            return
        self.succeeded.emit(rows, self._path)


def _date_edit() -> QDateEdit:
    """A day box that may be empty: its lowest date stands for "any day" and shows a dash."""
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMinimumDate(QDate(2000, 1, 1))
    edit.setSpecialValueText("—")
    edit.setDate(edit.minimumDate())
    return edit


def _day_of(edit: QDateEdit) -> date | None:
    value = edit.date()
    return None if value == edit.minimumDate() else date(value.year(), value.month(), value.day())


class AuditTab(QWidget):
    """Browse, filter and export the audit log (the owner's)."""

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        self._loading = False
        self._sized = False
        self._export: ExportProgress | None = None
        self.last_export_message = ""

        layout = QVBoxLayout(self)
        layout.addLayout(self._build_filters())

        self.model = AuditLogModel(state, self)
        self.model.countChanged.connect(self._show_count)
        self.model.failed.connect(self._fail)
        self.table = paged_table(self.model, ROW_HEIGHT)
        for key, width in (("at", 145), ("staff", 90), ("label", 190), ("member", 150)):
            self.table.setColumnWidth(COLUMNS.index(key), width)
        # Staff names, members and the details are data; the time and the action's label are interface text.
        mark_data_columns(self.table, COLUMNS.index("staff"), COLUMNS.index("member"), COLUMNS.index("details"))
        layout.addWidget(self.table, 1)

        self.message = QLabel()
        self.message.setObjectName("errorLabel")
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(300)
        self._filter_timer.timeout.connect(self.apply_filter)
        self._connect_filters()
        self.reload()

    # ---- building

    def _build_filters(self) -> QVBoxLayout:
        self.staff_box = QComboBox()
        mark_data(self.staff_box)  # staff names; its first item is translated all the same
        self.action_box = QComboBox()
        self.action_box.setMaxVisibleItems(20)
        self.from_edit = _date_edit()
        self.to_edit = _date_edit()
        self.member_edit = QLineEdit()
        self.member_edit.setPlaceholderText(self.tr("Member: name, phone or card…"))
        self.member_edit.setClearButtonEnabled(True)
        self.member_edit.setMinimumWidth(200)
        self.sensitive_box = QCheckBox(self.tr("Sensitive only"))
        self.sensitive_box.setToolTip(_translate("audit", SENSITIVE_TIP))
        self.clear_button = QPushButton(self.tr("Clear filters"))
        self.clear_button.clicked.connect(self.clear_filters)
        flow = FlowLayout()
        flow.addWidget(side_by_side(QLabel(self.tr("Staff:")), self.staff_box))
        flow.addWidget(side_by_side(QLabel(self.tr("Action:")), self.action_box))
        flow.addWidget(side_by_side(QLabel(self.tr("Days:")), self.from_edit, QLabel("–"), self.to_edit))
        flow.addWidget(self.member_edit)
        flow.addWidget(self.sensitive_box)
        flow.addWidget(self.clear_button)

        self.count_label = QLabel()
        self.count_label.setObjectName("hintLabel")
        mark_data(self.count_label)
        self.refresh_button = QPushButton(self.tr("Refresh"))
        self.refresh_button.clicked.connect(self.reload)
        self.export_button = QPushButton(self.tr("Export…"))
        self.export_button.clicked.connect(self.ask_export)
        row = QHBoxLayout()
        row.addWidget(self.count_label, 1)
        row.addWidget(self.refresh_button)
        row.addWidget(self.export_button)

        column = QVBoxLayout()
        column.addLayout(flow)
        column.addLayout(row)
        return column

    def _connect_filters(self) -> None:
        for box in (self.staff_box, self.action_box):
            box.currentIndexChanged.connect(self._filter_changed)
        for edit in (self.from_edit, self.to_edit):
            edit.dateChanged.connect(self._filter_changed)
        self.member_edit.textChanged.connect(self._filter_changed)
        self.sensitive_box.toggled.connect(self._filter_changed)

    # ---- choices and rows from the database

    def reload(self) -> None:
        """The staff and actions the log holds now (keeping what is chosen), and the rows again: read off the UI
        thread."""
        actor = self._state.actor
        self._state.operations.read(
            self._state.db, lambda session: (audit.staff_names_present(session, actor), audit.actions_present(session, actor)),
            lambda present: self._show_choices(*present), lambda error: self._fail(error_text(error)),
            key=f"audit-choices-{id(self)}", owner=self)

    def _show_choices(self, names: list[str], actions: list[str]) -> None:
        self._loading = True
        try:
            staff = self.staff_box.currentData() if self.staff_box.currentIndex() > 0 else None
            self.staff_box.clear()
            self.staff_box.addItem(self.tr("Anyone"), None)
            for name in names:
                self.staff_box.addItem(staff_text(name), name)
            self.staff_box.setCurrentIndex(max(self.staff_box.findData(staff), 0) if staff is not None else 0)
            action = self.action_box.currentData() or ""
            self.action_box.clear()
            self.action_box.addItem(self.tr("Any action"), "")
            areas = [(prefix, label) for prefix, label in audit_actions.AREA_LABELS.items()
                     if any(name.startswith(prefix) for name in actions)]
            for prefix, label in areas:
                self.action_box.addItem(_translate("audit", label), prefix)
            if areas:
                self.action_box.insertSeparator(self.action_box.count())
            for name in actions:  # in the order of their names: an area's actions stay together
                self.action_box.addItem(audit_actions.action_label(name, _translate), name)
                self.action_box.setItemData(self.action_box.count() - 1, name, Qt.ItemDataRole.ToolTipRole)
            self.action_box.setCurrentIndex(max(self.action_box.findData(action), 0))
        finally:
            self._loading = False
        if not self._sized and actions:
            self._sized = True
            self._fit_action_column([audit_actions.action_label(name, _translate) for name in actions])
        self.apply_filter()

    def _fit_action_column(self, labels: list[str]) -> None:
        """As wide as the longest label the log holds (in bold, as sensitive rows show it): the details get the rest."""
        font = QFont(self.table.font())
        font.setBold(True)
        widest = max(QFontMetrics(font).horizontalAdvance(label) for label in labels)
        self.table.setColumnWidth(COLUMNS.index("label"), max(ACTION_WIDTH_MIN, min(widest + 16, ACTION_WIDTH_MAX)))

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Coming back to the tab shows what was recorded meanwhile."""
        super().showEvent(event)
        if not self._filter_timer.isActive():
            self.model.refresh()

    # ---- filtering

    def _filter_changed(self) -> None:
        if not self._loading:
            self._filter_timer.start()

    def current_filter(self) -> AuditFilter:
        staff = self.staff_box.currentData() if self.staff_box.currentIndex() > 0 else None
        return AuditFilter(staff=staff, action=self.action_box.currentData() or "", date_from=_day_of(self.from_edit),
                           date_to=_day_of(self.to_edit), member_text=self.member_edit.text().strip(),
                           sensitive_only=self.sensitive_box.isChecked())

    def apply_filter(self) -> bool:
        self._filter_timer.stop()
        try:
            self.model.set_filter(self.current_filter())
        except CrmdeskError as exc:
            self._fail(error_text(exc))
            return False
        self.message.hide()
        return True

    def clear_filters(self) -> None:
        self._loading = True
        try:
            self.staff_box.setCurrentIndex(0)
            self.action_box.setCurrentIndex(0)
            for edit in (self.from_edit, self.to_edit):
                edit.setDate(edit.minimumDate())
            self.member_edit.clear()
            self.sensitive_box.setChecked(False)
        finally:
            self._loading = False
        self.apply_filter()

    def _show_count(self, count: int) -> None:
        self.count_label.setText(self.tr("{count} events").format(count=f"{count:,}"))

    def _fail(self, text: str) -> None:
        self._say(text, "errorLabel")

    def _note(self, text: str) -> None:
        self._say(text, "hintLabel")

    def _say(self, text: str, style: str) -> None:
        self.message.setObjectName(style)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)
        self.message.show()

    # ---- export

    def ask_export(self) -> None:
        if not self.apply_filter():
            return
        suggested = str(Path.home() / self.tr("audit-log-{date}.xlsx").format(date=shop_time.today().isoformat()))
        path, _chosen = QFileDialog.getSaveFileName(
            self, self.tr("Export the audit log"), suggested,
            self.tr("Excel workbook (*.xlsx);;CSV for Excel and WPS (*.csv)"),
        )
        if path:
            if Path(path).suffix.lower() not in FORMATS:
                path += ".xlsx"
            self.start_export(path)

    def start_export(self, path: str) -> AuditExportThread | None:
        """Export the events the filters show, newest first, in the background."""
        if self._export is not None:
            return None
        thread = AuditExportThread(self._state, self.model.audit_filter, path)
        runner = ExportProgress(self, thread, self.tr("Exporting the audit log…"), self.model.total,
                                lambda rows, path: self.tr("Exported {count} events to {path}.").format(count=f"{rows:,}", path=path))
        runner.reported.connect(self._export_reported)
        runner.ended.connect(self._export_ended)
        self._export = runner
        self.export_button.setEnabled(False)
        runner.start()
        return thread

    def _export_reported(self, text: str, failed: bool) -> None:
        self.last_export_message = text
        (self._fail if failed else self._note)(text)

    def _export_ended(self) -> None:
        self._export = None
        self.export_button.setEnabled(True)
        self.model.refresh()  # the export itself is in the log now
