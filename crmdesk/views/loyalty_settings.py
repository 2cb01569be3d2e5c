"""Settings tabs for the owner: the points rules (loyalty.Rules) and the tiers (services.tiers).

Both tabs only show for those with CHANGE_LOYALTY_RULES; the services check again.
"""

from __future__ import annotations

from datetime import datetime, timezone

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QColorDialog, QComboBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox,
    QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from crmdesk.errors import CrmdeskError, InvalidInput
from crmdesk.models import ExpiryMode
from crmdesk.services import loyalty, purchases
from crmdesk.services import tiers as tiers_service
from crmdesk.services.tiers import TierInUse, TierSpec
from crmdesk.texts import QT_TRANSLATE_NOOP
from crmdesk.views.common import error_text
from crmdesk.views.state import AppState
from crmdesk.views.terms import percent_text


def _yuan_text(fen: int) -> str:
    return f"{fen // 100}" if fen % 100 == 0 else f"{fen // 100}.{fen % 100:02d}"


def _cell(table: QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    return item.text().strip() if item is not None else ""


def _status_label() -> QLabel:
    label = QLabel()
    label.setObjectName("hintLabel")
    label.setWordWrap(True)
    return label


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("errorLabel")
    label.setWordWrap(True)
    label.hide()
    return label


class RulesTab(QWidget):
    """Points per ¥, redemption value, expiry, bonus days and category rules."""

    refused = False  # the last save was refused: its reason is on show

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.points_per_yuan = QSpinBox()
        self.points_per_yuan.setRange(1, 100)
        self.points_per_yuan.setSuffix(self.tr(" points per full ¥1"))
        self.redeem_points = QSpinBox()
        self.redeem_points.setRange(1, 100_000)
        self.redeem_points.setSuffix(self.tr(" points = ¥1 off"))
        self.expiry_mode = QComboBox()
        self.expiry_mode.addItem(self.tr("End of the calendar year after earning"), ExpiryMode.CALENDAR)
        self.expiry_mode.addItem(self.tr("A number of months after earning"), ExpiryMode.ROLLING)
        self.expiry_months = QSpinBox()
        self.expiry_months.setRange(1, 120)
        self.expiry_months.setSuffix(self.tr(" months"))
        self.expiry_mode.currentIndexChanged.connect(self._mode_changed)
        weekdays = QHBoxLayout()
        names = [self.tr("Mon"), self.tr("Tue"), self.tr("Wed"), self.tr("Thu"), self.tr("Fri"), self.tr("Sat"), self.tr("Sun")]
        self.weekday_boxes = [QCheckBox(name) for name in names]
        for box in self.weekday_boxes:
            weekdays.addWidget(box)
        weekdays.addStretch(1)
        self.bonus_dates = QLineEdit()
        self.bonus_dates.setPlaceholderText(self.tr("YYYY-MM-DD, separated by commas, e.g. 2026-10-01, 2026-11-11"))
        self.bonus_multiplier = QSpinBox()
        self.bonus_multiplier.setRange(100, 1000)
        self.bonus_multiplier.setSingleStep(50)
        self.bonus_multiplier.setSuffix(" %")
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.bonus_dates.setMinimumWidth(420)
        form.addRow(self.tr("&Earning:"), self.points_per_yuan)
        form.addRow(self.tr("&Redeeming:"), self.redeem_points)
        form.addRow(self.tr("Points e&xpire:"), self.expiry_mode)
        form.addRow(self.tr("Mon&ths:"), self.expiry_months)
        form.addRow(self.tr("Bonus weekdays:"), weekdays)
        form.addRow(self.tr("Bonus &dates:"), self.bonus_dates)
        form.addRow(self.tr("Bonus &multiplier:"), self.bonus_multiplier)
        layout.addLayout(form)

        layout.addWidget(QLabel(self.tr("Categories that earn differently (0 % earns nothing, 200 % double):")))
        self.categories = QTableWidget(0, 2)
        self.categories.setHorizontalHeaderLabels([self.tr("Category"), self.tr("Earns (%)")])
        self.categories.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.categories.verticalHeader().hide()
        self.categories.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        layout.addWidget(self.categories, 1)
        row = QHBoxLayout()
        self.add_category_button = QPushButton(self.tr("&Add category"))
        self.add_category_button.clicked.connect(lambda: self.add_category())
        self.remove_category_button = QPushButton(self.tr("Remo&ve category"))
        self.remove_category_button.clicked.connect(self.remove_category)
        self.save_button = QPushButton(self.tr("&Save rules (Ctrl+S)"))
        self.save_button.setShortcut(QKeySequence.StandardKey.Save)
        self.save_button.clicked.connect(self.save)
        self.undo_button = QPushButton(self.tr("&Undo changes"))
        self.undo_button.clicked.connect(self.load)
        for button in (self.add_category_button, self.remove_category_button):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.undo_button)
        row.addWidget(self.save_button)
        layout.addLayout(row)
        self.message = _error_label()
        layout.addWidget(self.message)
        self.status = _status_label()
        layout.addWidget(self.status)
        self.setEnabled(False)  # until what it edits is read (off the UI thread): nothing to save over
        self.load()

    def _mode_changed(self) -> None:
        self.expiry_months.setEnabled(self.expiry_mode.currentData() is ExpiryMode.ROLLING)

    def load(self) -> None:
        """The points rules as they are now, read off the UI thread."""
        self._state.operations.read(self._state.db, loyalty.get_rules, self._show_rules, key=f"rules-{id(self)}", owner=self)

    def _show_rules(self, rules: loyalty.Rules) -> None:
        self.setEnabled(True)
        self.points_per_yuan.setValue(rules.points_per_yuan)
        self.redeem_points.setValue(rules.redeem_points_per_yuan)
        self.expiry_mode.setCurrentIndex(max(0, self.expiry_mode.findData(rules.expiry_mode)))
        self.expiry_months.setValue(rules.expiry_months)
        for day, box in enumerate(self.weekday_boxes):
            box.setChecked(day in rules.bonus_weekdays)
        self.bonus_dates.setText(", ".join(rules.bonus_dates))
        self.bonus_multiplier.setValue(rules.bonus_multiplier_pct)
        self.categories.setRowCount(0)
        for category, pct in rules.category_multipliers:
            self.add_category(category, pct)
        self._mode_changed()
        self.message.hide()

    def add_category(self, category: str = "", pct: int = 0) -> None:
        row = self.categories.rowCount()
        self.categories.insertRow(row)
        self.categories.setItem(row, 0, QTableWidgetItem(category))
        self.categories.setItem(row, 1, QTableWidgetItem(str(pct)))
        self.categories.setCurrentCell(row, 0)

    def remove_category(self) -> None:
        row = self.categories.currentRow()
        if row >= 0:
            self.categories.removeRow(row)

    def rules(self) -> loyalty.Rules:
        """The rules as entered; InvalidInput for what the form itself can tell is wrong."""
        categories: list[tuple[str, int]] = []
        for row in range(self.categories.rowCount()):
            name, pct_text = _cell(self.categories, row, 0), _cell(self.categories, row, 1).replace("%", "").strip()
            if not name:
                continue
            if not pct_text.isdigit():
                raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Category '{category}': the multiplier must be a whole number of percent."),
                                   field="category_multipliers", category=name)
            if any(existing == name for existing, _pct in categories):
                raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The category '{category}' is listed twice."),
                                   field="category_multipliers", category=name)
            categories.append((name, int(pct_text)))
        dates = tuple(part.strip() for part in self.bonus_dates.text().replace("，", ",").split(",") if part.strip())
        return loyalty.Rules(
            points_per_yuan=self.points_per_yuan.value(),
            redeem_points_per_yuan=self.redeem_points.value(),
            expiry_mode=self.expiry_mode.currentData(),
            expiry_months=self.expiry_months.value(),
            bonus_weekdays=tuple(day for day, box in enumerate(self.weekday_boxes) if box.isChecked()),
            bonus_dates=dates,
            bonus_multiplier_pct=self.bonus_multiplier.value(),
            category_multipliers=tuple(categories),
        )

    def save(self) -> None:
        """Save the rules (on the operations thread); refused, the reason shows and ``refused`` says so."""
        self.message.hide()
        self.status.setText("")
        self.refused = False
        try:
            rules = self.rules()
        except CrmdeskError as exc:
            self._refuse(exc)
            return
        actor = self._state.actor

        def saved(_none: None) -> None:
            self.load()
            self.status.setText(self.tr("Saved. The rules apply to purchases recorded from now on."))

        self._state.operations.write(self._state.db, lambda session: loyalty.set_rules(session, actor, rules), saved,
                                     self._refuse, owner=self)

    def _refuse(self, exc: CrmdeskError) -> None:
        self.refused = True
        self.message.setText(error_text(exc))
        self.message.show()


class TiersTab(QWidget):
    """The tiers from the entry tier up: name, 12-month spend threshold, benefits, colour; and the review."""

    NAME, THRESHOLD, MULTIPLIER, DISCOUNT, COLOUR, MEMBERS = range(6)

    refused = False  # the last save was refused: its reason is on show

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr(
            "Lowest tier first; everyone starts in the first one. Members move up at once when their spend over the last "
            "12 months reaches a threshold, and down only at the monthly review."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels([self.tr("Name"), self.tr("12-month spend (¥)"), self.tr("Points (%)"),
                                              self.tr("Discount (%)"), self.tr("Colour"), self.tr("Active members")])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # A colour is chosen, never typed: double-click or Enter on it (or the button) opens the picker.
        self.table.cellActivated.connect(lambda row, column: column == self.COLOUR and self.choose_colour(row))
        self.table.cellDoubleClicked.connect(lambda row, column: column == self.COLOUR and self.choose_colour(row))
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton(self.tr("&Add tier"))
        self.add_button.clicked.connect(lambda: self.add_tier())
        self.remove_button = QPushButton(self.tr("&Remove tier"))
        self.remove_button.clicked.connect(self.remove_tier)
        self.colour_button = QPushButton(self.tr("C&olour…"))
        self.colour_button.clicked.connect(lambda: self.choose_colour(self.table.currentRow()))
        self.undo_button = QPushButton(self.tr("&Undo changes"))
        self.undo_button.clicked.connect(self.load)
        self.save_button = QPushButton(self.tr("&Save tiers"))
        self.save_button.clicked.connect(lambda: self.save())
        self.review_button = QPushButton(self.tr("Run tier re&view now"))
        self.review_button.clicked.connect(self.ask_review)
        for button in (self.add_button, self.remove_button, self.colour_button):
            row.addWidget(button)
        row.addStretch(1)
        for button in (self.review_button, self.undo_button, self.save_button):
            row.addWidget(button)
        layout.addLayout(row)
        self.message = _error_label()
        layout.addWidget(self.message)
        self.status = _status_label()
        layout.addWidget(self.status)
        self.setEnabled(False)  # until what it edits is read (off the UI thread): nothing to save over
        self.load()

    def load(self) -> None:
        """The tiers as they are now, read off the UI thread."""
        self._state.operations.read(self._state.db, tiers_service.list_tiers, self._show_tiers, key=f"tiers-{id(self)}",
                                    owner=self)

    def _show_tiers(self, tiers: list[TierSpec]) -> None:
        self.setEnabled(True)
        self.table.setRowCount(0)
        for tier in tiers:
            self.add_tier(tier)
        self.message.hide()

    def add_tier(self, tier: TierSpec | None = None) -> None:
        if tier is None:
            last = self._cell_fen(self.table.rowCount() - 1) if self.table.rowCount() else -100
            tier = TierSpec(None, "", max(0, last + 100_000), 100, 0, "#808080")
        row = self.table.rowCount()
        self.table.blockSignals(True)
        self.table.insertRow(row)
        values = (tier.name, _yuan_text(tier.min_spend_fen), str(tier.points_multiplier_pct), percent_text(tier.discount_bp),
                  "", f"{tier.member_count:,}")
        for column, text in enumerate(values):
            item = QTableWidgetItem(text)
            if column in (self.COLOUR, self.MEMBERS):
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(row, column, item)
        self.table.item(row, self.NAME).setData(Qt.ItemDataRole.UserRole, tier.id)
        self._set_colour(row, tier.colour)
        self.table.blockSignals(False)
        self.table.setCurrentCell(row, self.NAME)

    def _cell_fen(self, row: int) -> int:
        try:
            return purchases.parse_yuan(_cell(self.table, row, self.THRESHOLD) or "0")
        except CrmdeskError:
            return 0

    def _set_colour(self, row: int, name: str) -> None:
        """Show a tier's colour as a swatch (its code only in the tooltip)."""
        colour = QColor(name)
        item = self.table.item(row, self.COLOUR)
        item.setData(Qt.ItemDataRole.UserRole, colour.name() if colour.isValid() else name)
        item.setBackground(colour if colour.isValid() else QColor("#ffffff"))
        item.setToolTip(self.tr("Double-click or press Enter to choose another colour."))

    def choose_colour(self, row: int) -> None:
        if row < 0:
            return
        current = QColor(self.table.item(row, self.COLOUR).data(Qt.ItemDataRole.UserRole))
        chosen = QColorDialog.getColor(current, self, self.tr("Colour of {tier}").format(tier=_cell(self.table, row, self.NAME)))
        if chosen.isValid():
            self._set_colour(row, chosen.name())

    def remove_tier(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)

    def tiers(self) -> list[TierSpec]:
        result = []
        for row in range(self.table.rowCount()):
            name = _cell(self.table, row, self.NAME)
            multiplier = _cell(self.table, row, self.MULTIPLIER).replace("%", "").strip()
            if not multiplier.isdigit():
                raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Tier '{name}': the points multiplier must be a whole number of percent."),
                                   field="points_multiplier_pct", name=name or str(row + 1))
            result.append(TierSpec(
                self.table.item(row, self.NAME).data(Qt.ItemDataRole.UserRole),
                name,
                purchases.parse_yuan(_cell(self.table, row, self.THRESHOLD) or "0"),
                int(multiplier),
                tiers_service.parse_percent(_cell(self.table, row, self.DISCOUNT), field="discount_bp"),
                str(self.table.item(row, self.COLOUR).data(Qt.ItemDataRole.UserRole) or ""),
            ))
        return result

    def save(self, *, move_members_down: bool = False, ask: bool = True) -> None:
        """Save the list (on the operations thread); when a deleted tier has members, ask before moving them down
        (``ask``). Refused, the reason shows and ``refused`` says so."""
        self.message.hide()
        self.status.setText("")
        self.refused = False
        try:
            tiers = self.tiers()
        except CrmdeskError as exc:
            self._show_error(exc)
            return
        actor = self._state.actor

        def saved(_none: None) -> None:
            self.load()
            self.status.setText(self.tr("Tiers saved. Members move up with their next purchase and down at the next review."))

        def refused(exc: CrmdeskError) -> None:
            if isinstance(exc, TierInUse) and ask and QMessageBox.question(
                    self, self.tr("Delete a tier in use"), error_text(exc) + "\n\n" + self.tr("Go ahead?")) \
                    == QMessageBox.StandardButton.Yes:
                self.save(move_members_down=True)
                return
            self._show_error(exc)

        self._state.operations.write(
            self._state.db, lambda session: tiers_service.save_tiers(session, actor, tiers, move_members_down=move_members_down),
            saved, refused, owner=self)

    def _show_error(self, exc: CrmdeskError) -> None:
        self.refused = True
        self.message.setText(error_text(exc))
        self.message.show()

    def run_review(self) -> None:
        """Every member's tier from their 12-month spend now (on the operations thread); then how many moved."""
        self.message.hide()
        actor = self._state.actor

        def reviewed(moved: dict[str, int]) -> None:
            self.load()
            self.status.setText(self.tr("Tier review done: {up} members moved up, {down} moved down.").format(
                up=f"{moved['up']:,}", down=f"{moved['down']:,}"))

        self._state.operations.write(self._state.db, lambda session: loyalty.review_tiers(session, actor, datetime.now(timezone.utc)),
                                     reviewed, self._show_error, owner=self)

    def ask_review(self) -> None:
        question = self.tr("Give every member the tier their spend over the last 12 months earns now, up or down?")
        if QMessageBox.question(self, self.tr("Tier review"), question) == QMessageBox.StandardButton.Yes:
            self.run_review()

