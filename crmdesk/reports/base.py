"""What every printed document shares: page frame, styles, tables, progress and cancel.

A document module builds a list of flowables and hands it to ``build_pdf``,
which lays it out on A4 with the store's letterhead at the top of every page
and "generated … by … · page x / y" at the foot, and returns the PDF bytes.
All text uses the bundled font (embedded), and paragraphs wrap the CJK way so a
line of mixed Chinese and Latin text breaks between Chinese characters and
between Latin words, never off the page.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from PySide6.QtCore import QCoreApplication
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate, CondPageBreak, Flowable, Frame, PageBreak, PageTemplate, Paragraph, Spacer, Table, TableStyle,
)

from crmdesk.errors import CrmdeskError
from crmdesk.reports.fonts import report_font
from crmdesk.services.member_query import money_text
from crmdesk.shop_time import format_date, format_time
from crmdesk.texts import QT_TRANSLATE_NOOP

Progress = Callable[[int, int], None]  # (done, total)
ShouldCancel = Callable[[], bool]

MARGIN = 15 * mm
TOP_MARGIN = MARGIN + 4 * mm  # room for the letterhead
BOTTOM_MARGIN = MARGIN + 2 * mm  # room for the footer
INK = colors.HexColor("#1F2933")
MUTED = colors.HexColor("#616E7C")
ACCENT = colors.HexColor("#1F5F7A")  # headings and rules
RULE = colors.HexColor("#CBD2D9")
HEADER_FILL = colors.HexColor("#E4EDF2")
STRIPE_FILL = colors.HexColor("#F5F7FA")


class ReportCancelled(CrmdeskError):
    """The person stopped the document; nothing was written."""


def cancelled() -> ReportCancelled:
    return ReportCancelled(QT_TRANSLATE_NOOP("errors", "The report was cancelled; no file was written."))


def check_cancel(should_cancel: ShouldCancel | None) -> None:
    if should_cancel is not None and should_cancel():
        raise cancelled()


@dataclass(frozen=True)
class ReportContext:
    """Who printed a document, when, and for which store: the letterhead and footer of every page."""

    store_name: str
    generated_by: str
    generated_at: datetime  # aware; printed in the PC's local time


def tr(text: str) -> str:
    """A report string in the current language (context "reports").

    Only for texts already marked with QT_TRANSLATE_NOOP("reports", ...) or
    QCoreApplication.translate: lupdate collects literal calls, not this one."""
    return QCoreApplication.translate("reports", text)


# ----------------------------------------------------------------------------- styles


def style(name: str) -> ParagraphStyle:
    """One of the shared paragraph styles: title, subtitle, heading, body, small, cell, cell_right, muted."""
    return _styles()[name]


_STYLE_CACHE: dict[str, ParagraphStyle] = {}


def _styles() -> dict[str, ParagraphStyle]:
    if not _STYLE_CACHE:
        font = report_font()
        base = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13.5, textColor=INK, wordWrap="CJK")
        _STYLE_CACHE.update(
            body=base,
            title=ParagraphStyle("title", parent=base, fontSize=18, leading=24, textColor=ACCENT, spaceAfter=2 * mm),
            subtitle=ParagraphStyle("subtitle", parent=base, fontSize=10.5, leading=15, textColor=MUTED, spaceAfter=4 * mm),
            heading=ParagraphStyle("heading", parent=base, fontSize=12.5, leading=17, textColor=ACCENT,
                                   spaceBefore=5 * mm, spaceAfter=2 * mm),
            small=ParagraphStyle("small", parent=base, fontSize=8, leading=10.5),
            muted=ParagraphStyle("muted", parent=base, fontSize=8.5, leading=12, textColor=MUTED),
            cell=ParagraphStyle("cell", parent=base, fontSize=8.5, leading=11),
            cell_right=ParagraphStyle("cell_right", parent=base, fontSize=8.5, leading=11, alignment=TA_RIGHT),
            list_cell=ParagraphStyle("list_cell", parent=base, fontSize=8, leading=10),
            list_cell_right=ParagraphStyle("list_cell_right", parent=base, fontSize=8, leading=10, alignment=TA_RIGHT),
            cell_head=ParagraphStyle("cell_head", parent=base, fontSize=8.5, leading=11, textColor=ACCENT),
            cell_head_right=ParagraphStyle("cell_head_right", parent=base, fontSize=8.5, leading=11, textColor=ACCENT,
                                           alignment=TA_RIGHT),
            # A line that introduces the table or chart under it: never left alone at a page foot.
            caption=ParagraphStyle("caption", parent=base, fontSize=8.5, leading=12, textColor=MUTED, keepWithNext=1,
                                   spaceBefore=1.5 * mm, spaceAfter=1 * mm),
        )
    return _STYLE_CACHE


def para(text: object, style_name: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped: a name with < or & prints as typed)."""
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style(style_name))


def caption(text: str) -> Paragraph:
    """A muted line introducing the table or chart that follows; it moves to the next page with it."""
    return para(text, "caption")


def heading(text: str) -> Paragraph:
    return para(text, "heading")


def empty_note(text: str) -> Paragraph:
    """What an empty section says instead of an empty table."""
    return para(text, "muted")


def key_values(pairs: Sequence[tuple[str, object]], *, width: float, columns: int = 2, label_mm: float = 34) -> Table:
    """Label/value pairs laid out in ``columns`` pairs per row (the details block of a report)."""
    label_width = label_mm * mm
    value_width = width / columns - label_width
    rows: list[list[Any]] = []
    for start in range(0, len(pairs), columns):
        row: list[Any] = []
        for label, value in pairs[start:start + columns]:
            row += [para(label, "muted"), para(value if value not in (None, "") else "—", "cell")]
        row += [""] * (2 * columns - len(row))
        rows.append(row)
    table = Table(rows, colWidths=[label_width, value_width] * columns, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), report_font()),  # reportlab sets a cell font even around paragraphs
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    return table


def data_table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    col_widths: Sequence[float],
    *,
    right: Sequence[int] = (),
    total_row: Sequence[object] | None = None,
) -> Table:
    """A table with a header row repeated on every page it spans, striped rows, and an optional totals row.

    Cells may be text (wrapped in a paragraph here) or flowables; ``right`` lists
    the column indexes to right-align (amounts, counts)."""
    right_set = set(right)

    def cell(value: object, column: int, head: bool = False) -> Any:
        if isinstance(value, Flowable):
            return value
        if head:
            return Paragraph(escape(str(value)), style("cell_head_right" if column in right_set else "cell_head"))
        return Paragraph(escape("" if value is None else str(value)), style("cell_right" if column in right_set else "cell"))

    body = [[cell(h, i, head=True) for i, h in enumerate(header)]]
    body += [[cell(v, i) for i, v in enumerate(row)] for row in rows]
    if total_row is not None:
        body.append([cell(v, i) for i, v in enumerate(total_row)])
    table = Table(body, colWidths=list(col_widths), repeatRows=1, hAlign="LEFT")
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), report_font()),  # reportlab sets a cell font even around paragraphs
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, ACCENT),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    commands += [("BACKGROUND", (0, r), (-1, r), STRIPE_FILL) for r in range(2, len(rows) + 1, 2)]
    if total_row is not None:
        commands += [("LINEABOVE", (0, -1), (-1, -1), 0.8, ACCENT), ("BACKGROUND", (0, -1), (-1, -1), colors.white)]
    table.setStyle(TableStyle(commands))
    return table


def long_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    col_widths: Sequence[float],
    *,
    right: Sequence[int] = (),
    total_row: Sequence[str] | None = None,
    first_page_room: float,
    page_room: float,
) -> list[Flowable]:
    """A table for thousands of rows, as one table per page (laying out one huge table costs
    time in the square of its length). Cells are plain one-line text, fast to lay out, and
    wrap only where a text is wider than its column; every page starts with the header row.

    ``first_page_room`` and ``page_room`` are the heights the table may fill on its first
    and on later pages; a page whose rows wrap more than expected simply continues on the
    next page, header repeated."""
    right_set = set(right)
    font = report_font()
    cell_style = style("list_cell")
    padding = 6  # left + right cell padding below

    def fit(value: str, column: int) -> Any:
        if stringWidth(value, font, cell_style.fontSize) <= col_widths[column] - padding:
            return value
        return Paragraph(escape(value), style("list_cell_right" if column in right_set else "list_cell"))

    head = [Paragraph(escape(h), style("cell_head_right" if i in right_set else "cell_head")) for i, h in enumerate(header)]
    body = [[fit(v, i) for i, v in enumerate(row)] for row in rows]
    if total_row is not None:
        body.append([fit(v, i) for i, v in enumerate(total_row)])
    line_height = cell_style.leading + LIST_PADDING
    out: list[Flowable] = []
    start, room = 0, first_page_room
    while start < len(body) or not out:
        per_page = max(1, int((room - 2 * line_height) // line_height))  # the header may wrap to two lines
        chunk = body[start:start + per_page]
        out.append(_page_table([head, *chunk], col_widths, right_set, has_total=total_row is not None and
                               start + per_page >= len(body)))
        start += per_page
        room = page_room
        if start < len(body):
            out.append(PageBreak())
    return out


LIST_PADDING = 4  # top + bottom padding of a list row, points


def _page_table(body: list[list[Any]], col_widths: Sequence[float], right: set[int], *, has_total: bool) -> Table:
    table = Table(body, colWidths=list(col_widths), repeatRows=1, hAlign="LEFT")
    last_data = len(body) - (2 if has_total else 1)
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), report_font()),
        ("FONTSIZE", (0, 0), (-1, -1), style("list_cell").fontSize),
        ("LEADING", (0, 0), (-1, -1), style("list_cell").leading),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, ACCENT),
        ("TOPPADDING", (0, 1), (-1, -1), LIST_PADDING / 2 - 0.5),
        ("BOTTOMPADDING", (0, 1), (-1, -1), LIST_PADDING / 2 + 0.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if last_data >= 1:
        commands.append(("ROWBACKGROUNDS", (0, 1), (-1, last_data), [colors.white, STRIPE_FILL]))
    commands += [("ALIGN", (column, 1), (column, -1), "RIGHT") for column in right]
    if has_total:
        commands.append(("LINEABOVE", (0, -1), (-1, -1), 0.8, ACCENT))
    table.setStyle(TableStyle(commands))
    return table


def frame_height(landscape_pages: bool = False) -> float:
    """The height the body of a page offers (inside letterhead and footer)."""
    return page_size(landscape_pages)[1] - TOP_MARGIN - BOTTOM_MARGIN


def section(title: str, *content: Flowable, room_mm: float = 35) -> list[Flowable]:
    """A heading that never sits alone at the foot of a page: with less than ``room_mm`` left, it starts a new one."""
    return [CondPageBreak(room_mm * mm), heading(title), *content]


def side_by_side(parts: Sequence[Flowable], widths: Sequence[float], *, top_padding: Sequence[float] = ()) -> Table:
    """Flowables next to each other (a table beside a table, a swatch beside its label)."""
    table = Table([list(parts)], colWidths=list(widths), hAlign="LEFT")
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), report_font()),  # reportlab sets a cell font even around flowables
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ]
    commands += [("TOPPADDING", (i, 0), (i, 0), pad) for i, pad in enumerate(top_padding)]
    table.setStyle(TableStyle(commands))
    return table


def drawing(width: float, height: float) -> Drawing:
    """A canvas for a chart or a swatch that starts in the bundled font (else it names a non-embedded Helvetica)."""
    return Drawing(width, height, initialFontName=report_font())


def spacer(height_mm: float = 3) -> Spacer:
    return Spacer(1, height_mm * mm)


# ----------------------------------------------------------------------------- page frame


def page_size(landscape_pages: bool = False) -> tuple[float, float]:
    return landscape(A4) if landscape_pages else A4


def content_width(landscape_pages: bool = False) -> float:
    return page_size(landscape_pages)[0] - 2 * MARGIN


def _numbered_canvas(footer_left: str, page_label: str) -> type[Canvas]:
    """A canvas that holds every page until the end, so each footer can say "page x / y"."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._draw_footer(total)
                super().showPage()
            super().save()

        def _draw_footer(self, total: int) -> None:
            width, _height = self._pagesize
            self.saveState()
            self.setFont(report_font(), 7.5)
            self.setFillColor(MUTED)
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            self.line(MARGIN, MARGIN - 3 * mm, width - MARGIN, MARGIN - 3 * mm)
            self.drawString(MARGIN, MARGIN - 7 * mm, footer_left)
            self.drawRightString(width - MARGIN, MARGIN - 7 * mm,
                                 page_label.format(page=self._pageNumber, pages=total))
            self.restoreState()

    return NumberedCanvas


def shorten(text: str, width: float, size: float) -> str:
    """The text cut with "…" so that it fits ``width`` points at ``size`` in the report font."""
    font = report_font()
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _letterhead(store_name: str, title: str) -> Callable[[Canvas, BaseDocTemplate], None]:
    def draw(canvas: Canvas, doc: BaseDocTemplate) -> None:
        width, height = doc.pagesize
        half = (width - 2 * MARGIN) / 2 - 3 * mm  # store name left, title right: neither runs into the other
        canvas.saveState()
        canvas.setFont(report_font(), 8.5)
        canvas.setFillColor(ACCENT)
        canvas.drawString(MARGIN, height - MARGIN + 4 * mm, shorten(store_name, half, 8.5))
        canvas.setFillColor(MUTED)
        canvas.drawRightString(width - MARGIN, height - MARGIN + 4 * mm, shorten(title, half, 8.5))
        canvas.setStrokeColor(ACCENT)
        canvas.setLineWidth(0.8)
        canvas.line(MARGIN, height - MARGIN + 2.5 * mm, width - MARGIN, height - MARGIN + 2.5 * mm)
        canvas.restoreState()

    return draw


def generated_line(ctx: ReportContext) -> str:
    return QCoreApplication.translate("reports", "Generated {when} by {who}").format(
        when=format_time(ctx.generated_at), who=ctx.generated_by
    )


def build_pdf(
    story: list[Flowable],
    ctx: ReportContext,
    title: str,
    *,
    landscape_pages: bool = False,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
    expected_pages: int | None = None,
) -> bytes:
    """Lay the flowables out on A4 pages with letterhead and numbered footer; the PDF's bytes.

    ``progress(done, total)`` follows the layout flowable by flowable, or page by
    page against ``expected_pages`` (for one long table); when ``should_cancel()``
    turns true the layout stops with ReportCancelled."""
    buffer = io.BytesIO()
    size = page_size(landscape_pages)
    doc = BaseDocTemplate(
        buffer, pagesize=size, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=TOP_MARGIN, bottomMargin=BOTTOM_MARGIN,
        title=title, author=ctx.generated_by, subject=ctx.store_name, creator="crmdesk",
        initialFontName=report_font(), initialFontSize=9.5,  # else every page names a non-embedded Helvetica
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body", leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=_letterhead(ctx.store_name, title))])
    estimate = [max(len(story), 1)]

    def on_progress(kind: str, value: int) -> None:
        if kind == "SIZE_EST" and expected_pages is None:
            estimate[0] = max(value, 1)
        elif kind in ("PROGRESS", "PAGE"):
            check_cancel(should_cancel)
            if progress is not None and (kind == "PAGE") == (expected_pages is not None):
                progress(min(value, estimate[0]), estimate[0])

    if expected_pages is not None:
        estimate[0] = max(expected_pages, 1)

    doc.setProgressCallBack(on_progress)
    page_label = QCoreApplication.translate("reports", "Page {page} / {pages}")
    doc.build(story, canvasmaker=_numbered_canvas(generated_line(ctx), page_label))
    return buffer.getvalue()


def yuan(fen: int) -> str:
    """¥1,234.50 — money as printed."""
    return money_text(fen)


def local_datetime(moment: datetime | None) -> str:
    return format_time(moment)


def local_date(moment: datetime | None) -> str:
    return format_date(moment)
