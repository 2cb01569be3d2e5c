"""First start on an empty database: name the store and create the owner account."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget, QWizard, QWizardPage

from crmdesk.db import Database
from crmdesk.errors import CrmdeskError
from crmdesk.services import store as store_service
from crmdesk.services.auth import MIN_PASSWORD_LENGTH
from crmdesk.services.uow import Actor, unit_of_work
from crmdesk.views.common import error_text


class StorePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(self.tr("Welcome to crmdesk"))
        self.setSubTitle(self.tr("This database is new. Two short steps set it up for your store."))
        layout = QFormLayout(self)
        self.store_name = QLineEdit()
        self.store_name.setPlaceholderText(self.tr("e.g. Happy Neighbour Supermarket"))
        layout.addRow(self.tr("Store &name:"), self.store_name)
        self.registerField("store_name*", self.store_name)


class OwnerPage(QWizardPage):
    def __init__(self, db: Database) -> None:
        super().__init__()
        self._db = db
        self.actor: Actor | None = None
        self.setTitle(self.tr("The owner's account"))
        self.setSubTitle(
            self.tr("The owner can do everything, including managing staff. Choose a password of at least {count} characters.").format(
                count=MIN_PASSWORD_LENGTH
            )
        )
        outer = QVBoxLayout(self)
        form = QFormLayout()
        self.owner_name = QLineEdit()
        form.addRow(self.tr("Your &name:"), self.owner_name)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("&Password:"), self.password)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("&Repeat password:"), self.repeat)
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText(self.tr("optional, 4 to 6 digits"))
        form.addRow(self.tr("Counter P&IN:"), self.pin)
        outer.addLayout(form)
        self.message = QLabel()
        self.message.setObjectName("errorLabel")
        self.message.setWordWrap(True)
        outer.addWidget(self.message)
        self.registerField("owner_name*", self.owner_name)
        self.registerField("password*", self.password)

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        if self.password.text() != self.repeat.text():
            self.message.setText(self.tr("The two passwords differ."))
            return False
        try:
            with unit_of_work(self._db) as session:
                self.actor = store_service.initialise(
                    session,
                    owner_name=self.owner_name.text(),
                    owner_password=self.password.text(),
                    store_name=self.field("store_name"),
                    owner_pin=self.pin.text() or None,
                )
        except CrmdeskError as exc:
            self.message.setText(error_text(exc))
            return False
        return True


class SetupWizard(QWizard):
    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Set up crmdesk"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setMinimumSize(560, 380)
        self.addPage(StorePage())
        self.owner_page = OwnerPage(db)
        self.addPage(self.owner_page)

    @property
    def actor(self) -> Actor | None:
        return self.owner_page.actor
