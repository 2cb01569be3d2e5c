"""The member list: every member in a table that only ever holds what is on screen.

``MemberListModel`` knows the filtered count and keeps a small LRU of pages
(200 rows each) fetched on demand through ``member_query.page``; sorting and
filtering start again from a count. ``MemberListPage`` puts a filter bar, the
saved groups ("smart groups"), column choice and export around it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QCoreApplication, QDate, QEvent, QModelIndex, QObject, QPersistentModelIndex, QSettings, Qt, QTimer, Signal,
)
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDateEdit, QDialog, QDialogButtonBox, QFileDialog,
    QInputDialog, QLabel, QLineEdit, QMessageBox, QPushButton, QSpinBox,
    QVBoxLayout, QWidget,
)

from crmdesk import shop_time
from crmdesk.db import Database
from crmdesk.errors import CrmdeskError
from crmdesk.failures import explain
from crmdesk.models import MemberStatus
from crmdesk.paths import data_dir
from crmdesk.reports.documents import CardsRequest, MemberListRequest
from crmdesk.services import exports, insight_rules, member_query
from crmdesk.services.member_query import (
    COLUMN_LABELS, COLUMNS, GENDER_LABELS, SORT_KEYS, STATUS_LABELS, MemberFilter, MemberRow,
)
from crmdesk.services.auth import Permission, can
from crmdesk.services.live import Changes
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.background import BackgroundThread
from crmdesk.views.common import error_text, format_fen, mark_data, show_error, paged_table
from crmdesk.views.export_progress import ExportProgress
from crmdesk.views.flow_layout import FlowLayout, side_by_side
from crmdesk.views.live_changes import ShownRefresh, follow
from crmdesk.views.operations import Operations
from crmdesk.views.paged_rows import PagedTableModel
from crmdesk.views.report_preview import ReportPreviewDialog, open_preview
from crmdesk.views.state import AppState

PAGE_SIZE = 200
MAX_PAGES = 20
ROW_HEIGHT = 26
NUMERIC = frozenset({"points", "visits", "spend", "wallet", "owed", "p_alive", "value"})
# Shown until the person chooses columns: all but these (the insight's segment and stage are in; the rest would
# crowd a 1024-pixel screen and are a tick away in Columns…).
HIDDEN_AT_FIRST = ("gender", "tags", "abc", "p_alive", "value")
SETTINGS_FILE = "member_list.ini"


def _translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


def _insight_word(labels: dict[str, str], code: str | None) -> str:
    """A segment, ABC class or stage in the interface's language; empty without figures."""
    if not code:
        return ""
    return _translate("insight", labels[code]) if code in labels else code


def display_values(row: MemberRow, zone: Any) -> tuple[str, ...]:
    """What each column shows for one row, in COLUMNS order."""
    last_visit = row.last_visit_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if row.last_visit_at else ""
    values = {
        "member_no": row.member_no,
        "name": row.name,
        "phone": exports.phone_text(row.phone),
        "gender": _translate("terms", GENDER_LABELS[row.gender]),
        "birthday": row.birthday.isoformat() if row.birthday else "",
        "tier": row.tier_name,
        "points": f"{row.points_balance:,}",
        "visits": f"{row.visit_count:,}",
        "spend": format_fen(row.total_spend_fen),
        "last_visit": last_visit,
        "joined": row.joined_on.isoformat(),
        "status": _translate("terms", STATUS_LABELS[row.status]),
        "tags": ", ".join(row.tags),
        "card": row.card_number or "",
        "wallet": format_fen(row.wallet_fen),
        "owed": format_fen(row.owed_fen),
        "segment": _insight_word(insight_rules.SEGMENT_LABELS, row.segment),
        "abc": _insight_word(insight_rules.ABC_LABELS, row.abc_class),
        "stage": _insight_word(insight_rules.STAGE_LABELS, row.stage),
        "p_alive": exports.p_alive_text(row.p_alive),
        "value": format_fen(row.expected_value_fen) if row.expected_value_fen is not None else "",
    }
    return tuple(values[key] for key in COLUMNS)


class MemberListModel(PagedTableModel):
    """A table over the filtered members that fetches pages as the view asks for rows.

    ``pages_fetched`` counts the page queries made since the last reset (and
    ``fetched_offsets`` lists them), so tests and the benchmark can see that
    opening the list did not read the whole table."""

    sortChanged = Signal(int, Qt.SortOrder)

    def __init__(self, db: Database, parent: QObject | None = None, *, page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES,
                 operations: Operations | None = None) -> None:
        super().__init__(parent, page_size=page_size, max_pages=max_pages, operations=operations)
        self._db = db
        self._filter = MemberFilter()
        self._sort = member_query.DEFAULT_SORT
        self._descending = False
        self._zone = member_query.local_zone()
        self._recount()

    # ---- state

    @property
    def member_filter(self) -> MemberFilter:
        return self._filter

    @property
    def sort_key(self) -> str:
        return self._sort

    @property
    def descending(self) -> bool:
        return self._descending

    def set_filter(self, flt: MemberFilter) -> None:
        """Show the members this filter lets through (InvalidInput if it is impossible; the list is then unchanged)."""
        flt.validate()
        self.beginResetModel()
        self._filter = flt
        self._recount()
        self.endResetModel()

    def reread(self) -> None:
        """Read again in place after changes elsewhere: the rows on show get their new figures, rows come or go at
        the end, and the list keeps its scroll position and selection (a reset would jump back to the top)."""
        self.count_then(self._reread)

    def _reread(self, count: int) -> None:
        self._rows.clear()
        if count > self._count:
            self.beginInsertRows(QModelIndex(), self._count, count - 1)
            self._count = count
            self.endInsertRows()
        elif count < self._count:
            self.beginRemoveRows(QModelIndex(), count, self._count - 1)
            self._count = count
            self.endRemoveRows()
        if self._count:
            self.dataChanged.emit(self.index(0, 0), self.index(self._count - 1, len(COLUMNS) - 1))
        self.countChanged.emit(self._count)

    def _count_rows(self) -> int:
        with read_session(self._db) as session:
            return member_query.count(session, self._filter, zone=self._zone)

    # ---- rows

    def _fetch(self, offset: int, limit: int) -> list[tuple[MemberRow, tuple[str, ...]]]:
        with read_session(self._db) as session:
            rows = member_query.page(
                session, self._filter, self._sort, self._descending, offset, limit, total=self._count, zone=self._zone
            )
        return [(row, display_values(row, self._zone)) for row in rows]

    def row_at(self, row: int) -> MemberRow | None:
        entry = self._entry(row)
        return entry[0] if entry else None

    # ---- Qt model interface

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if COLUMNS[index.column()] in NUMERIC:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.UserRole, Qt.ItemDataRole.ToolTipRole):
            return None
        entry = self._entry(index.row())
        if entry is None:
            return None
        if role == Qt.ItemDataRole.UserRole:
            return entry[0].id
        text = entry[1][index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return text if COLUMNS[index.column()] in ("tags", "abc") and text else None  # the long ones, cut short
        return text

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            return _translate("columns", COLUMN_LABELS[COLUMNS[section]])
        if orientation == Qt.Orientation.Vertical:
            return str(section + 1)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Re-query in the order of this column; columns without an index (gender, tags, card,
        stored value, the insight's figures) keep the current order."""
        key = COLUMNS[column] if 0 <= column < len(COLUMNS) else ""
        descending = order == Qt.SortOrder.DescendingOrder
        if key in SORT_KEYS and (key, descending) != (self._sort, self._descending):
            self.beginResetModel()
            self._sort, self._descending = key, descending
            self._rows.clear()
            self.endResetModel()
        self.sortChanged.emit(self.sort_column(), self.sort_order())

    def set_sort(self, key: str, descending: bool = False) -> None:
        member_query.check_sort(key)
        self.sort(COLUMNS.index(key), Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder)

    def sort_column(self) -> int:
        return COLUMNS.index(self._sort)

    def sort_order(self) -> Qt.SortOrder:
        return Qt.SortOrder.DescendingOrder if self._descending else Qt.SortOrder.AscendingOrder


# --------------------------------------------------------------------------- background export


class ExportThread(BackgroundThread):
    """Runs one export off the UI thread; results come back by signal."""

    progressed = Signal(int, int)
    succeeded = Signal(int, str)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, state: AppState, flt: MemberFilter, sort: str, descending: bool, path: str, columns: list[str],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._args = (flt, sort, descending, path, columns)
        # Translated here, on the UI thread: headers and words as the person reads them.
        self._headers = {key: _translate("columns", label) for key, label in COLUMN_LABELS.items()}
        self._labels: dict[Any, str] = {s: _translate("terms", label) for s, label in STATUS_LABELS.items()}
        self._labels.update({g: _translate("terms", label) for g, label in GENDER_LABELS.items()})
        self._labels.update(exports.insight_labels(_translate))

    def run(self) -> None:
        flt, sort, descending, path, columns = self._args
        try:
            with read_session(self._state.db) as session:
                rows = exports.export_members(
                    session, flt, sort, descending, path, columns,
                    progress=lambda done, total: self.progressed.emit(done, total),
                    should_cancel=self.should_cancel,
                    actor=self._state.actor,
                    headers=self._headers,
                    labels=self._labels,
                )
            with unit_of_work(self._state.db) as session:
                exports.record_export(session, self._state.actor, path, rows, flt)
        except exports.ExportCancelled:
            self.cancelled.emit()
            return
        except Exception as exc:  # noqa: BLE001 - a full disk or a locked file must reach the person, not end the thread
            self.failed.emit(error_text(explain(exc)))
            return
        self.succeeded.emit(rows, path)


# --------------------------------------------------------------------------- dialogs


class ColumnsDialog(QDialog):
    """Tick the columns the list shows."""

    def __init__(self, visible: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Columns"))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(self.tr("Show these columns:")))
        self.boxes: dict[str, QCheckBox] = {}
        for key in COLUMNS:
            box = QCheckBox(_translate("columns", COLUMN_LABELS[key]))
            box.setChecked(key in visible)
            self.boxes[key] = box
            layout.addWidget(box)
        self.boxes["name"].setChecked(True)
        self.boxes["name"].setEnabled(False)  # a list without names helps nobody
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def chosen(self) -> list[str]:
        return [key for key, box in self.boxes.items() if box.isChecked()]


def _date_edit() -> QDateEdit:
    """A date box that may be empty: its lowest date stands for "any" and shows a dash."""
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMinimumDate(QDate(1900, 1, 1))
    edit.setSpecialValueText("—")
    edit.setDate(edit.minimumDate())
    return edit


def _date_of(edit: QDateEdit) -> date | None:
    if edit.date() == edit.minimumDate():
        return None
    value = edit.date()
    return date(value.year(), value.month(), value.day())


def _set_date(edit: QDateEdit, value: date | None) -> None:
    edit.setDate(QDate(value.year, value.month, value.day) if value else edit.minimumDate())


class PercentBox(QSpinBox):
    """A percentage that may be empty: its lowest value (-1) stands for "any" and shows a dash.
    The arrows move in tens (any, 0, 10 … 100); any whole number can be typed."""

    def __init__(self) -> None:
        super().__init__()
        self.setRange(-1, 100)
        self.setSuffix(" %")
        self.setSpecialValueText("—")
        self.setValue(-1)

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt override
        value = self.value()
        tens = value // 10 + steps
        if steps < 0 and value % 10:
            tens += 1  # 25 goes down to 20, not 10
        self.setValue(max(-1, min(100, tens * 10)))

    def percent(self) -> int | None:
        return None if self.value() < 0 else self.value()

    def set_percent(self, value: int | None) -> None:
        self.setValue(-1 if value is None else value)


def _choice_box(any_text: str, labels: dict[str, str]) -> QComboBox:
    """"Any …" and then each code of the insight's rules, in their order, in the interface's language."""
    box = QComboBox()
    box.addItem(any_text, None)
    for code, label in labels.items():
        box.addItem(_translate("insight", label), code)
    return box


# --------------------------------------------------------------------------- the page


class MemberListPage(QWidget):
    """Browse, filter, save groups of, and export all members; double-click or Enter opens one."""

    profileOpened = Signal(int)

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        self._export: ExportProgress | None = None
        self._loading = False
        self.profile_dialog: QDialog | None = None
        self.last_export_message = ""

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(self._build_filter_bar())
        layout.addLayout(self._build_group_row())

        self.model = MemberListModel(state.db, self, operations=state.operations)
        self.live = ShownRefresh(self, self.model.reread)  # other tills' sales, members and points, as they happen
        follow(state, self.follow_changes)
        self.table = paged_table(self.model, ROW_HEIGHT)
        horizontal = self.table.horizontalHeader()
        horizontal.setSortIndicatorShown(True)
        for key, width in (("member_no", 100), ("name", 110), ("phone", 120), ("gender", 60), ("birthday", 95),
                           ("tier", 70), ("points", 80), ("visits", 60), ("spend", 110), ("last_visit", 130),
                           ("joined", 95), ("status", 70), ("tags", 160), ("wallet", 100), ("owed", 90),
                           ("segment", 110), ("abc", 150), ("stage", 80), ("p_alive", 90), ("value", 110)):
            self.table.setColumnWidth(COLUMNS.index(key), width)
        horizontal.setSortIndicator(self.model.sort_column(), self.model.sort_order())
        self.table.setSortingEnabled(True)
        self.model.sortChanged.connect(self._show_sort)
        self.model.countChanged.connect(self._show_count)
        self.table.doubleClicked.connect(lambda index: self.open_profile_at(index.row()))
        self.table.installEventFilter(self)  # Enter opens the member (see eventFilter)
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
        self._connect_filter_widgets()

        self.apply_columns(self._load_columns())
        # The services refuse as well; the buttons are not offered to those who may not.
        self.export_button.setVisible(can(state.actor, Permission.EXPORT_MEMBERS))
        for button in (self.save_group_button, self.delete_group_button):
            button.setVisible(can(state.actor, Permission.BROWSE_MEMBERS))
        self.reload_choices()
        self._show_count(self.model.total)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if watched is self.table and enter:
            self.open_current()
            return True
        # From the search box the list is one key away: Down/PageDown go into it, Enter opens the
        # chosen member (the first one when none is chosen yet).
        if watched is self.search_edit:
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_PageDown):
                self._apply_pending_filter()
                if self.model.rowCount() == 0:
                    return True
                # Into the list, on the member chosen there before (the first one if none): the
                # arrows then walk on from there.
                self.table.selectRow(max(self.table.currentIndex().row(), 0))
                self.table.setFocus(Qt.FocusReason.OtherFocusReason)
                return True
            if enter:
                self._apply_pending_filter()
                if self.model.rowCount() > 0:
                    if self.table.currentIndex().row() < 0:
                        self.table.selectRow(0)
                    self.open_current()
                return True
        return super().eventFilter(watched, event)

    def _apply_pending_filter(self) -> None:
        """What was typed counts at once when the keyboard moves on, not after the typing pause."""
        if self._filter_timer.isActive():
            self.apply_filter()

    # ---- building

    def _build_filter_bar(self) -> FlowLayout:
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText(self.tr("Name, pinyin or phone… (Ctrl+F)"))
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.installEventFilter(self)  # Down and Enter reach the list (see eventFilter)
        find = QShortcut(QKeySequence.StandardKey.Find, self)
        find.activated.connect(lambda: (self.search_edit.setFocus(), self.search_edit.selectAll()))

        self.status_box = QComboBox()
        self.status_box.addItem(self.tr("Any status"), None)
        for status in MemberStatus:
            self.status_box.addItem(_translate("terms", STATUS_LABELS[status]), status)
        self.tag_box = QComboBox()
        self.tier_box = QComboBox()
        for box in (self.tag_box, self.tier_box):
            mark_data(box)  # tags and tier names are the store's own words
        self.month_box = QComboBox()
        self.month_box.addItem(self.tr("Any month"), None)
        for month in range(1, 13):
            self.month_box.addItem(self.tr("Month {number}").format(number=month), month)
        self.joined_from = _date_edit()
        self.joined_to = _date_edit()
        self.visit_from = _date_edit()
        self.visit_to = _date_edit()
        self.spend_min = QLineEdit()
        self.spend_min.setPlaceholderText(self.tr("from ¥"))
        self.spend_max = QLineEdit()
        self.spend_max.setPlaceholderText(self.tr("to ¥"))
        for edit in (self.spend_min, self.spend_max):
            edit.setMaximumWidth(90)
        self.wallet_min = QLineEdit()
        self.wallet_min.setPlaceholderText(self.tr("at least ¥"))
        self.wallet_min.setMaximumWidth(90)
        self.owes_box = QCheckBox(self.tr("Owes money"))
        self.overdue_box = QCheckBox(self.tr("Overdue"))
        self.overdue_box.setToolTip(self.tr("A purchase on credit is past its due day and not yet paid."))
        # Customer insight, as of its last refresh: members without figures match none of these.
        self.segment_box = _choice_box(self.tr("Any segment"), insight_rules.SEGMENT_LABELS)
        self.stage_box = _choice_box(self.tr("Any stage"), insight_rules.STAGE_LABELS)
        self.abc_box = _choice_box(self.tr("Any class"), insight_rules.ABC_LABELS)
        self.alert_box = QCheckBox(self.tr("Churn alert"))
        self.alert_box.setToolTip(self.tr("Away far longer than usual, or spending far less than usual."))
        self._alert_kinds: tuple[str, ...] = insight_rules.ALERTS  # a group of one kind keeps its kind
        self.p_alive_max = PercentBox()
        self.p_alive_max.setToolTip(self.tr("The chance the member still shops here, as the purchase model estimates it."))
        self.value_min = QLineEdit()
        self.value_min.setPlaceholderText(self.tr("at least ¥"))
        self.value_min.setMaximumWidth(90)
        self.value_min.setToolTip(self.tr("What the member is expected to spend in the next 12 months."))
        self.clear_button = QPushButton(self.tr("Clear filters"))
        self.clear_button.clicked.connect(self.clear_filters)

        self.search_edit.setMinimumWidth(240)
        joined = side_by_side(self.joined_from, QLabel("–"), self.joined_to)
        visits = side_by_side(self.visit_from, QLabel("–"), self.visit_to)
        spend = side_by_side(self.spend_min, self.spend_max)
        flow = FlowLayout()
        flow.addWidget(self.search_edit)
        for text, control in ((self.tr("Status:"), self.status_box), (self.tr("Tag:"), self.tag_box),
                              (self.tr("Tier:"), self.tier_box), (self.tr("Birthday:"), self.month_box),
                              (self.tr("Joined:"), joined), (self.tr("Last visit:"), visits), (self.tr("Spend:"), spend),
                              (self.tr("Stored value:"), self.wallet_min), (self.tr("Segment:"), self.segment_box),
                              (self.tr("Stage:"), self.stage_box), (self.tr("ABC:"), self.abc_box)):
            flow.addWidget(side_by_side(QLabel(text), control))
        flow.addWidget(self.owes_box)
        flow.addWidget(self.overdue_box)
        flow.addWidget(self.alert_box)
        for text, control in ((self.tr("Still a customer ≤"), self.p_alive_max), (self.tr("12-month value:"), self.value_min)):
            flow.addWidget(side_by_side(QLabel(text), control))
        flow.addWidget(self.clear_button)
        return flow

    def _build_group_row(self) -> FlowLayout:
        row = FlowLayout()
        group_label = QLabel(self.tr("&Group:"))
        self.group_box = QComboBox()
        self.group_box.setMinimumWidth(180)
        mark_data(self.group_box)  # group names are data; its first item is translated all the same
        self.group_box.activated.connect(self._group_chosen)
        group_label.setBuddy(self.group_box)
        row.addWidget(side_by_side(group_label, self.group_box))
        self.save_group_button = QPushButton(self.tr("Save group… (Ctrl+G)"))
        self.save_group_button.setShortcut(QKeySequence("Ctrl+G"))
        self.save_group_button.clicked.connect(self.ask_save_group)
        self.delete_group_button = QPushButton(self.tr("Delete group"))
        self.delete_group_button.clicked.connect(self.ask_delete_group)
        row.addWidget(self.save_group_button)
        row.addWidget(self.delete_group_button)
        self.count_label = QLabel()
        self.count_label.setObjectName("hintLabel")
        mark_data(self.count_label)
        row.addWidget(self.count_label)
        self.columns_button = QPushButton(self.tr("Columns…"))
        self.columns_button.clicked.connect(self.choose_columns)
        self.export_button = QPushButton(self.tr("Export… (Ctrl+E)"))
        self.export_button.setShortcut(QKeySequence("Ctrl+E"))
        self.export_button.clicked.connect(self.ask_export)
        self.print_button = QPushButton(self.tr("Print… (Ctrl+P)"))
        self.print_button.setShortcut(QKeySequence("Ctrl+P"))
        self.print_button.clicked.connect(self.print_list)
        self.print_cards_button = QPushButton(self.tr("Print cards…"))
        self.print_cards_button.clicked.connect(self.print_cards)
        self.open_button = QPushButton(self.tr("Open (Enter)"))
        self.open_button.clicked.connect(self.open_current)
        row.addWidget(self.columns_button)
        row.addWidget(self.export_button)
        row.addWidget(self.print_button)
        row.addWidget(self.print_cards_button)
        row.addWidget(self.open_button)
        return row

    def _connect_filter_widgets(self) -> None:
        self.search_edit.textChanged.connect(self._filter_changed)
        for box in (self.status_box, self.tag_box, self.tier_box, self.month_box, self.segment_box, self.stage_box, self.abc_box):
            box.currentIndexChanged.connect(self._filter_changed)
        for edit in (self.joined_from, self.joined_to, self.visit_from, self.visit_to):
            edit.dateChanged.connect(self._filter_changed)
        for line in (self.spend_min, self.spend_max, self.wallet_min, self.value_min):
            line.textChanged.connect(self._filter_changed)
        for check in (self.owes_box, self.overdue_box, self.alert_box):
            check.toggled.connect(self._filter_changed)
        self.p_alive_max.valueChanged.connect(self._filter_changed)

    # ---- choices from the database

    def reload_choices(self, then: Callable[[], None] | None = None) -> None:
        """Tags, tiers and saved groups as they are now (keeps what is selected), read off the UI thread; ``then``
        once they are in the boxes."""
        self._state.operations.read(
            self._state.db, lambda session: (member_query.all_tags(session), member_query.list_tiers(session),
                                             member_query.list_filters(session)),
            lambda choices: self._show_choices(*choices, then), key=f"member-choices-{id(self)}", owner=self)

    def _show_choices(self, tags: list[str], tiers: list[Any], groups: list[Any], then: Callable[[], None] | None) -> None:
        self._loading = True
        try:
            current_tag = self.tag_box.currentData()
            self.tag_box.clear()
            self.tag_box.addItem(self.tr("Any tag"), None)
            for tag in tags:
                self.tag_box.addItem(tag, tag)
            self.tag_box.setCurrentIndex(max(self.tag_box.findData(current_tag), 0))
            current_tier = self.tier_box.currentData()
            self.tier_box.clear()
            self.tier_box.addItem(self.tr("Any tier"), None)
            for tier in tiers:
                self.tier_box.addItem(tier.name, tier.id)
            self.tier_box.setCurrentIndex(max(self.tier_box.findData(current_tier), 0))
            current_group = self.group_box.currentData()
            self.group_box.clear()
            self.group_box.addItem(self.tr("All members (no group)"), None)
            self._groups = {group.id: group for group in groups}
            for group in groups:
                self.group_box.addItem(group.name, group.id)
            self.group_box.setCurrentIndex(max(self.group_box.findData(current_group), 0))
        finally:
            self._loading = False
        self.delete_group_button.setEnabled(self.group_box.currentData() is not None)
        if then is not None:
            then()

    # ---- filtering

    def _filter_changed(self) -> None:
        if not self._loading:
            self._filter_timer.start()

    def current_filter(self) -> MemberFilter:
        """The filter the widgets describe (InvalidInput for an unreadable amount)."""
        status = self.status_box.currentData()
        tag = self.tag_box.currentData()
        tier = self.tier_box.currentData()
        segment, stage, abc = (box.currentData() for box in (self.segment_box, self.stage_box, self.abc_box))
        return MemberFilter(
            statuses=(status,) if status is not None else (),
            tags=(tag,) if tag else (),
            tier_ids=(tier,) if tier is not None else (),
            joined_from=_date_of(self.joined_from),
            joined_to=_date_of(self.joined_to),
            birth_month=self.month_box.currentData(),
            last_visit_from=_date_of(self.visit_from),
            last_visit_to=_date_of(self.visit_to),
            spend_min_fen=member_query.parse_yuan(self.spend_min.text(), field="spend_min"),
            spend_max_fen=member_query.parse_yuan(self.spend_max.text(), field="spend_max"),
            text=self.search_edit.text(),
            wallet_min_fen=member_query.parse_yuan(self.wallet_min.text(), field="wallet_min"),
            owes=self.owes_box.isChecked(),
            overdue=self.overdue_box.isChecked(),
            segments=(segment,) if segment else (),
            stages=(stage,) if stage else (),
            abc_classes=(abc,) if abc else (),
            alerts=self._alert_kinds if self.alert_box.isChecked() else (),
            p_alive_max_pct=self.p_alive_max.percent(),
            value_min_fen=member_query.parse_yuan(self.value_min.text(), field="value_min"),
        )

    def apply_filter(self) -> bool:
        self._filter_timer.stop()
        try:
            self.model.set_filter(self.current_filter())
        except CrmdeskError as exc:
            self._fail(error_text(exc))
            return False
        self.message.hide()
        return True

    def show_filter(self, flt: MemberFilter) -> None:
        """Put a filter into the widgets and apply it. Several statuses, tags, tiers, segments, stages or
        classes (from a group saved elsewhere) are applied in full even though the boxes show one; a group
        of one kind of churn alert keeps to that kind while the box stays ticked."""
        self._loading = True
        try:
            self.search_edit.setText(flt.text)
            self.status_box.setCurrentIndex(max(self.status_box.findData(flt.statuses[0]) if flt.statuses else 0, 0))
            self.tag_box.setCurrentIndex(max(self.tag_box.findData(flt.tags[0]) if flt.tags else 0, 0))
            self.tier_box.setCurrentIndex(max(self.tier_box.findData(flt.tier_ids[0]) if flt.tier_ids else 0, 0))
            self.month_box.setCurrentIndex(max(self.month_box.findData(flt.birth_month) if flt.birth_month else 0, 0))
            _set_date(self.joined_from, flt.joined_from)
            _set_date(self.joined_to, flt.joined_to)
            _set_date(self.visit_from, flt.last_visit_from)
            _set_date(self.visit_to, flt.last_visit_to)
            self.spend_min.setText(member_query.format_yuan(flt.spend_min_fen) if flt.spend_min_fen is not None else "")
            self.spend_max.setText(member_query.format_yuan(flt.spend_max_fen) if flt.spend_max_fen is not None else "")
            self.wallet_min.setText(member_query.format_yuan(flt.wallet_min_fen) if flt.wallet_min_fen is not None else "")
            self.owes_box.setChecked(flt.owes)
            self.overdue_box.setChecked(flt.overdue)
            for box, codes in ((self.segment_box, flt.segments), (self.stage_box, flt.stages), (self.abc_box, flt.abc_classes)):
                box.setCurrentIndex(max(box.findData(codes[0]) if codes else 0, 0))
            self._alert_kinds = flt.alerts or insight_rules.ALERTS
            self.alert_box.setChecked(bool(flt.alerts))
            self.p_alive_max.set_percent(flt.p_alive_max_pct)
            self.value_min.setText(member_query.format_yuan(flt.value_min_fen) if flt.value_min_fen is not None else "")
        finally:
            self._loading = False
        self._filter_timer.stop()
        try:
            self.model.set_filter(flt)
        except CrmdeskError as exc:
            self._fail(error_text(exc))
            return
        self.message.hide()

    def clear_filters(self) -> None:
        self.group_box.setCurrentIndex(0)
        self.delete_group_button.setEnabled(False)
        self.show_filter(MemberFilter())

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

    def _show_count(self, count: int) -> None:
        self.count_label.setText(self.tr("{count} members").format(count=f"{count:,}"))

    def _show_sort(self, column: int, order: Qt.SortOrder) -> None:
        header = self.table.horizontalHeader()
        if header.sortIndicatorSection() != column or header.sortIndicatorOrder() != order:
            header.setSortIndicator(column, order)

    # ---- groups

    def _group_chosen(self, _index: int) -> None:
        group_id = self.group_box.currentData()
        self.delete_group_button.setEnabled(group_id is not None)
        if group_id is None:
            self.show_filter(MemberFilter())
        elif group_id in self._groups:
            self.show_filter(self._groups[group_id].filter)

    refused = False  # the last saved or deleted group was refused: its reason is on show

    def save_group(self, name: str, *, overwrite: bool = False) -> None:
        """Save the current filter as a group (on the operations thread); refused, the reason shows and ``refused``
        says so."""
        self.refused = False
        try:
            flt = self.model.member_filter if not self._filter_timer.isActive() else self.current_filter()
        except CrmdeskError as exc:
            self._refuse(exc)
            return
        actor = self._state.actor

        def saved(info: Any) -> None:
            self.message.hide()

            def chosen() -> None:
                self.group_box.setCurrentIndex(max(self.group_box.findData(info.id), 0))
                self.delete_group_button.setEnabled(True)

            self.reload_choices(chosen)

        self._state.operations.write(
            self._state.db, lambda session: member_query.save_filter(session, actor, name, flt, overwrite=overwrite), saved,
            self._refuse, owner=self)

    def _refuse(self, exc: CrmdeskError) -> None:
        self.refused = True
        self._fail(error_text(exc))

    def ask_save_group(self) -> None:
        if not self.apply_filter():
            return
        current = self.group_box.currentText() if self.group_box.currentData() is not None else ""
        name, ok = QInputDialog.getText(self, self.tr("Save group"), self.tr("Name of the group (it stays current as members change):"),
                                        text=current)
        if not ok:
            return
        cleaned = " ".join(name.split())
        exists = any(group.name == cleaned for group in self._groups.values())
        if exists:
            question = self.tr("A group named {name} already exists. Replace its criteria with the current filter?").format(name=cleaned)
            if QMessageBox.question(self, self.tr("Replace group"), question) != QMessageBox.StandardButton.Yes:
                return
        self.save_group(name, overwrite=exists)

    def delete_group(self) -> None:
        """Delete the chosen group (on the operations thread); the members stay."""
        group_id = self.group_box.currentData()
        if group_id is None:
            return
        self.refused = False
        actor = self._state.actor

        def deleted(_none: None) -> None:
            self.group_box.setCurrentIndex(0)
            self.reload_choices()

        self._state.operations.write(self._state.db, lambda session: member_query.delete_filter(session, actor, group_id),
                                     deleted, self._refuse, owner=self)

    def ask_delete_group(self) -> None:
        if self.group_box.currentData() is None:
            return
        question = self.tr("Delete the group {name}? The members stay; only the saved filter goes.").format(
            name=self.group_box.currentText())
        if QMessageBox.question(self, self.tr("Delete group"), question) == QMessageBox.StandardButton.Yes:
            self.delete_group()

    # ---- columns (remembered on this computer, in the data folder)

    def _settings(self) -> QSettings:
        return QSettings(str(data_dir() / SETTINGS_FILE), QSettings.Format.IniFormat)

    def _load_columns(self) -> list[str]:
        saved = self._settings().value("member_list/columns")
        if isinstance(saved, str):
            saved = saved.split(",") if saved else []
        chosen = [key for key in (saved or []) if key in COLUMN_LABELS]
        return chosen or [key for key in COLUMNS if key not in HIDDEN_AT_FIRST]

    def visible_columns(self) -> list[str]:
        return [key for index, key in enumerate(COLUMNS) if not self.table.isColumnHidden(index)]

    def apply_columns(self, keys: list[str], *, remember: bool = False) -> None:
        keys = list(dict.fromkeys(["name", *keys]))
        for index, key in enumerate(COLUMNS):
            self.table.setColumnHidden(index, key not in keys)
        if remember:
            settings = self._settings()
            settings.setValue("member_list/columns", ",".join(key for key in COLUMNS if key in keys))
            settings.sync()

    def choose_columns(self) -> None:
        dialog = ColumnsDialog(self.visible_columns(), self)
        if dialog.exec():
            self.apply_columns(dialog.chosen(), remember=True)

    # ---- opening a member

    def open_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.open_profile_at(index.row())

    def open_profile_at(self, row: int) -> None:
        member = self.model.row_at(row)
        if member is not None:
            self.open_profile(member.id)

    def open_profile(self, member_id: int) -> None:
        from crmdesk.views.member_profile import MemberProfileDialog

        dialog = MemberProfileDialog(self._state, member_id, self)
        dialog.finished.connect(self._profile_closed)
        self.profile_dialog = dialog
        self.profileOpened.emit(member_id)
        dialog.open()

    def _profile_closed(self) -> None:
        dialog = self.profile_dialog
        self.profile_dialog = None
        if dialog is not None and getattr(dialog, "changed", False):
            self.refresh()
        if dialog is not None:
            dialog.deleteLater()

    def follow_changes(self, changes: Changes) -> None:
        if changes.members_changed:
            self.live.changed()

    def refresh(self) -> None:
        """Read the list again, keeping filter, order and the selected row."""
        row = self.table.currentIndex().row()
        self.model.refresh()
        self.reload_choices()
        if 0 <= row < self.model.rowCount():
            self.table.selectRow(row)

    # ---- print

    def _group_name(self) -> str:
        index = self.group_box.currentIndex()
        return self.group_box.currentText() if index > 0 else ""

    def print_list(self) -> ReportPreviewDialog:
        """The list as shown (filter, order) on paper; the columns follow the page's width."""
        request = MemberListRequest(self.model.member_filter, self.model.sort_key, self.model.descending, self._group_name())
        self.preview = open_preview(self, self._state, request, self.tr("Member list"))
        return self.preview

    def print_cards(self) -> ReportPreviewDialog:
        request = CardsRequest(flt=self.model.member_filter, sort=self.model.sort_key, descending=self.model.descending)
        self.preview = open_preview(self, self._state, request, self.tr("Membership cards"))
        return self.preview

    # ---- export

    def ask_export(self) -> None:
        if not can(self._state.actor, Permission.EXPORT_MEMBERS) or not self.apply_filter():
            return
        suggested = str(Path.home() / self.tr("members-{date}.xlsx").format(date=shop_time.today().isoformat()))
        path, _chosen = QFileDialog.getSaveFileName(
            self, self.tr("Export members"), suggested,
            self.tr("Excel workbook (*.xlsx);;CSV for Excel and WPS (*.csv)"),
        )
        if path:
            if Path(path).suffix.lower() not in exports.FORMATS:
                path += ".xlsx"
            self.start_export(path)

    def start_export(self, path: str) -> ExportThread | None:
        """Export the list as shown (filter, order, visible columns) in the background."""
        if self._export is not None:
            return None
        try:
            exports.check_path(path)
        except CrmdeskError as exc:
            show_error(self, exc)
            return None
        thread = ExportThread(self._state, self.model.member_filter, self.model.sort_key, self.model.descending, path,
                              self.visible_columns())
        runner = ExportProgress(self, thread, self.tr("Exporting members…"), self.model.total,
                                lambda rows, path: self.tr("Exported {count} members to {path}.").format(
                                    count=f"{rows:,}", path=path))
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

    def cancel_export(self) -> None:
        if self._export is not None:
            self._export.cancel()

