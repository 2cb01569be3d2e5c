"""A member's full profile: details (editable), cards, history of changes, status and merging,
purchases (paged, newest first, with totals) and points (ledger, open lots, adjustments); consent with
when and who recorded it, and the privacy requests (the member's copy of their data, erasing it: see
views/privacy_dialogs.py and services/privacy.py).

Later issues add tabs (purchases, points, complaints) to ``MemberProfileDialog.tabs``.
Every action calls a service; the services check permissions again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from datetime import date
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QDate, Qt
from PySide6.QtGui import QIntValidator, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDateEdit, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox,
    QHBoxLayout, QHeaderView, QInputDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem, QMenu, QMessageBox,
    QPlainTextEdit, QPushButton, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)
from sqlalchemy.orm import Session

from crmdesk import shop_time
from crmdesk.errors import CrmdeskError, InvalidInput
from crmdesk.models import Gender, MarketingConsent, MemberStatus, PurchaseKind
from crmdesk.reports.cards import CardLayout
from crmdesk.reports.documents import CardsRequest, MemberReportRequest
from crmdesk.services import cards as card_service
from crmdesk.services import complaints, insight_figures, insight_rules, loyalty, members, privacy, purchases
from crmdesk.services import search as search_service
from crmdesk.services.auth import Permission, can
from crmdesk.services.exports import p_alive_text
from crmdesk.services.insight_figures import MemberFigures
from crmdesk.services.member_query import GENDER_LABELS, STATUS_LABELS
from crmdesk.services.members import CONSENT_LABELS, HISTORY_LABELS, SOURCE_LABELS, DuplicateMember, MemberBrief, MemberProfile, display_phone
from crmdesk.services.live import Changes
from crmdesk.shop_time import format_time
from crmdesk.texts import QT_TRANSLATE_NOOP
from crmdesk.views.common import error_text, format_fen, mark_data
from crmdesk.views.report_preview import ReportPreviewDialog, open_preview
from crmdesk.views.money_tabs import CreditTab, WalletTab
from crmdesk.views.privacy_dialogs import EraseMemberDialog, ExportDataThread, consent_text
from crmdesk.views.live_changes import follow
from crmdesk.views.state import AppState
from crmdesk.views.terms import ledger_reason_text, payment_method_text, points_kind_text, purchase_kind_text, source_text

# Values of those events: consent given; why the personal data was erased.
HISTORY_VALUES = {
    ("data_consent", "given"): QT_TRANSLATE_NOOP("history", "given"),
    ("erased", "request"): QT_TRANSLATE_NOOP("history", "on the member's request"),
    ("erased", "retention"): QT_TRANSLATE_NOOP("history", "retention period over"),
}
PURCHASES_PAGE = 50
LEDGER_LIMIT = 500  # the newest entries; older ones stay in the database and in exports
NO_BIRTHDAY = QDate(1899, 12, 31)  # the lowest date of the birthday box stands for "not given"


def _translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


def brief_line(brief: MemberBrief) -> str:
    """One line naming a member: number, name, phone, status."""
    parts = [brief.member_no, brief.name, display_phone(brief.phone), _translate("terms", STATUS_LABELS[brief.status])]
    return "  ·  ".join(part for part in parts if part)


def _history_value(field: str, value: str) -> str:
    enums = {"status": (MemberStatus, STATUS_LABELS), "gender": (Gender, GENDER_LABELS),
             "marketing_consent": (MarketingConsent, CONSENT_LABELS)}
    if field in enums and value:
        kind, labels = enums[field]
        try:
            return _translate("terms", labels[kind(value)])  # type: ignore[index]
        except ValueError:
            return value
    if field == "source":
        return source_text(value) if value else ""
    if (field, value) in HISTORY_VALUES:
        return _translate("history", HISTORY_VALUES[(field, value)])
    return value


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.verticalHeader().hide()
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    return table


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, text in enumerate(values):
            table.setItem(r, c, QTableWidgetItem(text))


class MergeDialog(QDialog):
    """Find the member to merge into this one, and show both before anything happens."""

    def __init__(self, state: AppState, keep: MemberProfile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._keep = keep
        self.chosen: MemberBrief | None = None
        self.setWindowTitle(self.tr("Merge another member into this one"))
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr(
            "Cards, purchases, points, complaints, tags and history of the member you choose move to the member "
            "on the left; the member you choose is then closed. This cannot be undone."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText(self.tr("Card, phone, name or pinyin of the other member"))
        self.search_edit.textChanged.connect(self.search)
        layout.addWidget(self.search_edit)
        self.results = QListWidget()
        mark_data(self.results)
        self.results.currentRowChanged.connect(self._choose_row)
        layout.addWidget(self.results, 1)

        both = QGridLayout()
        keep_box = QGroupBox(self.tr("Keep"))
        keep_layout = QVBoxLayout(keep_box)
        self.keep_label = QLabel(self._describe_profile(keep))
        self.keep_label.setWordWrap(True)
        mark_data(self.keep_label)
        keep_layout.addWidget(self.keep_label)
        gone_box = QGroupBox(self.tr("Merge in and close"))
        gone_layout = QVBoxLayout(gone_box)
        self.gone_hint = QLabel(self.tr("Choose a member above."))
        gone_layout.addWidget(self.gone_hint)
        self.gone_label = QLabel()
        self.gone_label.setWordWrap(True)
        mark_data(self.gone_label)
        gone_layout.addWidget(self.gone_label)
        both.addWidget(keep_box, 0, 0)
        both.addWidget(gone_box, 0, 1)
        layout.addLayout(both)

        self.message = QLabel()
        self.message.setObjectName("errorLabel")
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)
        buttons = QDialogButtonBox()
        self.merge_button = buttons.addButton(self.tr("&Merge"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.merge_button.setEnabled(False)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._hits: list[MemberBrief] = []

    def _describe_profile(self, profile: MemberProfile) -> str:
        card = profile.active_card.number if profile.active_card else "—"
        return "\n".join([
            f"{profile.name}  ({profile.member_no})",
            display_phone(profile.phone),
            self.tr("Points: {points}   Visits: {visits}   Spend: {spend}").format(
                points=f"{profile.points_balance:,}", visits=f"{profile.visit_count:,}", spend=format_fen(profile.total_spend_fen)),
            self.tr("Card: {card}   Joined: {joined}").format(card=card, joined=profile.joined_on.isoformat()),
        ])

    def search(self, text: str) -> None:
        """The members the text finds (read off the UI thread, the newest keystroke's answer only)."""
        self._state.operations.read(self._state.db, lambda session: search_service.search(session, text), self._show_hits,
                                    key=f"merge-search-{id(self)}", owner=self)

    def _show_hits(self, hits: list[search_service.Hit]) -> None:
        self._hits = [hit.member for hit in hits if hit.member.id != self._keep.id]
        self.results.clear()
        for brief in self._hits:
            self.results.addItem(QListWidgetItem(brief_line(brief)))
        self._choose_row(-1)

    def _choose_row(self, row: int) -> None:
        if not 0 <= row < len(self._hits):
            self.chosen = None
            self.gone_label.setText("")
            self.gone_hint.show()
            self.merge_button.setEnabled(False)
            self.merge_button.setText(self.tr("&Merge"))
            return
        self.choose(self._hits[row].id)

    def choose(self, member_id: int) -> None:
        """Show the member who would be merged in, side by side with the one kept."""
        self._state.operations.read(
            self._state.db, lambda session: (members.profile(session, member_id),
                                             members.briefs(session, [members.get_member_row(session, member_id)])[0]),
            lambda chosen: self._show_chosen(*chosen), key=f"merge-choose-{id(self)}", owner=self)

    def _show_chosen(self, other: MemberProfile, brief: MemberBrief) -> None:
        self.chosen = brief
        self.gone_label.setText(self._describe_profile(other))
        self.gone_hint.hide()
        self.merge_button.setEnabled(True)
        self.merge_button.setText(self.tr("&Merge {name} into {keep}").format(name=other.name, keep=self._keep.name))


class AdjustPointsDialog(QDialog):
    """Points to add (or take away, with a minus sign) and the reason, kept in the ledger."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Adjust points"))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.points_edit = QLineEdit()
        self.points_edit.setPlaceholderText(self.tr("e.g. 200 or -150"))
        self.points_edit.setValidator(QIntValidator(-99_999_999, 99_999_999, self))
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText(self.tr("required, e.g. points lost in the old system"))
        form.addRow(self.tr("&Points:"), self.points_edit)
        form.addRow(self.tr("&Reason:"), self.reason_edit)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def points(self) -> int:
        try:
            return int(self.points_edit.text().strip())
        except ValueError:
            return 0


class MemberProfileDialog(QDialog):
    """Everything about one member. ``changed`` tells the opener to refresh its list."""

    def __init__(self, state: AppState, member_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.member_id = member_id
        self.member_complaints: list[complaints.ComplaintInfo] = []
        self.changed = False
        self.refused = False  # the last change was refused: its reason is on show
        self.profile: MemberProfile | None = None
        self.purchase_offset = 0
        self.duplicates: tuple[MemberBrief, ...] = ()
        self.resize(760, 600)
        self.setWindowTitle(self.tr("Member"))
        follow(state, self.follow_changes)

        layout = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setObjectName("pageHeading")
        mark_data(self.heading)
        layout.addWidget(self.heading)
        self.summary = QLabel()
        self.summary.setObjectName("hintLabel")
        self.summary.setWordWrap(True)
        mark_data(self.summary)
        layout.addWidget(self.summary)
        # Customer insight at the last refresh: hidden for a member who never bought (or before any refresh).
        self.insight_label = QLabel()
        self.insight_label.setObjectName("hintLabel")
        self.insight_label.setWordWrap(True)
        self.insight_label.hide()
        layout.addWidget(self.insight_label)
        self.figures: MemberFigures | None = None

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_details(), self.tr("&Details"))
        self.tabs.addTab(self._build_cards(), self.tr("&Cards"))
        self.tabs.addTab(self._build_history(), self.tr("&History"))
        self.tabs.addTab(self._build_purchases(), self.tr("P&urchases"))
        self.tabs.addTab(self._build_points(), self.tr("Poin&ts"))
        self.tabs.addTab(self._build_complaints(), self.tr("Com&plaints"))
        self.wallet_tab = WalletTab(state)
        self.credit_tab = CreditTab(state)
        for tab in (self.wallet_tab, self.credit_tab):
            tab.changed.connect(self._money_changed)
        self.tabs.addTab(self.wallet_tab, self.tr("Stored &value"))
        self.tabs.addTab(self.credit_tab, self.tr("Cr&edit"))
        layout.addWidget(self.tabs, 1)

        self.message = QLabel()
        self.message.setObjectName("errorLabel")
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)
        self.notice = QLabel()
        self.notice.setObjectName("hintLabel")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        mark_data(self.notice)
        self.notice.hide()
        layout.addWidget(self.notice)

        actions = QHBoxLayout()
        self.freeze_button = QPushButton(self.tr("&Freeze…"))
        self.close_member_button = QPushButton(self.tr("Cl&ose membership…"))
        self.reopen_button = QPushButton(self.tr("&Reopen…"))
        self.freeze_button.clicked.connect(lambda: self.ask_status(MemberStatus.FROZEN))
        self.close_member_button.clicked.connect(lambda: self.ask_status(MemberStatus.CLOSED))
        self.reopen_button.clicked.connect(lambda: self.ask_status(MemberStatus.ACTIVE))
        self.merge_button = QPushButton(self.tr("&Merge another member into this one…"))
        self.merge_button.clicked.connect(self.ask_merge)
        for button in (self.freeze_button, self.close_member_button, self.reopen_button, self.merge_button):
            actions.addWidget(button)
        actions.addStretch(1)
        self.print_button = QPushButton(self.tr("&Print report…"))
        self.print_button.clicked.connect(self.print_report)
        self.print_card_button = QPushButton(self.tr("Print ca&rd…"))
        self.print_card_button.clicked.connect(self.print_card)
        actions.addWidget(self.print_button)
        actions.addWidget(self.print_card_button)
        # Privacy requests (个人信息保护法): the member's copy of their data, erasing it. Shown to those allowed.
        self.personal_data_button = QPushButton(self.tr("Persona&l data"))
        self.personal_data_menu = QMenu(self.personal_data_button)
        self.export_data_action = self.personal_data_menu.addAction(self.tr("E&xport member's data…"))
        self.export_data_action.triggered.connect(self.ask_export_data)
        self.erase_action = self.personal_data_menu.addAction(self.tr("&Erase personal data…"))
        self.erase_action.triggered.connect(self.ask_erase)
        self.personal_data_button.setMenu(self.personal_data_menu)
        actions.addWidget(self.personal_data_button)
        self.export_thread: ExportDataThread | None = None
        close = QPushButton(self.tr("Close (Esc)"))
        close.clicked.connect(self.reject)
        actions.addWidget(close)
        layout.addLayout(actions)
        # Until the member is read (off the UI thread) there is nothing to act on: only Close works.
        self._waiting = [self.tabs, self.freeze_button, self.close_member_button, self.reopen_button, self.merge_button,
                         self.print_button, self.print_card_button, self.personal_data_button]
        for widget in self._waiting:
            widget.setEnabled(False)
        self.reload()

    # ---- printing

    def print_report(self) -> ReportPreviewDialog:
        self.preview = open_preview(self, self._state, MemberReportRequest(self.member_id), self.tr("Member report"),
                                    subject=self.profile.member_no if self.profile else "")
        return self.preview

    def print_card(self) -> ReportPreviewDialog:
        request = CardsRequest(member_ids=(self.member_id,), layout=CardLayout.SINGLE)
        self.preview = open_preview(self, self._state, request, self.tr("Membership card"),
                                    subject=self.profile.member_no if self.profile else "")
        return self.preview

    # ---- building

    def _build_details(self) -> QWidget:
        page = QWidget()
        outer = QVBoxLayout(page)
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.phone_edit = QLineEdit()
        self.phone_edit.setPlaceholderText(self.tr("11-digit mobile number"))
        self.gender_box = QComboBox()
        for gender in Gender:
            self.gender_box.addItem(_translate("terms", GENDER_LABELS[gender]), gender)
        self.birthday_edit = QDateEdit()
        self.birthday_edit.setCalendarPopup(True)
        self.birthday_edit.setDisplayFormat("yyyy-MM-dd")
        self.birthday_edit.setMinimumDate(NO_BIRTHDAY)
        self.birthday_edit.setMaximumDate(QDate(shop_time.today()))
        self.birthday_edit.setSpecialValueText(self.tr("not given"))
        self.address_edit = QLineEdit()
        self.email_edit = QLineEdit()
        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText(self.tr("separated by commas, e.g. 老顾客, 宝妈"))
        self.company_edit = QLineEdit()
        self.consent_box = QComboBox()
        for consent in MarketingConsent:
            self.consent_box.addItem(_translate("terms", CONSENT_LABELS[consent]), consent)
        # Where the member came from: the sources crmdesk knows, translated, or the shop's own word.
        self.source_edit = QComboBox()
        self.source_edit.setEditable(True)
        self.source_edit.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for code in SOURCE_LABELS:
            self.source_edit.addItem(source_text(code), code)
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setMaximumHeight(90)
        form.addRow(self.tr("&Name:"), self.name_edit)
        form.addRow(self.tr("&Phone:"), self.phone_edit)
        form.addRow(self.tr("&Gender:"), self.gender_box)
        form.addRow(self.tr("&Birthday:"), self.birthday_edit)
        form.addRow(self.tr("&Address:"), self.address_edit)
        form.addRow(self.tr("&E-mail:"), self.email_edit)
        form.addRow(self.tr("&Tags:"), self.tags_edit)
        form.addRow(self.tr("Co&mpany:"), self.company_edit)
        consent_row = QHBoxLayout()
        consent_row.addWidget(self.consent_box)
        self.consent_note = QLabel()
        self.consent_note.setObjectName("hintLabel")
        mark_data(self.consent_note)
        consent_row.addWidget(self.consent_note, 1)
        consent_label = QLabel(self.tr("Marketing &consent:"))
        consent_label.setBuddy(self.consent_box)
        form.addRow(consent_label, consent_row)
        data_consent_row = QHBoxLayout()
        self.data_consent_label = QLabel()
        mark_data(self.data_consent_label)
        self.data_consent_button = QPushButton()
        self.data_consent_button.setAutoDefault(False)
        self.data_consent_button.clicked.connect(self.toggle_data_consent)
        data_consent_row.addWidget(self.data_consent_label, 1)
        data_consent_row.addWidget(self.data_consent_button)
        form.addRow(self.tr("Keeping data:"), data_consent_row)
        form.addRow(self.tr("&Source:"), self.source_edit)
        form.addRow(self.tr("N&otes:"), self.notes_edit)
        outer.addLayout(form)
        self._field_widgets: dict[str, QWidget] = {
            "name": self.name_edit, "phone": self.phone_edit, "gender": self.gender_box, "birthday": self.birthday_edit,
            "address": self.address_edit, "email": self.email_edit, "tags": self.tags_edit, "notes": self.notes_edit,
            "company": self.company_edit, "marketing_consent": self.consent_box, "source": self.source_edit,
        }

        self.details_message = QLabel()
        self.details_message.setObjectName("errorLabel")
        self.details_message.setWordWrap(True)
        self.details_message.hide()
        outer.addWidget(self.details_message)
        self.duplicate_label = QLabel()
        self.duplicate_label.setWordWrap(True)
        mark_data(self.duplicate_label)
        self.duplicate_label.hide()
        self.open_duplicate_button = QPushButton(self.tr("Open that member"))
        self.open_duplicate_button.clicked.connect(self.open_duplicate)
        self.open_duplicate_button.hide()
        duplicate_row = QHBoxLayout()
        duplicate_row.addWidget(self.duplicate_label, 1)
        duplicate_row.addWidget(self.open_duplicate_button)
        outer.addLayout(duplicate_row)

        row = QHBoxLayout()
        self.save_button = QPushButton(self.tr("&Save (Ctrl+S)"))
        self.save_button.setShortcut(QKeySequence.StandardKey.Save)
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton(self.tr("&Undo changes"))
        self.revert_button.clicked.connect(self.reload)
        self.saved_label = QLabel()
        self.saved_label.setObjectName("hintLabel")
        row.addWidget(self.save_button)
        row.addWidget(self.revert_button)
        row.addWidget(self.saved_label, 1)
        outer.addLayout(row)
        outer.addStretch(1)
        return page

    def _build_cards(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.cards_table = _table([self.tr("Card number"), self.tr("State"), self.tr("Issued"), self.tr("Ended"), self.tr("From import")])
        layout.addWidget(self.cards_table, 1)
        row = QHBoxLayout()
        self.issue_button = QPushButton(self.tr("&Issue card…"))
        self.replace_button = QPushButton(self.tr("&Replace card…"))
        self.lost_button = QPushButton(self.tr("Report &lost"))
        self.issue_button.clicked.connect(self.ask_issue_card)
        self.replace_button.clicked.connect(self.ask_replace_card)
        self.lost_button.clicked.connect(self.ask_report_lost)
        for button in (self.issue_button, self.replace_button, self.lost_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        return page

    def _build_history(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.history_table = _table([self.tr("When"), self.tr("Staff"), self.tr("What"), self.tr("Before"), self.tr("After")])
        layout.addWidget(self.history_table, 1)
        return page

    def _build_purchases(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.purchase_totals_label = QLabel()
        self.purchase_totals_label.setWordWrap(True)
        mark_data(self.purchase_totals_label)
        layout.addWidget(self.purchase_totals_label)
        self.purchases_table = _table([self.tr("Time"), self.tr("Kind"), self.tr("Till"), self.tr("Receipt"), self.tr("Amount"),
                                       self.tr("Points"), self.tr("Payment"), self.tr("Items")])
        layout.addWidget(self.purchases_table, 1)
        row = QHBoxLayout()
        self.previous_page_button = QPushButton(self.tr("< &Newer"))
        self.next_page_button = QPushButton(self.tr("&Older >"))
        self.previous_page_button.clicked.connect(lambda: self.show_purchases(max(0, self.purchase_offset - PURCHASES_PAGE)))
        self.next_page_button.clicked.connect(lambda: self.show_purchases(self.purchase_offset + PURCHASES_PAGE))
        self.purchase_page_label = QLabel()
        mark_data(self.purchase_page_label)
        row.addWidget(self.previous_page_button)
        row.addWidget(self.purchase_page_label)
        row.addWidget(self.next_page_button)
        row.addStretch(1)
        layout.addLayout(row)
        return page

    def _build_points(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.points_balance_label = QLabel()
        self.points_balance_label.setObjectName("pageHeading")
        mark_data(self.points_balance_label)
        layout.addWidget(self.points_balance_label)
        lots_title = QLabel(self.tr("Unspent points by expiry date"))
        layout.addWidget(lots_title)
        self.lots_table = _table([self.tr("Points"), self.tr("Usable until")])
        self.lots_table.setMaximumHeight(130)
        layout.addWidget(self.lots_table)
        ledger_title = QLabel(self.tr("Points ledger, newest first"))
        layout.addWidget(ledger_title)
        self.ledger_table = _table([self.tr("When"), self.tr("Kind"), self.tr("Points"), self.tr("Receipt"), self.tr("Reason"),
                                    self.tr("Staff")])
        layout.addWidget(self.ledger_table, 1)
        row = QHBoxLayout()
        self.adjust_button = QPushButton(self.tr("&Adjust points…"))
        self.adjust_button.clicked.connect(self.ask_adjust_points)
        row.addWidget(self.adjust_button)
        row.addStretch(1)
        layout.addLayout(row)
        return page

    def _build_complaints(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.complaints_table = _table([self.tr("No."), self.tr("Received"), self.tr("Category"), self.tr("Status"),
                                        self.tr("Owner"), self.tr("Resolve by"), self.tr("Description")])
        self.complaints_table.cellDoubleClicked.connect(lambda row, _column: self.open_complaint(row))
        layout.addWidget(self.complaints_table, 1)
        hint = QLabel(self.tr("Double-click a complaint to see its timeline and work on it."))
        hint.setObjectName("hintLabel")
        layout.addWidget(hint)
        return page

    # ---- showing

    def reload(self) -> None:
        """The member as they are now, read off the UI thread: figures, lists, tabs and the details form."""
        self._read_state(lambda state: (self._show_state(*state), self._show_form(state[0])), self._load_failed)

    def follow_changes(self, changes: Changes) -> None:
        """Another till sold to, credited or complained for this member: the figures, lists and tabs as they are
        now; the details being edited here are left as they are."""
        if changes.touches_member(self.member_id):
            # Merged or erased meanwhile: the dialog keeps what it showed.
            self._read_state(lambda state: self._show_state(*state), lambda _error: None)

    def _read_state(self, shown: Callable[[Any], None], failed: Callable[[CrmdeskError], None]) -> None:
        member_id = self.member_id

        def read(session: Session) -> tuple[MemberProfile, list, MemberFigures | None]:  # type: ignore[type-arg]
            return (members.profile(session, member_id), members.history(session, member_id),
                    insight_figures.member_figures(session, member_id))

        self._state.operations.read(self._state.db, read, shown, failed, key=f"profile-{id(self)}", owner=self)

    def _load_failed(self, error: CrmdeskError) -> None:
        self.heading.setText(error_text(error))

    def _show_state(self, profile: MemberProfile, history: list, figures: MemberFigures | None) -> None:  # type: ignore[type-arg]
        self.profile = profile
        self.figures = figures
        for widget in self._waiting:
            widget.setEnabled(True)  # _update_actions then offers what this member and this person allow
        self._waiting = []
        if profile.erased_at is not None:  # the stored label, in the interface's language
            erased = self.tr("Erased member {member_no}").format(member_no=profile.member_no)
            self.setWindowTitle(erased)
            self.heading.setText(erased)
        else:
            self.setWindowTitle(self.tr("Member {name} ({member_no})").format(name=profile.name, member_no=profile.member_no))
            self.heading.setText(f"{profile.name}  ·  {profile.member_no}")
        card = profile.active_card.number if profile.active_card else self.tr("no card")
        self.summary.setText(self.tr(
            "{status} · tier {tier} · {points} points · {visits} visits · spend {spend} · card {card} · joined {joined}").format(
            status=_translate("terms", STATUS_LABELS[profile.status]), tier=profile.tier_name or "—",
            points=f"{profile.points_balance:,}", visits=f"{profile.visit_count:,}", spend=format_fen(profile.total_spend_fen),
            card=card, joined=profile.joined_on.isoformat()))
        self.show_figures(self.figures)
        _fill(self.cards_table, [
            [c.number, _translate("terms", card_service.CARD_STATUS_LABELS[c.status]), format_time(c.issued_at), format_time(c.ended_at),
             self.tr("yes") if c.imported else ""]
            for c in profile.cards
        ])
        _fill(self.history_table, [
            [format_time(h.at), h.staff_name, _translate("history", HISTORY_LABELS[h.field]) if h.field in HISTORY_LABELS else h.field,
             _history_value(h.field, h.old_value), _history_value(h.field, h.new_value)]
            for h in history
        ])
        self.show_purchases(self.purchase_offset)
        self.show_points()
        self.show_complaints()
        self.wallet_tab.show_member(profile)
        self.credit_tab.show_member(profile)
        self._update_actions()

    def _show_form(self, profile: MemberProfile) -> None:
        self.name_edit.setText(profile.name)
        self.phone_edit.setText(display_phone(profile.phone))
        self.gender_box.setCurrentIndex(max(self.gender_box.findData(profile.gender), 0))
        birthday = profile.birthday
        self.birthday_edit.setDate(QDate(birthday.year, birthday.month, birthday.day) if birthday else NO_BIRTHDAY)
        self.address_edit.setText(profile.address)
        self.email_edit.setText(profile.email)
        self.tags_edit.setText(", ".join(profile.tags))
        self.company_edit.setText(profile.company)
        self.consent_box.setCurrentIndex(max(self.consent_box.findData(profile.marketing_consent), 0))
        self.show_consent(profile)
        index = self.source_edit.findData(profile.source)
        self.source_edit.setCurrentIndex(index)
        if index < 0:
            self.source_edit.setEditText(profile.source)
        self.notes_edit.setPlainText(profile.notes)  # what a write just said (Saved., a notice) stays on show

    def show_figures(self, figures: MemberFigures | None) -> None:
        """Segment, ABC class, stage, the purchase model's estimates and any churn alert, in two or three lines."""
        self.insight_label.setVisible(figures is not None)
        if figures is None:
            self.insight_label.clear()
            return

        def word(labels: dict[str, str], code: str | None) -> str:
            return _translate("insight", labels[code]) if code in labels else (code or "—")

        lines = [self.tr("Customer insight as of {date}: {segment} · ABC class {abc} · {stage}").format(
            date=figures.as_of.isoformat(), segment=word(insight_rules.SEGMENT_LABELS, figures.segment),
            abc=word(insight_rules.ABC_LABELS, figures.abc_class), stage=word(insight_rules.STAGE_LABELS, figures.stage))]
        if figures.p_alive is None:
            lines.append(self.tr("Still a customer, expected purchases and 12-month value: not yet reliable."))
        else:
            purchases_text = f"{figures.expected_purchases:.1f}" if figures.expected_purchases is not None else "—"
            value = format_fen(figures.expected_value_fen) if figures.expected_value_fen is not None else "—"
            lines.append(self.tr("Still a customer: {percent} · expected purchases in 12 months: {purchases} · 12-month value: "
                                 "{value}").format(percent=p_alive_text(figures.p_alive), purchases=purchases_text, value=value))
        if figures.alert is not None:
            lines.append(self.tr("Churn alert: {alert} ({reason})").format(
                alert=word(insight_rules.ALERT_LABELS, figures.alert), reason=figures.alert_reason(_translate)))
        self.insight_label.setText("\n".join(lines))

    def show_complaints(self) -> None:
        member_id = self.member_id
        self._state.operations.read(self._state.db, lambda session: complaints.member_complaints(session, member_id),
                                    self._show_complaints, key=f"profile-complaints-{id(self)}", owner=self)

    def _show_complaints(self, rows: list[complaints.ComplaintInfo]) -> None:
        self.member_complaints = rows
        _fill(self.complaints_table, [
            [str(c.id), format_time(c.received_at), _translate("complaints", c.category_name),
             _translate("complaints", complaints.STATUS_LABELS[c.status]) + (" · " + self.tr("overdue") if c.overdue else ""),
             c.owner_name or c.department or "—", c.resolution_due_day.isoformat() if c.resolution_due_day else "",
             c.description.splitlines()[0] if c.description else ""]
            for c in self.member_complaints
        ])

    def open_complaint(self, row: int) -> None:
        from crmdesk.views.complaint_detail import ComplaintDetailDialog

        if not 0 <= row < len(self.member_complaints):
            return
        dialog = ComplaintDetailDialog(self._state, self.member_complaints[row].id, self)
        dialog.changed.connect(lambda _id: self._complaint_changed())
        dialog.exec()

    def _complaint_changed(self) -> None:
        self.changed = True  # goodwill points or a coupon may have come with the resolution
        self.reload()

    def _money_changed(self) -> None:
        self.changed = True  # the member list shows balances and debts
        self.reload()

    def show_purchases(self, offset: int = 0) -> None:
        """One page of the purchase history, newest first, with the member's totals on top (read off the UI thread)."""
        member_id = self.member_id

        def read(session: Session) -> tuple[purchases.PurchaseTotals, list[purchases.PurchaseRow], int]:
            rows = purchases.history_page(session, member_id, offset=offset, limit=PURCHASES_PAGE + 1)
            first = offset
            if not rows and offset:
                first = 0
                rows = purchases.history_page(session, member_id, offset=0, limit=PURCHASES_PAGE + 1)
            return purchases.totals(session, member_id), rows, first

        self._state.operations.read(self._state.db, read, lambda page: self._show_purchases(*page),
                                    key=f"profile-purchases-{id(self)}", owner=self)

    def _show_purchases(self, totals: purchases.PurchaseTotals, rows: list[purchases.PurchaseRow], offset: int) -> None:
        self.purchase_offset = offset
        more = len(rows) > PURCHASES_PAGE
        rows = rows[:PURCHASES_PAGE]
        self.purchase_totals_label.setText(self.tr(
            "Visits: {visits} · Spend: {spend} · Average basket: {average} · First visit: {first} · Last visit: {last}").format(
            visits=f"{totals.visits:,}", spend=format_fen(totals.spend_fen), average=format_fen(totals.average_basket_fen),
            first=format_time(totals.first_visit) or "—", last=format_time(totals.last_visit) or "—"))
        _fill(self.purchases_table, [
            [format_time(r.occurred_at), purchase_kind_text(r.kind), r.till, r.receipt_no,
             format_fen(-r.amount_fen if r.kind is PurchaseKind.REFUND else r.amount_fen), self._points_text(r),
             payment_method_text(r.payment_method), str(r.line_count) if r.line_count else ""]
            for r in rows
        ])
        for r in range(self.purchases_table.rowCount()):
            for c in (4, 5):
                self.purchases_table.item(r, c).setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.previous_page_button.setEnabled(offset > 0)
        self.next_page_button.setEnabled(more)
        if rows:
            self.purchase_page_label.setText(f"{offset + 1:,}–{offset + len(rows):,}")
        else:
            self.purchase_page_label.setText("")

    def _points_text(self, row: purchases.PurchaseRow) -> str:
        """A refund's points say why they are negative: they went back with the money."""
        if row.kind is PurchaseKind.REFUND and row.points:
            return self.tr("{points} (taken back with the refund)").format(points=f"{row.points:+,}")
        return f"{row.points:+,}" if row.points else "0"

    def show_points(self) -> None:
        member_id = self.member_id
        self._state.operations.read(
            self._state.db, lambda session: (loyalty.open_lots(session, member_id),
                                             loyalty.ledger_page(session, member_id, limit=LEDGER_LIMIT)),
            lambda points: self._show_points(*points), key=f"profile-points-{id(self)}", owner=self)

    def _show_points(self, lots: list[loyalty.ExpiringLot], ledger: list[loyalty.LedgerRow]) -> None:
        balance = self.profile.points_balance if self.profile is not None else 0
        self.points_balance_label.setText(self.tr("Balance: {points} points").format(points=f"{balance:,}"))
        _fill(self.lots_table, [
            [f"{lot.points:,}", lot.expires_on.isoformat() if lot.expires_on != date.max else self.tr("no expiry")] for lot in lots
        ])
        _fill(self.ledger_table, [
            [format_time(e.at), points_kind_text(e.kind), f"{e.points:+,}", e.receipt_no, ledger_reason_text(e.reason), e.staff_name]
            for e in ledger
        ])

    def _update_actions(self) -> None:
        profile = self.profile
        assert profile is not None
        actor = self._state.actor
        may_change_status = can(actor, Permission.CHANGE_MEMBER_STATUS)
        closed = profile.status is MemberStatus.CLOSED
        self.freeze_button.setVisible(may_change_status and profile.status is MemberStatus.ACTIVE)
        self.close_member_button.setVisible(may_change_status and not closed)
        self.reopen_button.setVisible(may_change_status and profile.status is not MemberStatus.ACTIVE)
        self.merge_button.setVisible(can(actor, Permission.MERGE_MEMBERS) and not closed)
        has_card = profile.active_card is not None
        self.issue_button.setEnabled(not has_card and not closed)
        self.replace_button.setEnabled(not closed)
        self.lost_button.setEnabled(has_card)
        self.print_card_button.setEnabled(has_card)
        self.adjust_button.setVisible(can(actor, Permission.ADJUST_POINTS))
        may_export, may_erase = can(actor, Permission.EXPORT_MEMBER_DATA), can(actor, Permission.ERASE_MEMBERS)
        erased = profile.erased_at is not None
        self.export_data_action.setVisible(may_export)
        self.erase_action.setVisible(may_erase)
        self.erase_action.setEnabled(not erased)
        self.personal_data_button.setVisible(may_export or may_erase)
        if erased:  # nothing personal is left to change: the profile is a record now
            for button in (self.freeze_button, self.close_member_button, self.reopen_button, self.merge_button):
                button.setVisible(False)
            self.issue_button.setEnabled(False)
            self.replace_button.setEnabled(False)
        for widget in (*self._field_widgets.values(), self.save_button, self.revert_button, self.data_consent_button):
            widget.setEnabled(not erased)

    def _clear_messages(self) -> None:
        self.message.hide()
        self.notice.hide()
        self.details_message.hide()
        self.duplicate_label.hide()
        self.open_duplicate_button.hide()
        self.saved_label.setText("")
        self.duplicates = ()

    def _fail(self, exc: CrmdeskError, *, on_details: bool = False) -> None:
        label = self.details_message if on_details else self.message
        label.setText(error_text(exc))
        label.show()
        if on_details and isinstance(exc, InvalidInput) and exc.field in self._field_widgets:
            self._field_widgets[exc.field].setFocus()
        if isinstance(exc, DuplicateMember) and exc.existing:
            self.duplicates = exc.existing
            lines = [self.tr("Already a member:")] + [brief_line(b) for b in exc.existing]
            self.duplicate_label.setText("\n".join(lines))
            self.duplicate_label.show()
            self.open_duplicate_button.show()

    def _run(self, operation: Callable[[Session], object], *, on_details: bool = False,
             then: Callable[[], None] | None = None) -> None:
        """One service call in one transaction, on the operations thread; then the member again and ``then`` -- or,
        refused, the reason on show (``refused``) and nothing changed."""
        self._clear_messages()
        self.refused = False

        def done(_result: object) -> None:
            self.changed = True
            self.reload()
            if then is not None:
                then()

        def failed(exc: CrmdeskError) -> None:
            self.refused = True
            self._fail(exc, on_details=on_details)

        self._state.operations.write(self._state.db, operation, done, failed, owner=self)

    # ---- details

    def form_values(self) -> dict[str, object]:
        birthday_q = self.birthday_edit.date()
        birthday = None if birthday_q == NO_BIRTHDAY else date(birthday_q.year(), birthday_q.month(), birthday_q.day())
        return {
            "name": self.name_edit.text(),
            "phone": self.phone_edit.text(),
            "gender": self.gender_box.currentData(),
            "birthday": birthday,
            "address": self.address_edit.text(),
            "email": self.email_edit.text(),
            "tags": (self.tags_edit.text(),),
            "notes": self.notes_edit.toPlainText(),
            "company": self.company_edit.text(),
            "marketing_consent": self.consent_box.currentData(),
            "source": self._source_code(),
        }

    def _source_code(self) -> str:
        """The code of a known source shown in the box, else the text typed there."""
        text = self.source_edit.currentText().strip()
        index = self.source_edit.findText(text)
        return str(self.source_edit.itemData(index)) if index >= 0 else text

    def save(self) -> None:
        values = self.form_values()
        self._run(lambda session: members.update(session, self._state.actor, self.member_id, **values), on_details=True,
                  then=lambda: self.saved_label.setText(self.tr("Saved.")))

    def open_duplicate(self) -> None:
        if self.duplicates:
            other = MemberProfileDialog(self._state, self.duplicates[0].id, self)
            other.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            other.open()

    # ---- cards

    def issue_card(self, number: str | None = None) -> None:
        self._run(lambda session: card_service.issue(session, self._state.actor, self.member_id, number or None))

    def replace_card(self, number: str | None = None) -> None:
        self._run(lambda session: card_service.replace_card(session, self._state.actor, self.member_id, number or None))

    def report_lost(self) -> None:
        profile = self.profile
        if profile is None or profile.active_card is None:
            return
        number = profile.active_card.number
        self._run(lambda session: card_service.report_lost(session, self._state.actor, number))

    def _ask_number(self, title: str) -> str | None:
        number, ok = QInputDialog.getText(
            self, title, self.tr("Scan the new blank card, or leave this empty to give the next card number:"))
        return number.strip() if ok else None

    def ask_issue_card(self) -> None:
        number = self._ask_number(self.tr("Issue card"))
        if number is not None:
            self.issue_card(number)

    def ask_replace_card(self) -> None:
        number = self._ask_number(self.tr("Replace card"))
        if number is not None:
            self.replace_card(number)

    def ask_report_lost(self) -> None:
        profile = self.profile
        if profile is None or profile.active_card is None:
            return
        question = self.tr("Report card {number} as lost? It stops working at once.").format(number=profile.active_card.number)
        if QMessageBox.question(self, self.tr("Report lost"), question) == QMessageBox.StandardButton.Yes:
            self.report_lost()

    # ---- points

    def adjust_points(self, points: int, reason: str) -> None:
        """A manual correction with its reason (supervisor or owner; the service checks)."""
        self._run(lambda session: loyalty.adjust(session, self._state.actor, self.member_id, points, reason=reason))

    def ask_adjust_points(self) -> None:
        dialog = AdjustPointsDialog(self)
        if dialog.exec():
            self.adjust_points(dialog.points(), dialog.reason_edit.text())

    # ---- status

    def change_status(self, status: MemberStatus, reason: str) -> None:
        self._run(lambda session: members.set_status(session, self._state.actor, self.member_id, status, reason=reason))

    def ask_status(self, status: MemberStatus) -> None:
        titles = {
            MemberStatus.FROZEN: self.tr("Freeze membership"),
            MemberStatus.CLOSED: self.tr("Close membership"),
            MemberStatus.ACTIVE: self.tr("Reopen membership"),
        }
        reason, ok = QInputDialog.getText(self, titles[status], self.tr("Reason (kept in the member's history):"))
        if not ok:
            return
        if not reason.strip():
            self.message.setText(self.tr("Give a reason, so colleagues know why."))
            self.message.show()
            return
        self.change_status(status, reason)

    # ---- merging

    def merge_from(self, other_id: int) -> None:
        """Move the other member's cards, purchases, points, complaints and history onto this one."""
        self._run(lambda session: members.merge(session, self._state.actor, self.member_id, other_id))

    def ask_merge(self) -> None:
        if self.profile is None:
            return
        dialog = MergeDialog(self._state, self.profile, self)
        if dialog.exec() and dialog.chosen is not None:
            self.merge_from(dialog.chosen.id)

    # ---- consent and privacy requests

    def show_consent(self, profile: MemberProfile) -> None:
        """Consent with when and who: 短信 · 2026-12-05 14:02 · 收银员小王."""
        if profile.erased_at is not None:
            self.consent_note.setText(self.tr("Personal data erased {when}").format(when=format_time(profile.erased_at)))
        elif profile.marketing_consent is MarketingConsent.NONE:
            self.consent_note.setText("")
        else:
            self.consent_note.setText(consent_text("", profile.consent_at, profile.consent_by))
        if profile.data_consent_at is not None:
            self.data_consent_label.setText(consent_text(self.tr("Given"), profile.data_consent_at, profile.data_consent_by))
            self.data_consent_button.setText(self.tr("&Withdraw…"))
        else:
            self.data_consent_label.setText(self.tr("Not recorded"))
            self.data_consent_button.setText(self.tr("Record consent"))

    def set_data_consent(self, given: bool) -> None:
        """Record (or withdraw) the member's consent to the shop keeping their data, as the signed-in staff member."""
        self._run(lambda session: privacy.record_data_consent(session, self._state.actor, self.member_id, given))

    def toggle_data_consent(self) -> None:
        if self.profile is None:
            return
        if self.profile.data_consent_at is None:
            self.set_data_consent(True)
            return
        question = self.tr("Record that the member withdrew their consent to the shop keeping their data?")
        if QMessageBox.question(self, self.tr("Withdraw consent"), question) == QMessageBox.StandardButton.Yes:
            self.set_data_consent(False)

    def ask_export_data(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Folder for the member's copy of their data"),
                                                  str(Path.home()))
        if folder:
            self.export_data(folder)

    def export_data(self, folder: str) -> ExportDataThread | None:
        """Write the member's copy (JSON and PDF) into ``folder`` in the background; where it went is shown below."""
        if self.export_thread is not None:
            return None
        self._clear_messages()
        thread = ExportDataThread(self._state, self.member_id, folder)
        thread.succeeded.connect(self._exported)
        thread.failed.connect(self._export_failed)
        thread.finished.connect(self._export_finished)
        self.export_thread = thread
        self.export_data_action.setEnabled(False)
        self.notice.setText(self.tr("Writing the member's data…"))
        self.notice.show()
        thread.start_kept()
        return thread

    def _exported(self, json_path: str, pdf_path: str) -> None:
        self.notice.setText(self.tr("The member's data was saved as\n{pdf}\n{json}\nHand both files to the member.").format(
            pdf=pdf_path, json=json_path))
        self.notice.show()

    def _export_failed(self, text: str) -> None:
        self.notice.hide()
        self.message.setText(text)
        self.message.show()

    def _export_finished(self) -> None:
        self.export_thread = None
        self.export_data_action.setEnabled(True)

    def ask_erase(self) -> EraseMemberDialog | None:
        """The confirmation that names the member; after an erasure the profile shows what is left."""
        if self.profile is None:
            return None
        dialog = EraseMemberDialog(self._state, self.profile, self)
        if dialog.exec() and dialog.erased is not None:
            self.changed = True
            self.reload()
            self.notice.setText(self.tr("The personal data of member {member_no} was erased.").format(member_no=dialog.erased.member_no))
            self.notice.show()
        return dialog
