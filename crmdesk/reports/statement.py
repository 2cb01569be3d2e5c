"""The statement of account (对账单): one member's credit over a period, for the member to check and sign.

It prints a StatementOfAccount (crmdesk/services/money_figures.py) and reads nothing itself: what was
owed at the start, each movement with its receipt and due day and the balance after it, what was owed
at the end, the charges still open, and lines for the member's and the shop's signatures.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Table, TableStyle

from crmdesk.models import CreditKind
from crmdesk.reports.base import (
    INK, Progress, ReportContext, ShouldCancel, build_pdf, caption, check_cancel, content_width, data_table, empty_note,
    key_values, local_datetime, para, section, spacer, yuan,
)
from crmdesk.reports.complaints_monthly import figure_tiles
from crmdesk.reports.fonts import report_font
from crmdesk.services import credit
from crmdesk.services.money_figures import StatementOfAccount
from crmdesk.services.payments import PAYMENT_METHODS


def period_text(data: StatementOfAccount) -> str:
    return f"{data.first.isoformat()} – {data.last.isoformat()}"


def report_title(data: StatementOfAccount) -> str:
    return QCoreApplication.translate("reports", "Statement of account — {name}").format(name=data.name)


def _movement_text(row: credit.CreditRow) -> str:
    text = QCoreApplication.translate("terms", credit.KIND_LABELS[row.kind])
    if row.kind is CreditKind.REPAYMENT and row.payment_method:
        label = PAYMENT_METHODS.get(row.payment_method)
        method = QCoreApplication.translate("terms", label) if label else row.payment_method
        text = QCoreApplication.translate("reports", "{movement} ({method})").format(movement=text, method=method)
    if row.reason and row.kind in (CreditKind.WRITE_OFF, CreditKind.OPENING):
        text = QCoreApplication.translate("reports", "{movement}: {reason}").format(movement=text, reason=row.reason)
    return text


def _details(data: StatementOfAccount, width: float) -> Flowable:
    if data.limit_fen is None:
        limit = QCoreApplication.translate("reports", "No credit account")
        term = ""
    else:
        limit = yuan(data.limit_fen)
        term = QCoreApplication.translate("reports", "{days} days").format(days=data.term_days)
    pairs = [
        (QCoreApplication.translate("reports", "Member No."), data.member_no),
        (QCoreApplication.translate("reports", "Name"), data.name),
        (QCoreApplication.translate("reports", "Phone"), data.phone_text),
        (QCoreApplication.translate("reports", "Period"), period_text(data)),
        (QCoreApplication.translate("reports", "Credit limit"), limit),
        (QCoreApplication.translate("reports", "Days to pay"), term),
    ]
    return key_values(pairs, width=width)


def _tiles(data: StatementOfAccount, width: float) -> Flowable:
    tiles = [
        (QCoreApplication.translate("reports", "Owed at the start"), yuan(data.opening_fen), data.first.isoformat(), False),
        (QCoreApplication.translate("reports", "Bought on credit"), yuan(data.charged_fen),
         QCoreApplication.translate("reports", "in the period"), False),
        (QCoreApplication.translate("reports", "Paid back and taken off"), yuan(data.reduced_fen),
         QCoreApplication.translate("reports", "repayments, refunds, write-offs"), False),
        (QCoreApplication.translate("reports", "Owed at the end"), yuan(data.closing_fen), data.last.isoformat(),
         bool(data.open_at_end and any(c.days_overdue for c in data.open_at_end))),
    ]
    return figure_tiles(tiles, width)


def _movements(data: StatementOfAccount, width: float) -> list[Flowable]:
    header = [QCoreApplication.translate("reports", "When"), QCoreApplication.translate("reports", "Movement"),
              QCoreApplication.translate("reports", "Receipt"), QCoreApplication.translate("reports", "Due on"),
              QCoreApplication.translate("reports", "Charged"), QCoreApplication.translate("reports", "Paid or taken off"),
              QCoreApplication.translate("reports", "Still owed after")]
    rows: list[list[object]] = [["", QCoreApplication.translate("reports", "Owed at the start"), "", "", "", "", yuan(data.opening_fen)]]
    for line in data.lines:
        row = line.row
        rows.append([local_datetime(row.at), _movement_text(row), row.receipt_no, row.due_on.isoformat() if row.due_on else "",
                     yuan(row.amount_fen) if row.amount_fen > 0 else "", yuan(-row.amount_fen) if row.amount_fen < 0 else "",
                     yuan(line.balance_fen)])
    total = ["", QCoreApplication.translate("reports", "Owed at the end"), "", "", yuan(data.charged_fen), yuan(data.reduced_fen),
             yuan(data.closing_fen)]
    widths = [w * width for w in (0.15, 0.19, 0.17, 0.11, 0.12, 0.13, 0.13)]
    out: list[Flowable] = [data_table(header, rows, widths, right=(4, 5, 6), total_row=total)]
    if not data.lines:
        out.append(para(QCoreApplication.translate("reports", "Nothing was bought on credit or paid back in this period."), "muted"))
    return out


def _open(data: StatementOfAccount, width: float) -> list[Flowable]:
    if not data.open_at_end:
        return [empty_note(QCoreApplication.translate("reports", "Nothing is owed at the end of the period."))]
    header = [QCoreApplication.translate("reports", "Bought"), QCoreApplication.translate("reports", "Receipt"),
              QCoreApplication.translate("reports", "Due on"), QCoreApplication.translate("reports", "Amount"),
              QCoreApplication.translate("reports", "Still owed"), QCoreApplication.translate("reports", "Days overdue")]
    rows = [[local_datetime(c.at), c.receipt_no, c.due_on.isoformat(), yuan(c.amount_fen), yuan(c.outstanding_fen),
             f"{c.days_overdue:,}" if c.days_overdue else ""] for c in data.open_at_end]
    widths = [w * width for w in (0.19, 0.21, 0.15, 0.15, 0.15, 0.15)]
    return [data_table(header, rows, widths, right=(3, 4, 5))]


def _signatures(data: StatementOfAccount, width: float) -> Flowable:
    """Room to sign above three lines, each named under it: the member, the day, the shop."""
    text = QCoreApplication.translate(
        "reports", "I have checked this statement: on {date} I owe {amount}.").format(date=data.last.isoformat(), amount=yuan(data.closing_fen))
    labels = [QCoreApplication.translate("reports", "Member's signature"), QCoreApplication.translate("reports", "Date"),
              QCoreApplication.translate("reports", "For the shop")]
    gap = 10 * mm
    column = (width - 2 * gap) / 3
    table = Table([["", "", "", "", ""], [para(labels[0], "muted"), "", para(labels[1], "muted"), "", para(labels[2], "muted")]],
                  colWidths=[column, gap, column, gap, column], rowHeights=[14 * mm, None])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), report_font()),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        *[("LINEBELOW", (index, 0), (index, 0), 0.8, INK) for index in (0, 2, 4)],
    ]))
    return KeepTogether([spacer(6), para(text), spacer(2), table])


def render_statement(data: StatementOfAccount, ctx: ReportContext, *, progress: Progress | None = None,
                     should_cancel: ShouldCancel | None = None) -> bytes:
    """The statement of account as PDF bytes."""
    check_cancel(should_cancel)
    width = content_width()
    story: list[Flowable] = [
        para(QCoreApplication.translate("reports", "Statement of account"), "muted"),
        para(data.name, "title"),
        para(QCoreApplication.translate("reports", "{member_no} · credit from {first} to {last} (shop time)").format(
            member_no=data.member_no, first=data.first.isoformat(), last=data.last.isoformat()), "subtitle"),
        _details(data, width),
        spacer(3),
        _tiles(data, width),
    ]
    story += section(QCoreApplication.translate("reports", "Movements"), *_movements(data, width))
    story += section(QCoreApplication.translate("reports", "Still owed at the end"),
                     caption(QCoreApplication.translate("reports", "Charges not yet paid off, oldest due first; repayments settle the oldest first.")),
                     *_open(data, width), room_mm=30)
    story.append(_signatures(data, width))
    return build_pdf(story, ctx, report_title(data), progress=progress, should_cancel=should_cancel)
