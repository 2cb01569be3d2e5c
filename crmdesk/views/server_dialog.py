"""Settings → This computer → Connect to server…: the shop's PostgreSQL server, tested before it is kept.

The line 'crmdesk server setup' printed on the server PC is pasted whole, or the server, port, database,
user and password are typed one by one. Testing runs off the UI thread (a server that does not answer
takes seconds); what it finds, or what is wrong, is said in the owner's words. The choice is this
computer's (services/server.py) and takes effect when crmdesk next starts.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from crmdesk import preferences
from crmdesk.errors import CrmdeskError
from crmdesk.services import server
from crmdesk.services.purchases import MAX_TILL_LENGTH
from crmdesk.services.uow import Actor
from crmdesk.views.background import TaskThread
from crmdesk.views.common import error_text, mark_data


class ConnectServerDialog(QDialog):
    def __init__(self, actor: Actor, current: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Connect to the shop's server"))
        self._actor = actor
        self._thread: TaskThread | None = None
        self.chosen = False  # the choice was changed (saved); it takes effect at the next start
        self.setMinimumWidth(560)  # the pasted line and the answers read in full; fits a 1024×768 screen
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr("Several tills can share one shop's data on a PostgreSQL server. On the server PC, "
                               "'crmdesk server setup' prints a line for the tills: paste it here, or fill in the "
                               "fields."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.line_edit = QLineEdit()
        self.line_edit.setPlaceholderText("crmdesk connect postgresql+psycopg://crmdesk:…@shop-pc:5432/crmdesk")
        self.line_edit.textChanged.connect(self._take_line)
        form.addRow(self.tr("&Line from the server PC:"), self.line_edit)
        self.host_edit = QLineEdit()
        self.host_edit.setPlaceholderText(self.tr("the server PC's name or address, e.g. shop-pc or 192.168.1.10"))
        form.addRow(self.tr("&Server:"), self.host_edit)
        self.port_box = QSpinBox()
        self.port_box.setRange(1, 65535)
        self.port_box.setValue(server.DEFAULT_PORT)
        form.addRow(self.tr("&Port:"), self.port_box)
        self.database_edit = QLineEdit(server.DEFAULT_NAME)
        form.addRow(self.tr("&Database:"), self.database_edit)
        self.user_edit = QLineEdit(server.DEFAULT_NAME)
        form.addRow(self.tr("&User:"), self.user_edit)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("Pass&word:"), self.password_edit)
        self.till_edit = QLineEdit(preferences.load().till)
        self.till_edit.setMaxLength(MAX_TILL_LENGTH)
        self.till_edit.setPlaceholderText(self.tr("e.g. 01 or Front desk"))
        self.till_edit.setToolTip(self.tr("Goes on every receipt recorded on this computer; every till of the shop needs "
                                          "its own name."))
        form.addRow(self.tr("T&ill of this computer:"), self.till_edit)
        for edit in (self.line_edit, self.host_edit, self.database_edit, self.user_edit):  # data, and a line of data as the example
            mark_data(edit)
        layout.addLayout(form)
        self.current_label = QLabel(self.tr("Now: {where}").format(where=current))
        self.current_label.setWordWrap(True)
        self.current_label.setObjectName("hintLabel")
        layout.addWidget(self.current_label)
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.result_label)
        row = QHBoxLayout()
        self.test_button = QPushButton(self.tr("&Test"))
        self.test_button.clicked.connect(lambda: self._run(save=False))
        self.own_file_button = QPushButton(self.tr("Use this computer's &own file"))
        self.own_file_button.setToolTip(self.tr("Work on the database file on this computer again, from the next start."))
        self.own_file_button.clicked.connect(self.use_own_file)
        self.own_file_button.setEnabled(server.remembered_server() is not None)
        row.addWidget(self.test_button)
        row.addWidget(self.own_file_button)
        row.addStretch(1)
        layout.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = buttons.addButton(self.tr("&Connect"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.connect_button.setDefault(True)
        buttons.accepted.connect(lambda: self._run(save=True))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        remembered = server.remembered_server()
        if remembered is not None:
            self._show_parts(remembered)

    # ------------------------------------------------------------------ the fields

    def _take_line(self, text: str) -> None:
        """A pasted line fills the fields (nothing happens while it is not a whole line yet)."""
        if not text.strip():
            return
        try:
            url = server.server_url(text)
        except CrmdeskError:
            return
        self._show_parts(url)
        # The line carries the password in clear: once in the fields (the password hidden), it leaves the screen.
        QTimer.singleShot(0, self.line_edit.clear)

    def _show_parts(self, url) -> None:  # type: ignore[no-untyped-def]
        self.host_edit.setText(url.host or "")
        self.port_box.setValue(url.port or server.DEFAULT_PORT)
        self.database_edit.setText(url.database or "")
        self.user_edit.setText(url.username or "")
        self.password_edit.setText(url.password or "")

    def url(self):  # type: ignore[no-untyped-def]
        return server.url_from_parts(self.host_edit.text(), self.port_box.value(), self.database_edit.text(),
                                     self.user_edit.text(), self.password_edit.text())

    # ------------------------------------------------------------------ testing and keeping

    def _run(self, *, save: bool) -> None:
        try:
            url = self.url()
        except CrmdeskError as exc:
            self.result_label.setText(error_text(exc))
            return
        actor = self._actor
        till = self.till_edit.text()
        if save:
            try:
                server.check_till_name(till)
            except CrmdeskError as exc:
                self.result_label.setText(error_text(exc))
                self.till_edit.setFocus()
                return
        work = (lambda: server.choose_server(actor, url, till=till)) if save else (lambda: server.check_connection(url))
        self._busy(True)
        self.result_label.setText(self.tr("Connecting to {host} …").format(host=url.host))
        self._thread = TaskThread(work, self)
        self._thread.succeeded.connect(lambda found: self._found(found, save))
        self._thread.failed.connect(self._failed)
        self._thread.start_kept()

    def _busy(self, busy: bool) -> None:
        for widget in (self.test_button, self.connect_button, self.own_file_button, self.line_edit, self.host_edit,
                       self.port_box, self.database_edit, self.user_edit, self.password_edit, self.till_edit):
            widget.setEnabled(not busy)
        if not busy:
            self.own_file_button.setEnabled(server.remembered_server() is not None)

    def _found(self, found: server.ConnectionCheck, saved: bool) -> None:
        self._busy(False)
        lines = [self.tr("Connected in {ms} ms: {store} with {members} members (PostgreSQL {version}).").format(
            ms=f"{found.milliseconds:.0f}", store=found.store_name or self.tr("a store"), members=f"{found.members:,}",
            version=found.server_version.split()[0])]
        if found.upgrade_needed:
            lines.append(self.tr("The server's data is from an older crmdesk: it is upgraded when crmdesk opens it here; "
                                 "update the other tills too."))
        if not found.initialised:
            lines.append(self.tr("No owner is set up there yet: crmdesk asks for one when it opens the server."))
        if saved:
            self.chosen = True
            lines.append(self.tr("This computer works on the server from the next start: close crmdesk and open it again."))
        self.result_label.setText("\n".join(lines))
        if saved:
            self.connect_button.setEnabled(False)

    def _failed(self, error: CrmdeskError) -> None:
        self._busy(False)
        self.result_label.setText(error_text(error))

    def use_own_file(self) -> None:
        try:
            server.choose_server(self._actor, None)
        except CrmdeskError as exc:
            self.result_label.setText(error_text(exc))
            return
        self.chosen = True
        self.own_file_button.setEnabled(False)
        self.result_label.setText(self.tr("This computer works on its own database file from the next start: close "
                                          "crmdesk and open it again."))
