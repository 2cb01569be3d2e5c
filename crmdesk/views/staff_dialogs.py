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


def _secret_edit(placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    return edit


class _FormDialog(QDialog):
    """A form with an error line and OK/Cancel.

    OK runs ``submit``, which returns False after showing its own message; the
    dialog also stays open, showing the message, when a service refuses."""

    def __init__(self, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
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
        self.submit: Callable[[], bool] | None = None

    def fail(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def accept(self) -> None:
        if self.submit is None:
            return
        try:
            done = self.submit()
        except CrmdeskError as exc:
            self.fail(error_text(exc))
            return
        if done:
            super().accept()


class AddStaffDialog(_FormDialog):
    def __init__(self, parent: QWidget | None, on_submit: Callable[[str, Role, str, str | None], None]) -> None:
        super().__init__(self.tr("Add staff member"), parent)
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

        def submit() -> bool:
            if self.pin_edit.text() != self.pin_repeat.text():
                self.fail(self.tr("The two PINs differ."))
                return False
            on_submit(self.name_edit.text(), self.role_box.currentData(), self.pin_edit.text(), self.password_edit.text() or None)
            return True

        self.submit = submit


class SecretDialog(_FormDialog):
    """Set a new PIN or password for one account (entered twice)."""

    def __init__(self, parent: QWidget | None, title: str, label: str, placeholder: str, on_submit: Callable[[str], None]) -> None:
        super().__init__(title, parent)
        self.secret_edit = _secret_edit(placeholder)
        self.form.addRow(label, self.secret_edit)
        self.repeat_edit = _secret_edit()
        self.form.addRow(self.tr("Repeat:"), self.repeat_edit)

        def submit() -> bool:
            if self.secret_edit.text() != self.repeat_edit.text():
                self.fail(self.tr("The two entries differ."))
                return False
            on_submit(self.secret_edit.text())
            return True

        self.submit = submit

