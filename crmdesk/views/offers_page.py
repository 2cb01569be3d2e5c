"""Offers for owners and managers: the list with window, target, limits and use; an editor for
every kind; switching offers off and on; making coupon codes (shown, copyable, printable later).

The page only displays and delegates: every rule is in crmdesk.services.offers, which also
refuses what the signed-in staff member may not do.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crmdesk.errors import CrmdeskError, InvalidInput, NotFound
from crmdesk.models.offer import OfferKind, OfferTarget
from crmdesk.services import member_query, offers
from crmdesk.services import search as search_service
from crmdesk.services.auth import Permission, can
from crmdesk.services.offers import OfferInfo, OfferInput
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP
from crmdesk.views.common import error_text, mark_data
from crmdesk.views.state import AppState

KINDS = (OfferKind.AMOUNT_OFF, OfferKind.PERCENT_OFF, OfferKind.GIFT, OfferKind.BIRTHDAY, OfferKind.BUY_X_GET_Y,
         OfferKind.POINTS_MULTIPLIER)
TARGETS = (OfferTarget.EVERYONE, OfferTarget.TIERS, OfferTarget.TAGS, OfferTarget.GROUP)
WEEKDAY_NAMES = (
    QT_TRANSLATE_NOOP("offers", "Mon"), QT_TRANSLATE_NOOP("offers", "Tue"), QT_TRANSLATE_NOOP("offers", "Wed"),
    QT_TRANSLATE_NOOP("offers", "Thu"), QT_TRANSLATE_NOOP("offers", "Fri"), QT_TRANSLATE_NOOP("offers", "Sat"),
    QT_TRANSLATE_NOOP("offers", "Sun"),
)


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
    """What the offer gives, in the user's language."""
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
        text = _clauses(parts)
    elif kind is OfferKind.BUY_X_GET_Y:
        text = QCoreApplication.translate("offers", "Buy {buy} get {get} free: {item}").format(
            buy=info.buy_qty, get=info.get_qty, item=info.item_code or info.item_category)
    else:
        days = _listing(_t(WEEKDAY_NAMES[d]) for d in info.weekdays) or QCoreApplication.translate("offers", "every day")
        text = QCoreApplication.translate("offers", "{percent} % points on {days}").format(percent=info.multiplier_pct, days=days)
    extras = []
    if info.points_cost:
        extras.append(QCoreApplication.translate("offers", "costs {points} points").format(points=info.points_cost))
    if info.coupon_required:
        extras.append(QCoreApplication.translate("offers", "coupon needed"))
    return _clauses([text, *extras])


def _clauses(parts: list[str]) -> str:
    # Separators are translated too: Chinese uses full-width ；and 、
    return QCoreApplication.translate("offers", "; ").join(part for part in parts if part)


def _listing(items) -> str:  # type: ignore[no-untyped-def]
    return QCoreApplication.translate("offers", ", ").join(items)


def target_summary(info: OfferInfo) -> str:
    if info.target is OfferTarget.TIERS:
        return QCoreApplication.translate("offers", "Tiers: {names}").format(names=_listing(info.tier_names))
    if info.target is OfferTarget.TAGS:
        return QCoreApplication.translate("offers", "Tags: {tags}").format(tags=_listing(info.tags))
    if info.target is OfferTarget.GROUP:
        return QCoreApplication.translate("offers", "Group: {name}").format(name=info.group_name or "-")
    return _t(offers.TARGET_LABELS[OfferTarget.EVERYONE])


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
    """Define or change an offer. Every field is reachable with Tab; Enter saves, Esc cancels."""

    def __init__(self, state: AppState, info: OfferInfo | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._offer_id = info.id if info else None
        self.saved: OfferInfo | None = None
        self.setWindowTitle(self.tr("Change offer") if info else self.tr("New offer"))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(offers.MAX_NAME)
        form.addRow(self.tr("&Name:"), self.name_edit)
        self.kind_combo = QComboBox()
        for kind in KINDS:
            self.kind_combo.addItem(kind_label(kind), kind)
        form.addRow(self.tr("&Kind:"), self.kind_combo)
        self.description_edit = QLineEdit()
        form.addRow(self.tr("&Description:"), self.description_edit)
        layout.addLayout(form)

        self.kind_pages = QStackedWidget()
        self._build_kind_pages()
        layout.addWidget(self.kind_pages)
        self.kind_combo.currentIndexChanged.connect(self.kind_pages.setCurrentIndex)

        rules = QFormLayout()
        self.from_edit = QLineEdit()
        self.from_edit.setPlaceholderText(self.tr("YYYY-MM-DD, empty: from now"))
        self.to_edit = QLineEdit()
        self.to_edit.setPlaceholderText(self.tr("YYYY-MM-DD, empty: no end"))
        rules.addRow(self.tr("&From:"), self.from_edit)
        rules.addRow(self.tr("&Until:"), self.to_edit)
        self.target_combo = QComboBox()
        for target in TARGETS:
            self.target_combo.addItem(_t(offers.TARGET_LABELS[target]), target)
        rules.addRow(self.tr("&For:"), self.target_combo)
        self.target_pages = QStackedWidget()
        self.target_pages.addWidget(QWidget())
        self.tier_list = QListWidget()
        self.tier_list.setMaximumHeight(90)
        mark_data(self.tier_list)
        self.target_pages.addWidget(self.tier_list)
        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText(self.tr("Tags separated by commas"))
        self.target_pages.addWidget(self.tags_edit)
        self.group_combo = QComboBox()
        self.target_pages.addWidget(self.group_combo)
        self.target_combo.currentIndexChanged.connect(self.target_pages.setCurrentIndex)
        rules.addRow("", self.target_pages)
        self.per_member_spin = QSpinBox()
        self.per_member_spin.setRange(0, offers.MAX_LIMIT)
        self.per_member_spin.setSpecialValueText(self.tr("No limit"))
        self.total_spin = QSpinBox()
        self.total_spin.setRange(0, offers.MAX_LIMIT)
        self.total_spin.setSpecialValueText(self.tr("No limit"))
        rules.addRow(self.tr("Uses per &member:"), self.per_member_spin)
        rules.addRow(self.tr("Uses in &total:"), self.total_spin)
        self.points_cost_spin = QSpinBox()
        self.points_cost_spin.setRange(0, 1_000_000)
        rules.addRow(self.tr("&Points cost:"), self.points_cost_spin)
        self.coupon_check = QCheckBox(self.tr("Needs a single-use &coupon code"))
        rules.addRow("", self.coupon_check)
        layout.addLayout(rules)

        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText(self.tr("&Save"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._load_choices()
        if info is not None:
            self._fill(info)
        self.name_edit.setFocus()

    def _build_kind_pages(self) -> None:
        # Spend and save
        page, form = QWidget(), QFormLayout()
        page.setLayout(form)
        self.threshold_edit, self.off_edit = QLineEdit(), QLineEdit()
        self.threshold_edit.setPlaceholderText(self.tr("e.g. 100"))
        self.off_edit.setPlaceholderText(self.tr("e.g. 10"))
        self.each_check = QCheckBox(self.tr("For &every full amount (每满减), not once"))
        form.addRow(self.tr("Spend at least (¥):"), self.threshold_edit)
        form.addRow(self.tr("Amount off (¥):"), self.off_edit)
        form.addRow("", self.each_check)
        self.kind_pages.addWidget(page)
        # Percentage
        page, form = QWidget(), QFormLayout()
        page.setLayout(form)
        self.percent_edit, self.percent_min_edit = QLineEdit(), QLineEdit()
        self.percent_edit.setPlaceholderText(self.tr("e.g. 5 for 5 % off"))
        form.addRow(self.tr("Discount (%):"), self.percent_edit)
        form.addRow(self.tr("Minimum basket (¥):"), self.percent_min_edit)
        self.kind_pages.addWidget(page)
        # Gift
        page, form = QWidget(), QFormLayout()
        page.setLayout(form)
        self.gift_edit, self.gift_min_edit = QLineEdit(), QLineEdit()
        form.addRow(self.tr("Gift:"), self.gift_edit)
        form.addRow(self.tr("Minimum basket (¥):"), self.gift_min_edit)
        self.kind_pages.addWidget(page)
        # Birthday
        page, form = QWidget(), QFormLayout()
        page.setLayout(form)
        self.birthday_gift_edit, self.birthday_percent_edit = QLineEdit(), QLineEdit()
        form.addRow(self.tr("Gift (optional):"), self.birthday_gift_edit)
        form.addRow(self.tr("Discount % (optional):"), self.birthday_percent_edit)
        self.kind_pages.addWidget(page)
        # Buy X get Y
        page, form = QWidget(), QFormLayout()
        page.setLayout(form)
        self.buy_spin, self.get_spin = QSpinBox(), QSpinBox()
        self.buy_spin.setRange(1, 100)
        self.get_spin.setRange(1, 100)
        self.item_code_edit, self.category_edit = QLineEdit(), QLineEdit()
        form.addRow(self.tr("Buy:"), self.buy_spin)
        form.addRow(self.tr("Get free:"), self.get_spin)
        form.addRow(self.tr("Item code:"), self.item_code_edit)
        form.addRow(self.tr("or category:"), self.category_edit)
        self.kind_pages.addWidget(page)
        # Points multiplier
        page, form = QWidget(), QFormLayout()
        page.setLayout(form)
        self.multiplier_spin = QSpinBox()
        self.multiplier_spin.setRange(101, 1000)
        self.multiplier_spin.setValue(200)
        self.multiplier_spin.setSuffix(" %")
        days = QHBoxLayout()
        self.weekday_checks = []
        for name in WEEKDAY_NAMES:
            check = QCheckBox(_t(name))
            self.weekday_checks.append(check)
            days.addWidget(check)
        form.addRow(self.tr("Points multiplier:"), self.multiplier_spin)
        form.addRow(self.tr("On (none: every day):"), days)
        self.kind_pages.addWidget(page)

    def _load_choices(self) -> None:
        with read_session(self._state.db) as session:
            tiers = member_query.list_tiers(session)
            groups = member_query.list_filters(session)
        for tier in tiers:
            item = QListWidgetItem(tier.name)
            item.setData(Qt.ItemDataRole.UserRole, tier.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.tier_list.addItem(item)
        for group in groups:
            self.group_combo.addItem(group.name, group.id)

    def _fill(self, info: OfferInfo) -> None:
        self.name_edit.setText(info.name)
        self.description_edit.setText(info.description)
        self.kind_combo.setCurrentIndex(KINDS.index(info.kind))
        self.from_edit.setText(info.starts_on.isoformat() if info.starts_on else "")
        self.to_edit.setText(info.ends_on.isoformat() if info.ends_on else "")
        self.target_combo.setCurrentIndex(TARGETS.index(info.target))
        for row in range(self.tier_list.count()):
            item = self.tier_list.item(row)
            checked = item.data(Qt.ItemDataRole.UserRole) in info.tier_ids
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.tags_edit.setText(", ".join(info.tags))
        if info.group_id is not None:
            self.group_combo.setCurrentIndex(max(0, self.group_combo.findData(info.group_id)))
        self.per_member_spin.setValue(info.per_member_limit or 0)
        self.total_spin.setValue(info.total_limit or 0)
        self.points_cost_spin.setValue(info.points_cost)
        self.coupon_check.setChecked(info.coupon_required)
        minimum = _yuan(info.threshold_fen) if info.threshold_fen else ""
        self.threshold_edit.setText(minimum)
        self.percent_min_edit.setText(minimum)
        self.gift_min_edit.setText(minimum)
        self.off_edit.setText(_yuan(info.reduction_fen) if info.reduction_fen else "")
        self.each_check.setChecked(info.repeat_threshold)
        self.percent_edit.setText(_pct(info.percent_bp) if info.percent_bp else "")
        self.birthday_percent_edit.setText(_pct(info.percent_bp) if info.percent_bp else "")
        self.gift_edit.setText(info.gift)
        self.birthday_gift_edit.setText(info.gift)
        if info.kind is OfferKind.BUY_X_GET_Y:
            self.buy_spin.setValue(info.buy_qty)
            self.get_spin.setValue(info.get_qty)
        self.item_code_edit.setText(info.item_code)
        self.category_edit.setText(info.item_category)
        if info.multiplier_pct:
            self.multiplier_spin.setValue(info.multiplier_pct)
        for day, check in enumerate(self.weekday_checks):
            check.setChecked(day in info.weekdays)

    def offer_input(self) -> OfferInput:
        """The form as an OfferInput (InvalidInput for a value that cannot be read)."""
        kind: OfferKind = self.kind_combo.currentData()
        target: OfferTarget = self.target_combo.currentData()
        values: dict[str, object] = {}
        if kind is OfferKind.AMOUNT_OFF:
            values = {"threshold_fen": _parse_fen(self.threshold_edit.text(), "threshold_fen"),
                      "reduction_fen": _parse_fen(self.off_edit.text(), "reduction_fen"), "repeat_threshold": self.each_check.isChecked()}
        elif kind is OfferKind.PERCENT_OFF:
            values = {"percent_bp": _parse_bp(self.percent_edit.text()),
                      "threshold_fen": _parse_fen(self.percent_min_edit.text(), "threshold_fen")}
        elif kind is OfferKind.GIFT:
            values = {"gift": self.gift_edit.text(), "threshold_fen": _parse_fen(self.gift_min_edit.text(), "threshold_fen")}
        elif kind is OfferKind.BIRTHDAY:
            values = {"gift": self.birthday_gift_edit.text(), "percent_bp": _parse_bp(self.birthday_percent_edit.text())}
        elif kind is OfferKind.BUY_X_GET_Y:
            values = {"buy_qty": self.buy_spin.value(), "get_qty": self.get_spin.value(), "item_code": self.item_code_edit.text(),
                      "item_category": self.category_edit.text()}
        else:
            values = {"multiplier_pct": self.multiplier_spin.value(),
                      "weekdays": tuple(day for day, check in enumerate(self.weekday_checks) if check.isChecked())}
        tier_ids = tuple(
            self.tier_list.item(row).data(Qt.ItemDataRole.UserRole) for row in range(self.tier_list.count())
            if self.tier_list.item(row).checkState() == Qt.CheckState.Checked
        )
        return OfferInput(
            name=self.name_edit.text(), kind=kind, description=self.description_edit.text(),
            starts_on=_parse_day(self.from_edit.text(), "starts_on"), ends_on=_parse_day(self.to_edit.text(), "ends_on"),
            target=target, tier_ids=tier_ids, tags=tuple(t for t in self.tags_edit.text().replace("，", ",").split(",")),
            group_id=self.group_combo.currentData() if target is OfferTarget.GROUP else None,
            per_member_limit=self.per_member_spin.value() or None, total_limit=self.total_spin.value() or None,
            coupon_required=self.coupon_check.isChecked(), points_cost=self.points_cost_spin.value(), **values,  # type: ignore[arg-type]
        )

    def save(self) -> None:
        try:
            data = self.offer_input()
            with unit_of_work(self._state.db) as session:
                if self._offer_id is None:
                    self.saved = offers.create_offer(session, self._state.actor, data)
                else:
                    self.saved = offers.update_offer(session, self._state.actor, self._offer_id, data)
        except CrmdeskError as exc:
            self.error_label.setText(error_text(exc))
            return
        self.accept()


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

    def _member_id(self) -> int | None:
        key = self.member_edit.text().strip()
        if not key:
            return None
        with read_session(self._state.db) as session:
            found = search_service.lookup(session, key)
        if found.member is None:
            raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with the card, member number or phone {key}."), key=key)
        return found.member.id

    def generate(self) -> None:
        try:
            member_id = self._member_id()
            with unit_of_work(self._state.db) as session:
                codes = offers.generate_coupons(session, self._state.actor, self._offer_id, self.count_spin.value(), member_id,
                                                batch=self.batch_edit.text())
        except CrmdeskError as exc:
            self.error_label.setText(error_text(exc))
            return
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
        self.status_label.setWordWrap(True)
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
        mark_data(self.table)
        layout.addWidget(self.table)
        state.signals.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        with read_session(self._state.db) as session:
            self.offers = offers.list_offers(session)
        self.table.setRowCount(len(self.offers))
        for row, info in enumerate(self.offers):
            window = f"{info.starts_on.isoformat() if info.starts_on else '…'} – {info.ends_on.isoformat() if info.ends_on else '…'}"
            no_limit = "∞"
            limits = f"{info.per_member_limit or no_limit} / {info.total_limit or no_limit}"
            coupons = f"{info.coupons_used} / {info.coupons_issued}" if info.coupon_required else ""
            status = self.tr("Active") if info.active else self.tr("Off")
            cells = (info.name, kind_label(info.kind), offer_summary(info), window, target_summary(info), limits, str(info.used),
                     coupons, status)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, info.id)
                if not info.active:
                    item.setForeground(QColor("#8c8c8c"))
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self._update_buttons()

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
            self.refresh()
            self.select_offer(dialog.saved.id)

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
        try:
            with unit_of_work(self._state.db) as session:
                offers.set_active(session, self._state.actor, info.id, not info.active)
        except CrmdeskError as exc:
            self.status_label.setText(error_text(exc))
            return
        self.status_label.clear()
        self.refresh()
        self.select_offer(info.id)

    def coupons_dialog(self, info: OfferInfo) -> CouponsDialog:
        return CouponsDialog(self._state, info, self)

    def make_coupons(self) -> None:
        info = self.selected()
        if info is None:
            return
        self.coupons_dialog(info).exec()
        self.refresh()
        self.select_offer(info.id)
