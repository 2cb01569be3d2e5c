"""The complaints area: the board, the monthly figures, counter satisfaction, and (for the owner) settings.

* **Board**: counts per status at the top (overdue in red), each a button that filters the
  list; filters by status, overdue, category, channel, owner and the day received; a table
  that fetches pages through complaints.list_complaints (never the whole table), open
  complaints first with the next deadline first. Double-click or Enter opens the complaint.
* **Monthly figures**: complaint_figures.monthly_figures for a month, every figure with its counts.
* **Satisfaction**: surveys.monthly_summary for a month (means, change, alerts) and the latest responses.
* **Settings**: ComplaintSettingsWidget, only for Permission.MANAGE_COMPLAINT_SETTINGS.

The month pickers open on the last full month: a month still running has figures that move
every day and few cases behind each share, and the survey alert compares whole months. The
running month is the first entry of the list, marked "so far".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from PySide6.QtCore import (
    QCoreApplication, QDate, QEvent, QModelIndex, QObject, QPersistentModelIndex, QRect, QSize,
    Qt, QTimer, Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView, QApplication, QCheckBox, QComboBox, QDateEdit, QFrame, QGridLayout, QHBoxLayout, QHeaderView,
    QLabel, QPushButton, QScrollArea, QSizePolicy, QStyle, QStyledItemDelegate, QStyleOptionViewItem,
    QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from crmdesk.db import Database
from crmdesk.errors import CrmdeskError
from crmdesk.models import ComplaintStatus, Priority
from crmdesk.reports.complaints_monthly import duration_text  # the same words on screen and on paper
from crmdesk.reports.documents import ComplaintsMonthRequest
from crmdesk.services import complaint_figures, complaints, loyalty, surveys
from crmdesk.services import staff as staff_service
from crmdesk.services.auth import Permission, can
from crmdesk.services.complaint_figures import ComplaintFigures, CountBy, Ratio
from crmdesk.services.complaints import DONE_STATUSES, BoardCounts, ComplaintFilter, ComplaintInfo, ComplaintOrder
from crmdesk.services.live import Changes
from crmdesk.services.surveys import SurveySummary
from crmdesk.services.uow import read_session
from crmdesk.shop_time import format_time
from crmdesk.texts import QT_TRANSLATE_NOOP
from crmdesk.views.common import error_text, mark_data, mark_data_columns, paged_table
from crmdesk.views.complaint_detail import (
    ALERT_BACKGROUND, ALERT_RED, ComplaintDetailDialog, cap, customer_text, now_utc, owner_text, priority_text,
    status_text, tc,
)
from crmdesk.views.complaint_settings import ComplaintSettingsWidget, survey_name
from crmdesk.views.flow_layout import FlowLayout, side_by_side
from crmdesk.views.live_changes import ShownRefresh, follow
from crmdesk.views.operations import Operations
from crmdesk.views.common import FigureTile
from crmdesk.views.paged_rows import PagedTableModel
from crmdesk.views.report_preview import ReportPreviewDialog, open_preview
from crmdesk.views.state import AppState

PAGE_SIZE = 100
MAX_PAGES = 20
ROW_HEIGHT = 26
MONTHS_BACK = 24
GREY = "#8c8c8c"

COLUMNS = ("number", "received", "customer", "category", "channel", "priority", "status", "owner", "due", "overdue")
COLUMN_LABELS = {
    "number": QT_TRANSLATE_NOOP("ComplaintListModel", "No."),
    "received": QT_TRANSLATE_NOOP("ComplaintListModel", "Received"),
    "customer": QT_TRANSLATE_NOOP("ComplaintListModel", "Customer"),
    "category": QT_TRANSLATE_NOOP("ComplaintListModel", "Category"),
    "channel": QT_TRANSLATE_NOOP("ComplaintListModel", "Channel"),
    "priority": QT_TRANSLATE_NOOP("ComplaintListModel", "Priority"),
    "status": QT_TRANSLATE_NOOP("ComplaintListModel", "Status"),
    "owner": QT_TRANSLATE_NOOP("ComplaintListModel", "Owner"),
    "due": QT_TRANSLATE_NOOP("ComplaintListModel", "Resolve by"),
    "overdue": QT_TRANSLATE_NOOP("ComplaintListModel", "Overdue"),
}
# Wide enough for the Chinese and English labels, narrow enough that every column shows in a 1280-pixel window.
COLUMN_WIDTHS = {"number": 50, "received": 125, "customer": 120, "category": 140, "channel": 90, "priority": 64,
                 "status": 84, "owner": 130, "due": 90}

STATUS_ALL_OPEN = "open"
STATUS_ALL = "all"


def _translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


# --------------------------------------------------------------------------- formatting figures


def percent_text(ratio: Ratio) -> str:
    value = ratio.value
    if value is None:
        return "—"
    text = f"{value * 100:.1f}".removesuffix(".0")
    return QCoreApplication.translate("FiguresTab", "{percent} %").format(percent=text)


def ratio_detail(ratio: Ratio) -> str:
    if not ratio.denominator:
        return QCoreApplication.translate("FiguresTab", "no cases yet")
    return QCoreApplication.translate("FiguresTab", "{count} of {total}").format(count=f"{ratio.numerator:,}", total=f"{ratio.denominator:,}")


def mean_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def change_text(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:+.2f}".replace("-", "−")


def month_choices(today: date, count: int = MONTHS_BACK) -> list[date]:
    """The first days of this month and the ``count - 1`` before it, newest first."""
    first = today.replace(day=1)
    return [complaint_figures.add_months(first, -n) for n in range(count)]


def local_today() -> date:
    """Today in the shop's zone (the months of the figures are the shop's calendar months)."""
    return now_utc().astimezone(loyalty.SHOP_ZONE).date()


def _month_combo(today: date) -> QComboBox:
    combo = QComboBox()
    for index, first in enumerate(month_choices(today)):
        text = f"{first:%Y-%m}"
        if index == 0:
            text = QCoreApplication.translate("ComplaintsPage", "{month} (so far)").format(month=text)
        combo.addItem(text, first)
    combo.setCurrentIndex(1)  # the last full month (see the module notes)
    combo.setMinimumWidth(140)
    return combo


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("sectionHeading")
    return label


def _hint(text: str = "", *, data: bool = False) -> QLabel:
    label = QLabel(text)
    label.setObjectName("hintLabel")
    label.setWordWrap(True)
    if data:
        mark_data(label)
    return label


def _static_table(headers: list[str]) -> QTableWidget:
    """A read-only table sized to its rows (it sits in a scrolling page, so it never scrolls itself)."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    table.setItemDelegate(BarDelegate(table))
    return table


def _fit_height(table: QTableWidget) -> None:
    rows = max(table.rowCount(), 1)
    height = table.horizontalHeader().sizeHint().height() + rows * table.verticalHeader().defaultSectionSize() + 2 * table.frameWidth() + 2
    table.setFixedHeight(height)


def _item(text: str, *, align_right: bool = False, colour: str | None = None, bold: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if colour:
        item.setForeground(QColor(colour))
    if bold:
        font = item.font()
        font.setBold(True)
        item.setFont(font)
    return item


BAR_COLOUR = "#3f7d6d"
BAR_TRACK = "#eef2f1"
BAR_TEXT_WIDTH = 110


def _bar(value: int, maximum: int, text: str) -> QTableWidgetItem:
    """A table cell drawn as a thin horizontal bar (value of maximum) with its figure (see BarDelegate)."""
    item = QTableWidgetItem(text)
    item.setData(Qt.ItemDataRole.UserRole, value / maximum if maximum > 0 else 0.0)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class BarDelegate(QStyledItemDelegate):
    """Paints a cell's share (UserRole, 0..1) as a bar, and its text on the right."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        share = index.data(Qt.ItemDataRole.UserRole)
        if not isinstance(share, float):
            super().paint(painter, option, index)
            return
        self.initStyleOption(option, index)
        text, option.text = option.text, ""
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        rect = option.rect.adjusted(6, 0, -6, 0)
        text_width = min(BAR_TEXT_WIDTH, rect.width() // 2)
        track = QRect(rect.left(), rect.center().y() - 5, max(rect.width() - text_width - 8, 0), 10)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(BAR_TRACK))
        painter.drawRoundedRect(track, 3, 3)
        filled = QRect(track.left(), track.top(), round(track.width() * min(max(share, 0.0), 1.0)), track.height())
        if filled.width() > 0:
            painter.setBrush(QColor(BAR_COLOUR))
            painter.drawRoundedRect(filled, 3, 3)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        painter.drawText(QRect(rect.right() - text_width, rect.top(), text_width, rect.height()),
                         int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        hint = super().sizeHint(option, index)
        if isinstance(index.data(Qt.ItemDataRole.UserRole), float):
            return QSize(max(hint.width(), 220), hint.height())
        return hint


# --------------------------------------------------------------------------- the board's table model


def display_values(info: ComplaintInfo) -> tuple[str, ...]:
    """What each column shows for one complaint, in COLUMNS order."""
    if info.response_overdue:
        marker = QCoreApplication.translate("ComplaintListModel", "! no reply")
    elif info.overdue:
        marker = QCoreApplication.translate("ComplaintListModel", "! overdue")
    else:
        marker = ""
    values = {
        "number": str(info.id),
        "received": format_time(info.received_at),
        "customer": customer_text(info),
        "category": tc(info.category_name),
        "channel": tc(info.channel_name),
        "priority": priority_text(info.priority),
        "status": status_text(info.status),
        "owner": owner_text(info),
        "due": info.resolution_due_day.isoformat() if info.resolution_due_day else "",
        "overdue": marker,
    }
    return tuple(values[key] for key in COLUMNS)


class ComplaintListModel(PagedTableModel):
    """The complaints the filter lets through, fetched a page at a time as the view asks for rows.

    Every page of one listing is read "as of" the same instant (set when the listing starts
    again), so a complaint does not turn overdue between two pages. ``pages_fetched`` and
    ``fetched_offsets`` show what was read since then."""

    def __init__(self, db: Database, parent: QObject | None = None, *, page_size: int | None = None,
                 max_pages: int = MAX_PAGES, operations: Operations | None = None) -> None:
        super().__init__(parent, page_size=page_size or PAGE_SIZE, max_pages=max_pages, operations=operations)
        self._db = db
        self._filter = ComplaintFilter(open_only=True)
        self.as_of = now_utc()
        self._warning = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        self._recount()

    @property
    def complaint_filter(self) -> ComplaintFilter:
        return self._filter

    def set_filter(self, flt: ComplaintFilter) -> None:
        self.beginResetModel()
        self._filter = flt
        self._recount()
        self.endResetModel()

    def _count_rows(self) -> int:
        self.as_of = now_utc()  # every page of this listing is read as of now
        with read_session(self._db) as session:
            return complaints.count_complaints(session, self._filter, now=self.as_of)

    def _fetch(self, offset: int, limit: int) -> list[tuple[ComplaintInfo, tuple[str, ...]]]:
        with read_session(self._db) as session:
            rows = complaints.list_complaints(session, self._filter, now=self.as_of, offset=offset, limit=limit)
        return [(info, display_values(info)) for info in rows]

    def info_at(self, row: int) -> ComplaintInfo | None:
        entry = self._entry(row)
        return entry[0] if entry else None

    def row_of(self, complaint_id: int) -> int | None:
        """The row of a complaint among the pages already read (None if it is not among them)."""
        return next((row for row, (info, _values) in self._rows.cached() if info.id == complaint_id), None)

    # ---- Qt model interface

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self._entry(index.row())
        if entry is None:
            return None
        info, values = entry
        key = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return values[index.column()]
        if role == Qt.ItemDataRole.UserRole:
            return info.id
        if role == Qt.ItemDataRole.ForegroundRole:
            if info.overdue:
                return QBrush(QColor(ALERT_RED))
            if info.status in DONE_STATUSES:
                return QBrush(QColor(GREY))
            return None
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(QColor(ALERT_BACKGROUND)) if info.overdue else None
        if role == Qt.ItemDataRole.DecorationRole:
            return self._warning if key == "overdue" and info.overdue else None
        if role == Qt.ItemDataRole.FontRole:
            if info.overdue or (key == "priority" and info.priority in (Priority.HIGH, Priority.URGENT)):
                font = QFont()
                font.setBold(True)
                return font
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if key == "number":
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if key in ("due", "overdue"):
                return QCoreApplication.translate("ComplaintListModel", "First response due {response}; resolve by the end of {day}").format(
                    response=format_time(info.first_response_due), day=values[COLUMNS.index("due")] or "—")
            if key == "customer":
                return info.description[:200]
            return None
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        return _translate("ComplaintListModel", COLUMN_LABELS[COLUMNS[section]])


# --------------------------------------------------------------------------- the board


class CountTile(QPushButton):
    """A figure at the top of the board; clicking it shows those complaints."""

    def __init__(self, caption: str, *, alert: bool = False) -> None:
        super().__init__()
        self.setCheckable(True)
        self.setObjectName("countTile")
        self.setProperty("alert", "false")
        self._alert = alert
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.setSpacing(0)
        self.value_label = QLabel("0")
        self.value_label.setObjectName("countValue")
        mark_data(self.value_label)
        self.caption_label = QLabel(caption)
        self.caption_label.setObjectName("countCaption")
        for label in (self.value_label, self.caption_label):
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            layout.addWidget(label)
        self.setAccessibleName(caption)
        self.setMinimumSize(96, 62)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def set_count(self, count: int) -> None:
        self.value_label.setText(f"{count:,}")
        self.setProperty("alert", "true" if self._alert and count else "false")
        for widget in (self, self.value_label, self.caption_label):
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    @property
    def count(self) -> int:
        return int(self.value_label.text().replace(",", ""))


BOARD_STYLE = """
#countTile { background: #f4f8f6; border: 1px solid #dbe7e2; border-radius: 8px; text-align: left; }
#countTile:hover { border-color: #3f7d6d; }
#countTile:checked { background: #e3efe9; border: 2px solid #1f3d36; }
#countTile[alert="true"] { background: #fdecea; border-color: #f1b8b2; }
#countTile[alert="true"]:checked { border: 2px solid #b3261e; }
#countValue { font-size: 22px; font-weight: bold; color: #1f3d36; }
#countCaption { color: #50625c; }
#countTile[alert="true"] #countValue, #countTile[alert="true"] #countCaption { color: #b3261e; }
"""


def _date_edit() -> QDateEdit:
    """A day box that may be empty: its lowest date stands for "any" and shows a dash."""
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMinimumDate(QDate(2000, 1, 1))
    edit.setSpecialValueText("—")
    edit.setDate(edit.minimumDate())
    edit.setMinimumWidth(110)
    return edit


def _date_of(edit: QDateEdit) -> date | None:
    if edit.date() == edit.minimumDate():
        return None
    value = edit.date()
    return date(value.year(), value.month(), value.day())


class BoardTab(QWidget):
    """Counts, filters and the paged list of complaints; opens a complaint's details."""

    overdueChanged = Signal(int)
    complaintOpened = Signal(int)

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        self._loading = False
        self.counts: BoardCounts | None = None
        self.detail_dialog: ComplaintDetailDialog | None = None
        self.form_dialog: QWidget | None = None
        self.setStyleSheet(BOARD_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 8)
        layout.addLayout(self._build_tiles())
        layout.addLayout(self._build_filters())
        layout.addLayout(self._build_commands())

        self.model = ComplaintListModel(state.db, self, operations=state.operations)
        self.model.countChanged.connect(self._show_count)
        self.table = paged_table(self.model, ROW_HEIGHT)
        for key, width in COLUMN_WIDTHS.items():
            self.table.setColumnWidth(COLUMNS.index(key), width)
        self.table.doubleClicked.connect(lambda index: self.open_row(index.row()))
        self.table.installEventFilter(self)
        # Who complained and who owns it are data; categories, channels, statuses are interface words.
        mark_data_columns(self.table, *(COLUMNS.index(key) for key in ("number", "customer", "owner")))
        layout.addWidget(self.table, 1)

        self.message = QLabel()
        self.message.setObjectName("errorLabel")
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(250)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.reload_choices()
        self.refresh_counts()
        self._mark_tiles()
        self._show_count(self.model.total)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if (watched is self.table and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent) and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)):
            self.open_current()
            return True
        return super().eventFilter(watched, event)

    # ---- building

    def _build_tiles(self) -> FlowLayout:
        row = FlowLayout()
        self.open_tile = CountTile(self.tr("Open"))
        self.overdue_tile = CountTile(self.tr("Overdue"), alert=True)
        self.status_tiles = {status: CountTile(cap(status_text(status))) for status in ComplaintStatus}
        self.open_tile.clicked.connect(lambda: self.show_status(STATUS_ALL_OPEN))
        self.overdue_tile.clicked.connect(self.show_overdue)
        row.addWidget(self.open_tile)
        row.addWidget(self.overdue_tile)
        separator = QFrame()
        separator.setFrameShape(QFrame.Shape.VLine)
        separator.setStyleSheet("color: #dbe7e2;")
        row.addWidget(separator)
        for status, tile in self.status_tiles.items():
            tile.clicked.connect(lambda _checked=False, s=status: self.show_status(s))
            row.addWidget(tile)
        self.count_label = QLabel()
        self.count_label.setObjectName("hintLabel")
        mark_data(self.count_label)
        row.addWidget(self.count_label)
        return row

    def _build_filters(self) -> FlowLayout:
        row = FlowLayout(spacing=14)
        self.status_box = QComboBox()
        self.status_box.addItem(self.tr("All open"), STATUS_ALL_OPEN)
        self.status_box.addItem(self.tr("All complaints"), STATUS_ALL)
        for status in ComplaintStatus:
            self.status_box.addItem(cap(status_text(status)), status)
        self.overdue_check = QCheckBox(self.tr("O&verdue only"))
        self.category_box = QComboBox()
        self.channel_box = QComboBox()
        self.owner_box = QComboBox()
        for box in (self.category_box, self.channel_box, self.owner_box):
            mark_data(box)  # the store's own names (the first entry is translated all the same)
            box.setMinimumWidth(120)
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)

        def labelled(text: str, widget: QWidget) -> None:
            label = QLabel(text)
            label.setBuddy(widget)
            row.addWidget(side_by_side(label, widget))

        labelled(self.tr("&Status:"), self.status_box)
        row.addWidget(self.overdue_check)
        labelled(self.tr("Ca&tegory:"), self.category_box)
        labelled(self.tr("C&hannel:"), self.channel_box)
        labelled(self.tr("O&wner:"), self.owner_box)
        for box in (self.status_box, self.category_box, self.channel_box, self.owner_box):
            box.currentIndexChanged.connect(self._filter_changed)
        self.overdue_check.toggled.connect(self._filter_changed)
        return row

    def _build_commands(self) -> FlowLayout:
        row = FlowLayout(spacing=14)
        received = QLabel(self.tr("Recei&ved:"))
        self.from_edit = _date_edit()
        self.to_edit = _date_edit()
        received.setBuddy(self.from_edit)
        row.addWidget(side_by_side(received, self.from_edit, QLabel("–"), self.to_edit))
        for edit in (self.from_edit, self.to_edit):
            edit.dateChanged.connect(self._filter_changed)
        order_label = QLabel(self.tr("&Order:"))
        self.order_box = QComboBox()
        self.order_box.addItem(self.tr("Next deadline first"), ComplaintOrder.DUE)
        self.order_box.addItem(self.tr("Newest first"), ComplaintOrder.RECEIVED)
        self.order_box.currentIndexChanged.connect(self._filter_changed)
        order_label.setBuddy(self.order_box)
        row.addWidget(side_by_side(order_label, self.order_box))
        self.clear_button = QPushButton(self.tr("Clear filters"))
        self.clear_button.clicked.connect(self.clear_filters)
        row.addWidget(self.clear_button)
        self.new_button = QPushButton(self.tr("&New complaint… (Ctrl+N)"))
        self.new_button.setShortcut(QKeySequence.StandardKey.New)
        self.new_button.clicked.connect(self.new_complaint)
        self.open_button = QPushButton(self.tr("Open (Enter)"))
        self.open_button.clicked.connect(self.open_current)
        self.refresh_button = QPushButton(self.tr("&Refresh (F5)"))
        self.refresh_button.setShortcut(QKeySequence("F5"))
        self.refresh_button.clicked.connect(self.refresh)
        row.addWidget(side_by_side(self.new_button, self.open_button, self.refresh_button, spacing=6))
        return row

    # ---- choices and counts

    def reload_choices(self) -> None:
        """Categories, channels and staff as they are now, keeping what is chosen (read off the UI thread)."""
        self._state.operations.read(
            self._state.db, lambda session: (complaints.list_categories(session, include_inactive=True),
                                             complaints.list_channels(session, include_inactive=True),
                                             staff_service.list_staff(session)),
            lambda choices: self._show_choices(*choices), key=f"board-choices-{id(self)}", owner=self)

    def _show_choices(self, categories: list[complaints.CategoryInfo], channels: list[complaints.ChoiceInfo],
                      people: list[staff_service.StaffInfo]) -> None:
        self._loading = True
        try:
            for box, anyone, entries in (
                (self.category_box, self.tr("Any category"), [(c.code, tc(c.name)) for c in categories]),
                (self.channel_box, self.tr("Any channel"), [(c.code, tc(c.name)) for c in channels]),
                (self.owner_box, self.tr("Anyone"), [(p.id, p.name) for p in people]),
            ):
                current = box.currentData()
                box.clear()
                box.addItem(anyone, None)
                for key, name in entries:
                    box.addItem(name, key)
                box.setCurrentIndex(max(box.findData(current), 0) if current is not None else 0)
        finally:
            self._loading = False

    def refresh_counts(self) -> None:
        """The tiles' counts, read off the UI thread."""
        self._state.operations.read(self._state.db, lambda session: complaints.board_counts(session, now_utc()),
                                    self._show_counts, key=f"board-counts-{id(self)}", owner=self)

    def _show_counts(self, counts: BoardCounts) -> None:
        self.counts = counts
        self.open_tile.set_count(counts.open)
        self.overdue_tile.set_count(counts.overdue)
        for status, tile in self.status_tiles.items():
            tile.set_count(counts.count(status))
        self.overdueChanged.emit(counts.overdue)

    def _mark_tiles(self) -> None:
        """The tile matching the filter shows as pressed."""
        flt = self.model.complaint_filter
        plain = not (flt.category or flt.channel or flt.owner_staff_id or flt.received_from or flt.received_to)
        self.open_tile.setChecked(plain and flt.open_only and not flt.overdue and not flt.statuses)
        self.overdue_tile.setChecked(plain and flt.overdue)
        for status, tile in self.status_tiles.items():
            tile.setChecked(plain and not flt.overdue and flt.statuses == (status,))

    def _show_count(self, count: int) -> None:
        self.count_label.setText(self.tr("{count} complaints").format(count=f"{count:,}"))

    # ---- filtering

    def _filter_changed(self) -> None:
        if not self._loading:
            self._filter_timer.start()

    def current_filter(self) -> ComplaintFilter:
        status = self.status_box.currentData()
        return ComplaintFilter(
            statuses=(status,) if isinstance(status, ComplaintStatus) else (),
            open_only=status == STATUS_ALL_OPEN,
            overdue=self.overdue_check.isChecked(),
            category=self.category_box.currentData(),
            channel=self.channel_box.currentData(),
            owner_staff_id=self.owner_box.currentData(),
            received_from=_date_of(self.from_edit),
            received_to=_date_of(self.to_edit),
            order=self.order_box.currentData(),
        )

    def apply_filter(self) -> None:
        self._filter_timer.stop()
        try:
            self.model.set_filter(self.current_filter())
        except CrmdeskError as exc:
            self._fail(error_text(exc))
            return
        self.message.hide()
        self._mark_tiles()

    def _set_quietly(self, *, status: object = None, overdue: bool | None = None) -> None:
        self._loading = True
        try:
            if status is not None:
                self.status_box.setCurrentIndex(max(self.status_box.findData(status), 0))
            if overdue is not None:
                self.overdue_check.setChecked(overdue)
        finally:
            self._loading = False

    def show_status(self, status: ComplaintStatus | str) -> None:
        """Show the complaints of one status (or all open ones), as a count tile does."""
        self._set_quietly(status=status, overdue=False)
        self._clear_other_filters()
        self.apply_filter()

    def show_overdue(self) -> None:
        self._set_quietly(status=STATUS_ALL_OPEN, overdue=True)
        self._clear_other_filters()
        self.apply_filter()

    def _clear_other_filters(self) -> None:
        self._loading = True
        try:
            for box in (self.category_box, self.channel_box, self.owner_box):
                box.setCurrentIndex(0)
            for edit in (self.from_edit, self.to_edit):
                edit.setDate(edit.minimumDate())
        finally:
            self._loading = False

    def clear_filters(self) -> None:
        self.show_status(STATUS_ALL_OPEN)

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

    # ---- refreshing

    def refresh(self) -> None:
        """Read counts, choices and the list again, keeping filters and the selected row."""
        self._filter_timer.stop()
        row = self.table.currentIndex().row()
        self.reload_choices()
        self.refresh_counts()
        try:
            self.model.set_filter(self.current_filter())
        except CrmdeskError as exc:
            self._fail(error_text(exc))
        self._mark_tiles()
        if 0 <= row < self.model.rowCount():
            self.table.selectRow(row)

    # ---- opening and logging

    def open_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.open_row(index.row())

    def open_row(self, row: int) -> ComplaintDetailDialog | None:
        info = self.model.info_at(row)
        return self.open_complaint(info.id) if info is not None else None

    def open_complaint(self, complaint_id: int) -> ComplaintDetailDialog | None:
        try:
            dialog = ComplaintDetailDialog(self._state, complaint_id, self)
        except CrmdeskError as exc:
            self._fail(error_text(exc))
            return None
        dialog.changed.connect(lambda _id: self.refresh())
        dialog.finished.connect(self._detail_closed)
        self.detail_dialog = dialog
        self.complaintOpened.emit(complaint_id)
        dialog.open()
        return dialog

    def _detail_closed(self) -> None:
        dialog, self.detail_dialog = self.detail_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def new_complaint(self) -> None:
        """The complaint form for a customer who is not a member (a call, a message), opened once its choices are
        read off the UI thread."""
        from crmdesk.views.complaint_form import ComplaintFormDialog

        def opened(form: Any) -> None:
            dialog = ComplaintFormDialog(self._state, form, self)
            dialog.complaintLogged.connect(self._logged)
            self.form_dialog = dialog
            dialog.open()

        self._state.operations.read(self._state.db, lambda session: ComplaintFormDialog.setup(session, None), opened,
                                    lambda error: self._fail(error_text(error)), owner=self)

    def _logged(self, complaint_id: int) -> None:
        self.refresh()
        self._note(self.tr("Complaint {number} logged.").format(number=complaint_id))


# --------------------------------------------------------------------------- monthly figures


class FiguresTab(QWidget):
    """Every figure of complaint_figures.monthly_figures for a chosen month, with its counts."""

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        self.figures: ComplaintFigures | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(16, 12, 16, 16)

        top = QHBoxLayout()
        month_label = QLabel(self.tr("&Month:"))
        self.month_box = _month_combo(local_today())
        month_label.setBuddy(self.month_box)
        self.month_box.currentIndexChanged.connect(lambda _index: self.refresh())
        top.addWidget(month_label)
        top.addWidget(self.month_box)
        top.addSpacing(12)
        self.as_of_label = _hint(data=True)
        top.addWidget(self.as_of_label, 1)
        self.print_button = QPushButton(self.tr("&Print month report…"))
        self.print_button.clicked.connect(self.print_month)
        self.print_button.setVisible(can(state.actor, Permission.MANAGE_COMPLAINTS))
        top.addWidget(self.print_button)
        layout.addLayout(top)

        grid = QGridLayout()
        grid.setSpacing(12)
        self.received_tile = FigureTile(self.tr("Complaints received"))
        self.first_response_tile = FigureTile(self.tr("Median time to first response"))
        self.resolution_tile = FigureTile(self.tr("Median time to resolution"))
        self.satisfaction_tile = FigureTile(self.tr("Satisfaction after resolution"))
        self.response_on_time_tile = FigureTile(self.tr("First response on time"))
        self.resolved_on_time_tile = FigureTile(self.tr("Resolved on time"))
        self.follow_up_tile = FigureTile(self.tr("Follow-up done"))
        self.repeat_tile = FigureTile(self.tr("Repeat complainants"))
        tiles = (self.received_tile, self.first_response_tile, self.resolution_tile, self.satisfaction_tile,
                 self.response_on_time_tile, self.resolved_on_time_tile, self.follow_up_tile, self.repeat_tile)
        for index, tile in enumerate(tiles):
            grid.addWidget(tile, index // 4, index % 4)
        layout.addLayout(grid)

        splits = QHBoxLayout()
        splits.setSpacing(16)
        category_column = QVBoxLayout()
        category_column.addWidget(_heading(self.tr("By category")))
        self.category_table = _static_table([self.tr("Category"), self.tr("Complaints"), self.tr("Share")])
        category_column.addWidget(self.category_table)
        category_column.addStretch(1)
        channel_column = QVBoxLayout()
        channel_column.addWidget(_heading(self.tr("By channel")))
        self.channel_table = _static_table([self.tr("Channel"), self.tr("Complaints"), self.tr("Share")])
        channel_column.addWidget(self.channel_table)
        channel_column.addStretch(1)
        splits.addLayout(category_column, 1)
        splits.addLayout(channel_column, 1)
        layout.addLayout(splits)

        lower = QHBoxLayout()
        lower.setSpacing(16)
        repeat_column = QVBoxLayout()
        repeat_column.addWidget(_heading(self.tr("Members who complained again")))
        repeat_column.addWidget(_hint(self.tr("Members with a complaint this month and at least {count} in the last {months} "
                                              "months.").format(count=complaint_figures.REPEAT_MIN,
                                                                months=complaint_figures.REPEAT_WINDOW_MONTHS)))
        self.repeat_table = _static_table([self.tr("Member no."), self.tr("Name"), self.tr("This month"),
                                           self.tr("Last {months} months").format(months=complaint_figures.REPEAT_WINDOW_MONTHS)])
        repeat_column.addWidget(self.repeat_table)
        self.no_repeat_label = _hint(self.tr("No member complained more than once."))
        repeat_column.addWidget(self.no_repeat_label)
        repeat_column.addStretch(1)
        back_column = QVBoxLayout()
        back_column.addWidget(_heading(self.tr("Came back within {days} days").format(days=complaint_figures.CAME_BACK_DAYS)))
        back_column.addWidget(_hint(self.tr("Members who bought again after their complaint: counted from the resolution, "
                                            "or from the complaint when it is not resolved yet. Walk-ins are left out.")))
        self.came_back_table = _static_table([self.tr("Their complaint"), self.tr("Members"), self.tr("Came back")])
        back_column.addWidget(self.came_back_table)
        back_column.addStretch(1)
        lower.addLayout(repeat_column, 1)
        lower.addLayout(back_column, 1)
        layout.addLayout(lower)
        layout.addStretch(1)

    def month(self) -> date:
        return self.month_box.currentData()

    def show_month(self, month: date) -> None:
        index = self.month_box.findData(month.replace(day=1))
        if index < 0:
            self.month_box.addItem(f"{month:%Y-%m}", month.replace(day=1))
            index = self.month_box.count() - 1
        if index == self.month_box.currentIndex():
            self.refresh()
        else:
            self.month_box.setCurrentIndex(index)  # refreshes

    def refresh(self) -> None:
        """The month's figures, read off the UI thread."""
        now, month = now_utc(), self.month()
        self._state.operations.read(self._state.db, lambda session: complaint_figures.monthly_figures(session, month, now=now),
                                    lambda figures: self._show_figures(figures, now), key=f"complaint-figures-{id(self)}",
                                    owner=self)

    def _show_figures(self, figures: complaint_figures.ComplaintFigures, now: datetime) -> None:
        self.figures = figures
        self.as_of_label.setText(self.tr("Complaints received in {month}, as they stand at {now}.").format(
            month=figures.month, now=format_time(now)))
        self.received_tile.value.setText(f"{figures.received:,}")
        self.received_tile.detail.setText("")
        self.first_response_tile.value.setText(duration_text(figures.median_first_response))
        self.first_response_tile.detail.setText(self.tr("from coming in to the first contact"))
        self.resolution_tile.value.setText(duration_text(figures.median_resolution))
        self.resolution_tile.detail.setText(self.tr("of the complaints resolved"))
        if figures.satisfaction_mean is None:
            self.satisfaction_tile.value.setText("—")
        else:
            self.satisfaction_tile.value.setText(self.tr("{mean} / 5").format(mean=f"{figures.satisfaction_mean:.1f}"))
        self.satisfaction_tile.detail.setText(self.tr("{count} follow-ups").format(count=figures.satisfaction_count))
        for tile, ratio in ((self.response_on_time_tile, figures.first_response_on_time),
                            (self.resolved_on_time_tile, figures.resolved_on_time),
                            (self.follow_up_tile, figures.follow_up_done)):
            tile.value.setText(percent_text(ratio))
            tile.detail.setText(ratio_detail(ratio))
        self.repeat_tile.value.setText(f"{len(figures.repeat_members):,}")
        self.repeat_tile.detail.setText(self.tr("members"))
        self._counts(self.category_table, figures.by_category, figures.received)
        self._counts(self.channel_table, figures.by_channel, figures.received)

        self.repeat_table.setRowCount(len(figures.repeat_members))
        for row, member in enumerate(figures.repeat_members):
            self.repeat_table.setItem(row, 0, _item(member.member_no))
            self.repeat_table.setItem(row, 1, _item(member.name))
            self.repeat_table.setItem(row, 2, _item(str(member.in_month), align_right=True))
            self.repeat_table.setItem(row, 3, _item(str(member.in_window), align_right=True))
        header = self.repeat_table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.repeat_table.setVisible(bool(figures.repeat_members))
        self.no_repeat_label.setVisible(not figures.repeat_members)
        _fit_height(self.repeat_table)

        self.came_back_table.setRowCount(2)
        for row, (label, ratio) in enumerate(((self.tr("Resolved"), figures.came_back_resolved),
                                              (self.tr("Not resolved yet"), figures.came_back_unresolved))):
            self.came_back_table.setItem(row, 0, _item(label))
            self.came_back_table.setItem(row, 1, _item(f"{ratio.denominator:,}", align_right=True))
            text = percent_text(ratio) + (f"  ({ratio.numerator:,}/{ratio.denominator:,})" if ratio.denominator else "")
            self.came_back_table.setItem(row, 2, _bar(ratio.numerator, ratio.denominator, text))
        self.came_back_table.setColumnWidth(0, 160)
        _fit_height(self.came_back_table)

    def _counts(self, table: QTableWidget, counts: tuple[CountBy, ...], total: int) -> None:
        table.setRowCount(len(counts))
        for row, entry in enumerate(counts):
            table.setItem(row, 0, _item(tc(entry.name)))
            table.setItem(row, 1, _item(f"{entry.count:,}", align_right=True))
            share = percent_text(Ratio(entry.count, total)) if total else "—"
            table.setItem(row, 2, _bar(entry.count, total, share))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        _fit_height(table)

    def figure_texts(self) -> dict[str, str]:
        """The figures as shown (for tests and a quick look)."""
        tiles = {"received": self.received_tile, "first_response": self.first_response_tile, "resolution": self.resolution_tile,
                 "satisfaction": self.satisfaction_tile, "response_on_time": self.response_on_time_tile,
                 "resolved_on_time": self.resolved_on_time_tile, "follow_up": self.follow_up_tile, "repeat": self.repeat_tile}
        texts = {key: tile.value.text() for key, tile in tiles.items()}
        texts.update({f"{key}_detail": tile.detail.text() for key, tile in tiles.items()})
        return texts


# --------------------------------------------------------------------------- satisfaction surveys

    def print_month(self) -> ReportPreviewDialog:
        """The chosen month's figures, charts and the overdue list on paper."""
        self.preview = open_preview(self, self._state, ComplaintsMonthRequest(self.month_box.currentData()),
                                    self.tr("Complaints and satisfaction"))
        return self.preview


class SatisfactionTab(QWidget):
    """A month's counter surveys: satisfaction rate, each question's mean and change, alerts, latest answers."""

    RECENT = 50

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        self.summary: SurveySummary | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        top = QHBoxLayout()
        month_label = QLabel(self.tr("&Month:"))
        self.month_box = _month_combo(local_today())
        month_label.setBuddy(self.month_box)
        self.month_box.currentIndexChanged.connect(lambda _index: self.refresh())
        top.addWidget(month_label)
        top.addWidget(self.month_box)
        top.addSpacing(12)
        self.compare_label = _hint(data=True)
        top.addWidget(self.compare_label, 1)
        layout.addLayout(top)

        tiles = QHBoxLayout()
        tiles.setSpacing(12)
        self.responses_tile = FigureTile(self.tr("Survey responses"))
        self.rate_tile = FigureTile(self.tr("Satisfied (4 or 5)"))
        self.alerts_tile = FigureTile(self.tr("Questions that dropped"))
        for tile in (self.responses_tile, self.rate_tile, self.alerts_tile):
            tiles.addWidget(tile)
        layout.addLayout(tiles)
        self.alert_label = QLabel()
        self.alert_label.setWordWrap(True)
        self.alert_label.setStyleSheet(f"color: {ALERT_RED}; background: {ALERT_BACKGROUND}; border-radius: 6px; "
                                       "padding: 8px 12px; font-weight: bold;")
        mark_data(self.alert_label)
        self.alert_label.hide()
        layout.addWidget(self.alert_label)

        layout.addWidget(_heading(self.tr("Questions")))
        self.dimension_table = _static_table([self.tr("Question"), self.tr("Answers"), self.tr("Mean"), self.tr("Month before"),
                                              self.tr("Change"), self.tr("Satisfied"), self.tr("Alert")])
        layout.addWidget(self.dimension_table)
        layout.addWidget(_heading(self.tr("Latest responses (any month)")))
        self.recent_table = QTableWidget(0, 6)
        self.recent_table.setHorizontalHeaderLabels([self.tr("When"), self.tr("Member"), self.tr("Channel"), self.tr("Scores"),
                                                     self.tr("Comment"), self.tr("Taken by")])
        self.recent_table.verticalHeader().hide()
        self.recent_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.recent_table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.recent_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.recent_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.recent_table.setAlternatingRowColors(True)
        header = self.recent_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.recent_table, 1)

    def month(self) -> date:
        return self.month_box.currentData()

    def show_month(self, month: date) -> None:
        index = self.month_box.findData(month.replace(day=1))
        if index < 0:
            self.month_box.addItem(f"{month:%Y-%m}", month.replace(day=1))
            index = self.month_box.count() - 1
        if index == self.month_box.currentIndex():
            self.refresh()
        else:
            self.month_box.setCurrentIndex(index)

    def refresh(self) -> None:
        """The month's satisfaction and the latest answers, read off the UI thread."""
        month, recent_count = self.month(), self.RECENT
        self._state.operations.read(
            self._state.db, lambda session: (surveys.monthly_summary(session, month),
                                             surveys.recent_responses(session, limit=recent_count),
                                             surveys.list_dimensions(session, include_inactive=True)),
            lambda answers: self._show_answers(*answers), key=f"satisfaction-{id(self)}", owner=self)

    def _show_answers(self, summary: surveys.SurveySummary, recent: list[surveys.SurveyInfo],
                      dimensions: list[complaints.ChoiceInfo]) -> None:
        names = {d.code: survey_name(d.name) for d in dimensions}
        order = {d.code: index for index, d in enumerate(dimensions)}
        self.summary = summary
        threshold = f"{summary.drop_alert_centi / 100:.2f}"
        self.compare_label.setText(self.tr("Compared with {previous}; a question is flagged when its mean drops by more than "
                                           "{points} points.").format(previous=summary.previous_month, points=threshold))
        self.responses_tile.value.setText(f"{summary.responses:,}")
        self.responses_tile.detail.setText(self.tr("{count} scores").format(count=f"{summary.satisfaction_rate.denominator:,}"))
        self.rate_tile.value.setText(percent_text(summary.satisfaction_rate))
        self.rate_tile.detail.setText(ratio_detail(summary.satisfaction_rate))
        alerts = summary.alerts
        self.alerts_tile.value.setText(f"{len(alerts):,}")
        self.alerts_tile.value.setStyleSheet(f"color: {ALERT_RED};" if alerts else "")
        self.alerts_tile.detail.setText(self.tr("by more than {points}").format(points=threshold))
        if alerts:
            self.alert_label.setText(self.tr("! Dropped since {previous}: {questions}").format(
                previous=summary.previous_month,
                questions=QCoreApplication.translate("SatisfactionTab", ", ").join(
                    f"{survey_name(d.name)} ({change_text(d.change)})" for d in alerts)))
        self.alert_label.setVisible(bool(alerts))

        table = self.dimension_table
        table.setRowCount(len(summary.dimensions))
        for row, figures in enumerate(summary.dimensions):
            colour = ALERT_RED if figures.dropped else None
            table.setItem(row, 0, _item(survey_name(figures.name), colour=colour, bold=figures.dropped))
            table.setItem(row, 1, _item(f"{figures.count:,}", align_right=True))
            table.setItem(row, 2, _item(mean_text(figures.mean), align_right=True, colour=colour, bold=figures.dropped))
            table.setItem(row, 3, _item(mean_text(figures.previous_mean), align_right=True))
            table.setItem(row, 4, _item(change_text(figures.change), align_right=True, colour=colour, bold=figures.dropped))
            rate = figures.satisfaction_rate
            table.setItem(row, 5, _bar(rate.numerator, rate.denominator, percent_text(rate)))
            table.setItem(row, 6, _item(self.tr("! dropped") if figures.dropped else "", colour=ALERT_RED, bold=True))
        header = table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, 5):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            table.setColumnWidth(column, 100)
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Fixed)
        table.setColumnWidth(5, 240)
        header.setSectionResizeMode(6, QHeaderView.ResizeMode.Fixed)
        table.setColumnWidth(6, 120)
        _fit_height(table)

        self.recent_table.setRowCount(len(recent))
        for row, response in enumerate(recent):
            scores = QCoreApplication.translate("SatisfactionTab", ", ").join(
                f"{names.get(code, code)} {score}" for code, score in sorted(response.scores, key=lambda s: order.get(s[0], len(order))))
            values = [format_time(response.taken_at), response.member_name or "—", tc(response.channel_name), scores,
                      response.comment, response.staff_name]
            for column, text in enumerate(values):
                item = _item(text)
                item.setToolTip(text if column in (3, 4) and text else "")
                self.recent_table.setItem(row, column, item)
        self.recent_table.setColumnWidth(3, 420)


# --------------------------------------------------------------------------- the page


class ComplaintsPage(QWidget):
    """The complaints area. ``refresh()`` reads everything shown again; ``overdueChanged`` carries the
    overdue count after each refresh or change, for the navigation."""

    overdueChanged = Signal(int)

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.board = BoardTab(state)
        self.figures = FiguresTab(state)
        self.satisfaction = SatisfactionTab(state)
        self.settings: ComplaintSettingsWidget | None = None
        self.tabs.addTab(self.board, self.tr("&Board"))
        self.tabs.addTab(self.figures, self.tr("Monthly &figures"))
        self.tabs.addTab(self.satisfaction, self.tr("Satisf&action"))
        self._fresh: set[QWidget] = {self.board}
        self._settings_tab()
        self.tabs.currentChanged.connect(self._tab_shown)
        layout.addWidget(self.tabs)
        self.board.overdueChanged.connect(self.overdueChanged)
        state.signals.changed.connect(self._actor_changed)
        self.live = ShownRefresh(self, self.refresh)  # complaints logged or worked on at another till
        follow(state, self.follow_changes)

    def follow_changes(self, changes: Changes) -> None:
        if changes.complaints_changed:
            self.live.changed()

    def _settings_tab(self) -> None:
        allowed = can(self._state.actor, Permission.MANAGE_COMPLAINT_SETTINGS)
        if allowed and self.settings is None:
            self.settings = ComplaintSettingsWidget(self._state)
            self.tabs.addTab(self.settings, self.tr("&Settings"))
        elif not allowed and self.settings is not None:
            self.tabs.removeTab(self.tabs.indexOf(self.settings))
            self.settings.deleteLater()
            self.settings = None

    def _actor_changed(self) -> None:
        self._settings_tab()
        self.refresh()

    def _tab_shown(self, _index: int) -> None:
        page = self.tabs.currentWidget()
        if page is not self.board and page not in self._fresh:
            self._refresh_tab(page)

    def _refresh_tab(self, page: QWidget) -> None:
        if page is self.settings and self.settings is not None:
            self.settings.load()
        elif page is self.figures or page is self.satisfaction or page is self.board:
            page.refresh()  # type: ignore[attr-defined]
        self._fresh.add(page)

    def show_tab(self, name: str) -> None:
        """Switch to a tab: board, figures, satisfaction or settings."""
        pages = {"board": self.board, "figures": self.figures, "satisfaction": self.satisfaction, "settings": self.settings}
        page = pages.get(name)
        if page is not None:
            self.tabs.setCurrentWidget(page)

    def refresh(self) -> None:
        """Read the board again (and the tab on show); the other tabs are read when next shown."""
        self._fresh = set()
        self.board.refresh()  # emits overdueChanged through the board
        self._fresh.add(self.board)
        current = self.tabs.currentWidget()
        if current is not self.board:
            self._refresh_tab(current)
