"""The money area (supervisors and the owner): what the shop holds for its members and what it is owed.

Tiles: the stored value owed to members (principal and bonus), the credit owed, how overdue. Below, everyone
with money overdue, longest first, with the latest collection note and promise (a promise that passed in red);
Enter or a double-click opens the member's credit tab. Printing the aging and the month's liability lives here.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from crmdesk import shop_time
from crmdesk.reports.documents import AgingRequest, LiabilityRequest
from crmdesk.services import credit, wallet
from crmdesk.shop_time import format_time
from crmdesk.views.common import format_fen, mark_data, mark_data_columns
from crmdesk.views.counter_page import masked_phone
from crmdesk.views.common import FigureTile
from crmdesk.views.report_preview import open_preview
from crmdesk.views.state import AppState
from crmdesk.views.terms import term

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ALERT = QColor("#b3261e")


class MoneyPage(QWidget):
    refreshed = Signal()  # the figures were read again: promises may have been kept or noted since

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        self.rows: list[credit.OverdueMember] = []
        self.profile_dialog: QDialog | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        heading_row = QHBoxLayout()
        heading = QLabel(self.tr("Stored value and credit"))
        heading.setObjectName("pageHeading")
        heading_row.addWidget(heading)
        heading_row.addStretch(1)
        self.aging_button = QPushButton(self.tr("Print &aging…"))
        self.aging_button.clicked.connect(self.print_aging)
        self.liability_button = QPushButton(self.tr("Print stored-value &liability…"))
        self.liability_button.clicked.connect(self.print_liability)
        self.refresh_button = QPushButton(self.tr("&Refresh"))
        self.refresh_button.clicked.connect(self.refresh)
        for button in (self.aging_button, self.liability_button, self.refresh_button):
            heading_row.addWidget(button)
        self.preview: QDialog | None = None
        layout.addLayout(heading_row)
        self.as_of = QLabel()
        self.as_of.setObjectName("hintLabel")
        mark_data(self.as_of)
        layout.addWidget(self.as_of)

        tiles = QGridLayout()
        tiles.setSpacing(12)
        self.wallet_tile = FigureTile(self.tr("Stored value held for members"))
        self.owed_tile = FigureTile(self.tr("Owed on credit"))
        self.overdue_tile = FigureTile(self.tr("Overdue"))
        self.bucket_tiles = {bucket: FigureTile(term(credit.BUCKET_LABELS[bucket])) for bucket in credit.BUCKETS[1:]}
        # Twelve columns: three wide tiles above, the four overdue buckets below.
        for column, tile in enumerate((self.wallet_tile, self.owed_tile, self.overdue_tile)):
            tiles.addWidget(tile, 0, column * 4, 1, 4)
        for column, tile in enumerate(self.bucket_tiles.values()):
            tiles.addWidget(tile, 1, column * 3, 1, 3)
        for column in range(12):
            tiles.setColumnStretch(column, 1)
        layout.addLayout(tiles)

        title = QLabel(self.tr("Overdue (Enter opens the member)"))
        title.setObjectName("sectionHeading")
        layout.addWidget(title)
        self.table = QTableWidget(0, 8)
        self.table.setHorizontalHeaderLabels([
            self.tr("Member no."), self.tr("Name"), self.tr("Phone"), self.tr("Owes"), self.tr("Overdue"), self.tr("Days"),
            self.tr("Last note"), self.tr("Promised by")])
        mark_data_columns(self.table, 0, 1, 2, 6)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.doubleClicked.connect(lambda index: self.open_row(index.row()))
        self.table.activated.connect(lambda index: self.open_row(index.row()))
        layout.addWidget(self.table, 1)
        self.empty_label = QLabel(self.tr("Nobody is overdue."))
        self.empty_label.setObjectName("hintLabel")
        layout.addWidget(self.empty_label)
        self.refresh()

    def refresh(self) -> None:
        """What the wallets hold and who is overdue, read off the UI thread."""
        today = shop_time.today()

        def read(session: Session) -> tuple[wallet.Liability, credit.Aging, list[credit.OverdueMember], dict[int, credit.NoteRow]]:
            rows = credit.overdue_members(session, as_of=today)
            return (wallet.liability(session), credit.aging(session, as_of=today), rows,
                    credit.latest_notes(session, [person.member_id for person in rows]))

        self._state.operations.read(self._state.db, read, lambda figures: self._show(today, *figures),
                                    key=f"money-page-{id(self)}", owner=self)

    def _show(self, today: date, held: wallet.Liability, aging: credit.Aging, rows: list[credit.OverdueMember],
              notes: dict[int, credit.NoteRow]) -> None:
        self.rows = rows
        self.as_of.setText(self.tr("As of the end of {day}.").format(day=today.isoformat()))
        self.wallet_tile.value.setText(format_fen(held.total_fen))
        self.wallet_tile.detail.setText(self.tr("{principal} paid in, {bonus} bonus; {members} members").format(
            principal=format_fen(held.principal_fen), bonus=format_fen(held.bonus_fen), members=f"{held.wallets:,}"))
        self.owed_tile.value.setText(format_fen(aging.total_fen))
        self.owed_tile.detail.setText(self.tr("{members} members").format(members=f"{aging.members:,}"))
        self.overdue_tile.value.setText(format_fen(aging.overdue_fen))
        self.overdue_tile.detail.setText(self.tr("{members} members").format(members=f"{len(self.rows):,}"))
        for bucket, tile in self.bucket_tiles.items():
            tile.value.setText(format_fen(aging.buckets[bucket]))
        self.table.setRowCount(len(self.rows))
        for row, person in enumerate(self.rows):
            note = notes.get(person.member_id)
            note_text = f"{format_time(note.at)}  {note.text}" if note else ""
            values = (person.member_no, person.name, masked_phone(person.phone), format_fen(person.owed_fen),
                      format_fen(person.overdue_fen), f"{person.oldest_overdue_days:,}", note_text,
                      person.promised_on.isoformat() if person.promised_on else "")
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                if column in (3, 4, 5):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if column == 6 and note:
                    item.setToolTip(note.text)
                if column == 7 and person.promise_passed:
                    item.setForeground(ALERT)
                    item.setToolTip(QCoreApplication.translate("MoneyPage", "The promise has passed: follow it up."))
                self.table.setItem(row, column, item)
        self.table.setVisible(bool(self.rows))
        self.empty_label.setVisible(not self.rows)
        self.refreshed.emit()

    def print_aging(self) -> QDialog:
        """What members owe by days overdue, and who, as of today (the day can change in the preview)."""
        self.preview = open_preview(self, self._state, AgingRequest(shop_time.today()), self.tr("Credit aging"))
        return self.preview

    def print_liability(self) -> QDialog:
        """This month's stored-value movement, opening to closing (the month can change in the preview)."""
        self.preview = open_preview(self, self._state, LiabilityRequest(shop_time.today().replace(day=1)),
                                    self.tr("Stored-value liability"))
        return self.preview

    def open_row(self, row: int) -> None:
        from crmdesk.views.member_profile import MemberProfileDialog

        if not 0 <= row < len(self.rows):
            return
        dialog = MemberProfileDialog(self._state, self.rows[row].member_id, self)
        dialog.tabs.setCurrentWidget(dialog.credit_tab)
        self.profile_dialog = dialog
        dialog.exec()
        self.profile_dialog = None
        self.refresh()
