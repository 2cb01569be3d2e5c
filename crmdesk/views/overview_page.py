"""The overview: how the store is doing this month, at a glance."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from crmdesk import shop_time
from crmdesk.reports.documents import LoyaltySummaryRequest
from crmdesk.services import store as store_service
from crmdesk.services.auth import Permission, can
from crmdesk.services.overview import store_overview
from crmdesk.services.uow import read_session
from crmdesk.views.common import format_fen, mark_data
from crmdesk.views.report_preview import ReportPreviewDialog, open_preview
from crmdesk.views.state import AppState


class FigureTile(QFrame):
    """A labelled figure: caption above, value large."""

    def __init__(self, caption: str) -> None:
        super().__init__()
        self.setObjectName("figureTile")
        layout = QVBoxLayout(self)
        self.caption = QLabel(caption)
        self.caption.setObjectName("figureCaption")
        self.value = QLabel()
        self.value.setObjectName("figureValue")
        mark_data(self.value)
        self.detail = QLabel()
        self.detail.setObjectName("figureDetail")
        mark_data(self.detail)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)


class OverviewPage(QWidget):
    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        self.heading = QLabel()
        self.heading.setObjectName("pageHeading")
        mark_data(self.heading)
        layout.addWidget(self.heading)
        self.period = QLabel()
        self.period.setObjectName("hintLabel")
        mark_data(self.period)
        period_row = QHBoxLayout()
        period_row.addWidget(self.period, 1)
        self.loyalty_button = QPushButton(self.tr("Print &loyalty summary…"))
        self.loyalty_button.clicked.connect(self.print_loyalty_summary)
        period_row.addWidget(self.loyalty_button)
        layout.addLayout(period_row)

        grid = QGridLayout()
        grid.setSpacing(16)
        self.members = FigureTile(self.tr("Active members"))
        self.new_members = FigureTile(self.tr("New members this month"))
        self.purchases = FigureTile(self.tr("Member purchases this month"))
        self.spend = FigureTile(self.tr("Member spend this month"))
        self.complaints = FigureTile(self.tr("Open complaints"))
        self.points = FigureTile(self.tr("Points outstanding"))
        tiles = (self.members, self.new_members, self.purchases, self.spend, self.complaints, self.points)
        for index, tile in enumerate(tiles):
            grid.addWidget(tile, index // 3, index % 3)
        layout.addLayout(grid)

        tiers_title = QLabel(self.tr("Active members by tier"))
        tiers_title.setObjectName("sectionHeading")
        layout.addWidget(tiers_title)
        self.tiers_row = QHBoxLayout()
        self.tiers_row.setSpacing(16)
        layout.addLayout(self.tiers_row)
        layout.addStretch(1)
        self.refresh()

    def print_loyalty_summary(self) -> ReportPreviewDialog:
        """Points issued, redeemed and expired this month so far, and the points liability (period changeable)."""
        today = shop_time.today()  # the summary counts the shop's calendar days
        request = LoyaltySummaryRequest(today.replace(day=1), today)
        self.preview = open_preview(self, self._state, request, self.tr("Loyalty summary"))
        return self.preview

    def refresh(self) -> None:
        self.loyalty_button.setVisible(can(self._state.actor, Permission.BROWSE_MEMBERS))
        today = shop_time.today()
        with read_session(self._state.db) as session:
            figures = store_overview(session, self._state.actor, today)
            shop = store_service.get_store(session)
        self.heading.setText(shop.store_name or "crmdesk")
        self.period.setText(self.tr("Figures for {month}; today is {today}.").format(
            month=today.strftime("%Y-%m"), today=today.isoformat()))
        self.members.value.setText(f"{figures.active_members:,}")
        self.members.detail.setText(self.tr("{cards} active cards").format(cards=f"{figures.active_cards:,}"))
        self.new_members.value.setText(f"{figures.new_members_this_month:,}")
        self.purchases.value.setText(f"{figures.purchases_this_month:,}")
        self.spend.value.setText(format_fen(figures.spend_this_month_fen))
        self.spend.detail.setText(self.tr("after refunds"))
        self.complaints.value.setText(f"{figures.open_complaints:,}")
        self.points.value.setText(f"{figures.points_outstanding:,}")
        while self.tiers_row.count():
            item = self.tiers_row.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for tier in figures.members_by_tier:
            badge = QLabel(f"{tier.name}  {tier.members:,}")
            badge.setObjectName("tierBadge")
            badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
            badge.setStyleSheet(f"border-left: 6px solid {tier.colour};")
            mark_data(badge)
            self.tiers_row.addWidget(badge)
        self.tiers_row.addStretch(1)
