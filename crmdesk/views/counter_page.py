"""The counter: one search box that keeps focus, the matches, and the member found.

Scanners type a card's digits fast and press Enter; people type a phone, its
last four digits, a name or pinyin (zs, zhangsan). Typing searches after a short
pause, Enter at once. An exact card, member number or phone opens the member
directly; a card that stopped working (lost, replaced, closed) shows a red
warning and never the member. Everything works from the keyboard: Up/Down pick
a match, Enter opens it, Esc clears, F2/F3/F4 run the actions shown on the buttons,
and with a member open F5 records a purchase, F6 refunds one, F7 redeems points
(purchase_dialogs.py). The panel shows the points that expire soon, the member's segment
and, for a regular who is drifting away, a churn badge so the cashier can greet them.

Every query here is an index lookup (services.search), so it runs on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView, QAbstractScrollArea, QApplication, QDialog, QFrame, QHBoxLayout, QHeaderView, QLabel,
    QLineEdit, QMessageBox, QPushButton, QScrollArea, QSizePolicy, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout,
    QWidget,
)

from crmdesk import preferences, shop_time
from crmdesk.db import Database
from crmdesk.errors import CrmdeskError
from crmdesk.models import CardStatus, MemberStatus, PurchaseKind
from crmdesk.services import cards as cards_service
from crmdesk.services import credit as credit_service
from crmdesk.services import insight_figures
from crmdesk.services import insight_rules
from crmdesk.services import loyalty as loyalty_service
from crmdesk.services import members as members_service
from crmdesk.services import offline as offline_service
from crmdesk.services import purchases as purchases_service
from crmdesk.services import search as search_service
from crmdesk.services.insight_figures import MemberFigures
from crmdesk.services.live import Changes
from crmdesk.services.members import MemberBrief, MemberProfile, display_phone
from crmdesk.services.search import CardWarning, Hit
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.shop_time import format_time
from crmdesk.views.common import WritingDialog, error_text, format_fen, mark_data
from crmdesk.views.eligible_offers import EligibleOffersWidget
from crmdesk.views.flow_layout import FlowLayout
from crmdesk.views.live_changes import follow
from crmdesk.views.server_link import server_is_away
from crmdesk.views.member_form import NewMemberDialog
from crmdesk.views.money_dialogs import RepayDialog, TopUpDialog
from crmdesk.views.purchase_dialogs import EnterDialog, PurchaseDialog, RedeemDialog, RefundDialog
from crmdesk.views.slip_printing import SlipPrinter
from crmdesk.views.state import AppState
from crmdesk.views.terms import member_status_text, percent_text, purchase_kind_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SEARCH_DELAY_MS = 120
RECENT_VISITS = 5
RESULT_LIMIT = search_service.DEFAULT_LIMIT
EXPIRY_WARNING_DAYS = 60
RESULT_CARD_COLUMN = 2
RESULT_SECONDARY_COLUMNS = (3, 5)  # tier, status
NARROW_RESULTS = 420  # pixels: below this the match list hides its card column ...
NARROWER_RESULTS = 300  # ... and below this its tier and status
RESULTS_WIDTH = 310  # the match list's width to start with (the splitter moves it)

# Kept with the page until the shared style sheet takes these names over.
COUNTER_STYLE = """
#counterSearch { font-size: 26px; padding: 8px 12px; border: 2px solid #2c564c; border-radius: 8px; }
#counterSearch:focus { border-color: #f2b94b; }
#cardWarning { background: #fdecea; color: #b3261e; border: 2px solid #b3261e; border-radius: 8px;
               padding: 12px 16px; font-size: 18px; font-weight: bold; }
#counterHint { color: #5f6f6a; font-size: 14px; }
#memberPanel { background: #f4f8f6; border: 1px solid #dbe7e2; border-radius: 8px; }
#memberName { font-size: 28px; font-weight: bold; color: #1f3d36; }
#memberNumber { color: #50625c; font-size: 15px; }
#memberMoney { color: #1f3d36; font-size: 15px; font-weight: bold; }
#pointsValue { font-size: 28px; font-weight: bold; color: #1f3d36; }
#figureCaption { color: #50625c; font-size: 13px; }
#discountBadge { background: #e6f4ea; color: #1e5631; border: 1px solid #8fc79f; border-radius: 12px;
                 padding: 4px 10px; font-size: 14px; font-weight: bold; }
#birthdayBadge { background: #fff4d6; color: #8a5a00; border: 1px solid #f2b94b; border-radius: 12px;
                 padding: 4px 12px; font-size: 14px; font-weight: bold; }
#segmentBadge { background: #e8f0ee; color: #2c564c; border: 1px solid #a9c4bb; border-radius: 12px;
                padding: 4px 10px; font-size: 14px; }
#churnBadge { background: #fdecea; color: #b3261e; border: 1px solid #e8a29c; border-radius: 12px;
              padding: 4px 10px; font-size: 14px; font-weight: bold; }
#memberWarnings { background: #fdecea; color: #b3261e; border-radius: 6px; padding: 6px 10px; font-size: 15px;
                  font-weight: bold; }
#complaintsLabel { font-size: 15px; color: #1f3d36; }
#complaintsLabel[open="true"] { color: #b3261e; font-weight: bold; }
#sectionHeading { font-size: 15px; font-weight: bold; color: #1f3d36; }
#memberFact { font-size: 15px; color: #1f3d36; }
#expiringLabel { background: #fff4d6; color: #8a5a00; border-radius: 6px; padding: 4px 10px; font-size: 15px; }
#actionResult { background: #e6f4ea; color: #1e5631; border-radius: 6px; padding: 6px 10px; font-size: 16px; font-weight: bold; }
#counterAction { font-size: 14px; padding: 8px 8px; }
"""


@dataclass(frozen=True)
class _MemberView:
    """What the counter shows of a member, read together."""

    profile: MemberProfile
    expiring: list[loyalty_service.ExpiringLot]
    credit_info: credit_service.CreditInfo | None
    figures: MemberFigures | None


def masked_phone(e164: str | None) -> str:
    """The number as shown in a list several people can see: 138 **** 8000."""
    shown = display_phone(e164)
    if not shown:
        return ""
    first_group = shown.split(" ", 1)[0] if " " in shown else ""
    digits_seen, total = 0, sum(ch.isdigit() for ch in shown)
    masked = []
    for index, ch in enumerate(shown):
        if ch.isdigit():
            digits_seen += 1
            if index >= len(first_group) and digits_seen <= total - 4:
                ch = "*"
        masked.append(ch)
    return "".join(masked)


def _data_label() -> QLabel:
    label = QLabel()
    mark_data(label)
    return label


def _readable_on(colour: QColor) -> str:
    return "#1f1f1f" if colour.lightness() > 150 else "#ffffff"


def _insight(text: str) -> str:
    return QCoreApplication.translate("insight", text)


class CardDialog(WritingDialog):
    """Issue a card (the blank card scanned, or a new number), or replace the working one."""

    def __init__(self, state: AppState, profile: MemberProfile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.profile = profile
        self.replacing = profile.active_card
        self.issued_number: str | None = None
        if self.replacing is None:
            self.setWindowTitle(self.tr("Issue a card to {name}").format(name=profile.name))
        else:
            self.setWindowTitle(self.tr("Replace card {number} of {name}").format(number=self.replacing.number, name=profile.name))
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        hint = QLabel(self.tr("Scan the blank card. To give a new number instead, leave the field empty and press Enter."))
        hint.setWordWrap(True)
        layout.addWidget(hint)
        if self.replacing is not None:
            stops = QLabel(self.tr("The card {number} stops working at once.").format(number=self.replacing.number))
            stops.setObjectName("errorLabel")
            layout.addWidget(stops)
        self.number_edit = QLineEdit()
        self.number_edit.setPlaceholderText(self.tr("card number (scan)"))
        self.number_edit.returnPressed.connect(self.accept)
        layout.addWidget(self.number_edit)
        self.message = QLabel()
        self.message.setObjectName("errorLabel")
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)
        row = QHBoxLayout()
        row.addStretch(1)
        self.save_button = QPushButton(self.tr("Issue card (Enter)") if self.replacing is None else self.tr("Replace card (Enter)"))
        self.save_button.clicked.connect(self.accept)
        cancel = QPushButton(self.tr("Cancel (Esc)"))
        cancel.clicked.connect(self.reject)
        for button in (self.save_button, cancel):
            button.setAutoDefault(False)
            row.addWidget(button)
        layout.addLayout(row)
        self.number_edit.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        # Enter belongs to the number field (a scanner ends with it); never a stray default button.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            return
        super().keyPressEvent(event)

    def accept(self) -> None:
        number = self.number_edit.text().strip() or None
        db, actor, member_id = self._state.db, self._state.actor, self.profile.id
        change = cards_service.issue if self.replacing is None else cards_service.replace_card

        def work() -> str:
            with unit_of_work(db) as session:
                return change(session, actor, member_id, number)

        def refused(exc: CrmdeskError) -> None:
            self.message.setText(error_text(exc))
            self.message.show()
            self.number_edit.selectAll()
            self.number_edit.setFocus()

        self.write_once(self._state, work, lambda issued: setattr(self, "issued_number", issued), refused)


class CounterPage(QWidget):
    """The counter screen. ``memberOpened`` tells later actions which member is on screen."""

    memberOpened = Signal(int)
    complaintLogged = Signal(int)  # the main window recounts the overdue complaints

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        self._hits: list[Hit] = []
        self._navigated = False  # the cashier moved through the matches: Enter opens the chosen one
        # A scan or Enter is being answered: the member on screen may be about to change, so nothing is recorded
        # for them until the answer is in (F5 straight after a scan is for the new member, never the last one).
        self._opening = False
        self.profile: MemberProfile | None = None
        self.card_warning: CardWarning | None = None
        self.new_member_dialog: NewMemberDialog | None = None
        self.card_dialog: CardDialog | None = None
        self.lost_box: QMessageBox | None = None
        self.purchase_dialog: PurchaseDialog | None = None
        self.refund_dialog: RefundDialog | None = None
        self.redeem_dialog: RedeemDialog | None = None
        self.complaint_dialog: QDialog | None = None
        self.money_dialog: QDialog | None = None
        self.survey_dialog: QDialog | None = None
        self.expiring: list[loyalty_service.ExpiringLot] = []
        self.credit_info: credit_service.CreditInfo | None = None
        self.figures: MemberFigures | None = None  # the member's insight at the last refresh
        self.setObjectName("counterPage")
        self.setStyleSheet(COUNTER_STYLE)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.run_search)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 10)
        layout.setSpacing(8)

        search_row = QHBoxLayout()
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("counterSearch")
        self.search_edit.setPlaceholderText(self.tr("Scan a card, or type a phone, its last 4 digits, a name or pinyin (zs)"))
        self.search_edit.setClearButtonEnabled(False)
        self.search_edit.textEdited.connect(self._text_edited)
        self.search_edit.returnPressed.connect(self.submit)
        search_row.addWidget(self.search_edit, 1)
        # The database is slow to answer (a busy server, a far network): the counter says it is on it.
        self.busy_label = QLabel(self.tr("Looking it up…"))
        self.busy_label.setObjectName("hintLabel")
        self.busy_label.hide()
        state.operations.busyChanged.connect(self.busy_label.setVisible)
        search_row.addWidget(self.busy_label)
        self.clear_button = self._button(self.tr("Clear (Esc)"), self.clear)
        search_row.addWidget(self.clear_button)
        layout.addLayout(search_row)

        # The server cannot be reached: the till works on the member cache and queues its sales (server_link.py).
        self.offline_label = QLabel()
        self.offline_label.setObjectName("cardWarning")
        self.offline_label.setWordWrap(True)
        self.offline_label.hide()
        layout.addWidget(self.offline_label)
        self.warning_label = QLabel()
        self.warning_label.setObjectName("cardWarning")
        self.warning_label.setWordWrap(True)
        self.warning_label.hide()
        layout.addWidget(self.warning_label)
        self.hint_label = QLabel()
        self.hint_label.setObjectName("counterHint")
        self.hint_label.setWordWrap(True)
        layout.addWidget(self.hint_label)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        self.results = QTableWidget(0, 6)
        self.results.setHorizontalHeaderLabels(
            [self.tr("Name"), self.tr("Phone"), self.tr("Card"), self.tr("Tier"), self.tr("Points"), self.tr("Status")]
        )
        header = self.results.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.results.verticalHeader().hide()
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # The search box keeps the focus; Up/Down there move through this list.
        self.results.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.results.cellClicked.connect(lambda row, _column: self._open_row(row))
        self.results.installEventFilter(self)  # narrow on a small screen: the card column gives way
        self.search_edit.installEventFilter(self)  # Up/Down move through the matches
        splitter.addWidget(self.results)
        splitter.addWidget(self._build_panel())
        # The list of matches keeps a readable width; every other pixel goes to the member on screen.
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([RESULTS_WIDTH, 2 * RESULTS_WIDTH])
        self.results.setMinimumWidth(200)
        layout.addWidget(splitter, 1)

        for key, slot in ((Qt.Key.Key_F2, self.new_member), (Qt.Key.Key_F3, self.card_action),
                          (Qt.Key.Key_F4, self.report_lost), (Qt.Key.Key_F5, self.record_purchase),
                          (Qt.Key.Key_F6, self.refund), (Qt.Key.Key_F7, self.redeem), (Qt.Key.Key_F8, self.log_complaint),
                          (Qt.Key.Key_F9, self.take_survey), (Qt.Key.Key_F10, self.top_up), (Qt.Key.Key_F11, self.repay),
                          (QKeySequence.StandardKey.Print, self.print_last_slip), (Qt.Key.Key_Escape, self.clear)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        # The slip of the last top-up or purchase on credit (kind, entry id): printed by itself when this computer
        # has a receipt printer, else Ctrl+P opens it to print.
        self.last_slip: tuple[str, int] | None = None
        self.slips = SlipPrinter(state, self)
        self.slips.done.connect(self._slip_done)
        state.signals.changed.connect(self.clear)  # another person at the till: nothing of the last customer stays
        follow(state, self.follow_changes)
        self._last_read: Callable[[], None] | None = None  # asked again of the cache when the server turns out away
        if state.link is not None:
            state.link.offlineChanged.connect(self._show_offline)
            state.link.queueChanged.connect(lambda _waiting: self._show_offline(state.link.offline))  # type: ignore[union-attr]
            state.link.replayed.connect(self._replayed)
        self._show_profile(None)
        self._set_hint(self.tr("Scan a card or type to find a member. F2 registers a new member."))

    # ------------------------------------------------------------------ building

    def _button(self, text: str, slot) -> QPushButton:  # type: ignore[no-untyped-def]
        button = QPushButton(text)
        button.setObjectName("counterAction")
        # Clicking must not take the focus away from the search box.
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(slot)
        return button

    def _build_panel(self) -> QWidget:
        """The member on screen: who they are and their points always in view, the rest in a scroll
        area (a 768-pixel screen has room for little), the actions always at the bottom."""
        panel = QFrame()
        panel.setObjectName("memberPanel")
        self.panel = panel
        column = QVBoxLayout(panel)
        column.setContentsMargins(16, 12, 16, 12)
        column.setSpacing(6)

        self.empty_label = QLabel(self.tr("No member open."))
        self.empty_label.setObjectName("counterHint")
        column.addWidget(self.empty_label)

        self.header = QWidget()
        header = QVBoxLayout(self.header)
        header.setContentsMargins(0, 0, 0, 0)
        header.setSpacing(4)
        top = QHBoxLayout()
        self.name_label = _data_label()
        self.name_label.setObjectName("memberName")
        top.addWidget(self.name_label, 0, Qt.AlignmentFlag.AlignTop)
        # Tier, member discount and birthday beside the name, wrapping below each other when the panel is narrow.
        badges = QWidget()
        badges.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        badge_flow = FlowLayout(badges, spacing=6, row_spacing=4)
        badge_flow.setContentsMargins(4, 6, 0, 0)
        self.tier_label = _data_label()
        self.tier_label.setObjectName("tierLabel")
        self.discount_label = QLabel()
        self.discount_label.setObjectName("discountBadge")
        self.birthday_badge = QLabel()
        self.birthday_badge.setObjectName("birthdayBadge")
        # Customer insight: the segment, and a regular drifting away (a word now may keep them).
        self.segment_badge = QLabel()
        self.segment_badge.setObjectName("segmentBadge")
        self.churn_badge = QLabel()
        self.churn_badge.setObjectName("churnBadge")
        for badge in (self.tier_label, self.discount_label, self.birthday_badge, self.segment_badge, self.churn_badge):
            badge_flow.addWidget(badge)
        top.addWidget(badges, 1)
        points_box = QVBoxLayout()
        points_box.setSpacing(0)
        points_caption = QLabel(self.tr("Points"))
        points_caption.setObjectName("figureCaption")
        points_caption.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.points_label = _data_label()
        self.points_label.setObjectName("pointsValue")
        self.points_label.setAlignment(Qt.AlignmentFlag.AlignRight)
        points_box.addWidget(points_caption)
        points_box.addWidget(self.points_label)
        top.addLayout(points_box)
        header.addLayout(top)
        self.number_label = _data_label()
        self.number_label.setObjectName("memberNumber")
        header.addWidget(self.number_label)
        # The member's money with the shop: stored value, and credit (owed and what is left).
        self.money_label = QLabel()
        self.money_label.setObjectName("memberMoney")
        header.addWidget(self.money_label)
        self.warnings_label = QLabel()
        self.warnings_label.setObjectName("memberWarnings")
        self.warnings_label.setWordWrap(True)
        header.addWidget(self.warnings_label)
        column.addWidget(self.header)

        # What the last action did: one line under the header, never pushing the buttons away.
        self.result_label = QLabel()
        self.result_label.setObjectName("actionResult")
        self.result_label.setWordWrap(True)
        self.result_label.hide()
        column.addWidget(self.result_label)

        self.details = QWidget()
        self.details.setObjectName("memberDetails")
        details = QVBoxLayout(self.details)
        details.setContentsMargins(0, 0, 8, 0)
        details.setSpacing(6)
        self.card_label = QLabel()
        self.card_label.setObjectName("memberFact")
        details.addWidget(self.card_label)
        self.totals_label = QLabel()
        self.totals_label.setObjectName("memberFact")
        self.totals_label.setWordWrap(True)
        details.addWidget(self.totals_label)
        self.complaints_label = QLabel()
        self.complaints_label.setObjectName("complaintsLabel")
        details.addWidget(self.complaints_label)
        self.expiring_label = QLabel()
        self.expiring_label.setObjectName("expiringLabel")
        self.expiring_label.setWordWrap(True)
        details.addWidget(self.expiring_label)

        visits_title = QLabel(self.tr("Last visits"))
        visits_title.setObjectName("sectionHeading")
        details.addWidget(visits_title)
        self.visits = QTableWidget(0, 5)
        self.visits.setHorizontalHeaderLabels([self.tr("Time"), self.tr("Till"), self.tr("Receipt"), self.tr("Kind"), self.tr("Amount")])
        self.visits.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.visits.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.visits.verticalHeader().hide()
        self.visits.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.visits.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.visits.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.visits.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.visits.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        details.addWidget(self.visits)
        self.no_visits_label = QLabel(self.tr("No visits yet."))
        self.no_visits_label.setObjectName("counterHint")
        details.addWidget(self.no_visits_label)
        # The offers this member can use now, and why not the others.
        self.offers = EligibleOffersWidget(self._state)
        self.offers.applied.connect(lambda _redemption: self.refresh_member())
        details.addWidget(self.offers)
        details.addStretch(1)
        self.details_scroll = QScrollArea()
        self.details_scroll.setObjectName("memberDetailsScroll")
        self.details_scroll.setWidget(self.details)
        self.details_scroll.setWidgetResizable(True)
        self.details_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.details_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.details_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        column.addWidget(self.details_scroll, 1)
        self.filler = QWidget()  # keeps the buttons at the bottom while nobody is open
        column.addWidget(self.filler, 1)

        # The actions, always in view: equal buttons, five to a row on a wide screen (the money, then cards and
        # customer care), three or two when the panel is narrower.
        self.actions_box = QWidget()
        buttons = FlowLayout(self.actions_box, spacing=6, row_spacing=6, uniform=True, max_columns=5)
        self.new_button = self._button(self.tr("New member (F2)"), self.new_member)
        self.card_button = self._button(self.tr("Issue card (F3)"), self.card_action)
        self.lost_button = self._button(self.tr("Report card lost… (F4)"), self.report_lost)
        self.purchase_button = self._button(self.tr("Record purchase (F5)"), self.record_purchase)
        self.refund_button = self._button(self.tr("Refund… (F6)"), self.refund)
        self.redeem_button = self._button(self.tr("Redeem points… (F7)"), self.redeem)
        self.complaint_button = self._button(self.tr("Log complaint… (F8)"), self.log_complaint)
        self.survey_button = self._button(self.tr("Satisfaction survey… (F9)"), self.take_survey)
        self.top_up_button = self._button(self.tr("Top up… (F10)"), self.top_up)
        self.repay_button = self._button(self.tr("Repayment… (F11)"), self.repay)
        self.action_buttons = (self.purchase_button, self.refund_button, self.redeem_button, self.top_up_button, self.repay_button,
                               self.new_button, self.card_button, self.lost_button, self.complaint_button, self.survey_button)
        for button in self.action_buttons:
            buttons.addWidget(button)
        column.addWidget(self.actions_box)
        return panel

    # ------------------------------------------------------------------ keyboard

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt override
        super().showEvent(event)
        self.focus_search()

    def focus_search(self) -> None:
        self.search_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def _back_from_dialog(self) -> None:
        """After a dialog closes, the counter window is active again with the search box focused."""
        if self.isVisible() and QApplication.activeWindow() is None:
            self.window().activateWindow()
        self.focus_search()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.results and event.type() == QEvent.Type.Resize:
            # On a narrow screen the least needed columns give way: the card number first (a scan opens
            # the member anyway), then tier and status (the panel shows both; frozen rows stay red).
            width = self.results.width()
            self.results.setColumnHidden(RESULT_CARD_COLUMN, width < NARROW_RESULTS)
            for column in RESULT_SECONDARY_COLUMNS:
                self.results.setColumnHidden(column, width < NARROWER_RESULTS)
        if watched is self.search_edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            steps = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 5, Qt.Key.Key_PageUp: -5}
            step = steps.get(event.key())
            if step is not None:
                self._move(step)
                return True
        return super().eventFilter(watched, event)

    def _move(self, step: int) -> None:
        if self._timer.isActive():
            self.run_search(open_exact=False)
        if not self._hits:
            return
        row = self.results.currentRow()
        row = 0 if row < 0 else max(0, min(len(self._hits) - 1, row + step))
        self.results.selectRow(row)
        self.results.setCurrentCell(row, 0)
        self._navigated = True

    def _text_edited(self, _text: str) -> None:
        self._navigated = False
        self._timer.start()

    # ------------------------------------------------------------------ searching

    def run_search(self, *, open_exact: bool = True, submitting: bool = False) -> bool:
        """Search for what is typed (off the UI thread: the cashier keeps typing). An exact card, member number or
        phone opens the member; a card that stopped working shows the warning. ``submitting`` (Enter, a scanner's
        Enter): then one match opens and of several the first is chosen. True when the answer came at once and
        opened a member or showed a warning."""
        self._timer.stop()
        query = self.search_edit.text().strip()
        self._navigated = False
        if not query:
            self._show_hits([])
            self._show_warning(None)
            self._set_hint(self.tr("Scan a card or type to find a member. F2 registers a new member."))
            return False

        db = self._state.reading_db()
        self._last_read = lambda: self.run_search(open_exact=open_exact, submitting=submitting)

        def work() -> tuple[search_service.Lookup, list[Hit]]:
            with read_session(db) as session:
                return search_service.lookup(session, query), search_service.search(session, query, limit=RESULT_LIMIT)

        answered: list[bool] = []
        self._opening = self._opening or submitting

        def found(result: tuple[search_service.Lookup, list[Hit]]) -> None:
            answered.append(self._searched(query, *result, open_exact, submitting))

        self._state.operations.run(work, found, self._failed, key="search")
        return bool(answered and answered[0])

    def _searched(self, query: str, exact: search_service.Lookup, hits: list[Hit], open_exact: bool,
                  submitting: bool) -> bool:
        self._opening = False  # unless a member opens below (open_member says so again)
        self._show_hits(hits)
        self._show_warning(exact.card_warning)
        if exact.card_warning is not None:
            self._show_profile(None)
            self._set_hint(self.tr("Ask for the member's phone number to find them; F3 then gives them a new card."))
            return True
        if exact.member is not None and open_exact:
            self.open_member(exact.member.id)
            return True
        if not hits and cards_service.is_valid_issued_number(query):
            self._set_hint(self.tr("Card {number} belongs to nobody yet: press F2 to register a new member with it.").format(number=query))
        elif not hits:
            self._set_hint(self.tr("Nobody found for “{query}”. Press F2 to register a new member.").format(query=query))
        elif len(hits) == 1:
            self._set_hint(self.tr("One match: press Enter to open it."))
        else:
            self._set_hint(self.tr("{count} matches: choose with ↑ ↓ and press Enter.").format(count=len(hits)))
        if submitting and hits:
            if len(hits) == 1:
                self._open_row(0)
            else:
                self._move(0)
        return False

    def submit(self) -> None:
        """Enter: open the chosen match, else search at once (a scanner's Enter): one match opens,
        several are offered with the first one chosen."""
        if self._navigated and 0 <= self.results.currentRow() < len(self._hits):
            self._open_row(self.results.currentRow())
            return
        self.run_search(submitting=True)

    def _show_hits(self, hits: list[Hit]) -> None:
        self._hits = list(hits)
        self.results.clearSelection()
        self.results.setRowCount(len(hits))
        for row, hit in enumerate(hits):
            self._fill_hit_row(row, hit.member)
        self.results.setCurrentCell(-1, -1)

    def _fill_hit_row(self, row: int, member: MemberBrief) -> None:
        values = (member.name, masked_phone(member.phone), member.card_number or "", member.tier_name,
                  f"{member.points_balance:,}", member_status_text(member.status))
        for column, text in enumerate(values):
            item = QTableWidgetItem(text)
            if column == 4:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if member.status is not MemberStatus.ACTIVE:
                item.setForeground(QColor("#b3261e" if member.status is MemberStatus.FROZEN else "#8c8c8c"))
            self.results.setItem(row, column, item)

    def _open_row(self, row: int) -> None:
        if 0 <= row < len(self._hits):
            self.open_member(self._hits[row].member.id)

    def _show_warning(self, warning: CardWarning | None) -> None:
        self.card_warning = warning
        if warning is None:
            self.warning_label.hide()
            return
        when = format_time(warning.ended_at) or "?"
        texts = {
            CardStatus.LOST: self.tr("Card {number} was reported LOST on {date}. Do not accept it: it no longer opens any member."),
            CardStatus.REPLACED: self.tr("Card {number} was REPLACED on {date} and no longer works. Ask for the new card or the phone number."),
            CardStatus.CLOSED: self.tr("Card {number} was CLOSED on {date} and no longer works."),
        }
        text = texts.get(warning.status, texts[CardStatus.CLOSED])
        self.warning_label.setText(text.format(number=warning.number, date=when))
        self.warning_label.show()

    def _set_hint(self, text: str) -> None:
        self.hint_label.setText(text)

    # ------------------------------------------------------------------ the member

    def _read_member(self, member_id: int, db: Database | None = None) -> _MemberView:
        """Everything the counter shows of a member, in one read (on the operations' thread)."""
        with read_session(db or self._state.db) as session:
            profile = members_service.profile(session, member_id, recent_visits=RECENT_VISITS)
            expiring = loyalty_service.expiring_soon(session, member_id, shop_time.today(), EXPIRY_WARNING_DAYS)
            # Money overdue on credit: the cashier reminds the member while they are at the till.
            credit_info = credit_service.info(session, member_id) if profile.credit_owed_fen else None
            figures = insight_figures.member_figures(session, member_id)  # two primary-key lookups
        return _MemberView(profile, expiring, credit_info, figures)

    def _show_view(self, view: _MemberView) -> None:
        self.expiring, self.credit_info, self.figures = view.expiring, view.credit_info, view.figures
        self._show_profile(view.profile)
        self._refresh_hit(view.profile)

    def follow_changes(self, changes: Changes) -> None:
        """Another till (or an import) changed the member on show: their figures as they are now."""
        if self.profile is not None and changes.touches_member(self.profile.id):
            self.refresh_member()

    def refresh_member(self, then: Callable[[], None] | None = None) -> None:
        """Read the member on show again (after a sale here or elsewhere), quietly: what the cashier types, the
        focus and the hint stay as they are. ``then`` runs once the figures are on screen."""
        if self.profile is None:
            return
        member_id = self.profile.id

        def shown(view: _MemberView) -> None:
            if self.profile is not None and self.profile.id == member_id:  # still the member on show
                self._show_view(view)
            if then is not None:
                then()

        # Merged or erased meanwhile, or the server away: what is on show stays until the next search.
        db = self._state.reading_db()
        self._state.operations.run(lambda: self._read_member(member_id, db), shown, lambda _error: then and then(),
                                   key="refresh")

    def open_member(self, member_id: int, then: Callable[[], None] | None = None) -> None:
        """Show a member (read off the UI thread); ``then`` runs once they are on screen."""
        self._opening = True
        self._last_read = lambda: self.open_member(member_id, then)
        db = self._state.reading_db()
        self._state.operations.run(lambda: self._read_member(member_id, db),
                                   lambda view: self._opened(member_id, view, then), self._failed, key="member")

    def _opened(self, member_id: int, view: _MemberView, then: Callable[[], None] | None = None) -> None:
        self._opening = False
        if self.profile is None or self.profile.id != member_id:
            self.result_label.hide()  # the last customer's receipt is not this one's
            self.last_slip = None
        self._show_warning(None)
        self._show_view(view)
        for row, hit in enumerate(self._hits):
            if hit.member.id == member_id:
                self.results.selectRow(row)
                self.results.setCurrentCell(row, 0)
        self._navigated = False
        self._set_hint(self.tr("Member open. Scan or type to find the next one; Esc clears."))
        self.search_edit.selectAll()  # the next scan replaces the text
        self.focus_search()
        self.memberOpened.emit(member_id)
        if then is not None:
            then()

    def _failed(self, error: CrmdeskError) -> None:
        self._opening = False
        link = self._state.link
        if link is not None and not link.offline and server_is_away(error):
            link.went_away()
            if link.cache is not None and self._last_read is not None:
                self._last_read()  # the same question, of the member cache
                return
        self._set_hint(error_text(error))

    def _show_offline(self, offline_now: bool) -> None:
        link = self._state.link
        if link is None or not offline_now:
            self.offline_label.hide()
            return
        when = link.cache_time
        self.offline_label.setText(self.tr(
            "The server cannot be reached: this till works offline. Members come from this computer's copy ({time}); "
            "sales are kept here ({waiting} waiting) and sent when the server is back. Stored value, credit, points "
            "and refunds wait for the server.").format(time=format_time(when) if when else self.tr("none yet"),
                                                         waiting=link.waiting))
        self.offline_label.show()

    def _replayed(self, result: offline_service.ReplayResult) -> None:
        text = self.tr("The server is back: {sent} sales taken offline were recorded there.").format(
            sent=result.recorded + result.already)
        if result.refused:
            text += " " + self.tr("{count} were refused: {details}").format(
                count=len(result.refused), details="; ".join(f"{sale.receipt_no}: {sale.message}" for sale in result.refused))
        self._show_result(text)
        self.refresh_member()

    def _offline_refused(self, what: str) -> bool:
        """While offline, what needs the server's balances is refused, with the reason."""
        link = self._state.link
        if link is None or not link.offline:
            return False
        self._show_result(error_text(offline_service.refuse_offline(what)))
        return True

    def _refresh_hit(self, profile: MemberProfile) -> None:
        """The match list shows the member's figures as they are now, not as they were when searched."""
        for row, hit in enumerate(self._hits):
            if hit.member.id == profile.id:
                member = replace(hit.member, name=profile.name, status=profile.status, tier_name=profile.tier_name,
                                 points_balance=profile.points_balance,
                                 card_number=profile.active_card.number if profile.active_card else None)
                self._hits[row] = replace(hit, member=member)
                self._fill_hit_row(row, member)

    def _show_profile(self, profile: MemberProfile | None) -> None:
        self.profile = profile
        if profile is None:
            self.figures = None  # nothing of the last customer stays
        self.empty_label.setVisible(profile is None)
        self.filler.setVisible(profile is None)
        for part in (self.header, self.details_scroll):
            part.setVisible(profile is not None)
        self._update_buttons()
        self.offers.show_member(profile.id if profile is not None else None)
        if profile is None:
            return
        self.details_scroll.verticalScrollBar().setValue(0)
        today = shop_time.today()
        self.name_label.setText(profile.name)
        colour = QColor(profile.tier_colour or "#808080")
        if not colour.isValid():
            colour = QColor("#808080")
        self.tier_label.setText(profile.tier_name)
        self.tier_label.setVisible(bool(profile.tier_name))
        self.tier_label.setStyleSheet(
            f"background: {colour.name()}; color: {_readable_on(colour)}; border-radius: 10px; padding: 3px 12px;"
            " font-size: 15px; font-weight: bold;"
        )
        self.discount_label.setText(self.tr("Member discount {percent} %").format(percent=percent_text(profile.tier_discount_bp)))
        self.discount_label.setVisible(profile.tier_discount_bp > 0)
        self.points_label.setText(f"{profile.points_balance:,}")
        money_parts = []
        if profile.wallet_fen:
            money_parts.append(self.tr("Stored value {amount}").format(amount=format_fen(profile.wallet_fen)))
        if profile.credit_limit_fen is not None or profile.credit_owed_fen:
            if profile.credit_frozen:
                money_parts.append(self.tr("Credit stopped; owes {owed}").format(owed=format_fen(profile.credit_owed_fen)))
            else:
                money_parts.append(self.tr("On credit: owes {owed}, {available} left").format(
                    owed=format_fen(profile.credit_owed_fen), available=format_fen(profile.credit_available_fen)))
        self.money_label.setText("  ·  ".join(money_parts))
        self.money_label.setVisible(bool(money_parts))
        self.number_label.setText(" · ".join(part for part in (profile.member_no, display_phone(profile.phone)) if part))
        self.birthday_badge.setVisible(profile.birthday_in_month(today))
        if profile.birthday is not None:
            self.birthday_badge.setText(self.tr("Birthday this month ({date})").format(date=profile.birthday.strftime("%m-%d")))
        self._show_figures(profile, self.figures)

        warnings = []
        if profile.status is MemberStatus.FROZEN:
            warnings.append(self.tr("FROZEN: no offers or points redemption; a purchase needs a supervisor's approval (F5)."))
        if profile.status is MemberStatus.CLOSED:
            warnings.append(self.tr("CLOSED membership."))
        for card in profile.lost_cards:
            warnings.append(self.tr("Card {number} was reported lost on {date}.").format(
                number=card.number, date=format_time(card.ended_at)))
        owing = self.credit_info if self.credit_info is not None and self.credit_info.member_id == profile.id else None
        if owing is not None and owing.overdue_fen:
            warnings.append(self.tr("{amount} overdue on credit, the oldest by {days} days: remind the member (F11 repays).").format(
                amount=format_fen(owing.overdue_fen), days=f"{owing.oldest_overdue_days:,}"))
        self.warnings_label.setText("\n".join(warnings))
        self.warnings_label.setVisible(bool(warnings))

        active = profile.active_card
        if active is not None:
            self.card_label.setText(self.tr("Card: {number}").format(number=active.number))
        elif profile.status is MemberStatus.CLOSED:
            self.card_label.setText(self.tr("No working card."))
        else:
            self.card_label.setText(self.tr("No card yet: F3 issues one."))
        self.totals_label.setText(
            self.tr("Visits: {visits} · Spend: {spend} · Average basket: {average}").format(
                visits=f"{profile.visit_count:,}", spend=format_fen(profile.total_spend_fen),
                average=format_fen(profile.average_basket_fen))
        )
        self.complaints_label.setText(self.tr("Open complaints: {count}").format(count=profile.open_complaints))
        self.complaints_label.setProperty("open", "true" if profile.open_complaints else "false")
        self.complaints_label.style().unpolish(self.complaints_label)
        self.complaints_label.style().polish(self.complaints_label)
        self.expiring_label.setText("\n".join(
            self.tr("{points} points expire on {date}").format(points=f"{lot.points:,}", date=lot.expires_on.isoformat())
            for lot in self.expiring))
        self.expiring_label.setVisible(bool(self.expiring))

        self.visits.setRowCount(len(profile.recent_visits))
        for row, visit in enumerate(profile.recent_visits):
            kind = purchase_kind_text(PurchaseKind.REFUND if visit.refund else PurchaseKind.SALE)
            amount = format_fen(-visit.amount_fen if visit.refund else visit.amount_fen)
            values = (format_time(visit.occurred_at), visit.till, visit.receipt_no, kind, amount)
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                if column == 4:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if visit.refund:
                    item.setForeground(QColor("#b3261e"))
                self.visits.setItem(row, column, item)
        self.visits.setVisible(bool(profile.recent_visits))
        offline_now = self._state.link is not None and self._state.link.offline
        self.no_visits_label.setText(self.tr("Recent purchases are on the server; they show when it is back.")
                                     if offline_now else self.tr("No visits yet."))
        self.no_visits_label.setVisible(not profile.recent_visits)

    def _show_figures(self, profile: MemberProfile, figures: MemberFigures | None) -> None:
        """The segment badge, and the churn badge for a member drifting away; nothing without figures. A member
        who has come since the refresh is no longer away: no churn badge then."""
        self.segment_badge.setVisible(figures is not None)
        self.churn_badge.hide()
        if figures is None:
            return
        segment = insight_rules.SEGMENT_LABELS.get(figures.segment)
        self.segment_badge.setText(_insight(segment) if segment else figures.segment)
        rule = insight_rules.SEGMENT_RULES.get(figures.segment)
        self.segment_badge.setToolTip(_insight(rule) if rule else "")
        last_day = shop_time.local_day(profile.last_visit_at) if profile.last_visit_at is not None else None
        if not figures.drifting or (last_day is not None and last_day > figures.as_of):
            return
        days = (shop_time.today() - last_day).days if last_day is not None else figures.recency_days
        if figures.alert == "gap":
            reason = insight_figures.alert_reason("gap", figures.alert_usual, days, QCoreApplication.translate)
            text = self.tr("Churn alert: {reason}").format(reason=reason)
        elif figures.alert is not None:
            text = self.tr("Churn alert: {reason}").format(reason=figures.alert_reason(QCoreApplication.translate))
        else:  # a stage between active and lost
            stage = insight_rules.STAGE_LABELS.get(figures.stage, figures.stage)
            text = self.tr("{stage}: last visit {days} days ago").format(stage=_insight(stage), days=days)
        self.churn_badge.setText(text)
        self.churn_badge.setToolTip(self.tr("Coming less than usual: a friendly word may bring them back."))
        self.churn_badge.show()

    def _update_buttons(self) -> None:
        profile = self.profile
        has_card = profile is not None and profile.active_card is not None
        self.card_button.setText(self.tr("Replace card… (F3)") if has_card else self.tr("Issue card (F3)"))
        self.card_button.setEnabled(profile is not None and profile.status is not MemberStatus.CLOSED)
        self.lost_button.setEnabled(has_card)
        active = profile is not None and profile.status is MemberStatus.ACTIVE
        # A frozen member may still buy, with a supervisor's approval (PurchaseDialog asks for it).
        self.purchase_button.setEnabled(profile is not None and profile.status is not MemberStatus.CLOSED)
        self.refund_button.setEnabled(profile is not None)
        self.redeem_button.setEnabled(active and profile is not None and profile.points_balance > 0)
        self.top_up_button.setEnabled(active)
        self.repay_button.setEnabled(profile is not None and profile.credit_owed_fen > 0)

    # ------------------------------------------------------------------ actions

    def clear(self) -> None:
        """Esc: empty the search, the matches and the member panel."""
        self._timer.stop()
        self._state.operations.forget("search", "member")  # an answer still on its way opens nobody now
        self._opening = False
        self.search_edit.clear()
        self._show_hits([])
        self._show_warning(None)
        self._show_profile(None)
        self.result_label.hide()
        self.last_slip = None
        self._navigated = False
        self._set_hint(self.tr("Scan a card or type to find a member. F2 registers a new member."))
        self.focus_search()

    def new_member(self) -> None:
        """F2: the fast registration form, prefilled from what was typed."""
        if self.new_member_dialog is not None and self.new_member_dialog.isVisible():
            return
        prefill = "" if self.profile is not None else self.search_edit.text()
        dialog = NewMemberDialog(self._state, self, prefill=prefill)
        self.new_member_dialog = dialog
        dialog.finished.connect(lambda result, d=dialog: self._new_member_done(d, result))
        dialog.open()

    def _new_member_done(self, dialog: NewMemberDialog, result: int) -> None:
        if result == QDialog.DialogCode.Accepted and dialog.member_id is not None:
            self.search_edit.clear()
            self._show_hits([])
            if dialog.opened_existing:
                self.open_member(dialog.member_id)
            else:
                self.open_member(dialog.member_id, then=lambda: self.profile is not None and self._set_hint(
                    self.tr("Registered {name} as {member_no}.").format(name=self.profile.name,
                                                                         member_no=self.profile.member_no)))
        self.new_member_dialog = None
        self._back_from_dialog()

    def card_action(self) -> None:
        """F3: issue a card to the member on screen, or replace the working one."""
        if self._opening or self.profile is None or not self.card_button.isEnabled():
            return
        dialog = CardDialog(self._state, self.profile, self)
        self.card_dialog = dialog
        dialog.finished.connect(lambda result, d=dialog: self._card_done(d, result))
        dialog.open()

    def _card_done(self, dialog: CardDialog, result: int) -> None:
        if result == QDialog.DialogCode.Accepted and dialog.issued_number:
            self.refresh_member()
            self._set_hint(self.tr("Card {number} now works for {name}.").format(number=dialog.issued_number, name=dialog.profile.name))
        self.card_dialog = None
        self._back_from_dialog()

    def report_lost(self) -> None:
        """F4: stop the member's working card at once."""
        if self._opening or self.profile is None or self.profile.active_card is None:
            return
        number = self.profile.active_card.number
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(self.tr("Report card lost"))
        box.setText(self.tr("Report card {number} of {name} as lost? It stops working at once; scanning it later shows a warning.").format(
            number=number, name=self.profile.name))
        confirm = box.addButton(self.tr("Report lost (Enter)"), QMessageBox.ButtonRole.AcceptRole)
        box.addButton(self.tr("Cancel (Esc)"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(confirm)
        self.lost_box = box
        box.finished.connect(lambda _result, b=box, c=confirm, n=number: self._lost_done(b.clickedButton() is c, n))
        box.open()

    def _lost_done(self, confirmed: bool, number: str) -> None:
        self.lost_box = None
        if confirmed:
            db, actor = self._state.db, self._state.actor

            def work() -> None:
                with unit_of_work(db) as session:
                    cards_service.report_lost(session, actor, number)

            def done(_none: None) -> None:
                self.refresh_member()
                self._set_hint(self.tr("Card {number} is reported lost. F3 gives the member a new card.").format(number=number))

            self._state.operations.run(work, done, lambda error: self._set_hint(error_text(error)))
        self._back_from_dialog()

    # ------------------------------------------------------------------ money: purchase, refund, redeem

    def _dialog_open(self) -> bool:
        """A dialog is up, or the member on screen is about to change: no second dialog, no action for them."""
        if self._opening:
            return True
        return any(d is not None and d.isVisible() for d in (
            self.purchase_dialog, self.refund_dialog, self.redeem_dialog, self.complaint_dialog, self.survey_dialog,
            self.money_dialog, self.slips.preview))

    def _show_result(self, text: str) -> None:
        self.result_label.setText(text)
        self.result_label.show()
        self._set_hint(text)

    def record_purchase(self) -> None:
        """F5: record a sale for the member on screen."""
        if self.profile is None or not self.purchase_button.isEnabled() or self._dialog_open():
            return
        self._open_dialog("purchase_dialog", PurchaseDialog, self._purchase_done)

    def _open_dialog(self, slot: str, dialog_class: Any, done: Callable[[Any, int], None]) -> None:
        """A dialog for the member on show, built with what its ``setup`` reads."""
        assert self.profile is not None
        profile, state = self.profile, self._state

        def make(setup: Any) -> QDialog:
            dialog = dialog_class(state, profile, setup, self)
            dialog.finished.connect(lambda result, d=dialog: done(d, result))
            return dialog

        self._open_when_read(slot, lambda session: dialog_class.setup(session, profile), make, state.reading_db())

    def _open_when_read(self, slot: str, read: Callable[[Session], Any], make: Callable[[Any], QDialog],
                        db: Database) -> None:
        """Open the dialog ``make`` builds once ``read`` has answered on the operations thread (F5 never waits on
        the database), unless the cashier moved on to another customer meanwhile; ``slot`` names the attribute
        that holds it while it is up."""
        member_id = self._member_on_screen()
        self._opening = True

        def ready(setup: Any) -> None:
            self._opening = False
            if self._member_on_screen() != member_id:
                return  # Esc, or the next scan, meanwhile
            dialog = make(setup)
            setattr(self, slot, dialog)
            dialog.open()

        self._state.operations.read(db, read, ready, self._failed)

    def _purchase_done(self, dialog: PurchaseDialog, result: int) -> None:
        outcome = dialog.result_value
        if result == QDialog.DialogCode.Accepted and dialog.queued is not None:
            self._show_result(self.tr("Sale {amount} kept on this till (receipt {receipt}): the server is away; it is "
                                      "recorded there, with its points, as soon as it is back.").format(
                amount=format_fen(dialog.queued.amount_fen), receipt=dialog.queued.receipt_no))
        elif result == QDialog.DialogCode.Accepted and outcome is not None:
            self.refresh_member(then=lambda: self._tell_purchase(dialog, outcome))
        elif result == QDialog.DialogCode.Accepted and dialog.already:  # sent again after the connection broke
            self.refresh_member(then=lambda: self._show_result(dialog.already or ""))
        self.purchase_dialog = None
        self._back_from_dialog()

    def _tell_purchase(self, dialog: PurchaseDialog, outcome: purchases_service.PurchaseResult) -> None:
        """What the sale did, with the wallet and the debt as they now are."""
        if outcome.already_recorded:
            self._show_result(self.tr("Receipt {receipt} of till {till} was already recorded; nothing changed.").format(
                receipt=dialog.receipt_no, till=dialog.till or "-"))
            return
        text = self.tr("Purchase {amount} recorded (receipt {receipt}): +{points} points, {balance} points now.").format(
            amount=format_fen(dialog.amount_fen), receipt=outcome.receipt_no, points=f"{outcome.points:,}",
            balance=f"{outcome.balance:,}")
        if outcome.new_tier:
            text += " " + self.tr("Upgraded to {tier}!").format(tier=outcome.new_tier)
        code, part = dialog.account_code(), dialog.paid_from_account
        if code == "wallet" and part and self.profile is not None:
            text += " " + self.tr("{part} from the wallet; it holds {total}.").format(
                part=format_fen(part), total=format_fen(self.profile.wallet_fen))
        elif code == "credit" and part and self.profile is not None:
            text += " " + self.tr("{part} on credit; owes {owed}.").format(
                part=format_fen(part), owed=format_fen(self.profile.credit_owed_fen))
            said = text

            def iou(charge: int | None) -> None:  # the IOU the member signs for it
                self._show_result(said + self._slip_made("iou", charge) if charge is not None else said)

            purchase_id = outcome.purchase_id
            self._state.operations.read(self._state.db, lambda session: credit_service.charge_of(session, purchase_id),
                                        iou, lambda _error: self._show_result(said))
            return
        self._show_result(text)

    def refund(self) -> None:
        """F6: refund (part of) one of the member's sales."""
        if self.profile is None or not self.refund_button.isEnabled() or self._dialog_open():
            return
        if self._offline_refused("refund"):
            return
        dialog = RefundDialog(self._state, self.profile, self)
        self.refund_dialog = dialog
        dialog.finished.connect(lambda result, d=dialog: self._refund_done(d, result))
        dialog.open()

    def _refund_done(self, dialog: RefundDialog, result: int) -> None:
        outcome = dialog.result_value
        if result == QDialog.DialogCode.Accepted and outcome is not None:
            self.refresh_member()
            if outcome.already_recorded:
                self._show_result(self.tr("That refund was already recorded; nothing changed."))
            else:
                self._show_result(self.tr("Refund recorded: {points} points taken back, {balance} points now.").format(
                    points=f"{-outcome.points:,}", balance=f"{outcome.balance:,}"))
        elif result == QDialog.DialogCode.Accepted and dialog.already:  # sent again after the connection broke
            self.refresh_member(then=lambda: self._show_result(dialog.already or ""))
        self.refund_dialog = None
        self._back_from_dialog()

    def redeem(self) -> None:
        """F7: spend points."""
        if self.profile is None or not self.redeem_button.isEnabled() or self._dialog_open():
            return
        if self._offline_refused("redeem"):
            return
        self._open_dialog("redeem_dialog", RedeemDialog, self._redeem_done)

    def _redeem_done(self, dialog: RedeemDialog, result: int) -> None:
        self._after_money(dialog, result, dialog.new_balance is not None, lambda: self.tr(
            "Redeemed {points} points ({value} off); {balance} points left.").format(
            points=f"{dialog.points:,}", value=format_fen(dialog.value_fen(dialog.points)), balance=f"{dialog.new_balance:,}"))
        self.redeem_dialog = None
        self._back_from_dialog()

    def _after_money(self, dialog: EnterDialog, result: int, done: bool, tell: Callable[[], str]) -> None:
        """After a money dialog: the member's figures again and what happened -- or that it had been done already
        (asked again after a network failure, services/requests.py)."""
        if result == QDialog.DialogCode.Accepted and (dialog.already or done):
            self.refresh_member()
            self._show_result(dialog.already or tell())

    # ------------------------------------------------------------------ the member's money: top up, repay

    def _open_money(self, what: str, button: QPushButton, dialog_class: type[TopUpDialog | RepayDialog],
                    done: Callable[[QDialog, int], None]) -> None:
        if self.profile is None or not button.isEnabled() or self._dialog_open() or self._offline_refused(what):
            return
        self._open_dialog("money_dialog", dialog_class, done)

    def top_up(self) -> None:
        """F10: money paid into the member's stored value, with the bonus the owner's rules give."""
        self._open_money("top_up", self.top_up_button, TopUpDialog, self._top_up_done)  # type: ignore[arg-type]

    def _top_up_done(self, dialog: TopUpDialog, result: int) -> None:
        outcome = dialog.result_value

        def told() -> str:
            assert outcome is not None
            text = self.tr("Topped up {amount}; the wallet holds {total}.").format(
                amount=format_fen(outcome.principal_fen), total=format_fen(outcome.balance.total_fen))
            if outcome.rule is not None:
                text += " " + self.tr("Bonus {bonus} ({rule}).").format(bonus=format_fen(outcome.bonus_fen), rule=outcome.rule.label)
            return text + self._slip_made("topup", outcome.entry_id)

        self._after_money(dialog, result, outcome is not None, told)
        self.money_dialog = None
        self._back_from_dialog()

    def repay(self) -> None:
        """F11: the member pays back (part of) what they owe."""
        self._open_money("repay", self.repay_button, RepayDialog, self._repay_done)  # type: ignore[arg-type]

    def _repay_done(self, dialog: RepayDialog, result: int) -> None:
        outcome = dialog.result_value
        self._after_money(dialog, result, outcome is not None, lambda: self.tr(
            "Repayment of {amount} recorded; still owes {owed}.").format(
            amount=format_fen(outcome.amount_fen), owed=format_fen(outcome.owed_fen)))  # type: ignore[union-attr]
        self.money_dialog = None
        self._back_from_dialog()

    # ------------------------------------------------------------------ slips: top-up receipt, IOU

    def _slip_made(self, kind: str, entry_id: int) -> str:
        """Keep the slip for Ctrl+P and print it at once on this computer's receipt printer; the words to add."""
        self.last_slip = (kind, entry_id)
        if preferences.load().receipt_printer:
            self.slips.print_slip(kind, entry_id)
            return ""
        if kind == "iou":
            return " " + self.tr("Ctrl+P prints the IOU for the member to sign.")
        return " " + self.tr("Ctrl+P prints the receipt.")

    def print_last_slip(self) -> None:
        """Ctrl+P: (re)print the slip of the last top-up or purchase on credit."""
        if self.last_slip is None or self._dialog_open():
            return
        self.slips.print_slip(*self.last_slip)

    def _slip_done(self, text: str) -> None:
        if text:
            self._show_result(self.result_label.text() + " " + text if self.result_label.isVisible() else text)
        self._back_from_dialog()

    # ------------------------------------------------------------------ customer care: complaints and surveys

    def _member_on_screen(self) -> int | None:
        return self.profile.id if self.profile is not None else None

    def log_complaint(self) -> None:
        """F8: log a complaint for the member on screen, or for a walk-in customer when nobody is."""
        if self._dialog_open():
            return
        from crmdesk.views.complaint_form import ComplaintFormDialog

        member_id = self._member_on_screen()

        def make(form: Any) -> QDialog:
            dialog = ComplaintFormDialog(self._state, form, self)
            dialog.complaintLogged.connect(self._complaint_logged)
            dialog.finished.connect(lambda _result: self._care_done())
            return dialog

        self._open_when_read("complaint_dialog", lambda session: ComplaintFormDialog.setup(session, member_id), make,
                             self._state.db)

    def _complaint_logged(self, complaint_id: int) -> None:
        if self.profile is not None:
            self.refresh_member()
        self._show_result(self.tr("Complaint {number} logged; the Complaints area follows it to closure.").format(
            number=complaint_id))
        self.complaintLogged.emit(complaint_id)

    def take_survey(self) -> None:
        """F9: the short satisfaction survey, with or without a member."""
        if self._dialog_open():
            return
        from crmdesk.views.survey_dialog import SurveyDialog

        member_id = self._member_on_screen()

        def make(form: Any) -> QDialog:
            dialog = SurveyDialog(self._state, form, self)
            dialog.surveyRecorded.connect(lambda _id: self._show_result(self.tr("Thank you: the survey is recorded.")))
            dialog.finished.connect(lambda _result: self._care_done())
            return dialog

        self._open_when_read("survey_dialog", lambda session: SurveyDialog.setup(session, member_id), make, self._state.db)

    def _care_done(self) -> None:
        self.complaint_dialog = None
        self.survey_dialog = None
        self._back_from_dialog()
