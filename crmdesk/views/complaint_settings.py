"""The owner's complaint and survey settings: channels, categories with their deadlines and default
priority, the first-response deadline, survey questions (dimensions) and the drop-alert threshold.

Entries are never deleted: one that is no longer wanted is switched off and stays on the records
that use it. Every change goes through crmdesk.services.complaints / surveys, which check
Permission.MANAGE_COMPLAINT_SETTINGS again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
    QHeaderView, QInputDialog, QLabel, QLineEdit, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from crmdesk.errors import CrmdeskError
from crmdesk.models import Priority
from crmdesk.services import complaints, surveys
from crmdesk.services.complaints import PRIORITIES, CategoryInfo, ChoiceInfo
from crmdesk.views.common import error_text, mark_data, mark_data_columns
from crmdesk.views.complaint_detail import cap, priority_text, tc
from crmdesk.views.state import AppState

GREY = "#8c8c8c"


def survey_name(name: str) -> str:
    """A survey dimension's name: the defaults translated in the "surveys" context, typed ones as typed."""
    return QCoreApplication.translate("surveys", name)


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().hide()
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    mark_data_columns(table, 1)  # the codes: the same in every language
    return table


def _fill_row(table: QTableWidget, row: int, code: str, values: list[str], active: bool) -> None:
    for column, text in enumerate(values):
        item = QTableWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, code)
        if not active:
            item.setForeground(QColor(GREY))
        table.setItem(row, column, item)


def _selected_code(table: QTableWidget) -> str | None:
    row = table.currentRow()
    item = table.item(row, 0) if row >= 0 and table.selectedItems() else None
    return item.data(Qt.ItemDataRole.UserRole) if item is not None else None


def _select_code(table: QTableWidget, code: str) -> None:
    for row in range(table.rowCount()):
        if table.item(row, 0).data(Qt.ItemDataRole.UserRole) == code:
            table.selectRow(row)
            return


class CategoryDialog(QDialog):
    """A category's name, how many days after the day it came in a complaint must be resolved, its default priority."""

    def __init__(self, info: CategoryInfo | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Change category") if info else self.tr("New category"))
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.shown_name = tc(info.name) if info else ""
        self.name_edit = QLineEdit(self.shown_name)
        self.name_edit.setMaxLength(complaints.MAX_NAME)
        self.days_spin = QSpinBox()
        self.days_spin.setRange(0, complaints.MAX_RESOLUTION_DAYS)
        self.days_spin.setSpecialValueText(self.tr("the same day"))
        self.days_spin.setSuffix(self.tr(" days after it came in"))
        self.days_spin.setValue(info.resolution_days if info else 3)
        self.priority_combo = QComboBox()
        for priority in PRIORITIES:
            self.priority_combo.addItem(cap(priority_text(priority)), priority)
        self.priority_combo.setCurrentIndex(self.priority_combo.findData(info.default_priority if info else Priority.NORMAL))
        form.addRow(self.tr("&Name:"), self.name_edit)
        form.addRow(self.tr("&Resolve by the end of:"), self.days_spin)
        form.addRow(self.tr("Default &priority:"), self.priority_combo)
        layout.addLayout(form)
        hint = QLabel(self.tr("Deadlines and priority apply to complaints logged from now on. Members of the higher tiers "
                              "get one priority step more."))
        hint.setObjectName("hintLabel")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("&Save"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def new_name(self) -> str | None:
        """The name typed, or None when it is the one shown (a default keeps its translated name)."""
        text = self.name_edit.text()
        return None if " ".join(text.split()) == self.shown_name else text


class EntryListBox(QGroupBox):
    """An editable list of names with a code (channels, survey questions): add, rename, switch off or on."""

    def __init__(self, state: AppState, title: str, *, lister: Callable[[Session], list[ChoiceInfo]],
                 adder: Callable[..., ChoiceInfo], renamer: Callable[..., ChoiceInfo], switcher: Callable[..., ChoiceInfo],
                 namer: Callable[[str], str], report: Callable[[CrmdeskError | None, str], None]) -> None:
        super().__init__(title)
        self._state = state
        self._lister, self._adder, self._renamer, self._switcher, self._namer = lister, adder, renamer, switcher, namer
        self._report = report
        self.entries: list[ChoiceInfo] = []
        layout = QVBoxLayout(self)
        self.table = _table([self.tr("Name"), self.tr("Code"), self.tr("State")])
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self.ask_rename())
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton(self.tr("Add…"))
        self.add_button.clicked.connect(self.ask_add)
        self.rename_button = QPushButton(self.tr("Rename…"))
        self.rename_button.clicked.connect(self.ask_rename)
        self.toggle_button = QPushButton(self.tr("Switch off"))
        self.toggle_button.clicked.connect(self.toggle)
        for button in (self.add_button, self.rename_button, self.toggle_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)

    def load(self, then: Callable[[], None] | None = None) -> None:
        """The entries as they are now, read off the UI thread; ``then`` once they are on show."""
        self._state.operations.read(self._state.db, self._lister, lambda entries: self._show(entries, then),
                                    key=f"choices-{id(self)}", owner=self)

    def _show(self, entries: list[ChoiceInfo], then: Callable[[], None] | None) -> None:
        self.entries = entries
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            _fill_row(self.table, row, entry.code, [self._namer(entry.name), entry.code,
                                                    self.tr("in use") if entry.active else self.tr("switched off")], entry.active)
        self._update_buttons()
        if then is not None:
            then()

    def selected(self) -> ChoiceInfo | None:
        code = _selected_code(self.table)
        return next((e for e in self.entries if e.code == code), None)

    def _update_buttons(self) -> None:
        entry = self.selected()
        self.rename_button.setEnabled(entry is not None)
        self.toggle_button.setEnabled(entry is not None)
        self.toggle_button.setText(self.tr("Switch on") if entry is not None and not entry.active else self.tr("Switch off"))

    refused = False  # the last change was refused: its reason is on show

    def _run(self, operation: Callable[[Session], Any], done: str) -> None:
        """One change in one transaction on the operations thread; then the list again with it selected and
        ``done`` said -- or, refused, the reason."""
        self.refused = False

        def changed(result: Any) -> None:
            code = getattr(result, "code", None)
            self.load(lambda: code is not None and _select_code(self.table, code))
            self._report(None, done)

        self._state.operations.write(self._state.db, operation, changed, self._refuse, owner=self)

    def _refuse(self, exc: CrmdeskError) -> None:
        self.refused = True
        self._report(exc, "")

    def add(self, name: str) -> None:
        self._run(lambda session: self._adder(session, self._state.actor, name),
                  self.tr("Added {name}.").format(name=" ".join(name.split())))

    def rename(self, code: str, name: str) -> None:
        self._run(lambda session: self._renamer(session, self._state.actor, code, name),
                  self.tr("Renamed to {name}.").format(name=" ".join(name.split())))

    def set_active(self, code: str, active: bool) -> None:
        self._run(lambda session: self._switcher(session, self._state.actor, code, active),
                  self.tr("Switched on.") if active else self.tr("Switched off; records that use it keep it."))

    def ask_add(self) -> None:
        name, ok = QInputDialog.getText(self, self.title(), self.tr("Name:"))
        if ok:
            self.add(name)

    def ask_rename(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        shown = self._namer(entry.name)
        name, ok = QInputDialog.getText(self, self.title(), self.tr("New name:"), text=shown)
        if ok and " ".join(name.split()) != shown:
            self.rename(entry.code, name)

    def toggle(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.set_active(entry.code, not entry.active)


class ComplaintSettingsWidget(QWidget):
    """Channels, categories, deadlines, survey questions and the survey alert, for the owner."""

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        self.categories: list[CategoryInfo] = []
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr("Lists are never emptied: an entry no longer wanted is switched off and stays on the complaints "
                               "and surveys that use it."))
        intro.setObjectName("hintLabel")
        intro.setWordWrap(True)
        layout.addWidget(intro)

        columns = QHBoxLayout()
        columns.setSpacing(16)
        left = QVBoxLayout()
        left.addWidget(self._build_categories(), 1)
        left.addWidget(self._build_general())
        columns.addLayout(left, 3)
        right = QVBoxLayout()
        self.channels = EntryListBox(
            state, self.tr("Channels complaints come in by"), lister=lambda s: complaints.list_channels(s, include_inactive=True),
            adder=complaints.add_channel, renamer=complaints.rename_channel, switcher=complaints.set_channel_active,
            namer=tc, report=self._report)
        self.dimensions = EntryListBox(
            state, self.tr("Survey questions"), lister=lambda s: surveys.list_dimensions(s, include_inactive=True),
            adder=surveys.add_dimension, renamer=surveys.rename_dimension, switcher=surveys.set_dimension_active,
            namer=survey_name, report=self._report)
        right.addWidget(self.channels, 1)
        right.addWidget(self.dimensions, 1)
        columns.addLayout(right, 2)
        layout.addLayout(columns, 1)

        self.message = QLabel()
        self.message.setObjectName("errorLabel")
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)
        self.status = QLabel()
        self.status.setObjectName("hintLabel")
        self.status.setWordWrap(True)
        mark_data(self.status)  # "Added <name>." carries the typed name
        layout.addWidget(self.status)
        self.setEnabled(False)  # until what it edits is read (off the UI thread): nothing to save over
        self.load()

    # ---- building

    def _build_categories(self) -> QGroupBox:
        box = QGroupBox(self.tr("Complaint categories"))
        layout = QVBoxLayout(box)
        self.category_table = _table([self.tr("Name"), self.tr("Code"), self.tr("Resolve within"),
                                      self.tr("Default priority"), self.tr("State")])
        self.category_table.itemSelectionChanged.connect(self._update_category_buttons)
        self.category_table.itemDoubleClicked.connect(lambda _item: self.ask_change_category())
        layout.addWidget(self.category_table, 1)
        row = QHBoxLayout()
        self.add_category_button = QPushButton(self.tr("&Add category…"))
        self.add_category_button.clicked.connect(self.ask_add_category)
        self.change_category_button = QPushButton(self.tr("&Change…"))
        self.change_category_button.clicked.connect(self.ask_change_category)
        self.toggle_category_button = QPushButton(self.tr("Switch off"))
        self.toggle_category_button.clicked.connect(self.toggle_category)
        for button in (self.add_category_button, self.change_category_button, self.toggle_category_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        return box

    def _build_general(self) -> QGroupBox:
        box = QGroupBox(self.tr("Deadlines and alerts"))
        form = QFormLayout(box)
        hours_row = QHBoxLayout()
        self.hours_spin = QSpinBox()
        self.hours_spin.setRange(1, complaints.MAX_FIRST_RESPONSE_HOURS)
        self.hours_spin.setSuffix(self.tr(" hours after it came in"))
        self.save_hours_button = QPushButton(self.tr("Save"))
        self.save_hours_button.clicked.connect(self.save_first_response_hours)
        hours_row.addWidget(self.hours_spin)
        hours_row.addWidget(self.save_hours_button)
        hours_row.addStretch(1)
        form.addRow(self.tr("First response due:"), hours_row)
        alert_row = QHBoxLayout()
        self.alert_spin = QDoubleSpinBox()
        self.alert_spin.setDecimals(2)
        self.alert_spin.setRange(0.01, surveys.MAX_DROP_ALERT_CENTI / 100)
        self.alert_spin.setSingleStep(0.05)
        self.alert_spin.setSuffix(self.tr(" points"))
        self.save_alert_button = QPushButton(self.tr("Save"))
        self.save_alert_button.clicked.connect(self.save_drop_alert)
        alert_row.addWidget(self.alert_spin)
        alert_row.addWidget(self.save_alert_button)
        alert_row.addStretch(1)
        form.addRow(self.tr("Survey alert:"), alert_row)
        hint = QLabel(self.tr("A survey question is flagged when its monthly mean drops by more than this from the month before."))
        hint.setObjectName("hintLabel")
        hint.setWordWrap(True)
        form.addRow("", hint)
        return box

    # ---- showing

    def load(self, then: Callable[[], None] | None = None) -> None:
        """The categories and the alert settings as they are now, read off the UI thread; ``then`` once on show."""
        self._state.operations.read(
            self._state.db, lambda session: (complaints.list_categories(session, include_inactive=True),
                                             complaints.get_settings(session).first_response_hours,
                                             surveys.drop_alert_centi(session)),
            lambda settings: self._show(*settings, then), key=f"complaint-settings-{id(self)}", owner=self)

    def _show(self, categories: list[CategoryInfo], hours: int, centi: int, then: Callable[[], None] | None) -> None:
        self.setEnabled(True)
        self.categories = categories
        self.category_table.setRowCount(len(self.categories))
        for row, info in enumerate(self.categories):
            if info.resolution_days == 0:
                days = self.tr("same day")
            elif info.resolution_days == 1:
                days = self.tr("1 day")
            else:
                days = self.tr("{days} days").format(days=info.resolution_days)
            _fill_row(self.category_table, row, info.code, [
                tc(info.name), info.code, days, priority_text(info.default_priority),
                self.tr("in use") if info.active else self.tr("switched off"),
            ], info.active)
        self.hours_spin.setValue(hours)
        self.alert_spin.setValue(centi / 100)
        self.channels.load()
        self.dimensions.load()
        self._update_category_buttons()
        if then is not None:
            then()

    def _report(self, error: CrmdeskError | None, done: str) -> None:
        if error is not None:
            self.message.setText(error_text(error))
            self.message.show()
            self.status.clear()
        else:
            self.message.hide()
            self.status.setText(done)

    def selected_category(self) -> CategoryInfo | None:
        code = _selected_code(self.category_table)
        return next((c for c in self.categories if c.code == code), None)

    def _update_category_buttons(self) -> None:
        info = self.selected_category()
        self.change_category_button.setEnabled(info is not None)
        self.toggle_category_button.setEnabled(info is not None)
        self.toggle_category_button.setText(self.tr("Switch on") if info is not None and not info.active else self.tr("Switch off"))

    # ---- categories

    refused = False  # the last change was refused: its reason is on show

    def _run(self, operation: Callable[[Session], Any], done: str) -> None:
        """One change in one transaction on the operations thread; then the settings again with the category
        selected and ``done`` said -- or, refused, the reason."""
        self.refused = False

        def changed(result: Any) -> None:
            code = result.code if isinstance(result, CategoryInfo) else None
            self.load(lambda: code is not None and _select_code(self.category_table, code))
            self._report(None, done)

        self._state.operations.write(self._state.db, operation, changed, self._refuse, owner=self)

    def _refuse(self, exc: CrmdeskError) -> None:
        self.refused = True
        self._report(exc, "")

    def add_category(self, name: str, resolution_days: int = 3, default_priority: Priority = Priority.NORMAL) -> None:
        self._run(lambda session: complaints.add_category(session, self._state.actor, name, resolution_days=resolution_days,
                                                          default_priority=default_priority),
                  self.tr("Added {name}.").format(name=" ".join(name.split())))

    def update_category(self, code: str, *, name: str | None = None, resolution_days: int | None = None,
                        default_priority: Priority | None = None) -> None:
        self._run(lambda session: complaints.update_category(session, self._state.actor, code, name=name,
                                                             resolution_days=resolution_days,
                                                             default_priority=default_priority),
                  self.tr("Saved. New deadlines apply to complaints logged from now on."))

    def set_category_active(self, code: str, active: bool) -> None:
        self._run(lambda session: complaints.set_category_active(session, self._state.actor, code, active),
                  self.tr("Switched on.") if active else self.tr("Switched off; records that use it keep it."))

    def category_dialog(self, info: CategoryInfo | None = None) -> CategoryDialog:
        return CategoryDialog(info, self)

    def ask_add_category(self) -> None:
        dialog = self.category_dialog()
        if dialog.exec():
            self.add_category(dialog.name_edit.text(), dialog.days_spin.value(), dialog.priority_combo.currentData())

    def ask_change_category(self) -> None:
        info = self.selected_category()
        if info is None:
            return
        dialog = self.category_dialog(info)
        if dialog.exec():
            self.update_category(info.code, name=dialog.new_name(), resolution_days=dialog.days_spin.value(),
                                 default_priority=dialog.priority_combo.currentData())

    def toggle_category(self) -> None:
        info = self.selected_category()
        if info is not None:
            self.set_category_active(info.code, not info.active)

    # ---- deadlines and alerts

    def save_first_response_hours(self) -> None:
        hours = self.hours_spin.value()
        self._run(lambda session: complaints.set_first_response_hours(session, self._state.actor, hours),
                  self.tr("Saved: the first response is due {hours} hours after a complaint comes in (for new ones).")
                  .format(hours=hours))

    def save_drop_alert(self) -> None:
        centi = round(self.alert_spin.value() * 100)
        self._run(lambda session: surveys.set_drop_alert(session, self._state.actor, centi),
                  self.tr("Saved: a question is flagged when its mean drops by more than {points} points.")
                  .format(points=f"{centi / 100:.2f}"))
