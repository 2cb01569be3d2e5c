"""Settings: the store's details, this computer's language, till, printer and POS hand-off folder, and
(for owners) the staff list, the points rules and the tiers (loyalty_settings.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox,
    QPushButton, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from crmdesk import preferences
from crmdesk.errors import CrmdeskError
from crmdesk.i18n import LANGUAGES
from crmdesk.models import Role
from crmdesk.paths import data_dir
from crmdesk.printing.printers import parse_address
from crmdesk.services import handoff, purchases
from crmdesk.services import staff as staff_service
from crmdesk.services import store as store_service
from crmdesk.services.auth import MIN_PASSWORD_LENGTH, Permission, can
from crmdesk.services.uow import unit_of_work
from crmdesk.views.backup_tab import BackupTab
from crmdesk.views.common import error_text, mark_data, role_label, show_error
from crmdesk.views.loyalty_settings import RulesTab, TiersTab
from crmdesk.views.money_settings_tab import MoneySettingsTab
from crmdesk.views.staff_dialogs import AddStaffDialog, SecretDialog
from crmdesk.views.state import AppState

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class StoreTab(QWidget):
    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.address_edit = QLineEdit()
        self.phone_edit = QLineEdit()
        form.addRow(self.tr("Store &name:"), self.name_edit)
        form.addRow(self.tr("&Address:"), self.address_edit)
        form.addRow(self.tr("&Phone:"), self.phone_edit)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.save_button = QPushButton(self.tr("&Save (Ctrl+S)"))
        self.save_button.setShortcut(QKeySequence.StandardKey.Save)
        self.save_button.clicked.connect(self.save)
        row.addWidget(self.save_button)
        self.status = QLabel()
        self.status.setObjectName("hintLabel")
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        layout.addStretch(1)
        self.setEnabled(False)  # until what it edits is read (off the UI thread): nothing to save over
        self.load()

    def load(self) -> None:
        """The store's details as they are now, read off the UI thread."""
        self._state.operations.read(self._state.db, store_service.get_store, self._show_store, key=f"store-{id(self)}",
                                    owner=self)

    def _show_store(self, info: store_service.StoreInfo) -> None:
        self.setEnabled(True)
        self.name_edit.setText(info.store_name)
        self.address_edit.setText(info.address)
        self.phone_edit.setText(info.phone)
        allowed = can(self._state.actor, Permission.CHANGE_SETTINGS)
        for edit in (self.name_edit, self.address_edit, self.phone_edit):
            edit.setReadOnly(not allowed)
        self.save_button.setVisible(allowed)
        self.status.setText("" if allowed else self.tr("Only a supervisor or the owner can change the store's details."))

    def save(self) -> None:
        """The store's details, saved on the operations thread."""
        actor, name, address, phone = self._state.actor, self.name_edit.text(), self.address_edit.text(), self.phone_edit.text()
        self._state.operations.write(
            self._state.db, lambda session: store_service.update_store(session, actor, store_name=name, address=address, phone=phone),
            lambda _info: self.status.setText(self.tr("Saved.")), lambda exc: show_error(self, exc), owner=self)


class ComputerTab(QWidget):
    """Preferences of this PC, whoever is signed in."""

    languageChosen = Signal(str)
    handoffFolderChanged = Signal()  # noqa: N815 - the hand-off folder was chosen or given up

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.language_box = QComboBox()
        self.language_box.addItem(self.tr("Follow the system"), "system")
        for code, name in LANGUAGES.items():
            self.language_box.addItem(name, code)
        prefs = preferences.load()
        self.language_box.setCurrentIndex(max(self.language_box.findData(prefs.language), 0))
        form.addRow(self.tr("&Language:"), self.language_box)
        self.till_edit = QLineEdit(prefs.till)
        self.till_edit.setMaxLength(purchases.MAX_TILL_LENGTH)
        self.till_edit.setPlaceholderText(self.tr("e.g. 01 or Front desk"))
        self.till_edit.setToolTip(self.tr("Goes on every purchase recorded on this computer; receipt numbers are unique per till."))
        form.addRow(self.tr("&Till of this computer:"), self.till_edit)
        # The counter's slips (top-up receipt, cash-out slip, IOU): straight to a receipt printer, or a preview.
        self.printer_edit = QLineEdit(prefs.receipt_printer)
        self.printer_edit.setPlaceholderText(self.tr("empty: slips open in a preview for the system printer"))
        self.printer_edit.setToolTip(self.tr("An ESC/POS receipt printer: usb:0416:5011, serial:COM3, tcp:192.168.1.50:9100 "
                                             "or file:/dev/usb/lp0"))
        form.addRow(self.tr("&Receipt printer:"), self.printer_edit)
        from crmdesk.reports.slips import ROLL_WIDTHS  # reportlab loads when this tab is first shown, not at start

        self.width_box = QComboBox()
        for width in ROLL_WIDTHS:
            self.width_box.addItem(self.tr("{width} mm").format(width=width), width)
        self.width_box.setCurrentIndex(max(self.width_box.findData(prefs.slip_width_mm), 0))
        form.addRow(self.tr("Receipt &roll:"), self.width_box)
        form.addRow(self.tr("POS &hand-off folder:"), self._handoff_row(prefs))
        self.handoff_hint = QLabel()
        self.handoff_hint.setObjectName("hintLabel")
        self.handoff_hint.setWordWrap(True)
        form.addRow("", self.handoff_hint)
        form.addRow(self.tr("Database:"), self._database_row(state))
        folder = QLabel(str(data_dir()))
        folder.setWordWrap(True)
        mark_data(folder)
        form.addRow(self.tr("Data folder:"), folder)
        layout.addLayout(form)
        apply_button = QPushButton(self.tr("&Apply (Ctrl+S)"))
        apply_button.setShortcut(QKeySequence.StandardKey.Save)
        apply_button.clicked.connect(self.apply)
        self.status = QLabel()
        self.status.setObjectName("hintLabel")
        row = QHBoxLayout()
        row.addWidget(apply_button)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        layout.addStretch(1)
        self._show_handoff(prefs)

    def _database_row(self, state: AppState) -> QWidget:
        """Where the data is (a file here, or the shop's server), and the way to the server."""
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        database = QLabel(state.db.describe())
        database.setWordWrap(True)
        mark_data(database)
        self.server_button = QPushButton(self.tr("Connect to ser&ver…"))
        self.server_button.setToolTip(self.tr("Share one shop's data between several tills on a PostgreSQL server."))
        self.server_button.setEnabled(can(state.actor, Permission.CHANGE_SETTINGS))
        self.server_button.clicked.connect(self.connect_to_server)
        line.addWidget(database, 1)
        line.addWidget(self.server_button)
        return row

    def connect_to_server(self) -> None:
        from crmdesk.views.server_dialog import ConnectServerDialog

        ConnectServerDialog(self._state.actor, self._state.db.describe(), self).exec()

    def _handoff_row(self, prefs: preferences.Preferences) -> QWidget:
        """The folder the till program saves its receipt exports to, with Choose…, Stop and the log."""
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        self.handoff_edit = QLineEdit(prefs.handoff_folder)
        self.handoff_edit.setReadOnly(True)
        self.handoff_edit.setPlaceholderText(self.tr("none: receipts are imported by hand"))
        self.handoff_choose = QPushButton(self.tr("&Choose…"))
        self.handoff_choose.clicked.connect(self.choose_handoff_folder)
        self.handoff_stop = QPushButton(self.tr("Sto&p"))
        self.handoff_stop.clicked.connect(lambda: self.set_handoff_folder(""))
        self.handoff_log = QPushButton(self.tr("L&og…"))
        self.handoff_log.clicked.connect(self.show_handoff_log)
        line.addWidget(self.handoff_edit, 1)
        for button in (self.handoff_choose, self.handoff_stop, self.handoff_log):
            line.addWidget(button)
        return row

    def _show_handoff(self, prefs: preferences.Preferences) -> None:
        allowed = can(self._state.actor, Permission.IMPORT_PURCHASES)
        self.handoff_edit.setText(prefs.handoff_folder)
        self.handoff_choose.setEnabled(allowed)
        self.handoff_stop.setEnabled(allowed and bool(prefs.handoff_folder))
        if not allowed:
            hint = self.tr("Only a supervisor or the owner can choose the hand-off folder.")
        elif prefs.handoff_folder:
            hint = self.tr("Receipt files (CSV or Excel) the till program saves there are imported as they appear, "
                           "as {name}; they then move to done/ or, with the rows that could not be imported, to "
                           "rejected/.").format(name=prefs.handoff_staff or self.tr("the owner"))
        else:
            hint = self.tr("Choose the folder the till program saves its receipt exports to (CSV or Excel): crmdesk "
                           "imports each new file while it is open on this computer.")
        self.handoff_hint.setText(hint)

    def choose_handoff_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("POS hand-off folder"), self.handoff_edit.text())
        if folder:
            self.set_handoff_folder(folder)

    def set_handoff_folder(self, folder: str) -> bool:
        """Choose the hand-off folder ("": none) as the signed-in person; the window then watches it."""
        try:
            prefs = handoff.set_handoff_folder(self._state.actor, folder)
        except CrmdeskError as exc:
            self.status.setText(error_text(exc))
            return False
        self._show_handoff(prefs)
        self.status.setText(self.tr("Saved."))
        self.handoffFolderChanged.emit()
        return True

    def show_handoff_log(self) -> None:
        from crmdesk.views.handoff_log import HandoffLogDialog

        HandoffLogDialog(preferences.load().handoff_folder, self).exec()

    def apply(self) -> None:
        """Keep this computer's choices; a new language rebuilds the window in it."""
        choice = self.language_box.currentData()
        prefs = preferences.load()
        language_changed = prefs.language != choice
        prefs.language = choice
        prefs.till = self.till_edit.text().strip()
        address = self.printer_edit.text().strip()
        if address:
            try:
                address = str(parse_address(address))
            except CrmdeskError as exc:
                self.status.setText(error_text(exc))
                self.printer_edit.setFocus()
                return
        prefs.receipt_printer = address
        prefs.slip_width_mm = int(self.width_box.currentData())
        preferences.save(prefs)
        self.printer_edit.setText(address)
        self.status.setText(self.tr("Saved."))
        if language_changed:
            self.languageChosen.emit(choice)


class StaffTab(QWidget):
    """The staff list for owners: add, disable or enable, reset PIN, set password."""

    COLUMNS = 4

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, self.COLUMNS)
        self.table.setHorizontalHeaderLabels([self.tr("Name"), self.tr("Role"), self.tr("Status"), self.tr("Signs in with")])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.add_button = QPushButton(self.tr("&Add…"))
        self.pin_button = QPushButton(self.tr("Reset &PIN…"))
        self.password_button = QPushButton(self.tr("Set pass&word…"))
        self.toggle_button = QPushButton(self.tr("&Disable"))
        self.add_button.clicked.connect(self.add_staff)
        self.pin_button.clicked.connect(self.reset_pin)
        self.password_button.clicked.connect(self.set_password)
        self.toggle_button.clicked.connect(self.toggle_active)
        for button in (self.add_button, self.pin_button, self.password_button, self.toggle_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self._rows: list[staff_service.StaffInfo] = []
        self.reload()

    def reload(self) -> None:
        """The staff as they are now, read off the UI thread."""
        self._state.operations.read(self._state.db, staff_service.list_staff, self._show_staff, key=f"staff-{id(self)}",
                                    owner=self)

    def _show_staff(self, rows: list[staff_service.StaffInfo]) -> None:
        self._rows = rows
        self.table.setRowCount(len(self._rows))
        for row, person in enumerate(self._rows):
            status = self.tr("Active") if person.active else self.tr("Disabled")
            if person.locked:
                status = self.tr("Locked")
            methods = [m for m, has in ((self.tr("PIN"), person.has_pin), (self.tr("password"), person.has_password)) if has]
            for column, text in enumerate((person.name, role_label(person.role), status, " + ".join(methods))):
                self.table.setItem(row, column, QTableWidgetItem(text))
        if self._rows and not self.table.selectedItems():
            self.table.selectRow(0)
        self._update_buttons()

    def _selected(self) -> staff_service.StaffInfo | None:
        rows = self.table.selectionModel().selectedRows()
        return self._rows[rows[0].row()] if rows else None

    def _update_buttons(self) -> None:
        person = self._selected()
        for button in (self.pin_button, self.password_button, self.toggle_button):
            button.setEnabled(person is not None)
        if person is not None:
            self.toggle_button.setText(self.tr("&Disable") if person.active else self.tr("&Enable"))

    def _run(self, operation) -> None:  # type: ignore[no-untyped-def]
        """One change on the operations thread; then the staff again, or the refusal."""
        self._state.operations.write(self._state.db, operation, lambda _result: self.reload(), lambda exc: show_error(self, exc),
                                     owner=self)

    def _work(self, change: Callable[[Session], object]) -> Callable[[], object]:
        """``change`` in one transaction, for a staff dialog to run on the operations thread."""
        db = self._state.db

        def work() -> object:
            with unit_of_work(db) as session:
                return change(session)
        return work

    def add_staff(self) -> None:
        actor = self._state.actor

        def submit(name: str, role: Role, pin: str, password: str | None) -> Callable[[], object]:
            return self._work(lambda session: staff_service.add_staff(session, actor, name, role, pin=pin, password=password))

        if AddStaffDialog(self, submit, self._state.operations).exec():
            self.reload()

    def reset_pin(self) -> None:
        person = self._selected()
        if person is None:
            return

        actor = self._state.actor

        def submit(pin: str) -> Callable[[], object]:
            return self._work(lambda session: staff_service.reset_pin(session, actor, person.id, pin))

        title = self.tr("New PIN for {name}").format(name=person.name)
        if SecretDialog(self, title, self.tr("New &PIN:"), self.tr("4 to 6 digits"), submit, self._state.operations).exec():
            self.reload()

    def set_password(self) -> None:
        person = self._selected()
        if person is None:
            return

        actor = self._state.actor

        def submit(password: str) -> Callable[[], object]:
            return self._work(lambda session: staff_service.set_password(session, actor, person.id, password))

        title = self.tr("New password for {name}").format(name=person.name)
        if SecretDialog(self, title, self.tr("New pass&word:"), self.tr("at least {count} characters").format(
                count=MIN_PASSWORD_LENGTH), submit, self._state.operations).exec():
            self.reload()

    def toggle_active(self) -> None:
        person = self._selected()
        if person is None:
            return
        if person.active:
            question = self.tr("Disable {name}? They will no longer be able to sign in.").format(name=person.name)
            if QMessageBox.question(self, self.tr("Disable account"), question) != QMessageBox.StandardButton.Yes:
                return
        self._run(lambda session: staff_service.set_active(session, self._state.actor, person.id, not person.active))


class SettingsPage(QTabWidget):
    languageChosen = Signal(str)
    handoffFolderChanged = Signal()  # noqa: N815 - this computer's hand-off folder changed (Settings → This computer)

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        self.store_tab = StoreTab(state)
        self.computer_tab = ComputerTab(state)
        self.computer_tab.languageChosen.connect(self.languageChosen)
        self.computer_tab.handoffFolderChanged.connect(self.handoffFolderChanged)
        self.addTab(self.store_tab, self.tr("Store"))
        self.addTab(self.computer_tab, self.tr("This computer"))
        self.staff_tab: StaffTab | None = None
        self.rules_tab: RulesTab | None = None
        self.tiers_tab: TiersTab | None = None
        self.money_tab: MoneySettingsTab | None = None
        self.backup_tab: BackupTab | None = None
        self.refresh_for_actor()

    def refresh_for_actor(self) -> None:
        """Show the staff list only to those who may manage staff (the service checks again)."""
        self.store_tab.load()
        allowed = can(self._state.actor, Permission.MANAGE_STAFF)
        if allowed and self.staff_tab is None:
            self.staff_tab = StaffTab(self._state)
            self.addTab(self.staff_tab, self.tr("Staff"))
        elif not allowed and self.staff_tab is not None:
            self.removeTab(self.indexOf(self.staff_tab))
            self.staff_tab.deleteLater()
            self.staff_tab = None
        # The points rules and tiers: the owner's (CHANGE_LOYALTY_RULES).
        may_change_rules = can(self._state.actor, Permission.CHANGE_LOYALTY_RULES)
        if may_change_rules and self.rules_tab is None:
            self.rules_tab = RulesTab(self._state)
            self.tiers_tab = TiersTab(self._state)
            self.addTab(self.rules_tab, self.tr("Points rules"))
            self.addTab(self.tiers_tab, self.tr("Tiers"))
        elif may_change_rules and self.rules_tab is not None and self.tiers_tab is not None:
            self.rules_tab.load()
            self.tiers_tab.load()
        elif not may_change_rules and self.rules_tab is not None:
            for tab in (self.rules_tab, self.tiers_tab):
                if tab is not None:
                    self.removeTab(self.indexOf(tab))
                    tab.deleteLater()
            self.rules_tab = self.tiers_tab = None
        # Stored value and credit: the owner's (MANAGE_MONEY_RULES).
        may_change_money = can(self._state.actor, Permission.MANAGE_MONEY_RULES)
        if may_change_money and self.money_tab is None:
            self.money_tab = MoneySettingsTab(self._state)
            self.addTab(self.money_tab, self.tr("Stored value and credit"))
        elif may_change_money and self.money_tab is not None:
            self.money_tab.load()
        elif not may_change_money and self.money_tab is not None:
            self.removeTab(self.indexOf(self.money_tab))
            self.money_tab.deleteLater()
            self.money_tab = None
        # Backup and restore, and the data check: the owner's (MANAGE_BACKUPS).
        may_manage_backups = can(self._state.actor, Permission.MANAGE_BACKUPS)
        if may_manage_backups and self.backup_tab is None:
            self.backup_tab = BackupTab(self._state)
            self.addTab(self.backup_tab, self.tr("Backup and restore"))
        elif may_manage_backups and self.backup_tab is not None:
            self.backup_tab.load()
        elif not may_manage_backups and self.backup_tab is not None:
            self.removeTab(self.indexOf(self.backup_tab))
            self.backup_tab.deleteLater()
            self.backup_tab = None
        # The audit log: the owner's (VIEW_AUDIT_LOG). Imported here; the tab is found as this page's child.
        from crmdesk.views.audit_tab import AuditTab

        self.audit_tab: AuditTab | None = self.findChild(AuditTab)
        may_read_audit = can(self._state.actor, Permission.VIEW_AUDIT_LOG)
        if may_read_audit and self.audit_tab is None:
            self.audit_tab = AuditTab(self._state)
            self.addTab(self.audit_tab, self.tr("Audit log"))
        elif may_read_audit and self.audit_tab is not None:
            self.audit_tab.reload()
        elif not may_read_audit and self.audit_tab is not None:
            self.removeTab(self.indexOf(self.audit_tab))
            self.audit_tab.setParent(None)  # out of findChild's reach before it is deleted
            self.audit_tab.deleteLater()
            self.audit_tab = None

    def show_backups(self) -> None:
        if self.backup_tab is not None:
            self.setCurrentWidget(self.backup_tab)

    def show_audit(self) -> None:
        tab = getattr(self, "audit_tab", None)
        if tab is not None:
            self.setCurrentWidget(tab)

    def show_staff(self) -> None:
        if self.staff_tab is not None:
            self.setCurrentWidget(self.staff_tab)
