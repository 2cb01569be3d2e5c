"""The printed loyalty summary: points owed, who holds them, how they moved, offers used.

Takes the figures from crmdesk.services.loyalty_figures (it reads no database
itself) and lays them out on A4: headline figures, members by tier with a bar
chart, the period's points movement, points due to expire, offer redemptions.
An empty section prints a sentence instead of an empty table.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from PySide6.QtCore import QCoreApplication
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Table, TableStyle

from crmdesk.models import PointsKind
from crmdesk.reports.base import (
    ACCENT, HEADER_FILL, INK, MUTED, RULE, Progress, ReportContext, ShouldCancel, build_pdf, check_cancel, content_width,
    data_table, empty_note, para, section, shorten, spacer, style, tr, yuan,
)
from crmdesk.reports.fonts import report_font
from crmdesk.services.loyalty import SHOP_ZONE
from crmdesk.services.loyalty_figures import LoyaltySummary, PointsMovement, TierLine
from crmdesk.texts import QT_TRANSLATE_NOOP

# What each ledger kind is called, by direction (+1 added, -1 taken away).
MOVEMENT_LABELS = {
    (PointsKind.EARN, 1): QT_TRANSLATE_NOOP("reports", "Earned on purchases"),
    (PointsKind.GOODWILL, 1): QT_TRANSLATE_NOOP("reports", "Goodwill for complaints"),
    (PointsKind.ADJUSTMENT, 1): QT_TRANSLATE_NOOP("reports", "Added by hand"),
    (PointsKind.IMPORT, 1): QT_TRANSLATE_NOOP("reports", "Opening balances imported"),
    (PointsKind.REDEEM, -1): QT_TRANSLATE_NOOP("reports", "Redeemed"),
    (PointsKind.EXPIRY, -1): QT_TRANSLATE_NOOP("reports", "Expired"),
    (PointsKind.REFUND_REVERSAL, -1): QT_TRANSLATE_NOOP("reports", "Taken back on refunds"),
    (PointsKind.ADJUSTMENT, -1): QT_TRANSLATE_NOOP("reports", "Taken away by hand"),
    (PointsKind.IMPORT, -1): QT_TRANSLATE_NOOP("reports", "Imported (negative)"),
}
OTHER_MOVEMENT = QT_TRANSLATE_NOOP("reports", "Other ({kind})")
NO_TIER = QT_TRANSLATE_NOOP("reports", "No tier")

MINUS = "\u2212"  # a real minus sign: as wide as the plus, so signed columns line up


def points_text(points: int, *, signed: bool = False) -> str:
    """1,234 or, signed, +1,234 / −1,234."""
    text = f"{abs(points):,}"
    if points < 0:
        return MINUS + text
    return f"+{text}" if signed and points > 0 else text


def money_text(fen: int, *, signed: bool = False) -> str:
    """¥1,234.50 or, signed, +¥1,234.50 / −¥1,234.50 (the same minus sign as the points beside it)."""
    if fen < 0:
        return MINUS + yuan(-fen)
    return f"+{yuan(fen)}" if signed and fen > 0 else yuan(fen)


def period_text(data: LoyaltySummary) -> str:
    if data.start == data.end:
        return data.start.isoformat()
    return f"{data.start.isoformat()} – {data.end.isoformat()}"


def render_loyalty_summary(
    data: LoyaltySummary,
    ctx: ReportContext,
    *,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
) -> bytes:
    """The loyalty summary as PDF bytes."""
    check_cancel(should_cancel)
    period = period_text(data)
    title = QCoreApplication.translate("reports", "Loyalty summary {period}").format(period=period)
    width = content_width()
    story: list[Flowable] = [
        para(title, "title"),
        para(QCoreApplication.translate("reports", "Points held and owed as of {when} (shop time) · {rate} points = ¥1 when redeemed")
             .format(when=data.as_of.astimezone(SHOP_ZONE).strftime("%Y-%m-%d %H:%M"), rate=f"{data.redeem_points_per_yuan:,}"),
             "subtitle"),
        _headline(data, width),
        spacer(2),
        para(_outstanding_note(data), "muted"),
    ]
    story += section(QCoreApplication.translate("reports", "Members by tier"), *_tiers(data, width))
    story += section(QCoreApplication.translate("reports", "Points movement {period}").format(period=period), *_movement(data, width))
    story += section(QCoreApplication.translate("reports", "Points due to expire"), *_expiring(data, width), room_mm=30)
    story += section(QCoreApplication.translate("reports", "Offer redemptions {period}").format(period=period), *_offers(data, width))
    return build_pdf(story, ctx, title, progress=progress, should_cancel=should_cancel)


# ----------------------------------------------------------------------------- headline


def _headline(data: LoyaltySummary, width: float) -> Table:
    """Four figures in boxes across the page: the numbers an owner looks for first."""
    figure_style = ParagraphStyle("figure", parent=style("body"), fontSize=16, leading=20, textColor=ACCENT, alignment=TA_CENTER)
    label_style = ParagraphStyle("figure_label", parent=style("muted"), fontSize=8, leading=10.5, alignment=TA_CENTER)
    figures = (
        (points_text(data.points_outstanding), QCoreApplication.translate("reports", "Points outstanding")),
        (money_text(data.liability_fen), QCoreApplication.translate("reports", "Value owed to members")),
        (points_text(data.net_change, signed=True), QCoreApplication.translate("reports", "Net change in the period")),
        (f"{data.offer_uses:,}", QCoreApplication.translate("reports", "Offers redeemed in the period")),
    )
    cells = [[Paragraph(escape(value), figure_style), Paragraph(escape(label), label_style)] for value, label in figures]
    gap = 3 * mm
    box = (width - 3 * gap) / 4
    table = Table([[cells[0], "", cells[1], "", cells[2], "", cells[3]]], colWidths=[box, gap, box, gap, box, gap, box],
                  hAlign="LEFT")
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), report_font()),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),  # the figures stay in line when a label wraps
        ("TOPPADDING", (0, 0), (-1, -1), 3 * mm),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5 * mm),
    ]
    for column in (0, 2, 4, 6):
        commands += [("BACKGROUND", (column, 0), (column, 0), HEADER_FILL),
                     ("LINEABOVE", (column, 0), (column, 0), 1.2, ACCENT)]
    table.setStyle(TableStyle(commands))
    return table


def _outstanding_note(data: LoyaltySummary) -> str:
    note = QCoreApplication.translate(
        "reports",
        # One literal per text: the translation tool does not join literals written side by side.
        "Points outstanding are the balances of the {members} members who are not closed (frozen members included); {with_points} of them hold points. Their value is what the shop gives if every point is redeemed at today's rule.",
    ).format(members=f"{data.members:,}", with_points=f"{data.members_with_points:,}")
    if data.closed_member_points:
        note += " " + QCoreApplication.translate(
            "reports", "Closed members still hold {points} points; they cannot be used and are not counted."
        ).format(points=points_text(data.closed_member_points))
    return note


# ----------------------------------------------------------------------------- members by tier


def _tier_name(line: TierLine) -> str:
    return line.name if line.name is not None else tr(NO_TIER)


def _tier_cell(line: TierLine) -> Paragraph:
    """The tier's name after a square in its colour, as on the member screens."""
    colour = line.colour if line.colour.startswith("#") and len(line.colour) == 7 else "#808080"
    return Paragraph(f'<font color="{colour}">■</font>&nbsp;{escape(_tier_name(line))}', style("cell"))


def _share(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f} %" if whole else "—"


def _tiers(data: LoyaltySummary, width: float) -> list[Flowable]:
    if not data.members:
        return [empty_note(QCoreApplication.translate("reports", "No members yet: nobody holds points."))]
    total_points = data.points_outstanding
    rows = [
        [_tier_cell(line), f"{line.members:,}", _share(line.members, data.members), points_text(line.points),
         _share(line.points, total_points), yuan(data.value_fen(line.points))]
        for line in data.tiers
    ]
    total = [QCoreApplication.translate("reports", "All tiers"), f"{data.members:,}", _share(data.members, data.members),
             points_text(total_points), _share(total_points, total_points), yuan(data.liability_fen)]
    header = [QCoreApplication.translate("reports", "Tier"), QCoreApplication.translate("reports", "Members"),
              QCoreApplication.translate("reports", "% of members"), QCoreApplication.translate("reports", "Points held"),
              QCoreApplication.translate("reports", "% of points"), QCoreApplication.translate("reports", "Worth")]
    numbers = width - 42 * mm
    table = data_table(header, rows, [42 * mm, numbers * 0.15, numbers * 0.17, numbers * 0.24, numbers * 0.17, numbers * 0.27],
                       right=(1, 2, 3, 4, 5), total_row=total)
    return [table, spacer(4), KeepTogether([_tier_chart(data, width)])]


def _tier_chart(data: LoyaltySummary, width: float) -> Drawing:
    """Two bar panels side by side, one row per tier: members, and points held (each scaled to its largest bar)."""
    font = report_font()
    row, bar = 6.5 * mm, 4.2 * mm
    label_width, gap = 28 * mm, 8 * mm
    panel = (width - label_width - gap) / 2
    value_room = 20 * mm  # the number printed after the longest bar
    title_room = 7 * mm
    height = title_room + row * len(data.tiers) + 1 * mm
    # Without an initial font the drawing starts in Helvetica, which the PDF would name but not embed.
    drawing = Drawing(width, height, initialFontName=font, initialFontSize=8)
    panels = (
        (QCoreApplication.translate("reports", "Members"), [line.members for line in data.tiers], lambda n: f"{n:,}"),
        (QCoreApplication.translate("reports", "Points held"), [line.points for line in data.tiers], points_text),
    )
    for index, (title, values, text) in enumerate(panels):
        left = label_width + index * (panel + gap)
        drawing.add(String(left, height - 4 * mm, title, fontName=font, fontSize=8.5, fillColor=ACCENT))
        largest = max(values) or 1
        for position, (line, value) in enumerate(zip(data.tiers, values, strict=True)):
            middle = height - title_room - position * row - row / 2
            length = (panel - value_room) * value / largest
            if value:
                drawing.add(Rect(left, middle - bar / 2, max(length, 0.6), bar, fillColor=_colour(line.colour),
                                 strokeColor=None))
            drawing.add(String(left + length + 1.5 * mm, middle - 1.1 * mm, text(value), fontName=font, fontSize=7.5,
                               fillColor=INK))
        drawing.add(Line(left, height - title_room + 0.5 * mm, left, height - title_room - row * len(data.tiers),
                         strokeColor=RULE, strokeWidth=0.6))
    for position, line in enumerate(data.tiers):
        middle = height - title_room - position * row - row / 2
        drawing.add(String(label_width - 2 * mm, middle - 1.1 * mm, shorten(_tier_name(line), label_width - 3 * mm, 8),
                           fontName=font, fontSize=8, fillColor=INK, textAnchor="end"))
    return drawing


def _colour(text: str) -> colors.Color:
    try:
        return colors.HexColor(text)
    except ValueError:
        return MUTED


# ----------------------------------------------------------------------------- points movement


def _movement_label(movement: PointsMovement, sign: int) -> str:
    label = MOVEMENT_LABELS.get((movement.kind, sign))
    return tr(label) if label else tr(OTHER_MOVEMENT).format(kind=movement.kind.value)


def _movement(data: LoyaltySummary, width: float) -> list[Flowable]:
    if not data.has_movement:
        return [empty_note(QCoreApplication.translate("reports", "No points were added or taken away in this period."))]
    strong, strong_right = style("cell_head"), style("cell_head_right")  # subtotals in the headings' colour

    def subtotal(label: str, entries: int, points: int) -> list[object]:
        return [Paragraph(escape(label), strong), Paragraph(f"{entries:,}", strong_right),
                Paragraph(escape(points_text(points, signed=True)), strong_right),
                Paragraph(escape(money_text(data.value_fen(points), signed=True)), strong_right)]

    rows: list[list[object]] = []
    subtotal_rows: list[int] = []
    for sign, movements, label in (
        (1, data.added, QCoreApplication.translate("reports", "Points added")),
        (-1, data.taken, QCoreApplication.translate("reports", "Points taken away")),
    ):
        for movement in movements:
            rows.append([_movement_label(movement, sign), f"{movement.entries:,}", points_text(movement.points, signed=True),
                         money_text(data.value_fen(movement.points), signed=True)])
        rows.append(subtotal(label, sum(m.entries for m in movements), sum(m.points for m in movements)))
        subtotal_rows.append(len(rows))  # the header is row 0
    total = subtotal(QCoreApplication.translate("reports", "Net change"),
                     sum(m.entries for m in (*data.added, *data.taken)), data.net_change)
    header = [QCoreApplication.translate("reports", "Movement"), QCoreApplication.translate("reports", "Entries"),
              QCoreApplication.translate("reports", "Points"), QCoreApplication.translate("reports", "Worth")]
    numbers = width - 80 * mm
    table = data_table(header, rows, [80 * mm, numbers * 0.25, numbers * 0.35, numbers * 0.40], right=(1, 2, 3),
                       total_row=total)
    # Subtotals read as the end of their group: a rule above, no stripe.
    table.setStyle(TableStyle([command for row in subtotal_rows for command in (
        ("LINEABOVE", (0, row), (-1, row), 0.6, ACCENT), ("BACKGROUND", (0, row), (-1, row), colors.white))]))
    note = QCoreApplication.translate(
        "reports", "Worth is at today's rule ({rate} points = ¥1). Every entry of the period counts, closed members' too."
    ).format(rate=f"{data.redeem_points_per_yuan:,}")
    return [table, spacer(1.5), para(note, "muted")]


# ----------------------------------------------------------------------------- expiring


def _expiring(data: LoyaltySummary, width: float) -> list[Flowable]:
    if not any(item.points for item in data.expiring):
        last = max((item.last_day for item in data.expiring), default=data.as_of.date())
        return [empty_note(QCoreApplication.translate("reports", "No points are due to expire by {day}.")
                           .format(day=last.isoformat()))]
    rows = [[QCoreApplication.translate("reports", "Within {days} days").format(days=item.days), item.last_day.isoformat(),
             points_text(item.points), yuan(item.value_fen)] for item in data.expiring]
    header = [QCoreApplication.translate("reports", "Due"), QCoreApplication.translate("reports", "Last usable day up to"),
              QCoreApplication.translate("reports", "Points"), QCoreApplication.translate("reports", "Worth")]
    numbers = width - 80 * mm
    table = data_table(header, rows, [40 * mm, 40 * mm, numbers * 0.6, numbers * 0.4], right=(2, 3))
    note = QCoreApplication.translate(
        "reports", "Each row includes the one before it. Members spend their oldest points first; closed members are left out."
    )
    return [table, spacer(1.5), para(note, "muted")]


# ----------------------------------------------------------------------------- offers


def _offers(data: LoyaltySummary, width: float) -> list[Flowable]:
    if not data.offers:
        return [empty_note(QCoreApplication.translate("reports", "No offers were used in this period."))]
    rows = [[offer.name, f"{offer.uses:,}", f"{offer.coupons:,}", points_text(offer.points_spent), yuan(offer.discount_fen)]
            for offer in data.offers]
    total = [QCoreApplication.translate("reports", "All offers"), f"{data.offer_uses:,}", f"{data.offer_coupons:,}",
             points_text(data.offer_points_spent), yuan(data.offer_discount_fen)]
    header = [QCoreApplication.translate("reports", "Offer"), QCoreApplication.translate("reports", "Times used"),
              QCoreApplication.translate("reports", "Coupons"), QCoreApplication.translate("reports", "Points spent"),
              QCoreApplication.translate("reports", "Discount given")]
    numbers = width - 80 * mm
    return [data_table(header, rows, [80 * mm, numbers * 0.2, numbers * 0.2, numbers * 0.27, numbers * 0.33],
                       right=(1, 2, 3, 4), total_row=total)]
