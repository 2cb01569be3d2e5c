"""The member profile's money tabs: the stored value (ledger, top-up, cash-out, correction, PIN) and credit
(limit, open charges, ledger, collection log, repay, stop, write off, statement).

Buttons show only for those who may use them; the services check again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from crmdesk import preferences, shop_time
from crmdesk.models import CreditKind, MemberStatus, WalletKind
from crmdesk.services import credit, wallet
from crmdesk.services.auth import Permission, can
from crmdesk.services.members import MemberProfile
from crmdesk.shop_time import format_time
from crmdesk.views.common import format_fen, mark_data_columns
from crmdesk.views.money_dialogs import (
    CashOutDialog, CollectionNoteDialog, CreditFreezeDialog, CreditLimitDialog, PayPinDialog, RepayDialog, TopUpDialog,
    WalletAdjustDialog, WriteOffDialog,
)
from crmdesk.views.slip_printing import SlipPrinter
from crmdesk.views.state import AppState
from crmdesk.views.terms import ledger_reason_text, payment_method_text, term

WALLET_ROWS = 200
CREDIT_ROWS = 200


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    return table


def _fill(table: QTableWidget, rows: list[list[str]], right: tuple[int, ...] = ()) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, text in enumerate(values):
            item = QTableWidgetItem(text)
            if c in right:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


def _signed(fen: int) -> str:
    return ("+" if fen > 0 else "") + format_fen(fen) if fen else "—"


class _MoneyTab(QWidget):
    """A summary line, buttons, and what a dialog changed reported back (``changed``)."""

    changed = Signal()

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        self.profile: MemberProfile | None = None
        self.layout_ = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setObjectName("sectionHeading")
        self.summary.setWordWrap(True)
        self.layout_.addWidget(self.summary)
        self.buttons = QHBoxLayout()
        self.layout_.addLayout(self.buttons)
        self.dialog: QDialog | None = None
        # Printing, at the bottom: what printed (or why not) on the left, the print buttons on the right.
        self.slips = SlipPrinter(state, self)
        self.slips.done.connect(self._slip_done)
        self.print_row = QHBoxLayout()
        self.print_status = QLabel()
        self.print_status.setObjectName("hintLabel")
        self.print_status.setWordWrap(True)
        self.print_row.addWidget(self.print_status, 1)

    def _print_button(self, text: str, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(slot)
        self.print_row.addWidget(button)
        return button

    def _slip_done(self, text: str) -> None:
        self.print_status.setText(text)

    def _button(self, text: str, dialog_class: type[QDialog]) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(lambda: self._open(dialog_class))
        self.buttons.addWidget(button)
        return button

    def _open(self, dialog_class: type[QDialog]) -> None:
        """The dialog for the member on show; one that shows figures first reads them (its ``setup``) off the UI thread."""
        state, profile = self._state, self.profile
        setup = getattr(dialog_class, "setup", None)
        if setup is None:
            self._show(dialog_class(state, profile, self))  # type: ignore[call-arg]
            return
        state.operations.read(state.db, lambda session: setup(session, profile),
                              lambda value: self._show(dialog_class(state, profile, value, self)),  # type: ignore[call-arg]
                              owner=self)

    def _show(self, dialog: QDialog) -> None:
        self.dialog = dialog
        dialog.finished.connect(lambda result, d=dialog: self._closed(d, result))
        dialog.open()

    def _closed(self, dialog: QDialog, result: int) -> None:
        if result == QDialog.DialogCode.Accepted:
            self._print_after(dialog)
            self.changed.emit()
        self.dialog = None

    def _print_after(self, dialog: QDialog) -> None:
        """The slip a recorded action prints: a cash-out's always (the member signs it), a top-up's when this
        computer has a receipt printer."""
        if isinstance(dialog, CashOutDialog) and dialog.result_value is not None:
            self.slips.print_slip("cashout", dialog.result_value.entry_id)
        elif isinstance(dialog, TopUpDialog) and dialog.result_value is not None and preferences.load().receipt_printer:
            self.slips.print_slip("topup", dialog.result_value.entry_id)


class WalletTab(_MoneyTab):
    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        actor = state.actor
        self.top_up_button = self._button(self.tr("&Top up…"), TopUpDialog)
        self.pin_button = self._button(self.tr("Payment P&IN…"), PayPinDialog)
        self.cash_out_button = self._button(self.tr("Pay &out and close…"), CashOutDialog)
        self.adjust_button = self._button(self.tr("&Correct…"), WalletAdjustDialog)
        self.buttons.addStretch(1)
        self.cash_out_button.setVisible(can(actor, Permission.CASH_OUT_WALLET))
        self.adjust_button.setVisible(can(actor, Permission.ADJUST_MONEY))
        self.table = _table([self.tr("Time"), self.tr("Kind"), self.tr("Principal"), self.tr("Bonus"), self.tr("Receipt"),
                             self.tr("Paid by"), self.tr("Staff"), self.tr("Note")])
        mark_data_columns(self.table, 4, 6)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.layout_.addWidget(self.table, 1)
        self.rows: list[wallet.WalletRow] = []
        self.slip_button = self._print_button(self.tr("Print &slip"), self.print_selected_slip)
        self.layout_.addLayout(self.print_row)

    def _selected_slip(self) -> tuple[str, int] | None:
        """The slip of the chosen line: a top-up's receipt or a cash-out's slip."""
        row = self.table.currentRow()
        if not 0 <= row < len(self.rows) or not self.table.selectionModel().hasSelection():
            return None
        entry = self.rows[row]
        kind = {WalletKind.TOPUP: "topup", WalletKind.CASHOUT: "cashout"}.get(entry.kind)
        return (kind, entry.id) if kind else None

    def _selection_changed(self) -> None:
        self.slip_button.setEnabled(self._selected_slip() is not None)

    def print_selected_slip(self) -> None:
        chosen = self._selected_slip()
        if chosen is not None:
            self.slips.print_slip(*chosen)

    def show_member(self, profile: MemberProfile) -> None:
        self.profile = profile
        self.summary.setText(self.tr("Stored value {total}: {principal} paid in, {bonus} bonus.").format(
            total=format_fen(profile.wallet_fen), principal=format_fen(profile.wallet_principal_fen),
            bonus=format_fen(profile.wallet_bonus_fen))
            + ("  " + self.tr("The member has a payment PIN.") if profile.has_pay_pin else ""))
        active = profile.status is MemberStatus.ACTIVE
        self.top_up_button.setEnabled(active)
        self.cash_out_button.setEnabled(profile.wallet_fen > 0)
        member_id = profile.id
        self._state.operations.read(self._state.db, lambda session: wallet.ledger_page(session, member_id, limit=WALLET_ROWS),
                                    self._show_rows, key=f"wallet-rows-{id(self)}", owner=self)

    def _show_rows(self, rows: list[wallet.WalletRow]) -> None:
        self.rows = rows
        _fill(self.table, [[format_time(r.at), term(wallet.KIND_LABELS[r.kind]), _signed(r.principal_fen), _signed(r.bonus_fen),
                            r.receipt_no, payment_method_text(r.payment_method) if r.payment_method else "", r.staff_name,
                            ledger_reason_text(r.reason)] for r in rows], right=(2, 3))
        self._selection_changed()


class CreditTab(_MoneyTab):
    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        actor = state.actor
        self.limit_button = self._button(self.tr("&Limit…"), CreditLimitDialog)
        self.freeze_button = self._button(self.tr("&Stop credit…"), CreditFreezeDialog)
        self.repay_button = self._button(self.tr("&Repayment…"), RepayDialog)
        self.note_button = self._button(self.tr("Collection &note…"), CollectionNoteDialog)
        self.write_off_button = self._button(self.tr("&Write off…"), WriteOffDialog)
        self.buttons.addStretch(1)
        for button in (self.limit_button, self.freeze_button):
            button.setVisible(can(actor, Permission.MANAGE_CREDIT))
        self.write_off_button.setVisible(can(actor, Permission.WRITE_OFF_DEBT))
        self.aging_label = QLabel()
        self.aging_label.setObjectName("hintLabel")
        self.aging_label.setWordWrap(True)
        self.layout_.addWidget(self.aging_label)
        self.table = _table([self.tr("Time"), self.tr("Kind"), self.tr("Amount"), self.tr("Due"), self.tr("Still owed"),
                             self.tr("Receipt"), self.tr("Paid by"), self.tr("Staff"), self.tr("Note")])
        mark_data_columns(self.table, 5, 7)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.layout_.addWidget(self.table, 2)
        self.rows: list[credit.CreditRow] = []
        notes_title = QLabel(self.tr("Collection log"))
        notes_title.setObjectName("sectionHeading")
        self.layout_.addWidget(notes_title)
        self.notes_table = _table([self.tr("Time"), self.tr("How"), self.tr("Promised by"), self.tr("Amount"),
                                   self.tr("Staff"), self.tr("What was said")])
        mark_data_columns(self.notes_table, 4, 5)
        self.layout_.addWidget(self.notes_table, 1)
        self.iou_button = self._print_button(self.tr("Print &IOU"), self.print_selected_iou)
        self.statement_button = self._print_button(self.tr("S&tatement…"), self.show_statement)
        self.layout_.addLayout(self.print_row)
        self.preview: QDialog | None = None

    def _selected_charge(self) -> int | None:
        row = self.table.currentRow()
        if not 0 <= row < len(self.rows) or not self.table.selectionModel().hasSelection():
            return None
        return self.rows[row].id if self.rows[row].kind is CreditKind.CHARGE else None

    def _selection_changed(self) -> None:
        self.iou_button.setEnabled(self._selected_charge() is not None)

    def print_selected_iou(self) -> None:
        charge = self._selected_charge()
        if charge is not None:
            self.slips.print_slip("iou", charge)

    def show_statement(self) -> None:
        """The statement of account, from the first of the month two months back to today (the dates can change)."""
        from crmdesk.reports.documents import StatementRequest
        from crmdesk.views.report_preview import open_preview

        if self.profile is None:
            return
        today = shop_time.today()
        first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        first = (first - timedelta(days=1)).replace(day=1)
        self.preview = open_preview(self, self._state, StatementRequest(self.profile.id, first, today),
                                    self.tr("Statement of account — {name}").format(name=self.profile.name),
                                    subject=self.profile.member_no)

    def show_member(self, profile: MemberProfile) -> None:
        self.profile = profile
        member_id = profile.id
        self._state.operations.read(
            self._state.db, lambda session: (credit.info(session, member_id), credit.ledger_page(session, member_id, limit=CREDIT_ROWS),
                                             credit.notes(session, member_id), credit.aging(session, member_id=member_id)),
            lambda account: self._show_account(*account), key=f"credit-account-{id(self)}", owner=self)

    def _show_account(self, info: credit.CreditInfo, rows: list[credit.CreditRow], log: list[credit.NoteRow],
                      mine: credit.Aging) -> None:
        self.rows = rows
        if info.has_account:
            text = self.tr("Limit {limit}, due within {days} days; owes {owed}, {available} left.").format(
                limit=format_fen(info.limit_fen), days=info.term_days, owed=format_fen(info.owed_fen),
                available=format_fen(info.available_fen))
            if info.frozen:
                text += "  " + self.tr("Credit is stopped: {reason}").format(reason=ledger_reason_text(info.frozen_reason) or "—")
        else:
            text = self.tr("No credit granted.") + ("  " + self.tr("Owes {owed}.").format(owed=format_fen(info.owed_fen))
                                                   if info.owed_fen else "")
        self.summary.setText(text)
        overdue = [f"{term(credit.BUCKET_LABELS[bucket])} {format_fen(fen)}" for bucket, fen in mine.buckets.items() if fen]
        self.aging_label.setText("  ·  ".join(overdue))
        self.aging_label.setVisible(bool(overdue))
        self.freeze_button.setText(self.tr("&Allow credit again…") if info.frozen else self.tr("&Stop credit…"))
        self.freeze_button.setEnabled(info.has_account)
        self.repay_button.setEnabled(info.owed_fen > 0)
        self.note_button.setEnabled(info.owed_fen > 0)
        self.write_off_button.setEnabled(info.owed_fen > 0)
        _fill(self.table, [[format_time(r.at), term(credit.KIND_LABELS[r.kind]), _signed(r.amount_fen),
                            r.due_on.isoformat() if r.due_on else "", format_fen(r.outstanding_fen) if r.outstanding_fen else "",
                            r.receipt_no, payment_method_text(r.payment_method) if r.payment_method else "",
                            r.staff_name + (f" / {r.approved_by}" if r.approved_by else ""), ledger_reason_text(r.reason)]
                           for r in rows], right=(2, 4))
        self._selection_changed()
        self.statement_button.setEnabled(info.has_account or bool(rows))
        _fill(self.notes_table, [[format_time(n.at), term(credit.CHANNEL_LABELS.get(n.channel, n.channel)),
                                  n.promised_on.isoformat() if n.promised_on else "",
                                  format_fen(n.promised_fen) if n.promised_fen else "", n.staff_name, n.text] for n in log],
              right=(3,))
