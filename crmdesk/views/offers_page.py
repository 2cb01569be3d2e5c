"""Offers for owners and managers: the list with window, target, limits and use; an editor for
every kind; switching offers off and on; making coupon codes (shown, copyable, printable later).

The list and the editor show every condition the counter checks: who (tags or a saved group,
and the tiers, a legacy minimum tier included), the days, the weekdays of extra-points offers,
the minimum basket, the limits per member and in total, a coupon, and the points cost with what
those points are worth at the points rules' rate.

The page only displays and delegates: every rule is in crmdesk.services.offers, which also
refuses what the signed-in staff member may not do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crmdesk.errors import CrmdeskError, InvalidInput, NotFound
from crmdesk.models import MemberStatus
from crmdesk.models.offer import OfferKind, OfferTarget
from crmdesk.services import loyalty, member_query, offers
from crmdesk.services import search as search_service
from crmdesk.services.auth import Permission, can
from crmdesk.services.offers import OfferInfo, OfferInput, Reason
from crmdesk.texts import QT_TRANSLATE_NOOP
from crmdesk.views.common import error_text, format_fen, mark_data, mark_data_columns
from crmdesk.views.state import AppState

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

KINDS = (OfferKind.AMOUNT_OFF, OfferKind.PERCENT_OFF, OfferKind.GIFT, OfferKind.BIRTHDAY, OfferKind.BUY_X_GET_Y,
         OfferKind.POINTS_MULTIPLIER)
# Who, besides the tiers (a separate row of the editor): everyone, members with tags, a saved group.
AUDIENCES = (OfferTarget.EVERYONE, OfferTarget.TAGS, OfferTarget.GROUP)
WEEKDAY_NAMES = (
    QT_TRANSLATE_NOOP("offers", "Mon"), QT_TRANSLATE_NOOP("offers", "Tue"), QT_TRANSLATE_NOOP("offers", "Wed"),
    QT_TRANSLATE_NOOP("offers", "Thu"), QT_TRANSLATE_NOOP("offers", "Fri"), QT_TRANSLATE_NOOP("offers", "Sat"),
    QT_TRANSLATE_NOOP("offers", "Sun"),
)
# One word for "no limit" in the list, the editor and the counter.
NO_LIMIT = QT_TRANSLATE_NOOP("offers", "No limit")
# An empty cell.
EMPTY = "—"
# The editor never grows taller than this (a 1024×768 screen less its taskbar and title bar).
MAX_DIALOG_HEIGHT = 680


def _t(text: str) -> str:
    return QCoreApplication.translate("offers", text)


def kind_label(kind: OfferKind) -> str:
    return _t(offers.KIND_LABELS[kind])


def _yuan(fen: int) -> str:
    return member_query.format_yuan(fen)


def _pct(bp: int) -> str:
    text = member_query.format_yuan(bp)
    return text[:-3] if text.endswith(".00") else text.rstrip("0")


def offer_summary(info: OfferInfo) -> str:
    """What the offer gives and what it asks for (minimum basket, points, coupon), in the user's language."""
    kind = info.kind
    if kind is OfferKind.AMOUNT_OFF:
        if not info.threshold_fen:
            text = QCoreApplication.translate("offers", "¥{off} off").format(off=_yuan(info.reduction_fen))
        elif info.repeat_threshold:
            text = QCoreApplication.translate("offers", "¥{off} off for every ¥{spend}").format(
                off=_yuan(info.reduction_fen), spend=_yuan(info.threshold_fen))
        else:
            text = QCoreApplication.translate("offers", "Spend ¥{spend}, get ¥{off} off").format(
                off=_yuan(info.reduction_fen), spend=_yuan(info.threshold_fen))
    elif kind is OfferKind.PERCENT_OFF:
        text = QCoreApplication.translate("offers", "{percent} % off").format(percent=_pct(info.percent_bp))
    elif kind is OfferKind.GIFT:
        text = QCoreApplication.translate("offers", "Gift: {gift}").format(gift=info.gift or info.description)
    elif kind is OfferKind.BIRTHDAY:
        parts = []
        if info.gift:
            parts.append(QCoreApplication.translate("offers", "Gift: {gift}").format(gift=info.gift))
        if info.percent_bp:
            parts.append(QCoreApplication.translate("offers", "{percent} % off").format(percent=_pct(info.percent_bp)))
        text = clauses(parts)
    elif kind is OfferKind.BUY_X_GET_Y:
        text = QCoreApplication.translate("offers", "Buy {buy} get {get} free: {item}").format(
            buy=info.buy_qty, get=info.get_qty, item=info.item_code or info.item_category)
    else:
        days = listing(_t(WEEKDAY_NAMES[d]) for d in info.weekdays) or QCoreApplication.translate("offers", "every day")
        text = QCoreApplication.translate("offers", "{percent} % points on {days}").format(percent=info.multiplier_pct, days=days)
    extras = []
    if info.threshold_fen and kind is not OfferKind.AMOUNT_OFF:
        extras.append(QCoreApplication.translate("offers", "basket of at least ¥{amount}").format(amount=_yuan(info.threshold_fen)))
    if info.points_cost:
        extras.append(QCoreApplication.translate("offers", "costs {points} points").format(points=f"{info.points_cost:,}"))
    if info.coupon_required:
        extras.append(QCoreApplication.translate("offers", "coupon needed"))
    return clauses([text, *extras])


def clauses(parts: Iterable[str]) -> str:
    # Separators are translated too: Chinese uses full-width ；and 、
    return QCoreApplication.translate("offers", "; ").join(part for part in parts if part)


def listing(items: Iterable[str]) -> str:
    """Names in a row, with the user's language's list separator (、 in Chinese)."""
    return QCoreApplication.translate("offers", ", ").join(items)


def target_summary(info: OfferInfo) -> str:
    """Who may use the offer: tags or a saved group, and the tiers (a legacy minimum tier included)."""
    parts = []
    if info.target is OfferTarget.TAGS:
        parts.append(QCoreApplication.translate("offers", "Tags: {tags}").format(tags=listing(info.tags)))
    elif info.target is OfferTarget.GROUP:
        parts.append(QCoreApplication.translate("offers", "Group: {name}").format(name=info.group_name or EMPTY))
    if info.tier_ids or info.target is OfferTarget.TIERS:
        parts.append(QCoreApplication.translate("offers", "Tiers: {names}").format(names=listing(info.tier_names) or EMPTY))
    return clauses(parts) or _t(offers.TARGET_LABELS[OfferTarget.EVERYONE])


def window_text(info: OfferInfo) -> str:
    """The days the offer runs, both ends included."""
    start, end = info.starts_on, info.ends_on
    if start and end:
        return f"{start.isoformat()} – {end.isoformat()}"
    if start:
        return QCoreApplication.translate("offers", "from {date}").format(date=start.isoformat())
    if end:
        return QCoreApplication.translate("offers", "until {date}").format(date=end.isoformat())
    return QCoreApplication.translate("offers", "Always")


def limit_text(limit: int | None) -> str:
    return f"{limit:,}" if limit else _t(NO_LIMIT)


def limits_text(info: OfferInfo) -> str:
    """Uses per member / in total ("No limit" where there is none); none at all for extra-points days."""
    if info.kind is OfferKind.POINTS_MULTIPLIER:
        return EMPTY
    return f"{limit_text(info.per_member_limit)} / {limit_text(info.total_limit)}"


def translated_reason(reason: Reason | None, params: Mapping[str, Any]) -> str:
    """Why a member cannot use an offer, in the user's language (empty when they can): the reason's
    template translated in the "offers" context, lists joined with the translated separator, and a
    membership status in words."""
    if reason is None:
        return ""
    # A value that says which context it is translated in (a status or kind as a term) is shown translated.
    values = {key: QCoreApplication.translate(value.context, value) if isinstance(getattr(value, "context", None), str) else value
              for key, value in params.items()}
    if reason is Reason.MEMBER_NOT_ACTIVE:
        try:
            status = MemberStatus(values.get("status"))
            values["status"] = QCoreApplication.translate("terms", member_query.STATUS_LABELS[status])
        except ValueError:
            pass
    return offers.fill(_t(reason.value), values, QCoreApplication.translate("offers", ", "))


def points_worth_text(points: int, rules: loyalty.Rules) -> str:
    """What points are worth at the points rules' rate, with the rate, e.g. "worth ¥5.00 (100 points = ¥1)"."""
    return QCoreApplication.translate("offers", "worth {value} ({rate} points = ¥1)").format(
        value=format_fen(loyalty.points_value_fen(rules, points)), rate=f"{rules.redeem_points_per_yuan:,}")


def _parse_fen(text: str, field_name: str) -> int:
    return member_query.parse_yuan(text, field=field_name) or 0


def _parse_bp(text: str) -> int:
    cleaned = text.strip().rstrip("%").strip()
    if not cleaned:
        return 0
    try:
        value = Decimal(cleaned)
        ok = value.is_finite() and value == value.quantize(Decimal("0.01"))
    except InvalidOperation:
        ok = False
    if not ok:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{text}' is not a percentage (e.g. 5 or 12.5)."), field="percent", text=text)
    return int(value * 100)


def _parse_day(text: str, field_name: str) -> date | None:
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{date}' is not a date (YYYY-MM-DD)."), field=field_name, date=cleaned) from None


class OfferDialog(QDialog):
    """Define or change an offer: one aligned form (rows for the chosen kind only), in a scroll area so
    the dialog fits a 1024×768 screen. Every field is reachable with Tab; Enter saves, Esc cancels."""

    def __init__(self, state: AppState, info: OfferInfo | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._offer_id = info.id if info else None
        self.saved: OfferInfo | None = None
        self.rules = loyalty.Rules()
        self.tier_checks: list[QCheckBox] = []
        self._own_off_text = ""
        self.setWindowTitle(self.tr("Change offer") if info else self.tr("New offer"))
        layout = QVBoxLayout(self)
        self.form_widget = QWidget()
        self.form = QFormLayout(self.form_widget)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.form.setContentsMargins(0, 0, 0, 0)
        self._build_form()
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.form_widget)
        layout.addWidget(self.scroll, 1)

        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(self.tr("&Save"))
        self.save_button.setEnabled(False)  # until the tiers, groups and points rules are read (off the UI thread)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._kind_changed()
        self.name_edit.setFocus()

        def ready(choices: tuple[list[member_query.TierChoice], list[Any], loyalty.Rules]) -> None:
            self._show_choices(*choices)
            if info is not None:
                self._fill(info)
            self.kind_combo.currentIndexChanged.connect(self._kind_changed)
            self.points_cost_spin.valueChanged.connect(self._points_changed)
            self._kind_changed()
            self.save_button.setEnabled(True)

        state.operations.read(state.db, lambda session: (member_query.list_tiers(session), member_query.list_filters(session),
                                                         loyalty.get_rules(session)), ready, self._refuse, owner=self)

    # ------------------------------------------------------------------ building

    def _row(self, label: str, field: QWidget | QHBoxLayout | QGridLayout) -> QLabel:
        """A form row whose label is kept (to change its text or hide the row); the label is the field's buddy."""
        caption = QLabel(label)
        if isinstance(field, QWidget):
            caption.setBuddy(field)
        self.form.addRow(caption, field)
        return caption

    def _build_form(self) -> None:
        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(offers.MAX_NAME)
        self._row(self.tr("&Name:"), self.name_edit)
        self.kind_combo = QComboBox()
        for kind in KINDS:
            self.kind_combo.addItem(kind_label(kind), kind)
        self._row(self.tr("&Kind:"), self.kind_combo)
        self.description_edit = QLineEdit()
        self._row(self.tr("&Description:"), self.description_edit)

        # What the offer gives: the rows of the chosen kind show, the others hide (_kind_changed).
        self.threshold_edit = QLineEdit()
        self.threshold_edit.setPlaceholderText(self.tr("e.g. 100"))
        self.threshold_label = self._row(self.tr("Spend at least (¥):"), self.threshold_edit)
        self.off_edit = QLineEdit()
        self.off_edit.setPlaceholderText(self.tr("e.g. 10"))
        self.off_label = self._row(self.tr("Amount off (¥):"), self.off_edit)
        self.each_check = QCheckBox(self.tr("For &every full amount (每满减), not once"))
        self.form.addRow("", self.each_check)
        self.percent_edit = QLineEdit()
        self.percent_edit.setPlaceholderText(self.tr("e.g. 5 for 5 % off"))
        self.percent_label = self._row(self.tr("Discount (%):"), self.percent_edit)
        self.gift_edit = QLineEdit()
        self.gift_label = self._row(self.tr("Gift:"), self.gift_edit)
        self.buy_spin, self.get_spin = QSpinBox(), QSpinBox()
        self.buy_spin.setRange(1, 100)
        self.get_spin.setRange(1, 100)
        self._row(self.tr("Buy:"), self.buy_spin)
        self._row(self.tr("Get free:"), self.get_spin)
        self.item_code_edit, self.category_edit = QLineEdit(), QLineEdit()
        self._row(self.tr("Item code:"), self.item_code_edit)
        self._row(self.tr("or category:"), self.category_edit)
        self.multiplier_spin = QSpinBox()
        self.multiplier_spin.setRange(101, 1000)
        self.multiplier_spin.setValue(200)
        self.multiplier_spin.setSuffix(" %")
        self._row(self.tr("Points multiplier:"), self.multiplier_spin)
        days = QHBoxLayout()
        self.weekday_checks = []
        for name in WEEKDAY_NAMES:
            check = QCheckBox(_t(name))
            self.weekday_checks.append(check)
            days.addWidget(check)
        days.addStretch(1)
        self.weekdays_row = days
        self._row(self.tr("On (none: every day):"), days)

        # When and for whom: every kind.
        self.from_edit = QLineEdit()
        self.from_edit.setPlaceholderText(self.tr("YYYY-MM-DD, empty: from now"))
        self.to_edit = QLineEdit()
        self.to_edit.setPlaceholderText(self.tr("YYYY-MM-DD, empty: no end"))
        self._row(self.tr("&From:"), self.from_edit)
        self._row(self.tr("&Until:"), self.to_edit)
        self.target_combo = QComboBox()
        for target in AUDIENCES:
            self.target_combo.addItem(_t(offers.TARGET_LABELS[target]), target)
        self.target_pages = QStackedWidget()
        self.target_pages.addWidget(QWidget())
        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText(self.tr("Tags separated by commas"))
        self.target_pages.addWidget(self.tags_edit)
        self.group_combo = QComboBox()
        mark_data(self.group_combo)
        self.target_pages.addWidget(self.group_combo)
        self.target_combo.currentIndexChanged.connect(self.target_pages.setCurrentIndex)
        audience = QHBoxLayout()
        audience.addWidget(self.target_combo)
        audience.addWidget(self.target_pages, 1)
        self._row(self.tr("&For:"), audience).setBuddy(self.target_combo)
        self.tiers_grid = QGridLayout()
        self.tiers_grid.setHorizontalSpacing(16)
        self.tiers_label = self._row(self.tr("Only these &tiers:"), self.tiers_grid)

        # Limits, points and coupon: every kind but extra-points days, which apply by themselves.
        self.per_member_spin = QSpinBox()
        self.per_member_spin.setRange(0, offers.MAX_LIMIT)
        self.per_member_spin.setSpecialValueText(_t(NO_LIMIT))
        self.total_spin = QSpinBox()
        self.total_spin.setRange(0, offers.MAX_LIMIT)
        self.total_spin.setSpecialValueText(_t(NO_LIMIT))
        self.per_member_label = self._row(self.tr("Uses per &member:"), self.per_member_spin)
        self.total_label = self._row(self.tr("Uses in &total:"), self.total_spin)
        self.points_cost_spin = QSpinBox()
        self.points_cost_spin.setRange(0, 1_000_000)
        self.points_cost_spin.setSingleStep(100)
        self.points_cost_spin.setSpecialValueText(self.tr("None"))
        self.points_worth_label = QLabel()
        self.points_worth_label.setObjectName("hintLabel")
        points = QHBoxLayout()
        points.addWidget(self.points_cost_spin)
        points.addWidget(self.points_worth_label, 1)
        self.points_row = points
        self.points_label = self._row(self.tr("&Points cost:"), points)
        self.points_label.setBuddy(self.points_cost_spin)
        self.coupon_check = QCheckBox(self.tr("Needs a single-use &coupon code"))
        self.form.addRow("", self.coupon_check)
        # Numbers need no full-width boxes.
        for spin in (self.buy_spin, self.get_spin, self.multiplier_spin, self.per_member_spin, self.total_spin,
                     self.points_cost_spin):
            spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            spin.setMinimumWidth(max(spin.sizeHint().width(), 120))

    def _show_choices(self, tiers: list[member_query.TierChoice], groups: list[Any], rules: loyalty.Rules) -> None:
        self.rules = rules
        columns = 4
        for index, tier in enumerate(tiers):
            check = QCheckBox(tier.name)
            check.setProperty("tierId", tier.id)
            mark_data(check)
            self.tier_checks.append(check)
            self.tiers_grid.addWidget(check, index // columns, index % columns)
        hint = QLabel(self.tr("None ticked: every tier."))
        hint.setObjectName("hintLabel")
        self.tiers_grid.addWidget(hint, (len(tiers) + columns - 1) // columns, 0, 1, columns)
        self.tiers_grid.setColumnStretch(columns, 1)
        if self.tier_checks:
            self.tiers_label.setBuddy(self.tier_checks[0])
        for group in groups:
            self.group_combo.addItem(group.name, group.id)

    def _fill(self, info: OfferInfo) -> None:
        self.name_edit.setText(info.name)
        self.description_edit.setText(info.description)
        self.kind_combo.setCurrentIndex(KINDS.index(info.kind))
        self.from_edit.setText(info.starts_on.isoformat() if info.starts_on else "")
        self.to_edit.setText(info.ends_on.isoformat() if info.ends_on else "")
        audience = info.target if info.target in AUDIENCES else OfferTarget.EVERYONE
        self.target_combo.setCurrentIndex(AUDIENCES.index(audience))
        self.target_pages.setCurrentIndex(AUDIENCES.index(audience))
        # The tiers as the counter checks them: a legacy minimum tier shows as the tiers it lets in.
        for check in self.tier_checks:
            check.setChecked(check.property("tierId") in info.tier_ids)
        self.tags_edit.setText(listing(info.tags))
        if info.group_id is not None:
            self.group_combo.setCurrentIndex(max(0, self.group_combo.findData(info.group_id)))
        self.per_member_spin.setValue(info.per_member_limit or 0)
        self.total_spin.setValue(info.total_limit or 0)
        self.points_cost_spin.setValue(info.points_cost)
        self.coupon_check.setChecked(info.coupon_required)
        self.threshold_edit.setText(_yuan(info.threshold_fen) if info.threshold_fen else "")
        self._own_off_text = _yuan(info.reduction_fen) if info.reduction_fen and not info.paid_with_points else ""
        self.off_edit.setText(self._own_off_text)
        self.each_check.setChecked(info.repeat_threshold)
        self.percent_edit.setText(_pct(info.percent_bp) if info.percent_bp else "")
        self.gift_edit.setText(info.gift)
        if info.kind is OfferKind.BUY_X_GET_Y:
            self.buy_spin.setValue(info.buy_qty)
            self.get_spin.setValue(info.get_qty)
        self.item_code_edit.setText(info.item_code)
        self.category_edit.setText(info.item_category)
        if info.multiplier_pct:
            self.multiplier_spin.setValue(info.multiplier_pct)
        for day, check in enumerate(self.weekday_checks):
            check.setChecked(day in info.weekdays)

    # ------------------------------------------------------------------ reacting

    def _show(self, field: QWidget | QHBoxLayout | QGridLayout, visible: bool) -> None:
        self.form.setRowVisible(field, visible)

    def _kind_changed(self) -> None:
        kind: OfferKind = self.kind_combo.currentData()
        multiplier = kind is OfferKind.POINTS_MULTIPLIER
        self._show(self.threshold_edit, not multiplier)
        self.threshold_label.setText(self.tr("Spend at least (¥):") if kind is OfferKind.AMOUNT_OFF
                                     else self.tr("Minimum basket (¥):"))
        self.threshold_edit.setPlaceholderText(self.tr("e.g. 100") if kind is OfferKind.AMOUNT_OFF else "")
        for field in (self.off_edit, self.each_check):
            self._show(field, kind is OfferKind.AMOUNT_OFF)
        self._show(self.percent_edit, kind in (OfferKind.PERCENT_OFF, OfferKind.BIRTHDAY))
        self.percent_label.setText(self.tr("Discount % (optional):") if kind is OfferKind.BIRTHDAY else self.tr("Discount (%):"))
        self._show(self.gift_edit, kind in (OfferKind.GIFT, OfferKind.BIRTHDAY))
        self.gift_label.setText(self.tr("Gift (optional):") if kind is OfferKind.BIRTHDAY else self.tr("Gift:"))
        for field in (self.buy_spin, self.get_spin, self.item_code_edit, self.category_edit):
            self._show(field, kind is OfferKind.BUY_X_GET_Y)
        self._show(self.multiplier_spin, multiplier)
        self._show(self.weekdays_row, multiplier)
        for field in (self.per_member_spin, self.total_spin, self.coupon_check):
            self._show(field, not multiplier)
        self._show(self.points_row, not multiplier)
        self._points_changed()
        self._fit()

    def _points_changed(self) -> None:
        """Money off for points follows the points rules: the amount off shows what the points are worth."""
        points = self.points_cost_spin.value()
        self.points_worth_label.setText(points_worth_text(points, self.rules) if points else "")
        paid_with_points = points > 0 and self.kind_combo.currentData() is OfferKind.AMOUNT_OFF
        if paid_with_points and not self.off_edit.isReadOnly():
            self._own_off_text = self.off_edit.text()
        elif not paid_with_points and self.off_edit.isReadOnly():
            self.off_edit.setText(self._own_off_text)
        self.off_edit.setReadOnly(paid_with_points)
        self.off_edit.setEnabled(not paid_with_points)
        self.off_edit.setToolTip(self.tr("Set by the points cost at the points rules' rate.") if paid_with_points else "")
        if paid_with_points:
            self.off_edit.setText(_yuan(loyalty.points_value_fen(self.rules, points)))
            self.each_check.setChecked(False)
        self.each_check.setEnabled(not paid_with_points)

    def _fit(self) -> None:
        """As tall as the form needs, never taller than MAX_DIALOG_HEIGHT: the form scrolls beyond that."""
        self.form_widget.adjustSize()
        wanted = self.form_widget.sizeHint()
        around = self.layout().sizeHint().height() - self.scroll.sizeHint().height()
        # Room for a two-line error message below the form without outgrowing the limit.
        room = max(200, MAX_DIALOG_HEIGHT - around - (0 if self.error_label.isVisible() else 3 * self.fontMetrics().height()))
        self.scroll.setMinimumHeight(min(wanted.height(), room))
        self.scroll.setMinimumWidth(wanted.width() + self.scroll.verticalScrollBar().sizeHint().width())
        self.setMaximumHeight(MAX_DIALOG_HEIGHT)
        self.resize(self.width(), min(self.sizeHint().height(), MAX_DIALOG_HEIGHT))

    # ------------------------------------------------------------------ saving

    def offer_input(self) -> OfferInput:
        """The form as an OfferInput (InvalidInput for a value that cannot be read)."""
        kind: OfferKind = self.kind_combo.currentData()
        target: OfferTarget = self.target_combo.currentData()
        values: dict[str, object] = {}
        threshold = {"threshold_fen": _parse_fen(self.threshold_edit.text(), "threshold_fen")}
        points_cost = self.points_cost_spin.value()
        if kind is OfferKind.AMOUNT_OFF:
            # Paid with points: no amount of its own (the service works it out from the points rules).
            reduction = 0 if points_cost else _parse_fen(self.off_edit.text(), "reduction_fen")
            values = {**threshold, "reduction_fen": reduction, "repeat_threshold": self.each_check.isChecked()}
        elif kind is OfferKind.PERCENT_OFF:
            values = {**threshold, "percent_bp": _parse_bp(self.percent_edit.text())}
        elif kind is OfferKind.GIFT:
            values = {**threshold, "gift": self.gift_edit.text()}
        elif kind is OfferKind.BIRTHDAY:
            values = {**threshold, "gift": self.gift_edit.text(), "percent_bp": _parse_bp(self.percent_edit.text())}
        elif kind is OfferKind.BUY_X_GET_Y:
            values = {**threshold, "buy_qty": self.buy_spin.value(), "get_qty": self.get_spin.value(),
                      "item_code": self.item_code_edit.text(), "item_category": self.category_edit.text()}
        else:
            values = {"multiplier_pct": self.multiplier_spin.value(),
                      "weekdays": tuple(day for day, check in enumerate(self.weekday_checks) if check.isChecked())}
            points_cost = 0
        tier_ids = tuple(check.property("tierId") for check in self.tier_checks if check.isChecked())
        tags = tuple(self.tags_edit.text().replace("，", ",").replace("、", ",").split(","))
        multiplier = kind is OfferKind.POINTS_MULTIPLIER
        return OfferInput(
            name=self.name_edit.text(), kind=kind, description=self.description_edit.text(),
            starts_on=_parse_day(self.from_edit.text(), "starts_on"), ends_on=_parse_day(self.to_edit.text(), "ends_on"),
            target=target, tier_ids=tier_ids, tags=tags if target is OfferTarget.TAGS else (),
            group_id=self.group_combo.currentData() if target is OfferTarget.GROUP else None,
            per_member_limit=None if multiplier else self.per_member_spin.value() or None,
            total_limit=None if multiplier else self.total_spin.value() or None,
            coupon_required=not multiplier and self.coupon_check.isChecked(), points_cost=points_cost,
            **values,  # type: ignore[arg-type]
        )

    def save(self) -> None:
        """Create or change the offer on the operations thread; the dialog closes on it, or shows the refusal."""
        try:
            data = self.offer_input()
        except CrmdeskError as exc:
            self._refuse(exc)
            return
        actor, offer_id = self._state.actor, self._offer_id

        def write(session: Session) -> OfferInfo:
            if offer_id is None:
                return offers.create_offer(session, actor, data)
            return offers.update_offer(session, actor, offer_id, data)

        def saved(info: OfferInfo) -> None:
            self.saved = info
            self.accept()

        self._state.operations.write(self._state.db, write, saved, self._refuse, owner=self)

    def _refuse(self, exc: CrmdeskError) -> None:
        self.error_label.setText(error_text(exc))
        self.error_label.show()


class CouponsDialog(QDialog):
    """Make a batch of coupon codes for one offer, optionally for one member; the codes stay shown to copy."""

    def __init__(self, state: AppState, info: OfferInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._offer_id = info.id
        self.codes: list[str] = []
        self.setWindowTitle(self.tr("Coupons"))
        layout = QVBoxLayout(self)
        heading = QLabel(info.name)
        mark_data(heading)
        layout.addWidget(heading)
        form = QFormLayout()
        self.count_spin = QSpinBox()
        self.count_spin.setRange(1, offers.MAX_COUPONS_PER_BATCH)
        self.count_spin.setValue(10)
        self.member_edit = QLineEdit()
        self.member_edit.setPlaceholderText(self.tr("Card, member number or phone; empty: anyone"))
        self.batch_edit = QLineEdit()
        form.addRow(self.tr("&Number of coupons:"), self.count_spin)
        form.addRow(self.tr("For &member:"), self.member_edit)
        form.addRow(self.tr("&Batch label:"), self.batch_edit)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.generate_button = QPushButton(self.tr("&Generate"))
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.generate)
        self.copy_button = QPushButton(self.tr("&Copy codes"))
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_codes)
        close = QPushButton(self.tr("Close"))
        close.clicked.connect(self.accept)
        row.addWidget(self.generate_button)
        row.addWidget(self.copy_button)
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        self.codes_view = QPlainTextEdit()
        self.codes_view.setReadOnly(True)
        mark_data(self.codes_view)
        layout.addWidget(self.codes_view)

    @staticmethod
    def _member_id(session: Session, key: str) -> int | None:
        if not key:
            return None
        found = search_service.lookup(session, key)
        if found.member is None:
            raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with the card, member number or phone {key}."), key=key)
        return found.member.id

    def generate(self) -> None:
        """Make the codes (the member found and the codes written in one transaction, on the operations thread)."""
        actor, offer_id, count, batch = self._state.actor, self._offer_id, self.count_spin.value(), self.batch_edit.text()
        key = self.member_edit.text().strip()
        self._state.operations.write(
            self._state.db, lambda session: offers.generate_coupons(session, actor, offer_id, count, self._member_id(session, key),
                                                                    batch=batch),
            self._show_codes, lambda exc: self.error_label.setText(error_text(exc)), owner=self)

    def _show_codes(self, codes: list[str]) -> None:
        self.error_label.clear()
        self.codes = [offers.display_code(code) for code in codes]
        self.codes_view.setPlainText("\n".join(self.codes))
        self.copy_button.setEnabled(True)
        self.copy_button.setFocus()

    def copy_codes(self) -> None:
        QGuiApplication.clipboard().setText("\n".join(self.codes))


class OffersPage(QWidget):
    COLUMNS = (
        QT_TRANSLATE_NOOP("offers", "Offer"), QT_TRANSLATE_NOOP("offers", "Kind"), QT_TRANSLATE_NOOP("offers", "What"),
        QT_TRANSLATE_NOOP("offers", "Valid"), QT_TRANSLATE_NOOP("offers", "For"), QT_TRANSLATE_NOOP("offers", "Limits"),
        QT_TRANSLATE_NOOP("offers", "Used"), QT_TRANSLATE_NOOP("offers", "Coupons"), QT_TRANSLATE_NOOP("offers", "Status"),
    )

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        self.offers: list[OfferInfo] = []
        layout = QVBoxLayout(self)
        buttons = QHBoxLayout()
        self.new_button = QPushButton(self.tr("&New offer (Ctrl+N)"))
        self.new_button.setShortcut(QKeySequence.StandardKey.New)
        self.new_button.clicked.connect(self.new_offer)
        self.edit_button = QPushButton(self.tr("&Change…"))
        self.edit_button.clicked.connect(self.edit_offer)
        self.toggle_button = QPushButton(self.tr("Switch &off"))
        self.toggle_button.clicked.connect(self.toggle_active)
        self.coupons_button = QPushButton(self.tr("Make c&oupons…"))
        self.coupons_button.clicked.connect(self.make_coupons)
        self.refresh_button = QPushButton(self.tr("&Refresh (F5)"))
        self.refresh_button.setShortcut(QKeySequence("F5"))
        self.refresh_button.clicked.connect(self.refresh)
        for button in (self.new_button, self.edit_button, self.toggle_button, self.coupons_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        layout.addLayout(buttons)
        self.status_label = QLabel()
        self.status_label.setObjectName("errorLabel")
        self.status_label.setWordWrap(True)
        self.status_label.hide()  # shown with a message only: no empty gap above the list
        layout.addWidget(self.status_label)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels([_t(c) for c in self.COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.itemDoubleClicked.connect(lambda _item: self.edit_offer())
        self.table.itemSelectionChanged.connect(self._update_buttons)
        # Names, dates and counts are data; kinds, what it gives, who, limits and status are interface text.
        mark_data_columns(self.table, 0, 3, 6, 7)
        layout.addWidget(self.table)
        state.signals.changed.connect(self.refresh)
        self.refresh()

    def refresh(self, then: Callable[[], None] | None = None) -> None:
        """The offers as they are now, read off the UI thread; ``then`` once they are on show."""
        self._state.operations.read(self._state.db, offers.list_offers, lambda rows: self._show_offers(rows, then),
                                    key=f"offers-{id(self)}", owner=self)

    def _show_offers(self, rows: list[offers.OfferInfo], then: Callable[[], None] | None = None) -> None:
        self.offers = rows
        self.table.setRowCount(len(self.offers))
        for row, info in enumerate(self.offers):
            coupons = f"{info.coupons_used:,} / {info.coupons_issued:,}" if info.coupon_required else EMPTY
            status = self.tr("Active") if info.active else self.tr("Off")
            cells = (info.name, kind_label(info.kind), offer_summary(info), window_text(info), target_summary(info),
                     limits_text(info), f"{info.used:,}", coupons, status)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text or EMPTY)
                item.setData(Qt.ItemDataRole.UserRole, info.id)
                if column in (0, 2):
                    item.setToolTip(info.description or offer_summary(info))
                if column in (5, 6, 7):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if not info.active:
                    item.setForeground(QColor("#8c8c8c"))
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self._update_buttons()
        if then is not None:
            then()

    def selected(self) -> OfferInfo | None:
        row = self.table.currentRow()
        return self.offers[row] if 0 <= row < len(self.offers) and self.table.selectedItems() else None

    def select_offer(self, offer_id: int) -> None:
        for row, info in enumerate(self.offers):
            if info.id == offer_id:
                self.table.selectRow(row)

    def _update_buttons(self) -> None:
        allowed = can(self._state.actor, Permission.MANAGE_OFFERS)
        info = self.selected()
        self.new_button.setEnabled(allowed)
        self.edit_button.setEnabled(allowed and info is not None)
        self.toggle_button.setEnabled(allowed and info is not None)
        self.toggle_button.setText(self.tr("Switch &on") if info is not None and not info.active else self.tr("Switch &off"))
        self.coupons_button.setEnabled(allowed and info is not None and info.coupon_required)

    def _edit(self, info: OfferInfo | None) -> None:
        dialog = self.editor(info)
        if dialog.exec() and dialog.saved is not None:
            saved_id = dialog.saved.id
            self.refresh(lambda: self.select_offer(saved_id))

    def editor(self, info: OfferInfo | None = None) -> OfferDialog:
        return OfferDialog(self._state, info, self)

    def new_offer(self) -> None:
        self._edit(None)

    def edit_offer(self) -> None:
        info = self.selected()
        if info is not None:
            self._edit(info)

    def toggle_active(self) -> None:
        info = self.selected()
        if info is None:
            return
        actor = self._state.actor

        def switched(_info: object) -> None:
            self.status_label.clear()
            self.status_label.hide()
            self.refresh(lambda: self.select_offer(info.id))

        def refused(exc: CrmdeskError) -> None:
            self.status_label.setText(error_text(exc))
            self.status_label.show()

        self._state.operations.write(self._state.db, lambda session: offers.set_active(session, actor, info.id, not info.active),
                                     switched, refused, owner=self)

    def coupons_dialog(self, info: OfferInfo) -> CouponsDialog:
        return CouponsDialog(self._state, info, self)

    def make_coupons(self) -> None:
        info = self.selected()
        if info is None:
            return
        self.coupons_dialog(info).exec()
        self.refresh(lambda: self.select_offer(info.id))
