"""Signing in, and switching the staff member at the counter with a PIN."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget,
)

from crmdesk import preferences
from crmdesk.db import Database
from crmdesk.errors import AuthenticationFailed, CrmdeskError
from crmdesk.models import Role
from crmdesk.services import auth
from crmdesk.services import staff as staff_service
from crmdesk.services import store as store_service
from crmdesk.services.uow import Actor
from crmdesk.views.common import error_text, mark_data, role_label
from crmdesk.views.operations import Operations

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class LoginDialog(QDialog):
    """Pick your name, type your password or PIN, press Enter. The staff list and the check of the secret run on
    ``operations`` (the program's thread: switching staff at the counter never freezes it); without it, at once."""

    def __init__(self, db: Database, parent: QWidget | None = None, *, current: str | None = None,
                 operations: Operations | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._operations = operations or Operations(threaded=False, parent=self)
        self._current = current
        self.actor: Actor | None = None
        self.signing_in = False
        self.setWindowTitle(self.tr("Sign in"))
        self.setMinimumWidth(380)

        layout = QVBoxLayout(self)
        self.heading = QLabel("crmdesk")
        self.heading.setObjectName("dialogHeading")
        mark_data(self.heading)
        layout.addWidget(self.heading)

        form = QFormLayout()
        self.staff_box = QComboBox()
        mark_data(self.staff_box)
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
        self.demo_hint = QLabel()
        self.demo_hint.setWordWrap(True)
        self.demo_hint.setObjectName("hintLabel")
        self.demo_hint.hide()
        layout.addWidget(self.demo_hint)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.sign_in_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.sign_in_button.setText(self.tr("Sign in"))
        self.sign_in_button.setEnabled(False)  # until the staff list is read
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.secret_edit.setFocus(Qt.FocusReason.OtherFocusReason)

        def read(session: Session) -> tuple[list[staff_service.StaffInfo], store_service.StoreInfo]:
            return staff_service.list_staff(session, active_only=True), store_service.get_store(session)

        self._operations.read(db, read, lambda people_and_shop: self._show(*people_and_shop), self._refused, owner=self)

    def _show(self, people: list[staff_service.StaffInfo], shop: store_service.StoreInfo) -> None:
        self.heading.setText(shop.store_name or "crmdesk")
        # Whoever signed in here last comes first (one Enter away), then everyone in pinyin order;
        # on a new PC the owner, who sets it up, is chosen.
        last = self._current or preferences.load().last_staff
        people = sorted(people, key=lambda person: person.name != last)
        for person in people:
            self.staff_box.addItem(f"{person.name} · {role_label(person.role)}", person.name)
        owners = [i for i, person in enumerate(people) if person.role is Role.OWNER]
        self.staff_box.setCurrentIndex(0 if people and people[0].name == last else owners[0] if owners else 0)
        if shop.is_demo:
            from crmdesk.services import demo  # loaded only for the demo store: it pulls in a lot

            self.demo_hint.setText(
                self.tr("Demo store: sign in as {owner} with the password {password}, or as a cashier with the PIN {pin}.").format(
                    owner=demo.DEMO_OWNER_NAME, password=demo.DEMO_OWNER_PASSWORD, pin=demo.DEMO_CASHIER_PIN))
            self.demo_hint.show()
        self.sign_in_button.setEnabled(True)

    def accept(self) -> None:
        name = self.staff_box.currentData()
        if not name or self.signing_in:
            return
        db, secret = self._db, self.secret_edit.text()
        self.signing_in = True
        self.sign_in_button.setEnabled(False)
        self._operations.run(lambda: auth.authenticate(db, name, secret), self._signed_in, self._refused, owner=self)

    def _signed_in(self, actor: Actor) -> None:
        self.signing_in = False
        self.actor = actor
        prefs = preferences.load()
        prefs.last_staff = actor.name
        preferences.save(prefs)
        QDialog.accept(self)

    def _refused(self, exc: CrmdeskError) -> None:
        self.signing_in = False
        self.sign_in_button.setEnabled(self.staff_box.count() > 0)
        self.message.setText(error_text(exc))
        self.message.show()
        if isinstance(exc, AuthenticationFailed):
            self.secret_edit.clear()
            self.secret_edit.setFocus()
