"""The member's money at the counter and on the profile: top up (F10), repay (F11), and the supervisor's and
owner's actions: cash-out, credit limit (with crmdesk's suggestion), stopping credit, a collection note, a
write-off, a wallet correction, the member's payment PIN.

Each dialog only displays and delegates to services/wallet.py and credit.py; Enter records, Esc cancels, and a
refusal is shown in the dialog, which stays open with nothing changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QDate
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDateEdit, QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QSpinBox, QVBoxLayout, QWidget,
)

from crmdesk import shop_time
from crmdesk.errors import CrmdeskError, InvalidInput
from crmdesk.services import credit, money, money_settings, wallet
from crmdesk.services.member_query import format_yuan
from crmdesk.services.members import MemberProfile
from crmdesk.services.uow import unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP
from crmdesk.views.common import error_text, format_fen
from crmdesk.views.purchase_dialogs import EnterDialog, message_label
from crmdesk.views.state import AppState
from crmdesk.views.terms import payment_method_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from crmdesk.services.uow import Actor


def _method_box() -> QComboBox:
    """How money changed hands at the counter: cash, WeChat Pay, Alipay, bank card (recorded, not processed)."""
    box = QComboBox()
    for code in wallet.TOPUP_METHODS:
        box.addItem(payment_method_text(code), code)
    return box


def reason_text(template: str, params: dict[str, object]) -> str:
    """A service's explanation (a template in the "errors" context and its values) in the interface's language."""
    return QCoreApplication.translate("errors", template).format(**params)


class _MoneyDialog(EnterDialog):
    """A form, its message and the buttons; ``field_widgets`` says where a refusal points."""

    def __init__(self, state: AppState, profile: MemberProfile, parent: QWidget | None, title: str) -> None:
        super().__init__(parent)
        self._state = state
        self.profile = profile
        # Enter again after a network failure asks the same request again: done once (services/requests.py).
        self.request_id = uuid.uuid4().hex
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        self.layout_ = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.layout_.addWidget(self.heading)
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.message = message_label()
        self.field_widgets: dict[str, QWidget] = {}

    def finish(self, ok_text: str, first: QWidget) -> None:
        self.layout_.addWidget(self.message)
        self.layout_.addLayout(self._buttons(ok_text))
        first.setFocus()

    def send_money(self, write: Callable[..., object], when_empty: str | None = None) -> None:
        """The typed amount, paid by the chosen method, written by ``write`` (wallet.top_up, credit.repay) with this
        dialog's request id, on the operations thread; ``when_empty``: the message for an empty amount."""
        if self.recording:
            return
        self.message.hide()
        try:
            if when_empty and not self.amount_edit.text().strip():
                raise InvalidInput(when_empty, field="amount")
            amount = money.parse_yuan(self.amount_edit.text())
        except CrmdeskError as exc:
            self.fail(exc)
            return
        method = str(self.method_box.currentData())
        self.write(lambda session, actor, member_id, request_id: write(
            session, actor, member_id, amount, payment_method=method, request_id=request_id))

    def write(self, change: Callable[[Session, Actor, int, str], object]) -> None:
        """``change(session, actor, member_id, request_id)`` in one transaction on the operations thread, with this
        dialog's request id; the dialog closes on its answer (kept in ``result_value``) or shows the refusal."""
        if self.recording:
            return
        self.message.hide()
        db, actor, member_id, request_id = self._state.db, self._state.actor, self.profile.id, self.request_id

        def work() -> object:
            with unit_of_work(db) as session:
                return change(session, actor, member_id, request_id)

        self._send(self._state, work, self._done, self.fail)

    def _done(self, result: object) -> None:
        self.result_value = result
        EnterDialog.accept(self)

    def fail(self, exc: CrmdeskError) -> None:
        self._show_message(error_text(exc))
        widget = self.field_widgets.get(getattr(exc, "field", None) or "")
        if widget is not None:
            widget.setFocus()
            if isinstance(widget, QLineEdit):
                widget.selectAll()


class TopUpDialog(_MoneyDialog):
    """F10: money paid into the member's stored value, with the bonus the owner's rules give (shown as it is typed)."""

    @staticmethod
    def setup(session: Session, profile: MemberProfile) -> money_settings.MoneyRules:
        """What the dialog shows before anything is typed (read off the UI thread): the prepaid card rules."""
        return money_settings.get(session)

    def __init__(self, state: AppState, profile: MemberProfile, rules: money_settings.MoneyRules,
                 parent: QWidget | None = None) -> None:
        super().__init__(state, profile, parent, QCoreApplication.translate("TopUpDialog", "Top up the stored value of {name}").format(
            name=profile.name))
        self.result_value: wallet.TopUpResult | None = None
        self.rules = rules
        self.heading.setText(self.tr("The wallet holds {total} ({principal} paid in, {bonus} bonus).").format(
            total=format_fen(profile.wallet_fen), principal=format_fen(profile.wallet_principal_fen),
            bonus=format_fen(profile.wallet_bonus_fen)))
        self.amount_edit = QLineEdit()
        self.amount_edit.setPlaceholderText(self.tr("e.g. 200"))
        self.amount_edit.textChanged.connect(self._update_bonus)
        self.method_box = _method_box()
        self.bonus_label = QLabel()
        self.bonus_label.setObjectName("hintLabel")
        self.bonus_label.setWordWrap(True)
        self.form.addRow(self.tr("&Amount paid in (¥):"), self.amount_edit)
        self.form.addRow(self.tr("Paid &by:"), self.method_box)
        self.form.addRow("", self.bonus_label)
        if self.rules.cap_fen is not None:
            cap = QLabel(self.tr("Under the prepaid card rules a wallet holds at most {cap}, bonus included.").format(
                cap=format_fen(self.rules.cap_fen)))
            cap.setObjectName("hintLabel")
            cap.setWordWrap(True)
            self.form.addRow("", cap)
        self.field_widgets = {"amount": self.amount_edit, "payment_method": self.method_box}
        self._update_bonus()
        self.finish(self.tr("Top up (Enter)"), self.amount_edit)

    def _update_bonus(self) -> None:
        """Which bonus rule a top-up of this amount gets today, and why (or why none)."""
        try:
            amount = money.parse_yuan(self.amount_edit.text()) if self.amount_edit.text().strip() else 0
        except CrmdeskError:
            amount = 0
        member_id = self.profile.id
        # Off the UI thread, the newest keystroke's only: typing the amount never waits for the server.
        self._state.operations.read(self._state.db, lambda session: wallet.bonus_preview(session, member_id, amount)[1],
                                    lambda why: self.bonus_label.setText(reason_text(*why)), lambda _error: None,
                                    key=f"bonus-preview-{id(self)}", owner=self)

    def accept(self) -> None:
        self.send_money(wallet.top_up)


class RepayDialog(_MoneyDialog):
    """F11: the member pays back (part of) what they owe; the oldest charges are settled first."""

    @staticmethod
    def setup(session: Session, profile: MemberProfile) -> credit.CreditInfo:
        """What the dialog shows before anything is typed (read off the UI thread): what the member owes."""
        return credit.info(session, profile.id)

    def __init__(self, state: AppState, profile: MemberProfile, info: credit.CreditInfo, parent: QWidget | None = None) -> None:
        super().__init__(state, profile, parent, QCoreApplication.translate("RepayDialog", "Repayment of {name}").format(
            name=profile.name))
        self.result_value: credit.RepayResult | None = None
        self.info = info
        text = self.tr("Owes {owed}.").format(owed=format_fen(self.info.owed_fen))
        if self.info.overdue_fen:
            text += " " + self.tr("{overdue} of it is overdue, the oldest by {days} days.").format(
                overdue=format_fen(self.info.overdue_fen), days=self.info.oldest_overdue_days)
        self.heading.setText(text)
        self.amount_edit = QLineEdit()
        self.amount_edit.setPlaceholderText(self.tr("at most {owed}").format(owed=format_fen(self.info.owed_fen)))
        self.method_box = _method_box()
        self.form.addRow(self.tr("&Amount paid back (¥):"), self.amount_edit)
        self.form.addRow(self.tr("Paid &by:"), self.method_box)
        self.field_widgets = {"amount": self.amount_edit, "payment_method": self.method_box}
        self.finish(self.tr("Record repayment (Enter)"), self.amount_edit)

    def accept(self) -> None:
        self.send_money(credit.repay, QT_TRANSLATE_NOOP("errors", "Type the amount paid back."))


class CashOutDialog(_MoneyDialog):
    """退卡退余额: the principal is paid back, the bonus forfeited; a supervisor or the owner, audited."""

    def __init__(self, state: AppState, profile: MemberProfile, parent: QWidget | None = None) -> None:
        super().__init__(state, profile, parent, QCoreApplication.translate("CashOutDialog", "Pay out the stored value of {name}").format(
            name=profile.name))
        self.result_value: wallet.CashOutResult | None = None
        self.heading.setText(self.tr("{principal} is paid back to the member; the bonus of {bonus} is forfeited. "
                                     "The member signs the slip.").format(
            principal=format_fen(profile.wallet_principal_fen), bonus=format_fen(profile.wallet_bonus_fen)))
        self.heading.setObjectName("errorLabel")
        self.method_box = _method_box()
        self.reason_edit = QLineEdit()
        self.reason_edit.setMaxLength(wallet.MAX_REASON)
        self.reason_edit.setPlaceholderText(self.tr("optional, e.g. moving away"))
        self.form.addRow(self.tr("Paid back &by:"), self.method_box)
        self.form.addRow(self.tr("&Reason:"), self.reason_edit)
        self.field_widgets = {"payment_method": self.method_box, "reason": self.reason_edit}
        self.finish(self.tr("Pay out (Enter)"), self.reason_edit)

    def accept(self) -> None:
        method, reason = str(self.method_box.currentData()), self.reason_edit.text()
        self.write(lambda session, actor, member_id, request_id: wallet.cash_out(
            session, actor, member_id, payment_method=method, reason=reason, request_id=request_id))


class WalletAdjustDialog(_MoneyDialog):
    """The owner's correction of a wallet: principal and bonus, each up or down, with the reason."""

    def __init__(self, state: AppState, profile: MemberProfile, parent: QWidget | None = None) -> None:
        super().__init__(state, profile, parent, QCoreApplication.translate("WalletAdjustDialog", "Correct the stored value of {name}").format(
            name=profile.name))
        self.heading.setText(self.tr("Holds {principal} paid in and {bonus} bonus. Type how much to add (or, with a minus, "
                                     "take away).").format(principal=format_fen(profile.wallet_principal_fen),
                                                           bonus=format_fen(profile.wallet_bonus_fen)))
        self.principal_edit = QLineEdit()
        self.principal_edit.setPlaceholderText("0.00")
        self.bonus_edit = QLineEdit()
        self.bonus_edit.setPlaceholderText("0.00")
        self.reason_edit = QLineEdit()
        self.reason_edit.setMaxLength(wallet.MAX_REASON)
        self.reason_edit.setPlaceholderText(self.tr("required"))
        self.form.addRow(self.tr("&Principal (¥):"), self.principal_edit)
        self.form.addRow(self.tr("&Bonus (¥):"), self.bonus_edit)
        self.form.addRow(self.tr("&Reason:"), self.reason_edit)
        self.field_widgets = {"amount": self.principal_edit, "reason": self.reason_edit}
        self.finish(self.tr("Correct (Enter)"), self.principal_edit)

    @staticmethod
    def _signed(edit: QLineEdit) -> int:
        text = edit.text().strip()
        if not text:
            return 0
        negative = text.startswith(("-", "－"))
        value = money.parse_yuan(text.lstrip("-－").strip(), field="amount")
        return -value if negative else value

    def accept(self) -> None:
        self.message.hide()
        try:
            principal, bonus = self._signed(self.principal_edit), self._signed(self.bonus_edit)
        except CrmdeskError as exc:
            self.fail(exc)
            return
        reason = self.reason_edit.text()
        self.write(lambda session, actor, member_id, request_id: wallet.adjust(
            session, actor, member_id, principal_fen=principal, bonus_fen=bonus, reason=reason, request_id=request_id))


class PayPinDialog(_MoneyDialog):
    """The member chooses the PIN the counter asks for above the owner's amount (or removes it)."""

    def __init__(self, state: AppState, profile: MemberProfile, parent: QWidget | None = None) -> None:
        super().__init__(state, profile, parent, QCoreApplication.translate("PayPinDialog", "Payment PIN of {name}").format(
            name=profile.name))
        self.heading.setText(self.tr("The member types 4 to 6 digits twice. Leave both empty to remove the PIN."))
        self.pin_edit = QLineEdit()
        self.again_edit = QLineEdit()
        for edit in (self.pin_edit, self.again_edit):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setMaxLength(6)
        self.form.addRow(self.tr("&PIN:"), self.pin_edit)
        self.form.addRow(self.tr("&Again:"), self.again_edit)
        self.field_widgets = {"pin": self.pin_edit}
        self.finish(self.tr("Save (Enter)"), self.pin_edit)

    def accept(self) -> None:
        self.message.hide()
        if self.pin_edit.text() != self.again_edit.text():
            self.fail(InvalidInput(QT_TRANSLATE_NOOP("errors", "The two PINs differ."), field="pin"))
            return
        pin = self.pin_edit.text() or None
        self.write(lambda session, actor, member_id, _request_id: wallet.set_pin(session, actor, member_id, pin))


class CreditLimitDialog(_MoneyDialog):
    """Grant or change credit: the limit and term, with crmdesk's suggestion and its reasons beside them."""

    @staticmethod
    def setup(session: Session, profile: MemberProfile) -> tuple[credit.CreditInfo, credit.Suggestion]:
        """What the dialog shows when it opens (read off the UI thread): the account and crmdesk's suggestion."""
        return credit.info(session, profile.id), credit.suggest_limit(session, profile.id)

    def __init__(self, state: AppState, profile: MemberProfile,
                 setup: tuple[credit.CreditInfo, credit.Suggestion], parent: QWidget | None = None) -> None:
        super().__init__(state, profile, parent, QCoreApplication.translate("CreditLimitDialog", "Credit of {name}").format(
            name=profile.name))
        self.info, self.suggestion = setup
        lines = [self.tr("Suggested: {limit} for {days} days.").format(limit=format_fen(self.suggestion.limit_fen),
                                                                       days=self.suggestion.term_days)]
        lines += ["· " + reason_text(template, params) for template, params in self.suggestion.reasons]
        self.heading.setText("\n".join(lines))
        self.heading.setObjectName("hintLabel")
        self.limit_edit = QLineEdit(money_text_plain(self.info.limit_fen if self.info.has_account else self.suggestion.limit_fen))
        self.days_box = QSpinBox()
        self.days_box.setRange(1, 365)
        self.days_box.setValue(self.info.term_days if self.info.has_account else self.suggestion.term_days)
        self.days_box.setSuffix(self.tr(" days"))
        self.reason_edit = QLineEdit()
        self.reason_edit.setMaxLength(credit.MAX_REASON)
        self.reason_edit.setPlaceholderText(self.tr("optional, e.g. a regular for ten years"))
        self.form.addRow(self.tr("&Limit (¥):"), self.limit_edit)
        self.form.addRow(self.tr("&Due within:"), self.days_box)
        self.form.addRow(self.tr("&Reason:"), self.reason_edit)
        self.field_widgets = {"limit": self.limit_edit, "term_days": self.days_box, "reason": self.reason_edit}
        self.finish(self.tr("Save (Enter)"), self.limit_edit)

    def accept(self) -> None:
        self.message.hide()
        try:
            limit = money.parse_yuan(self.limit_edit.text() or "0", field="limit")
        except CrmdeskError as exc:
            self.fail(exc)
            return
        days, reason = self.days_box.value(), self.reason_edit.text()
        self.write(lambda session, actor, member_id, _request_id: credit.set_limit(
            session, actor, member_id, limit, term_days=days, reason=reason))


class CreditFreezeDialog(_MoneyDialog):
    """Stop new credit (with the reason), or allow it again; what is owed stays owed."""

    def __init__(self, state: AppState, profile: MemberProfile, parent: QWidget | None = None) -> None:
        super().__init__(state, profile, parent, QCoreApplication.translate("CreditFreezeDialog", "Stop credit of {name}").format(
            name=profile.name))
        self.stopping = not profile.credit_frozen
        self.heading.setText(self.tr("No new credit until it is allowed again; repayments go on.") if self.stopping
                             else self.tr("Allow new credit again, within the limit."))
        self.reason_edit = QLineEdit()
        self.reason_edit.setMaxLength(credit.MAX_REASON)
        self.reason_edit.setPlaceholderText(self.tr("required") if self.stopping else self.tr("optional"))
        self.form.addRow(self.tr("&Reason:"), self.reason_edit)
        self.field_widgets = {"reason": self.reason_edit}
        self.finish(self.tr("Stop credit (Enter)") if self.stopping else self.tr("Allow credit (Enter)"), self.reason_edit)

    def accept(self) -> None:
        stopping, reason = self.stopping, self.reason_edit.text()
        self.write(lambda session, actor, member_id, _request_id: credit.set_frozen(
            session, actor, member_id, stopping, reason=reason))


class CollectionNoteDialog(_MoneyDialog):
    """催收: a contact about the debt, and what was promised by when."""

    def __init__(self, state: AppState, profile: MemberProfile, parent: QWidget | None = None) -> None:
        super().__init__(state, profile, parent, QCoreApplication.translate("CollectionNoteDialog", "Collection note for {name}").format(
            name=profile.name))
        self.heading.setText(self.tr("Owes {owed}.").format(owed=format_fen(profile.credit_owed_fen)))
        self.channel_box = QComboBox()
        for code in credit.NOTE_CHANNELS:
            self.channel_box.addItem(QCoreApplication.translate("terms", credit.CHANNEL_LABELS[code]), code)
        self.text_edit = QPlainTextEdit()
        self.text_edit.setTabChangesFocus(True)
        self.text_edit.setFixedHeight(80)
        self.text_edit.setPlaceholderText(self.tr("What was said"))
        self.promise_check = QCheckBox(self.tr("Promised to pay"))
        self.promise_date = QDateEdit(QDate(shop_time.today()).addDays(7))
        self.promise_date.setCalendarPopup(True)
        self.promise_date.setDisplayFormat("yyyy-MM-dd")
        self.promise_amount = QLineEdit()
        self.promise_amount.setPlaceholderText(self.tr("optional"))
        self.form.addRow(self.tr("&How:"), self.channel_box)
        self.form.addRow(self.tr("&What was said:"), self.text_edit)
        self.form.addRow("", self.promise_check)
        self.form.addRow(self.tr("&By:"), self.promise_date)
        self.form.addRow(self.tr("A&mount (¥):"), self.promise_amount)
        self.field_widgets = {"channel": self.channel_box, "text": self.text_edit, "promised_on": self.promise_date,
                              "promised_fen": self.promise_amount}
        QShortcut(QKeySequence("Ctrl+Return"), self).activated.connect(self.accept)
        self.finish(self.tr("Save (Ctrl+Enter)"), self.channel_box)

    def accept(self) -> None:
        self.message.hide()
        promised = self.promise_check.isChecked()
        amount = self.promise_amount.text().strip()
        try:
            promised_fen = money.parse_yuan(amount, field="promised_fen") if promised and amount else None
        except CrmdeskError as exc:
            self.fail(exc)
            return
        text, channel = self.text_edit.toPlainText(), str(self.channel_box.currentData())
        promised_on = self.promise_date.date().toPython() if promised else None
        self.write(lambda session, actor, member_id, _request_id: credit.add_note(
            session, actor, member_id, text=text, channel=channel, promised_on=promised_on,  # type: ignore[arg-type]
            promised_fen=promised_fen))


class WriteOffDialog(_MoneyDialog):
    """坏账核销: the owner writes off what will not be paid, with the reason."""

    def __init__(self, state: AppState, profile: MemberProfile, parent: QWidget | None = None) -> None:
        super().__init__(state, profile, parent, QCoreApplication.translate("WriteOffDialog", "Write off the debt of {name}").format(
            name=profile.name))
        self.heading.setText(self.tr("Owes {owed}. A write-off cannot be undone; the debt stays in the history.").format(
            owed=format_fen(profile.credit_owed_fen)))
        self.heading.setObjectName("errorLabel")
        self.amount_edit = QLineEdit(money_text_plain(profile.credit_owed_fen))
        self.reason_edit = QLineEdit()
        self.reason_edit.setMaxLength(credit.MAX_REASON)
        self.reason_edit.setPlaceholderText(self.tr("required, e.g. moved away, cannot be reached"))
        self.form.addRow(self.tr("&Amount (¥):"), self.amount_edit)
        self.form.addRow(self.tr("&Reason:"), self.reason_edit)
        self.field_widgets = {"amount": self.amount_edit, "reason": self.reason_edit}
        self.finish(self.tr("Write off (Enter)"), self.reason_edit)

    def accept(self) -> None:
        self.message.hide()
        try:
            amount = money.parse_yuan(self.amount_edit.text(), field="amount")
        except CrmdeskError as exc:
            self.fail(exc)
            return
        reason = self.reason_edit.text()
        self.write(lambda session, actor, member_id, request_id: credit.write_off(
            session, actor, member_id, amount_fen=amount, reason=reason, request_id=request_id))


def money_text_plain(fen: int) -> str:
    """Fen as the plain yuan an edit field holds: 1234 -> "12.34"."""
    return format_yuan(fen)
