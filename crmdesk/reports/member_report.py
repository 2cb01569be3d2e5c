"""The member report: one member on one to three pages, for the owner's file or the member.

Details and cards, tier and the last 12 months' spend, points (ledger summary and
what expires when), the member's stored value and credit when they have either,
purchases in summary with the latest receipts, offers used, and complaints with
their outcome.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from crmdesk.models import CardStatus, Remedy
from crmdesk.reports.base import (
    ACCENT, MUTED, Progress, ReportContext, ShouldCancel, build_pdf, content_width, data_table, drawing, empty_note, key_values,
    caption, local_datetime, para, section, side_by_side, spacer, tr, yuan,
)
from crmdesk.reports.fonts import report_font
from crmdesk.services.complaints import REMEDY_LABELS, STATUS_LABELS as COMPLAINT_STATUS_LABELS
from crmdesk.services.credit import CreditInfo
from crmdesk.services.loyalty import POINTS_KIND_LABELS
from crmdesk.services.member_query import GENDER_LABELS, STATUS_LABELS
from crmdesk.services.member_report import CreditSummary, MemberReport, MonthSpend, WalletSummary
from crmdesk.services.payments import PAYMENT_METHODS
from crmdesk.services.wallet import KIND_LABELS as WALLET_KIND_LABELS
from crmdesk.services.purchases import PURCHASE_KIND_LABELS
from crmdesk.texts import QT_TRANSLATE_NOOP

CARD_STATUS_LABELS = {
    CardStatus.ACTIVE: QT_TRANSLATE_NOOP("reports", "in use"),
    CardStatus.LOST: QT_TRANSLATE_NOOP("reports", "reported lost"),
    CardStatus.REPLACED: QT_TRANSLATE_NOOP("reports", "replaced"),
    CardStatus.CLOSED: QT_TRANSLATE_NOOP("reports", "stopped"),
}


def _term(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


def _title(report: MemberReport) -> str:
    return QCoreApplication.translate("reports", "Member report — {name}").format(name=report.profile.name)


def _details(report: MemberReport, width: float) -> list[Flowable]:
    p = report.profile
    card = p.active_card
    pairs: list[tuple[str, object]] = [
        (QCoreApplication.translate("reports", "Member No."), p.member_no),
        (QCoreApplication.translate("reports", "Name"), p.name),
        (QCoreApplication.translate("reports", "Phone"), report.phone_text),
        (QCoreApplication.translate("reports", "Card"), card.number if card else ""),
        (QCoreApplication.translate("reports", "Gender"), _term("terms", GENDER_LABELS[p.gender])),
        (QCoreApplication.translate("reports", "Birthday"), p.birthday.isoformat() if p.birthday else ""),
        (QCoreApplication.translate("reports", "Joined"), p.joined_on.isoformat()),
        (QCoreApplication.translate("reports", "Status"), _term("terms", STATUS_LABELS[p.status])),
        (QCoreApplication.translate("reports", "Tier"), p.tier_name),
        (QCoreApplication.translate("reports", "Tags"), "、".join(p.tags)),
        (QCoreApplication.translate("reports", "E-mail"), p.email),
        (QCoreApplication.translate("reports", "Company"), p.company),
    ]
    out: list[Flowable] = [key_values(pairs, width=width)]
    if p.address:
        out.append(key_values([(QCoreApplication.translate("reports", "Address"), p.address)], width=width, columns=1))
    if p.notes:
        out.append(key_values([(QCoreApplication.translate("reports", "Notes"), p.notes)], width=width, columns=1))
    return out


def _cards(report: MemberReport, width: float) -> list[Flowable]:
    cards = report.profile.cards
    if not cards:
        return section(QCoreApplication.translate("reports", "Cards"),
                       empty_note(QCoreApplication.translate("reports", "No card has been issued to this member.")))
    rows = [[c.number, tr(CARD_STATUS_LABELS[c.status]), local_datetime(c.issued_at), local_datetime(c.ended_at)] for c in cards]
    header = [QCoreApplication.translate("reports", "Card number"), QCoreApplication.translate("reports", "Status"),
              QCoreApplication.translate("reports", "Issued"), QCoreApplication.translate("reports", "Ended")]
    return section(QCoreApplication.translate("reports", "Cards"), data_table(header, rows, [w * width for w in (0.34, 0.2, 0.23, 0.23)]))


def _spend_chart(months: tuple[MonthSpend, ...], width: float) -> Drawing:
    """Bars of the last 12 months' spend in yuan, labelled by month."""
    height = 42 * mm
    chart_area = drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 14 * mm, 8 * mm
    chart.width, chart.height = width - 18 * mm, height - 13 * mm
    chart.data = [[max(m.spend_fen, 0) / 100 for m in months]]
    chart.categoryAxis.categoryNames = [m.month.strftime("%y-%m") for m in months]
    for axis in (chart.categoryAxis.labels, chart.valueAxis.labels):
        axis.fontName = report_font()
        axis.fontSize = 6.5
        axis.fillColor = MUTED
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labelTextFormat = lambda value: f"¥{value:,.0f}"
    chart.valueAxis.strokeColor = chart.categoryAxis.strokeColor = colors.HexColor("#CBD2D9")
    chart.valueAxis.gridStrokeColor = colors.HexColor("#E4E7EB")
    chart.valueAxis.visibleGrid = True
    chart.bars[0].fillColor = ACCENT
    chart.bars[0].strokeColor = None
    chart.barSpacing = 2
    if not any(chart.data[0]):
        chart.valueAxis.valueMax = 100
    chart_area.add(chart)
    return chart_area


def _tier_and_spend(report: MemberReport, width: float) -> list[Flowable]:
    p = report.profile
    swatch = drawing(4 * mm, 4 * mm)
    swatch.add(Rect(0, 0, 4 * mm, 4 * mm, fillColor=colors.HexColor(p.tier_colour) if p.tier_colour.startswith("#") else ACCENT,
                    strokeColor=None))
    pairs = [
        (QCoreApplication.translate("reports", "Tier"), p.tier_name),
        (QCoreApplication.translate("reports", "Spend, last 12 months"), yuan(report.spend_12_months_fen)),
    ]
    line = side_by_side([swatch, key_values(pairs, width=width - 6 * mm)], [6 * mm, width - 6 * mm], top_padding=(3,))
    if any(m.spend_fen or m.visits for m in report.monthly_spend):
        chart: Flowable = _spend_chart(report.monthly_spend, width)
    else:
        chart = empty_note(QCoreApplication.translate("reports", "No purchases in the last 12 months."))
    return section(QCoreApplication.translate("reports", "Tier and spend"), line, spacer(1), chart)


def _points(report: MemberReport, width: float) -> list[Flowable]:
    p = report.profile
    out: list[Flowable] = [key_values([(QCoreApplication.translate("reports", "Balance"),
                                        QCoreApplication.translate("reports", "{points} points").format(points=f"{p.points_balance:,}"))],
                                      width=width, columns=1)]
    if report.points_by_kind:
        header = [QCoreApplication.translate("reports", "Kind"), QCoreApplication.translate("reports", "Entries"),
                  QCoreApplication.translate("reports", "Points")]
        rows = [[_term("terms", POINTS_KIND_LABELS[k.kind]), f"{k.entries:,}", f"{k.points:+,}"] for k in report.points_by_kind]
        total = [QCoreApplication.translate("reports", "Balance"), f"{sum(k.entries for k in report.points_by_kind):,}",
                 f"{sum(k.points for k in report.points_by_kind):,}"]
        ledger = data_table(header, rows, [0.22 * width, 0.12 * width, 0.14 * width], right=(1, 2), total_row=total)
    else:
        ledger = empty_note(QCoreApplication.translate("reports", "No points have been earned or spent yet."))
    if report.expiring:
        expiry = data_table([QCoreApplication.translate("reports", "Expires on"), QCoreApplication.translate("reports", "Points")],
                            [[lot.expires_on.isoformat() if lot.expires_on.year < 9999 else QCoreApplication.translate("reports", "never"),
                              f"{lot.points:,}"] for lot in report.expiring],
                            [0.24 * width, 0.14 * width], right=(1,))
    else:
        expiry = empty_note(QCoreApplication.translate("reports", "No points waiting to expire."))
    return section(QCoreApplication.translate("reports", "Points"), *out, spacer(1),
                   side_by_side([ledger, expiry], [0.54 * width, 0.46 * width]))


def _signed(fen: int) -> str:
    return ("+" if fen > 0 else "") + yuan(fen) if fen else ""


def _wallet(summary: WalletSummary, width: float) -> list[Flowable]:
    pairs = [
        (QCoreApplication.translate("reports", "Stored value"), yuan(summary.total_fen)),
        (QCoreApplication.translate("reports", "Principal"), yuan(summary.principal_fen)),
        (QCoreApplication.translate("reports", "Bonus"), yuan(summary.bonus_fen)),
    ]
    header = [QCoreApplication.translate("reports", "When"), QCoreApplication.translate("reports", "Kind"),
              QCoreApplication.translate("reports", "Principal"), QCoreApplication.translate("reports", "Bonus"),
              QCoreApplication.translate("reports", "Receipt or note")]
    rows = []
    for entry in summary.latest:
        method = _term("terms", PAYMENT_METHODS[entry.payment_method]) if entry.payment_method in PAYMENT_METHODS else entry.payment_method
        rows.append([local_datetime(entry.at), _term("terms", WALLET_KIND_LABELS[entry.kind]), _signed(entry.principal_fen),
                     _signed(entry.bonus_fen), entry.receipt_no or entry.reason or method])
    shown = QCoreApplication.translate("reports", "Latest {shown} of {total} wallet entries").format(
        shown=len(rows), total=f"{summary.entries:,}")
    return [key_values(pairs, width=width, columns=3, label_mm=22), caption(shown),
            data_table(header, rows, [w * width for w in (0.2, 0.16, 0.15, 0.13, 0.36)], right=(2, 3))]


def _credit_pairs(info: CreditInfo) -> list[tuple[str, object]]:
    days = QCoreApplication.translate("reports", "{days} days")
    pairs: list[tuple[str, object]] = [
        (QCoreApplication.translate("reports", "Credit limit"),
         yuan(info.limit_fen) if info.has_account else QCoreApplication.translate("reports", "No credit account")),
        (QCoreApplication.translate("reports", "Terms"), days.format(days=info.term_days) if info.has_account else ""),
        (QCoreApplication.translate("reports", "Owed"), yuan(info.owed_fen)),
        (QCoreApplication.translate("reports", "Available"), yuan(info.available_fen) if info.has_account else ""),
        (QCoreApplication.translate("reports", "Overdue"), yuan(info.overdue_fen)),
        (QCoreApplication.translate("reports", "Oldest overdue"), days.format(days=info.oldest_overdue_days) if info.overdue_fen else ""),
    ]
    if info.frozen:
        pairs.append((QCoreApplication.translate("reports", "Credit stopped"), info.frozen_reason or "—"))
    return pairs


def _credit(summary: CreditSummary, width: float) -> list[Flowable]:
    out: list[Flowable] = [key_values(_credit_pairs(summary.info), width=width, columns=2)]
    if not summary.open_charges:
        out.append(empty_note(QCoreApplication.translate("reports", "Nothing is owed.")))
        return out
    if summary.open_count > len(summary.open_charges):
        shown = QCoreApplication.translate("reports", "{shown} of {total} open charges, oldest due first").format(
            shown=len(summary.open_charges), total=f"{summary.open_count:,}")
    else:
        shown = QCoreApplication.translate("reports", "Open charges, oldest due first")
    header = [QCoreApplication.translate("reports", "Bought"), QCoreApplication.translate("reports", "Receipt"),
              QCoreApplication.translate("reports", "Amount"), QCoreApplication.translate("reports", "Still owed"),
              QCoreApplication.translate("reports", "Due"), QCoreApplication.translate("reports", "Days overdue")]
    rows = [[local_datetime(c.at), c.receipt_no, yuan(c.amount_fen), yuan(c.outstanding_fen), c.due_on.isoformat(),
             f"{c.days_overdue:,}" if c.days_overdue else ""] for c in summary.open_charges]
    out += [caption(shown), data_table(header, rows, [w * width for w in (0.21, 0.21, 0.15, 0.15, 0.14, 0.14)], right=(2, 3, 5))]
    return out


def _money(report: MemberReport, width: float) -> list[Flowable]:
    """Stored value and credit, when the member has either; nothing at all when neither."""
    if report.wallet is None and report.credit is None:
        return []
    parts: list[Flowable] = []
    if report.wallet is not None:
        parts += _wallet(report.wallet, width)
    if report.credit is not None:
        if parts:
            parts.append(spacer(2))
        parts += _credit(report.credit, width)
    return section(QCoreApplication.translate("reports", "Stored value and credit"), *parts)


def _purchases(report: MemberReport, width: float) -> list[Flowable]:
    t = report.totals
    pairs: list[tuple[str, object]] = [
        (QCoreApplication.translate("reports", "Visits"), f"{t.visits:,}"),
        (QCoreApplication.translate("reports", "Total spend"), yuan(t.spend_fen)),
        (QCoreApplication.translate("reports", "Average basket"), yuan(t.average_basket_fen)),
        (QCoreApplication.translate("reports", "Refunds"),
         QCoreApplication.translate("reports", "{count} ({amount})").format(count=report.refunds, amount=yuan(report.refunded_fen))),
        (QCoreApplication.translate("reports", "First visit"), local_datetime(t.first_visit)),
        (QCoreApplication.translate("reports", "Last visit"), local_datetime(t.last_visit)),
    ]
    out: list[Flowable] = [key_values(pairs, width=width)]
    if report.categories:
        out += [caption(QCoreApplication.translate("reports", "Favourite categories")),
                data_table([QCoreApplication.translate("reports", "Category"), QCoreApplication.translate("reports", "Items"),
                            QCoreApplication.translate("reports", "Spend")],
                           [[c.category, f"{c.lines:,}", yuan(c.spend_fen)] for c in report.categories],
                           [0.4 * width, 0.15 * width, 0.2 * width], right=(1, 2))]
    if report.last_purchases:
        header = [QCoreApplication.translate("reports", "When"), QCoreApplication.translate("reports", "Kind"),
                  QCoreApplication.translate("reports", "Till"), QCoreApplication.translate("reports", "Receipt"),
                  QCoreApplication.translate("reports", "Amount"), QCoreApplication.translate("reports", "Points")]
        rows = [[local_datetime(r.occurred_at), _term("terms", PURCHASE_KIND_LABELS[r.kind]), r.till, r.receipt_no,
                 yuan(r.amount_fen), f"{r.points:+,}"] for r in report.last_purchases]
        shown = QCoreApplication.translate("reports", "Latest {shown} of {total} receipts").format(
            shown=len(report.last_purchases), total=f"{t.visits + report.refunds:,}")
        out += [caption(shown),
                data_table(header, rows, [w * width for w in (0.2, 0.1, 0.12, 0.28, 0.16, 0.14)], right=(4, 5))]
    else:
        out.append(empty_note(QCoreApplication.translate("reports", "No purchases recorded yet.")))
    return section(QCoreApplication.translate("reports", "Purchases"), *out)


def _offers(report: MemberReport, width: float) -> list[Flowable]:
    if not report.offers_used:
        return section(QCoreApplication.translate("reports", "Offers used"),
                       empty_note(QCoreApplication.translate("reports", "No offers used yet.")))
    summary = QCoreApplication.translate("reports", "{count} offers used, {amount} saved in all.").format(
        count=f"{report.offers_used_count:,}", amount=yuan(report.offers_discount_fen))
    header = [QCoreApplication.translate("reports", "When"), QCoreApplication.translate("reports", "Offer"),
              QCoreApplication.translate("reports", "Coupon"), QCoreApplication.translate("reports", "Discount"),
              QCoreApplication.translate("reports", "Points spent")]
    rows = [[local_datetime(r.at), r.offer_name + (f" ({r.gift})" if r.gift else ""), r.coupon_code or "", yuan(r.discount_fen),
             f"{r.points_spent:,}" if r.points_spent else ""] for r in report.offers_used]
    return section(QCoreApplication.translate("reports", "Offers used"), caption(summary),
                   data_table(header, rows, [w * width for w in (0.2, 0.38, 0.18, 0.12, 0.12)], right=(3, 4)))


def _complaints(report: MemberReport, width: float) -> list[Flowable]:
    if not report.complaints:
        return section(QCoreApplication.translate("reports", "Complaints"),
                       empty_note(QCoreApplication.translate("reports", "No complaints from this member.")))
    header = [QCoreApplication.translate("reports", "No."), QCoreApplication.translate("reports", "Received"),
              QCoreApplication.translate("reports", "Category"), QCoreApplication.translate("reports", "What happened"),
              QCoreApplication.translate("reports", "Status"), QCoreApplication.translate("reports", "Outcome")]
    rows = []
    for outcome in report.complaints:
        c = outcome.complaint
        remedies = "、".join(_term("complaints", REMEDY_LABELS[Remedy(value)]) for value in outcome.remedies)
        if outcome.satisfaction is not None:
            remedies = (remedies + "; " if remedies else "") + QCoreApplication.translate(
                "reports", "satisfaction {score}/5").format(score=outcome.satisfaction)
        description = c.description if len(c.description) <= 120 else c.description[:119] + "…"
        rows.append([str(c.id), local_datetime(c.received_at), _term("complaints", c.category_name), description,
                     _term("complaints", COMPLAINT_STATUS_LABELS[c.status]), remedies])
    out: list[Flowable] = []
    if report.complaints_count > len(report.complaints):
        out.append(caption(QCoreApplication.translate("reports", "Latest {shown} of {total} complaints").format(
            shown=len(report.complaints), total=report.complaints_count)))
    out.append(data_table(header, rows, [w * width for w in (0.07, 0.16, 0.13, 0.34, 0.12, 0.18)]))
    return section(QCoreApplication.translate("reports", "Complaints"), *out)


def render_member_report(
    report: MemberReport, ctx: ReportContext, *, progress: Progress | None = None, should_cancel: ShouldCancel | None = None
) -> bytes:
    width = content_width()
    p = report.profile
    subtitle = QCoreApplication.translate("reports", "{member_no} · {tier} · as of {when}").format(
        member_no=p.member_no, tier=p.tier_name, when=local_datetime(report.as_of))
    story: list[Flowable] = [
        para(QCoreApplication.translate("reports", "Member report"), "muted"),
        para(p.name, "title"),
        para(subtitle, "subtitle"),
        *_details(report, width),
        *_cards(report, width),
        *_tier_and_spend(report, width),
        *_points(report, width),
        *_money(report, width),
        *_purchases(report, width),
        *_offers(report, width),
        *_complaints(report, width),
    ]
    return build_pdf(story, ctx, _title(report), progress=progress, should_cancel=should_cancel)
