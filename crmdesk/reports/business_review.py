"""The owner's monthly business review (经营月报): the month's sales, visits and members beside the month before
and the same month a year earlier, the customer groups of the last insight refresh, points, satisfaction,
complaints, and the members most worth calling back.

``review_figures`` gathers it from services.insight_figures (the dashboard's stored days and counts, so a
shop of any size prints at once) and ``render_business_review`` lays it out on A4 portrait: the key figures
and the month's days first, then the customers, then points, satisfaction, complaints and the churn alerts.
The charts are reportlab's own; a month without sales prints zeros, and a chart with nothing in it prints a
sentence instead. Group names are translated in their own context ("insight"), complaint categories as the
complaints report does, so a name the owner typed prints as typed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from xml.sax.saxutils import escape

from PySide6.QtCore import QCoreApplication
from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Circle, Drawing, Line, Rect, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Table, TableStyle
from sqlalchemy.orm import Session

from crmdesk.reports.base import (
    ACCENT, INK, MUTED, RULE, Progress, ReportContext, ShouldCancel, build_pdf, check_cancel, content_width, data_table,
    empty_note, para, section, shorten, spacer, style, yuan,
)
from crmdesk.reports.complaints_monthly import ALERT, LIGHT_ACCENT, bar_chart, category_name
from crmdesk.reports.fonts import report_font
from crmdesk.services import insight_figures, tiers
from crmdesk.services import insight_rules as rules
from crmdesk.services.complaint_figures import add_months
from crmdesk.services.insight_figures import AlertRow, GroupCount, Period
from crmdesk.services.members import masked_phone
from crmdesk.services.uow import Actor

TREND_MONTHS = 6  # satisfaction and points: this month and the five before it
ALERTS_SHOWN = 20
CHART_FONT_SIZE = 8
DAY_FONT_SIZE = 7
CHART_PAIR_HEIGHT = 42 * mm  # the charts side by side under the customer groups
RISE = colors.HexColor("#2E7D32")  # a change for the better
LAST_YEAR = colors.HexColor("#E08A1E")  # the same days a year earlier, against this month's bars
# Pie slices of tiers whose colour is missing or unreadable.
PALETTE = [colors.HexColor(c) for c in ("#1F5F7A", "#7FB3C8", "#E08A1E", "#2E7D32", "#8E6BB8", "#C9A227", "#B42318",
                                        "#5C7080")]
MINUS = "\u2212"  # a real minus sign, as wide as the plus


# ----------------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class BusinessReview:
    """Everything the review prints for one month."""

    month: date  # its first day
    days: list[Period]  # every day of the month
    months: list[Period]  # the same month a year earlier, the eleven after it and this month (13)
    complaints: list[tuple[str, int]]  # the month's complaints by category name, most first
    refreshed_on: date | None  # the day of the last insight refresh; None: never refreshed
    window_months: int = 12  # spend and frequency count the purchases of this many months
    model_note: str = ""  # rules.MODEL_NOTES code: why the purchase model is not reliable ("" when it is)
    wallet_fen: int = 0  # stored value held for members at the refresh
    owed_fen: int = 0  # credit members owed at the refresh
    groups: dict[str, list[GroupCount]] = field(default_factory=dict)
    tier_colours: dict[str, str] = field(default_factory=dict)  # tier name -> #RRGGBB, in rank order
    alerts: list[AlertRow] = field(default_factory=list)  # the biggest spenders with a churn alert

    @property
    def label(self) -> str:
        return month_text(self.month)

    @property
    def last_day(self) -> date:
        return add_months(self.month, 1) - timedelta(days=1)

    @property
    def this_month(self) -> Period:
        return self.months[-1]

    @property
    def previous_month(self) -> Period:
        return self.months[-2]

    @property
    def year_earlier(self) -> Period:
        return self.months[0]

    @property
    def trend(self) -> list[Period]:
        return self.months[-TREND_MONTHS:]

    @property
    def alert_total(self) -> int:
        return sum(group.members for group in self.groups.get("alert", ()))


def month_text(day: date) -> str:
    return day.strftime("%Y-%m")


def review_figures(session: Session, actor: Actor, month: date) -> BusinessReview:
    """The review of the month holding ``month`` (the owner's figures: VIEW_SHOP_FIGURES and BROWSE_MEMBERS)."""
    first = month.replace(day=1)
    last = add_months(first, 1) - timedelta(days=1)
    days = insight_figures.dashboard(session, actor, first, last, "day")
    months = insight_figures.dashboard(session, actor, add_months(first, -12), last, "month")
    run = days.run
    alerts = insight_figures.alerts(session, actor, limit=ALERTS_SHOWN) if run is not None else []
    colours = {tier.name: tier.colour for tier in tiers.list_tiers(session)}
    if run is None:
        return BusinessReview(first, days.periods, months.periods, days.complaints_by_category, None, tier_colours=colours)
    return BusinessReview(first, days.periods, months.periods, days.complaints_by_category, run.as_of, run.window_months,
                          run.model_note, run.wallet_fen, run.owed_fen, days.groups, colours, alerts)


# ----------------------------------------------------------------------------- texts


def count_text(value: int) -> str:
    return f"{value:,}"


def share_text(share: float) -> str:
    """0.123 -> "12.3 %" (as the other reports print a share)."""
    text = f"{share * 100:.1f}".removesuffix(".0")
    return QCoreApplication.translate("reports", "{percent} %").format(percent=text)


def change_text(now: int, before: int) -> str:
    """The change from ``before`` to ``now`` in per cent, signed; "—" when there was nothing before."""
    if not before:
        return "—"
    change = (now - before) * 100 / abs(before)
    text = f"{abs(change):,.1f}"
    sign = "±" if text == "0.0" else ("+" if change > 0 else MINUS)
    return QCoreApplication.translate("reports", "{percent} %").format(percent=sign + text)


def _group_label(kind: str, key: str) -> str:
    return insight_figures.group_label(kind, key, QCoreApplication.translate)


def _model_note(code: str) -> str:
    note = QCoreApplication.translate("insight", rules.MODEL_NOTES[code]) if code in rules.MODEL_NOTES else code
    return note.format(count=rules.MIN_RETURNING, days=rules.MIN_HISTORY_DAYS)


# ----------------------------------------------------------------------------- chart helpers


def _round_steps() -> Iterator[int]:
    """1, 2, 5, 10, 20, 50, 100, …"""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            yield factor * magnitude
        magnitude *= 10


def value_range(values: Sequence[float], steps: int = 5) -> tuple[int, int, int]:
    """(bottom, top, step) of a value axis in round steps that holds every value and zero; never an empty range."""
    low, high = min(0, *values) if values else 0, max(0, *values) if values else 0
    step = next(s for s in _round_steps() if high - low <= s * steps)
    bottom = (low // step) * step
    top = max(-(-high // step) * step, bottom + step)
    return int(bottom), int(top), step


def _drawing(width: float, height: float) -> Drawing:
    """An empty drawing whose text starts in the report font (else every chart names a non-embedded Helvetica)."""
    return Drawing(width, height, initialFontName=report_font(), initialFontSize=CHART_FONT_SIZE)


def _axis_font(axis: Any, size: float = CHART_FONT_SIZE) -> None:
    axis.labels.fontName = report_font()
    axis.labels.fontSize = size
    axis.labels.fillColor = INK


def _value_axis(axis: Any, values: Sequence[float], steps: int, text: Callable[[float], str]) -> None:
    """A value axis in round steps with light grid lines, its labels written by ``text``."""
    axis.valueMin, axis.valueMax, axis.valueStep = value_range(values, steps)
    axis.labelTextFormat = text
    axis.strokeColor = RULE
    axis.visibleGrid = 1
    axis.gridStrokeColor = RULE
    axis.gridStrokeWidth = 0.3
    _axis_font(axis)
    axis.labels.fillColor = MUTED


def _category_axis(axis: Any, names: Sequence[str], size: float = CHART_FONT_SIZE) -> None:
    axis.categoryNames = list(names)
    axis.strokeColor = RULE
    _axis_font(axis, size)
    axis.labels.dy = -2


def _whole(value: float) -> str:
    return f"{value:,.0f}"


def _percent_axis(value: float) -> str:
    return QCoreApplication.translate("reports", "{percent} %").format(percent=f"{value:.0f}")


def _legend(drawing: Drawing, x: float, y: float, entries: Sequence[tuple[str, str, colors.Color]]) -> None:
    """A one-line legend of (kind, text, colour), kind "bar" or "line", left to right from (x, y)."""
    font = report_font()
    for kind, text, colour in entries:
        if kind == "bar":
            drawing.add(Rect(x, y - 1, 7, 7, fillColor=colour, strokeColor=None))
        else:
            drawing.add(Line(x - 2, y + 2.5, x + 9, y + 2.5, strokeColor=colour, strokeWidth=1.4))
            drawing.add(Circle(x + 3.5, y + 2.5, 1.8, fillColor=colour, strokeColor=None))
        drawing.add(String(x + 12, y, text, fontName=font, fontSize=CHART_FONT_SIZE, fillColor=INK))
        x += 12 + stringWidth(text, font, CHART_FONT_SIZE) + 14


def _dot(colour: colors.Color, size: float = 3.5) -> Any:
    marker = makeMarker("FilledCircle")
    marker.size = size
    marker.fillColor = colour
    marker.strokeColor = colour
    return marker


def _bars_and_line(bars: Sequence[float], line: Sequence[float], names: Sequence[str], width: float, height: float,
                   legend: tuple[str, str], text: Callable[[float], str]) -> Drawing:
    """This period's bars with the year-earlier values as a line over them, on one value axis.

    The line chart takes the bars' place, size and categories, so each point sits straight above its bar."""
    left, right, bottom, top = 17 * mm, 3 * mm, 6 * mm, 8 * mm
    drawing = _drawing(width, height)
    values = [*bars, *line]
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = left, bottom, width - left - right, height - bottom - top
    chart.data = [list(bars)]
    chart.bars[0].fillColor = ACCENT
    chart.bars[0].strokeColor = None
    chart.groupSpacing = 0.3 * chart.width / max(len(bars), 1)
    _category_axis(chart.categoryAxis, names, DAY_FONT_SIZE if len(names) > 12 else CHART_FONT_SIZE)
    _value_axis(chart.valueAxis, values, 5, text)
    drawing.add(chart)

    over = HorizontalLineChart()
    over.x, over.y, over.width, over.height = chart.x, chart.y, chart.width, chart.height
    over.data = [list(line)]
    over.categoryAxis.categoryNames = list(names)
    over.categoryAxis.visible = 0
    over.valueAxis.valueMin, over.valueAxis.valueMax = chart.valueAxis.valueMin, chart.valueAxis.valueMax
    over.valueAxis.valueStep = chart.valueAxis.valueStep
    over.valueAxis.visible = 0
    over.categoryAxis.labels.fontName = over.valueAxis.labels.fontName = report_font()
    over.lines[0].strokeColor = LAST_YEAR
    over.lines[0].strokeWidth = 1.2
    over.lines[0].symbol = _dot(LAST_YEAR, 2.8)
    drawing.add(over)
    _legend(drawing, left, height - top + 3 * mm, (("bar", legend[0], ACCENT), ("line", legend[1], LAST_YEAR)))
    return drawing


def share_bars(rows: Sequence[tuple[str, float, float]], width: float, series: tuple[str, str]) -> Drawing:
    """Two horizontal bars per row -- (name, share of members, share of spend) -- each labelled with its share."""
    label_width = min(52 * mm, width * 0.34)
    row_height = 7.5 * mm
    bottom, top = 6 * mm, 7 * mm  # the value axis below, the legend above
    value_room = 14 * mm
    drawing = _drawing(width, bottom + row_height * len(rows) + top)
    chart = HorizontalBarChart()
    chart.x, chart.y = label_width, bottom
    chart.width, chart.height = width - label_width - value_room, row_height * len(rows)
    # reportlab stacks a group's series upwards; the rows run downwards (reverseDirection), so give the series in
    # reverse to read members above spend within each row.
    chart.data = [[spend * 100 for _name, _members, spend in rows], [members * 100 for _name, members, _spend in rows]]
    chart.barWidth = 2.8 * mm
    chart.barSpacing = 0.3 * mm
    chart.groupSpacing = row_height - 2 * chart.barWidth - chart.barSpacing
    for index, colour in enumerate((LIGHT_ACCENT, ACCENT)):
        chart.bars[index].fillColor = colour
        chart.bars[index].strokeColor = None
    axis = chart.categoryAxis
    axis.categoryNames = [shorten(name, label_width - 4 * mm, CHART_FONT_SIZE) for name, _m, _s in rows]
    axis.reverseDirection = 1  # the first row on top, as in a table
    axis.strokeColor = RULE
    axis.tickLeft = 0
    _axis_font(axis)
    axis.labels.boxAnchor = "e"
    axis.labels.dx = -3
    shares = [value for series_values in chart.data for value in series_values]
    _value_axis(chart.valueAxis, [min(max(shares, default=0), 100)], 5, _percent_axis)
    chart.barLabelFormat = lambda value: share_text(value / 100)
    chart.barLabels.fontName = report_font()
    chart.barLabels.fontSize = CHART_FONT_SIZE - 1
    chart.barLabels.fillColor = INK
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 2
    chart.barLabels.boxTarget = "hi"
    drawing.add(chart)
    _legend(drawing, label_width, drawing.height - top + 2 * mm,
            (("bar", series[0], ACCENT), ("bar", series[1], LIGHT_ACCENT)))
    return drawing


def _colour(text: str, index: int) -> colors.Color:
    try:
        return colors.HexColor(text) if text.startswith("#") and len(text) == 7 else PALETTE[index % len(PALETTE)]
    except ValueError:
        return PALETTE[index % len(PALETTE)]


def tier_pie(rows: Sequence[tuple[str, int, str]], width: float) -> Drawing:
    """Members per tier as a pie with a legend beside it: (name, members, colour)."""
    size = 36 * mm
    height = max(size + 6 * mm, len(rows) * 5.5 * mm + 4 * mm)
    drawing = _drawing(width, height)
    pie = Pie()
    pie.x, pie.y = 2 * mm, (height - size) / 2
    pie.width = pie.height = size
    swatches = [_colour(colour, index) for index, (_name, _n, colour) in enumerate(rows)]
    shown = [(n, swatch) for (_name, n, _colour), swatch in zip(rows, swatches, strict=True) if n > 0]  # no empty slices
    pie.data = [n for n, _swatch in shown]
    pie.labels = None
    pie.startAngle = 90
    pie.direction = "clockwise"
    pie.slices.strokeColor = colors.white
    pie.slices.strokeWidth = 1
    for index, (_n, swatch) in enumerate(shown):
        pie.slices[index].fillColor = swatch
    drawing.add(pie)

    total = sum(n for _name, n, _colour in rows)
    legend = Legend()
    legend.x, legend.y = size + 8 * mm, height / 2 + len(rows) * 5.5 * mm / 2
    legend.fontName = report_font()
    legend.fontSize = CHART_FONT_SIZE
    legend.fillColor = INK
    legend.alignment = "right"
    legend.deltay = 5.5 * mm
    legend.dy = legend.dx = 7
    legend.columnMaximum = len(rows)
    legend.strokeColor = None
    text_room = width - legend.x - 12
    legend.colorNamePairs = [
        (swatch, shorten(f"{name}  {n:,} ({share_text(n / total if total else 0)})", text_room, CHART_FONT_SIZE))
        for (name, n, _colour), swatch in zip(rows, swatches, strict=True)]
    drawing.add(legend)
    return drawing


def points_chart(trend: Sequence[Period], width: float, height: float) -> Drawing:
    """Points earned and redeemed, month by month, as pairs of bars."""
    left, right, bottom, top = 15 * mm, 2 * mm, 6 * mm, 8 * mm
    drawing = _drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = left, bottom, width - left - right, height - bottom - top
    chart.data = [[p.points_earned for p in trend], [p.points_redeemed for p in trend]]
    for index, colour in enumerate((ACCENT, LAST_YEAR)):
        chart.bars[index].fillColor = colour
        chart.bars[index].strokeColor = None
    chart.groupSpacing = 0.3 * chart.width / max(len(trend), 1)
    chart.barSpacing = 0.6
    _category_axis(chart.categoryAxis, [month_text(p.start) for p in trend], DAY_FONT_SIZE)
    _value_axis(chart.valueAxis, chart.data[0] + chart.data[1], 4, _whole)
    drawing.add(chart)
    _legend(drawing, left, height - top + 3 * mm, (
        ("bar", QCoreApplication.translate("reports", "Earned"), ACCENT),
        ("bar", QCoreApplication.translate("reports", "Redeemed"), LAST_YEAR)))
    return drawing


def satisfaction_chart(trend: Sequence[Period], width: float, height: float) -> Drawing:
    """The average survey score (1-5) month by month as a line; a month without surveys leaves a gap."""
    left, right, bottom, top = 10 * mm, 4 * mm, 6 * mm, 12 * mm  # room above 5 for a score's label under the legend
    drawing = _drawing(width, height)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = left, bottom, width - left - right, height - bottom - top
    chart.data = [[p.satisfaction for p in trend]]
    _category_axis(chart.categoryAxis, [month_text(p.start) for p in trend], DAY_FONT_SIZE)
    chart.categoryAxis.tickDown = 0
    axis = chart.valueAxis
    axis.valueMin, axis.valueMax, axis.valueStep = 1, 5, 1
    axis.labelTextFormat = "%d"
    axis.strokeColor = RULE
    axis.visibleGrid = 1
    axis.gridStrokeColor = RULE
    axis.gridStrokeWidth = 0.3
    _axis_font(axis)
    axis.labels.fillColor = MUTED
    chart.joinedLines = 0  # joined below: reportlab cannot join a series of a single point
    if sum(score is not None for score in chart.data[0]) > 1:
        chart.lines[0].lineStyle = "joinedLine"
    chart.lines[0].strokeColor = ACCENT
    chart.lines[0].strokeWidth = 1.4
    chart.lines[0].symbol = _dot(ACCENT, 4)
    chart.lineLabelFormat = lambda score: "" if score is None else f"{score:.2f}"  # no label where no point
    chart.lineLabels.fontName = report_font()
    chart.lineLabels.fontSize = CHART_FONT_SIZE - 1
    chart.lineLabels.fillColor = INK
    chart.lineLabels.dy = 6
    drawing.add(chart)
    _legend(drawing, left, height - 5 * mm,
            (("line", QCoreApplication.translate("reports", "Average score (1 to 5)"), ACCENT),))
    return drawing


# ----------------------------------------------------------------------------- layout helpers


def _subheading(text: str) -> Paragraph:
    return Paragraph(escape(text), ParagraphStyle("subheading", parent=style("body"), fontSize=10, leading=13,
                                                  textColor=ACCENT, spaceAfter=1 * mm))


def _pair(left: Sequence[Flowable], right: Sequence[Flowable], width: float) -> Table:
    """Two blocks side by side, each half the width less a gap."""
    gap = 6 * mm
    half = (width - gap) / 2
    table = Table([[list(left), "", list(right)]], colWidths=[half, gap, half], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), report_font()),  # reportlab sets a cell font even around flowables
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
    ]))
    return table


def half_width(width: float) -> float:
    return (width - 6 * mm) / 2


# ----------------------------------------------------------------------------- sections


def _change_cell(now: int, before: int) -> Paragraph:
    base = style("cell_right")
    colour = INK if not before or now == before else (RISE if now > before else ALERT)
    return Paragraph(escape(change_text(now, before)), ParagraphStyle("change", parent=base, textColor=colour))


def _key_figures(data: BusinessReview, width: float) -> Table:
    this, previous, earlier = data.this_month, data.previous_month, data.year_earlier
    figures: list[tuple[str, Callable[[Period], int], Callable[[int], str]]] = [
        (QCoreApplication.translate("reports", "Net sales"), lambda p: p.sales_fen, yuan),
        (QCoreApplication.translate("reports", "Receipts"), lambda p: p.receipts, count_text),
        (QCoreApplication.translate("reports", "Average basket"), lambda p: p.average_basket_fen, yuan),
        (QCoreApplication.translate("reports", "Member visits"), lambda p: p.visits, count_text),
        (QCoreApplication.translate("reports", "New members"), lambda p: p.new_members, count_text),
    ]
    strong = ParagraphStyle("figure_now", parent=style("cell_right"), textColor=ACCENT, fontSize=10, leading=12.5)
    rows = [[label, Paragraph(escape(text(value(this))), strong), text(value(previous)),
             _change_cell(value(this), value(previous)), text(value(earlier)), _change_cell(value(this), value(earlier))]
            for label, value, text in figures]

    def head(month: str, what: str) -> Paragraph:
        return para(f"{month}\n{what}", "cell_head_right")

    header = [QCoreApplication.translate("reports", "Figure"),
              head(month_text(this.start), QCoreApplication.translate("reports", "this month")),
              head(month_text(previous.start), QCoreApplication.translate("reports", "month before")),
              QCoreApplication.translate("reports", "Change"),
              head(month_text(earlier.start), QCoreApplication.translate("reports", "a year earlier")),
              QCoreApplication.translate("reports", "Change")]
    widths = [w * mm for w in (40, 32, 30, 20, 30, 20)]
    return data_table(header, rows, [w * width / sum(widths) for w in widths], right=(1, 2, 3, 4, 5))


def _day_sections(data: BusinessReview, width: float) -> list[Flowable]:
    days = data.days
    names = [str(day.start.day) for day in days]
    same_days = QCoreApplication.translate("reports", "Same days of {month}").format(
        month=month_text(data.year_earlier.start))
    sales = _bars_and_line([d.sales_fen / 100 for d in days], [d.last_year_sales_fen / 100 for d in days], names, width,
                           68 * mm, (QCoreApplication.translate("reports", "Net sales {month}").format(month=data.label),
                                     same_days), _whole)
    visits = _bars_and_line([d.visits for d in days], [d.last_year_visits for d in days], names, width, 52 * mm,
                            (QCoreApplication.translate("reports", "Member visits {month}").format(month=data.label),
                             same_days), _whole)
    story = section(QCoreApplication.translate("reports", "Sales by day"), para(QCoreApplication.translate(
        "reports", "Net sales (sales less refunds) each day of {month} in yuan, beside the same day a year earlier.")
        .format(month=data.label), "muted"), spacer(1), sales, room_mm=80)
    story += section(QCoreApplication.translate("reports", "Member visits by day"), para(QCoreApplication.translate(
        "reports", "Members who bought each day (each member once a day), beside the same day a year earlier."), "muted"),
        spacer(1), visits, room_mm=65)
    return story


def _not_refreshed() -> Paragraph:
    return empty_note(QCoreApplication.translate(
        "reports", "Customer figures have not been worked out yet: refresh customer insight first."))


def _customer_sections(data: BusinessReview, width: float) -> list[Flowable]:
    title = QCoreApplication.translate("reports", "Customers")
    if data.refreshed_on is None:
        return section(title, _not_refreshed())
    members = QCoreApplication.translate("reports", "Share of members")
    spend = QCoreApplication.translate("reports", "Share of spend")
    segments = [(f"{_group_label('segment', g.key)} ({g.members:,})", g.member_share, g.spend_share)
                for g in data.groups.get("segment", [])]
    intro = para(QCoreApplication.translate(
        "reports", "At the refresh of {day}. Spend is that of the last {months} months; the number of members is in "
                   "brackets.").format(day=data.refreshed_on.isoformat(), months=data.window_months), "muted")
    story = section(title, intro, spacer(1), _subheading(QCoreApplication.translate("reports", "RFM segments")),
                    share_bars(segments, width, (members, spend)), room_mm=95)
    classes = [(f"{_group_label('abc', g.key)} ({g.members:,})", g.member_share, g.spend_share)
               for g in data.groups.get("abc", [])]
    story += [spacer(2), KeepTogether([
        _subheading(QCoreApplication.translate("reports", "ABC classes")),
        para(QCoreApplication.translate("reports", "Members who spent in the last {months} months, biggest spenders "
                                                   "first: class A are the fewest who together make 80 % of the spend.")
             .format(months=data.window_months), "muted"),
        share_bars(classes, width, (members, spend))])]

    half = half_width(width)
    stages = data.groups.get("stage", [])
    stage_total = sum(g.members for g in stages)
    stage_block: list[Flowable] = [_subheading(QCoreApplication.translate("reports", "Lifecycle stages"))]
    if stage_total:
        stage_block.append(bar_chart([(_group_label("stage", g.key), g.members) for g in stages], half, stage_total))
    else:
        stage_block.append(empty_note(QCoreApplication.translate("reports", "No member has bought anything yet.")))
    tier_groups = data.groups.get("tier", [])
    order = list(data.tier_colours)
    tier_groups = sorted(tier_groups, key=lambda g: (order.index(g.key) if g.key in order else len(order), g.key))
    tier_block: list[Flowable] = [_subheading(QCoreApplication.translate("reports", "Active members by tier"))]
    if any(g.members for g in tier_groups):
        tier_block.append(tier_pie([(_group_label("tier", g.key), g.members, data.tier_colours.get(g.key, ""))
                                    for g in tier_groups], half))
    else:
        tier_block.append(empty_note(QCoreApplication.translate("reports", "No active members yet.")))
    story += [spacer(3), _pair(stage_block, tier_block, width)]
    return story


def _trend_pair(data: BusinessReview, width: float) -> list[Flowable]:
    """Points earned and redeemed beside the satisfaction score, over the last six months."""
    half = half_width(width)
    trend = data.trend
    first, last = month_text(trend[0].start), month_text(trend[-1].start)
    points_block: list[Flowable] = [
        _subheading(QCoreApplication.translate("reports", "Points earned and redeemed, {first} to {last}").format(
            first=first, last=last)),
        para(QCoreApplication.translate("reports", "{month}: {earned} earned, {redeemed} redeemed.").format(
            month=data.label, earned=count_text(data.this_month.points_earned),
            redeemed=count_text(data.this_month.points_redeemed)), "muted"),
        points_chart(trend, half, CHART_PAIR_HEIGHT)]
    satisfaction_block: list[Flowable] = [_subheading(QCoreApplication.translate(
        "reports", "Customer satisfaction, {first} to {last}").format(first=first, last=last))]
    if any(p.satisfaction is not None for p in trend):
        now = data.this_month.satisfaction
        satisfaction_block += [
            para(QCoreApplication.translate("reports", "{month}: {score} on average.").format(
                month=data.label, score=f"{now:.2f}") if now is not None else QCoreApplication.translate(
                "reports", "No satisfaction surveys were taken in {month}.").format(month=data.label), "muted"),
            satisfaction_chart(trend, half, CHART_PAIR_HEIGHT)]
    else:
        satisfaction_block.append(empty_note(QCoreApplication.translate(
            "reports", "No satisfaction surveys were taken from {first} to {last}.").format(first=first, last=last)))
    return [spacer(4), _pair(points_block, satisfaction_block, width)]


def _complaint_section(data: BusinessReview, width: float) -> list[Flowable]:
    title = QCoreApplication.translate("reports", "Complaints by category")
    total = sum(n for _name, n in data.complaints)
    if not total:
        return section(title, empty_note(QCoreApplication.translate(
            "reports", "No complaints were received in {month}.").format(month=data.label)))
    rows = [(category_name(name), n) for name, n in data.complaints]
    intro = para(QCoreApplication.translate("reports", "{count} complaints received in {month}.").format(
        count=count_text(total), month=data.label), "muted")
    return section(title, intro, spacer(1), bar_chart(rows, width, total), room_mm=25 + 6.5 * len(rows))


def _alert_section(data: BusinessReview, width: float) -> list[Flowable]:
    title = QCoreApplication.translate("reports", "Churn alerts")
    if data.refreshed_on is None:
        return section(title, _not_refreshed())
    if not data.alerts:
        return section(title, empty_note(QCoreApplication.translate(
            "reports", "No member has a churn alert at the refresh of {day}.").format(day=data.refreshed_on.isoformat())))
    intro = QCoreApplication.translate(
        "reports", "The members with a churn alert who spent the most in the last {months} months: {shown} of {total}. "
                   "A word or an offer now may bring them back.").format(
        months=data.window_months, shown=count_text(len(data.alerts)),
        total=count_text(max(data.alert_total, len(data.alerts))))
    header = [QCoreApplication.translate("reports", "Member no."), QCoreApplication.translate("reports", "Name"),
              QCoreApplication.translate("reports", "Phone"), QCoreApplication.translate("reports", "Stage"),
              QCoreApplication.translate("reports", "Why"),
              QCoreApplication.translate("reports", "Spend, {months} months").format(months=data.window_months)]
    rows = [[row.member_no, row.name, masked_phone(row.phone), _group_label("stage", row.stage),
             insight_figures.alert_reason(row.alert, row.usual, row.now, QCoreApplication.translate),
             yuan(row.monetary_fen)] for row in data.alerts]
    widths = [w * mm for w in (21, 29, 24, 20, 60, 26)]
    table = data_table(header, rows, [w * width / sum(widths) for w in widths], right=(5,))
    table.setStyle(TableStyle([("TOPPADDING", (0, 1), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 1), (-1, -1), 1.5)]))
    return section(title, para(intro, "muted"), spacer(1.5), table, room_mm=60)


def _closing_note(data: BusinessReview) -> list[Flowable]:
    if data.refreshed_on is None:
        return []  # said under the key figures
    lines = [QCoreApplication.translate(
        "reports", "Customer groups, tiers, balances and churn alerts are those of the customer insight refresh of {day}.")
        .format(day=data.refreshed_on.isoformat())]
    if data.refreshed_on < data.last_day:
        lines.append(QCoreApplication.translate(
            "reports", "That refresh came before the end of {month}: refresh customer insight to count the whole month "
                       "in them.").format(month=data.label))
    if data.model_note:
        lines.append(QCoreApplication.translate("reports", "Purchase model: {note}").format(
            note=_model_note(data.model_note)))
    return [spacer(4), para("\n".join(lines), "muted")]


# ----------------------------------------------------------------------------- document


def report_title(month: str) -> str:
    return QCoreApplication.translate("reports", "Business review {month}").format(month=month)


def render_business_review(data: BusinessReview, ctx: ReportContext, *, progress: Progress | None = None,
                           should_cancel: ShouldCancel | None = None) -> bytes:
    """The month's review as PDF bytes; ReportCancelled when ``should_cancel()`` turns true."""
    check_cancel(should_cancel)
    width = content_width()
    title = report_title(data.label)
    subtitle = QCoreApplication.translate(
        "reports", "{first} to {last}, beside the month before ({previous}) and the same month a year earlier "
                   "({year_earlier}).").format(first=data.month.isoformat(), last=data.last_day.isoformat(),
                                               previous=month_text(data.previous_month.start),
                                               year_earlier=month_text(data.year_earlier.start))
    story: list[Flowable] = [
        para(QCoreApplication.translate("reports", "{store}: business review {month}").format(store=ctx.store_name,
                                                                                              month=data.label), "title"),
        para(subtitle, "subtitle"),
        _key_figures(data, width),
    ]
    if data.refreshed_on is None:  # some of the figures (new members, points redeemed) only a refresh counts
        story += [spacer(1.5), _not_refreshed()]
    else:
        story += [spacer(1.5), para(QCoreApplication.translate(
            "reports", "Held for members at the refresh of {day}: stored value {wallet}, credit owed {owed}.").format(
            day=data.refreshed_on.isoformat(), wallet=yuan(data.wallet_fen), owed=yuan(data.owed_fen)), "muted")]
    story += _day_sections(data, width)
    story += _customer_sections(data, width)
    story += _trend_pair(data, width)
    story += _complaint_section(data, width)
    story += _alert_section(data, width)
    story += _closing_note(data)
    return build_pdf(story, ctx, title, progress=progress, should_cancel=should_cancel)
