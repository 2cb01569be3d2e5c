"""Signing in, and switching the staff member at the counter with a PIN."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget,
)

from crmdesk import preferences
from crmdesk.db import Database
from crmdesk.errors import AuthenticationFailed
from crmdesk.models import Role
from crmdesk.services import auth
from crmdesk.services import staff as staff_service
from crmdesk.services import store as store_service
from crmdesk.services.uow import Actor, read_session
from crmdesk.views.common import error_text, mark_data, role_label


class LoginDialog(QDialog):
    """Pick your name, type your password or PIN, press Enter."""

    def __init__(self, db: Database, parent: QWidget | None = None, *, current: str | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self.actor: Actor | None = None
        self.setWindowTitle(self.tr("Sign in"))
        self.setMinimumWidth(380)

        with read_session(db) as session:
            people = staff_service.list_staff(session, active_only=True)
            shop = store_service.get_store(session)

        layout = QVBoxLayout(self)
        heading = QLabel(shop.store_name or "crmdesk")
        heading.setObjectName("dialogHeading")
        mark_data(heading)
        layout.addWidget(heading)

        form = QFormLayout()
        self.staff_box = QComboBox()
        # Whoever signed in here last comes first (one Enter away), then everyone in pinyin order;
        # on a new PC the owner, who sets it up, is chosen.
        last = current or preferences.load().last_staff
        people = sorted(people, key=lambda person: person.name != last)
        for person in people:
            self.staff_box.addItem(f"{person.name} · {role_label(person.role)}", person.name)
        mark_data(self.staff_box)
        owners = [i for i, person in enumerate(people) if person.role is Role.OWNER]
        self.staff_box.setCurrentIndex(0 if people and people[0].name == last else owners[0] if owners else 0)
        form.addRow(self.tr("&Staff:"), self.staff_box)
        self.secret_edit = QLineEdit()
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_edit.setPlaceholderText(self.tr("Password or PIN"))
        form.addRow(self.tr("&Password or PIN:"), self.secret_edit)
        layout.addLayout(form)

        self.message = QLabel()
        self.message.setObjectName("errorLabel")
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)

        if shop.is_demo:
            from crmdesk.services import demo  # loaded only for the demo store: it pulls in a lot

            hint = QLabel(
                self.tr("Demo store: sign in as {owner} with the password {password}, or as a cashier with the PIN {pin}.").format(
                    owner=demo.DEMO_OWNER_NAME, password=demo.DEMO_OWNER_PASSWORD, pin=demo.DEMO_CASHIER_PIN
                )
            )
            hint.setWordWrap(True)
            hint.setObjectName("hintLabel")
            layout.addWidget(hint)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Sign in"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.secret_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def accept(self) -> None:
        name = self.staff_box.currentData()
        if not name:
            return
        try:
            self.actor = auth.authenticate(self._db, name, self.secret_edit.text())
        except AuthenticationFailed as exc:
            self.message.setText(error_text(exc))
            self.message.show()
            self.secret_edit.clear()
            self.secret_edit.setFocus()
            return
        prefs = preferences.load()
        prefs.last_staff = self.actor.name
        preferences.save(prefs)
        super().accept()
