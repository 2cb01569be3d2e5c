"""The monthly stored-value liability (储值负债): what the shop owes its members, and how it moved.

It prints a LiabilityMonth (crmdesk/services/money_figures.py) and reads nothing itself: the opening
balance, every kind of movement with principal and bonus apart, the closing balance, and the money
paid in and paid back per payment method, to be matched with the till and the payment statements.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from PySide6.QtCore import QCoreApplication
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, TableStyle

from crmdesk.models import WalletKind
from crmdesk.reports.base import (
    ACCENT, Progress, ReportContext, ShouldCancel, build_pdf, check_cancel, content_width, data_table, empty_note,
    local_datetime, para, section, spacer, style, tr, yuan,
)
from crmdesk.reports.complaints_monthly import figure_tiles
from crmdesk.reports.loyalty_summary import money_text
from crmdesk.services.money_figures import LiabilityMonth, Split
from crmdesk.services.payments import PAYMENT_METHODS
from crmdesk.texts import QT_TRANSLATE_NOOP

# One line per movement: (kind, which part of it, label). "both" lines carry principal and bonus.
MOVEMENT_LINES = (
    (WalletKind.TOPUP, "principal", QT_TRANSLATE_NOOP("reports", "Top-ups paid in")),
    (WalletKind.TOPUP, "bonus", QT_TRANSLATE_NOOP("reports", "Bonus given with top-ups")),
    (WalletKind.PAYMENT, "both", QT_TRANSLATE_NOOP("reports", "Payments from wallets")),
    (WalletKind.REFUND, "both", QT_TRANSLATE_NOOP("reports", "Refunds back into wallets")),
    (WalletKind.CASHOUT, "principal", QT_TRANSLATE_NOOP("reports", "Cash-outs: principal paid back")),
    (WalletKind.CASHOUT, "bonus", QT_TRANSLATE_NOOP("reports", "Cash-outs: bonus forfeited")),
    (WalletKind.ADJUSTMENT, "both", QT_TRANSLATE_NOOP("reports", "Corrections (net)")),
    (WalletKind.OPENING, "both", QT_TRANSLATE_NOOP("reports", "Stored value brought over from an old system")),
)


def month_text(data: LiabilityMonth) -> str:
    return data.month.strftime("%Y-%m")


def report_title(data: LiabilityMonth) -> str:
    return QCoreApplication.translate("reports", "Stored-value liability — {month}").format(month=month_text(data))


def _subtitle(data: LiabilityMonth) -> str:
    if data.complete:
        return QCoreApplication.translate(
            "reports", "What the shop owes its members in stored value, {first} to {last} (shop time).").format(
            first=data.month.isoformat(), last=data.last_day.isoformat())
    return QCoreApplication.translate(
        "reports", "What the shop owes its members in stored value, from {first} up to {time} (shop time): the month is not over.").format(
        first=data.month.isoformat(), time=local_datetime(data.as_of))


def _tiles(data: LiabilityMonth, width: float) -> Flowable:
    topups = data.movement(WalletKind.TOPUP).money
    detail = QCoreApplication.translate("reports", "principal {principal} · bonus {bonus}")
    tiles = [
        (QCoreApplication.translate("reports", "Owed at the start"), yuan(data.opening.total_fen),
         detail.format(principal=yuan(data.opening.principal_fen), bonus=yuan(data.opening.bonus_fen)), False),
        (QCoreApplication.translate("reports", "Paid in by top-ups"), yuan(topups.principal_fen),
         QCoreApplication.translate("reports", "{count} top-ups").format(count=f"{data.movement(WalletKind.TOPUP).entries:,}"), False),
        (QCoreApplication.translate("reports", "Bonus given"), yuan(topups.bonus_fen),
         QCoreApplication.translate("reports", "with the top-ups"), False),
        (QCoreApplication.translate("reports", "Owed at the end"), yuan(data.closing.total_fen),
         detail.format(principal=yuan(data.closing.principal_fen), bonus=yuan(data.closing.bonus_fen)), False),
    ]
    return figure_tiles(tiles, width)


def _part(money: Split, part: str) -> Split:
    if part == "principal":
        return Split(money.principal_fen, 0)
    if part == "bonus":
        return Split(0, money.bonus_fen)
    return money


def _movement(data: LiabilityMonth, width: float) -> list[Flowable]:
    strong, strong_right = style("cell_head"), style("cell_head_right")

    def balance_row(label: str, money: Split) -> list[object]:
        return [Paragraph(escape(label), strong), "", Paragraph(escape(yuan(money.principal_fen)), strong_right),
                Paragraph(escape(yuan(money.bonus_fen)), strong_right), Paragraph(escape(yuan(money.total_fen)), strong_right)]

    rows: list[list[object]] = [balance_row(QCoreApplication.translate("reports", "Opening balance"), data.opening)]
    for kind, part, label in MOVEMENT_LINES:
        movement = data.movement(kind)
        money = _part(movement.money, part)
        entries = {"principal": movement.principal_entries, "bonus": movement.bonus_entries}.get(part, movement.entries)
        rows.append([tr(label), f"{entries:,}", money_text(money.principal_fen, signed=True),
                     money_text(money.bonus_fen, signed=True), money_text(money.total_fen, signed=True)])
    total = balance_row(QCoreApplication.translate("reports", "Closing balance"), data.closing)
    header = [QCoreApplication.translate("reports", "Movement"), QCoreApplication.translate("reports", "Entries"),
              QCoreApplication.translate("reports", "Principal"), QCoreApplication.translate("reports", "Bonus"),
              QCoreApplication.translate("reports", "Total")]
    numbers = width - 70 * mm
    table = data_table(header, rows, [70 * mm, numbers * 0.13, numbers * 0.29, numbers * 0.29, numbers * 0.29],
                       right=(1, 2, 3, 4), total_row=total)
    table.setStyle(TableStyle([("LINEBELOW", (0, 1), (-1, 1), 0.6, ACCENT), ("BACKGROUND", (0, 1), (-1, 1), colors.white)]))
    change = data.change
    notes = [
        QCoreApplication.translate("reports", "Change in the month: principal {principal}, bonus {bonus}, in all {total}.").format(
            principal=money_text(change.principal_fen, signed=True), bonus=money_text(change.bonus_fen, signed=True),
            total=money_text(change.total_fen, signed=True)),
        QCoreApplication.translate("reports", "{members} members hold stored value at the close; the largest balance is {largest}.")
        .format(members=f"{data.members_holding:,}", largest=yuan(data.largest_fen)),
        QCoreApplication.translate(
            "reports", "Principal is what members paid in; bonus is what the shop added. When a card is closed the principal is paid back and the bonus forfeited. Every member counts, closed ones too, until their balance is paid back."),
    ]
    if data.cap_fen is not None:
        notes.append(QCoreApplication.translate(
            "reports", "Under the prepaid card rules a member's stored value is at most {cap} and does not expire.").format(
            cap=yuan(data.cap_fen)))
    return [table, spacer(2), *[para(note, "muted") for note in notes]]


def _methods(data: LiabilityMonth, width: float) -> list[Flowable]:
    if not data.methods:
        return [empty_note(QCoreApplication.translate("reports", "No top-ups or cash-outs in this month."))]
    rows = []
    for line in data.methods:
        label = PAYMENT_METHODS.get(line.method)
        rows.append([QCoreApplication.translate("terms", label) if label else line.method, f"{line.topups:,}", yuan(line.topup_fen),
                     f"{line.cashouts:,}", yuan(line.cashout_fen), money_text(line.topup_fen - line.cashout_fen, signed=True)])
    total: list[Any] = [QCoreApplication.translate("reports", "All methods"), f"{sum(m.topups for m in data.methods):,}",
                        yuan(sum(m.topup_fen for m in data.methods)), f"{sum(m.cashouts for m in data.methods):,}",
                        yuan(sum(m.cashout_fen for m in data.methods)),
                        money_text(sum(m.topup_fen - m.cashout_fen for m in data.methods), signed=True)]
    header = [QCoreApplication.translate("reports", "Paid by"), QCoreApplication.translate("reports", "Top-ups"),
              QCoreApplication.translate("reports", "Paid in"), QCoreApplication.translate("reports", "Cash-outs"),
              QCoreApplication.translate("reports", "Paid back"), QCoreApplication.translate("reports", "Net")]
    numbers = width - 40 * mm
    table = data_table(header, rows, [40 * mm, *(numbers * w for w in (0.14, 0.22, 0.14, 0.22, 0.28))], right=(1, 2, 3, 4, 5),
                       total_row=total)
    note = QCoreApplication.translate("reports", "Principal only: the bonus is never paid in or paid back in money.")
    return [table, spacer(1.5), para(note, "muted")]


def render_liability(data: LiabilityMonth, ctx: ReportContext, *, progress: Progress | None = None,
                     should_cancel: ShouldCancel | None = None) -> bytes:
    """The month's stored-value liability as PDF bytes."""
    check_cancel(should_cancel)
    width = content_width()
    title = report_title(data)
    story: list[Flowable] = [para(title, "title"), para(_subtitle(data), "subtitle"), _tiles(data, width)]
    story += section(QCoreApplication.translate("reports", "Movement of the month"), *_movement(data, width), room_mm=60)
    story += section(QCoreApplication.translate("reports", "Paid in and paid back by payment method"), *_methods(data, width))
    return build_pdf(story, ctx, title, progress=progress, should_cancel=should_cancel)
