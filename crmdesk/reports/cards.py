"""Printed membership cards: A4 sheets to cut, or single cards for a card printer.

Every card is an ID-1 card (85.6 × 54 mm, the size of a bank card) with:

* a header band in the member's tier colour, holding the store name and the
  tier name (text in black or white, whichever reads better on that colour);
* the member's name (the font shrinks, then wraps, so a long name stays on the card);
* the member number;
* the card number as a Code128 barcode a counter scanner reads: bars of a
  whole number of 300 dpi printer dots, quiet zones of ten bars either side,
  and the number printed under it for typing by hand;
* optionally a QR code of the card number, for phone-camera scanners.

Sheets hold 2 × 5 cards, centred on A4, with a thin grey outline around each
card and cut marks in the page margin along every cutting line.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication
from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import inch, mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from crmdesk.errors import InvalidInput
from crmdesk.reports.base import INK, MUTED, Progress, ReportContext, ShouldCancel, check_cancel, shorten
from crmdesk.reports.fonts import report_font
from crmdesk.services.card_faces import CardFace
from crmdesk.texts import QT_TRANSLATE_NOOP

# ISO/IEC 7810 ID-1: the size and corner radius of every plastic payment or loyalty card.
CARD_WIDTH = 85.6 * mm
CARD_HEIGHT = 54 * mm
CORNER_RADIUS = 3.18 * mm

# Sheet layout: 2 columns × 5 rows with gutters, so a slightly crooked cut spoils no neighbour.
SHEET_COLUMNS = 2
SHEET_ROWS = 5
CARDS_PER_SHEET = SHEET_COLUMNS * SHEET_ROWS
GUTTER_X = 6 * mm
GUTTER_Y = 2.5 * mm
CUT_MARK_GAP = 1.5 * mm  # between the card edge and its cut mark
CUT_MARK_LENGTH = 3 * mm
CUT_GREY = colors.HexColor("#9AA5B1")

# Inside a card.
PAD = 5.5 * mm  # text margin from the card edge
HEADER_HEIGHT = 16 * mm
WHITE = colors.white
# Bars are a whole number of printer dots wide, so a 300 or 600 dpi printer prints them all alike;
# 4 dots (0.34 mm) reads at once on any counter scanner, 2 dots (0.17 mm) is the least we print.
DOT = inch / 300
BAR_DOTS = (4, 3, 2)
QUIET_BARS = 10  # Code128 needs a quiet zone of ten bar widths either side
BAR_HEIGHT = 10.5 * mm
BARS_BOTTOM = 8 * mm
NUMBER_BASELINE = 4.6 * mm  # the card number in print, under the bars
QR_SIZE = 14.5 * mm  # the dark modules; the white quiet zone around them comes on top
QR_QUIET_MODULES = 4

# Font sizes (points).
STORE_SIZE = (13, 7)
TIER_SIZE = (9, 6)
NAME_SINGLE_LINE = (16, 10)  # one line first, shrinking down to ...
NAME_SMALLEST = 5  # ... then wrapped on several lines, down to this
# Of the font size: the bundled font's letters reach this far above and below the baseline.
ASCENT = 0.9
DESCENT = 0.22
LEADING = 1.15


class CardLayout(enum.Enum):
    SHEET = "sheet"  # A4, 10 cards a page, to cut out
    SINGLE = "single"  # one card a page, page size of the card, for card printers


def render_cards(
    faces: Sequence[CardFace],
    ctx: ReportContext,
    *,
    layout: CardLayout = CardLayout.SHEET,
    qr: bool = False,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
) -> bytes:
    """The cards as a PDF. ``progress(done, total)`` follows card by card; when
    ``should_cancel()`` turns true the drawing stops with ReportCancelled."""
    if not faces:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "None of the chosen members has an active card; there is nothing to print."))
    buffer = io.BytesIO()
    page_size = A4 if layout is CardLayout.SHEET else (CARD_WIDTH, CARD_HEIGHT)
    # With the report font as the initial font, no page names a non-embedded Helvetica.
    canvas = Canvas(buffer, pagesize=page_size, initialFontName=report_font(), initialFontSize=9)
    canvas.setTitle(QCoreApplication.translate("reports", "Membership cards"))
    canvas.setAuthor(ctx.generated_by)
    canvas.setSubject(ctx.store_name)
    canvas.setCreator("crmdesk")

    total = len(faces)
    for start in range(0, total, CARDS_PER_SHEET if layout is CardLayout.SHEET else 1):
        check_cancel(should_cancel)
        if layout is CardLayout.SHEET:
            page_faces = faces[start:start + CARDS_PER_SHEET]
            _draw_cut_marks(canvas, len(page_faces))
            for index, face in enumerate(page_faces):
                check_cancel(should_cancel)
                x, y = _sheet_position(index)
                _draw_card(canvas, face, ctx.store_name, x, y, qr=qr, outline=True)
                if progress is not None:
                    progress(start + index + 1, total)
        else:
            # A card printer prints on the card itself: no outline at its edge.
            _draw_card(canvas, faces[start], ctx.store_name, 0, 0, qr=qr, outline=False)
            if progress is not None:
                progress(start + 1, total)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# ----------------------------------------------------------------------------- sheet


def _sheet_origin() -> tuple[float, float]:
    """The bottom-left corner of the block of cards, centred on the page."""
    block_width = SHEET_COLUMNS * CARD_WIDTH + (SHEET_COLUMNS - 1) * GUTTER_X
    block_height = SHEET_ROWS * CARD_HEIGHT + (SHEET_ROWS - 1) * GUTTER_Y
    return (A4[0] - block_width) / 2, (A4[1] - block_height) / 2


def _sheet_position(index: int) -> tuple[float, float]:
    """The bottom-left corner of the card at ``index`` (row by row, from the top left)."""
    left, bottom = _sheet_origin()
    row, column = divmod(index, SHEET_COLUMNS)
    x = left + column * (CARD_WIDTH + GUTTER_X)
    y = bottom + (SHEET_ROWS - 1 - row) * (CARD_HEIGHT + GUTTER_Y)
    return x, y


def _draw_cut_marks(canvas: Canvas, cards_on_page: int) -> None:
    """Short lines in the page margin along every cutting line of the cards on this page."""
    columns = min(cards_on_page, SHEET_COLUMNS)
    rows = -(-cards_on_page // SHEET_COLUMNS)
    left, _ = _sheet_position(0)
    right = _sheet_position(columns - 1)[0] + CARD_WIDTH
    top = _sheet_position(0)[1] + CARD_HEIGHT
    bottom = _sheet_position((rows - 1) * SHEET_COLUMNS)[1]
    canvas.saveState()
    canvas.setStrokeColor(CUT_GREY)
    canvas.setLineWidth(0.3)
    for column in range(columns):
        x0 = _sheet_position(column)[0]
        for x in (x0, x0 + CARD_WIDTH):
            canvas.line(x, top + CUT_MARK_GAP, x, top + CUT_MARK_GAP + CUT_MARK_LENGTH)
            canvas.line(x, bottom - CUT_MARK_GAP, x, bottom - CUT_MARK_GAP - CUT_MARK_LENGTH)
    for row in range(rows):
        y0 = _sheet_position(row * SHEET_COLUMNS)[1]
        for y in (y0, y0 + CARD_HEIGHT):
            canvas.line(left - CUT_MARK_GAP, y, left - CUT_MARK_GAP - CUT_MARK_LENGTH, y)
            canvas.line(right + CUT_MARK_GAP, y, right + CUT_MARK_GAP + CUT_MARK_LENGTH, y)
    canvas.restoreState()


# ----------------------------------------------------------------------------- one card


def _draw_card(canvas: Canvas, face: CardFace, store_name: str, x: float, y: float, *, qr: bool, outline: bool) -> None:
    canvas.saveState()
    canvas.translate(x, y)
    tier = _colour(face.tier_colour)
    on_tier = _readable_on(tier)

    # The background and the header band follow the card's rounded corners.
    canvas.saveState()
    shape = canvas.beginPath()
    shape.roundRect(0, 0, CARD_WIDTH, CARD_HEIGHT, CORNER_RADIUS)
    canvas.clipPath(shape, stroke=0, fill=0)
    canvas.setFillColor(WHITE)
    canvas.rect(0, 0, CARD_WIDTH, CARD_HEIGHT, stroke=0, fill=1)
    _draw_header(canvas, tier)
    canvas.restoreState()

    header_bottom = CARD_HEIGHT - HEADER_HEIGHT
    _draw_header_text(canvas, store_name, face.tier_name, on_tier, tier)
    _draw_name(canvas, face.name, top=header_bottom - 3.4 * mm, bottom=27 * mm)
    _draw_member_no(canvas, face.member_no, baseline=22.8 * mm)
    qr_left = _draw_qr(canvas, face.card_number) if qr else CARD_WIDTH - PAD
    _draw_barcode(canvas, face.card_number, right_limit=qr_left, centred=not qr)

    if outline:
        canvas.setStrokeColor(CUT_GREY)
        canvas.setLineWidth(0.3)
        canvas.roundRect(0, 0, CARD_WIDTH, CARD_HEIGHT, CORNER_RADIUS, stroke=1, fill=0)
    canvas.restoreState()


def _draw_header(canvas: Canvas, tier: colors.Color) -> None:
    """The band in the tier colour, with a soft sheen and a darker edge, as on a plastic card."""
    bottom = CARD_HEIGHT - HEADER_HEIGHT
    canvas.setFillColor(tier)
    canvas.rect(0, bottom, CARD_WIDTH, HEADER_HEIGHT, stroke=0, fill=1)
    canvas.saveState()
    band = canvas.beginPath()
    band.rect(0, bottom, CARD_WIDTH, HEADER_HEIGHT)
    canvas.clipPath(band, stroke=0, fill=0)
    canvas.setFillColor(WHITE, alpha=0.16)
    canvas.circle(CARD_WIDTH - 10 * mm, CARD_HEIGHT + 14 * mm, 30 * mm, stroke=0, fill=1)
    canvas.setFillColor(WHITE, alpha=0.10)
    canvas.circle(CARD_WIDTH - 2 * mm, bottom - 8 * mm, 20 * mm, stroke=0, fill=1)
    canvas.restoreState()
    canvas.setFillColor(_darker(tier, 0.25))
    canvas.rect(0, bottom - 0.9 * mm, CARD_WIDTH, 0.9 * mm, stroke=0, fill=1)


def _draw_header_text(canvas: Canvas, store_name: str, tier_name: str, on_tier: colors.Color, tier: colors.Color) -> None:
    top_line = CARD_HEIGHT - 7.8 * mm
    right = CARD_WIDTH - PAD

    # The tier name in a rounded badge at the right of the band.
    tier_room = 30 * mm
    badge_pad = 2.2 * mm
    tier_text, tier_size = _fit_line(tier_name, tier_room - 2 * badge_pad, *TIER_SIZE)
    badge_width = stringWidth(tier_text, report_font(), tier_size) + 2 * badge_pad if tier_text else 0
    if tier_text:
        badge_height = tier_size + 2.4 * mm
        badge_bottom = top_line - 0.32 * tier_size - 1.2 * mm
        canvas.setStrokeColor(on_tier)
        canvas.setLineWidth(0.7)
        canvas.setFillColor(_darker(tier, 0.12))
        canvas.roundRect(right - badge_width, badge_bottom, badge_width, badge_height, badge_height / 2, stroke=1, fill=1)
        _text(canvas, right - badge_width / 2, top_line, tier_text, tier_size, on_tier, bold=True, align="centre")

    store_room = right - PAD - badge_width - 3 * mm
    store_text, store_size = _fit_line(store_name, store_room, *STORE_SIZE)
    _text(canvas, PAD, top_line, store_text, store_size, on_tier, bold=True)
    label = QCoreApplication.translate("reports", "Membership card")
    _text(canvas, PAD, top_line - 5 * mm, label.upper(), 6.5, on_tier, char_space=0.8, alpha=0.85)


def _draw_name(canvas: Canvas, name: str, *, top: float, bottom: float) -> None:
    """The member's name in the box from ``top`` (tallest letter) to ``bottom`` (lowest descender):
    as large as fits, never past the card's edge. The last line always sits on the box's bottom."""
    lines, size = _fit_name(name, CARD_WIDTH - 2 * PAD, top - bottom)
    baseline = bottom + DESCENT * size + (len(lines) - 1) * LEADING * size
    for line in lines:
        _text(canvas, PAD, baseline, line, size, INK, bold=True)
        baseline -= LEADING * size


def _draw_member_no(canvas: Canvas, member_no: str, *, baseline: float) -> None:
    label = QCoreApplication.translate("reports", "Member No.")
    _text(canvas, PAD, baseline, label, 7, MUTED)
    label_width = stringWidth(label, report_font(), 7)
    value, size = _fit_line(member_no, CARD_WIDTH - 2 * PAD - label_width - 2 * mm, 9.5, 6)
    _text(canvas, PAD + label_width + 2 * mm, baseline, value, size, INK, char_space=0.3)


def _draw_barcode(canvas: Canvas, number: str, *, right_limit: float, centred: bool) -> None:
    """The card number as Code128 with its quiet zones, and the number in print under it."""
    room = right_limit - PAD
    if not (number.isascii() and number.isprintable()):
        # Code128 holds ASCII only; such a number (from an old system) is printed for typing by hand.
        _text(canvas, PAD, NUMBER_BASELINE, *_fit_line(number, room, 8, 5), INK)
        return
    symbol, bar = _code128(number, room)
    quiet = QUIET_BARS * bar
    bars_width = symbol.width - 2 * quiet
    left = PAD + (room - bars_width) / 2 if centred else PAD
    # The card edge (or the QR code) leaves at least the quiet zone free either side of the bars.
    left = max(left, quiet)
    canvas.setFillColor(colors.black)  # scanners need the strongest contrast, whatever the tier colour
    symbol.drawOn(canvas, left - quiet, BARS_BOTTOM)
    size = 8
    spacing = 1.2
    text_width = stringWidth(number, report_font(), size) + spacing * (len(number) - 1)
    if text_width > bars_width + 2 * quiet:  # a long imported number: print it tighter
        spacing = 0
        size = min(size, 8 * (bars_width + 2 * quiet) / max(stringWidth(number, report_font(), 8), 1))
        text_width = stringWidth(number, report_font(), size)
    _text(canvas, left + (bars_width - text_width) / 2, NUMBER_BASELINE, number, size, INK, char_space=spacing)


def _code128(number: str, room: float) -> tuple[Code128, float]:
    """The barcode with the widest bars (whole printer dots) that fit ``room`` with their quiet zones."""
    for dots in BAR_DOTS:
        bar = dots * DOT
        symbol = _code128_symbol(number, bar)
        if symbol.width <= room:
            return symbol, bar
    # Only a very long imported number gets here: thinner bars, still on the card.
    modules = _code128_symbol(number, 1).width - 2 * QUIET_BARS
    bar = room / (modules + 2 * QUIET_BARS)
    return _code128_symbol(number, bar), bar


def _code128_symbol(number: str, bar: float) -> Code128:
    quiet = QUIET_BARS * bar
    return Code128(number, barWidth=bar, barHeight=BAR_HEIGHT, quiet=1, lquiet=quiet, rquiet=quiet, humanReadable=0)


def _draw_qr(canvas: Canvas, number: str) -> float:
    """A QR code of the card number at the bottom right; returns where its quiet zone begins on the left."""
    widget = QrCodeWidget(number, barLevel="M", barBorder=QR_QUIET_MODULES)
    widget.qr.make()
    module = QR_SIZE / widget.qr.getModuleCount()
    full = QR_SIZE + 2 * QR_QUIET_MODULES * module
    left = CARD_WIDTH - PAD - QR_SIZE - QR_QUIET_MODULES * module
    bottom = BARS_BOTTOM + BAR_HEIGHT - QR_SIZE - QR_QUIET_MODULES * module  # level with the top of the bars
    widget.x, widget.y = left, bottom
    widget.barWidth = widget.barHeight = full
    # The widget lays the dark modules out as rectangles; drawing them here rather than through
    # renderPDF keeps its default Helvetica (not embedded) out of the file.
    canvas.setFillColor(colors.black)
    for shape in widget.draw().contents:
        if shape.fillColor is not None:
            canvas.rect(shape.x, shape.y, shape.width, shape.height, stroke=0, fill=1)
    return left


# ----------------------------------------------------------------------------- text


def _text(
    canvas: Canvas,
    x: float,
    y: float,
    text: str,
    size: float,
    colour: colors.Color,
    *,
    bold: bool = False,
    align: str = "left",
    char_space: float = 0,
    alpha: float = 1,
) -> None:
    """One line of text. The bundled font has one weight; bold is drawn with a thin outline of the letters."""
    width = stringWidth(text, report_font(), size) + char_space * max(len(text) - 1, 0)
    if align == "centre":
        x -= width / 2
    canvas.saveState()
    line = canvas.beginText(x, y)
    line.setFont(report_font(), size)
    line.setCharSpace(char_space)
    line.setFillColor(colour, alpha=alpha)
    if bold:
        line.setTextRenderMode(2)  # fill, then stroke the outline
        canvas.setStrokeColor(colour, alpha=alpha)
        canvas.setLineWidth(size * 0.035)
    line.textOut(text)
    canvas.drawText(line)
    canvas.restoreState()


def _fit_line(text: str, width: float, largest: float, smallest: float) -> tuple[str, float]:
    """``text`` on one line of ``width``: the largest size from ``largest`` down to ``smallest``,
    and at ``smallest`` cut short with "…" if it still does not fit."""
    font = report_font()
    size = largest
    while size > smallest and stringWidth(text, font, size) > width:
        size = max(smallest, size - 0.25)
    return shorten(text, width, size), size


def _fit_name(name: str, width: float, height: float) -> tuple[list[str], float]:
    """The lines and font size for a name in a box: one line as large as possible,
    else wrapped lines, smaller, until they fit; a last line cut short only if even that fails."""
    font = report_font()
    largest, single_smallest = NAME_SINGLE_LINE
    size = largest
    while size >= single_smallest:
        if stringWidth(name, font, size) <= width:
            return [name], size
        size -= 0.5
    while True:
        lines = _wrap(name, width, size)
        if _block_height(len(lines), size) <= height:
            return _balanced(name, lines, width, size), size
        if size <= NAME_SMALLEST:
            break
        size = max(NAME_SMALLEST, size - 0.25)
    room = max(1, int((height / size - ASCENT - DESCENT) // LEADING) + 1)
    kept = lines[:room]
    kept[-1] = shorten(kept[-1] + "…", width, size) if len(lines) > room else kept[-1]
    return kept, size


def _block_height(lines: int, size: float) -> float:
    return (ASCENT + DESCENT + (lines - 1) * LEADING) * size


def _wrap(text: str, width: float, size: float) -> list[str]:
    """Lines of at most ``width``: Latin words break at spaces and hyphens, Chinese between any two characters."""
    font = report_font()
    lines: list[str] = []
    line = ""
    for char in text:
        if stringWidth(line + char, font, size) <= width or not line:
            line += char
            continue
        # Break after the last space or hyphen of a Latin word; before any Chinese character.
        cut = max(line.rfind(" "), line.rfind("-"))
        if char != " " and cut > 0 and not _is_wide(char):
            lines.append(line[:cut + 1].rstrip())
            line = line[cut + 1:] + char
        else:
            lines.append(line.rstrip())
            line = char.lstrip()
    if line:
        lines.append(line)
    return lines


def _balanced(text: str, lines: list[str], width: float, size: float) -> list[str]:
    """The same number of lines, as even as they go: no last line of a single character."""
    narrow, wide = 0.0, width
    while wide - narrow > 1:
        middle = (narrow + wide) / 2
        if len(_wrap(text, middle, size)) == len(lines):
            wide = middle
        else:
            narrow = middle
    return _wrap(text, wide, size)


def _is_wide(char: str) -> bool:
    # CJK ideographs, kana, full-width forms: each may start a line.
    return ord(char) >= 0x2E80


# ----------------------------------------------------------------------------- colour


def _colour(hex_colour: str) -> colors.Color:
    try:
        return colors.HexColor(hex_colour)
    except (ValueError, TypeError):
        return colors.HexColor("#808080")


def _luminance(colour: colors.Color) -> float:
    """Relative luminance (WCAG 2)."""

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.red) + 0.7152 * channel(colour.green) + 0.0722 * channel(colour.blue)


def _readable_on(background: colors.Color) -> colors.Color:
    """Dark ink or white, whichever contrasts more with the background."""
    light = _luminance(background)
    contrast_white = 1.05 / (light + 0.05)
    contrast_ink = (light + 0.05) / (_luminance(INK) + 0.05)
    return WHITE if contrast_white > contrast_ink else INK


def _darker(colour: colors.Color, amount: float) -> colors.Color:
    return colors.Color(colour.red * (1 - amount), colour.green * (1 - amount), colour.blue * (1 - amount))
