"""The counter's offers panel: what this member can use now (first, with an Apply button) and,
greyed, the other active offers with the reason they do not apply.

Compact: one short line per offer, the table as tall as its rows (at least three, at most
MAX_ROWS, then it scrolls), so the counter page above it keeps its room. Every value is in the
user's language, and a cell with nothing to say shows "—".

Only displays and delegates to crmdesk.services.offers; the basket amount is optional and,
when typed, shows each discount and checks spend thresholds.
"""

from __future__ import annotations

import uuid

from PySide6.QtCore import QCoreApplication, QSize, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from crmdesk.errors import CrmdeskError
from crmdesk.services import member_query, offers
from crmdesk.services.offers import OfferNotUsable, OfferStatus, PointsOfferHint
from crmdesk.services.requests import AlreadyDone
from crmdesk.services.uow import unit_of_work
from crmdesk.views.common import error_text, format_fen, mark_data_columns
from crmdesk.views.offers_page import EMPTY, clauses, offer_summary, translated_reason
from crmdesk.views.server_link import server_is_away
from crmdesk.views.state import AppState

GREY = QColor("#8c8c8c")
MIN_ROWS = 3  # the panel is never shorter than three rows
MAX_ROWS = 6  # beyond this the table scrolls


def reason_text(status: OfferStatus) -> str:
    """Why the member cannot use the offer now, in the user's language ("" when they can)."""
    return translated_reason(status.reason, status.params)


def points_hint_text(hint: PointsOfferHint) -> str:
    """One line for the F7 dialog's "points can also buy": the offer, what it gives for its points
    and, when it cannot be used now, why not, in the user's language."""
    line = QCoreApplication.translate("offers", "{name}: {what}").format(name=hint.name, what=offer_summary(hint.offer))
    return clauses([line, translated_reason(hint.reason, hint.params)])


def _error_text(exc: CrmdeskError) -> str:
    if isinstance(exc, OfferNotUsable):
        return translated_reason(exc.reason, exc.reason_params)
    return error_text(exc)


class _FittedTable(QTableWidget):
    """A table whose size hint is its rows' height: MIN_ROWS to MAX_ROWS of them, no empty space below."""

    def fitted_height(self, rows: int) -> int:
        shown = max(MIN_ROWS, min(rows, MAX_ROWS))
        header = 0 if self.horizontalHeader().isHidden() else self.horizontalHeader().sizeHint().height()
        return header + shown * self.verticalHeader().defaultSectionSize() + 2 * self.frameWidth()

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.fitted_height(self.rowCount()))

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self.fitted_height(MIN_ROWS))


class EligibleOffersWidget(QWidget):
    applied = Signal(object)  # offers.Redemption

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        self.member_id: int | None = None
        self.statuses: list[OfferStatus] = []
        self.applying = False  # an offer on its way: a second click waits for its answer
        self._requests: dict[int, str] = {}  # offer id -> the request id of an apply not yet answered for sure
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
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
        self.table = _FittedTable(0, 3)
        self.table.setHorizontalHeaderLabels([self.tr("Offer"), self.tr("What / why not"), ""])
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        # Compact rows: one line of text and a small Apply button.
        self.row_height = self.table.fontMetrics().height() + 10
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.row_height)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        mark_data_columns(self.table, 0)  # the offers' names; what they give and why not is interface text
        layout.addWidget(self.table)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)
        self.show_member(None)

    def basket_fen(self) -> int | None:
        return member_query.parse_yuan(self.basket_edit.text(), field="basket")

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def show_member(self, member_id: int | None) -> None:
        self.member_id = member_id
        self._requests.clear()
        self._say("")
        self.refresh()

    def _apply_button(self, offer_id: int) -> QPushButton:
        button = QPushButton(self.tr("Apply"))
        button.setObjectName(f"applyOffer{offer_id}")
        button.setStyleSheet("QPushButton { padding: 0px 12px; }")
        button.setFixedHeight(self.row_height - 4)
        button.clicked.connect(lambda _checked=False: self.apply_offer(offer_id))
        return button

    def refresh(self) -> None:
        """The member's offers, read off the UI thread (the newest question's answer only)."""
        link = self._state.link
        if self.member_id is None or (link is not None and link.offline):
            if self.member_id is not None:
                self._say(self.tr("Offers and coupons wait for the server: they are counted there."))
            self._show_statuses([])
            return
        try:
            basket = self.basket_fen()
        except CrmdeskError as exc:
            self._say(error_text(exc))
            self._show_statuses([])
            return
        member_id = self.member_id

        def failed(error: CrmdeskError) -> None:  # the server gone away too: said here; the counter goes offline
            self._say(error_text(error))
            self._show_statuses([])

        self._state.operations.read(self._state.db, lambda session: offers.eligibility(session, member_id, basket_fen=basket),
                                    self._show_statuses, failed, key=f"offers-{id(self)}", owner=self)

    def _show_statuses(self, statuses: list[OfferStatus]) -> None:
        self.statuses = statuses
        self.table.setRowCount(len(self.statuses))
        for row, status in enumerate(self.statuses):
            summary = offer_summary(status.offer)
            detail = summary
            if status.usable and status.discount_fen:
                detail = self.tr("{what} — {amount} off").format(what=summary, amount=format_fen(status.discount_fen))
            if not status.usable:
                detail = reason_text(status)
            name = QTableWidgetItem(status.offer.name)
            what = QTableWidgetItem(detail or EMPTY)
            for item in (name, what):
                item.setData(Qt.ItemDataRole.UserRole, status.offer.id)
                # The whole story on hover: what it gives and, when greyed, why not.
                item.setToolTip(clauses([summary, reason_text(status)]))
                if not status.usable:
                    item.setForeground(GREY)
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, what)
            if status.usable and not status.automatic:
                self.table.setItem(row, 2, QTableWidgetItem(""))
                self.table.setCellWidget(row, 2, self._apply_button(status.offer.id))
                continue
            self.table.removeCellWidget(row, 2)
            action = QTableWidgetItem(self.tr("Automatic") if status.usable else EMPTY)
            action.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            if not status.usable:
                action.setForeground(GREY)
            self.table.setItem(row, 2, action)
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(2)
        self.table.updateGeometry()

    def status_of(self, offer_id: int) -> OfferStatus | None:
        return next((s for s in self.statuses if s.offer.id == offer_id), None)

    def ask_coupon(self, status: OfferStatus) -> str | None:
        """The coupon code, asked for (the member's own code is proposed); None if cancelled."""
        proposed = offers.display_code(status.coupon_codes[0]) if status.coupon_codes else ""
        text, ok = QInputDialog.getText(self, self.tr("Coupon"), self.tr("Scan or type the coupon code:"), text=proposed)
        return text if ok and text.strip() else None

    def apply_offer(self, offer_id: int, coupon_code: str | None = None) -> None:
        """Use the offer for the member (on the operations thread); ``applied`` carries the redemption -- or None
        when a click again after a network failure found it applied the first time."""
        status = self.status_of(offer_id)
        if self.member_id is None or status is None or self.applying:
            return
        if status.needs_coupon and coupon_code is None:
            coupon_code = self.ask_coupon(status)
            if coupon_code is None:
                return
        try:
            basket = self.basket_fen()
        except CrmdeskError as exc:
            self._say(_error_text(exc))
            return
        # The same request id until it is answered: a click again after the connection broke is not a second use.
        request_id = self._requests.setdefault(offer_id, uuid.uuid4().hex)
        db, actor, member_id = self._state.db, self._state.actor, self.member_id

        def work() -> offers.Redemption:
            with unit_of_work(db) as session:
                return offers.apply(session, actor, offer_id, member_id, basket_fen=basket, coupon_code=coupon_code,
                                    request_id=request_id)

        def done(result: offers.Redemption) -> None:
            self.applying = False
            self._requests.pop(offer_id, None)
            parts = [status.offer.name]
            if result.discount_fen:
                parts.append(self.tr("{amount} off").format(amount=format_fen(result.discount_fen)))
            if result.gift:
                parts.append(self.tr("give: {gift}").format(gift=result.gift))
            self._say(self.tr("Applied: {what}").format(what=clauses(parts)))
            self.refresh()
            self.applied.emit(result)

        def failed(error: CrmdeskError) -> None:
            self.applying = False
            self._say(_error_text(error))
            if server_is_away(error):
                return  # in doubt: the next click asks again with the same id
            self._requests.pop(offer_id, None)
            if isinstance(error, AlreadyDone):
                self.refresh()
                self.applied.emit(None)

        self.applying = True
        self._state.operations.run(work, done, failed, owner=self)
