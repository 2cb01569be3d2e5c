"""Settings → Stored value and credit (the owner's): the prepaid card rules and the cap, how payments draw on
principal and bonus, the member's PIN above an amount, credit stopping by itself, the highest suggested limit,
and the top-up bonus rules (充200送20)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDateEdit, QDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
    QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from crmdesk.errors import CrmdeskError
from crmdesk.models import DrawOrder
from crmdesk.services import member_query, money, money_settings, wallet
from crmdesk.services.member_query import TierChoice
from crmdesk.services.money_settings import MoneyRules
from crmdesk.services.uow import unit_of_work
from crmdesk.views.common import error_text, format_fen, mark_data_columns
from crmdesk.views.purchase_dialogs import EnterDialog, message_label
from crmdesk.views.state import AppState
from crmdesk.views.terms import term

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _date_box(optional_text: str) -> QDateEdit:
    box = QDateEdit()
    box.setCalendarPopup(True)
    box.setDisplayFormat("yyyy-MM-dd")
    box.setMinimumDate(QDate(2000, 1, 1))
    box.setSpecialValueText(optional_text)
    box.setDate(box.minimumDate())
    return box


class BonusRuleDialog(EnterDialog):
    """A new top-up bonus: the top-up it needs, the bonus, an optional window and tier."""

    @staticmethod
    def setup(session: Session) -> list[TierChoice]:
        """The tiers a bonus may be limited to (read off the UI thread before the dialog opens)."""
        return member_query.list_tiers(session)

    def __init__(self, state: AppState, tiers: list[TierChoice], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.setWindowTitle(self.tr("New top-up bonus"))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.min_edit = QLineEdit()
        self.min_edit.setPlaceholderText(self.tr("e.g. 200"))
        self.bonus_edit = QLineEdit()
        self.bonus_edit.setPlaceholderText(self.tr("e.g. 20"))
        self.from_edit = _date_box(self.tr("from now"))
        self.to_edit = _date_box(self.tr("no end"))
        self.tier_box = QComboBox()
        self.tier_box.addItem(self.tr("Every tier"), None)
        for tier in tiers:
            self.tier_box.addItem(tier.name, tier.id)
        form.addRow(self.tr("&Top-up of at least (¥):"), self.min_edit)
        form.addRow(self.tr("&Bonus (¥):"), self.bonus_edit)
        form.addRow(self.tr("&From:"), self.from_edit)
        form.addRow(self.tr("&Until:"), self.to_edit)
        form.addRow(self.tr("Ti&er:"), self.tier_box)
        layout.addLayout(form)
        self.message = message_label()
        layout.addWidget(self.message)
        layout.addLayout(self._buttons(self.tr("Add (Enter)")))
        self.min_edit.setFocus()

    @staticmethod
    def _day(box: QDateEdit):  # type: ignore[no-untyped-def]
        return None if box.date() == box.minimumDate() else box.date().toPython()

    def accept(self) -> None:
        if self.recording:
            return
        self.message.hide()
        try:
            min_topup = money.parse_yuan(self.min_edit.text(), field="min_topup")
            bonus = money.parse_yuan(self.bonus_edit.text(), field="bonus")
        except CrmdeskError as exc:
            self._show_message(error_text(exc))
            return
        db, actor = self._state.db, self._state.actor
        starts_on, ends_on, tier_id = self._day(self.from_edit), self._day(self.to_edit), self.tier_box.currentData()

        def work() -> object:
            with unit_of_work(db) as session:
                return wallet.add_bonus_rule(session, actor, min_topup_fen=min_topup, bonus_fen=bonus, starts_on=starts_on,
                                             ends_on=ends_on, tier_id=tier_id)

        self._send(self._state, work, lambda _rule: EnterDialog.accept(self), lambda exc: self._show_message(error_text(exc)))


class MoneySettingsTab(QWidget):
    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.prepaid_check = QCheckBox(self.tr("Follow China's prepaid card rules (单用途商业预付卡管理办法)"))
        self.cap_edit = QLineEdit()
        self.draw_box = QComboBox()
        for order in DrawOrder:
            self.draw_box.addItem(term(wallet.DRAW_LABELS[order]), order)
        self.pin_edit = QLineEdit()
        self.pin_edit.setPlaceholderText(self.tr("0: every payment"))
        self.freeze_box = QSpinBox()
        self.freeze_box.setRange(0, 365)
        self.freeze_box.setSpecialValueText(self.tr("never"))
        self.freeze_box.setSuffix(self.tr(" days overdue"))
        self.max_limit_edit = QLineEdit()
        form.addRow("", self.prepaid_check)
        form.addRow(self.tr("A wallet holds at &most (¥):"), self.cap_edit)
        form.addRow(self.tr("Payments &draw on:"), self.draw_box)
        form.addRow(self.tr("No &PIN needed up to (¥):"), self.pin_edit)
        form.addRow(self.tr("Credit stops by &itself after:"), self.freeze_box)
        form.addRow(self.tr("Highest &suggested credit limit (¥):"), self.max_limit_edit)
        layout.addLayout(form)
        self.prepaid_check.toggled.connect(lambda on: self.cap_edit.setEnabled(on))
        row = QHBoxLayout()
        self.save_button = QPushButton(self.tr("&Save settings"))
        self.save_button.clicked.connect(self.save)
        self.status = QLabel()
        self.status.setObjectName("hintLabel")
        self.status.setWordWrap(True)
        row.addWidget(self.save_button)
        row.addWidget(self.status, 1)
        layout.addLayout(row)

        title = QLabel(self.tr("Top-up bonuses: the biggest one a top-up reaches applies."))
        title.setObjectName("sectionHeading")
        layout.addWidget(title)
        self.rules_table = QTableWidget(0, 5)
        self.rules_table.setHorizontalHeaderLabels([self.tr("Bonus"), self.tr("From"), self.tr("Until"), self.tr("Tier"),
                                                    self.tr("State")])
        mark_data_columns(self.rules_table, 0, 3)
        self.rules_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.rules_table.verticalHeader().hide()
        self.rules_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.rules_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        layout.addWidget(self.rules_table, 1)
        buttons = QHBoxLayout()
        self.add_rule_button = QPushButton(self.tr("&Add bonus…"))
        self.add_rule_button.clicked.connect(self.add_rule)
        self.end_rule_button = QPushButton(self.tr("&End bonus"))
        self.end_rule_button.clicked.connect(self.end_rule)
        buttons.addWidget(self.add_rule_button)
        buttons.addWidget(self.end_rule_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.message = message_label()
        layout.addWidget(self.message)
        self.rules: list[wallet.BonusRule] = []
        self.setEnabled(False)  # until what it edits is read (off the UI thread): nothing to save over
        self.load()

    def load(self) -> None:
        """The money rules and bonus rules as they are now, read off the UI thread."""
        self._state.operations.read(
            self._state.db, lambda session: (money_settings.get(session), wallet.bonus_rules(session, include_inactive=True)),
            lambda read: self._show(*read), key=f"money-settings-{id(self)}", owner=self)

    def _show(self, rules: money_settings.MoneyRules, bonus_rules: list[wallet.BonusRule]) -> None:
        self.setEnabled(True)
        self.rules = bonus_rules
        self.prepaid_check.setChecked(rules.prepaid_rules)
        self.cap_edit.setText(member_query.format_yuan(rules.wallet_cap_fen))
        self.cap_edit.setEnabled(rules.prepaid_rules)
        self.draw_box.setCurrentIndex(max(0, self.draw_box.findData(rules.draw_order)))
        self.pin_edit.setText(member_query.format_yuan(rules.pin_above_fen) if rules.pin_above_fen else "")
        self.freeze_box.setValue(rules.credit_freeze_after_days)
        self.max_limit_edit.setText(member_query.format_yuan(rules.credit_max_limit_fen))
        self.rules_table.setRowCount(len(self.rules))
        for row, rule in enumerate(self.rules):
            values = (rule.label, rule.starts_on.isoformat() if rule.starts_on else "—", rule.ends_on.isoformat() if rule.ends_on else "—",
                      rule.tier_name or self.tr("Every tier"), self.tr("In use") if rule.active else self.tr("Ended"))
            for column, text in enumerate(values):
                self.rules_table.setItem(row, column, QTableWidgetItem(text))
        self.message.hide()

    refused = False  # the last save was refused: its reason is on show

    def save(self) -> None:
        """Save the money rules (on the operations thread); refused, the reason shows and ``refused`` says so."""
        self.message.hide()
        self.refused = False
        try:
            rules = MoneyRules(
                prepaid_rules=self.prepaid_check.isChecked(),
                wallet_cap_fen=money.parse_yuan(self.cap_edit.text(), field="wallet_cap_fen"),
                draw_order=self.draw_box.currentData(),
                pin_above_fen=money.parse_yuan(self.pin_edit.text(), field="pin_above_fen") if self.pin_edit.text().strip() else 0,
                credit_freeze_after_days=self.freeze_box.value(),
                credit_max_limit_fen=money.parse_yuan(self.max_limit_edit.text(), field="credit_max_limit_fen"),
            )
        except CrmdeskError as exc:
            self._refuse(exc)
            return
        actor = self._state.actor

        def saved(_none: None) -> None:
            self.load()
            self.status.setText(self.tr("Saved. The cap is {cap}.").format(cap=format_fen(rules.wallet_cap_fen))
                                if rules.prepaid_rules else self.tr("Saved. No cap: the prepaid card rules are switched off."))

        self._state.operations.write(self._state.db, lambda session: money_settings.save(session, actor, rules), saved,
                                     self._refuse, owner=self)

    def _refuse(self, exc: CrmdeskError) -> None:
        self.refused = True
        self.message.setText(error_text(exc))
        self.message.show()

    def add_rule(self) -> None:
        """A new top-up bonus, in a dialog opened once the tiers are read."""
        def opened(tiers: list[TierChoice]) -> None:
            dialog = BonusRuleDialog(self._state, tiers, self)
            dialog.finished.connect(lambda result: result == QDialog.DialogCode.Accepted and self.load())
            dialog.open()

        self._state.operations.read(self._state.db, BonusRuleDialog.setup, opened, self._refuse, owner=self)

    def end_rule(self) -> None:
        row = self.rules_table.currentRow()
        if not 0 <= row < len(self.rules) or not self.rules[row].active:
            return
        actor, rule_id = self._state.actor, self.rules[row].id
        self._state.operations.write(self._state.db, lambda session: wallet.end_bonus_rule(session, actor, rule_id),
                                     lambda _rule: self.load(), self._refuse, owner=self)

