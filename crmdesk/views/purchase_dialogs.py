"""The counter's money dialogs: record a purchase (F5), refund (F6), redeem points (F7).

Keyboard first: each dialog opens with the field a cashier types first focused, Tab moves
on, Enter records, Esc cancels. A refusal (a refund beyond what was paid, more points than
the balance) is shown in the dialog, which stays open with nothing changed.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from decimal import Decimal, InvalidOperation

from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer
from PySide6.QtGui import QIntValidator, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from crmdesk import preferences
from crmdesk.errors import AuthenticationFailed, CrmdeskError, InvalidInput
from crmdesk.models import MemberStatus
from crmdesk.paths import data_dir
from crmdesk.services import auth, loyalty, money, payments, purchases, wallet
from crmdesk.services import counter_setup
from crmdesk.services.counter_setup import RedeemSetup, SaleSetup
from crmdesk.services.member_query import format_yuan
from crmdesk.services.members import MemberProfile
from crmdesk.services.offline import QueuedSale
from crmdesk.services.purchases import LineInput, PurchaseResult
from crmdesk.services.requests import AlreadyDone
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.shop_time import format_time
from crmdesk.texts import QT_TRANSLATE_NOOP
from crmdesk.views.common import error_text, format_fen, mark_data, moment_of, role_label, shop_time_edit
from crmdesk.views.offers_page import offer_summary
from crmdesk.views.server_link import server_is_away
from crmdesk.views.state import AppState
from crmdesk.views.terms import payment_method_text, percent_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

WAIT_SAID_AFTER_MS = 1_000  # a sale still on its way after this long: the dialog says why it waits
OLD_SETTINGS_FILE = "counter.ini"  # where the last till typed was kept before Settings named the till


def this_till() -> str:
    """This computer's till (Settings → This computer), or the one typed here last before it could be set."""
    till = preferences.load().till
    if not till:
        old = QSettings(str(data_dir() / OLD_SETTINGS_FILE), QSettings.Format.IniFormat)
        till = str(old.value("counter/till", "") or "")
    return till


def parse_quantity(text: str, line: int) -> int:
    """'1' -> 1000, '0.355' -> 355 thousandths; positive, at most three decimals."""
    try:
        value = Decimal(unicodedata.normalize("NFKC", text).strip())  # a comma is no decimal point here either
        ok = value.is_finite() and 0 < value < 10**6 and value == value.quantize(Decimal("0.001"))
    except InvalidOperation:
        ok = False
    if not ok:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Line {line}: '{text}' is not a quantity (up to three decimals)."),
                           field="lines", line=line, text=text)
    return int(value * 1000)


def message_label() -> QLabel:
    label = QLabel()
    label.setObjectName("errorLabel")
    label.setWordWrap(True)
    label.hide()
    return label


class EnterDialog(QDialog):
    """Enter anywhere records (buttons never become a stray default); Esc cancels."""

    def _buttons(self, ok_text: str) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addStretch(1)
        self.ok_button = QPushButton(ok_text)
        self.ok_button.clicked.connect(self.accept)
        cancel = QPushButton(QCoreApplication.translate("PurchaseDialogs", "Cancel (Esc)"))
        cancel.clicked.connect(self.reject)
        for button in (self.ok_button, cancel):
            button.setAutoDefault(False)
            row.addWidget(button)
        return row

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            self.accept()
            return
        super().keyPressEvent(event)

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    # A dialog's write runs on the program's operations thread (views/operations.py): while it is on its way the
    # dialog waits with it -- Enter and Esc do nothing, and a wait longer than a moment is said, not hidden.
    recording = False
    # Asked again after a network failure and found done the first time (services/requests.py): what to tell the
    # cashier; the dialog then closes as if it had just been done.
    already: str | None = None

    def _send(self, state: AppState, work: Callable[[], object], done: Callable[[object], None],
              refused: Callable[[CrmdeskError], None]) -> None:
        def finished(result: object) -> None:
            self._set_recording(False)
            done(result)

        def failed(error: CrmdeskError) -> None:
            self._set_recording(False)
            if isinstance(error, AlreadyDone):
                self.already = error_text(error)
                QDialog.accept(self)
                return
            self._message_style("errorLabel")
            refused(error)

        self._set_recording(True)
        state.operations.run(work, finished, failed)

    def _set_recording(self, recording: bool) -> None:
        self.recording = recording
        self.ok_button.setEnabled(not recording)
        timer = getattr(self, "_wait_timer", None)
        if timer is None:
            timer = self._wait_timer = QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(WAIT_SAID_AFTER_MS)
            timer.timeout.connect(self._say_waiting)
        if recording:
            timer.start()
        else:
            timer.stop()

    def _say_waiting(self) -> None:
        if self.recording:
            self._message_style("hintLabel")
            self._show_message(QCoreApplication.translate(
                "PurchaseDialogs", "Waiting for the database: another till or an import is writing. It goes through as "
                                   "soon as it can; nothing is lost."))

    def reject(self) -> None:
        if not self.recording:  # what is on its way is not abandoned half-seen
            super().reject()

    def _message_style(self, name: str) -> None:
        """The message as an error (errorLabel) or as a note (hintLabel), restyled at once."""
        if self.message.objectName() != name:
            self.message.setObjectName(name)
            self.message.style().unpolish(self.message)
            self.message.style().polish(self.message)


@dataclass(frozen=True)
class _LineColumns:
    code: int = 0
    name: int = 1
    category: int = 2
    quantity: int = 3
    price: int = 4


LINE = _LineColumns()


class PurchaseDialog(EnterDialog):
    """F5: record a sale for the member on screen: the amount, Enter. The till comes from this
    computer's settings and the receipt number is made up when none is typed; the time, the till and
    the item lines wait behind "More" (Ctrl+D). While the amount is typed the dialog shows the points
    it earns and the member discount the tier gives. It may be paid (partly) from the member's stored
    value -- with the member's PIN above the owner's amount -- or on credit; the rest in cash or the like.
    A frozen member's purchase, and credit beyond what is left, need a supervisor's approval: their name
    and PIN or password, checked when it is recorded and audited. ``result_value`` holds the service's answer."""

    @staticmethod
    def setup(session: Session, profile: MemberProfile) -> SaleSetup:
        """What the dialog needs before it opens (read off the UI thread, views/counter_page.py)."""
        return counter_setup.sale_setup(session, profile.id, owes_credit=bool(profile.credit_owed_fen))

    def __init__(self, state: AppState, profile: MemberProfile, setup: SaleSetup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.profile = profile
        self.result_value: PurchaseResult | None = None
        self.queued: QueuedSale | None = None  # kept on this till while the server is away (services/offline.py)
        # Enter again after the connection broke, or the sale kept on the till then: recorded once (services/requests.py)
        self.request_id = uuid.uuid4().hex
        self.receipt_no = ""
        self.till = this_till()
        self.amount_fen = 0
        self.paid_from_account = 0  # the part paid from the wallet or on credit, once recorded
        self.setWindowTitle(self.tr("Record purchase for {name}").format(name=profile.name))
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.amount_edit = QLineEdit()
        self.amount_edit.setPlaceholderText(self.tr("e.g. 123.45"))
        self.amount_edit.setObjectName("amountEdit")
        self.amount_edit.textChanged.connect(self._update_preview)
        self.preview_label = QLabel()
        self.preview_label.setObjectName("hintLabel")
        self.preview_label.setWordWrap(True)
        # While the server is away the dialog reads this computer's member cache (services/offline.py).
        self._reading = state.reading_db()
        self.money_rules = setup.money_rules
        # Long overdue: new credit waits for a supervisor (the owner's "stop after N days overdue").
        self.overdue_days = setup.overdue_days
        active = profile.status is MemberStatus.ACTIVE
        self.payment_box = QComboBox()
        for code in payments.PAYMENT_METHODS:
            self.payment_box.addItem(payment_method_text(code), code)
        if active and profile.wallet_fen > 0:
            self.payment_box.addItem(payment_method_text("wallet"), "wallet")
        if active and profile.credit_limit_fen is not None:
            self.payment_box.addItem(payment_method_text("credit"), "credit")
        self.payment_box.currentIndexChanged.connect(lambda _index: self._update_payment(reset=True))
        # Paid from the member's account: how much (all of it, or what the account holds), the rest by another way.
        self.account_edit = QLineEdit()
        self.account_edit.textEdited.connect(lambda _text: self._update_payment())
        self.account_hint = QLabel()
        self.account_hint.setObjectName("hintLabel")
        self.rest_box = QComboBox()
        for code in payments.PAYMENT_METHODS:
            self.rest_box.addItem(payment_method_text(code), code)
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setMaxLength(6)
        self.pin_edit.setPlaceholderText(self.tr("the member types it"))
        self.receipt_edit = QLineEdit()
        self.receipt_edit.setMaxLength(purchases.MAX_RECEIPT_LENGTH)
        self.receipt_edit.setPlaceholderText(self.tr("optional: made up when empty"))
        form.addRow(self.tr("&Amount (¥):"), self.amount_edit)
        form.addRow("", self.preview_label)
        form.addRow(self.tr("&Payment:"), self.payment_box)
        form.addRow(self.tr("From the &account (¥):"), self.account_edit)
        form.addRow("", self.account_hint)
        form.addRow(self.tr("The r&est paid by:"), self.rest_box)
        form.addRow(self.tr("Member's payment P&IN:"), self.pin_edit)
        form.addRow(self.tr("&Receipt no.:"), self.receipt_edit)
        layout.addLayout(form)

        # A frozen member, or credit beyond what is left: who approves, with their PIN or password (rows shown only then).
        self.frozen_label = QLabel()
        self.frozen_label.setObjectName("errorLabel")
        self.frozen_label.setWordWrap(True)
        self.approver_box = QComboBox()
        mark_data(self.approver_box)
        self.approver_secret = QLineEdit()
        self.approver_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.approver_secret.setPlaceholderText(self.tr("their PIN or password"))
        form.addRow(self.frozen_label)
        form.addRow(self.tr("Appro&ved by:"), self.approver_box)
        form.addRow(self.tr("P&IN or password:"), self.approver_secret)
        self.needs_approval = False
        for person in setup.approvers:  # supervisors and the owner: who may approve either
            self.approver_box.addItem(f"{person.name} · {role_label(person.role)}", person.name)

        # "More": the till and time (rows of the same form, so the labels line up) and the item lines.
        self.till_edit = QLineEdit(self.till)
        self.till_edit.setMaxLength(purchases.MAX_TILL_LENGTH)
        self.till_edit.setPlaceholderText(self.tr("set once in Settings → This computer"))
        self.time_edit = shop_time_edit()
        self._initial_time = self.time_edit.dateTime()
        self.time_edit.dateTimeChanged.connect(lambda _value: self._update_preview())
        form.addRow(self.tr("&Till:"), self.till_edit)
        form.addRow(self.tr("T&ime:"), self.time_edit)
        self.form = form
        self.more_button = QPushButton(self.tr("More: time, till, items (Ctrl+D)"))
        self.more_button.setCheckable(True)
        self.more_button.setAutoDefault(False)
        self.more_button.toggled.connect(self._show_more)
        QShortcut(QKeySequence("Ctrl+D"), self).activated.connect(self.more_button.toggle)
        layout.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.more = QWidget()
        more = QVBoxLayout(self.more)
        more.setContentsMargins(0, 0, 0, 0)
        more.addWidget(QLabel(self.tr("Items (optional; they must add up to the amount):")))
        self.lines = QTableWidget(0, 5)
        self.lines.setHorizontalHeaderLabels(
            [self.tr("Item code"), self.tr("Name"), self.tr("Category"), self.tr("Quantity"), self.tr("Price (¥)")])
        self.lines.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.lines.verticalHeader().hide()
        self.lines.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.lines.setMinimumHeight(120)
        self.lines.itemChanged.connect(lambda _item: self._update_preview())
        more.addWidget(self.lines)
        line_buttons = QHBoxLayout()
        self.add_line_button = QPushButton(self.tr("Add &line"))
        self.add_line_button.clicked.connect(self.add_line)
        self.remove_line_button = QPushButton(self.tr("Remove li&ne"))
        self.remove_line_button.clicked.connect(self.remove_line)
        for button in (self.add_line_button, self.remove_line_button):
            button.setAutoDefault(False)
            line_buttons.addWidget(button)
        line_buttons.addStretch(1)
        more.addLayout(line_buttons)
        layout.addWidget(self.more)
        self._show_more(False)

        self.message = message_label()
        layout.addWidget(self.message)
        layout.addLayout(self._buttons(self.tr("Record (Enter)")))
        self._fields = {"amount": self.amount_edit, "receipt_no": self.receipt_edit, "time": self.time_edit, "lines": self.lines,
                        "till": self.till_edit, "account": self.account_edit, "wallet": self.account_edit,
                        "credit": self.account_edit, "payment": self.payment_box}
        self._update_preview()
        self.amount_edit.setFocus()

    def _show_more(self, shown: bool) -> None:
        self.more.setVisible(shown)
        for widget in (self.till_edit, self.time_edit):
            self.form.setRowVisible(widget, shown)
        self.more_button.setText(self.tr("Less (Ctrl+D)") if shown else self.tr("More: time, till, items (Ctrl+D)"))
        if shown:
            self.till_edit.setFocus()

    # ---- how it is paid

    def account_code(self) -> str | None:
        """"wallet" or "credit" when (part of) the sale is paid from the member's account, else None."""
        code = self.payment_box.currentData()
        return code if code in payments.ACCOUNT_METHODS else None

    def _account_room(self, code: str) -> int:
        return self.profile.wallet_fen if code == "wallet" else self.profile.credit_available_fen

    def account_part(self) -> int:
        """The fen paid from the account (InvalidInput for an unreadable amount)."""
        if self.account_code() is None:
            return 0
        text = self.account_edit.text().strip()
        return money.parse_yuan(text, field="account") if text else 0

    def _update_payment(self, *, reset: bool = False) -> None:
        """Show the rows this way of paying needs: the part from the account, how the rest is paid, the member's
        PIN, a supervisor's approval."""
        code = self.account_code()
        amount = self._typed_amount() or 0
        if code is not None and (reset or not self.account_edit.isModified()):
            part = amount if code == "credit" else min(amount, self._account_room(code))
            self.account_edit.setText(format_yuan(part) if part else "")
        try:
            part = self.account_part()
        except CrmdeskError:
            part = 0
        label = self.form.labelForField(self.account_edit)
        if isinstance(label, QLabel):
            label.setText(self.tr("From the &wallet (¥):") if code == "wallet" else self.tr("On &credit (¥):"))
        if code == "wallet":
            self.account_hint.setText(self.tr("The wallet holds {amount}.").format(amount=format_fen(self.profile.wallet_fen)))
        elif code == "credit":
            self.account_hint.setText(self.tr("{available} of credit left (owes {owed}).").format(
                available=format_fen(self.profile.credit_available_fen), owed=format_fen(self.profile.credit_owed_fen)))
        for widget in (self.account_edit, self.account_hint):
            self.form.setRowVisible(widget, code is not None)
        self.form.setRowVisible(self.rest_box, code is not None and part < amount)
        self.form.setRowVisible(self.pin_edit, code == "wallet" and wallet.pin_needed_for(
            self.profile.has_pay_pin, part, self.money_rules))
        on_credit = code == "credit" and part > 0
        credit_stopped = on_credit and self.profile.credit_frozen
        freeze_days = self.money_rules.credit_freeze_after_days
        long_overdue = on_credit and bool(freeze_days) and self.overdue_days > freeze_days
        over_credit = code == "credit" and part > self.profile.credit_available_fen
        frozen = self.profile.status is MemberStatus.FROZEN
        self.needs_approval = frozen or over_credit or long_overdue
        if frozen:
            self.frozen_label.setText(self.tr("{name}'s membership is frozen: a supervisor or the owner approves this purchase.").format(
                name=self.profile.name))
        elif credit_stopped:
            self.frozen_label.setText(self.tr("{name}'s credit is stopped: a supervisor or the owner approves this purchase on "
                                              "credit.").format(name=self.profile.name))
        elif long_overdue:
            self.frozen_label.setText(self.tr("{name} is {days} days overdue: a supervisor or the owner approves new credit.").format(
                name=self.profile.name, days=f"{self.overdue_days:,}"))
        elif over_credit:
            self.frozen_label.setText(self.tr("{amount} on credit is more than the {available} left: a supervisor or the owner "
                                              "approves it.").format(amount=format_fen(part),
                                                                     available=format_fen(self.profile.credit_available_fen)))
        for widget in (self.frozen_label, self.approver_box, self.approver_secret):
            self.form.setRowVisible(widget, self.needs_approval)

    # ---- what the sale would earn

    def _typed_amount(self) -> int | None:
        try:
            text = self.amount_edit.text().strip()
            return money.parse_yuan(text) if text else sum(line.amount_fen for line in self.line_inputs()) or None
        except CrmdeskError:
            return None

    def _update_preview(self) -> None:
        """What the sale would earn, as recording it would count it: the lines' categories and the time too."""
        self._update_payment()
        amount = self._typed_amount()
        try:
            lines = self.line_inputs()
        except CrmdeskError:
            lines = []  # a line still being typed: the amount alone until it reads
        if lines and sum(line.amount_fen for line in lines) != amount:
            lines = []  # lines that do not add up yet are refused when recording; preview the amount alone
        reading, member_id, moment = self._reading, self.profile.id, self.occurred_at()

        def work() -> purchases.PurchasePreview:
            with read_session(reading) as session:
                return purchases.preview_purchase(session, member_id, amount or 0, lines, moment)

        # Off the UI thread, the newest keystroke's only: typing the amount never waits for the server.
        self._state.operations.run(work, lambda preview: self._show_preview(amount, preview), lambda _error: None,
                                   key=f"purchase-preview-{id(self)}", owner=self)

    def _show_preview(self, amount: int | None, preview: purchases.PurchasePreview) -> None:
        parts = []
        if amount:
            parts.append(self.tr("Earns {points} points.").format(points=f"{preview.points:,}"))
        if preview.discount_bp:
            discount = self.tr("{tier} member discount {percent} %").format(
                tier=preview.tier_name, percent=percent_text(preview.discount_bp))
            if amount:
                discount = self.tr("{discount}: {off} off {amount}.").format(
                    discount=discount, off=format_fen(preview.discount_fen), amount=format_fen(amount))
            parts.append(discount)
        self.preview_label.setText("  ".join(parts) or self.tr("Type the amount paid and press Enter."))

    # ---- lines

    def add_line(self, values: tuple[str, ...] = ()) -> None:
        if not self.more.isVisible():
            self.more_button.setChecked(True)
        row = self.lines.rowCount()
        self.lines.blockSignals(True)
        self.lines.insertRow(row)
        defaults = list(values) + [""] * (5 - len(values))
        if not defaults[LINE.quantity]:
            defaults[LINE.quantity] = "1"
        for column, text in enumerate(defaults):
            self.lines.setItem(row, column, QTableWidgetItem(text))
        self.lines.blockSignals(False)
        self.lines.setCurrentCell(row, 0)
        self._update_preview()

    def remove_line(self) -> None:
        row = self.lines.currentRow()
        if row >= 0:
            self.lines.removeRow(row)
            self._update_preview()

    def line_inputs(self) -> list[LineInput]:
        result = []
        for row in range(self.lines.rowCount()):
            texts = [(self.lines.item(row, c).text() if self.lines.item(row, c) else "").strip() for c in range(5)]
            if not any(texts[c] for c in (LINE.code, LINE.name, LINE.category, LINE.price)):
                continue  # an empty row is ignored
            quantity_milli = parse_quantity(texts[LINE.quantity] or "1", row + 1)
            price = money.parse_yuan(texts[LINE.price] or "0")
            amount = (quantity_milli * price + 500) // 1000  # half up to the fen
            result.append(LineInput(item_code=texts[LINE.code], name=texts[LINE.name], category=texts[LINE.category],
                                    quantity_milli=quantity_milli, unit_price_fen=price, amount_fen=amount))
        return result

    # ---- recording

    def occurred_at(self) -> datetime | None:
        """None while the time was left at "now": the service then uses its own clock."""
        if self.time_edit.dateTime() == self._initial_time:
            return None
        return moment_of(self.time_edit)

    def _approver_name(self) -> str | None:
        """The supervisor who approves a frozen member's purchase (or credit past the limit), when one must."""
        if not self.needs_approval:
            return None
        name = self.approver_box.currentData()
        if not name:
            raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Only a supervisor or the owner can approve this purchase, "
                                                           "and none can sign in here."), field="approval")
        return str(name)

    def accept(self) -> None:
        if self.recording:
            return  # Enter again while the sale goes through: it is one sale
        self.message.hide()
        try:
            lines = self.line_inputs()
            text = self.amount_edit.text().strip()
            self.amount_fen = money.parse_yuan(text) if text or not lines else sum(line.amount_fen for line in lines)
            self.receipt_no, self.till = self.receipt_edit.text().strip(), self.till_edit.text().strip()
            code, part = self.account_code(), self.account_part()
            self.paid_from_account = part
            rest = str((self.rest_box if code else self.payment_box).currentData() or "")
            pin = self.pin_edit.text() if self.pin_edit.isVisibleTo(self) else None
            approver_name, approver_secret = self._approver_name(), self.approver_secret.text()
            occurred_at = self.occurred_at()
        except CrmdeskError as exc:
            self._refused(exc)
            return
        db, actor, member_id, receipt_no, till, amount_fen, request_id = (
            self._state.db, self._state.actor, self.profile.id, self.receipt_no, self.till, self.amount_fen, self.request_id)
        link = self._state.link
        if link is not None and link.offline:
            try:
                self.queued = link.queue_sale(
                    actor=actor, member_id=member_id, member_name=self.profile.name, till=till, amount_fen=amount_fen,
                    receipt_no=receipt_no, payment_method=rest, occurred_at=occurred_at, lines=tuple(lines),
                    wallet_fen=part if code == "wallet" else 0, credit_fen=part if code == "credit" else 0,
                    request_id=request_id)
            except CrmdeskError as exc:
                self._refused(exc)
                return
            self.receipt_no = self.queued.receipt_no
            super().accept()
            return

        def record() -> PurchaseResult:
            # The member's PIN (a wrong one counted, in its own transaction) and the approver's sign-in first.
            if pin is not None:
                wallet.check_pin(db, member_id, pin)
            approver = auth.authenticate(db, approver_name, approver_secret) if approver_name is not None else None
            with unit_of_work(db) as session:
                return purchases.record_purchase(
                    session, actor, member_id, receipt_no=receipt_no, till=till, amount_fen=amount_fen,
                    occurred_at=occurred_at, lines=lines, payment_method=rest, approved_by=approver,
                    wallet_fen=part if code == "wallet" else 0, credit_fen=part if code == "credit" else 0, pay_pin=pin,
                    request_id=request_id)

        self._send(self._state, record, self._recorded, self._refused)  # type: ignore[arg-type]

    def _recorded(self, result: PurchaseResult) -> None:
        self.result_value = result
        self.receipt_no = result.receipt_no
        super().accept()

    def _refused(self, exc: CrmdeskError) -> None:
        self._message_style("errorLabel")
        link = self._state.link
        if link is not None and not link.offline and server_is_away(exc):
            link.went_away()
            self._show_message(self.tr("The server cannot be reached. Press Enter to keep the sale on this till: it is "
                                       "sent when the server is back (type the receipt number, if the till printed one, "
                                       "so it is never counted twice)."))
            self.receipt_edit.setFocus()
            return
        self._show_message(error_text(exc))
        if getattr(exc, "field", None) == "pay_pin":
            self.pin_edit.clear()
            self.pin_edit.setFocus()
            return
        if isinstance(exc, AuthenticationFailed) or getattr(exc, "field", None) == "approval":
            self.approver_secret.clear()
            self.approver_secret.setFocus()
            return
        field = getattr(exc, "field", None) or ""
        if field in ("time", "till", "lines") and not self.more.isVisible():
            self.more_button.setChecked(True)
        widget = self._fields.get(field, self.amount_edit)
        widget.setFocus()
        if isinstance(widget, QLineEdit):
            widget.selectAll()



class RefundDialog(EnterDialog):
    """F6: give money back on one of the member's sales; its points go back in proportion."""

    def __init__(self, state: AppState, profile: MemberProfile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.profile = profile
        self.result_value: PurchaseResult | None = None
        self.request_id = uuid.uuid4().hex  # Enter again after a network failure: refunded once (services/requests.py)
        self.setWindowTitle(self.tr("Refund for {name}").format(name=profile.name))
        self.setMinimumWidth(560)
        self.sales: list[purchases.RefundableSale] = []  # the recent sales, filled in as they arrive (_show_sales)
        layout = QVBoxLayout(self)
        hint = QLabel(self.tr("Choose the original receipt (or type its number), Enter, then type the amount to give back."))
        hint.setWordWrap(True)
        layout.addWidget(hint)
        form = QFormLayout()
        self.original_box = QComboBox()
        self.original_box.setEditable(True)
        self.original_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        mark_data(self.original_box)
        self.sale_label = QLabel()
        mark_data(self.sale_label)
        self.till_edit = QLineEdit(this_till())
        self.amount_edit = QLineEdit()
        self.refund_receipt_edit = QLineEdit()
        self.refund_receipt_edit.setMaxLength(purchases.MAX_RECEIPT_LENGTH)
        self.refund_receipt_edit.setPlaceholderText(self.tr("optional: made up when empty"))
        form.addRow(self.tr("&Original receipt:"), self.original_box)
        form.addRow("", self.sale_label)
        form.addRow(self.tr("&Till:"), self.till_edit)
        form.addRow(self.tr("&Amount (¥):"), self.amount_edit)
        form.addRow(self.tr("Refund &receipt no.:"), self.refund_receipt_edit)
        layout.addLayout(form)
        self.message = message_label()
        layout.addWidget(self.message)
        layout.addLayout(self._buttons(self.tr("Refund (Enter)")))
        self.original_box.currentIndexChanged.connect(self._sale_chosen)
        self.original_box.editTextChanged.connect(self._receipt_typed)
        # An editable list keeps Enter to itself: here it moves on to the amount.
        self.original_box.lineEdit().returnPressed.connect(lambda: (self.amount_edit.setFocus(), self.amount_edit.selectAll()))
        self.original_box.setFocus()
        db, member_id = state.db, profile.id

        def recent_sales() -> list[purchases.RefundableSale]:
            with read_session(db) as session:
                return purchases.refundable_sales(session, member_id)

        # Read off the UI thread: the dialog opens at once; a receipt can be typed while the list is on its way.
        state.operations.run(recent_sales, self._show_sales, lambda _error: None, owner=self)

    def _show_sales(self, sales: list[purchases.RefundableSale]) -> None:
        typed = self.original_box.currentText() if self.original_box.currentIndex() < 0 else ""
        self.sales = sales
        self.original_box.blockSignals(True)
        for sale in sales:
            self.original_box.addItem(sale.receipt_no, sale)
        self.original_box.setCurrentIndex(-1 if typed or not sales else 0)
        if typed:
            self.original_box.setEditText(typed)  # what the cashier typed meanwhile stays
        self.original_box.blockSignals(False)
        if typed:
            self._receipt_typed(typed)
        else:
            self._sale_chosen(self.original_box.currentIndex())

    def _sale(self) -> purchases.RefundableSale | None:
        text = self.original_box.currentText().strip()
        till = self.till_edit.text().strip()
        return next((s for s in self.sales if s.receipt_no == text and s.till == till), None) or next(
            (s for s in self.sales if s.receipt_no == text), None)

    def _sale_chosen(self, index: int) -> None:
        sale = self.original_box.itemData(index) if index >= 0 else None
        if sale is None:
            self.sale_label.setText("")
            return
        self.till_edit.setText(sale.till)
        # Typed, never filled in: a refund is money leaving the till, and a second F6, Enter must not repeat it.
        self.amount_edit.setPlaceholderText(self.tr("at most {left}").format(left=format_fen(sale.refundable_fen)))
        self.sale_label.setText(self.tr("{time} · paid {paid} · refundable {left}").format(
            time=format_time(sale.occurred_at), paid=format_fen(sale.amount_fen), left=format_fen(sale.refundable_fen)))

    def _receipt_typed(self, _text: str) -> None:
        sale = self._sale()
        if sale is None:
            self.sale_label.setText(self.tr("Not among the recent sales: the till and receipt are checked when you refund."))
        else:
            self._sale_chosen(self.sales.index(sale))

    def accept(self) -> None:
        if self.recording:
            return
        self.message.hide()
        try:
            if not self.amount_edit.text().strip():
                raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Type the amount to give back."), field="amount")
            amount = money.parse_yuan(self.amount_edit.text())
        except CrmdeskError as exc:
            self._refused(exc)
            return
        db, actor, member_id, request_id = self._state.db, self._state.actor, self.profile.id, self.request_id
        till, original, refund_receipt = (self.till_edit.text(), self.original_box.currentText(),
                                          self.refund_receipt_edit.text())

        def give_back() -> PurchaseResult:
            with unit_of_work(db) as session:
                return purchases.refund(session, actor, original_till=till, original_receipt=original,
                                        refund_receipt=refund_receipt, amount_fen=amount, member_id=member_id,
                                        request_id=request_id)

        self._send(self._state, give_back, self._given_back, self._refused)  # type: ignore[arg-type]

    def _given_back(self, result: PurchaseResult) -> None:
        self.result_value = result
        super().accept()

    def _refused(self, exc: CrmdeskError) -> None:
        self._show_message(error_text(exc))
        field = getattr(exc, "field", None)
        target = self.refund_receipt_edit if field == "receipt_no" else self.amount_edit if field == "amount" else self.original_box
        target.setFocus()


class RedeemDialog(EnterDialog):
    """F7: spend points as money off a receipt, at the one rate the points rules set. Shows what the
    points are worth, refuses more than the member has, and names the offers the same points could
    buy instead (a gift, a percentage off), so the cashier can tell the customer."""

    @staticmethod
    def setup(session: Session, profile: MemberProfile) -> RedeemSetup:
        """What the dialog needs before it opens (read off the UI thread, views/counter_page.py)."""
        return counter_setup.redeem_setup(session, profile.id)

    def __init__(self, state: AppState, profile: MemberProfile, setup: RedeemSetup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.profile = profile
        self.request_id = uuid.uuid4().hex  # Enter again after a network failure: redeemed once (services/requests.py)
        self.new_balance: int | None = None
        self.points = 0
        self.rules = setup.rules
        self.alternatives = setup.alternatives  # what the same points buy besides money off (a gift, a percentage)
        self.setWindowTitle(self.tr("Redeem points of {name}").format(name=profile.name))
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        self.balance_label = QLabel(self.tr("{points} points, worth {value} ({rate} points = ¥1 off).").format(
            points=f"{profile.points_balance:,}", value=format_fen(self.value_fen(profile.points_balance)),
            rate=f"{self.rules.redeem_points_per_yuan:,}"))
        self.balance_label.setWordWrap(True)
        layout.addWidget(self.balance_label)
        form = QFormLayout()
        self.points_edit = QLineEdit()
        self.points_edit.setValidator(QIntValidator(0, 999_999_999, self))
        self.points_edit.textChanged.connect(self._update_value)
        self.receipt_edit = QLineEdit()
        self.receipt_edit.setMaxLength(purchases.MAX_RECEIPT_LENGTH)
        self.receipt_edit.setPlaceholderText(self.tr("the receipt the money comes off (optional)"))
        self.reason_edit = QLineEdit()
        self.reason_edit.setMaxLength(loyalty.MAX_REASON - purchases.MAX_RECEIPT_LENGTH - 20)  # room for the receipt
        self.reason_edit.setPlaceholderText(self.tr("optional"))
        form.addRow(self.tr("&Points:"), self.points_edit)
        self.value_label = QLabel()
        form.addRow(self.tr("Worth:"), self.value_label)
        form.addRow(self.tr("&Receipt no.:"), self.receipt_edit)
        form.addRow(self.tr("&Note:"), self.reason_edit)
        layout.addLayout(form)
        if self.alternatives:
            lines = [self.tr("Points can also buy (apply it from the offers list):")]
            lines += [self.tr("· {name}: {what}").format(name=hint.name, what=offer_summary(hint.offer)) for hint in self.alternatives[:4]]
            self.alternatives_label = QLabel("\n".join(lines))
            self.alternatives_label.setObjectName("hintLabel")
            self.alternatives_label.setWordWrap(True)
            mark_data(self.alternatives_label)  # offer names are the shop's own words
            layout.addWidget(self.alternatives_label)
        self.message = message_label()
        layout.addWidget(self.message)
        layout.addLayout(self._buttons(self.tr("Redeem (Enter)")))
        self._update_value(self.points_edit.text())
        self.points_edit.setFocus()

    def value_fen(self, points: int) -> int:
        """What points are worth off a receipt, in fen (the points rules' rate, rounded down)."""
        return loyalty.points_value_fen(self.rules, points)

    def _update_value(self, text: str) -> None:
        points = int(text) if text.isdigit() else 0
        self.value_label.setText(self.tr("{value} off").format(value=format_fen(self.value_fen(points))))
        over = points > self.profile.points_balance
        self.value_label.setStyleSheet("color: #b3261e; font-weight: bold;" if over else "")

    def reason(self) -> str:
        """What the ledger keeps: the receipt and the note, as the program writes them."""
        receipt, note = self.receipt_edit.text().strip(), self.reason_edit.text().strip()
        if receipt:
            return (loyalty.REASON_RECEIPT_NOTE.format(receipt=receipt, note=note) if note
                    else loyalty.REASON_RECEIPT.format(receipt=receipt))
        return note

    def accept(self) -> None:
        if self.recording:
            return
        self.message.hide()
        text = self.points_edit.text().strip()
        self.points = int(text) if text.isdigit() else 0
        db, actor, member_id, points, reason, request_id = (self._state.db, self._state.actor, self.profile.id,
                                                            self.points, self.reason(), self.request_id)

        def redeem() -> int:
            with unit_of_work(db) as session:
                return loyalty.redeem(session, actor, member_id, points, reason=reason, request_id=request_id)

        self._send(self._state, redeem, self._redeemed, self._refused)  # type: ignore[arg-type]

    def _redeemed(self, balance: int) -> None:
        self.new_balance = balance
        super().accept()

    def _refused(self, exc: CrmdeskError) -> None:
        self._show_message(error_text(exc))
        self.points_edit.setFocus()
        self.points_edit.selectAll()
