"""The counter's money dialogs: record a purchase (F5), refund (F6), redeem points (F7).

Keyboard first: each dialog opens with the field a cashier types first focused, Tab moves
on, Enter records, Esc cancels. A refusal (a refund beyond what was paid, more points than
the balance) is shown in the dialog, which stays open with nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from PySide6.QtCore import QCoreApplication, QDateTime, QSettings, Qt
from PySide6.QtGui import QIntValidator, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDateTimeEdit, QDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
    QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from crmdesk.errors import CrmdeskError, InvalidInput
from crmdesk.paths import data_dir
from crmdesk.services import loyalty, purchases
from crmdesk.services.members import MemberProfile
from crmdesk.services.purchases import LineInput, PurchaseResult
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.shop_time import format_time
from crmdesk.texts import QT_TRANSLATE_NOOP
from crmdesk.views.common import error_text, format_fen, mark_data
from crmdesk.views.state import AppState

SETTINGS_FILE = "counter.ini"  # this PC's counter choices, next to member_list.ini
TILL_KEY = "counter/till"

PAYMENT_METHODS = (
    ("cash", QT_TRANSLATE_NOOP("PurchaseDialogs", "Cash")),
    ("wechat", QT_TRANSLATE_NOOP("PurchaseDialogs", "WeChat Pay")),
    ("alipay", QT_TRANSLATE_NOOP("PurchaseDialogs", "Alipay")),
    ("card", QT_TRANSLATE_NOOP("PurchaseDialogs", "Bank card")),
    ("other", QT_TRANSLATE_NOOP("PurchaseDialogs", "Other")),
)


def counter_settings() -> QSettings:
    return QSettings(str(data_dir() / SETTINGS_FILE), QSettings.Format.IniFormat)


def last_till() -> str:
    return str(counter_settings().value(TILL_KEY, "") or "")


def remember_till(till: str) -> None:
    settings = counter_settings()
    settings.setValue(TILL_KEY, till)
    settings.sync()


def parse_quantity(text: str, line: int) -> int:
    """'1' -> 1000, '0.355' -> 355 thousandths; positive, at most three decimals."""
    try:
        value = Decimal(text.strip().replace(",", "."))
        ok = value.is_finite() and 0 < value < 10**6 and value == value.quantize(Decimal("0.001"))
    except InvalidOperation:
        ok = False
    if not ok:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Line {line}: '{text}' is not a quantity (up to three decimals)."),
                           field="lines", line=line, text=text)
    return int(value * 1000)


def _message_label() -> QLabel:
    label = QLabel()
    label.setObjectName("errorLabel")
    label.setWordWrap(True)
    label.hide()
    return label


class _EnterDialog(QDialog):
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


@dataclass(frozen=True)
class _LineColumns:
    code: int = 0
    name: int = 1
    category: int = 2
    quantity: int = 3
    price: int = 4


LINE = _LineColumns()


class PurchaseDialog(_EnterDialog):
    """F5: record a sale for the member on screen. ``result_value`` holds what the service answered."""

    def __init__(self, state: AppState, profile: MemberProfile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.profile = profile
        self.result_value: PurchaseResult | None = None
        self.receipt_no = ""
        self.till = ""
        self.setWindowTitle(self.tr("Record purchase for {name}").format(name=profile.name))
        self.setMinimumWidth(620)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.amount_edit = QLineEdit()
        self.amount_edit.setPlaceholderText(self.tr("e.g. 123.45"))
        self.receipt_edit = QLineEdit()
        self.till_edit = QLineEdit(last_till())
        self.till_edit.setMaxLength(20)
        self.time_edit = QDateTimeEdit(QDateTime.currentDateTime())
        self.time_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.time_edit.setCalendarPopup(True)
        self._initial_time = self.time_edit.dateTime()
        self.payment_box = QComboBox()
        for key, label in PAYMENT_METHODS:
            self.payment_box.addItem(QCoreApplication.translate("PurchaseDialogs", label), key)
        form.addRow(self.tr("&Amount (¥):"), self.amount_edit)
        form.addRow(self.tr("&Receipt no.:"), self.receipt_edit)
        form.addRow(self.tr("&Till:"), self.till_edit)
        form.addRow(self.tr("T&ime:"), self.time_edit)
        form.addRow(self.tr("&Payment:"), self.payment_box)
        layout.addLayout(form)

        lines_title = QLabel(self.tr("Items (optional; they must add up to the amount):"))
        layout.addWidget(lines_title)
        self.lines = QTableWidget(0, 5)
        self.lines.setHorizontalHeaderLabels(
            [self.tr("Item code"), self.tr("Name"), self.tr("Category"), self.tr("Quantity"), self.tr("Price (¥)")])
        self.lines.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.lines.verticalHeader().hide()
        self.lines.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.lines.setMaximumHeight(180)
        layout.addWidget(self.lines)
        line_buttons = QHBoxLayout()
        self.add_line_button = QPushButton(self.tr("Add &line"))
        self.add_line_button.clicked.connect(self.add_line)
        self.remove_line_button = QPushButton(self.tr("Remove li&ne"))
        self.remove_line_button.clicked.connect(self.remove_line)
        for button in (self.add_line_button, self.remove_line_button):
            button.setAutoDefault(False)
            line_buttons.addWidget(button)
        line_buttons.addStretch(1)
        layout.addLayout(line_buttons)

        self.message = _message_label()
        layout.addWidget(self.message)
        layout.addLayout(self._buttons(self.tr("Record (Enter)")))
        self._fields = {"amount": self.amount_edit, "receipt_no": self.receipt_edit, "time": self.time_edit, "lines": self.lines}
        self.amount_edit.setFocus()

    # ---- lines

    def add_line(self, values: tuple[str, ...] = ()) -> None:
        row = self.lines.rowCount()
        self.lines.insertRow(row)
        defaults = list(values) + [""] * (5 - len(values))
        if not defaults[LINE.quantity]:
            defaults[LINE.quantity] = "1"
        for column, text in enumerate(defaults):
            self.lines.setItem(row, column, QTableWidgetItem(text))
        self.lines.setCurrentCell(row, 0)

    def remove_line(self) -> None:
        row = self.lines.currentRow()
        if row >= 0:
            self.lines.removeRow(row)

    def line_inputs(self) -> list[LineInput]:
        result = []
        for row in range(self.lines.rowCount()):
            texts = [(self.lines.item(row, c).text() if self.lines.item(row, c) else "").strip() for c in range(5)]
            if not any(texts[c] for c in (LINE.code, LINE.name, LINE.category, LINE.price)):
                continue  # an empty row is ignored
            quantity_milli = parse_quantity(texts[LINE.quantity] or "1", row + 1)
            price = purchases.parse_yuan(texts[LINE.price] or "0")
            amount = (quantity_milli * price + 500) // 1000  # half up to the fen
            result.append(LineInput(item_code=texts[LINE.code], name=texts[LINE.name], category=texts[LINE.category],
                                    quantity_milli=quantity_milli, unit_price_fen=price, amount_fen=amount))
        return result

    # ---- recording

    def occurred_at(self) -> datetime | None:
        """None while the time was left at "now": the service then uses its own clock."""
        if self.time_edit.dateTime() == self._initial_time:
            return None
        return self.time_edit.dateTime().toPython().astimezone()  # type: ignore[union-attr]

    def accept(self) -> None:
        self.message.hide()
        try:
            lines = self.line_inputs()
            text = self.amount_edit.text().strip()
            amount = purchases.parse_yuan(text) if text or not lines else sum(line.amount_fen for line in lines)
            self.receipt_no, self.till = self.receipt_edit.text().strip(), self.till_edit.text().strip()
            with unit_of_work(self._state.db) as session:
                self.result_value = purchases.record_purchase(
                    session, self._state.actor, self.profile.id, receipt_no=self.receipt_no, till=self.till,
                    amount_fen=amount, occurred_at=self.occurred_at(), lines=lines,
                    payment_method=str(self.payment_box.currentData() or ""),
                )
        except CrmdeskError as exc:
            self._show_message(error_text(exc))
            widget = self._fields.get(getattr(exc, "field", None) or "", self.amount_edit)
            widget.setFocus()
            if isinstance(widget, QLineEdit):
                widget.selectAll()
            return
        remember_till(self.till)
        super().accept()


class RefundDialog(_EnterDialog):
    """F6: give money back on one of the member's sales; its points go back in proportion."""

    def __init__(self, state: AppState, profile: MemberProfile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.profile = profile
        self.result_value: PurchaseResult | None = None
        self.setWindowTitle(self.tr("Refund for {name}").format(name=profile.name))
        self.setMinimumWidth(560)
        with read_session(state.db) as session:
            self.sales = purchases.refundable_sales(session, profile.id)
        layout = QVBoxLayout(self)
        hint = QLabel(self.tr("Choose the original receipt, or type its number; the amount starts at what can still be refunded."))
        hint.setWordWrap(True)
        layout.addWidget(hint)
        form = QFormLayout()
        self.original_box = QComboBox()
        self.original_box.setEditable(True)
        self.original_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        mark_data(self.original_box)
        for sale in self.sales:
            self.original_box.addItem(sale.receipt_no, sale)
        self.original_box.setCurrentIndex(0 if self.sales else -1)
        self.sale_label = QLabel()
        mark_data(self.sale_label)
        self.till_edit = QLineEdit(self.sales[0].till if self.sales else last_till())
        self.amount_edit = QLineEdit()
        self.refund_receipt_edit = QLineEdit()
        form.addRow(self.tr("&Original receipt:"), self.original_box)
        form.addRow("", self.sale_label)
        form.addRow(self.tr("&Till:"), self.till_edit)
        form.addRow(self.tr("&Amount (¥):"), self.amount_edit)
        form.addRow(self.tr("Refund &receipt no.:"), self.refund_receipt_edit)
        layout.addLayout(form)
        self.message = _message_label()
        layout.addWidget(self.message)
        layout.addLayout(self._buttons(self.tr("Refund (Enter)")))
        self.original_box.currentIndexChanged.connect(self._sale_chosen)
        self.original_box.editTextChanged.connect(self._receipt_typed)
        self._sale_chosen(self.original_box.currentIndex())
        self.original_box.setFocus()

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
        self.amount_edit.setText(f"{sale.refundable_fen // 100}.{sale.refundable_fen % 100:02d}")
        self.sale_label.setText(self.tr("{time} · paid {paid} · refundable {left}").format(
            time=format_time(sale.occurred_at), paid=format_fen(sale.amount_fen), left=format_fen(sale.refundable_fen)))

    def _receipt_typed(self, _text: str) -> None:
        sale = self._sale()
        if sale is None:
            self.sale_label.setText(self.tr("Not among the recent sales: the till and receipt are checked when you refund."))
        else:
            self._sale_chosen(self.sales.index(sale))

    def accept(self) -> None:
        self.message.hide()
        try:
            amount = purchases.parse_yuan(self.amount_edit.text())
            if not self.refund_receipt_edit.text().strip():
                raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Enter the receipt number."), field="receipt_no")
            with unit_of_work(self._state.db) as session:
                self.result_value = purchases.refund(
                    session, self._state.actor, original_till=self.till_edit.text(),
                    original_receipt=self.original_box.currentText(), refund_receipt=self.refund_receipt_edit.text(),
                    amount_fen=amount,
                )
        except CrmdeskError as exc:
            self._show_message(error_text(exc))
            field = getattr(exc, "field", None)
            target = self.refund_receipt_edit if field == "receipt_no" else self.amount_edit if field == "amount" else self.original_box
            target.setFocus()
            return
        super().accept()


class RedeemDialog(_EnterDialog):
    """F7: spend points; shows the balance and what it is worth, refuses more than the balance."""

    def __init__(self, state: AppState, profile: MemberProfile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.profile = profile
        self.new_balance: int | None = None
        self.points = 0
        with read_session(state.db) as session:
            self.rules = loyalty.get_rules(session)
        self.setWindowTitle(self.tr("Redeem points of {name}").format(name=profile.name))
        self.setMinimumWidth(440)
        layout = QVBoxLayout(self)
        self.balance_label = QLabel(self.tr("Balance: {points} points, worth {value} ({rate} points = ¥1 off).").format(
            points=f"{profile.points_balance:,}", value=format_fen(self.value_fen(profile.points_balance)),
            rate=f"{self.rules.redeem_points_per_yuan:,}"))
        self.balance_label.setWordWrap(True)
        layout.addWidget(self.balance_label)
        form = QFormLayout()
        self.points_edit = QLineEdit()
        self.points_edit.setValidator(QIntValidator(0, 999_999_999, self))
        self.points_edit.textChanged.connect(self._update_value)
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText(self.tr("optional, e.g. receipt number"))
        form.addRow(self.tr("&Points:"), self.points_edit)
        self.value_label = QLabel()
        form.addRow(self.tr("Worth:"), self.value_label)
        form.addRow(self.tr("&Note:"), self.reason_edit)
        layout.addLayout(form)
        self.message = _message_label()
        layout.addWidget(self.message)
        layout.addLayout(self._buttons(self.tr("Redeem (Enter)")))
        self._update_value(self.points_edit.text())
        self.points_edit.setFocus()

    def value_fen(self, points: int) -> int:
        """What points are worth off a receipt, in fen, rounded down."""
        return points * 100 // max(1, self.rules.redeem_points_per_yuan)

    def _update_value(self, text: str) -> None:
        points = int(text) if text.isdigit() else 0
        self.value_label.setText(self.tr("{value} off").format(value=format_fen(self.value_fen(points))))
        over = points > self.profile.points_balance
        self.value_label.setStyleSheet("color: #b3261e; font-weight: bold;" if over else "")

    def accept(self) -> None:
        self.message.hide()
        text = self.points_edit.text().strip()
        self.points = int(text) if text.isdigit() else 0
        try:
            with unit_of_work(self._state.db) as session:
                self.new_balance = loyalty.redeem(session, self._state.actor, self.profile.id, self.points,
                                                  reason=self.reason_edit.text().strip())
        except CrmdeskError as exc:
            self._show_message(error_text(exc))
            self.points_edit.setFocus()
            self.points_edit.selectAll()
            return
        super().accept()
