"""The monthly complaints and satisfaction report: figures, charts, surveys and what is overdue.

It prints a ComplaintsMonth (services/complaint_report.py) and reads nothing
itself. The figures mean what they mean on the complaints pages; the category
and survey names are translated in their own contexts ("complaints",
"surveys") the way the pages do, so a name the owner typed prints as typed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any
from xml.sax.saxutils import escape

from PySide6.QtCore import QCoreApplication
from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Circle, Drawing, Line, Rect, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from crmdesk.reports.base import (
    ACCENT, INK, MUTED, RULE, STRIPE_FILL, Progress, ReportContext, ShouldCancel, build_pdf, check_cancel, content_width,
    data_table, empty_note, local_date, local_datetime, para, section, shorten, spacer, style, tr,
)
from crmdesk.reports.fonts import report_font
from crmdesk.services import complaints
from crmdesk.services.complaint_figures import CAME_BACK_DAYS, Ratio
from crmdesk.services.complaint_report import NO_RESPONSE, ComplaintsMonth, OverdueComplaint, TrendMonth
from crmdesk.services.surveys import SurveySummary
from crmdesk.texts import QT_TRANSLATE_NOOP

ALERT = colors.HexColor("#B42318")  # what needs attention: overdue, a survey drop, no reply yet
LIGHT_ACCENT = colors.HexColor("#7FB3C8")  # the second line of the trend
CHART_FONT_SIZE = 8
FIRST_RESPONSE_DASHES = [3, 2]

RESPONSE_LABELS = {
    "under_1h": QT_TRANSLATE_NOOP("reports", "Under 1 hour"),
    "1h_4h": QT_TRANSLATE_NOOP("reports", "1 to 4 hours"),
    "4h_24h": QT_TRANSLATE_NOOP("reports", "4 to 24 hours"),
    "24h_more": QT_TRANSLATE_NOOP("reports", "24 hours or more"),
    NO_RESPONSE: QT_TRANSLATE_NOOP("reports", "No response yet"),
}


# ----------------------------------------------------------------------------- texts


def category_name(name: str) -> str:
    """A complaint category: the defaults translated in the "complaints" context, typed ones as typed."""
    return QCoreApplication.translate("complaints", name)


def question_name(name: str) -> str:
    """A survey dimension: the defaults translated in the "surveys" context, typed ones as typed."""
    return QCoreApplication.translate("surveys", name)


def duration_text(value: timedelta | None) -> str:
    """A time span as a person reads it: minutes, hours and minutes, or days and hours."""
    if value is None:
        return "—"
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return QCoreApplication.translate("reports", "{minutes} min").format(minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        if minutes == 0:
            return QCoreApplication.translate("reports", "{hours} h").format(hours=hours)
        return QCoreApplication.translate("reports", "{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    days, hours = divmod(hours + (1 if minutes >= 30 else 0), 24)
    return QCoreApplication.translate("reports", "{days} d {hours} h").format(days=days, hours=hours)


def percent_text(ratio: Ratio) -> str:
    if ratio.value is None:
        return "—"
    text = f"{ratio.value * 100:.1f}".removesuffix(".0")
    return QCoreApplication.translate("reports", "{percent} %").format(percent=text)


def ratio_detail(ratio: Ratio) -> str:
    if not ratio.denominator:
        return QCoreApplication.translate("reports", "no cases yet")
    return QCoreApplication.translate("reports", "{count} of {total}").format(count=f"{ratio.numerator:,}",
                                                                            total=f"{ratio.denominator:,}")


def mean_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def change_text(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}".replace("-", "−")


def customer_text(row: OverdueComplaint) -> str:
    if not row.walk_in:
        return f"{row.customer_name} ({row.member_no})"
    if row.customer_name:
        return QCoreApplication.translate("reports", "{name} (walk-in)").format(name=row.customer_name)
    return QCoreApplication.translate("reports", "Walk-in customer")


def owner_text(row: OverdueComplaint) -> str:
    parts = [part for part in (row.owner_name, row.department) if part]
    return " / ".join(parts) if parts else QCoreApplication.translate("reports", "Nobody yet")


def missed_text(row: OverdueComplaint) -> str:
    lines = []
    if row.response_late:
        lines.append(QCoreApplication.translate("reports", "Reply by {time}").format(time=local_datetime(row.first_response_due)))
    if row.resolution_late and row.resolution_due_day is not None:
        lines.append(QCoreApplication.translate("reports", "Resolve by {day}").format(day=row.resolution_due_day.isoformat()))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- charts


def _round_steps() -> Iterator[int]:
    """1, 2, 5, 10, 20, 50, 100, …"""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            yield factor * magnitude
        magnitude *= 10


def _count_axis(largest: int, steps: int = 5) -> tuple[int, int]:
    """A count axis in whole numbers: (step, top), at most ``steps`` steps, the top at least ``largest`` and never zero."""
    step = next(s for s in _round_steps() if largest <= s * steps)
    return step, max(step, -(-largest // step) * step)


def _drawing(width: float, height: float) -> Drawing:
    """An empty drawing whose text starts in the report font (else every chart names a non-embedded Helvetica)."""
    drawing = Drawing(width, height)
    drawing.initialFontName = report_font()
    drawing.initialFontSize = CHART_FONT_SIZE
    return drawing


def _axis_font(axis: Any) -> None:
    labels = axis.labels
    labels.fontName = report_font()
    labels.fontSize = CHART_FONT_SIZE
    labels.fillColor = INK


def _grid_axis(axis: Any) -> None:
    axis.strokeColor = RULE
    axis.visibleGrid = 1
    axis.gridStrokeColor = RULE
    axis.gridStrokeWidth = 0.3
    _axis_font(axis)
    axis.labels.fillColor = MUTED


def _count_value_axis(axis: Any, largest: int, steps: int) -> None:
    """A left value axis of whole counts, with light grid lines."""
    step, top = _count_axis(largest, steps)
    axis.valueMin, axis.valueMax, axis.valueStep = 0, top, step
    axis.labelTextFormat = "%d"
    _grid_axis(axis)


def bar_chart(rows: Sequence[tuple[str, int]], width: float, total: int, *, highlight: Sequence[int] = ()) -> Drawing:
    """Horizontal bars, one per row in the given order, each labelled "count (share of total)".

    ``highlight`` lists the rows drawn in the alert colour."""
    label_width = min(55 * mm, width * 0.35)
    row_height = 6.5 * mm
    bottom = 6 * mm  # the count axis and its labels
    value_room = 22 * mm  # the label after the longest bar
    drawing = _drawing(width, bottom + row_height * len(rows) + 2 * mm)
    chart = HorizontalBarChart()
    chart.x, chart.y = label_width, bottom
    chart.width, chart.height = width - label_width - value_room, row_height * len(rows)
    chart.data = [[count for _name, count in rows]]
    chart.barWidth = 4.2 * mm
    chart.groupSpacing = row_height - chart.barWidth
    chart.bars[0].fillColor = ACCENT
    chart.bars[0].strokeColor = None
    for index in highlight:
        chart.bars[(0, index)].fillColor = ALERT

    axis = chart.categoryAxis
    axis.categoryNames = [shorten(name, label_width - 4 * mm, CHART_FONT_SIZE) for name, _count in rows]
    axis.reverseDirection = 1  # the first row on top, as in a table
    axis.strokeColor = RULE
    axis.tickLeft = 0
    _axis_font(axis)
    axis.labels.boxAnchor = "e"
    axis.labels.dx = -3

    _count_value_axis(chart.valueAxis, max((count for _name, count in rows), default=0), steps=5)

    chart.barLabelFormat = lambda count: f"{count:,}  ({percent_text(Ratio(int(count), total))})"
    chart.barLabels.fontName = report_font()
    chart.barLabels.fontSize = CHART_FONT_SIZE
    chart.barLabels.fillColor = INK
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    chart.barLabels.boxTarget = "hi"
    drawing.add(chart)
    return drawing


def _legend(drawing: Drawing, x: float, y: float, entries: Sequence[tuple[str, str, colors.Color]]) -> None:
    """A one-line legend from (kind, text, colour), kind "bar", "line" or "dashed", left to right from (x, y)."""
    font = report_font()
    for kind, text, colour in entries:
        if kind == "bar":
            drawing.add(Rect(x, y - 1, 7, 7, fillColor=colour, strokeColor=None))
        else:
            drawing.add(Line(x - 3, y + 2.5, x + 10, y + 2.5, strokeColor=colour, strokeWidth=1.4,
                             strokeDashArray=FIRST_RESPONSE_DASHES if kind == "dashed" else None))
            drawing.add(Circle(x + 3.5, y + 2.5, 2, fillColor=colour, strokeColor=None))
        drawing.add(String(x + 12, y, text, fontName=font, fontSize=CHART_FONT_SIZE, fillColor=INK))
        x += 12 + stringWidth(text, font, CHART_FONT_SIZE) + 16


def _percent(ratio: Ratio) -> float | None:
    return None if ratio.value is None else ratio.value * 100


def trend_chart(trend: Sequence[TrendMonth], width: float) -> Drawing:
    """Two panels over the same months: the on-time shares as lines above, complaints received as bars below.

    Separate panels keep the bars' count labels clear of the lines, and each panel has its own plain axis."""
    left, right = 13 * mm, 4 * mm
    panel = 30 * mm
    bars_y = 7 * mm  # under it: the month labels
    lines_y = bars_y + panel + 11 * mm  # between the panels: the bars' legend
    drawing = _drawing(width, lines_y + panel + 10 * mm)
    months = [entry.month for entry in trend]

    bars = VerticalBarChart()
    bars.x, bars.y, bars.width, bars.height = left, bars_y, width - left - right, panel
    bars.data = [[entry.received for entry in trend]]
    bars.bars[0].fillColor = ACCENT
    bars.bars[0].strokeColor = None
    bars.groupSpacing = 0.4 * bars.width / len(trend)
    bars.categoryAxis.categoryNames = months
    bars.categoryAxis.strokeColor = RULE
    _axis_font(bars.categoryAxis)
    bars.categoryAxis.labels.dy = -2
    _count_value_axis(bars.valueAxis, max(entry.received for entry in trend), steps=4)
    bars.barLabelFormat = "%d"
    bars.barLabels.fontName = report_font()
    bars.barLabels.fontSize = CHART_FONT_SIZE - 0.5
    bars.barLabels.fillColor = INK
    bars.barLabels.boxAnchor = "s"
    bars.barLabels.dy = 1.5
    drawing.add(bars)

    # The same x, width and months as the bars, so each point sits straight above its month's bar.
    lines = HorizontalLineChart()
    lines.x, lines.y, lines.width, lines.height = bars.x, lines_y, bars.width, panel
    # Resolved on time is drawn last, so where the two shares are equal its line stays on top.
    lines.data = [[_percent(entry.first_response_on_time) for entry in trend],
                  [_percent(entry.resolved_on_time) for entry in trend]]
    lines.categoryAxis.categoryNames = months
    lines.categoryAxis.strokeColor = RULE
    lines.categoryAxis.tickDown = 0
    lines.categoryAxis.labels.fontName = report_font()
    lines.categoryAxis.visibleLabels = 0
    lines.valueAxis.valueMin, lines.valueAxis.valueMax, lines.valueAxis.valueStep = 0, 100, 25
    lines.valueAxis.labelTextFormat = "%d %%"
    _grid_axis(lines.valueAxis)
    lines.joinedLines = 0  # joined per series below: reportlab cannot join a series of a single point
    for index, (colour, dashes) in enumerate(((LIGHT_ACCENT, FIRST_RESPONSE_DASHES), (ACCENT, None))):
        if sum(value is not None for value in lines.data[index]) > 1:
            lines.lines[index].lineStyle = "joinedLine"
        lines.lines[index].strokeColor = colour
        lines.lines[index].strokeWidth = 1.4
        lines.lines[index].strokeDashArray = dashes
        lines.lines[index].symbol = _dot(colour)
    drawing.add(lines)

    _legend(drawing, left, lines_y + panel + 4 * mm, (
        ("line", QCoreApplication.translate("reports", "Resolved on time"), ACCENT),
        ("dashed", QCoreApplication.translate("reports", "First response on time"), LIGHT_ACCENT),
    ))
    _legend(drawing, left, bars_y + panel + 4 * mm, (
        ("bar", QCoreApplication.translate("reports", "Complaints received"), ACCENT),
    ))
    return drawing


def _dot(colour: colors.Color) -> Any:
    marker = makeMarker("FilledCircle")
    marker.size = 4
    marker.fillColor = colour
    marker.strokeColor = colour
    return marker


# ----------------------------------------------------------------------------- sections


def _tile_styles() -> tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle]:
    value = ParagraphStyle("tile_value", parent=style("body"), fontSize=15, leading=19, textColor=ACCENT)
    alert = ParagraphStyle("tile_alert", parent=value, textColor=ALERT)
    label = ParagraphStyle("tile_label", parent=style("small"), textColor=INK)
    return value, alert, label


def figure_tiles(tiles: Sequence[tuple[str, str, str, bool]], width: float, columns: int = 4) -> Table:
    """Key figures as tiles of (label, value, detail, alert), ``columns`` to a row."""
    value_style, alert_style, label_style = _tile_styles()
    cells = [[Paragraph(escape(value), alert_style if alert else value_style), Paragraph(escape(label), label_style),
              para(detail, "muted")] for label, value, detail, alert in tiles]
    cells += [""] * (-len(cells) % columns)
    rows = [cells[start:start + columns] for start in range(0, len(cells), columns)]
    table = Table(rows, colWidths=[width / columns] * columns, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), report_font()),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, -1), STRIPE_FILL),
        ("GRID", (0, 0), (-1, -1), 3, colors.white),  # white gaps between the tiles
        ("LEFTPADDING", (0, 0), (-1, -1), 7),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
    ]))
    return table


def _key_figures(data: ComplaintsMonth, width: float) -> Table:
    figures, survey = data.figures, data.survey
    satisfaction = "—" if figures.satisfaction_mean is None else QCoreApplication.translate("reports", "{mean} / 5").format(
        mean=f"{figures.satisfaction_mean:.1f}")
    tiles = [
        (QCoreApplication.translate("reports", "Complaints received"), f"{figures.received:,}",
         QCoreApplication.translate("reports", "in {month}").format(month=data.month), False),
        (QCoreApplication.translate("reports", "Median time to first response"), duration_text(figures.median_first_response),
         QCoreApplication.translate("reports", "from coming in to the first contact"), False),
        (QCoreApplication.translate("reports", "Median time to resolution"), duration_text(figures.median_resolution),
         QCoreApplication.translate("reports", "of the complaints resolved"), False),
        (QCoreApplication.translate("reports", "Overdue now"), f"{data.overdue_total:,}",
         QCoreApplication.translate("reports", "from any month"), data.overdue_total > 0),
        (QCoreApplication.translate("reports", "First response on time"), percent_text(figures.first_response_on_time),
         ratio_detail(figures.first_response_on_time), False),
        (QCoreApplication.translate("reports", "Resolved on time"), percent_text(figures.resolved_on_time),
         ratio_detail(figures.resolved_on_time), False),
        (QCoreApplication.translate("reports", "Follow-up done"), percent_text(figures.follow_up_done),
         ratio_detail(figures.follow_up_done), False),
        (QCoreApplication.translate("reports", "Satisfaction after resolution"), satisfaction,
         QCoreApplication.translate("reports", "{count} follow-ups").format(count=figures.satisfaction_count), False),
        (QCoreApplication.translate("reports", "Repeat complainants"), f"{len(figures.repeat_members):,}",
         QCoreApplication.translate("reports", "members"), False),
        (QCoreApplication.translate("reports", "Back within {days} days (resolved)").format(days=CAME_BACK_DAYS),
         percent_text(figures.came_back_resolved),
         ratio_detail(figures.came_back_resolved), False),
        (QCoreApplication.translate("reports", "Back within {days} days (not resolved)").format(days=CAME_BACK_DAYS),
         percent_text(figures.came_back_unresolved),
         ratio_detail(figures.came_back_unresolved), False),
        (QCoreApplication.translate("reports", "Survey: satisfied (4 or 5)"), percent_text(survey.satisfaction_rate),
         ratio_detail(survey.satisfaction_rate), False),
    ]
    return figure_tiles(tiles, width)


def _complaint_sections(data: ComplaintsMonth, width: float) -> list[Flowable]:
    figures = data.figures
    story: list[Flowable] = []
    if not figures.received:
        note = empty_note(QCoreApplication.translate("reports", "No complaints were received in {month}.").format(month=data.month))
        story += section(QCoreApplication.translate("reports", "Complaints by category"), note)
        story += section(QCoreApplication.translate("reports", "Time to first response"), note)
        return story
    categories = [(category_name(entry.name), entry.count) for entry in data.by_category]
    story += section(QCoreApplication.translate("reports", "Complaints by category"),
                     bar_chart(categories, width, figures.received), room_mm=20 + 6.5 * len(categories))
    buckets = data.response_times
    rows = [(tr(RESPONSE_LABELS[bucket.code]), bucket.count) for bucket in buckets]
    waiting = [index for index, bucket in enumerate(buckets) if bucket.code == NO_RESPONSE]
    story += section(
        QCoreApplication.translate("reports", "Time to first response"),
        para(QCoreApplication.translate("reports", "From coming in to the first contact with the customer, for the complaints "
                                                   "received in {month}; the median was {median}.").format(
            month=data.month, median=duration_text(figures.median_first_response)), "muted"),
        spacer(1.5),
        bar_chart(rows, width, figures.received, highlight=waiting),
        room_mm=60,
    )
    return story


def _trend_section(data: ComplaintsMonth, width: float) -> list[Flowable]:
    title = QCoreApplication.translate("reports", "Twelve-month trend")
    first, last = data.trend[0].month, data.trend[-1].month
    if not any(entry.received for entry in data.trend):
        return section(title, empty_note(QCoreApplication.translate("reports", "No complaints were received from {first} to {last}.")
                                         .format(first=first, last=last)))
    return section(title, para(QCoreApplication.translate(
        "reports", "Complaints received each month from {first} to {last}, and the share of them answered and resolved on "
                   "time (of those whose deadline has passed).").format(first=first, last=last), "muted"),
        spacer(1.5), trend_chart(data.trend, width), room_mm=95)


def _survey_section(survey: SurveySummary, width: float) -> list[Flowable]:
    title = QCoreApplication.translate("reports", "Customer satisfaction")
    if not survey.responses:
        return section(title, empty_note(QCoreApplication.translate("reports", "No satisfaction surveys were taken in {month}.")
                                         .format(month=survey.month)))
    threshold = f"{survey.drop_alert_centi / 100:.2f}"
    content: list[Flowable] = [
        para(QCoreApplication.translate("reports", "{responses} survey responses in {month}: {percent} of the {scores} scores "
                                                   "were 4 or 5 (satisfied).").format(
            responses=f"{survey.responses:,}", month=survey.month, percent=percent_text(survey.satisfaction_rate),
            scores=f"{survey.satisfaction_rate.denominator:,}")),
        para(QCoreApplication.translate("reports", "Compared with {previous}; a question is flagged when its mean drops by "
                                                   "more than {points} points.").format(previous=survey.previous_month,
                                                                                        points=threshold), "muted"),
    ]
    alert_style = ParagraphStyle("survey_alert", parent=style("body"), textColor=ALERT)
    alert_cell = ParagraphStyle("survey_alert_cell", parent=style("cell"), textColor=ALERT)
    if survey.alerts:
        dropped = QCoreApplication.translate("reports", ", ").join(
            f"{question_name(d.name)} ({change_text(d.change)})" for d in survey.alerts)
        content.append(Paragraph(escape(QCoreApplication.translate("reports", "Dropped since {previous}: {questions}").format(
            previous=survey.previous_month, questions=dropped)), alert_style))
    header = [QCoreApplication.translate("reports", "Question"), QCoreApplication.translate("reports", "Answers"),
              QCoreApplication.translate("reports", "Mean"), QCoreApplication.translate("reports", "Month before"),
              QCoreApplication.translate("reports", "Change"), QCoreApplication.translate("reports", "Satisfied"),
              QCoreApplication.translate("reports", "Alert")]
    rows = [[question_name(d.name), f"{d.count:,}", mean_text(d.mean), mean_text(d.previous_mean), change_text(d.change),
             percent_text(d.satisfaction_rate),
             Paragraph(escape(QCoreApplication.translate("reports", "dropped")), alert_cell) if d.dropped else ""]
            for d in survey.dimensions]
    widths = [w * mm for w in (56, 20, 20, 24, 20, 22, 18)]
    content += [spacer(2), data_table(header, rows, [w * width / sum(widths) for w in widths], right=(1, 2, 3, 4, 5))]
    return section(title, *content, room_mm=60)


def _overdue_section(data: ComplaintsMonth, width: float) -> list[Flowable]:
    title = QCoreApplication.translate("reports", "Overdue complaints")
    when = local_datetime(data.as_of)
    if not data.overdue:
        return section(title, empty_note(QCoreApplication.translate("reports", "No complaint is overdue at {time}.").format(time=when)))
    intro = QCoreApplication.translate("reports", "{count} complaints are overdue at {time}, whichever month they came in; "
                                                  "the longest overdue first.").format(count=f"{data.overdue_total:,}", time=when)
    if data.overdue_total > len(data.overdue):
        intro += " " + QCoreApplication.translate("reports", "The first {shown} are listed.").format(shown=f"{len(data.overdue):,}")
    header = [QCoreApplication.translate("reports", "No."), QCoreApplication.translate("reports", "Received"),
              QCoreApplication.translate("reports", "Customer"), QCoreApplication.translate("reports", "Category"),
              QCoreApplication.translate("reports", "Priority"), QCoreApplication.translate("reports", "Owner"),
              QCoreApplication.translate("reports", "Deadline missed"), QCoreApplication.translate("reports", "Late by")]
    rows = [[str(row.id), local_date(row.received_at), customer_text(row), category_name(row.category_name),
             QCoreApplication.translate("complaints", complaints.PRIORITY_LABELS[row.priority]), owner_text(row),
             para(missed_text(row), "cell"), duration_text(row.late_by)] for row in data.overdue]
    widths = [w * mm for w in (10, 18, 31, 28, 13, 24, 39, 17)]
    table = data_table(header, rows, [w * width / sum(widths) for w in widths], right=(0, 7))
    return section(title, para(intro, "muted"), spacer(1.5), table)


# ----------------------------------------------------------------------------- document


def report_title(month: str) -> str:
    return QCoreApplication.translate("reports", "Complaints and satisfaction — {month}").format(month=month)


def render_complaints_month(data: ComplaintsMonth, ctx: ReportContext, *, progress: Progress | None = None,
                            should_cancel: ShouldCancel | None = None) -> bytes:
    """The month's report as PDF bytes; ReportCancelled when ``should_cancel()`` turns true."""
    check_cancel(should_cancel)
    width = content_width()
    title = report_title(data.month)
    story: list[Flowable] = [
        para(title, "title"),
        para(QCoreApplication.translate("reports", "Complaints received in {month}, as they stand at {time}; surveys taken in "
                                                   "{month}.").format(month=data.month, time=local_datetime(data.as_of)), "subtitle"),
        _key_figures(data, width),
    ]
    story += _complaint_sections(data, width)
    story += _trend_section(data, width)
    story += _survey_section(data.survey, width)
    story += _overdue_section(data, width)
    return build_pdf(story, ctx, title, progress=progress, should_cancel=should_cancel)
