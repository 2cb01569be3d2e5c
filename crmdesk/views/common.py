"""Small helpers every view uses: translated errors and labels, money, data markers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractItemModel, QCoreApplication, QDate, QDateTime, QTime
from PySide6.QtWidgets import (
    QAbstractItemView, QDateTimeEdit, QDialog, QFrame, QHeaderView, QLabel, QMessageBox, QPushButton, QTableView,
    QVBoxLayout, QWidget,
)

from crmdesk import shop_time

from crmdesk.errors import CrmdeskError
from crmdesk.models import Role
from crmdesk.services.member_query import money_text
from crmdesk.texts import QT_TRANSLATE_NOOP, translate_terms_with

if TYPE_CHECKING:
    from crmdesk.views.state import AppState

# Widgets whose text is data (names, paths, figures) rather than interface text
# carry this property, so the translation test knows not to expect Chinese there.
DATA_PROPERTY = "crmdeskData"
# Tables list the columns that hold data (names, numbers, what a person typed) the same way.
DATA_COLUMNS_PROPERTY = "crmdeskDataColumns"

ROLE_LABELS = {
    Role.CASHIER: QT_TRANSLATE_NOOP("terms", "Cashier"),
    Role.SUPERVISOR: QT_TRANSLATE_NOOP("terms", "Supervisor"),
    Role.OWNER: QT_TRANSLATE_NOOP("terms", "Owner"),
}


def role_label(role: Role) -> str:
    return QCoreApplication.translate("terms", ROLE_LABELS[role])


# Statuses and kinds named inside messages (texts.Term) read in the interface's language on screen.
translate_terms_with(QCoreApplication.translate)


def error_text(error: CrmdeskError) -> str:
    """The error's message in the user's language, the values it names (statuses, kinds) too."""
    return QCoreApplication.translate("errors", error.template).format(**error.params)


def show_error(parent: QWidget | None, error: CrmdeskError) -> None:
    QMessageBox.warning(parent, QCoreApplication.translate("common", "Cannot do that"), error_text(error))


def mark_data(widget: QWidget) -> QWidget:
    widget.setProperty(DATA_PROPERTY, True)
    return widget


def mark_data_columns(table: QWidget, *columns: int) -> QWidget:
    """The table's columns whose cells are data; its other cells are interface text (statuses, kinds)."""
    table.setProperty(DATA_COLUMNS_PROPERTY, list(columns))
    return table


def format_fen(fen: int) -> str:
    """¥ with two decimals and thousands separators; exact, never via float."""
    return money_text(fen)


def shop_clock_now() -> QDateTime:
    """Now on the shop's clock (to the minute), as a date-time box shows it, whatever the PC's zone."""
    now = shop_time.to_shop(shop_time.now())
    return QDateTime(QDate(now.year, now.month, now.day), QTime(now.hour, now.minute))


def shop_time_edit() -> QDateTimeEdit:
    """A date-time box on the shop's clock, starting at now."""
    edit = QDateTimeEdit(shop_clock_now())
    edit.setDisplayFormat("yyyy-MM-dd HH:mm")
    edit.setCalendarPopup(True)
    return edit


def moment_of(edit: QDateTimeEdit) -> datetime:
    """What a date-time box shows, read on the shop's clock, as a stored (UTC) moment."""
    value = edit.dateTime()
    day, clock = value.date(), value.time()
    return shop_time.from_shop_clock(datetime(day.year(), day.month(), day.day(), clock.hour(), clock.minute()))


def paged_table(model: QAbstractItemModel, row_height: int) -> QTableView:
    """A read-only table over a model that fetches pages (member list, complaints board, audit log): whole rows
    selected one at a time, no wrapping, columns the person may widen, the last one taking the rest.

    Rows have one fixed height, so the view never measures rows and never asks for those it does not show."""
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    vertical = table.verticalHeader()
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(row_height)
    vertical.hide()
    horizontal = table.horizontalHeader()
    horizontal.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    horizontal.setStretchLastSection(True)
    return table


class FigureTile(QFrame):
    """A labelled figure: caption above, value large, a detail below (the dashboard's, money's and complaints' tiles)."""

    def __init__(self, caption: str) -> None:
        super().__init__()
        self.setObjectName("figureTile")
        layout = QVBoxLayout(self)
        self.caption = QLabel(caption)
        self.caption.setObjectName("figureCaption")
        self.value = QLabel()
        self.value.setObjectName("figureValue")
        mark_data(self.value)
        self.detail = QLabel()
        self.detail.setObjectName("figureDetail")
        mark_data(self.detail)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)


class WritingDialog(QDialog):
    """A form whose one write runs on the operations thread (views/operations.py). While it is on its way the form
    waits with it -- ``save_button`` off, Enter again and Esc do nothing -- and it closes on the answer. Asked
    again after the connection broke just as the server committed, the service says AlreadyDone (the form's
    request id, services/requests.py): the form closes on what the first time made."""

    saving = False
    save_button: QPushButton

    def write_once(self, state: AppState, work: Callable[[], Any], saved: Callable[[Any], None],
                   refused: Callable[[CrmdeskError], None], made: Callable[[int], None] | None = None) -> None:
        from crmdesk.services.requests import AlreadyDone

        def done(result: Any) -> None:
            self._set_saving(False)
            saved(result)
            QDialog.accept(self)

        def failed(error: CrmdeskError) -> None:
            self._set_saving(False)
            if isinstance(error, AlreadyDone):
                if error.made_id is not None and made is not None:
                    made(error.made_id)
                QDialog.accept(self)
                return
            refused(error)

        if self.saving:
            return
        self._set_saving(True)
        state.operations.run(work, done, failed, owner=self)

    def _set_saving(self, saving: bool) -> None:
        self.saving = saving
        self.save_button.setEnabled(not saving)

    def reject(self) -> None:
        if not self.saving:  # what is on its way is not abandoned half-seen
            super().reject()
