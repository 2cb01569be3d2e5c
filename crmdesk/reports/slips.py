"""The counter's slips on a receipt roll: a top-up receipt, a cash-out slip, an IOU slip (赊账单).

A slip is first laid out as a list of plain lines (``slip_lines``): a title, centred lines, label and
amount pairs, wrapped notes, rules and signature lines, every text already in the printing language.
The same lines become a small PDF here, one page as wide as the roll (58 or 80 mm) and as tall as
the slip, for the system printer; and ESC/POS bytes for a receipt printer in crmdesk/printing/.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from PySide6.QtCore import QCoreApplication
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph, Spacer, Table, TableStyle
from reportlab.platypus.flowables import HRFlowable

from crmdesk.errors import InvalidInput
from crmdesk.reports.base import INK, MUTED, ReportContext, generated_line, yuan
from crmdesk.reports.fonts import report_font
from crmdesk.services.payments import PAYMENT_METHODS
from crmdesk.services.slips import CashOutSlip, IouSlip, Slip, TopUpSlip
from crmdesk.shop_time import format_time
from crmdesk.texts import QT_TRANSLATE_NOOP

ROLL_WIDTHS = (58, 80)  # mm
# What a thermal head prints on each roll: 48 mm of 58, 72 mm of 80 (384 and 576 dots at 203 dpi).
PRINTABLE_MM = {58: 48.0, 80: 72.0}


# ----------------------------------------------------------------------------- the lines of a slip


@dataclass(frozen=True)
class Title:
    text: str  # the shop's name: large, bold, centred


@dataclass(frozen=True)
class Centre:
    text: str
    strong: bool = False  # the slip's name
    small: bool = False  # address, phone, the printing line


@dataclass(frozen=True)
class Pair:
    label: str
    value: str
    strong: bool = False


@dataclass(frozen=True)
class Text:
    text: str  # wrapped to the roll's width
    small: bool = False


@dataclass(frozen=True)
class Rule:
    pass


@dataclass(frozen=True)
class Signature:
    label: str  # followed by a line to sign on


Line = Title | Centre | Pair | Text | Rule | Signature


def tr(text: str) -> str:
    """A slip text in the printing language (context "slips"), for texts marked with QT_TRANSLATE_NOOP("slips", ...)."""
    return QCoreApplication.translate("slips", text)


def method_text(method: str) -> str:
    label = PAYMENT_METHODS.get(method)
    return QCoreApplication.translate("terms", label) if label else method


def quantity_text(milli: int) -> str:
    """1000 -> "1", 355 -> "0.355" (thousandths of a unit, as the purchase lines keep them)."""
    whole, rest = divmod(milli, 1000)
    return f"{whole}" if not rest else f"{whole}.{rest:03d}".rstrip("0")


def check_width(width_mm: int) -> int:
    if width_mm not in ROLL_WIDTHS:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "A receipt roll is 58 or 80 mm wide, not {width}."), field="width",
                           width=width_mm)
    return width_mm


SLIP_TITLES = {
    TopUpSlip: QT_TRANSLATE_NOOP("slips", "Top-up receipt"),
    CashOutSlip: QT_TRANSLATE_NOOP("slips", "Cash-out slip"),
    IouSlip: QT_TRANSLATE_NOOP("slips", "IOU — bought on credit"),
}


def slip_title(slip: Slip) -> str:
    return tr(SLIP_TITLES[type(slip)])


def _head(slip: Slip) -> list[Line]:
    shop = slip.shop
    lines: list[Line] = [Title(shop.name or "—")]
    lines += [Centre(text, small=True) for text in (shop.address, shop.phone) if text]
    lines += [Centre(slip_title(slip), strong=True), Rule(),
              Pair(QCoreApplication.translate("slips", "No."), slip.number),
              Pair(QCoreApplication.translate("slips", "Time"), format_time(slip.at))]
    if isinstance(slip, IouSlip) and slip.receipt_no:
        receipt = slip.receipt_no if not slip.till else QCoreApplication.translate("slips", "{receipt} (till {till})").format(
            receipt=slip.receipt_no, till=slip.till)
        lines.append(Pair(QCoreApplication.translate("slips", "Receipt"), receipt))
    lines += [Pair(QCoreApplication.translate("slips", "Member"), slip.member.name),
              Pair(QCoreApplication.translate("slips", "Member No."), slip.member.member_no)]
    if slip.member.phone:
        lines.append(Pair(QCoreApplication.translate("slips", "Phone"), slip.member.phone))
    lines.append(Rule())
    return lines


def _topup(slip: TopUpSlip) -> list[Line]:
    lines: list[Line] = [
        Pair(QCoreApplication.translate("slips", "Paid in"), yuan(slip.paid_fen), strong=True),
        Pair(QCoreApplication.translate("slips", "Paid by"), method_text(slip.payment_method)),
        Pair(QCoreApplication.translate("slips", "Bonus"), yuan(slip.bonus_fen)),
    ]
    if slip.why is not None:
        template, values = slip.why
        lines.append(Text(QCoreApplication.translate("errors", template).format(**values), small=True))
    lines += [
        Pair(QCoreApplication.translate("slips", "Added to the wallet"), yuan(slip.paid_fen + slip.bonus_fen), strong=True),
        Rule(),
        Pair(QCoreApplication.translate("slips", "Balance"), yuan(slip.principal_after_fen + slip.bonus_after_fen), strong=True),
        Pair(QCoreApplication.translate("slips", "of which principal"), yuan(slip.principal_after_fen)),
        Pair(QCoreApplication.translate("slips", "of which bonus"), yuan(slip.bonus_after_fen)),
        Rule(),
        Pair(QCoreApplication.translate("slips", "Cashier"), slip.staff_name or "—"),
        Text(QCoreApplication.translate("slips", "Stored value does not expire. When the card is closed the principal is "
                                                 "paid back; the bonus is not."), small=True),
    ]
    return lines


def _cashout(slip: CashOutSlip) -> list[Line]:
    lines: list[Line] = [
        Pair(QCoreApplication.translate("slips", "Principal paid back"), yuan(slip.principal_fen), strong=True),
        Pair(QCoreApplication.translate("slips", "Paid by"), method_text(slip.payment_method)),
        Pair(QCoreApplication.translate("slips", "Bonus forfeited"), yuan(slip.bonus_forfeited_fen)),
        Pair(QCoreApplication.translate("slips", "Balance after"), yuan(0)),
    ]
    if slip.reason:
        lines.append(Text(QCoreApplication.translate("slips", "Reason: {reason}").format(reason=slip.reason), small=True))
    lines += [
        Pair(QCoreApplication.translate("slips", "Paid out by"), slip.staff_name or "—"),
        Rule(),
        Text(QCoreApplication.translate("slips", "I have received the principal above in full and closed my stored-value "
                                                 "balance; the bonus is forfeited.")),
        Signature(QCoreApplication.translate("slips", "Member's signature")),
        Signature(QCoreApplication.translate("slips", "Date")),
    ]
    return lines


def _iou(slip: IouSlip) -> list[Line]:
    lines: list[Line] = []
    if slip.items:
        lines += [Pair(f"{item.name} ×{quantity_text(item.quantity_milli)}", yuan(item.amount_fen)) for item in slip.items]
        lines.append(Rule())
    if slip.purchase_fen is not None and slip.purchase_fen != slip.amount_fen:
        lines.append(Pair(QCoreApplication.translate("slips", "Purchase total"), yuan(slip.purchase_fen)))
    lines += [
        Pair(QCoreApplication.translate("slips", "On credit"), yuan(slip.amount_fen), strong=True),
        Pair(QCoreApplication.translate("slips", "Due on"), slip.due_on.isoformat(), strong=True),
        Pair(QCoreApplication.translate("slips", "Owed in all"), yuan(slip.owed_after_fen)),
    ]
    if slip.limit_fen is not None:
        lines.append(Pair(QCoreApplication.translate("slips", "Credit limit"), yuan(slip.limit_fen)))
    if slip.approved_by:
        lines.append(Pair(QCoreApplication.translate("slips", "Beyond the limit, approved by"), slip.approved_by))
    lines += [
        Pair(QCoreApplication.translate("slips", "Cashier"), slip.staff_name or "—"),
        Rule(),
        Text(QCoreApplication.translate("slips", "I owe {amount} for the goods above and will pay it by {due}.").format(
            amount=yuan(slip.amount_fen), due=slip.due_on.isoformat())),
        Signature(QCoreApplication.translate("slips", "Member's signature")),
    ]
    return lines


def slip_lines(slip: Slip, ctx: ReportContext | None = None) -> list[Line]:
    """The slip as lines in the printing language; with ``ctx``, a last line says when and by whom it was printed."""
    body = _topup(slip) if isinstance(slip, TopUpSlip) else _cashout(slip) if isinstance(slip, CashOutSlip) else _iou(slip)
    lines = [*_head(slip), *body]
    if ctx is not None:
        lines.append(Centre(generated_line(ctx), small=True))
    return lines


# ----------------------------------------------------------------------------- PDF


def _styles(width_mm: int) -> dict[str, ParagraphStyle]:
    size = 8.0 if width_mm == 58 else 9.0
    body = ParagraphStyle("slip", fontName=report_font(), fontSize=size, leading=size * 1.35, textColor=INK, wordWrap="CJK")
    return {
        "title": ParagraphStyle("slip_title", parent=body, fontSize=size + 4, leading=(size + 4) * 1.3, alignment=TA_CENTER),
        "centre": ParagraphStyle("slip_centre", parent=body, alignment=TA_CENTER),
        "centre_small": ParagraphStyle("slip_centre_small", parent=body, fontSize=size - 1.5, leading=(size - 1.5) * 1.35,
                                       alignment=TA_CENTER, textColor=MUTED),
        "body": body,
        "right": ParagraphStyle("slip_right", parent=body, alignment=TA_RIGHT),
        "small": ParagraphStyle("slip_small", parent=body, fontSize=size - 1, leading=(size - 1) * 1.35, textColor=MUTED),
    }


def _row(cells: list[Any], widths: list[float], **style: Any) -> Table:
    """One row of cells without padding at the sides: a label and its value, or a signature's line."""
    table = Table([cells], colWidths=widths, rowHeights=style.pop("height", None))
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), report_font()),  # reportlab sets a cell font even around paragraphs
        ("VALIGN", (0, 0), (-1, -1), style.pop("valign", "TOP")),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), style.get("pad", 0.6)), ("BOTTOMPADDING", (0, 0), (-1, -1), style.get("pad", 0.6)),
        *style.get("extra", ()),
    ]))
    return table


def _flowables(lines: list[Line], width: float, width_mm: int) -> list[Flowable]:
    styles = _styles(width_mm)
    out: list[Flowable] = []
    for line in lines:
        if isinstance(line, Title):
            out.append(Paragraph(escape(line.text), styles["title"]))
            out.append(Spacer(1, 0.8 * mm))
        elif isinstance(line, Centre):
            if line.small and out and line is lines[-1]:
                out.append(Spacer(1, 2 * mm))  # the printing line stands apart
            text = escape(line.text)
            if line.strong:  # the slip's name: a size up (the bundled font has no bold face)
                text = f"<font size={styles['centre'].fontSize + 1.5}>{text}</font>"
            out.append(Paragraph(text, styles["centre_small" if line.small else "centre"]))
        elif isinstance(line, Pair):
            size = styles["body"].fontSize + (1 if line.strong else 0)
            # The value keeps one line where it can; the label takes the rest of the width and wraps if it must.
            value_width = min(width * 0.62, max(width * 0.3, stringWidth(line.value, report_font(), size) + 1))
            cells = [Paragraph(f"<font size={size}>{escape(line.label)}</font>", styles["body"]),
                     Paragraph(f"<font size={size}>{escape(line.value)}</font>", styles["right"])]
            out.append(_row(cells, [width - value_width, value_width], pad=1 if line.strong else 0.6))  # a wrapped value starts beside its label
        elif isinstance(line, Text):
            out.append(Paragraph(escape(line.text).replace("\n", "<br/>"), styles["small" if line.small else "body"]))
        elif isinstance(line, Rule):
            out.append(HRFlowable(width="100%", thickness=0.6, color=INK, dash=(1.5, 1.5), spaceBefore=1.5 * mm,
                                  spaceAfter=1.5 * mm))
        else:  # a signature: the label, then room to sign above a line as wide as the slip
            out.append(Spacer(1, 2 * mm))
            out.append(Paragraph(escape(line.label), styles["body"]))
            out.append(_row([""], [width], height=9 * mm, extra=[("LINEBELOW", (0, 0), (0, 0), 0.8, INK)]))
            out.append(Spacer(1, 1 * mm))
    return out


def _margin(width_mm: int) -> float:
    return (width_mm - PRINTABLE_MM[width_mm]) / 2 * mm


def render_slip(slip: Slip, ctx: ReportContext, *, width_mm: int = 80) -> bytes:
    """The slip as a one-page PDF as wide as the roll and as tall as the slip."""
    check_width(width_mm)
    margin = _margin(width_mm)
    page_width = width_mm * mm
    width = page_width - 2 * margin
    top, bottom = 4 * mm, 8 * mm  # below the last line, room for the tear
    story = _flowables(slip_lines(slip, ctx), width, width_mm)
    height = sum(_height(flowable, width) for flowable in story) + top + bottom + 2 * mm  # a little to spare: never a 2nd page
    buffer = io.BytesIO()
    doc = BaseDocTemplate(buffer, pagesize=(page_width, height), leftMargin=margin, rightMargin=margin, topMargin=top,
                          bottomMargin=bottom, title=f"{slip_title(slip)} {slip.number}", author=ctx.generated_by,
                          subject=ctx.store_name, creator="crmdesk", initialFontName=report_font(), initialFontSize=8)
    frame = Frame(margin, bottom, width, height - top - bottom, id="slip", leftPadding=0, rightPadding=0, topPadding=0,
                  bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="slip", frames=[frame])])
    doc.build(story)
    return buffer.getvalue()


def _height(flowable: Any, width: float) -> float:
    _w, h = flowable.wrap(width, 10_000)
    return h + flowable.getSpaceBefore() + flowable.getSpaceAfter()


def suggested_slip_name(slip: Slip) -> str:
    kind = "topup" if isinstance(slip, TopUpSlip) else "cashout" if isinstance(slip, CashOutSlip) else "iou"
    return f"{kind}-{slip.number}.pdf"
