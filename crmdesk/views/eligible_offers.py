"""The counter's offers panel: what this member can use now (first, with an Apply button) and,
greyed, the other active offers with the reason they do not apply.

Only displays and delegates to crmdesk.services.offers; the basket amount is optional and,
when typed, shows each discount and checks spend thresholds.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crmdesk.errors import CrmdeskError
from crmdesk.services import member_query, offers
from crmdesk.services.offers import OfferNotUsable, OfferStatus
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.views.common import error_text, format_fen, mark_data
from crmdesk.views.offers_page import offer_summary
from crmdesk.views.state import AppState

GREY = QColor("#8c8c8c")


def reason_text(status: OfferStatus) -> str:
    if status.reason is None:
        return ""
    return QCoreApplication.translate("offers", status.reason.value).format(**status.params)


def _error_text(exc: CrmdeskError) -> str:
    if isinstance(exc, OfferNotUsable):
        return QCoreApplication.translate("offers", exc.reason.value).format(**exc.reason_params)
    return error_text(exc)


class EligibleOffersWidget(QWidget):
    applied = Signal(object)  # offers.Redemption

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        self.member_id: int | None = None
        self.statuses: list[OfferStatus] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        heading = QLabel(self.tr("Offers"))
        heading.setObjectName("sectionHeading")
        top.addWidget(heading)
        top.addStretch(1)
        basket_label = QLabel(self.tr("&Basket ¥:"))
        self.basket_edit = QLineEdit()
        self.basket_edit.setPlaceholderText(self.tr("optional"))
        self.basket_edit.setMaximumWidth(110)
        basket_label.setBuddy(self.basket_edit)
        self.basket_edit.editingFinished.connect(self.refresh)
        top.addWidget(basket_label)
        top.addWidget(self.basket_edit)
        layout.addLayout(top)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels([self.tr("Offer"), self.tr("What / why not"), ""])
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        mark_data(self.table)
        layout.addWidget(self.table)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.show_member(None)

    def basket_fen(self) -> int | None:
        return member_query.parse_yuan(self.basket_edit.text(), field="basket")

    def show_member(self, member_id: int | None) -> None:
        self.member_id = member_id
        self.message.clear()
        self.refresh()

    def refresh(self) -> None:
        self.statuses = []
        if self.member_id is not None:
            try:
                basket = self.basket_fen()
                with read_session(self._state.db) as session:
                    self.statuses = offers.eligibility(session, self.member_id, basket_fen=basket)
            except CrmdeskError as exc:
                self.message.setText(error_text(exc))
        self.table.setRowCount(len(self.statuses))
        for row, status in enumerate(self.statuses):
            detail = offer_summary(status.offer)
            if status.usable and status.discount_fen:
                detail = self.tr("{what} — {amount} off").format(what=detail, amount=format_fen(status.discount_fen))
            if not status.usable:
                detail = reason_text(status)
            name = QTableWidgetItem(status.offer.name)
            what = QTableWidgetItem(detail)
            for item in (name, what):
                item.setData(Qt.ItemDataRole.UserRole, status.offer.id)
                if not status.usable:
                    item.setForeground(GREY)
                    item.setToolTip(reason_text(status))
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, what)
            if status.usable and status.automatic:
                self.table.setItem(row, 2, QTableWidgetItem(self.tr("Automatic")))
                self.table.removeCellWidget(row, 2)
            elif status.usable:
                self.table.setItem(row, 2, QTableWidgetItem(""))
                button = QPushButton(self.tr("Apply"))
                button.setObjectName(f"applyOffer{status.offer.id}")
                button.clicked.connect(lambda _checked=False, offer_id=status.offer.id: self.apply_offer(offer_id))
                self.table.setCellWidget(row, 2, button)
            else:
                self.table.removeCellWidget(row, 2)
                self.table.setItem(row, 2, QTableWidgetItem(""))
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(2)

    def status_of(self, offer_id: int) -> OfferStatus | None:
        return next((s for s in self.statuses if s.offer.id == offer_id), None)

    def ask_coupon(self, status: OfferStatus) -> str | None:
        """The coupon code, asked for (the member's own code is proposed); None if cancelled."""
        proposed = offers.display_code(status.coupon_codes[0]) if status.coupon_codes else ""
        text, ok = QInputDialog.getText(self, self.tr("Coupon"), self.tr("Scan or type the coupon code:"), text=proposed)
        return text if ok and text.strip() else None

    def apply_offer(self, offer_id: int, coupon_code: str | None = None) -> offers.Redemption | None:
        status = self.status_of(offer_id)
        if self.member_id is None or status is None:
            return None
        if status.needs_coupon and coupon_code is None:
            coupon_code = self.ask_coupon(status)
            if coupon_code is None:
                return None
        try:
            basket = self.basket_fen()
            with unit_of_work(self._state.db) as session:
                result = offers.apply(session, self._state.actor, offer_id, self.member_id, basket_fen=basket,
                                      coupon_code=coupon_code)
        except CrmdeskError as exc:
            self.message.setText(_error_text(exc))
            return None
        parts = [status.offer.name]
        if result.discount_fen:
            parts.append(self.tr("{amount} off").format(amount=format_fen(result.discount_fen)))
        if result.gift:
            parts.append(self.tr("give: {gift}").format(gift=result.gift))
        self.message.setText(self.tr("Applied: {what}").format(what=", ".join(parts)))
        self.refresh()
        self.applied.emit(result)
        return result
