"""One complaint in full, and the actions that move it towards closure.

``ComplaintDetailDialog`` shows the header (customer, category, channel, priority, status,
owner, deadlines), the description and request, the related receipt, the attachments (open,
save, add), the remedies and follow-ups, and the timeline. Its buttons are enabled only for
the moves the workflow allows from the current status (complaints.TRANSITIONS) and for what
the signed-in staff member may do (auth.can); the services check both again. Each action is
one unit of work; a refusal is shown with its message and changes nothing.

The action dialogs (assign, note, priority, resolve, follow-up, close without follow-up,
reopen) run their service call themselves when confirmed and stay open with the message when
it is refused; the detail dialog reloads and emits ``changed`` after each success.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QFrame, QGridLayout,
    QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QSpinBox,
    QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)
from sqlalchemy.orm import Session

from crmdesk.errors import CrmdeskError
from crmdesk.models import ComplaintStatus, FollowUpMethod, Priority, Remedy
from crmdesk.services import complaints, offers, purchases
from crmdesk.services import staff as staff_service
from crmdesk.services.auth import Permission, can
from crmdesk.services.complaints import (
    DONE_STATUSES, EVENT_LABELS, OPEN_STATUSES, PRIORITIES, TRANSITIONS, AttachmentInfo, AttachmentInput, ComplaintDetail, ComplaintInfo, EventInfo,
    EventKind, FollowUpInput, RemedyInput,
)
from crmdesk.services.members import display_phone
from crmdesk.services.offers import OfferInfo
from crmdesk.services.live import Changes
from crmdesk.shop_time import format_time
from crmdesk.views.common import error_text, format_fen, mark_data, moment_of, shop_time_edit
from crmdesk.views.live_changes import follow
from crmdesk.views.state import AppState

ALERT_RED = "#b3261e"
ALERT_BACKGROUND = "#fdecea"
MUTED = "#5f6f6a"

ATTACHMENT_FILTER = "*.jpg *.jpeg *.png *.gif *.webp *.bmp *.tif *.tiff *.heic *.heif *.pdf"


# --------------------------------------------------------------------------- shared display helpers


def tc(text: str) -> str:
    """A label or list name in the "complaints" context; a name the owner typed comes back as typed."""
    return QCoreApplication.translate("complaints", text)


def cap(text: str) -> str:
    """A label starting with a capital, for a heading, a button or a list entry ("in progress" -> "In progress")."""
    return text[:1].upper() + text[1:]


def status_text(status: ComplaintStatus) -> str:
    return tc(complaints.STATUS_LABELS[status])


def priority_text(priority: Priority) -> str:
    return tc(complaints.PRIORITY_LABELS[priority])


def remedy_text(remedy: Remedy) -> str:
    return tc(complaints.REMEDY_LABELS[remedy])


def method_text(method: FollowUpMethod) -> str:
    return tc(complaints.METHOD_LABELS[method])


def now_utc() -> datetime:
    return datetime.now(UTC)


def customer_text(info: ComplaintInfo) -> str:
    if info.member_id is not None:
        return info.member_name
    if info.walk_in_name:
        return QCoreApplication.translate("ComplaintDetailDialog", "{name} (walk-in)").format(name=info.walk_in_name)
    return QCoreApplication.translate("ComplaintDetailDialog", "Walk-in customer")


def owner_text(info: ComplaintInfo) -> str:
    parts = [part for part in (info.owner_name, info.department) if part]
    return " / ".join(parts) if parts else QCoreApplication.translate("ComplaintDetailDialog", "Nobody yet")


def event_note(event: EventInfo) -> str:
    """The note as stored; a priority change's "low → high" (English labels) is shown translated."""
    if event.kind == EventKind.PRIORITY.value:
        head, separator, rest = event.note.partition(": ")
        before, arrow, after = head.partition(" → ")
        labels = set(complaints.PRIORITY_LABELS.values())
        if arrow and before in labels and after in labels:
            return f"{tc(before)} → {tc(after)}" + (separator + rest if separator else "")
    return event.note


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.verticalHeader().hide()
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(True)
    table.setAlternatingRowColors(True)
    return table


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, text in enumerate(values):
            item = QTableWidgetItem(text)
            item.setToolTip(text if len(text) > 40 else "")
            table.setItem(r, c, item)
    table.resizeRowsToContents()


def _message_label() -> QLabel:
    label = QLabel()
    label.setObjectName("errorLabel")
    label.setWordWrap(True)
    label.hide()
    return label


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


_attachment_dir: tempfile.TemporaryDirectory[str] | None = None


def _temp_dir() -> Path:
    """Where opened attachments are written for the viewer; removed when the program ends."""
    global _attachment_dir
    if _attachment_dir is None:
        _attachment_dir = tempfile.TemporaryDirectory(prefix="crmdesk-attachments-", ignore_cleanup_errors=True)
    return Path(_attachment_dir.name)


# --------------------------------------------------------------------------- action dialogs


class ActionDialog(QDialog):
    """A small form that runs one service call when confirmed; a refusal stays in the dialog."""

    def __init__(self, state: AppState, info: ComplaintInfo, title: str, ok_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.info = info
        self.result_info: ComplaintInfo | None = None
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        self.layout_ = QVBoxLayout(self)
        heading = QLabel(self.tr("Complaint {number} · {customer} · {category}").format(
            number=info.id, customer=customer_text(info), category=tc(info.category_name)))
        heading.setObjectName("sectionHeading")
        mark_data(heading)
        self.layout_.addWidget(heading)
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.message = _message_label()
        self.buttons = QDialogButtonBox()
        self.ok_button = self.buttons.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setDefault(True)
        cancel = self.buttons.addButton(self.tr("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        cancel.setAutoDefault(False)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

    def finish_layout(self) -> None:
        self.layout_.addWidget(self.message)
        self.layout_.addWidget(self.buttons)

    def change(self) -> Callable[[Session], ComplaintInfo]:  # pragma: no cover - every subclass has its own
        """The action as the form says it, read here on the UI thread: the service call to make."""
        raise NotImplementedError

    saving = False  # the action on its way: OK again does nothing

    def submit(self) -> None:
        """Run the action on the operations thread; the dialog closes when it is done, or shows the refusal."""
        if self.saving:
            return
        try:
            change = self.change()
        except CrmdeskError as exc:
            self._refuse(exc)
            return

        def done(info: ComplaintInfo) -> None:
            self._set_saving(False)
            self.result_info = info
            self.accept()

        def failed(exc: CrmdeskError) -> None:
            self._set_saving(False)
            self._refuse(exc)

        self._set_saving(True)
        self._state.operations.write(self._state.db, change, done, failed, owner=self)

    def _set_saving(self, saving: bool) -> None:
        self.saving = saving
        self.ok_button.setEnabled(not saving)

    def _refuse(self, exc: CrmdeskError) -> None:
        self.message.setText(error_text(exc))
        self.message.show()


class AssignDialog(ActionDialog):
    """Give the complaint an owner: a staff member and/or a department."""

    def __init__(self, state: AppState, info: ComplaintInfo, people: list[staff_service.StaffInfo],
                 parent: QWidget | None = None) -> None:
        super().__init__(state, info, self.tr("Assign complaint"), self.tr("&Assign"), parent)
        self.staff_combo = QComboBox()
        mark_data(self.staff_combo)
        self.staff_combo.addItem(self.tr("No one in particular"), None)
        manager = can(state.actor, Permission.MANAGE_COMPLAINTS)
        for person in people:
            if manager or person.id == state.actor.staff_id:
                self.staff_combo.addItem(person.name, person.id)
        wanted = info.owner_staff_id if info.owner_staff_id is not None else state.actor.staff_id
        self.staff_combo.setCurrentIndex(max(0, self.staff_combo.findData(wanted)))
        self.department_edit = QLineEdit(info.department)
        self.department_edit.setMaxLength(60)
        self.department_edit.setPlaceholderText(self.tr("e.g. fresh food, checkout, service desk"))
        self.note_edit = QLineEdit()
        self.form.addRow(self.tr("&Staff member:"), self.staff_combo)
        self.form.addRow(self.tr("&Department:"), self.department_edit)
        self.form.addRow(self.tr("N&ote:"), self.note_edit)
        if not manager:
            hint = QLabel(self.tr("You may take the complaint yourself; a supervisor assigns it to others."))
            hint.setObjectName("hintLabel")
            hint.setWordWrap(True)
            self.form.addRow(hint)
        self.finish_layout()

    def change(self) -> Callable[[Session], ComplaintInfo]:
        actor, complaint_id, staff_id, note = self._state.actor, self.info.id, self.staff_combo.currentData(), self.note_edit.text()
        department = self.department_edit.text().strip()
        department_set = department if department or self.info.department else None
        return lambda session: complaints.assign(session, actor, complaint_id, staff_id=staff_id, department=department_set,
                                                 note=note)


class NoteDialog(ActionDialog):
    """A note on the timeline; ticking "customer contacted" makes it the first response."""

    def __init__(self, state: AppState, info: ComplaintInfo, parent: QWidget | None = None) -> None:
        super().__init__(state, info, self.tr("Add note"), self.tr("&Add note"), parent)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setPlaceholderText(self.tr("What happened, what was said, what comes next"))
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setFixedHeight(100)
        self.contact_check = QCheckBox(self.tr("I reached the &customer (counts as the first response)"))
        self.form.addRow(self.tr("&Note:"), self.note_edit)
        self.form.addRow("", self.contact_check)
        self.finish_layout()

    def change(self) -> Callable[[Session], ComplaintInfo]:
        actor, complaint_id, text, contact = (self._state.actor, self.info.id, self.note_edit.toPlainText(),
                                              self.contact_check.isChecked())
        return lambda session: complaints.add_note(session, actor, complaint_id, text, contact=contact)


class PriorityDialog(ActionDialog):
    def __init__(self, state: AppState, info: ComplaintInfo, parent: QWidget | None = None) -> None:
        super().__init__(state, info, self.tr("Change priority"), self.tr("&Change"), parent)
        self.priority_combo = QComboBox()
        for priority in PRIORITIES:
            self.priority_combo.addItem(cap(priority_text(priority)), priority)
        self.priority_combo.setCurrentIndex(self.priority_combo.findData(info.priority))
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText(self.tr("Why (optional)"))
        self.form.addRow(self.tr("&Priority:"), self.priority_combo)
        self.form.addRow(self.tr("&Reason:"), self.note_edit)
        self.finish_layout()

    def change(self) -> Callable[[Session], ComplaintInfo]:
        actor, complaint_id, priority, note = (self._state.actor, self.info.id, self.priority_combo.currentData(),
                                               self.note_edit.text())
        return lambda session: complaints.set_priority(session, actor, complaint_id, priority, note=note)


class ResolveDialog(ActionDialog):
    """What put it right: remedies, goodwill points or a coupon for a member, whether the customer was told."""

    def __init__(self, state: AppState, detail: ComplaintDetail, coupon_offers: list[OfferInfo],
                 parent: QWidget | None = None) -> None:
        info = detail.complaint
        super().__init__(state, info, self.tr("Resolve complaint"), self.tr("&Resolve"), parent)
        self.setMinimumWidth(520)
        compensate = can(state.actor, Permission.COMPENSATE) and info.member_id is not None
        self.remedy_checks: dict[Remedy, QCheckBox] = {}
        grid = QGridLayout()
        for index, remedy in enumerate(Remedy):
            check = QCheckBox(cap(remedy_text(remedy)))
            self.remedy_checks[remedy] = check
            grid.addWidget(check, index // 3, index % 3)
        self.form.addRow(self.tr("What was done:"), grid)
        self.refund_edit = QLineEdit()
        self.refund_edit.setPlaceholderText(self.tr("amount in ¥ given back, e.g. 35.80"))
        self.form.addRow(self.tr("Re&fund (¥):"), self.refund_edit)
        self.points_spin = QSpinBox()
        self.points_spin.setRange(0, complaints.MAX_GOODWILL_POINTS)
        self.points_spin.setSingleStep(50)
        self.points_spin.setSuffix(self.tr(" points"))
        self.form.addRow(self.tr("&Goodwill points:"), self.points_spin)
        self.coupon_combo = QComboBox()
        mark_data(self.coupon_combo)
        for offer in coupon_offers:
            self.coupon_combo.addItem(offer.name, offer.id)
        self.form.addRow(self.tr("C&oupon offer:"), self.coupon_combo)
        compensated = any(r.goodwill_points or r.coupon_code for r in detail.resolutions)
        self.additional_check = QCheckBox(self.tr("Give compensation again (it was compensated before)"))
        self.additional_check.setVisible(compensated)
        self.form.addRow("", self.additional_check)
        if not compensate:
            reason = (self.tr("Goodwill points and coupons go to members; this customer is a walk-in.")
                      if info.member_id is None else
                      self.tr("Goodwill points and coupons need a supervisor or the owner."))
            hint = QLabel(reason)
            hint.setObjectName("hintLabel")
            hint.setWordWrap(True)
            self.form.addRow("", hint)
        elif not coupon_offers:
            hint = QLabel(self.tr("No coupon offer is switched on; define one under Offers to give coupons."))
            hint.setObjectName("hintLabel")
            hint.setWordWrap(True)
            self.form.addRow("", hint)
        self._compensate = compensate
        self._has_coupons = bool(coupon_offers)
        self.told_check = QCheckBox(self.tr("The customer has been &told"))
        self.form.addRow("", self.told_check)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setFixedHeight(80)
        self.note_edit.setPlaceholderText(self.tr("What was agreed (needed for \"other\")"))
        self.form.addRow(self.tr("&Note:"), self.note_edit)
        for check in self.remedy_checks.values():
            check.toggled.connect(self._update_fields)
        self._update_fields()
        self.finish_layout()

    def _update_fields(self) -> None:
        checks = self.remedy_checks
        checks[Remedy.GOODWILL].setEnabled(self._compensate)
        checks[Remedy.COUPON].setEnabled(self._compensate and self._has_coupons)
        self.refund_edit.setEnabled(checks[Remedy.REFUND].isChecked())
        self.points_spin.setEnabled(checks[Remedy.GOODWILL].isChecked() and self._compensate)
        self.coupon_combo.setEnabled(checks[Remedy.COUPON].isChecked() and self._compensate)
        self.additional_check.setEnabled(self._compensate)

    def remedy_input(self) -> RemedyInput:
        """The form as a RemedyInput (InvalidInput for an amount that cannot be read)."""
        checks = self.remedy_checks
        chosen = tuple(remedy for remedy, check in checks.items() if check.isChecked())
        refund = purchases.parse_yuan(self.refund_edit.text()) if checks[Remedy.REFUND].isChecked() and self.refund_edit.text().strip() else 0
        points = self.points_spin.value() if checks[Remedy.GOODWILL].isChecked() else 0
        coupon = self.coupon_combo.currentData() if checks[Remedy.COUPON].isChecked() else None
        return RemedyInput(remedies=chosen, note=self.note_edit.toPlainText(), customer_told=self.told_check.isChecked(),
                           refund_fen=refund, goodwill_points=points, coupon_offer_id=coupon,
                           additional_compensation=self.additional_check.isChecked())

    def change(self) -> Callable[[Session], ComplaintInfo]:
        actor, complaint_id, remedy = self._state.actor, self.info.id, self.remedy_input()
        return lambda session: complaints.resolve(session, actor, complaint_id, remedy)


class FollowUpDialog(ActionDialog):
    """The follow-up (回访): when, how, how satisfied the customer is now."""

    def __init__(self, state: AppState, info: ComplaintInfo, parent: QWidget | None = None) -> None:
        super().__init__(state, info, self.tr("Record follow-up"), self.tr("&Record"), parent)
        self.time_edit = shop_time_edit()
        self._initial = self.time_edit.dateTime()
        self.time_edit.setMaximumDateTime(self._initial.addSecs(600))
        self.method_combo = QComboBox()
        for method in FollowUpMethod:
            self.method_combo.addItem(cap(method_text(method)), method)
        self.satisfaction_combo = QComboBox()
        for score, label in (
            (5, self.tr("5 — very satisfied")), (4, self.tr("4 — satisfied")), (3, self.tr("3 — neutral")),
            (2, self.tr("2 — dissatisfied")), (1, self.tr("1 — very dissatisfied")),
        ):
            self.satisfaction_combo.addItem(label, score)
        self.comment_edit = QPlainTextEdit()
        self.comment_edit.setTabChangesFocus(True)
        self.comment_edit.setFixedHeight(80)
        self.comment_edit.setPlaceholderText(self.tr("What the customer said"))
        self.form.addRow(self.tr("&When:"), self.time_edit)
        self.form.addRow(self.tr("&How:"), self.method_combo)
        self.form.addRow(self.tr("&Satisfaction:"), self.satisfaction_combo)
        self.form.addRow(self.tr("&Comment:"), self.comment_edit)
        self.finish_layout()

    def set_satisfaction(self, score: int) -> None:
        self.satisfaction_combo.setCurrentIndex(self.satisfaction_combo.findData(score))

    def done_at(self) -> datetime | None:
        """The time entered, in the shop's zone; None (now) when left as it was opened."""
        if self.time_edit.dateTime() == self._initial:
            return None
        return moment_of(self.time_edit)

    def change(self) -> Callable[[Session], ComplaintInfo]:
        actor, complaint_id = self._state.actor, self.info.id
        follow_up = FollowUpInput(satisfaction=self.satisfaction_combo.currentData(), method=self.method_combo.currentData(),
                                  comment=self.comment_edit.toPlainText(), done_at=self.done_at())
        return lambda session: complaints.record_follow_up(session, actor, complaint_id, follow_up)


class CloseWithoutFollowUpDialog(ActionDialog):
    def __init__(self, state: AppState, info: ComplaintInfo, parent: QWidget | None = None) -> None:
        super().__init__(state, info, self.tr("Close without follow-up"), self.tr("C&lose complaint"), parent)
        intro = QLabel(self.tr("This complaint has had no follow-up. Say why it is closed without one; the reason is kept "
                               "on the timeline."))
        intro.setWordWrap(True)
        self.form.addRow(intro)
        self.reason_edit = QLineEdit()
        self.reason_edit.setMaxLength(300)
        self.reason_edit.setPlaceholderText(self.tr("e.g. customer cannot be reached, asked not to be called"))
        self.form.addRow(self.tr("&Reason:"), self.reason_edit)
        self.finish_layout()

    def change(self) -> Callable[[Session], ComplaintInfo]:
        actor, complaint_id, reason = self._state.actor, self.info.id, self.reason_edit.text()
        return lambda session: complaints.close(session, actor, complaint_id, skip_follow_up_reason=reason)


class ReopenDialog(ActionDialog):
    def __init__(self, state: AppState, info: ComplaintInfo, parent: QWidget | None = None) -> None:
        super().__init__(state, info, self.tr("Reopen complaint"), self.tr("&Reopen"), parent)
        intro = QLabel(self.tr("The complaint goes back to in progress. Its deadlines stay as they were."))
        intro.setWordWrap(True)
        self.form.addRow(intro)
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText(self.tr("e.g. the customer called again: the exchange was also spoiled"))
        self.form.addRow(self.tr("&Reason:"), self.reason_edit)
        self.finish_layout()

    def change(self) -> Callable[[Session], ComplaintInfo]:
        actor, complaint_id, reason = self._state.actor, self.info.id, self.reason_edit.text()
        return lambda session: complaints.reopen(session, actor, complaint_id, reason)


# --------------------------------------------------------------------------- the detail dialog


class _Chip(QLabel):
    """A small coloured label for status, priority and the overdue flag."""

    def __init__(self) -> None:
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def show_text(self, text: str, colour: str, background: str) -> None:
        self.setText(text)
        self.setStyleSheet(f"color: {colour}; background: {background}; border-radius: 10px; padding: 3px 12px; "
                           "font-weight: bold;")
        self.setVisible(bool(text))


class ComplaintDetailDialog(QDialog):
    """Everything about one complaint, and the actions its status and the signed-in person allow."""

    changed = Signal(int)

    def __init__(self, state: AppState, complaint_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.complaint_id = complaint_id
        self.detail: ComplaintDetail | None = None
        self._people: list[staff_service.StaffInfo] = []  # whom it may be assigned to, read with the complaint
        self._coupon_offers: list[OfferInfo] = []  # the coupon offers a resolution may give, read with the complaint
        self.opened: Path | None = None  # the attachment last opened in the viewer
        self.setWindowTitle(self.tr("Complaint {number}").format(number=complaint_id))
        self.resize(1100, 720)
        follow(state, self.follow_changes)

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.heading = QLabel()
        self.heading.setObjectName("pageHeading")
        mark_data(self.heading)
        top.addWidget(self.heading)
        top.addSpacing(12)
        self.status_chip = _Chip()
        self.priority_chip = _Chip()
        self.overdue_chip = _Chip()
        for chip in (self.status_chip, self.priority_chip, self.overdue_chip):
            top.addWidget(chip)
        top.addStretch(1)
        layout.addLayout(top)

        body = QHBoxLayout()
        body.setSpacing(16)
        body.addWidget(self._build_details(), 2)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_timeline(), self.tr("&Timeline"))
        self.tabs.addTab(self._build_remedies(), self.tr("Re&medies and follow-ups"))
        self.tabs.addTab(self._build_attachments(), self.tr("Atta&chments"))
        body.addWidget(self.tabs, 3)
        layout.addLayout(body, 1)

        self.message = _message_label()
        layout.addWidget(self.message)
        layout.addLayout(self._build_actions())
        for button in (self.assign_button, self.start_button, self.note_button, self.priority_button, self.resolve_button,
                       self.follow_up_button, self.close_complaint_button, self.reopen_button):
            button.setEnabled(False)  # until the complaint is read: then what its status allows (_update_buttons)
        self.reload()

    # ---- building

    def _build_details(self) -> QWidget:
        panel = QFrame()
        outer = QVBoxLayout(panel)
        outer.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        def value_label() -> QLabel:
            label = QLabel()
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            mark_data(label)
            return label

        customer_row = QHBoxLayout()
        self.customer_label = value_label()
        customer_row.addWidget(self.customer_label, 1)
        self.member_button = QPushButton(self.tr("&Member…"))
        self.member_button.setToolTip(self.tr("Open the member's profile"))
        self.member_button.clicked.connect(self.open_member)
        self.member_button.hide()  # until the complaint is read: shown for a member's complaint
        customer_row.addWidget(self.member_button)
        form.addRow(self.tr("Customer:"), customer_row)
        self.contact_label = value_label()
        form.addRow(self.tr("Phone:"), self.contact_label)
        self._details_form = form
        self.category_label = value_label()
        form.addRow(self.tr("Category:"), self.category_label)
        self.channel_label = value_label()
        form.addRow(self.tr("Channel:"), self.channel_label)
        self.owner_label = value_label()
        form.addRow(self.tr("Owner:"), self.owner_label)
        self.received_label = value_label()
        form.addRow(self.tr("Received:"), self.received_label)
        self.response_label = value_label()
        form.addRow(self.tr("First response:"), self.response_label)
        self.resolution_label = value_label()
        form.addRow(self.tr("Resolve by:"), self.resolution_label)
        self.receipt_label = value_label()
        form.addRow(self.tr("Receipt:"), self.receipt_label)
        outer.addLayout(form)

        description_title = QLabel(self.tr("What the customer says"))
        description_title.setObjectName("sectionHeading")
        outer.addWidget(description_title)
        self.description_view = QPlainTextEdit()
        self.description_view.setReadOnly(True)
        mark_data(self.description_view)
        outer.addWidget(self.description_view, 2)
        request_title = QLabel(self.tr("What the customer asks for"))
        request_title.setObjectName("sectionHeading")
        outer.addWidget(request_title)
        self.request_view = QPlainTextEdit()
        self.request_view.setReadOnly(True)
        self.request_view.setMaximumHeight(80)
        mark_data(self.request_view)
        outer.addWidget(self.request_view, 1)
        return panel

    def _build_timeline(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.timeline_table = _table([self.tr("When"), self.tr("Who"), self.tr("What"), self.tr("Status"), self.tr("Note")])
        layout.addWidget(self.timeline_table)
        return page

    def _build_remedies(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        title = QLabel(self.tr("Remedies"))
        title.setObjectName("sectionHeading")
        layout.addWidget(title)
        self.resolutions_table = _table([self.tr("When"), self.tr("Who"), self.tr("What was done"), self.tr("Refund"),
                                         self.tr("Goodwill"), self.tr("Coupon"), self.tr("Customer told"), self.tr("Note")])
        layout.addWidget(self.resolutions_table, 1)
        title = QLabel(self.tr("Follow-ups"))
        title.setObjectName("sectionHeading")
        layout.addWidget(title)
        self.follow_ups_table = _table([self.tr("When"), self.tr("Who"), self.tr("How"), self.tr("Satisfaction"),
                                        self.tr("Comment")])
        layout.addWidget(self.follow_ups_table, 1)
        return page

    def _build_attachments(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.attachments_list = QListWidget()
        mark_data(self.attachments_list)
        self.attachments_list.itemDoubleClicked.connect(lambda _item: self.open_attachment())
        self.attachments_list.currentRowChanged.connect(lambda _row: self._update_attachment_buttons())
        layout.addWidget(self.attachments_list, 1)
        row = QHBoxLayout()
        self.open_attachment_button = QPushButton(self.tr("&Open"))
        self.open_attachment_button.clicked.connect(self.open_attachment)
        self.save_attachment_button = QPushButton(self.tr("&Save as…"))
        self.save_attachment_button.clicked.connect(self.ask_save_attachment)
        self.add_attachment_button = QPushButton(self.tr("A&dd photo or scan…"))
        self.add_attachment_button.clicked.connect(self.ask_add_attachment)
        row.addWidget(self.open_attachment_button)
        row.addWidget(self.save_attachment_button)
        row.addStretch(1)
        row.addWidget(self.add_attachment_button)
        layout.addLayout(row)
        return page

    def _build_actions(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.assign_button = QPushButton(self.tr("&Assign…"))
        self.assign_button.clicked.connect(self.ask_assign)
        self.start_button = QPushButton(self.tr("&Start work"))
        self.start_button.clicked.connect(self.start_work)
        self.note_button = QPushButton(self.tr("Add &note…"))
        self.note_button.clicked.connect(self.ask_note)
        self.priority_button = QPushButton(self.tr("&Priority…"))
        self.priority_button.clicked.connect(self.ask_priority)
        self.resolve_button = QPushButton(self.tr("&Resolve…"))
        self.resolve_button.clicked.connect(self.ask_resolve)
        self.follow_up_button = QPushButton(self.tr("&Follow-up…"))
        self.follow_up_button.clicked.connect(self.ask_follow_up)
        self.close_complaint_button = QPushButton(self.tr("C&lose complaint"))
        self.close_complaint_button.clicked.connect(self.ask_close)
        self.reopen_button = QPushButton(self.tr("R&eopen…"))
        self.reopen_button.clicked.connect(self.ask_reopen)
        self.action_buttons = (self.assign_button, self.start_button, self.note_button, self.priority_button,
                               self.resolve_button, self.follow_up_button, self.close_complaint_button, self.reopen_button)
        for button in self.action_buttons:
            button.setAutoDefault(False)
            row.addWidget(button)
        row.addStretch(1)
        done = QPushButton(self.tr("Close window (Esc)"))
        done.setAutoDefault(False)
        done.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        done.clicked.connect(self.reject)
        row.addWidget(done)
        return row

    # ---- showing

    def follow_changes(self, changes: Changes) -> None:
        """Worked on at another till (a note, a status, the follow-up): the timeline as it is now."""
        if changes.touches_complaint(self.complaint_id):
            self.reload()

    def reload(self, then: Callable[[], None] | None = None) -> None:
        """The complaint as it is now, read off the UI thread (the actions wait for it: see _show_detail); ``then``
        once it is on show."""
        complaint_id = self.complaint_id

        def read(session: Session) -> tuple[ComplaintDetail, list[staff_service.StaffInfo], list[OfferInfo]]:
            # With what the action dialogs offer: who it may be assigned to, the coupon offers a resolution may give.
            return (complaints.get_complaint(session, complaint_id, now=now_utc()), staff_service.list_staff(session, active_only=True),
                    [o for o in offers.list_offers(session, include_inactive=False) if o.coupon_required])

        def shown(read_: tuple[ComplaintDetail, list[staff_service.StaffInfo], list[OfferInfo]]) -> None:
            self._show_detail(*read_)
            if then is not None:
                then()

        self._state.operations.read(self._state.db, read, shown, self._fail, key=f"complaint-{id(self)}", owner=self)

    def _show_detail(self, detail: ComplaintDetail, people: list[staff_service.StaffInfo] | None = None,
                     coupon_offers: list[OfferInfo] | None = None) -> None:
        self.detail = detail
        self._people, self._coupon_offers = people or [], coupon_offers or []
        info = detail.complaint
        self.heading.setText(self.tr("Complaint {number} — {customer}").format(number=info.id, customer=customer_text(info)))
        self.status_chip.show_text(cap(status_text(info.status)), "#1f3d36", "#e3efe9")
        urgent = info.priority in (Priority.HIGH, Priority.URGENT)
        self.priority_chip.show_text(self.tr("Priority: {priority}").format(priority=priority_text(info.priority)),
                                     ALERT_RED if urgent else "#1f3d36", ALERT_BACKGROUND if urgent else "#eef2f1")
        if info.response_overdue:
            self.overdue_chip.show_text(self.tr("! Overdue: no first response"), "#ffffff", ALERT_RED)
        elif info.overdue:
            self.overdue_chip.show_text(self.tr("! Overdue"), "#ffffff", ALERT_RED)
        else:
            self.overdue_chip.show_text("", "", "")

        if info.member_id is not None:
            self.customer_label.setText(self.tr("{name} (member {number})").format(name=info.member_name, number=info.member_no))
        else:
            self.customer_label.setText(customer_text(info))
        self.member_button.setVisible(info.member_id is not None)
        self.contact_label.setText(display_phone(info.walk_in_phone) if info.walk_in_phone else "—")
        self._details_form.setRowVisible(self.contact_label, info.member_id is None)  # a member's phone is in the profile
        self.category_label.setText(tc(info.category_name))
        self.channel_label.setText(tc(info.channel_name))
        self.owner_label.setText(owner_text(info))
        self.received_label.setText(format_time(info.received_at))
        self._show_deadlines(info)
        self.receipt_label.setText(info.related_receipt + (self.tr(" (linked to the member's purchase)")
                                                           if info.related_purchase_id else "") if info.related_receipt else "—")
        self.description_view.setPlainText(info.description)
        self.request_view.setPlainText(info.customer_request or "—")

        _fill(self.timeline_table, [self._event_row(event) for event in detail.timeline])
        self.timeline_table.scrollToBottom()
        _fill(self.resolutions_table, [[
            format_time(r.at), r.staff_name, QCoreApplication.translate("ComplaintDetailDialog", ", ").join(remedy_text(k) for k in r.remedies),
            format_fen(r.refund_fen) if r.refund_fen else "", f"{r.goodwill_points:,}" if r.goodwill_points else "",
            r.coupon_code and offers.display_code(r.coupon_code) or "", self.tr("yes") if r.customer_told else self.tr("no"), r.note,
        ] for r in detail.resolutions])
        _fill(self.follow_ups_table, [[
            format_time(f.done_at), f.staff_name, method_text(f.method), "★" * f.satisfaction + "☆" * (5 - f.satisfaction)
            + f"  {f.satisfaction}/5", f.comment,
        ] for f in detail.follow_ups])
        self.attachments_list.clear()
        for attachment in detail.attachments:
            item = QListWidgetItem(self.tr("{name}   {size}   added {when} by {who}").format(
                name=attachment.file_name, size=_size_text(attachment.size_bytes), when=format_time(attachment.added_at),
                who=attachment.staff_name or "—"))
            item.setData(Qt.ItemDataRole.UserRole, attachment.id)
            self.attachments_list.addItem(item)
        if detail.attachments:
            self.attachments_list.setCurrentRow(0)
        self.tabs.setTabText(2, self.tr("Atta&chments ({count})").format(count=len(detail.attachments)))
        self._update_buttons()
        self._update_attachment_buttons()

    def _show_deadlines(self, info: ComplaintInfo) -> None:
        if info.first_response_at is not None:
            text = self.tr("answered {when} (due {due})").format(when=format_time(info.first_response_at),
                                                                  due=format_time(info.first_response_due))
        elif info.response_overdue:
            text = self.tr("due {due} — late, no answer yet").format(due=format_time(info.first_response_due))
        else:
            text = self.tr("due {due}").format(due=format_time(info.first_response_due)) if info.first_response_due else "—"
        self.response_label.setText(text)
        self._alert(self.response_label, info.response_overdue)
        due_day = info.resolution_due_day.isoformat() if info.resolution_due_day else "—"
        if info.resolved_at is not None:
            text = self.tr("end of {day}; resolved {when}").format(day=due_day, when=format_time(info.resolved_at))
        elif info.overdue and not info.response_overdue:
            text = self.tr("end of {day} — overdue").format(day=due_day)
        else:
            text = self.tr("end of {day}").format(day=due_day)
        if info.closed_at is not None:
            text += self.tr("; closed {when}").format(when=format_time(info.closed_at))
        self.resolution_label.setText(text)
        late = info.overdue and info.resolution_due is not None and info.as_of >= info.resolution_due
        self._alert(self.resolution_label, late)

    @staticmethod
    def _alert(label: QLabel, on: bool) -> None:
        label.setStyleSheet(f"color: {ALERT_RED}; font-weight: bold;" if on else "")

    def _event_row(self, event: EventInfo) -> list[str]:
        what = tc(EVENT_LABELS[event.kind]) if event.kind in EVENT_LABELS else event.kind
        if event.from_status is not None and event.to_status is not None:
            moved = f"{status_text(event.from_status)} → {status_text(event.to_status)}"
        elif event.to_status is not None:
            moved = status_text(event.to_status)
        else:
            moved = ""
        return [format_time(event.at), event.staff_name or "—", what, moved, event_note(event)]

    def _update_buttons(self) -> None:
        """Offer what the workflow allows from this status and what this person may do (the services decide)."""
        assert self.detail is not None
        info = self.detail.complaint
        actor = self._state.actor
        status = info.status
        allowed = TRANSITIONS[status]
        works = complaints.may_work(actor, info.owner_staff_id)
        self.assign_button.setEnabled(works and status is not ComplaintStatus.CLOSED)
        self.start_button.setEnabled(works and status in OPEN_STATUSES and ComplaintStatus.IN_PROGRESS in allowed)
        self.note_button.setEnabled(works)
        self.priority_button.setEnabled(works and status is not ComplaintStatus.CLOSED)
        self.resolve_button.setEnabled(works and ComplaintStatus.RESOLVED in allowed)
        self.follow_up_button.setEnabled(works and ComplaintStatus.FOLLOWED_UP in allowed)
        closable = status is ComplaintStatus.FOLLOWED_UP or (
            status is ComplaintStatus.RESOLVED and can(actor, Permission.SKIP_FOLLOW_UP))
        self.close_complaint_button.setEnabled(works and ComplaintStatus.CLOSED in allowed and closable)
        self.close_complaint_button.setText(self.tr("C&lose without follow-up…") if status is ComplaintStatus.RESOLVED
                                            else self.tr("C&lose complaint"))
        self.reopen_button.setEnabled(works and status in DONE_STATUSES)
        if not works:
            self.message.setObjectName("hintLabel")
            self._restyle(self.message)
            self.message.setText(self.tr("{owner} owns this complaint; only they or a supervisor can work it.").format(
                owner=info.owner_name))
            self.message.show()

    def _update_attachment_buttons(self) -> None:
        chosen = self.attachments_list.currentItem() is not None
        self.open_attachment_button.setEnabled(chosen)
        self.save_attachment_button.setEnabled(chosen)

    @staticmethod
    def _restyle(label: QLabel) -> None:
        label.style().unpolish(label)
        label.style().polish(label)

    def _fail(self, exc: CrmdeskError | str) -> None:
        self.message.setObjectName("errorLabel")
        self._restyle(self.message)
        self.message.setText(error_text(exc) if isinstance(exc, CrmdeskError) else exc)
        self.message.show()

    def _done(self, then: Callable[[], None] | None = None) -> None:
        self.message.hide()
        self.reload(then)
        self.changed.emit(self.complaint_id)

    @property
    def info(self) -> ComplaintInfo:
        assert self.detail is not None
        return self.detail.complaint

    # ---- actions: dialogs (made by these factories, so tests can drive them)

    def _action(self, dialog: ActionDialog) -> ActionDialog:
        dialog.accepted.connect(self._done)
        return dialog

    def assign_dialog(self) -> AssignDialog:
        return self._action(AssignDialog(self._state, self.info, self._people, self))  # type: ignore[return-value]

    def note_dialog(self) -> NoteDialog:
        return self._action(NoteDialog(self._state, self.info, self))  # type: ignore[return-value]

    def priority_dialog(self) -> PriorityDialog:
        return self._action(PriorityDialog(self._state, self.info, self))  # type: ignore[return-value]

    def resolve_dialog(self) -> ResolveDialog:
        assert self.detail is not None
        return self._action(ResolveDialog(self._state, self.detail, self._coupon_offers, self))  # type: ignore[return-value]

    def follow_up_dialog(self) -> FollowUpDialog:
        return self._action(FollowUpDialog(self._state, self.info, self))  # type: ignore[return-value]

    def close_dialog(self) -> CloseWithoutFollowUpDialog:
        return self._action(CloseWithoutFollowUpDialog(self._state, self.info, self))  # type: ignore[return-value]

    def reopen_dialog(self) -> ReopenDialog:
        return self._action(ReopenDialog(self._state, self.info, self))  # type: ignore[return-value]

    def ask_assign(self) -> None:
        self.assign_dialog().exec()

    def ask_note(self) -> None:
        self.note_dialog().exec()

    def ask_priority(self) -> None:
        self.priority_dialog().exec()

    def ask_resolve(self) -> None:
        self.resolve_dialog().exec()

    def ask_follow_up(self) -> None:
        self.follow_up_dialog().exec()

    def ask_reopen(self) -> None:
        self.reopen_dialog().exec()

    def ask_close(self) -> None:
        """After the follow-up: close. Without one: ask the reason for skipping it."""
        if self.info.status is ComplaintStatus.RESOLVED:
            self.close_dialog().exec()
        else:
            self.close_complaint()

    # ---- actions: direct

    refused = False  # the last action here was refused: its reason is on show

    def _change(self, change: Callable[[Session], object], then: Callable[[], None] | None = None) -> None:
        """One change on the operations thread; then the complaint again (and ``then``), or the refusal."""
        self.refused = False

        def done(_result: object) -> None:
            self._done(then)

        def failed(exc: CrmdeskError) -> None:
            self.refused = True
            self._fail(exc)

        self._state.operations.write(self._state.db, change, done, failed, owner=self)

    def start_work(self) -> None:
        actor, complaint_id = self._state.actor, self.complaint_id
        self._change(lambda session: complaints.start_work(session, actor, complaint_id))

    def close_complaint(self) -> None:
        actor, complaint_id = self._state.actor, self.complaint_id
        self._change(lambda session: complaints.close(session, actor, complaint_id))

    # ---- the member and the attachments

    def open_member(self) -> None:
        if self.detail is None or self.info.member_id is None:
            return
        from crmdesk.views.member_profile import MemberProfileDialog

        dialog = MemberProfileDialog(self._state, self.info.member_id, self)
        dialog.exec()

    def selected_attachment_id(self) -> int | None:
        item = self.attachments_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _with_attachment(self, attachment_id: int, then: Callable[[AttachmentInfo, bytes], None]) -> None:
        """``then(info, data)`` with the attachment's bytes, read off the UI thread (a scan may be megabytes)."""
        self.refused = False

        def failed(exc: CrmdeskError) -> None:
            self.refused = True
            self._fail(exc)

        self._state.operations.read(self._state.db, lambda session: complaints.attachment_data(session, attachment_id),
                                    lambda read: then(*read), failed, owner=self)

    def open_attachment(self) -> None:
        """The selected attachment in this computer's viewer (written to a private temporary folder under its own
        name first; ``opened`` is that file)."""
        attachment_id = self.selected_attachment_id()
        if attachment_id is not None:
            self._with_attachment(attachment_id, self._open_file)

    def _open_file(self, info: AttachmentInfo, data: bytes) -> None:
        try:
            folder = _temp_dir() / str(info.id)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / (Path(info.file_name).name or f"attachment-{info.id}")
            path.write_bytes(data)
        except OSError as exc:
            self.refused = True
            self._fail(self.tr("The attachment could not be written to a temporary file: {error}").format(error=exc.strerror or exc))
            return
        self.opened = path
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            self._fail(self.tr("No program on this computer opens {name}; use Save as… instead.").format(name=path.name))

    def save_attachment(self, attachment_id: int, target: str) -> None:
        def write(_info: AttachmentInfo, data: bytes) -> None:
            try:
                Path(target).write_bytes(data)
            except OSError as exc:
                self.refused = True
                self._fail(self.tr("The file could not be saved: {error}").format(error=exc.strerror or exc))
                return
            self.message.hide()

        self._with_attachment(attachment_id, write)

    def ask_save_attachment(self) -> None:
        attachment_id = self.selected_attachment_id()
        if attachment_id is None or self.detail is None:
            return
        name = next(a.file_name for a in self.detail.attachments if a.id == attachment_id)
        target, _chosen = QFileDialog.getSaveFileName(self, self.tr("Save attachment"), str(Path.home() / name))
        if target:
            self.save_attachment(attachment_id, target)

    def attach_file(self, path: str) -> None:
        """Attach a photo or PDF scan from disk (too large or empty files are refused before reading)."""
        file = Path(path)
        self.refused = False
        try:
            complaints.check_attachment_size(file.name, file.stat().st_size)
            data = file.read_bytes()
        except CrmdeskError as exc:
            self.refused = True
            self._fail(exc)
            return
        except OSError as exc:
            self.refused = True
            self._fail(self.tr("The file could not be read: {error}").format(error=exc.strerror or exc))
            return
        actor, complaint_id, attachment = self._state.actor, self.complaint_id, AttachmentInput(file.name, data)
        self._change(lambda session: complaints.add_attachment(session, actor, complaint_id, attachment),
                     lambda: self.attachments_list.setCurrentRow(self.attachments_list.count() - 1))

    def ask_add_attachment(self) -> None:
        path, _chosen = QFileDialog.getOpenFileName(self, self.tr("Add photo or scan"), str(Path.home()),
                                                    self.tr("Photos and PDF scans ({patterns})").format(patterns=ATTACHMENT_FILTER))
        if path:
            self.attach_file(path)

