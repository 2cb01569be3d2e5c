"""Logging a complaint (F8 at the counter, "New complaint" in the complaints area).

Quick at a busy counter and possible with the keyboard only: the member on screen
is filled in (or a walk-in's name and phone typed), Enter moves from one
single-line field to the next, Tab leaves the description, Ctrl+Enter saves from
anywhere and Esc cancels. The priority follows the category (one step higher for
a VIP member, as the service decides) until someone changes it by hand. Photos
and PDF scans are checked for size when added and stored in the same
transaction as the complaint. A refusal is shown next to the field it concerns,
the form stays open and nothing is written.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QLocale, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
    QListWidgetItem, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget,
)

from crmdesk.errors import CrmdeskError
from crmdesk.models import Priority
from crmdesk.services import care_forms, complaints
from crmdesk.services.care_forms import ComplaintForm
from crmdesk.services.complaints import (
    MAX_ATTACHMENT_BYTES, PRIORITIES, PRIORITY_LABELS, AttachmentInput, ComplaintInfo, ComplaintInput,
)
from crmdesk.services.members import MemberProfile
from crmdesk.services.purchases import PurchaseRow
from crmdesk.services.uow import unit_of_work
from crmdesk.shop_time import format_time
from crmdesk.views.common import WritingDialog, error_text, format_fen, mark_data, moment_of, shop_time_edit
from crmdesk.views.state import AppState

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# What the file chooser offers; the service decides what is accepted.
ATTACHMENT_PATTERNS = "*.jpg *.jpeg *.png *.gif *.webp *.bmp *.tif *.tiff *.heic *.heif *.pdf"


def translated(context: str, name: str) -> str:
    """A list entry's name in the user's language (names the owner typed have no translation and stay as typed)."""
    return QCoreApplication.translate(context, name)


def priority_text(priority: Priority) -> str:
    text = translated("complaints", PRIORITY_LABELS[priority])
    return text[:1].upper() + text[1:]


def member_line(profile: MemberProfile) -> str:
    """Name · member no. · tier, as the care dialogs show the member."""
    return "  ·  ".join(part for part in (profile.name, profile.member_no, profile.tier_name) if part)


def receipt_text(row: PurchaseRow) -> str:
    """A receipt as the complaints service writes it: till-receipt, or the receipt alone."""
    return f"{row.till}-{row.receipt_no}" if row.till else row.receipt_no


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("errorLabel")
    label.setWordWrap(True)
    label.hide()
    return label


class ComplaintFormDialog(WritingDialog):
    """The complaint form. When it is accepted, ``logged`` holds the new complaint and
    ``complaintLogged`` has carried its id."""

    complaintLogged = Signal(int)

    @staticmethod
    def setup(session: Session, member_id: int | None) -> ComplaintForm:
        """What the form shows when it opens (read off the UI thread, then the form is built with it)."""
        return care_forms.complaint_form(session, member_id)

    def __init__(self, state: AppState, form: ComplaintForm, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.member_id = form.member_id
        self.logged: ComplaintInfo | None = None
        self.request_id = uuid.uuid4().hex  # saved again after a network failure: logged once (services/requests.py)
        self.attachments: list[AttachmentInput] = []
        self._priority_by_hand = False
        self._setting_priority = False
        self._priorities = form.priorities
        channels, categories = form.channels, form.categories
        self.member: MemberProfile | None = form.member
        self.recent_sales: list[PurchaseRow] = form.recent_sales

        self.setWindowTitle(self.tr("Log complaint"))
        self.setMinimumWidth(720)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        hint = QLabel(self.tr("Enter moves to the next field, Tab leaves the description, Ctrl+Enter saves, Esc cancels."))
        hint.setObjectName("hintLabel")
        hint.setWordWrap(True)
        layout.addWidget(hint)

        self._errors: dict[QWidget, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(8)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        row = 0

        # ---- who complains
        self.member_label: QLabel | None = None
        self.name_edit: QLineEdit | None = None
        self.phone_edit: QLineEdit | None = None
        if self.member is not None:
            self.member_label = QLabel(member_line(self.member))
            self.member_label.setObjectName("memberLine")
            self.member_label.setStyleSheet("font-weight: bold;")
            mark_data(self.member_label)
            self._add(grid, row, 0, self.tr("Member:"), self.member_label, span=3)
        else:
            self.name_edit = QLineEdit()
            self.name_edit.setMaxLength(100)
            self.name_edit.setPlaceholderText(self.tr("optional, e.g. 李女士"))
            self.phone_edit = QLineEdit()
            self.phone_edit.setMaxLength(20)
            self.phone_edit.setPlaceholderText(self.tr("optional, e.g. 138 0013 8000"))
            self._add(grid, row, 0, self.tr("Customer &name:"), self.name_edit)
            self._add(grid, row, 2, self.tr("P&hone:"), self.phone_edit)
        row += 1

        # ---- what kind of complaint
        self.channel_box = QComboBox()
        for channel in channels:
            self.channel_box.addItem(translated("complaints", channel.name), channel.code)
        self.channel_box.setCurrentIndex(max(0, self.channel_box.findData("counter")))
        self.category_box = QComboBox()
        for category in categories:
            self.category_box.addItem(translated("complaints", category.name), category.code)
        self._add(grid, row, 0, self.tr("C&hannel:"), self.channel_box)
        self._add(grid, row, 2, self.tr("&Category:"), self.category_box)
        row += 1
        self.priority_box = QComboBox()
        for priority in PRIORITIES:
            self.priority_box.addItem(priority_text(priority), priority)
        self.time_edit = shop_time_edit()
        self._add(grid, row, 0, self.tr("&Priority:"), self.priority_box)
        self._add(grid, row, 2, self.tr("&Received:"), self.time_edit)
        row += 1

        # ---- the purchase it is about
        self.receipt_box = QComboBox()
        self.receipt_box.setEditable(True)
        self.receipt_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        mark_data(self.receipt_box)
        for sale in self.recent_sales:
            self.receipt_box.addItem(
                f"{receipt_text(sale)}  ·  {format_time(sale.occurred_at)}  ·  {format_fen(sale.amount_fen)}", sale.id)
        self.receipt_box.setCurrentIndex(-1)
        self.receipt_box.lineEdit().setPlaceholderText(
            self.tr("optional: pick a recent purchase or type the receipt number") if self.recent_sales
            else self.tr("optional: type the receipt number"))
        self._add(grid, row, 0, self.tr("Related r&eceipt:"), self.receipt_box, span=3)
        row += 1
        layout.addLayout(grid)

        # ---- what happened and what the customer wants
        self.description_edit = QPlainTextEdit()
        self.description_edit.setTabChangesFocus(True)
        self.description_edit.setPlaceholderText(self.tr("What happened? e.g. the pork ribs bought this morning smell off"))
        self.description_edit.setMinimumHeight(84)
        self.description_edit.setMaximumHeight(120)
        self._add_wide(layout, self.tr("&Description (required):"), self.description_edit)
        self.request_edit = QLineEdit()
        self.request_edit.setPlaceholderText(self.tr("optional, e.g. a refund, an exchange, an apology"))
        self._add_wide(layout, self.tr("Customer &asks for:"), self.request_edit)

        # ---- photos and scans
        files_title = QLabel(self.tr("Attachments (photos or PDF scans, at most {size} MB each):").format(
            size=MAX_ATTACHMENT_BYTES // 1024 // 1024))
        layout.addWidget(files_title)
        files_row = QHBoxLayout()
        self.attachments_list = QListWidget()
        mark_data(self.attachments_list)
        self.attachments_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.attachments_list.setFixedHeight(70)
        files_title.setBuddy(self.attachments_list)
        files_row.addWidget(self.attachments_list, 1)
        files_buttons = QVBoxLayout()
        self.add_files_button = QPushButton(self.tr("Add files… (Ctrl+O)"))
        self.add_files_button.clicked.connect(self.choose_files)
        self.remove_file_button = QPushButton(self.tr("Remove (Del)"))
        self.remove_file_button.clicked.connect(self.remove_selected_file)
        files_buttons.addWidget(self.add_files_button)
        files_buttons.addWidget(self.remove_file_button)
        files_buttons.addStretch(1)
        files_row.addLayout(files_buttons)
        layout.addLayout(files_row)
        self.attachments_error = _error_label()
        self._errors[self.attachments_list] = self.attachments_error
        layout.addWidget(self.attachments_error)

        self.message = _error_label()
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.save_button = QPushButton(self.tr("Save (Ctrl+Enter)"))
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton(self.tr("Cancel (Esc)"))
        self.cancel_button.clicked.connect(self.reject)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        for button in (self.add_files_button, self.remove_file_button, self.save_button, self.cancel_button):
            button.setAutoDefault(False)  # no default button: Enter in a field moves on (see keyPressEvent)

        self._fields: dict[str, QWidget] = {
            "channel": self.channel_box, "category": self.category_box, "priority": self.priority_box,
            "received_at": self.time_edit, "related_receipt": self.receipt_box, "description": self.description_edit,
            "customer_request": self.request_edit, "attachments": self.attachments_list,
        }
        if self.name_edit is not None and self.phone_edit is not None:
            # The walk-in phone is checked like a member's mobile, which names the field "phone".
            self._fields.update(walk_in_name=self.name_edit, walk_in_phone=self.phone_edit, phone=self.phone_edit)
        self._set_tab_order()

        for keys, slot in ((("Ctrl+Return", "Ctrl+Enter"), self.save), (("Ctrl+O",), self.choose_files)):
            for key in keys:
                QShortcut(QKeySequence(key), self).activated.connect(slot)
        for key in (QKeySequence.StandardKey.Delete, QKeySequence(Qt.Key.Key_Backspace)):
            shortcut = QShortcut(QKeySequence(key), self.attachments_list)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(self.remove_selected_file)
        self.category_box.currentIndexChanged.connect(lambda _index: self._category_changed())
        self.priority_box.currentIndexChanged.connect(self._priority_changed)
        # Typing in a field, or choosing another entry, clears the message beside it.
        self._typed_into: dict[QObject, QWidget] = {widget: widget for widget in self._fields.values()}
        self._typed_into[self.receipt_box.lineEdit()] = self.receipt_box
        for watched in self._typed_into:
            watched.installEventFilter(self)
        for box in (self.channel_box, self.priority_box, self.receipt_box):
            box.currentIndexChanged.connect(lambda _index, box=box: self._clear_error(box))
        self.time_edit.dateTimeChanged.connect(lambda _value: self._clear_error(self.time_edit))
        self._category_changed()
        self._update_file_buttons()

        first = self.name_edit if self.name_edit is not None else self.category_box
        first.setFocus(Qt.FocusReason.OtherFocusReason)

    # ------------------------------------------------------------------ layout

    def _add(self, grid: QGridLayout, row: int, column: int, text: str, field: QWidget, *, span: int = 1) -> None:
        """A label and its field on grid row 2*row, the field's message (hidden until needed) on the row below."""
        label = QLabel(text)
        label.setBuddy(field)
        error = _error_label()
        self._errors[field] = error
        grid.addWidget(label, 2 * row, column)
        grid.addWidget(field, 2 * row, column + 1, 1, span)
        grid.addWidget(error, 2 * row + 1, column + 1, 1, span)

    def _add_wide(self, layout: QVBoxLayout, text: str, field: QWidget) -> None:
        """A label above a full-width field, with the field's message below it."""
        label = QLabel(text)
        label.setBuddy(field)
        layout.addWidget(label)
        layout.addWidget(field)
        error = _error_label()
        self._errors[field] = error
        layout.addWidget(error)

    def _set_tab_order(self) -> None:
        chain: list[QWidget] = [w for w in (self.name_edit, self.phone_edit) if w is not None]
        chain += [self.channel_box, self.category_box, self.priority_box, self.time_edit, self.receipt_box,
                  self.description_edit, self.request_edit, self.add_files_button, self.attachments_list,
                  self.remove_file_button, self.save_button, self.cancel_button]
        for before, after in pairwise(chain):
            QWidget.setTabOrder(before, after)

    # ------------------------------------------------------------------ keyboard

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        # Enter in a single-line field (line edit, list choice, time) moves on; on a button it presses that button.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            focused = self.focusWidget()
            if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self.save()
            elif isinstance(focused, QPushButton):
                focused.click()
            elif focused is self.category_box:
                # The fields between have sensible defaults and are optional: on to what happened.
                self.description_edit.setFocus(Qt.FocusReason.TabFocusReason)
            else:
                self.focusNextChild()
            return
        super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.KeyPress and watched in self._typed_into:
            key = event.key()  # type: ignore[attr-defined]
            if key not in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab, Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._clear_error(self._typed_into[watched])
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------------ priority

    def _category_changed(self) -> None:
        """The priority follows the category (and the member's tier) until it is set by hand."""
        self._clear_error(self.category_box)
        code = self.category_box.currentData()
        if self._priority_by_hand or code is None:
            return
        priority = self._priorities.get(code, Priority.NORMAL)
        self._setting_priority = True
        try:
            self.priority_box.setCurrentIndex(self.priority_box.findData(priority))
        finally:
            self._setting_priority = False

    def _priority_changed(self, _index: int) -> None:
        if not self._setting_priority:
            self._priority_by_hand = True

    @property
    def priority_set_by_hand(self) -> bool:
        return self._priority_by_hand

    # ------------------------------------------------------------------ attachments

    def choose_files(self) -> None:
        paths, _filter = QFileDialog.getOpenFileNames(
            self, self.tr("Attach photos or scans"), "",
            self.tr("Photos and PDF scans ({patterns})").format(patterns=ATTACHMENT_PATTERNS))
        if paths:
            self.add_files(paths)

    def add_files(self, paths: list[str] | list[Path]) -> None:
        """Read the files into the form after checking their size; a refused file is named next to the list."""
        self._clear_error(self.attachments_list)
        problems: list[str] = []
        for raw in paths:
            path = Path(raw)
            try:
                complaints.check_attachment_size(path.name, path.stat().st_size)  # before reading a huge file
                data = path.read_bytes()
                complaints.check_attachment_size(path.name, len(data))
            except CrmdeskError as exc:
                problems.append(error_text(exc))
                continue
            except OSError as exc:
                problems.append(self.tr("The file '{name}' cannot be read: {reason}").format(
                    name=path.name, reason=exc.strerror or str(exc)))
                continue
            self.attachments.append(AttachmentInput(path.name, data))
            size = QLocale().formattedDataSize(len(data), 1, QLocale.DataSizeFormat.DataSizeTraditionalFormat)
            item = QListWidgetItem(f"{path.name}    {size}")
            item.setToolTip(str(path))
            self.attachments_list.addItem(item)
            self.attachments_list.setCurrentItem(item)
        if problems:
            self._field_error(self.attachments_list, "\n".join(problems))
        self._update_file_buttons()

    def remove_selected_file(self) -> None:
        row = self.attachments_list.currentRow()
        if 0 <= row < len(self.attachments):
            self.attachments_list.takeItem(row)
            del self.attachments[row]
        self._clear_error(self.attachments_list)
        self._update_file_buttons()

    def _update_file_buttons(self) -> None:
        self.remove_file_button.setEnabled(bool(self.attachments))

    # ------------------------------------------------------------------ messages

    def _field_error(self, field: QWidget | None, text: str) -> None:
        """Show a message beside its field, or below the form when it concerns no single field."""
        label = self._errors.get(field, self.message) if field is not None else self.message
        label.setText(text)
        label.show()

    def _clear_error(self, field: QWidget) -> None:
        label = self._errors.get(field)
        if label is not None and label.isVisible():
            label.hide()

    def _clear_errors(self) -> None:
        for label in (*self._errors.values(), self.message):
            label.hide()

    def error_shown(self) -> str:
        """Every message the form shows now (the tests read it; a person sees it beside the fields)."""
        return "\n".join(label.text() for label in (*self._errors.values(), self.message) if not label.isHidden())

    def _show_error(self, exc: CrmdeskError) -> None:
        field = self._fields.get(getattr(exc, "field", None) or "")
        self._field_error(field, error_text(exc))
        if field is None:
            return
        field.setFocus(Qt.FocusReason.OtherFocusReason)
        if isinstance(field, QLineEdit):
            field.selectAll()
        elif isinstance(field, QComboBox) and field.isEditable():
            field.lineEdit().selectAll()

    # ------------------------------------------------------------------ saving

    def received_at(self) -> datetime:
        """The received time typed on the shop's clock, as an aware UTC instant."""
        return moment_of(self.time_edit)

    def related(self) -> tuple[int | None, str]:
        """(purchase id, typed receipt): a purchase picked from the list, or what was typed."""
        text = self.receipt_box.currentText().strip()
        index = self.receipt_box.currentIndex()
        if text and index >= 0 and text == self.receipt_box.itemText(index).strip():
            return int(self.receipt_box.itemData(index)), ""
        picked = self.receipt_box.findText(text, Qt.MatchFlag.MatchFixedString) if text else -1
        if picked >= 0:
            return int(self.receipt_box.itemData(picked)), ""
        return None, text

    def complaint_input(self) -> ComplaintInput:
        channel, category = self.channel_box.currentData(), self.category_box.currentData()
        purchase_id, receipt = self.related()
        return ComplaintInput(
            channel=str(channel or ""),
            category=str(category or ""),
            description=self.description_edit.toPlainText(),
            member_id=self.member_id,
            walk_in_name=self.name_edit.text() if self.name_edit is not None else "",
            walk_in_phone=self.phone_edit.text() if self.phone_edit is not None else "",
            received_at=self.received_at(),
            customer_request=self.request_edit.text(),
            related_purchase_id=purchase_id,
            related_receipt=receipt,
            priority=self.priority_box.currentData() if self._priority_by_hand else None,
            attachments=tuple(self.attachments),
        )

    def save(self) -> None:
        """Log the complaint in one transaction, off the UI thread; on a refusal the form stays open and nothing is
        written. Saved again after the connection broke as the server committed, it is not logged twice: the form
        closes on the complaint logged the first time."""
        if self.saving:
            return
        self._clear_errors()
        try:
            data = self.complaint_input()
        except CrmdeskError as exc:
            self._show_error(exc)
            return
        db, actor, request_id = self._state.db, self._state.actor, self.request_id

        def work() -> ComplaintInfo:
            with unit_of_work(db) as session:
                return complaints.log_complaint(session, actor, data, request_id=request_id)

        def logged(info: ComplaintInfo) -> None:
            self.logged = info
            self.complaintLogged.emit(info.id)

        # A server gone away too is said beside the form, which stays.
        self.write_once(self._state, work, logged, self._show_error, self.complaintLogged.emit)

    def accept(self) -> None:
        self.save()
