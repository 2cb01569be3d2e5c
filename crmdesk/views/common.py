"""Small helpers every view uses: translated errors and labels, money, data markers."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from crmdesk.errors import CrmdeskError
from crmdesk.models import Role
from crmdesk.services.member_query import money_text
from crmdesk.texts import QT_TRANSLATE_NOOP

# Widgets whose text is data (names, paths, figures) rather than interface text
# carry this property, so the translation test knows not to expect Chinese there.
DATA_PROPERTY = "crmdeskData"

ROLE_LABELS = {
    Role.CASHIER: QT_TRANSLATE_NOOP("terms", "Cashier"),
    Role.SUPERVISOR: QT_TRANSLATE_NOOP("terms", "Supervisor"),
    Role.OWNER: QT_TRANSLATE_NOOP("terms", "Owner"),
}


def role_label(role: Role) -> str:
    return QCoreApplication.translate("terms", ROLE_LABELS[role])


def error_text(error: CrmdeskError) -> str:
    """The error's message in the user's language."""
    return QCoreApplication.translate("errors", error.template).format(**error.params)


def show_error(parent: QWidget | None, error: CrmdeskError) -> None:
    QMessageBox.warning(parent, QCoreApplication.translate("common", "Cannot do that"), error_text(error))


def mark_data(widget: QWidget) -> QWidget:
    widget.setProperty(DATA_PROPERTY, True)
    return widget


def format_fen(fen: int) -> str:
    """¥ with two decimals and thousands separators; exact, never via float."""
    return money_text(fen)
