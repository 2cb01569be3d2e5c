"""Dialogs of the staff list: add an account, set a PIN, set a password."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget,
)

from crmdesk.errors import CrmdeskError
from crmdesk.models import Role
from crmdesk.services.auth import MIN_PASSWORD_LENGTH
from crmdesk.views.common import error_text, role_label
from crmdesk.views.operations import Operations


def _secret_edit(placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    return edit


class _FormDialog(QDialog):
    """A form with an error line and OK/Cancel.

    OK runs ``submit``, which returns False after showing its own message, or the work to do: run on ``operations``
    (the program's thread: a slow hash and the database stay off the screen's thread), or None when it was done at
    once. The dialog closes when the work is done, and stays open, showing the message, when a service refuses."""

    def __init__(self, title: str, parent: QWidget | None, operations: Operations | None = None) -> None:
        super().__init__(parent)
        self._operations = operations or Operations(threaded=False, parent=self)
        self.saving = False
        self.setWindowTitle(title)
        self.setMinimumWidth(400)
        self._layout = QVBoxLayout(self)
        self.form = QFormLayout()
        self._layout.addLayout(self.form)
        self.message = QLabel()
        self.message.setObjectName("errorLabel")
        self.message.setWordWrap(True)
        self.message.hide()
        self._layout.addWidget(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self._layout.addWidget(buttons)
        self.submit: Callable[[], Callable[[], object] | bool | None] | None = None

    def fail(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def accept(self) -> None:
        if self.submit is None or self.saving:
            return
        try:
            work = self.submit()
        except CrmdeskError as exc:
            self.fail(error_text(exc))
            return
        if work is False:
            return
        if work is None or work is True:
            super().accept()
            return

        def failed(exc: CrmdeskError) -> None:
            self.saving = False
            self.fail(error_text(exc))

        def done(_result: object) -> None:
            self.saving = False
            QDialog.accept(self)

        self.saving = True
        self._operations.run(work, done, failed, owner=self)


class AddStaffDialog(_FormDialog):
    def __init__(self, parent: QWidget | None, on_submit: Callable[[str, Role, str, str | None], Callable[[], object] | None],
                 operations: Operations | None = None) -> None:
        super().__init__(self.tr("Add staff member"), parent, operations)
        self.name_edit = QLineEdit()
        self.form.addRow(self.tr("&Name:"), self.name_edit)
        self.role_box = QComboBox()
        for role in Role:
            self.role_box.addItem(role_label(role), role)
        self.form.addRow(self.tr("&Role:"), self.role_box)
        self.pin_edit = _secret_edit(self.tr("4 to 6 digits"))
        self.form.addRow(self.tr("&PIN:"), self.pin_edit)
        self.pin_repeat = _secret_edit()
        self.form.addRow(self.tr("R&epeat PIN:"), self.pin_repeat)
        self.password_edit = _secret_edit(self.tr("optional; at least {count} characters").format(count=MIN_PASSWORD_LENGTH))
        self.form.addRow(self.tr("Pass&word:"), self.password_edit)

        def submit() -> Callable[[], object] | bool | None:
            if self.pin_edit.text() != self.pin_repeat.text():
                self.fail(self.tr("The two PINs differ."))
                return False
            return on_submit(self.name_edit.text(), self.role_box.currentData(), self.pin_edit.text(),
                             self.password_edit.text() or None)

        self.submit = submit


class SecretDialog(_FormDialog):
    """Set a new PIN or password for one account (entered twice)."""

    def __init__(self, parent: QWidget | None, title: str, label: str, placeholder: str,
                 on_submit: Callable[[str], Callable[[], object] | None], operations: Operations | None = None) -> None:
        super().__init__(title, parent, operations)
        self.secret_edit = _secret_edit(placeholder)
        self.form.addRow(label, self.secret_edit)
        self.repeat_edit = _secret_edit()
        self.form.addRow(self.tr("Repeat:"), self.repeat_edit)

        def submit() -> Callable[[], object] | bool | None:
            if self.secret_edit.text() != self.repeat_edit.text():
                self.fail(self.tr("The two entries differ."))
                return False
            return on_submit(self.secret_edit.text())

        self.submit = submit

