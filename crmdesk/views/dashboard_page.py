"""The owner's dashboard: how the shop is doing over a date range and who its customers are, in charts (QtCharts).

It only displays: the figures come from services.insight_figures (stored days and counts, so it opens at once),
the refresh runs in services.insight on a background thread. A bar or slice of a group chart opens the member
list filtered to that group; each group chart can save one of its groups as a member group in one step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from pathlib import Path

from PySide6.QtCharts import (
    QBarCategoryAxis, QBarSeries, QBarSet, QCategoryAxis, QChart, QChartView, QHorizontalBarSeries, QLineSeries, QPieSeries, QValueAxis,
)
from PySide6.QtCore import QCoreApplication, QDate, QMargins, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QShowEvent
from PySide6.QtWidgets import (
    QComboBox, QDateEdit, QFileDialog, QFrame, QGridLayout, QHBoxLayout, QInputDialog, QLabel, QProgressBar, QPushButton,
    QScrollArea, QVBoxLayout, QWidget,
)

from crmdesk import shop_time
from crmdesk.errors import CrmdeskError
from crmdesk.reports.documents import BusinessReviewRequest, LoyaltySummaryRequest
from crmdesk.services import insight, insight_figures
from crmdesk.services import insight_rules as rules
from crmdesk.services.auth import Permission, can
from crmdesk.services.insight_figures import Dashboard, GroupCount
from crmdesk.services.live import Changes
from crmdesk.services.member_query import MemberFilter
from crmdesk.views.background import BackgroundThread
from crmdesk.views.flow_layout import FlowLayout
from crmdesk.views.live_changes import ShownRefresh, follow
from crmdesk.views.common import FigureTile, error_text, format_fen, mark_data
from crmdesk.views.report_preview import ReportPreviewDialog, open_preview
from crmdesk.views.state import AppState

THIS_YEAR = QColor("#2f6fb3")
LAST_YEAR = QColor("#e0803a")
SECOND = QColor("#4a9d5b")
CHART_HEIGHT = 250


def _tr(text: str) -> str:
    return QCoreApplication.translate("insight", text)


class RefreshThread(BackgroundThread):
    """insight.refresh off the UI thread, telling how far it is; cancel() stops it between steps."""

    progressed = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._state = state

    def run(self) -> None:
        from crmdesk.failures import explain

        try:
            result = insight.refresh(self._state.db, self._state.actor, progress=lambda f, s: self.progressed.emit(f, s),
                                     cancelled=self.should_cancel)
        except insight.Cancelled:
            self.failed.emit("")
            return
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message for a person
            explained = explain(exc)
            self.failed.emit(error_text(explained) if isinstance(explained, CrmdeskError) else str(explained))
            return
        self.succeeded.emit(result)


class ChartCard(QFrame):
    """One chart with its title; optionally a "save as member group" button for group charts."""

    def __init__(self, title: str, *, save_group: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.setObjectName("chartCard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        header = QHBoxLayout()
        self.title = QLabel(title)
        self.title.setObjectName("sectionHeading")
        self.title.setWordWrap(True)
        self.title.setMinimumWidth(120)
        header.addWidget(self.title, 1)
        self.save_button: QPushButton | None = None
        if save_group is not None:
            self.save_button = QPushButton(QCoreApplication.translate("DashboardPage", "Save as group…"))
            self.save_button.clicked.connect(save_group)
            header.addWidget(self.save_button)
        layout.addLayout(header)
        self.chart = QChart()
        self.chart.setMargins(QMargins(2, 2, 2, 2))
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.view = QChartView(self.chart)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setMinimumHeight(CHART_HEIGHT)
        self.view.setMinimumWidth(260)
        layout.addWidget(self.view)

    def clear(self) -> None:
        self.chart.removeAllSeries()
        for axis in self.chart.axes():
            self.chart.removeAxis(axis)


class DashboardPage(QWidget):
    """经营看板: sales and visits against last year, members by group, points, satisfaction, complaints."""

    showMembers = Signal(object)  # noqa: N815 - a MemberFilter: open the member list with it

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.live = ShownRefresh(self, self.refresh, interval_ms=3_000)  # the day's sales as the tills ring them up
        follow(state, self.follow_changes)
        self._state = state
        self.dashboard: Dashboard | None = None
        self.refresh_thread: RefreshThread | None = None
        self.auto_refreshed = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addLayout(self._build_bar())
        self.status = mark_data(QLabel())
        self.status.setObjectName("hintLabel")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        tiles = QHBoxLayout()
        self.sales = FigureTile(self.tr("Sales"))
        self.receipts = FigureTile(self.tr("Receipts"))
        self.basket = FigureTile(self.tr("Average basket"))
        self.visits = FigureTile(self.tr("Member visits"))
        self.new_members = FigureTile(self.tr("New members"))
        self.balances = FigureTile(self.tr("Held and owed"))
        for tile in (self.sales, self.receipts, self.basket, self.visits, self.new_members, self.balances):
            tile.layout().setContentsMargins(8, 4, 8, 4)
            tile.value.setObjectName("figureValueSmall")  # six across on a 1024-pixel screen
            tile.detail.setWordWrap(True)
            tiles.addWidget(tile, 1)
        layout.addLayout(tiles)
        self.cards: dict[str, ChartCard] = {}
        grid = QGridLayout()
        grid.setSpacing(8)
        specs = [
            ("sales", self.tr("Sales, this year and last"), None),
            ("visits", self.tr("Member visits, this year and last"), None),
            ("segment", self.tr("RFM segments: members and share of spend"), lambda: self.ask_save_group("segment")),
            ("abc", self.tr("ABC classes: share of members and of spend"), lambda: self.ask_save_group("abc")),
            ("stage", self.tr("Lifecycle stages"), lambda: self.ask_save_group("stage")),
            ("tier", self.tr("Tier mix (active members)"), None),
            ("members", self.tr("New members and lapsed"), None),
            ("basket", self.tr("Average basket and visits per day"), None),
            ("points", self.tr("Points issued and redeemed"), None),
            ("satisfaction", self.tr("Satisfaction (1-5)"), None),
            ("complaints", self.tr("Complaints by category"), None),
            ("alert", self.tr("Churn alerts"), lambda: self.ask_save_group("alert")),
        ]
        for index, (key, title, save) in enumerate(specs):
            card = ChartCard(title, save_group=save)
            if key in ("segment", "stage"):
                card.view.setMinimumHeight(CHART_HEIGHT + 60)  # eight or seven bars with their names
            self.cards[key] = card
            grid.addWidget(card, index // 2, index % 2)
        holder = QWidget()
        holder.setLayout(grid)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(holder)
        layout.addWidget(scroll, 1)
        self._set_range(shop_time.today() - timedelta(days=29), shop_time.today(), "day")
        self.load()

    # ---------------------------------------------------------------- the bar at the top

    def _build_bar(self) -> FlowLayout:
        bar = FlowLayout()  # wraps to a second row on a narrow screen
        self.preset = QComboBox()
        for label, key in ((self.tr("Last 30 days"), "30d"), (self.tr("This month"), "month"),
                           (self.tr("Last 12 months"), "12m"), (self.tr("This year"), "year"), (self.tr("Custom"), "custom")):
            self.preset.addItem(label, key)
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        self.start_edit, self.end_edit = QDateEdit(), QDateEdit()
        for edit in (self.start_edit, self.end_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.dateChanged.connect(self._dates_changed)
        self.grain = QComboBox()
        for label, key in ((self.tr("By day"), "day"), (self.tr("By week"), "week"), (self.tr("By month"), "month")):
            self.grain.addItem(label, key)
        self.grain.currentIndexChanged.connect(lambda _i: self.load())
        self.refresh_button = QPushButton(self.tr("&Refresh figures"))
        self.refresh_button.clicked.connect(self.start_refresh)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(140)
        self.progress.hide()
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancel_refresh)
        self.cancel_button.hide()
        self.export_button = QPushButton(self.tr("Export charts…"))
        self.export_button.clicked.connect(self.ask_export)
        self.loyalty_button = QPushButton(self.tr("&Loyalty summary…"))
        self.loyalty_button.clicked.connect(self.print_loyalty_summary)
        self.review_button = QPushButton(self.tr("Monthly re&view…"))
        self.review_button.setToolTip(self.tr("The business review of the month the range ends in, with its charts, as a PDF"))
        self.review_button.clicked.connect(self.print_review)
        for widget in (self.preset, self.start_edit, QLabel("–"), self.end_edit, self.grain):
            bar.addWidget(widget)
        for widget in (self.progress, self.cancel_button, self.refresh_button, self.export_button, self.review_button,
                       self.loyalty_button):
            bar.addWidget(widget)
        return bar

    def _set_range(self, start: date, end: date, grain: str) -> None:
        self._loading = True
        try:
            self.start_edit.setDate(QDate(start.year, start.month, start.day))
            self.end_edit.setDate(QDate(end.year, end.month, end.day))
            self.grain.setCurrentIndex(max(0, self.grain.findData(grain)))
        finally:
            self._loading = False

    def _preset_chosen(self, _index: int) -> None:
        today = shop_time.today()
        key = self.preset.currentData()
        ranges = {"30d": (today - timedelta(days=29), "day"), "month": (today.replace(day=1), "day"),
                  "12m": (today.replace(day=1).replace(year=today.year - 1) + timedelta(days=0), "month"),
                  "year": (today.replace(month=1, day=1), "month")}
        if key in ranges:
            start, grain = ranges[key]
            self._set_range(start, today, grain)
            self.load()

    def _dates_changed(self) -> None:
        if not self._loading:
            self.preset.setCurrentIndex(self.preset.findData("custom"))
            self.load()

    @property
    def start(self) -> date:
        return self.start_edit.date().toPython()  # type: ignore[no-any-return]

    @property
    def end(self) -> date:
        return self.end_edit.date().toPython()  # type: ignore[no-any-return]

    # ---------------------------------------------------------------- loading and drawing

    def load(self) -> None:
        """Read the range's figures (stored aggregates: quick) and draw them."""
        self.loyalty_button.setVisible(can(self._state.actor, Permission.BROWSE_MEMBERS))
        actor, start, end, grain = self._state.actor, self.start, self.end, self.grain.currentData()

        def drawn(board: Dashboard) -> None:
            self.dashboard = board
            self._draw(board)
            self._refresh_if_stale()

        # Off the UI thread; the newest range asked for is the one drawn.
        self._state.operations.read(self._state.db, lambda session: insight_figures.dashboard(session, actor, start, end, grain),
                                    drawn, lambda error: self.status.setText(error_text(error)),
                                    key=f"dashboard-{id(self)}", owner=self)

    def _draw(self, board: Dashboard) -> None:
        run = board.run
        if run is None:
            self.status.setText(self.tr("No customer figures yet: press Refresh figures (it runs in the background)."))
        else:
            note = _tr(rules.MODEL_NOTES[run.model_note]).format(count=rules.MIN_RETURNING, days=rules.MIN_HISTORY_DAYS) \
                if run.model_note else ""
            self.status.setText(" ".join(filter(None, [
                self.tr("Customer figures as of {day} ({members} members who bought; window {months} months).").format(
                    day=run.as_of.isoformat(), members=f"{run.members:,}", months=run.window_months), note])))
        self._tiles(board)
        labels = [self._period_label(p.start, board.grain) for p in board.periods]
        self._bars_and_line(self.cards["sales"], labels, [p.sales_fen / 100 for p in board.periods],
                            [p.last_year_sales_fen / 100 for p in board.periods], self.tr("This year (¥)"), self.tr("Last year (¥)"),
                            on_click=lambda i: self._bought_in(board, i))
        self._bars_and_line(self.cards["visits"], labels, [p.visits for p in board.periods],
                            [p.last_year_visits for p in board.periods], self.tr("This year"), self.tr("Last year"),
                            on_click=lambda i: self._bought_in(board, i))
        self._group_chart(self.cards["segment"], board.groups.get("segment", []))
        self._abc_chart(board.groups.get("abc", []))
        self._group_chart(self.cards["stage"], board.groups.get("stage", []))
        self._tier_pie(board.groups.get("tier", []))
        lapsed = {g.key: g.members for g in board.groups.get("stage", [])}
        self._bars(self.cards["members"], labels, [(self.tr("New members"), [p.new_members for p in board.periods], THIS_YEAR)],
                   on_click=lambda i: self._joined_in(board, i),
                   note=self.tr("Lapsed now: {lapsed}; lost: {lost}").format(
                       lapsed=f"{lapsed.get('lapsed', 0):,}", lost=f"{lapsed.get('lost', 0):,}"))
        self._basket_chart(labels, board)
        self._bars(self.cards["points"], labels, [
            (self.tr("Issued"), [p.points_earned for p in board.periods], THIS_YEAR),
            (self.tr("Redeemed"), [p.points_redeemed for p in board.periods], LAST_YEAR)])
        self._satisfaction_chart(labels, board)
        self._horizontal(self.cards["complaints"],
                         [QCoreApplication.translate("complaints", name) for name, _n in board.complaints_by_category] or [self.tr("none")],
                         [n for _name, n in board.complaints_by_category] or [0])
        self._group_chart(self.cards["alert"], board.groups.get("alert", []))

    @staticmethod
    def _period_label(start: date, grain: str) -> str:
        """Short enough for a bar's width: the day of the month (the month too on its first day), a week's first
        day, a month."""
        if grain == "month":
            return start.strftime("%y-%m")
        if grain == "week" or start.day == 1:
            return f"{start.month}/{start.day}"
        return str(start.day)

    def _tiles(self, board: Dashboard) -> None:
        total = board.totals
        if total is None:
            return

        def change(now: int, before: int) -> str:
            if not before:
                return self.tr("last year: none")
            return self.tr("{change:+.1%} on last year").format(change=(now - before) / before)

        self.sales.value.setText(format_fen(total.sales_fen))
        self.sales.detail.setText(change(total.sales_fen, total.last_year_sales_fen))
        self.receipts.value.setText(f"{total.receipts:,}")
        self.receipts.detail.setText(self.tr("member receipts"))
        self.basket.value.setText(format_fen(total.average_basket_fen))
        self.basket.detail.setText(self.tr("per receipt, after refunds"))
        self.visits.value.setText(f"{total.visits:,}")
        self.visits.detail.setText(change(total.visits, total.last_year_visits))
        self.new_members.value.setText(f"{total.new_members:,}")
        self.new_members.detail.setText(self.tr("joined in the range"))
        run = board.run
        self.balances.value.setText(format_fen(run.wallet_fen) if run else "—")
        self.balances.detail.setText(self.tr("stored value; owed {owed}").format(owed=format_fen(run.owed_fen)) if run else "")

    def _axis_for(self, card: ChartCard, categories: list[str], series: object, maximum: float, *,
                  named: bool = False) -> None:
        """Periods along a value axis labelled at every k-th bar (a category axis would cut each date to its bar's
        narrow width); ``named``: a few named bars (classes, categories) on a category axis. Values up the side."""
        axis_x: QCategoryAxis | QBarCategoryAxis = QBarCategoryAxis() if named else QCategoryAxis()
        if isinstance(axis_x, QBarCategoryAxis):
            axis_x.append(categories)
        else:
            self._label_periods(axis_x, categories)
        axis_y = QValueAxis()
        axis_y.setRange(0, maximum * 1.1 if maximum > 0 else 4)
        axis_y.setLabelFormat("%.0f" if maximum >= 10 or maximum == 0 else "%.1f")
        axis_y.applyNiceNumbers()
        card.chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        card.chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        for each in series if isinstance(series, list) else [series]:
            each.attachAxis(axis_x)
            each.attachAxis(axis_y)

    @staticmethod
    def _label_periods(axis_x: QCategoryAxis, categories: list[str]) -> None:
        axis_x.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
        axis_x.setRange(-0.5, max(len(categories), 1) - 0.5)
        step = max(1, -(-len(categories) // 8))
        for index in range(0, len(categories), step):
            axis_x.append(categories[index], index)
        axis_x.setGridLineVisible(False)
        font = axis_x.labelsFont()
        font.setPointSizeF(max(6.0, font.pointSizeF() - 1))
        axis_x.setLabelsFont(font)

    def _bars_and_line(self, card: ChartCard, labels: list[str], now: list[float], before: list[float], now_name: str,
                       before_name: str, *, on_click: Callable[[int], None]) -> None:
        card.clear()
        bars = QBarSeries()
        bar_set = QBarSet(now_name)
        bar_set.setColor(THIS_YEAR)
        bar_set.append(now)
        bars.append(bar_set)
        bar_set.clicked.connect(on_click)
        line = QLineSeries()
        line.setName(before_name)
        line.setColor(LAST_YEAR)
        for index, value in enumerate(before):
            line.append(index, value)
        card.chart.addSeries(bars)
        card.chart.addSeries(line)
        self._axis_for(card, labels, [bars, line], max(now + before + [0]))

    def _bars(self, card: ChartCard, labels: list[str], sets: list[tuple[str, list[float], QColor]], *,
              on_click: Callable[[int], None] | None = None, note: str = "", named: bool = False) -> None:
        card.clear()
        series = QBarSeries()
        for name, values, colour in sets:
            bar_set = QBarSet(name)
            bar_set.setColor(colour)
            bar_set.append(values)
            if on_click is not None:
                bar_set.clicked.connect(on_click)
            series.append(bar_set)
        card.chart.addSeries(series)
        self._axis_for(card, labels, series, max([v for _n, values, _c in sets for v in values] + [0]), named=named)
        card.chart.setTitle(note)

    def _group_chart(self, card: ChartCard, groups: list[GroupCount]) -> None:
        self._horizontal(card, [self._group_text(g) for g in groups], [g.members for g in groups],
                         on_click=lambda i: self._open_group(groups, i))

    def _horizontal(self, card: ChartCard, labels: list[str], values: list[int], *,
                    on_click: Callable[[int], None] | None = None) -> None:
        """Named bars across, the first name on top (a horizontal chart draws its first category at the bottom)."""
        card.clear()
        count = len(values)
        series = QHorizontalBarSeries()
        bar_set = QBarSet(self.tr("Members"))
        bar_set.setColor(THIS_YEAR)
        bar_set.append(list(reversed(values)))
        if on_click is not None:
            bar_set.clicked.connect(lambda i: on_click(count - 1 - i))
        series.append(bar_set)
        series.setLabelsVisible(True)
        card.chart.addSeries(series)
        axis_y = QBarCategoryAxis()
        axis_y.append(list(reversed(labels)))
        axis_x = QValueAxis()
        axis_x.setRange(0, max(values + [1]) * 1.25)
        axis_x.setLabelFormat("%.0f")
        axis_x.applyNiceNumbers()
        card.chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        card.chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(axis_y)
        series.attachAxis(axis_x)
        card.chart.legend().hide()

    def _group_text(self, group: GroupCount) -> str:
        label = insight_figures.group_label(group.kind, group.key, QCoreApplication.translate)
        if group.kind == "alert":
            return label
        return self.tr("{label} {share:.0%}").format(label=label, share=group.spend_share)

    def _abc_chart(self, groups: list[GroupCount]) -> None:
        card = self.cards["abc"]
        self._bars(card, [g.key for g in groups], [
            (self.tr("Share of members (%)"), [round(g.member_share * 100, 1) for g in groups], THIS_YEAR),
            (self.tr("Share of spend (%)"), [round(g.spend_share * 100, 1) for g in groups], SECOND)],
            on_click=lambda i: self._open_group(groups, i), named=True)
        for series in card.chart.series():
            series.setLabelsVisible(True)  # type: ignore[attr-defined]

    def _tier_pie(self, groups: list[GroupCount]) -> None:
        card = self.cards["tier"]
        card.clear()
        pie = QPieSeries()
        for group in groups:
            piece = pie.append(f"{insight_figures.group_label('tier', group.key, QCoreApplication.translate)} "
                               f"{group.members:,}", max(group.members, 0))
            piece.setLabelVisible(group.members > 0)
        pie.clicked.connect(lambda piece: self._open_group(groups, pie.slices().index(piece)))
        card.chart.addSeries(pie)
        card.chart.legend().hide()

    def _basket_chart(self, labels: list[str], board: Dashboard) -> None:
        card = self.cards["basket"]
        card.clear()
        basket, per_day = QLineSeries(), QLineSeries()
        basket.setName(self.tr("Average basket (¥)"))
        per_day.setName(self.tr("Visits per day"))
        basket.setColor(THIS_YEAR)
        per_day.setColor(SECOND)
        for index, period in enumerate(board.periods):
            basket.append(index, period.average_basket_fen / 100)
            per_day.append(index, period.visits_per_day)
        card.chart.addSeries(basket)
        card.chart.addSeries(per_day)
        self._axis_for(card, labels, [basket, per_day], max(
            [p.average_basket_fen / 100 for p in board.periods] + [p.visits_per_day for p in board.periods] + [0]))

    def _satisfaction_chart(self, labels: list[str], board: Dashboard) -> None:
        card = self.cards["satisfaction"]
        card.clear()
        line = QLineSeries()
        line.setName(self.tr("Average score"))
        line.setColor(SECOND)
        line.setPointsVisible(True)
        for index, period in enumerate(board.periods):
            if period.satisfaction is not None:
                line.append(index, period.satisfaction)
        card.chart.addSeries(line)
        self._axis_for(card, labels, line, 5 / 1.1)

    # ---------------------------------------------------------------- from a chart to members

    def _open_group(self, groups: list[GroupCount], index: int) -> None:
        """The members of a chart's group, in the member list (the group's filter read off the UI thread)."""
        if 0 <= index < len(groups):
            kind, key = groups[index].kind, groups[index].key
            self._state.operations.read(self._state.db, lambda session: insight_figures.group_filter(session, kind, key),
                                        self.showMembers.emit, lambda exc: self.status.setText(error_text(exc)), owner=self)

    def _bought_in(self, board: Dashboard, index: int) -> None:
        if 0 <= index < len(board.periods):
            period = board.periods[index]
            self.showMembers.emit(MemberFilter(last_visit_from=period.start, last_visit_to=period.end))

    def _joined_in(self, board: Dashboard, index: int) -> None:
        if 0 <= index < len(board.periods):
            period = board.periods[index]
            self.showMembers.emit(MemberFilter(joined_from=period.start, joined_to=period.end))

    def ask_save_group(self, kind: str) -> None:
        """Pick one group of the chart and save it as a member group, named after it."""
        if self.dashboard is None:
            return
        groups = self.dashboard.groups.get(kind, [])
        labels = [insight_figures.group_label(kind, g.key, QCoreApplication.translate) for g in groups]
        label, ok = QInputDialog.getItem(self, self.tr("Save as member group"), self.tr("Group:"), labels, 0, False)
        if not ok:
            return
        name, ok = QInputDialog.getText(self, self.tr("Save as member group"), self.tr("Name of the member group:"),
                                        text=label)
        if ok:
            self.save_group(kind, groups[labels.index(label)].key, name)

    def save_group(self, kind: str, key: str, name: str) -> None:
        """Save a chart's group as a member group (on the operations thread); what happened shows in the status."""
        actor = self._state.actor

        def saved(group: Any) -> None:
            self.status.setText(self.tr("Saved the member group {name}: offers can target it, the member list prints and "
                                        "exports it.").format(name=group.name))

        self._state.operations.write(self._state.db, lambda session: insight_figures.save_group(session, actor, kind, key, name),
                                     saved, lambda exc: self.status.setText(error_text(exc)), owner=self)

    # ---------------------------------------------------------------- refreshing

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        """The first time the page is shown on a day without a refresh, refresh in the background."""
        super().showEvent(event)
        self._refresh_if_stale()

    def _refresh_if_stale(self) -> None:
        """Once the figures are read (they come off the UI thread) and the page is on show: refresh them in the
        background when they are not today's."""
        if self.dashboard is None or not self.isVisible():
            return
        run = self.dashboard.run
        if self._state.live and not self.auto_refreshed and (run is None or run.as_of < shop_time.today()):
            self.auto_refreshed = True
            self.start_refresh()

    def start_refresh(self) -> None:
        if self.refresh_thread is not None:
            return
        thread = RefreshThread(self._state)
        thread.progressed.connect(self._progressed)
        thread.succeeded.connect(self._refreshed)
        thread.failed.connect(self._refresh_failed)
        thread.finished.connect(self._refresh_ended)
        self.refresh_thread = thread
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.refresh_button.setEnabled(False)
        thread.start_kept()

    def cancel_refresh(self) -> None:
        if self.refresh_thread is not None:
            self.refresh_thread.cancel()

    def _progressed(self, fraction: float, step: str) -> None:
        self.progress.setValue(round(fraction * 100))
        self.progress.setFormat(f"{_tr(step)} %p%")

    def _refreshed(self, _result: object) -> None:
        self.load()

    def _refresh_failed(self, text: str) -> None:
        self.status.setText(text or self.tr("Refresh cancelled; the figures are as they were."))

    def _refresh_ended(self) -> None:
        self.refresh_thread = None
        self.progress.hide()
        self.cancel_button.hide()
        self.refresh_button.setEnabled(True)

    # ---------------------------------------------------------------- out of the program

    def export_charts(self, folder: Path) -> list[Path]:
        """Every chart as a PNG in ``folder`` (named after the chart's key and the range)."""
        folder.mkdir(parents=True, exist_ok=True)
        saved = []
        for key, card in self.cards.items():
            path = folder / f"{key}-{self.start.isoformat()}-{self.end.isoformat()}.png"
            if card.view.grab().save(str(path), "PNG"):
                saved.append(path)
        return saved

    def ask_export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Export the charts as PNG to"))
        if folder:
            saved = self.export_charts(Path(folder))
            self.status.setText(self.tr("Saved {count} charts in {folder}.").format(count=len(saved), folder=folder))

    def print_loyalty_summary(self) -> ReportPreviewDialog:
        """Points issued, redeemed and expired this month so far, and the points liability (period changeable)."""
        today = shop_time.today()
        request = LoyaltySummaryRequest(today.replace(day=1), today)
        self.preview = open_preview(self, self._state, request, self.tr("Loyalty summary"))
        return self.preview

    def print_review(self) -> ReportPreviewDialog:
        """The monthly business review of the month the range ends in."""
        request = BusinessReviewRequest(self.end.replace(day=1))
        self.preview = open_preview(self, self._state, request, self.tr("Monthly business review"))
        return self.preview

    def refresh(self) -> None:
        self.load()

    def follow_changes(self, changes: Changes) -> None:
        if changes.members_changed or changes.complaints_changed:
            self.live.changed()
